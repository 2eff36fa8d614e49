#include "sim/cli/args.h"

#include <sstream>
#include <stdexcept>

#include "sim/core/diagnostics.h"

namespace codesim::cli {

Args::Args(std::string command, std::string synopsis, std::string description,
           std::vector<OptionSpec> options, std::string positional_help)
    : command_(std::move(command)),
      synopsis_(std::move(synopsis)),
      description_(std::move(description)),
      positional_help_(std::move(positional_help)),
      options_(std::move(options)) {}

const OptionSpec* Args::find(const std::string& token) const {
  for (const auto& o : options_)
    if (token == "--" + o.name || (!o.short_name.empty() && token == "-" + o.short_name)) return &o;
  return nullptr;
}

void Args::parse(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string tok = argv[i];
    if (tok == "-h" || tok == "--help") {
      help_ = true;
      continue;
    }
    if (tok.size() < 2 || tok[0] != '-') {
      positional_.push_back(tok);
      continue;
    }
    std::string inline_value;
    bool has_inline = false;
    const auto eq = tok.find('=');
    if (tok.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = tok.substr(eq + 1);
      tok = tok.substr(0, eq);
      has_inline = true;
    }
    const OptionSpec* o = find(tok);
    if (!o) {
      std::vector<std::string> names;
      for (const auto& s : options_) names.push_back("--" + s.name);
      const std::string hint = sim::did_you_mean(tok, names);
      throw UsageError("codesim " + command_ + ": unknown option '" + tok + "'" +
                       (hint.empty() ? "" : " (" + hint + ")") + "; see `codesim " + command_ +
                       " --help`");
    }
    std::string value = "1";
    if (!o->value.empty()) {
      if (has_inline) {
        value = inline_value;
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        throw UsageError("codesim " + command_ + ": option '" + tok + "' needs a value (" +
                         o->value + ")");
      }
    } else if (has_inline) {
      throw UsageError("codesim " + command_ + ": option '" + tok + "' takes no value");
    }
    auto& slot = values_[o->name];
    if (!slot.empty() && !o->repeatable)
      throw UsageError("codesim " + command_ + ": option '--" + o->name + "' given twice");
    slot.push_back(value);
  }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::help() const {
  std::ostringstream os;
  os << "usage: codesim " << synopsis_ << "\n\n" << description_ << "\n";
  if (!positional_help_.empty()) os << "\n" << positional_help_ << "\n";
  if (!options_.empty()) {
    os << "\noptions:\n";
    for (const auto& o : options_) {
      std::string left = "  ";
      if (!o.short_name.empty()) left += "-" + o.short_name + ", ";
      left += "--" + o.name;
      if (!o.value.empty()) left += " " + o.value;
      os << left;
      if (left.size() < 28)
        os << std::string(28 - left.size(), ' ');
      else
        os << "\n" << std::string(28, ' ');
      os << o.help << "\n";
    }
  }
  os << "  -h, --help                show this help\n";
  return os.str();
}

}  // namespace codesim::cli
