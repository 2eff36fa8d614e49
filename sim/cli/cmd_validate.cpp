#include <iostream>

#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "sim/core/registry.h"
#include "sim/core/runner.h"
#include "workloads/ir/ir.h"
#include "workloads/yaml/workload_yaml.h"

namespace codesim::cli {

namespace {
bool has_suffix(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}
}  // namespace

int cmd_validate(const std::vector<std::string>& argv) {
  Args args(
      "validate", "validate FILE...",
      "Checks workloads (.yaml, .pb, .textproto) and arch files (.yaml with `accelerator:`)\n"
      "and reports every problem with its place, e.g. `ops[3].conv2d.stride_h: must be >= 1`.\n"
      "Exit status 0 when every file is valid, 2 otherwise.",
      {});
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  if (args.positional().empty()) throw UsageError("codesim validate: name at least one FILE");
  int status = 0;
  for (const auto& path : args.positional()) {
    try {
      if (has_suffix(path, ".yaml") || has_suffix(path, ".yml")) {
        const YAML::Node root = sim::load_yaml_file(path);
        if (root.IsMap() && root["accelerator"]) {
          const sim::ArchConfig arch = sim::load_arch(path);
          sim::Diagnostics diags;
          const auto acc = sim::Registry::instance()
                               .accelerator(arch.model)
                               ->create(arch.accelerator, path, diags);
          diags.throw_if_any();
          std::cout << path << ": ok (arch, model " << arch.model << ")\n";
          continue;
        }
      }
      // load_workload validates the IR it builds and throws with every problem.
      const auto w = workloads::load_workload(path);
      const auto problems = ir::validate(w);
      if (!problems.empty()) {
        for (const auto& p : problems) std::cerr << path << ": error: " << p << "\n";
        status = 2;
        continue;
      }
      std::cout << path << ": ok (workload '" << w.name() << "', " << w.ops_size() << " ops, "
                << w.tensors_size() << " tensors)\n";
    } catch (const sim::ConfigError& e) {
      std::cerr << e.what();
      status = 2;
    }
  }
  return status;
}

}  // namespace codesim::cli
