#pragma once
// Errors in user input (YAML, protobuf, command line) carry a location and are collected, so that
// a user sees every problem of a file at once and the program exits with status 2.

#include <yaml-cpp/yaml.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace codesim::sim {

struct Diagnostic {
  std::string file;  // empty when the input has no file (command line)
  int line = 0;      // 1-based; 0 when unknown
  int col = 0;       // 1-based; 0 when unknown
  std::string path;  // key path, e.g. accelerator.rows or ops[3].conv2d.stride
  std::string message;
  std::string hint;  // e.g. "did you mean 'rows'?"

  std::string str() const;
};

class Diagnostics {
 public:
  void error(Diagnostic d) { list_.push_back(std::move(d)); }
  // Error at a YAML node; the node's mark gives line and column.
  void error_at(const std::string& file, const YAML::Node& node, const std::string& path,
                const std::string& message, const std::string& hint = "");
  void error_at(const std::string& file, const YAML::Mark& mark, const std::string& path,
                const std::string& message, const std::string& hint = "");
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }
  const std::vector<Diagnostic>& list() const { return list_; }
  std::string str() const;  // one line per diagnostic
  // Throws ConfigError holding every diagnostic collected so far, if there is any.
  void throw_if_any() const;

 private:
  std::vector<Diagnostic> list_;
};

// Bad user input. The command line prints what() and exits with status 2.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(Diagnostics d);
  explicit ConfigError(const std::string& message);
  const Diagnostics& diagnostics() const { return diags_; }

 private:
  Diagnostics diags_;
};

// The closest candidate by edit distance, or "" when none is close enough to suggest.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);
// "did you mean 'x'?" or "" (with the list of valid keys when nothing is close).
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// Loads a YAML file; a missing file or malformed YAML becomes a ConfigError with the location.
YAML::Node load_yaml_file(const std::string& path);
// Parses YAML text; `name` is used as the file name in errors.
YAML::Node load_yaml_string(const std::string& text, const std::string& name);

// Typed reads of scalar nodes. On a type error they record a diagnostic and return false.
bool read_int(const YAML::Node& node, const std::string& file, const std::string& path,
              Diagnostics& diags, int64_t& out);
bool read_double(const YAML::Node& node, const std::string& file, const std::string& path,
                 Diagnostics& diags, double& out);
bool read_bool(const YAML::Node& node, const std::string& file, const std::string& path,
               Diagnostics& diags, bool& out);
bool read_string(const YAML::Node& node, const std::string& file, const std::string& path,
                 Diagnostics& diags, std::string& out);

// Records an error for every key of `map` not in `known`, with a did-you-mean hint.
void check_keys(const YAML::Node& map, const std::string& file, const std::string& path,
                const std::vector<std::string>& known, Diagnostics& diags);

// "a.b" + "c" -> "a.b.c"; "" + "c" -> "c".
std::string join_path(const std::string& prefix, const std::string& key);

}  // namespace codesim::sim
