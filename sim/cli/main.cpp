// codesim: one binary, subcommands, --help on each.

#include <iostream>
#include <string>
#include <systemc>
#include <vector>

#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "sim/core/diagnostics.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*fn)(const std::vector<std::string>&);
};

const std::vector<Command>& commands() {
  static const std::vector<Command> c = {
      {"run", "simulate a workload on an accelerator; writes report.json/csv, table, trace",
       codesim::cli::cmd_run},
      {"describe", "list accelerator models, or every parameter of one model",
       codesim::cli::cmd_describe},
      {"validate", "check a workload (.yaml, .pb, .textproto) or arch file; list every problem",
       codesim::cli::cmd_validate},
      {"workload", "workload tools: `workload stats W` prints MACs and parameters per op",
       codesim::cli::cmd_workload},
      {"compress", "apply a transform pipeline to a workload's weights; report quality and size",
       codesim::cli::cmd_compress},
      {"eval", "top-1 accuracy of a classifier (ONNX) on a dataset, by the reference executor",
       codesim::cli::cmd_eval},
      {"import", "convert an ONNX model into a workload (.pb / .textproto)",
       codesim::cli::cmd_import},
      {"sweep", "evaluate every point of a design space (hardware x compression); Pareto front",
       codesim::cli::cmd_sweep},
      {"search", "search a design space: random, nsga2, moead, dp; Pareto front, hypervolume",
       codesim::cli::cmd_search},
  };
  return c;
}

void usage(std::ostream& os) {
  os << "usage: codesim COMMAND [options]   (codesim COMMAND --help for details)\n\n"
        "Cycle-level simulation of DNN accelerators running compressed networks.\n\n"
        "commands:\n";
  for (const auto& c : commands()) {
    std::string n = c.name;
    os << "  " << n << std::string(12 - n.size(), ' ') << c.summary << "\n";
  }
}

}  // namespace

int sc_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    usage(std::cout);
    return args.empty() ? 2 : 0;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  for (const auto& c : commands()) {
    if (name != c.name) continue;
    try {
      return c.fn(args);
    } catch (const codesim::sim::ConfigError& e) {
      std::cerr << e.what();
      return 2;
    } catch (const codesim::cli::UsageError& e) {
      std::cerr << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "codesim " << name << ": internal error: " << e.what() << "\n";
      return 1;
    }
  }
  std::vector<std::string> names;
  for (const auto& c : commands()) names.push_back(c.name);
  const std::string hint = codesim::sim::did_you_mean(name, names);
  std::cerr << "codesim: unknown command '" << name << "'"
            << (hint.empty() ? "" : " (" + hint + ")") << "\n";
  usage(std::cerr);
  return 2;
}
