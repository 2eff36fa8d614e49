#pragma once
// Pareto fronts and hypervolume, all objectives minimized (negate the ones to maximize).

#include <cstddef>
#include <vector>

namespace codesim::search {

using Objectives = std::vector<double>;

// a dominates b: no worse in every objective and better in at least one.
bool dominates(const Objectives& a, const Objectives& b);

// Indices of the non-dominated points, in input order. Of identical points only the first is
// kept, so the front has no duplicates.
std::vector<std::size_t> pareto_front(const std::vector<Objectives>& points);

// The volume dominated by `points` and bounded by `reference` (exact; points that do not
// strictly dominate the reference in every objective add nothing).
double hypervolume(const std::vector<Objectives>& points, const Objectives& reference);

}  // namespace codesim::search
