// dp: for each hardware point (grid order), the exact dynamic programme over per-group
// compression choices (search/dp.h). A group's cost (cycles or energy of its ops) and quality
// loss (sum of its ops' normalized output errors) are measured with only that group compressed,
// the others left as they are; with the hardware fixed they add up across groups (SPDY's
// separability), so the programme finds the cost/quality front of the whole network. It then
// evaluates in full either the best point under --dp-budget or --dp-points points spread
// along the front. The hardware loop is the outer search; it stops when the budget is spent.

#include <algorithm>
#include <cmath>

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
      "exact DP over per-group compression choices for each hardware point (SPDY-style)";
  uint64_t default_budget(const Space& s) const override {
    return static_cast<uint64_t>(s.grid_size());
  }
  void run(Study& study) override {
    const Space& s = study.space();
    const auto& o = study.options();
    if (o.dp_cost != "latency" && o.dp_cost != "energy")
      throw sim::ConfigError("--dp-cost must be latency or energy, not '" + o.dp_cost + "'");
    if (s.groups.empty()) throw sim::ConfigError("dp needs compression groups in the space");
    const std::string cost_key = o.dp_cost == "latency" ? "cycles" : "energy";
    const std::vector<int> hw_dims = s.hardware_dims();
    uint64_t hw_count = 1;
    for (int d : hw_dims) hw_count *= s.dims[d].size();
    std::vector<std::vector<std::vector<int>>> choices;
    for (const auto& g : s.groups) choices.push_back(group_choices(s, g));

    for (uint64_t h = 0; h < hw_count && study.remaining() > 0; ++h) {
      Point base(s.dims.size(), 0);
      uint64_t rest = h;
      for (size_t k = hw_dims.size(); k-- > 0;) {
        const int d = hw_dims[k];
        base[d] = static_cast<int>(rest % s.dims[d].size());
        rest /= s.dims[d].size();
      }
      for (int d : s.compression_dims()) base[d] = s.dims[d].baseline;
      // One group at a time away from its baseline.
      auto with_choice = [&](Point p, size_t g, const std::vector<int>& c) {
        for (size_t k = 0; k < c.size(); ++k) p[s.groups[g].dims[k]] = c[k];
        return p;
      };
      std::vector<Point> singles{base};
      for (size_t g = 0; g < s.groups.size(); ++g)
        for (const auto& c : choices[g]) singles.push_back(with_choice(base, g, c));
      const auto records = study.evaluate(singles);
      if (!records[0] || !records[0]->ok) continue;
      const nlohmann::json& bm = records[0]->metrics;
      std::vector<std::vector<DpOption>> options(s.groups.size());
      size_t next = 1;
      for (size_t g = 0; g < s.groups.size(); ++g)
        for (size_t c = 0; c < choices[g].size(); ++c) {
          const Record* r = records[next++];
          DpOption opt;
          if (r && r->ok) {
            const auto& gm = r->metrics["groups"][s.groups[g].name];
            opt.cost = gm[cost_key].get<double>();
            opt.error = gm["quality_loss"].get<double>();
          } else {
            opt.cost = opt.error = INFINITY;  // never chosen
          }
          options[g].push_back(opt);
        }
      const std::vector<DpSolution> front = dp_front(options);
      std::vector<DpSolution> chosen;
      if (o.dp_budget) {
        // The budget covers the whole network: take off what the ungrouped ops cost.
        double grouped = 0;
        for (const auto& g : s.groups) grouped += bm["groups"][g.name][cost_key].get<double>();
        double budget = *o.dp_budget;
        if (o.dp_cost == "latency") budget *= bm["cycles"].get<double>() / bm["latency"].get<double>();
        const double total = o.dp_cost == "latency" ? bm["cycles"].get<double>()
                                                    : bm["energy"].get<double>();
        if (auto best = dp_best(options, budget - (total - grouped))) chosen.push_back(*best);
      } else {
        const size_t k = std::min<size_t>(front.size(), static_cast<size_t>(std::max(1, o.dp_points)));
        for (size_t i = 0; i < k; ++i)
          chosen.push_back(front[k == 1 ? 0 : i * (front.size() - 1) / (k - 1)]);
      }
      std::vector<Point> full;
      nlohmann::json picks = nlohmann::json::array();
      for (const auto& sol : chosen) {
        if (!std::isfinite(sol.cost)) continue;
        Point p = base;
        for (size_t g = 0; g < s.groups.size(); ++g) p = with_choice(p, g, choices[g][sol.choice[g]]);
        full.push_back(p);
        picks.push_back({{"key", point_key(p)},
                         {"predicted_group_" + o.dp_cost, sol.cost},
                         {"predicted_quality_loss", sol.error}});
      }
      study.algorithm_output().push_back(
          {{"hardware", point_params(s, base)}, {"front_size", front.size()}, {"chosen", picks}});
      study.evaluate(full);
    }
  }
};

}  // namespace

CODESIM_REGISTER_SEARCH("dp", DpSearch);

}  // namespace codesim::search
