// Loading: finds a built-in table or a user file and parses it into a TechTable, collecting every
// error of the file (with file:line:col and key path) before throwing. The format is documented in
// arch/tech/README.md.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>
#include <utility>

#include "arch/tech/tech.h"
#include "sim/core/diagnostics.h"

#ifndef CODESIM_TECH_DIR
#error "CODESIM_TECH_DIR must name the directory of the built-in tables (set by CMake)"
#endif

namespace codesim::arch {

namespace {

// Bounds that keep widths and nodes in an int; no real table comes near them.
constexpr int64_t kMaxWidth = 1 << 20;
constexpr int64_t kMaxNodeNm = 100000;

const std::vector<std::string> kTopKeys{"technology", "node_nm", "description",
                                        "units",      "sram",    "dram"};
const std::vector<std::string> kUnitNames{"int_add", "int_mul", "fp_add",
                                          "fp_mul",  "shift",   "register"};
const std::vector<std::string> kUnitKeys{"scaling", "points"};
const std::vector<std::string> kUnitPointKeys{"bits", "energy_pj", "area_um2", "leak_uw"};
const std::vector<std::string> kScalings{"linear", "quadratic"};
const std::vector<std::string> kSramKeys{"model", "points"};
const std::vector<std::string> kSramModels{"cacti", "sqrt"};
const std::vector<std::string> kSramPointKeys{"bytes",    "width_bits", "read_pj",
                                              "write_pj", "leak_mw",    "area_mm2"};
const std::vector<std::string> kDramKeys{"default_type", "pj_per_bit"};

std::string describe(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "'" + n.Scalar() + "'";
}

std::string indexed(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// A name the user typed is a path when it looks like one; anything else names a built-in table.
bool looks_like_path(const std::string& s) {
  auto ends_with = [&s](const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return s.find('/') != std::string::npos || ends_with(".yaml") || ends_with(".yml");
}

}  // namespace

// Parses one table document. A friend of TechTable so that the table's representation stays
// private; one instance per file.
class TechTableLoader {
 public:
  TechTableLoader(std::string file, sim::Diagnostics& diags)
      : file_(std::move(file)), diags_(diags) {}

  void parse(const YAML::Node& root, TechTable& t) {
    if (!expect_map(root, "")) return;
    sim::check_keys(root, file_, "", kTopKeys, diags_);
    if (const YAML::Node n = require(root, "technology", ""))
      if (sim::read_string(n, file_, "technology", diags_, t.name_) && t.name_.empty())
        diags_.error_at(file_, n, "technology", "must not be empty");
    if (const YAML::Node n = require(root, "node_nm", "")) {
      int64_t node = 0;
      if (read_in_range(n, "node_nm", 1, kMaxNodeNm, node)) t.node_nm_ = static_cast<int>(node);
    }
    if (const YAML::Node n = root["description"])
      sim::read_string(n, file_, "description", diags_, t.description_);
    if (const YAML::Node n = root["units"]) parse_units(n, t);
    if (const YAML::Node n = root["sram"]) parse_sram(n, t);
    if (const YAML::Node n = root["dram"]) parse_dram(n, t);
  }

 private:
  bool expect_map(const YAML::Node& n, const std::string& path) {
    if (n.IsMap()) return true;
    diags_.error_at(file_, n, path, "expected a map, got " + describe(n));
    return false;
  }

  // The value of `key` in `map`, or an undefined node after recording the missing key at the map.
  YAML::Node require(const YAML::Node& map, const std::string& key, const std::string& path) {
    YAML::Node n = map[key];
    if (!n) diags_.error_at(file_, map, sim::join_path(path, key), "missing key '" + key + "'");
    return n;
  }

  bool read_in_range(const YAML::Node& n, const std::string& path, int64_t min, int64_t max,
                     int64_t& out) {
    if (!sim::read_int(n, file_, path, diags_, out)) return false;
    if (out >= min && out <= max) return true;
    diags_.error_at(file_, n, path,
                    "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return false;
  }

  // Energies, areas and leakages: finite and not negative.
  bool read_amount(const YAML::Node& n, const std::string& path, double& out) {
    if (!sim::read_double(n, file_, path, diags_, out)) return false;
    if (std::isfinite(out) && out >= 0) return true;
    diags_.error_at(file_, n, path, "must be a finite number >= 0");
    return false;
  }

  bool read_choice(const YAML::Node& n, const std::string& path,
                   const std::vector<std::string>& choices, std::string& out) {
    if (!sim::read_string(n, file_, path, diags_, out)) return false;
    if (std::find(choices.begin(), choices.end(), out) != choices.end()) return true;
    diags_.error_at(file_, n, path, "unknown value '" + out + "'", sim::did_you_mean(out, choices));
    return false;
  }

  // A non-empty list of maps; `each` parses one map at its indexed path.
  template <class F>
  void parse_points(const YAML::Node& parent, const std::string& path, F each) {
    const YAML::Node list = require(parent, "points", path);
    if (!list) return;
    const std::string list_path = sim::join_path(path, "points");
    if (!list.IsSequence() || list.size() == 0) {
      diags_.error_at(file_, list, list_path,
                      "expected a non-empty list of points, got " +
                          (list.IsSequence() ? std::string("an empty list") : describe(list)));
      return;
    }
    for (size_t i = 0; i < list.size(); ++i)
      if (expect_map(list[i], indexed(list_path, i))) each(list[i], indexed(list_path, i));
  }

  void parse_units(const YAML::Node& units, TechTable& t) {
    if (!expect_map(units, "units")) return;
    sim::check_keys(units, file_, "units", kUnitNames, diags_);
    for (const std::string& name : kUnitNames) {
      const YAML::Node n = units[name];
      if (!n) continue;
      TechTable::Unit unit;
      parse_unit(n, "units." + name, unit);
      if (!unit.points.empty()) t.units_[name] = unit;
    }
  }

  void parse_unit(const YAML::Node& n, const std::string& path, TechTable::Unit& unit) {
    if (!expect_map(n, path)) return;
    sim::check_keys(n, file_, path, kUnitKeys, diags_);
    std::string scaling;
    if (const YAML::Node s = require(n, "scaling", path))
      if (read_choice(s, path + ".scaling", kScalings, scaling))
        unit.scaling = scaling == "quadratic" ? TechTable::WidthScaling::kQuadratic
                                              : TechTable::WidthScaling::kLinear;
    std::set<int64_t> seen;
    parse_points(n, path, [&](const YAML::Node& p, const std::string& at) {
      sim::check_keys(p, file_, at, kUnitPointKeys, diags_);
      TechTable::UnitPoint point;
      bool ok = true;
      int64_t bits = 0;
      if (const YAML::Node b = require(p, "bits", at)) {
        ok = read_in_range(b, at + ".bits", 1, kMaxWidth, bits);
        if (ok && !seen.insert(bits).second) {
          diags_.error_at(file_, b, at + ".bits", "width listed twice");
          ok = false;
        }
      } else {
        ok = false;
      }
      point.bits = static_cast<int>(bits);
      ok = read_required(p, at, "energy_pj", point.energy_pj) && ok;
      ok = read_required(p, at, "area_um2", point.area_um2) && ok;
      if (const YAML::Node l = p["leak_uw"])
        ok = read_amount(l, at + ".leak_uw", point.leak_uw) && ok;
      if (ok) unit.points.push_back(point);
    });
  }

  bool read_required(const YAML::Node& map, const std::string& path, const std::string& key,
                     double& out) {
    const YAML::Node n = require(map, key, path);
    return n && read_amount(n, sim::join_path(path, key), out);
  }

  void parse_sram(const YAML::Node& n, TechTable& t) {
    if (!expect_map(n, "sram")) return;
    sim::check_keys(n, file_, "sram", kSramKeys, diags_);
    std::string model;
    if (const YAML::Node m = require(n, "model", "sram"))
      if (read_choice(m, "sram.model", kSramModels, model))
        t.sram_model_ =
            model == "sqrt" ? TechTable::SramModel::kSqrt : TechTable::SramModel::kCacti;
    std::set<std::pair<int64_t, int64_t>> seen;
    parse_points(n, "sram", [&](const YAML::Node& p, const std::string& at) {
      sim::check_keys(p, file_, at, kSramPointKeys, diags_);
      TechTable::SramPoint point;
      bool ok = true;
      int64_t width = 0;
      if (const YAML::Node b = require(p, "bytes", at))
        ok = read_in_range(b, at + ".bytes", 1, std::numeric_limits<int64_t>::max(), point.bytes) &&
             ok;
      else
        ok = false;
      if (const YAML::Node w = require(p, "width_bits", at))
        ok = read_in_range(w, at + ".width_bits", 1, kMaxWidth, width) && ok;
      else
        ok = false;
      point.width_bits = static_cast<int>(width);
      if (ok && !seen.insert({point.bytes, width}).second) {
        diags_.error_at(file_, p, at, "capacity and width listed twice");
        ok = false;
      }
      ok = read_required(p, at, "read_pj", point.read_pj) && ok;
      ok = read_required(p, at, "write_pj", point.write_pj) && ok;
      ok = read_required(p, at, "area_mm2", point.area_mm2) && ok;
      if (const YAML::Node l = p["leak_mw"])
        ok = read_amount(l, at + ".leak_mw", point.leak_mw) && ok;
      if (ok) t.sram_.push_back(point);
    });
  }

  void parse_dram(const YAML::Node& n, TechTable& t) {
    if (!expect_map(n, "dram")) return;
    sim::check_keys(n, file_, "dram", kDramKeys, diags_);
    const YAML::Node types = require(n, "pj_per_bit", "dram");
    if (types && expect_map(types, "dram.pj_per_bit")) {
      for (const auto& kv : types) {
        const std::string type = kv.first.Scalar();
        double pj = 0;
        if (read_amount(kv.second, "dram.pj_per_bit." + type, pj)) t.dram_pj_per_bit_[type] = pj;
      }
    }
    if (const YAML::Node d = require(n, "default_type", "dram")) {
      if (sim::read_string(d, file_, "dram.default_type", diags_, t.dram_default_type_) && types &&
          types.IsMap() && !types[t.dram_default_type_]) {
        std::vector<std::string> names;
        for (const auto& kv : types) names.push_back(kv.first.Scalar());
        diags_.error_at(file_, d, "dram.default_type",
                        "'" + t.dram_default_type_ + "' is not a key of dram.pj_per_bit",
                        sim::did_you_mean(t.dram_default_type_, names));
      }
    }
  }

  std::string file_;
  sim::Diagnostics& diags_;
};

std::string TechTable::builtin_dir() {
  const char* env = std::getenv("CODESIM_TECH_DIR");
  return env && *env ? env : CODESIM_TECH_DIR;
}

std::vector<std::string> TechTable::builtin_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(builtin_dir(), ec))
    if (entry.is_regular_file() && entry.path().extension() == ".yaml")
      names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

TechTable TechTable::load(const std::string& name_or_path) {
  std::string path = name_or_path;
  if (!looks_like_path(name_or_path)) {
    const std::vector<std::string> names = builtin_names();
    if (std::find(names.begin(), names.end(), name_or_path) == names.end()) {
      std::string message = "unknown technology '" + name_or_path + "'";
      const std::string close = sim::closest_match(name_or_path, names);
      if (!close.empty()) message += " (did you mean '" + close + "'?)";
      if (names.empty()) {
        message += "; no built-in tables found in " + builtin_dir();
      } else {
        message += "; built-in tables:";
        for (size_t i = 0; i < names.size(); ++i) message += (i ? ", " : " ") + names[i];
      }
      throw sim::ConfigError(message + "; or give the path of a table file (*.yaml)");
    }
    path = (std::filesystem::path(builtin_dir()) / (name_or_path + ".yaml")).string();
  }
  const YAML::Node root = sim::load_yaml_file(path);
  sim::Diagnostics diags;
  TechTable table;
  TechTableLoader(path, diags).parse(root, table);
  diags.throw_if_any();
  return table;
}

}  // namespace codesim::arch
