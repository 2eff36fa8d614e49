#include "sim/core/diagnostics.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace codesim::sim {

std::string Diagnostic::str() const {
  std::ostringstream os;
  if (!file.empty()) {
    os << file;
    if (line > 0) os << ':' << line << ':' << col;
    os << ": ";
  }
  os << "error: ";
  if (!path.empty()) os << path << ": ";
  os << message;
  if (!hint.empty()) os << " (" << hint << ")";
  return os.str();
}

void Diagnostics::error_at(const std::string& file, const YAML::Node& node, const std::string& path,
                           const std::string& message, const std::string& hint) {
  error_at(file, node ? node.Mark() : YAML::Mark::null_mark(), path, message, hint);
}

void Diagnostics::error_at(const std::string& file, const YAML::Mark& mark, const std::string& path,
                           const std::string& message, const std::string& hint) {
  Diagnostic d;
  d.file = file;
  if (!mark.is_null()) {
    d.line = mark.line + 1;
    d.col = mark.column + 1;
  }
  d.path = path;
  d.message = message;
  d.hint = hint;
  list_.push_back(std::move(d));
}

std::string Diagnostics::str() const {
  std::string out;
  for (const auto& d : list_) out += d.str() + "\n";
  return out;
}

void Diagnostics::throw_if_any() const {
  if (!list_.empty()) throw ConfigError(*this);
}

ConfigError::ConfigError(Diagnostics d) : std::runtime_error(d.str()), diags_(std::move(d)) {}

ConfigError::ConfigError(const std::string& message)
    : std::runtime_error(message.empty() || message.back() == '\n' ? message : message + "\n") {
  Diagnostic d;
  d.message = message;
  diags_.error(d);
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Suggest only what a typo could explain: at most a third of the word's letters wrong.
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : "";
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string m = closest_match(word, candidates);
  if (!m.empty()) return "did you mean '" + m + "'?";
  if (candidates.empty()) return "";
  std::string all = "valid: ";
  for (size_t i = 0; i < candidates.size(); ++i) all += (i ? ", " : "") + candidates[i];
  return all;
}

YAML::Node load_yaml_string(const std::string& text, const std::string& name) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Diagnostics d;
    d.error_at(name, e.mark, "", "malformed YAML: " + e.msg,
               "check indentation, colons and brackets near this place");
    throw ConfigError(d);
  }
}

YAML::Node load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    Diagnostics d;
    Diagnostic dg;
    dg.file = path;
    dg.message = "cannot open file";
    dg.hint = "check the path";
    d.error(dg);
    throw ConfigError(d);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_yaml_string(ss.str(), path);
}

namespace {
std::string node_desc(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "'" + n.Scalar() + "'";
}
}  // namespace

bool read_int(const YAML::Node& node, const std::string& file, const std::string& path,
              Diagnostics& diags, int64_t& out) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    try {
      size_t pos = 0;
      const long long v = std::stoll(s, &pos, 0);
      if (pos == s.size()) {
        out = v;
        return true;
      }
    } catch (const std::exception&) {
    }
  }
  diags.error_at(file, node, path, "expected an integer, got " + node_desc(node));
  return false;
}

bool read_double(const YAML::Node& node, const std::string& file, const std::string& path,
                 Diagnostics& diags, double& out) {
  if (node.IsScalar()) {
    try {
      out = node.as<double>();
      return true;
    } catch (const YAML::Exception&) {
    }
  }
  diags.error_at(file, node, path, "expected a number, got " + node_desc(node));
  return false;
}

bool read_bool(const YAML::Node& node, const std::string& file, const std::string& path,
               Diagnostics& diags, bool& out) {
  if (node.IsScalar()) {
    try {
      out = node.as<bool>();
      return true;
    } catch (const YAML::Exception&) {
    }
  }
  diags.error_at(file, node, path, "expected true or false, got " + node_desc(node));
  return false;
}

bool read_string(const YAML::Node& node, const std::string& file, const std::string& path,
                 Diagnostics& diags, std::string& out) {
  if (node.IsScalar()) {
    out = node.Scalar();
    return true;
  }
  diags.error_at(file, node, path, "expected a string, got " + node_desc(node));
  return false;
}

void check_keys(const YAML::Node& map, const std::string& file, const std::string& path,
                const std::vector<std::string>& known, Diagnostics& diags) {
  if (!map.IsMap()) return;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end())
      diags.error_at(file, kv.first, join_path(path, key), "unknown key", did_you_mean(key, known));
  }
}

std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

}  // namespace codesim::sim
