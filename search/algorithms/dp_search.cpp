// dp: the exact dynamic programme over per-group compression choices (search/dp.h) as the inner
// solver under an outer search over the hardware points (--outer grid, random or nsga2).
//
// For one hardware point, a group's cost (cycles or energy of its ops) and quality loss (sum of
// its ops' normalized output errors) are measured with only that group compressed, the others
// left as they are. With the hardware fixed, costs add up across groups exactly (every op is
// simulated on its own), and the quality losses add up as SPDY assumes; so the programme finds
// the cost/quality front of the whole network. It then evaluates in full either the best point
// under --dp-budget or --dp-points points spread along the front.
//
// Outer searches: grid takes the hardware points in grid order, random in a seeded random order,
// nsga2 runs NSGA-II over the hardware dimensions alone, a hardware point's fitness being the
// objectives of its dp pick (so it needs --dp-budget: one pick per hardware point). Each batch
// of hardware points is solved together, so its single-group and pick evaluations run in
// parallel. The study stops when the budget is spent.

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "search/algorithms/moea.h"
#include "search/dp.h"
#include "search/study.h"
#include "sim/core/diagnostics.h"

namespace codesim::search {

namespace {

// The mixed-radix assignments of a group's dimensions.
std::vector<std::vector<int>> group_choices(const Space& s, const Group& g) {
  std::vector<std::vector<int>> out(1);
  for (int d : g.dims) {
    std::vector<std::vector<int>> next;
    for (const auto& c : out)
      for (int v = 0; v < static_cast<int>(s.dims[d].size()); ++v) {
        auto n = c;
        n.push_back(v);
        next.push_back(n);
      }
    out = next;
  }
  return out;
}

class DpSearch : public SearchAlgorithm {
 public:
  static constexpr const char* kSummary =
      "exact DP over per-group compression choices under an outer hardware search (SPDY-style)";
  uint64_t default_budget(const Space& s) const override {
    return static_cast<uint64_t>(s.grid_size());
  }

  void run(Study& study) override {
    const Space& s = study.space();
    const auto& o = study.options();
    if (o.dp_cost != "latency" && o.dp_cost != "energy")
      throw sim::ConfigError("--dp-cost must be latency or energy, not '" + o.dp_cost + "'");
    if (s.groups.empty()) throw sim::ConfigError("dp needs compression groups in the space");
    if (o.dp_outer == "nsga2" && !o.dp_budget)
      throw sim::ConfigError("--outer nsga2 needs --dp-budget (one dp pick per hardware point)");
    cost_key_ = o.dp_cost == "latency" ? "cycles" : "energy";
    for (const auto& g : s.groups) choices_.push_back(group_choices(s, g));
    const std::vector<int> hw_dims = s.hardware_dims();
    std::vector<size_t> sizes;
    uint64_t hw_count = 1;
    for (int d : hw_dims) {
      sizes.push_back(s.dims[d].size());
      hw_count *= s.dims[d].size();
    }
    // Hardware point (one index per hardware dimension) -> the full point with the
    // compression at its baseline.
    auto base_of = [&](const Point& hw) {
      Point p(s.dims.size(), 0);
      for (size_t k = 0; k < hw_dims.size(); ++k) p[hw_dims[k]] = hw[k];
      for (int d : s.compression_dims()) p[d] = s.dims[d].baseline;
      return p;
    };
    auto hw_at = [&](uint64_t index) {
      Point hw(hw_dims.size());
      for (size_t k = hw_dims.size(); k-- > 0;) {
        hw[k] = static_cast<int>(index % sizes[k]);
        index /= sizes[k];
      }
      return hw;
    };

    if (o.dp_outer == "nsga2") {
      run_nsga2(study, sizes, s.objectives.size(), [&](const std::vector<Point>& hws) {
        std::vector<Point> bases;
        for (const auto& hw : hws) bases.push_back(base_of(hw));
        std::vector<Objectives> out;
        for (const auto& picks : solve(study, bases))
          out.push_back(study.fitness_of(picks.empty() ? nullptr : picks[0]));
        return out;
      });
      return;
    }
    if (o.dp_outer != "grid" && o.dp_outer != "random")
      throw sim::ConfigError("--outer must be grid, random or nsga2, not '" + o.dp_outer + "'");
    std::vector<uint64_t> order(hw_count);
    std::iota(order.begin(), order.end(), 0);
    if (o.dp_outer == "random") {
      std::mt19937_64 rng(o.seed);
      std::shuffle(order.begin(), order.end(), rng);
    }
    // Hardware points in batches that keep the workers busy.
    const size_t per_batch = static_cast<size_t>(std::max(1, o.workers));
    for (size_t i = 0; i < order.size() && study.remaining() > 0; i += per_batch) {
      std::vector<Point> bases;
      for (size_t k = i; k < std::min(order.size(), i + per_batch); ++k)
        bases.push_back(base_of(hw_at(order[k])));
      solve(study, bases);
    }
  }

 private:
  Point with_choice(const Space& s, Point p, size_t g, const std::vector<int>& c) const {
    for (size_t k = 0; k < c.size(); ++k) p[s.groups[g].dims[k]] = c[k];
    return p;
  }

  // For each hardware point (its baseline point), the records of the points the programme
  // picked (in front order; empty when nothing fits the budget or the baseline failed).
  // A hardware point is solved once; asked again (an outer NSGA-II repeats individuals), it
  // gets its earlier picks.
  std::vector<std::vector<const Record*>> solve(Study& study, const std::vector<Point>& all) {
    std::vector<Point> bases;
    for (const Point& b : all)
      if (!solved_.count(point_key(b)) && std::find(bases.begin(), bases.end(), b) == bases.end())
        bases.push_back(b);
    const std::vector<std::vector<const Record*>> fresh = solve_new(study, bases);
    for (size_t h = 0; h < bases.size(); ++h) solved_[point_key(bases[h])] = fresh[h];
    std::vector<std::vector<const Record*>> out;
    for (const Point& b : all) out.push_back(solved_[point_key(b)]);
    return out;
  }

  std::vector<std::vector<const Record*>> solve_new(Study& study, const std::vector<Point>& bases) {
    const Space& s = study.space();
    const auto& o = study.options();
    if (bases.empty()) return {};
    // One group at a time away from its baseline, for every hardware point, in one batch.
    std::vector<Point> singles;
    for (const Point& base : bases) {
      singles.push_back(base);
      for (size_t g = 0; g < s.groups.size(); ++g)
        for (const auto& c : choices_[g]) singles.push_back(with_choice(s, base, g, c));
    }
    const auto records = study.evaluate(singles);
    std::vector<Point> full;
    std::vector<size_t> owner;  // hardware point of each entry of `full`
    size_t next = 0;
    for (size_t h = 0; h < bases.size(); ++h) {
      const Record* baseline = records[next++];
      std::vector<std::vector<DpOption>> options(s.groups.size());
      for (size_t g = 0; g < s.groups.size(); ++g)
        for (size_t c = 0; c < choices_[g].size(); ++c) {
          const Record* r = records[next++];
          DpOption opt;
          if (r && r->ok) {
            const auto& gm = r->metrics["groups"][s.groups[g].name];
            opt.cost = gm[cost_key_].get<double>();
            opt.error = gm["quality_loss"].get<double>();
          } else {
            opt.cost = opt.error = INFINITY;  // never chosen
          }
          options[g].push_back(opt);
        }
      if (!baseline || !baseline->ok) continue;
      const nlohmann::json& bm = baseline->metrics;
      const std::vector<DpSolution> front = dp_front(options);
      std::vector<DpSolution> chosen;
      if (o.dp_budget) {
        // The budget covers the whole network: take off what the ungrouped ops cost.
        double grouped = 0;
        for (const auto& g : s.groups) grouped += bm["groups"][g.name][cost_key_].get<double>();
        double budget = *o.dp_budget;
        if (o.dp_cost == "latency")
          budget *= bm["cycles"].get<double>() / bm["latency"].get<double>();  // ms -> cycles
        const double total =
            o.dp_cost == "latency" ? bm["cycles"].get<double>() : bm["energy"].get<double>();
        if (auto best = dp_best(options, budget - (total - grouped))) chosen.push_back(*best);
      } else {
        const size_t k =
            std::min<size_t>(front.size(), static_cast<size_t>(std::max(1, o.dp_points)));
        for (size_t i = 0; i < k; ++i)
          chosen.push_back(front[k == 1 ? 0 : i * (front.size() - 1) / (k - 1)]);
      }
      nlohmann::json picks = nlohmann::json::array();
      for (const auto& sol : chosen) {
        if (!std::isfinite(sol.cost)) continue;
        Point p = bases[h];
        for (size_t g = 0; g < s.groups.size(); ++g)
          p = with_choice(s, p, g, choices_[g][static_cast<size_t>(sol.choice[g])]);
        full.push_back(p);
        owner.push_back(h);
        picks.push_back({{"key", point_key(p)},
                         {"predicted_group_" + o.dp_cost, sol.cost},
                         {"predicted_quality_loss", sol.error}});
      }
      nlohmann::json hardware = nlohmann::json::object();
      for (int d : s.hardware_dims()) hardware[s.dims[d].name] = s.dims[d].labels[bases[h][d]];
      study.algorithm_output().push_back(
          {{"hardware", hardware}, {"front_size", front.size()}, {"chosen", picks}});
    }
    std::vector<std::vector<const Record*>> out(bases.size());
    const auto picked = study.evaluate(full);
    for (size_t i = 0; i < picked.size(); ++i)
      if (picked[i]) out[owner[i]].push_back(picked[i]);
    return out;
  }

  std::string cost_key_;
  std::vector<std::vector<std::vector<int>>> choices_;
  std::map<std::string, std::vector<const Record*>> solved_;
};

}  // namespace

CODESIM_REGISTER_SEARCH("dp", DpSearch);

}  // namespace codesim::search
