#pragma once
// The `codesim` subcommands. Each takes its arguments without the program and command names
// and returns the process exit status: 0 success, 2 bad input (ConfigError / UsageError thrown
// to main, which prints them), 1 a failed check (e.g. a workload that does not validate).

#include <string>
#include <vector>

namespace codesim::cli {

int cmd_run(const std::vector<std::string>& argv);
int cmd_describe(const std::vector<std::string>& argv);
int cmd_validate(const std::vector<std::string>& argv);
int cmd_workload(const std::vector<std::string>& argv);
int cmd_compress(const std::vector<std::string>& argv);
int cmd_eval(const std::vector<std::string>& argv);
int cmd_import(const std::vector<std::string>& argv);
int cmd_sweep(const std::vector<std::string>& argv);
int cmd_search(const std::vector<std::string>& argv);
// `sweep` and `search` share their options; `command` is either name.
int cmd_study(const std::string& command, const std::vector<std::string>& argv);

}  // namespace codesim::cli
