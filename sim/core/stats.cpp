#include "sim/core/stats.h"

#include <stdexcept>

namespace codesim::sim {

Counter& StatGroup::counter(const std::string& name, const std::string& unit,
                            const std::string& desc, const std::string& component,
                            const std::string& action) {
  for (const auto& c : counters_)
    if (c->name == name) throw std::logic_error("counter registered twice: " + name);
  counters_.push_back(std::make_unique<Counter>(Counter{name, unit, desc, component, action, 0}));
  return *counters_.back();
}

void StatGroup::formula(const std::string& name, const std::string& unit, const std::string& desc,
                        std::function<double()> eval) {
  formulas_.push_back(Formula{name, unit, desc, std::move(eval)});
}

std::vector<uint64_t> StatGroup::snapshot() const {
  std::vector<uint64_t> v;
  v.reserve(counters_.size());
  for (const auto& c : counters_) v.push_back(c->value);
  return v;
}

}  // namespace codesim::sim
