#include <iostream>

#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "sim/core/registry.h"

namespace codesim::cli {

int cmd_describe(const std::vector<std::string>& argv) {
  Args args("describe", "describe [MODEL] [--markdown]",
            "Without MODEL, lists the accelerator models. With MODEL, prints every parameter:\n"
            "name, type, default (or required), range, unit and doc.",
            {{"markdown", "", "", "print the parameter table as Markdown (for READMEs)"}});
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  const auto& reg = sim::Registry::instance();
  if (args.positional().empty()) {
    std::cout << "accelerator models:\n";
    for (const auto& n : reg.accelerator_names())
      std::cout << "  " << n << std::string(n.size() < 14 ? 14 - n.size() : 1, ' ')
                << reg.accelerator(n)->summary << "\n";
    std::cout << "\n`codesim describe MODEL` lists a model's parameters.\n";
    return 0;
  }
  const std::string name = args.positional()[0];
  const sim::AcceleratorEntry* e = reg.accelerator(name);
  if (!e) {
    const std::string hint = sim::did_you_mean(name, reg.accelerator_names());
    throw UsageError("codesim describe: unknown model '" + name + "'" +
                     (hint.empty() ? "" : " (" + hint + ")"));
  }
  if (args.has("markdown")) {
    std::cout << sim::format_params_markdown(e->params());
  } else {
    std::cout << name << ": " << e->summary << "\n\n" << sim::format_params_text(e->params());
  }
  return 0;
}

}  // namespace codesim::cli
