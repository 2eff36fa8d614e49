// nsga2 and moead from pagmo2. A pagmo problem whose decision vector holds one value index per
// dimension: integer variables for NSGA-II (pagmo's NSGA-II has integer crossover and mutation),
// continuous [0, n) for MOEA/D (which is continuous only), floored to an index. NSGA-II evaluates
// a generation's offspring as one batch (pagmo's batch fitness evaluation), so the workers run in
// parallel; pagmo's MOEA/D is steady-state and asks for one point at a time. Constraints and
// failures enter as penalties (Study::fitness_of), since neither algorithm takes constraints.

#include <pagmo/algorithms/moead.hpp>
#include <pagmo/algorithms/nsga2.hpp>
#include <pagmo/bfe.hpp>
#include <pagmo/population.hpp>
#include <pagmo/problem.hpp>

#include <algorithm>
#include <cmath>

#include "search/study.h"
#include "sim/core/diagnostics.h"

namespace codesim::search {

namespace {

struct StudyProblem {
  Study* study = nullptr;
  bool integer = true;

  Point decode(const pagmo::vector_double& x, size_t offset) const {
    const auto& dims = study->space().dims;
    Point p(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) {
      const double v = integer ? std::round(x[offset + i]) : std::floor(x[offset + i]);
      p[i] = std::clamp(static_cast<int>(v), 0, static_cast<int>(dims[i].size()) - 1);
    }
    return p;
  }
  pagmo::vector_double fitness(const pagmo::vector_double& x) const {
    return batch_fitness(x);
  }
  pagmo::vector_double batch_fitness(const pagmo::vector_double& xs) const {
    const size_t n = study->space().dims.size();
    std::vector<Point> points;
    for (size_t off = 0; off + n <= xs.size(); off += n) points.push_back(decode(xs, off));
    pagmo::vector_double out;
    for (const Record* r : study->evaluate(points)) {
      const Objectives f = study->fitness_of(r);
      out.insert(out.end(), f.begin(), f.end());
    }
    return out;
  }
  bool has_batch_fitness() const { return true; }
  std::pair<pagmo::vector_double, pagmo::vector_double> get_bounds() const {
    pagmo::vector_double lo, hi;
    for (const auto& d : study->space().dims) {
      lo.push_back(0);
      hi.push_back(integer ? static_cast<double>(d.size()) - 1 : static_cast<double>(d.size()));
    }
    return {lo, hi};
  }
  pagmo::vector_double::size_type get_nobj() const { return study->space().objectives.size(); }
  pagmo::vector_double::size_type get_nix() const {
    return integer ? study->space().dims.size() : 0;
  }
  std::string get_name() const { return "codesim study"; }
};

void need_two_objectives(const Study& study, const char* name) {
  if (study.space().objectives.size() < 2)
    throw sim::ConfigError(std::string(name) + " needs at least two objectives; the space has " +
                           std::to_string(study.space().objectives.size()));
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

class Nsga2Search : public SearchAlgorithm {
 public:
  static constexpr const char* kSummary =
      "NSGA-II (pagmo2), integer-coded, one batch per generation";
  void run(Study& study) override {
    need_two_objectives(study, "nsga2");
    const unsigned seed = static_cast<unsigned>(study.options().seed);
    pagmo::problem prob(StudyProblem{&study, true});
    const unsigned pop_size = (population_size(study) + 3) / 4 * 4;
    pagmo::population pop(prob, pagmo::bfe{}, pop_size, seed);
    pagmo::nsga2 algo(1u, 0.95, 10., 1.0 / static_cast<double>(study.space().dims.size()), 50.,
                      seed);
    algo.set_bfe(pagmo::bfe{});
    evolve(study, algo, std::move(pop));
  }
};

class MoeadSearch : public SearchAlgorithm {
 public:
  static constexpr const char* kSummary =
      "MOEA/D (pagmo2, Tchebycheff, DE operator), steady state: one point at a time";
  void run(Study& study) override {
    need_two_objectives(study, "moead");
    const unsigned seed = static_cast<unsigned>(study.options().seed);
    pagmo::problem prob(StudyProblem{&study, false});
    const unsigned pop_size = population_size(study);
    pagmo::population pop(prob, pagmo::bfe{}, pop_size, seed);
    pagmo::moead algo(1u, "low discrepancy", "tchebycheff", std::min(20u, pop_size - 1), 1.0, 0.5,
                      20., 0.9, 2u, true, seed);
    evolve(study, algo, std::move(pop));
  }
};

}  // namespace

CODESIM_REGISTER_SEARCH("nsga2", Nsga2Search);
CODESIM_REGISTER_SEARCH("moead", MoeadSearch);

}  // namespace codesim::search
