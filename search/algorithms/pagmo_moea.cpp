// nsga2 and moead from pagmo2. A pagmo problem whose decision vector holds one value index per
// dimension: integer variables for NSGA-II (pagmo's NSGA-II has integer crossover and mutation),
// continuous [0, n) for MOEA/D (which is continuous only), floored to an index. NSGA-II evaluates
// a generation's offspring as one batch (pagmo's batch fitness evaluation), so the workers run in
// parallel; pagmo's MOEA/D is steady-state and asks for one point at a time. Constraints and
// failures enter as penalties (Study::fitness_of), since neither algorithm takes constraints.

#include <algorithm>
#include <cmath>
#include <pagmo/algorithms/moead.hpp>
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/bfe.hpp>
#include <pagmo/population.hpp>
#include <pagmo/problem.hpp>

#include "search/algorithms/moea.h"
#include "sim/core/diagnostics.h"

namespace codesim::search {

namespace {

struct IndexProblem {
  std::vector<size_t> sizes;
  size_t objectives = 2;
  const BatchFitness* evaluate = nullptr;
  bool integer = true;

  Point decode(const pagmo::vector_double& x, size_t offset) const {
    Point p(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) {
      const double v = integer ? std::round(x[offset + i]) : std::floor(x[offset + i]);
      p[i] = std::clamp(static_cast<int>(v), 0, static_cast<int>(sizes[i]) - 1);
    }
    return p;
  }
  pagmo::vector_double fitness(const pagmo::vector_double& x) const { return batch_fitness(x); }
  pagmo::vector_double batch_fitness(const pagmo::vector_double& xs) const {
    const size_t n = sizes.size();
    std::vector<Point> points;
    for (size_t off = 0; off + n <= xs.size(); off += n) points.push_back(decode(xs, off));
    pagmo::vector_double out;
    for (const Objectives& f : (*evaluate)(points)) out.insert(out.end(), f.begin(), f.end());
    return out;
  }
  bool has_batch_fitness() const { return true; }
  std::pair<pagmo::vector_double, pagmo::vector_double> get_bounds() const {
    pagmo::vector_double lo, hi;
    for (size_t n : sizes) {
      lo.push_back(0);
      hi.push_back(integer ? static_cast<double>(n) - 1 : static_cast<double>(n));
    }
    return {lo, hi};
  }
  pagmo::vector_double::size_type get_nobj() const { return objectives; }
  pagmo::vector_double::size_type get_nix() const { return integer ? sizes.size() : 0; }
  std::string get_name() const { return "codesim study"; }
};

void need_two_objectives(size_t objectives, const char* name) {
  if (objectives < 2)
    throw sim::ConfigError(std::string(name) + " needs at least two objectives; the space has " +
                           std::to_string(objectives));
}

// Population size: a multiple of 4 (NSGA-II's tournament), about a tenth of the budget, 8..100.
unsigned population_size(const Study& study) {
  if (study.options().population > 0) return static_cast<unsigned>(study.options().population);
  const uint64_t p = 4 * ((study.budget() / 10 + 3) / 4);
  return static_cast<unsigned>(std::clamp<uint64_t>(p, 8, 100));
}

// Generations until the budget is spent, or until 50 generations in a row add no new point
// (converged on points already evaluated).
template <class Algo>
void evolve(Study& study, Algo& algo, pagmo::population pop) {
  int idle = 0;
  while (study.remaining() > 0 && idle < 50) {
    const size_t before = study.records().size();
    pop = algo.evolve(pop);
    idle = study.records().size() == before ? idle + 1 : 0;
  }
}

// Every dimension's size and the study's fitness of its points.
std::vector<size_t> dimension_sizes(const Space& s) {
  std::vector<size_t> sizes;
  for (const auto& d : s.dims) sizes.push_back(d.size());
  return sizes;
}

BatchFitness study_fitness(Study& study) {
  return [&study](const std::vector<Point>& points) {
    std::vector<Objectives> out;
    for (const Record* r : study.evaluate(points)) out.push_back(study.fitness_of(r));
    return out;
  };
}

class Nsga2Search : public SearchAlgorithm {
 public:
  static constexpr const char* kSummary =
      "NSGA-II (pagmo2), integer-coded, one batch per generation";
  void run(Study& study) override {
    run_nsga2(study, dimension_sizes(study.space()), study.space().objectives.size(),
              study_fitness(study));
  }
};

class MoeadSearch : public SearchAlgorithm {
 public:
  static constexpr const char* kSummary =
      "MOEA/D (pagmo2, Tchebycheff, DE operator), steady state: one point at a time";
  void run(Study& study) override {
    run_moead(study, dimension_sizes(study.space()), study.space().objectives.size(),
              study_fitness(study));
  }
};

}  // namespace

void run_nsga2(Study& study, const std::vector<size_t>& sizes, size_t objectives,
               const BatchFitness& fitness) {
  need_two_objectives(objectives, "nsga2");
  const unsigned seed = static_cast<unsigned>(study.options().seed);
  pagmo::problem prob(IndexProblem{sizes, objectives, &fitness, true});
  const unsigned pop_size = (population_size(study) + 3) / 4 * 4;
  pagmo::population pop(prob, pagmo::bfe{}, pop_size, seed);
  pagmo::nsga2 algo(1u, 0.95, 10., 1.0 / static_cast<double>(sizes.size()), 50., seed);
  algo.set_bfe(pagmo::bfe{});
  evolve(study, algo, std::move(pop));
}

void run_moead(Study& study, const std::vector<size_t>& sizes, size_t objectives,
               const BatchFitness& fitness) {
  need_two_objectives(objectives, "moead");
  const unsigned seed = static_cast<unsigned>(study.options().seed);
  pagmo::problem prob(IndexProblem{sizes, objectives, &fitness, false});
  const unsigned pop_size = population_size(study);
  pagmo::population pop(prob, pagmo::bfe{}, pop_size, seed);
  pagmo::moead algo(1u, "low discrepancy", "tchebycheff", std::min(20u, pop_size - 1), 1.0, 0.5,
                    20., 0.9, 2u, true, seed);
  evolve(study, algo, std::move(pop));
}

CODESIM_REGISTER_SEARCH("nsga2", Nsga2Search);
CODESIM_REGISTER_SEARCH("moead", MoeadSearch);

}  // namespace codesim::search
