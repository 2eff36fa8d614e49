#pragma once
// A small command-line parser: declared options produce --help text and did-you-mean errors.

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace codesim::cli {

struct OptionSpec {
  std::string name;        // long name without dashes, e.g. "arch"
  std::string short_name;  // e.g. "p", or ""
  std::string value;       // metavariable ("FILE"); empty for a flag
  std::string help;
  bool repeatable = false;
};

class Args {
 public:
  Args(std::string command, std::string synopsis, std::string description,
       std::vector<OptionSpec> options, std::string positional_help = "");

  // Parses argv (without the program and command names). Throws UsageError on bad input.
  void parse(const std::vector<std::string>& argv);
  bool help_requested() const { return help_; }
  std::string help() const;

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  const OptionSpec* find(const std::string& token) const;
  std::string command_, synopsis_, description_, positional_help_;
  std::vector<OptionSpec> options_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace codesim::cli
