#pragma once
// One registry for accelerator models (and later transforms and search algorithms). A model
// folder registers itself with CODESIM_REGISTER_ACCELERATOR; the folder is compiled into an
// OBJECT library so the registering translation unit is always linked.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "sim/core/accelerator.h"
#include "sim/core/diagnostics.h"
#include "sim/core/params.h"

namespace codesim::sim {

struct AcceleratorEntry {
  std::string name;
  std::string summary;
  std::function<std::vector<ParamInfo>()> params;
  // Parses `node` (the arch file's `accelerator:` map; key `model` is skipped). Returns nullptr
  // and fills `diags` when the parameters are invalid. Must be called during elaboration.
  std::function<std::unique_ptr<Accelerator>(const YAML::Node& node, const std::string& file,
                                             Diagnostics& diags)>
      create;
  // True when an op's cycles, counters and energy depend only on the op and the parameters, not
  // on the ops around it or on the whole workload (fused or overlapped neighbours, hardware sized
  // from the workload). Only then may results be cached and reused op by op (the search does).
  bool separable_ops = false;
};

class Registry {
 public:
  static Registry& instance();
  bool add_accelerator(AcceleratorEntry e);
  const AcceleratorEntry* accelerator(const std::string& name) const;
  std::vector<std::string> accelerator_names() const;

 private:
  std::map<std::string, AcceleratorEntry> accelerators_;
};

// Model classes provide a `Params` type with a static `schema()` returning its ParamSchema, a
// `kSummary` string and a constructor from (sc_module_name, const Params&). They may declare
// `static constexpr bool kSeparableOps = true` (see AcceleratorEntry); a model that does not is
// taken as not separable, which is always safe.
template <class Model, class = void>
struct SeparableOps : std::false_type {};
template <class Model>
struct SeparableOps<Model, std::void_t<decltype(Model::kSeparableOps)>>
    : std::bool_constant<Model::kSeparableOps> {};

template <class Model>
AcceleratorEntry make_accelerator_entry(const std::string& name) {
  AcceleratorEntry e;
  e.name = name;
  e.summary = Model::kSummary;
  e.separable_ops = SeparableOps<Model>::value;
  e.params = [] { return Model::Params::schema().infos(); };
  e.create = [name](const YAML::Node& node, const std::string& file,
                    Diagnostics& diags) -> std::unique_ptr<Accelerator> {
    const size_t before = diags.size();
    typename Model::Params p =
        Model::Params::schema().parse(node, file, "accelerator", diags, {"model"});
    if (diags.size() != before) return nullptr;
    return std::make_unique<Model>(sc_core::sc_module_name(name.c_str()), p);
  };
  return e;
}

}  // namespace codesim::sim

#define CODESIM_REGISTER_ACCELERATOR(NAME, MODEL)            \
  static const bool codesim_registered_accelerator_##MODEL = \
      ::codesim::sim::Registry::instance().add_accelerator(  \
          ::codesim::sim::make_accelerator_entry<MODEL>(NAME))
