#pragma once
// Helpers shared by tests that span folders: temporary files and running the codesim binary.

#include <map>
#include <string>
#include <vector>

namespace codesim::test {

// A fresh empty folder under the system temp dir, unique per call.
std::string temp_dir();
// Writes `text` to `dir/name` and returns the path.
std::string write_file(const std::string& dir, const std::string& name, const std::string& text);
std::string read_file(const std::string& path);
// The rows of a comma-separated file with a header line (no quoting), each as column -> cell.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path);

struct Command {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the codesim binary built with the tests with the given arguments (shell-quoted by the
// caller).
Command run_codesim(const std::string& args);

// Path of a file in the source tree.
std::string source_path(const std::string& rel);

}  // namespace codesim::test
