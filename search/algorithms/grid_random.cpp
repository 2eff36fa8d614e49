// grid: every point of the space in grid order (what `codesim sweep` runs).
// random: points drawn uniformly without replacement, seeded.

#include <algorithm>
#include <random>
#include <set>

#include "search/study.h"

namespace codesim::search {

namespace {

class GridSearch : public SearchAlgorithm {
 public:
  static constexpr const char* kSummary = "every point of the grid, in grid order";
  uint64_t default_budget(const Space& s) const override {
    return static_cast<uint64_t>(s.grid_size());
  }
  void run(Study& study) override {
    const uint64_t n =
        std::min<uint64_t>(study.budget(), static_cast<uint64_t>(study.space().grid_size()));
    std::vector<Point> points;
    for (uint64_t i = 0; i < n; ++i) points.push_back(point_at(study.space(), i));
    evaluate_in_batches(study, points);
  }
};

class RandomSearch : public SearchAlgorithm {
 public:
  static constexpr const char* kSummary = "uniform random points without replacement (seeded)";
  void run(Study& study) override {
    const double grid = study.space().grid_size();
    const uint64_t n = std::min<uint64_t>(study.budget(), static_cast<uint64_t>(grid));
    std::mt19937_64 rng(study.options().seed);
    std::vector<Point> points;
    if (grid <= 4e6) {
      // Partial Fisher-Yates: the first n of a seeded permutation.
      std::vector<uint64_t> index(static_cast<size_t>(grid));
      for (size_t i = 0; i < index.size(); ++i) index[i] = i;
      for (uint64_t i = 0; i < n; ++i) {
        std::uniform_int_distribution<uint64_t> pick(i, index.size() - 1);
        std::swap(index[i], index[pick(rng)]);
        points.push_back(point_at(study.space(), index[i]));
      }
    } else {
      std::set<std::string> seen;
      while (points.size() < n) {
        Point p;
        for (const auto& d : study.space().dims)
          p.push_back(std::uniform_int_distribution<int>(0, static_cast<int>(d.size()) - 1)(rng));
        if (seen.insert(point_key(p)).second) points.push_back(p);
      }
    }
    evaluate_in_batches(study, points);
  }
};

}  // namespace

CODESIM_REGISTER_SEARCH("grid", GridSearch);
CODESIM_REGISTER_SEARCH("random", RandomSearch);

}  // namespace codesim::search
