#pragma once
// Parameters are declared once, in code: each model's Params struct lists every field with its
// type, default (or required), range, unit and doc. The same declaration parses YAML into an
// immutable struct, prints `codesim describe`, fills config.resolved.yaml and the README table.

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sim/core/diagnostics.h"

namespace codesim::sim {

enum class ParamType { kInt, kDouble, kBool, kString, kEnum };
const char* param_type_name(ParamType t);

struct ParamInfo {
  std::string name;
  ParamType type = ParamType::kInt;
  bool required = false;
  std::string default_text;  // YAML text of the default; empty when required
  std::optional<double> min, max;
  std::vector<std::string> choices;  // kEnum only
  std::string unit;
  std::string doc;

  std::string range_text() const;  // "[1, 4096]", "{os, ws, is}" or ""
};

// A table of ParamInfo as aligned text (for `codesim describe`) or Markdown (for READMEs).
std::string format_params_text(const std::vector<ParamInfo>& params);
std::string format_params_markdown(const std::vector<ParamInfo>& params);

template <class P>
class ParamSchema {
 public:
  ParamSchema& integer(const std::string& name, int64_t P::*field, const std::string& doc) {
    Entry e = make(name, ParamType::kInt, doc);
    e.parse = [field](P& p, const YAML::Node& n, const std::string& file, const std::string& path,
                      Diagnostics& d, const Entry& entry) {
      const ParamInfo& info = entry.info;
      int64_t v;
      if (!read_int(n, file, path, d, v)) return;
      if (!in_range(static_cast<double>(v), info, file, n, path, d)) return;
      p.*field = v;
    };
    e.dump = [field](const P& p) { return YAML::Node(p.*field); };
    entries_.push_back(std::move(e));
    return *this;
  }
  ParamSchema& real(const std::string& name, double P::*field, const std::string& doc) {
    Entry e = make(name, ParamType::kDouble, doc);
    e.parse = [field](P& p, const YAML::Node& n, const std::string& file, const std::string& path,
                      Diagnostics& d, const Entry& entry) {
      const ParamInfo& info = entry.info;
      double v;
      if (!read_double(n, file, path, d, v)) return;
      if (!in_range(v, info, file, n, path, d)) return;
      p.*field = v;
    };
    e.dump = [field](const P& p) { return YAML::Node(p.*field); };
    entries_.push_back(std::move(e));
    return *this;
  }
  ParamSchema& boolean(const std::string& name, bool P::*field, const std::string& doc) {
    Entry e = make(name, ParamType::kBool, doc);
    e.parse = [field](P& p, const YAML::Node& n, const std::string& file, const std::string& path,
                      Diagnostics& d, const Entry&) {
      bool v;
      if (read_bool(n, file, path, d, v)) p.*field = v;
    };
    e.dump = [field](const P& p) { return YAML::Node(p.*field); };
    entries_.push_back(std::move(e));
    return *this;
  }
  ParamSchema& text(const std::string& name, std::string P::*field, const std::string& doc) {
    Entry e = make(name, ParamType::kString, doc);
    e.parse = [field](P& p, const YAML::Node& n, const std::string& file, const std::string& path,
                      Diagnostics& d, const Entry& entry) {
      std::string v;
      if (!read_string(n, file, path, d, v)) return;
      if (entry.check_text) {
        const std::string problem = entry.check_text(v);
        if (!problem.empty()) {
          d.error_at(file, n, path, problem, entry.check_hint);
          return;
        }
      }
      p.*field = v;
    };
    e.dump = [field](const P& p) { return YAML::Node(p.*field); };
    entries_.push_back(std::move(e));
    return *this;
  }
  ParamSchema& choice(const std::string& name, std::string P::*field,
                      const std::vector<std::string>& choices, const std::string& doc) {
    Entry e = make(name, ParamType::kEnum, doc);
    e.info.choices = choices;
    e.parse = [field](P& p, const YAML::Node& n, const std::string& file, const std::string& path,
                      Diagnostics& d, const Entry& entry) {
      const ParamInfo& info = entry.info;
      std::string v;
      if (!read_string(n, file, path, d, v)) return;
      for (const auto& c : info.choices)
        if (c == v) {
          p.*field = v;
          return;
        }
      d.error_at(file, n, path, "'" + v + "' is not one of " + info.range_text(),
                 did_you_mean(v, info.choices));
    };
    e.dump = [field](const P& p) { return YAML::Node(p.*field); };
    entries_.push_back(std::move(e));
    return *this;
  }

  // Modifiers of the parameter declared last.
  template <class V>
  ParamSchema& def(const V& value) {
    last().default_node = YAML::Node(value);
    std::ostringstream os;
    os << YAML::Node(value);
    last().info.default_text = os.str();
    last().info.required = false;
    return *this;
  }
  ParamSchema& required() {
    last().info.required = true;
    last().info.default_text.clear();
    return *this;
  }
  ParamSchema& range(double lo, double hi) {
    last().info.min = lo;
    last().info.max = hi;
    return *this;
  }
  ParamSchema& min(double lo) {
    last().info.min = lo;
    return *this;
  }
  ParamSchema& unit(const std::string& u) {
    last().info.unit = u;
    return *this;
  }
  // A text parameter's own syntax: `problem(value)` returns "" when the value is valid, else what
  // is wrong with it; the error is reported at the value's place with `hint`, like any other.
  ParamSchema& check(std::function<std::string(const std::string&)> problem,
                     const std::string& hint = "") {
    last().check_text = std::move(problem);
    last().check_hint = hint;
    return *this;
  }

  std::vector<ParamInfo> infos() const {
    std::vector<ParamInfo> out;
    for (const auto& e : entries_) out.push_back(e.info);
    return out;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.info.name);
    return out;
  }

  // Parses the map `node` (keys in `ignore` are skipped, e.g. `model`). Every problem is
  // recorded in `diags`; the returned struct is meaningful only if no error was added.
  P parse(const YAML::Node& node, const std::string& file, const std::string& prefix,
          Diagnostics& diags, const std::vector<std::string>& ignore = {}) const {
    P p{};
    if (node && !node.IsNull() && !node.IsMap()) {
      diags.error_at(file, node, prefix, "expected a map of parameters");
      return p;
    }
    std::vector<std::string> known = names();
    known.insert(known.end(), ignore.begin(), ignore.end());
    if (node && node.IsMap()) check_keys(node, file, prefix, known, diags);
    for (const auto& e : entries_) {
      const std::string path = join_path(prefix, e.info.name);
      YAML::Node v = (node && node.IsMap()) ? node[e.info.name] : YAML::Node();
      if (v && !v.IsNull()) {
        e.parse(p, v, file, path, diags, e);
      } else if (e.info.required) {
        Diagnostic dg;
        dg.file = file;
        if (node && node.IsMap()) {
          dg.line = node.Mark().line + 1;
          dg.col = node.Mark().column + 1;
        }
        dg.path = path;
        dg.message = "missing required parameter";
        dg.hint = "add `" + e.info.name + ":` (" + e.info.doc + ")";
        diags.error(dg);
      } else {
        e.parse(p, e.default_node, "<default>", path, diags, e);
      }
    }
    return p;
  }

  YAML::Node dump(const P& p) const {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& e : entries_) out[e.info.name] = e.dump(p);
    return out;
  }

 private:
  struct Entry {
    ParamInfo info;
    YAML::Node default_node;
    std::function<void(P&, const YAML::Node&, const std::string&, const std::string&, Diagnostics&,
                       const Entry&)>
        parse;
    std::function<YAML::Node(const P&)> dump;
    std::function<std::string(const std::string&)> check_text;  // text parameters only
    std::string check_hint;
  };
  static Entry make(const std::string& name, ParamType t, const std::string& doc) {
    Entry e;
    e.info.name = name;
    e.info.type = t;
    e.info.doc = doc;
    e.info.required = true;
    return e;
  }
  static bool in_range(double v, const ParamInfo& info, const std::string& file,
                       const YAML::Node& n, const std::string& path, Diagnostics& d) {
    if ((info.min && v < *info.min) || (info.max && v > *info.max) || std::isnan(v)) {
      std::ostringstream os;
      os << v << " is out of range " << info.range_text();
      d.error_at(file, n, path, os.str());
      return false;
    }
    return true;
  }
  Entry& last() { return entries_.back(); }
  std::vector<Entry> entries_;
};

}  // namespace codesim::sim
