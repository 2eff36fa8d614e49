#include <unistd.h>

#include <iostream>

#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "sim/core/report.h"
#include "sim/core/runner.h"
#include "workloads/yaml/workload_yaml.h"

namespace codesim::cli {

int cmd_run(const std::vector<std::string>& argv) {
  Args args(
      "run", "run --arch ARCH.yaml --workload W [options]",
      "Simulates every op of workload W (.yaml, .pb, .textproto) that the accelerator of\n"
      "ARCH.yaml supports, and reports cycles, stalls, MACs, utilization, action counts,\n"
      "energy by component and area. Writes DIR/report.json, DIR/report.csv,\n"
      "DIR/config.resolved.yaml (every parameter, defaults filled in) and, with --trace,\n"
      "DIR/trace.json (Chrome trace events; open in https://ui.perfetto.dev).",
      {{"arch", "a", "FILE", "arch YAML: accelerator: {model: NAME, ...}, technology, memory"},
       {"workload", "w", "FILE", "workload: .yaml (zoo or op list), .pb or .textproto"},
       {"out", "o", "DIR", "output folder (default: codesim-out)"},
       {"fidelity", "", "F", "cycle (tick every cycle) or fast (tile-level; default)"},
       {"functional", "", "", "move real operand values; compare outputs with the reference"},
       {"trace", "", "", "also write trace.json"},
       {"param", "p", "KEY=VALUE", "override an arch parameter, e.g. -p accelerator.rows=64", true},
       {"quiet", "q", "", "no table on stdout, no progress"}});
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  if (!args.has("arch") || !args.has("workload"))
    throw UsageError("codesim run: --arch and --workload are required; see `codesim run --help`");
  sim::RunOptions opt;
  const std::string fid = args.get("fidelity", "fast");
  if (fid == "cycle")
    opt.fidelity = sim::Fidelity::kCycle;
  else if (fid != "fast")
    throw UsageError("codesim run: --fidelity must be cycle or fast, not '" + fid + "'");
  opt.functional = args.has("functional");
  // Progress redraws one terminal line; in a log file it would be noise.
  opt.progress = !args.has("quiet") && isatty(STDERR_FILENO);

  const sim::ArchConfig arch = sim::load_arch(args.get("arch"), args.all("param"));
  const auto workload = workloads::load_workload(args.get("workload"));
  const sim::RunResult result = sim::run_workload(arch, workload, opt);
  const auto files = sim::write_reports(result, args.get("out", "codesim-out"), args.has("trace"));
  if (!args.has("quiet")) {
    std::cout << sim::report_table(result);
    std::cout << "\nwrote";
    for (const auto& f : files) std::cout << " " << f;
    std::cout << "\n";
  }
  int mismatching_ops = 0;
  for (const auto& o : result.ops)
    if (o.functional_mismatches > 0) ++mismatching_ops;
  if (mismatching_ops > 0) {
    std::cerr << "codesim run: " << mismatching_ops
              << " op(s) differ from the reference (see functional_mismatches in report.json)\n";
    return 1;
  }
  return 0;
}

}  // namespace codesim::cli
