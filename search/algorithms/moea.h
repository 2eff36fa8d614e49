#pragma once
// pagmo2's NSGA-II and MOEA/D on a vector of value indices, shared by `nsga2`, `moead` and dp's
// outer hardware search (`--outer nsga2`).

#include <functional>
#include <vector>

#include "search/pareto.h"
#include "search/space.h"
#include "search/study.h"

namespace codesim::search {

// The minimized objective vectors of a batch of index vectors, in order.
using BatchFitness = std::function<std::vector<Objectives>(const std::vector<Point>&)>;

// Runs NSGA-II (integer-coded, one batch per generation) or MOEA/D (continuous [0, n) floored
// to an index, steady state) over vectors whose i-th entry indexes sizes[i] values, until the
// study's budget is spent or 50 generations in a row add no point to the study.
void run_nsga2(Study& study, const std::vector<size_t>& sizes, size_t objectives,
               const BatchFitness& fitness);
void run_moead(Study& study, const std::vector<size_t>& sizes, size_t objectives,
               const BatchFitness& fitness);

}  // namespace codesim::search
