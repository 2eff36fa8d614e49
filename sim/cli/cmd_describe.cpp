#include <iostream>

#include "compress/transform.h"
#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "sim/core/registry.h"

namespace codesim::cli {

namespace {

std::string padded(const std::string& name) {
  return "  " + name + std::string(name.size() < 14 ? 14 - name.size() : 1, ' ');
}

}  // namespace

int cmd_describe(const std::vector<std::string>& argv) {
  Args args("describe", "describe [MODEL] [--transform NAME] [--markdown]",
            "Without arguments, lists the accelerator models and the compression transforms.\n"
            "With MODEL (or --transform NAME), prints every parameter of that model (or\n"
            "pipeline step): name, type, default (or required), range, unit and doc.",
            {{"transform", "t", "NAME", "describe a compression transform instead of a model"},
             {"markdown", "", "", "print the parameter table as Markdown (for READMEs)"}});
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  const auto& reg = sim::Registry::instance();
  const auto& transforms = compress::TransformRegistry::instance();
  if (args.positional().empty() && !args.has("transform")) {
    std::cout << "accelerator models:\n";
    for (const auto& n : reg.accelerator_names())
      std::cout << padded(n) << reg.accelerator(n)->summary << "\n";
    std::cout << "\ncompression transforms (pipeline steps of `codesim compress`):\n";
    for (const auto& n : transforms.names())
      std::cout << padded(n) << transforms.find(n)->summary << "\n";
    std::cout << "\n`codesim describe MODEL` lists a model's parameters, "
                 "`codesim describe --transform NAME` a transform's.\n";
    return 0;
  }
  if (args.has("transform")) {
    if (!args.positional().empty())
      throw UsageError("codesim describe: give either MODEL or --transform NAME, not both");
    const std::string name = args.get("transform");
    const compress::TransformEntry* t = transforms.find(name);
    if (!t) {
      const std::string hint = sim::did_you_mean(name, transforms.names());
      throw UsageError("codesim describe: unknown transform '" + name + "'" +
                       (hint.empty() ? "" : " (" + hint + ")"));
    }
    const auto params = t->params();
    if (args.has("markdown")) {
      std::cout << (params.empty() ? "No parameters.\n" : sim::format_params_markdown(params));
    } else {
      std::string kinds;
      for (const auto& k : t->kinds()) kinds += (kinds.empty() ? "" : ", ") + k;
      std::cout << name << ": " << t->summary << "\nop kinds: " << kinds << "\n\n"
                << (params.empty() ? "no parameters\n" : sim::format_params_text(params));
    }
    return 0;
  }
  const std::string name = args.positional()[0];
  const sim::AcceleratorEntry* e = reg.accelerator(name);
  if (!e) {
    std::string hint = sim::did_you_mean(name, reg.accelerator_names());
    if (hint.empty() && transforms.find(name)) hint = "for the transform: --transform " + name;
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
