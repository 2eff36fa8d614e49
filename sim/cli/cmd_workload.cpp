#include <iostream>

#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "workloads/yaml/workload_yaml.h"

namespace codesim::cli {

int cmd_workload(const std::vector<std::string>& argv) {
  Args args("workload", "workload stats W",
            "stats: prints MACs and parameters per op and in total for workload W\n"
            "(.yaml with a zoo reference or an op list, .pb or .textproto).",
            {});
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  const auto& pos = args.positional();
  if (pos.size() != 2 || pos[0] != "stats")
    throw UsageError("codesim workload: expected `codesim workload stats W`; see --help");
  std::cout << workloads::workload_stats_table(workloads::load_workload(pos[1]));
  return 0;
}

}  // namespace codesim::cli
