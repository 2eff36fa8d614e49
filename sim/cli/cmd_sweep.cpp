#include "sim/cli/commands.h"

namespace codesim::cli {

// The full grid of a design space: `codesim search --algorithm grid` with sweep's defaults.
int cmd_sweep(const std::vector<std::string>& argv) { return cmd_study("sweep", argv); }

}  // namespace codesim::cli
