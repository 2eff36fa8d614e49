#pragma once
// The exact dynamic programme over per-layer-group choices (SPDY-style): with the hardware
// fixed, a group's cost (cycles or energy) and quality loss do not depend on the other groups'
// choices, so the best combination under a budget is found group by group. States are the
// non-dominated (cost, error) pairs of the groups seen so far, so the programme is exact (no
// cost buckets) and yields the whole cost/error front at once.

#include <optional>
#include <vector>

namespace codesim::search {

struct DpOption {
  double cost = 0;
  double error = 0;
};

struct DpSolution {
  double cost = 0;
  double error = 0;
  std::vector<int> choice;  // option index per group
};

// Every Pareto-optimal combination of one option per group (sums of cost and error), sorted by
// increasing cost (and so decreasing error). Of combinations with equal cost and error, the
// one with the lexicographically smallest choice is kept.
std::vector<DpSolution> dp_front(const std::vector<std::vector<DpOption>>& groups);

// The combination of least error whose cost is <= budget (ties: the cheaper), or nothing when
// even the cheapest combination exceeds the budget.
std::optional<DpSolution> dp_best(const std::vector<std::vector<DpOption>>& groups, double budget);

}  // namespace codesim::search
