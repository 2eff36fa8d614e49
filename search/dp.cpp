#include "search/dp.h"

#include <algorithm>

namespace codesim::search {

std::vector<DpSolution> dp_front(const std::vector<std::vector<DpOption>>& groups) {
  std::vector<DpSolution> states(1);
  for (const auto& options : groups) {
    std::vector<DpSolution> next;
    next.reserve(states.size() * options.size());
    for (const auto& s : states)
      for (size_t c = 0; c < options.size(); ++c) {
        DpSolution n = s;
        n.cost += options[c].cost;
        n.error += options[c].error;
        n.choice.push_back(static_cast<int>(c));
        next.push_back(std::move(n));
      }
    std::sort(next.begin(), next.end(), [](const DpSolution& a, const DpSolution& b) {
      if (a.cost != b.cost) return a.cost < b.cost;
      if (a.error != b.error) return a.error < b.error;
      return a.choice < b.choice;
    });
    // Sweep by increasing cost, keeping a state only if its error is below every cheaper one's.
    states.clear();
    for (auto& n : next)
      if (states.empty() || n.error < states.back().error) states.push_back(std::move(n));
  }
  return states;
}

std::optional<DpSolution> dp_best(const std::vector<std::vector<DpOption>>& groups, double budget) {
  std::optional<DpSolution> best;
  for (auto& s : dp_front(groups))
    if (s.cost <= budget) best = s;  // the front is sorted by cost with decreasing error
  return best;
}

}  // namespace codesim::search
