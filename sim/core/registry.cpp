#include "sim/core/registry.h"

#include <stdexcept>

namespace codesim::sim {

Registry& Registry::instance() {
  static Registry r;
  return r;
}

bool Registry::add_accelerator(AcceleratorEntry e) {
  const std::string name = e.name;
  if (!accelerators_.emplace(name, std::move(e)).second)
    throw std::logic_error("accelerator registered twice: " + name);
  return true;
}

const AcceleratorEntry* Registry::accelerator(const std::string& name) const {
  auto it = accelerators_.find(name);
  return it == accelerators_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::accelerator_names() const {
  std::vector<std::string> out;
  for (const auto& kv : accelerators_) out.push_back(kv.first);
  return out;
}

}  // namespace codesim::sim
