#pragma once
// A study: an algorithm asks for batches of points, the study evaluates the new ones (caches,
// forked workers, MPI ranks), records every point in the store as it finishes, and at the end
// exports the points, the Pareto front and the hypervolume per batch.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "search/evaluator.h"
#include "search/mpi.h"
#include "search/pareto.h"
#include "search/space.h"
#include "search/store.h"

namespace codesim::search {

struct StudyOptions {
  std::string algorithm = "grid";
  uint64_t budget = 0;  // most distinct points evaluated; 0 = the algorithm's default
  uint64_t seed = 0;
  int workers = 1;
  double timeout_seconds = 600;
  int batch = 0;  // points per batch for grid and random; 0 = 4 per worker and rank, >= 8
  bool resume = false;
  bool progress = false;
  std::string out = "search-out";
  std::vector<double> reference;    // hypervolume reference per objective (metric's own sign)
  int population = 0;               // nsga2 / moead; 0 = from the budget
  std::string dp_cost = "latency";  // dp: latency or energy
  std::optional<double> dp_budget;  // dp: ms or uJ; none = a spread of points on the front
  int dp_points = 8;
  std::string dp_outer = "grid";  // dp: search over the hardware points: grid, random, nsga2
};

struct Record {
  Point point;
  std::string key;
  bool ok = false;
  std::string error;
  nlohmann::json metrics;
  double seconds = 0;
  int batch = 0;
  int rank = 0;
  bool feasible = false;  // ok, every objective has a value, and every constraint holds
};

class Study {
 public:
  Study(const Space& space, Evaluator& evaluator, const StudyOptions& options, const Comm& comm,
        Store* store, const std::vector<StoredPoint>& previous);

  // Records of `points`, in order; a point already in the study is not evaluated again. Points
  // past the budget come back as nullptr.
  std::vector<const Record*> evaluate(const std::vector<Point>& points);

  const Space& space() const { return space_; }
  const StudyOptions& options() const { return options_; }
  uint64_t budget() const { return budget_; }
  uint64_t remaining() const { return budget_ - records_.size(); }
  const std::deque<Record>& records() const { return records_; }
  int batches() const { return batch_; }
  uint64_t evaluated() const { return evaluated_; }  // by workers in this run
  uint64_t cached() const { return cached_; }        // from the caches alone in this run
  uint64_t resumed() const { return resumed_; }      // taken from the store (--resume)
  // What the algorithm wants to report besides the points (study.json "algorithm_output").
  nlohmann::json& algorithm_output() { return algorithm_output_; }

  // The objective vector of a feasible record, all minimized (maximized metrics negated).
  Objectives objectives_of(const Record& r) const;
  // What an algorithm minimizes: the objectives for feasible records, and for the others (or
  // nullptr) a penalty worse than any feasible point, growing with the constraint violation.
  Objectives fitness_of(const Record* r) const;

 private:
  void finish(const Record& r, uint64_t finished_points);  // counts failures, draws progress
  void check_feasible(Record& r) const;
  void store_record(const Record& r, const std::map<std::string, std::string>& cache);

  const Space& space_;
  Evaluator& evaluator_;
  StudyOptions options_;
  const Comm& comm_;
  Store* store_;
  uint64_t budget_ = 0;
  std::deque<Record> records_;
  std::map<std::string, const Record*> index_;
  std::map<std::string, Record> previous_;
  int batch_ = 0;
  uint64_t evaluated_ = 0, cached_ = 0, resumed_ = 0, failed_ = 0;
  double started_ = 0;
  nlohmann::json algorithm_output_ = nlohmann::json::array();
};

// ---- algorithms (CODESIM_REGISTER_SEARCH) ----

class SearchAlgorithm {
 public:
  virtual ~SearchAlgorithm() = default;
  // Budget when --budget is not given.
  virtual uint64_t default_budget(const Space& s) const;
  virtual void run(Study& study) = 0;
};

struct SearchEntry {
  std::string name;
  std::string summary;
  std::function<std::unique_ptr<SearchAlgorithm>()> create;
};

class SearchRegistry {
 public:
  static SearchRegistry& instance();
  bool add(SearchEntry e);
  const SearchEntry* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, SearchEntry> entries_;
};

// Evaluates `points` in batches of the study's batch size (grid and random).
void evaluate_in_batches(Study& study, const std::vector<Point>& points);

// ---- running and exporting ----

struct StudyResult {
  nlohmann::json summary;  // study.json
  nlohmann::json front;    // pareto.json: the feasible non-dominated points
  std::vector<std::string> files;
};

// Opens (or resumes) the store in options.out, runs the algorithm and, on rank 0, exports.
// Throws sim::ConfigError for a store that does not match (e.g. --resume with another space).
StudyResult run_study(const Space& space, Evaluator& evaluator, const StudyOptions& options,
                      const Comm& comm);

// The hypervolume reference point (minimization form): the given one, else the worst feasible
// value of each objective plus 10% of its range.
Objectives reference_point(const Study& study);

}  // namespace codesim::search

#define CODESIM_REGISTER_SEARCH(NAME, CLASS)                                            \
  static const bool codesim_registered_search_##CLASS =                                 \
      ::codesim::search::SearchRegistry::instance().add(::codesim::search::SearchEntry{ \
          NAME, CLASS::kSummary,                                                        \
          [] { return std::unique_ptr<::codesim::search::SearchAlgorithm>(new CLASS()); }})
