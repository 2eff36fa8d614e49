#include "search/space.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "compress/transform.h"
#include "sim/core/params.h"
#include "sim/core/registry.h"
#include "sim/core/runner.h"
#include "workloads/onnx/onnx_import.h"
#include "workloads/yaml/workload_yaml.h"

namespace codesim::search {

using sim::Diagnostics;
using sim::join_path;

const std::vector<MetricInfo>& metric_infos() {
  static const std::vector<MetricInfo> m = {
      {"latency", "ms", false, false},          {"energy", "uJ", false, false},
      {"edp", "uJ*ms", false, false},           {"area", "mm2", false, false},
      {"quality_loss", "", false, false},       {"accuracy", "%", true, true},
      {"accuracy_drop", "points", false, true}, {"size", "KiB", false, false},
  };
  return m;
}

const MetricInfo* find_metric(const std::string& name) {
  for (const auto& m : metric_infos())
    if (name == m.name) return &m;
  return nullptr;
}

std::vector<std::string> metric_names() {
  std::vector<std::string> out;
  for (const auto& m : metric_infos()) out.push_back(m.name);
  return out;
}

const std::vector<std::string>& knob_names() {
  static const std::vector<std::string> k = {"rank", "density", "nm", "pow2", "adder", "bits"};
  return k;
}

double Space::grid_size() const {
  double n = 1;
  for (const auto& d : dims) n *= static_cast<double>(d.size());
  return n;
}

std::vector<int> Space::hardware_dims() const {
  std::vector<int> out;
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i].kind == Dimension::Kind::kHardware) out.push_back(static_cast<int>(i));
  return out;
}

std::vector<int> Space::compression_dims() const {
  std::vector<int> out;
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i].kind == Dimension::Kind::kCompression) out.push_back(static_cast<int>(i));
  return out;
}

std::string hash_hex(const std::string& text) {
  uint64_t a = 1469598103934665603ull, b = 0x6c62272e07bb0142ull;
  for (unsigned char ch : text) {
    a = (a ^ ch) * 1099511628211ull;
    b = (b ^ ch) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
  }
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

namespace {

std::string scalar_text(const YAML::Node& n) {
  if (!n || n.IsNull()) return "none";
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_absolute() || base_dir.empty()) return p;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

// `file: PATH` maps or a bare path; returns the map (possibly empty) and sets `path`.
YAML::Node file_section(const YAML::Node& n, const std::string& file, const std::string& key,
                        const std::vector<std::string>& keys, Diagnostics& diags,
                        std::string& path) {
  if (!n) {
    diags.error_at(file, n, key, "missing required key", "add `" + key + ": {file: PATH}`");
    return {};
  }
  if (n.IsScalar()) {
    path = n.Scalar();
    return {};
  }
  if (!n.IsMap()) {
    diags.error_at(file, n, key, "expected a path or a map {file: PATH, ...}");
    return {};
  }
  sim::check_keys(n, file, key, keys, diags);
  if (!n["file"])
    diags.error_at(file, n, join_path(key, "file"), "missing required key");
  else
    sim::read_string(n["file"], file, join_path(key, "file"), diags, path);
  return n;
}

// Whether `v` is a valid value of parameter `info`; records an error at `where` if not.
void check_param_value(const sim::ParamInfo& info, const YAML::Node& v, const YAML::Mark& where,
                       const std::string& file, const std::string& path, Diagnostics& diags) {
  auto fail = [&](const std::string& msg, const std::string& hint = "") {
    diags.error_at(file, where, path, msg, hint);
  };
  if (!v.IsScalar()) return fail("expected a scalar value, not " + scalar_text(v));
  const std::string text = v.Scalar();
  double x = 0;
  switch (info.type) {
    case sim::ParamType::kInt: {
      int64_t i;
      try {
        i = v.as<int64_t>();
      } catch (const YAML::Exception&) {
        return fail("'" + text + "' is not an integer");
      }
      x = static_cast<double>(i);
      break;
    }
    case sim::ParamType::kDouble:
      try {
        x = v.as<double>();
      } catch (const YAML::Exception&) {
        return fail("'" + text + "' is not a number");
      }
      break;
    case sim::ParamType::kBool:
      try {
        v.as<bool>();
      } catch (const YAML::Exception&) {
        return fail("'" + text + "' is not true or false");
      }
      return;
    case sim::ParamType::kEnum:
      if (std::find(info.choices.begin(), info.choices.end(), text) == info.choices.end())
        fail("'" + text + "' is not one of " + info.range_text(),
             sim::did_you_mean(text, info.choices));
      return;
    case sim::ParamType::kString:
      return;
  }
  if ((info.min && x < *info.min) || (info.max && x > *info.max)) {
    std::ostringstream os;
    os << text << " is out of range " << info.range_text();
    fail(os.str());
  }
}

// Values of a hardware dimension: a list, {range: [lo, hi], step: s} or {log2: [lo, hi]}.
std::vector<YAML::Node> dimension_values(const YAML::Node& n, const std::string& file,
                                         const std::string& path, Diagnostics& diags) {
  std::vector<YAML::Node> out;
  if (n.IsSequence()) {
    for (const auto& v : n) out.push_back(v);
    if (out.empty()) diags.error_at(file, n, path, "the list of values is empty");
    return out;
  }
  if (!n.IsMap()) {
    diags.error_at(file, n, path,
                   "expected a list of values, {range: [lo, hi], step: s} or "
                   "{log2: [lo, hi]}");
    return out;
  }
  sim::check_keys(n, file, path, {"range", "step", "log2"}, diags);
  const bool log2 = static_cast<bool>(n["log2"]);
  const YAML::Node bounds = log2 ? n["log2"] : n["range"];
  const std::string bpath = join_path(path, log2 ? "log2" : "range");
  if (!bounds || !bounds.IsSequence() || bounds.size() != 2) {
    diags.error_at(file, bounds ? bounds : n, bpath, "expected [lo, hi]");
    return out;
  }
  double lo, hi;
  if (!sim::read_double(bounds[0], file, bpath + "[0]", diags, lo) ||
      !sim::read_double(bounds[1], file, bpath + "[1]", diags, hi))
    return out;
  if (hi < lo) {
    diags.error_at(file, bounds, bpath, "hi is below lo");
    return out;
  }
  const bool integral = lo == std::floor(lo) && hi == std::floor(hi);
  if (log2) {
    if (lo <= 0) {
      diags.error_at(file, bounds, bpath, "log2 steps need lo > 0");
      return out;
    }
    for (double v = lo; v <= hi * (1 + 1e-12) && out.size() < 4096; v *= 2)
      out.push_back(integral ? YAML::Node(static_cast<int64_t>(v)) : YAML::Node(v));
    return out;
  }
  double step = 1;
  if (n["step"] && !sim::read_double(n["step"], file, join_path(path, "step"), diags, step))
    return out;
  if (step <= 0) {
    diags.error_at(file, n["step"], join_path(path, "step"), "step must be > 0");
    return out;
  }
  const bool int_step = integral && step == std::floor(step);
  const int64_t count = static_cast<int64_t>(std::floor((hi - lo) / step + 1e-9)) + 1;
  if (count > 4096) {
    diags.error_at(file, n, path, std::to_string(count) + " values; at most 4096 per dimension");
    return out;
  }
  for (int64_t i = 0; i < count; ++i) {
    const double v = lo + static_cast<double>(i) * step;
    out.push_back(int_step ? YAML::Node(static_cast<int64_t>(std::llround(v))) : YAML::Node(v));
  }
  return out;
}

bool is_none(const YAML::Node& v) {
  if (!v || v.IsNull()) return true;
  if (!v.IsScalar()) return false;
  const std::string s = v.Scalar();
  return s == "none" || s == "dense" || s == "false" || s == "fp32" || s == "off";
}

// The pipeline step one knob option adds (null = none), checked against the transform's
// parameter schema; errors point at the option.
YAML::Node knob_step(const std::string& knob, const YAML::Node& v, const std::string& file,
                     const std::string& path, Diagnostics& diags) {
  YAML::Node step;
  auto number = [&](double& x) {
    if (!v.IsScalar()) return false;
    try {
      x = v.as<double>();
      return true;
    } catch (const YAML::Exception&) {
      return false;
    }
  };
  double x = 0;
  if (knob == "rank" || knob == "density") {
    if (!number(x) || x <= 0 || x > 1) {
      diags.error_at(file, v, path, "'" + scalar_text(v) + "' is not a fraction in (0, 1]",
                     "1 leaves the layer as it is");
      return {};
    }
    if (x == 1) return {};
    step["transform"] = knob == "rank" ? "lowrank" : "prune";
    step[knob == "rank" ? "rank_fraction" : "density"] = x;
  } else if (knob == "nm") {
    if (is_none(v)) return {};
    static const std::regex re("([0-9]+):([0-9]+)");
    std::smatch m;
    const std::string s = v.IsScalar() ? v.Scalar() : "";
    if (!std::regex_match(s, m, re)) {
      diags.error_at(file, v, path, "'" + scalar_text(v) + "' is not dense or N:M",
                     "e.g. nm: [dense, \"2:4\"]");
      return {};
    }
    step["transform"] = "nm";
    step["n"] = std::stoi(m[1]);
    step["m"] = std::stoi(m[2]);
  } else if (knob == "pow2" || knob == "adder") {
    if (is_none(v)) return {};
    step["transform"] = knob;
    if (knob == "pow2" && v.IsScalar() && v.Scalar() != "true") {
      if (!number(x)) {
        diags.error_at(file, v, path, "'" + scalar_text(v) + "' is not false, true or bits");
        return {};
      }
      step["bits"] = static_cast<int64_t>(x);
    }
  } else {  // bits
    if (is_none(v)) return {};
    if (!number(x) || x != std::floor(x)) {
      diags.error_at(file, v, path, "'" + scalar_text(v) + "' is not none or a bit width");
      return {};
    }
    step["transform"] = "quantize";
    step["bits"] = static_cast<int64_t>(x);
  }
  const auto* entry = compress::TransformRegistry::instance().find(step["transform"].Scalar());
  if (!entry) {
    diags.error_at(file, v, path, "transform '" + step["transform"].Scalar() + "' is not built in");
    return {};
  }
  Diagnostics local;
  entry->create(step, file, path, local);
  for (auto d : local.list()) {
    d.file = file;
    d.line = v.Mark().line + 1;
    d.col = v.Mark().column + 1;
    d.path = path;
    diags.error(d);
  }
  return step;
}

void parse_compression(const YAML::Node& list, const std::string& file, Space& s,
                       Diagnostics& diags) {
  if (!list) return;
  if (!list.IsSequence()) {
    diags.error_at(file, list, "compression", "expected a list of layer groups",
                   "e.g. - {group: fc1, ops: \"fc1\", bits: [none, 8, 4]}");
    return;
  }
  std::vector<std::string> keys = {"group", "ops"};
  for (const auto& k : knob_names()) keys.push_back(k);
  for (size_t gi = 0; gi < list.size(); ++gi) {
    const YAML::Node g = list[gi];
    const std::string gpath = "compression[" + std::to_string(gi) + "]";
    if (!g.IsMap()) {
      diags.error_at(file, g, gpath, "expected a map {group: NAME, ops: REGEX, KNOB: [...]}");
      continue;
    }
    sim::check_keys(g, file, gpath, keys, diags);
    Group group;
    group.path = gpath;
    group.ops_mark = g["ops"] ? g["ops"].Mark() : g.Mark();
    if (!g["group"] || !sim::read_string(g["group"], file, gpath + ".group", diags, group.name))
      if (!g["group"]) diags.error_at(file, g, gpath + ".group", "missing required key");
    if (!g["ops"]) {
      diags.error_at(file, g, gpath + ".ops", "missing required key",
                     "a regular expression matched against whole op names");
    } else if (sim::read_string(g["ops"], file, gpath + ".ops", diags, group.ops_regex)) {
      try {
        std::regex(group.ops_regex, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        diags.error_at(file, g["ops"], gpath + ".ops",
                       "invalid regular expression '" + group.ops_regex + "': " + e.what());
        group.ops_regex.clear();
      }
    }
    for (const auto& other : s.groups)
      if (!group.name.empty() && other.name == group.name)
        diags.error_at(file, g["group"], gpath + ".group",
                       "group '" + group.name + "' is defined twice");
    const int gindex = static_cast<int>(s.groups.size());
    for (const auto& knob : knob_names()) {
      const YAML::Node opts = g[knob];
      if (!opts) continue;
      const std::string kpath = gpath + "." + knob;
      if (!opts.IsSequence() || opts.size() == 0) {
        diags.error_at(file, opts, kpath, "expected a non-empty list of options",
                       "e.g. " + knob + ": [none, ...]");
        continue;
      }
      Dimension d;
      d.kind = Dimension::Kind::kCompression;
      d.name = group.name + "." + knob;
      d.group = gindex;
      d.knob = knob;
      d.baseline = -1;
      for (size_t i = 0; i < opts.size(); ++i) {
        const YAML::Node step =
            knob_step(knob, opts[i], file, kpath + "[" + std::to_string(i) + "]", diags);
        if (step.IsNull() && d.baseline < 0) d.baseline = static_cast<int>(i);
        d.values.push_back(opts[i]);
        d.labels.push_back(scalar_text(opts[i]));
        d.steps.push_back(step);
      }
      if (d.baseline < 0) d.baseline = 0;
      group.dims.push_back(static_cast<int>(s.dims.size()));
      s.dims.push_back(std::move(d));
    }
    if (group.dims.empty())
      diags.error_at(file, g, gpath, "the group varies nothing",
                     "add one of: rank, density, nm, pow2, adder, bits");
    s.groups.push_back(std::move(group));
  }
}

void need_dataset(const MetricInfo& m, const Space& s, const std::string& file,
                  const YAML::Node& at, const std::string& path, Diagnostics& diags) {
  if (m.needs_dataset && s.dataset.empty())
    diags.error_at(file, at, path, "metric '" + std::string(m.name) + "' needs a dataset",
                   "add `dataset: {name: fashion-mnist, test_images: 1000}`");
}

void parse_objectives(const YAML::Node& n, const std::string& file, Space& s, Diagnostics& diags) {
  if (!n || !n.IsSequence() || n.size() == 0) {
    diags.error_at(file, n, "objectives", n ? "expected a non-empty list" : "missing required key",
                   "e.g. objectives: [latency, energy, accuracy]; metrics: " +
                       sim::did_you_mean("", metric_names()));
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node o = n[i];
    const std::string path = "objectives[" + std::to_string(i) + "]";
    Objective obj;
    // A bare metric name or {metric: NAME, reference: V}. (Nodes are bound, not assigned: a
    // yaml-cpp Node assignment would overwrite the document.)
    const YAML::Node name = o.IsMap() ? o["metric"] : o;
    if (o.IsMap()) {
      sim::check_keys(o, file, path, {"metric", "reference"}, diags);
      if (o["reference"]) {
        double r;
        if (sim::read_double(o["reference"], file, path + ".reference", diags, r))
          obj.reference = r;
      }
    }
    if (!name || !sim::read_string(name, file, path, diags, obj.metric)) {
      if (!name) diags.error_at(file, o, path + ".metric", "missing required key");
      continue;
    }
    const MetricInfo* m = find_metric(obj.metric);
    if (!m) {
      diags.error_at(file, name, path, "unknown metric '" + obj.metric + "'",
                     sim::did_you_mean(obj.metric, metric_names()));
      continue;
    }
    for (const auto& other : s.objectives)
      if (other.metric == obj.metric)
        diags.error_at(file, name, path, "objective '" + obj.metric + "' is listed twice");
    need_dataset(*m, s, file, name, path, diags);
    obj.maximize = m->maximize;
    s.objectives.push_back(obj);
  }
}

void parse_constraints(const YAML::Node& n, const std::string& file, Space& s, Diagnostics& diags) {
  if (!n) return;
  if (!n.IsMap()) {
    diags.error_at(file, n, "constraints", "expected a map {METRIC: {max: V}, ...}");
    return;
  }
  for (const auto& kv : n) {
    const std::string metric = kv.first.Scalar();
    const std::string path = "constraints." + metric;
    if (!find_metric(metric)) {
      diags.error_at(file, kv.first, path, "unknown metric '" + metric + "'",
                     sim::did_you_mean(metric, metric_names()));
      continue;
    }
    need_dataset(*find_metric(metric), s, file, kv.first, path, diags);
    if (!kv.second.IsMap()) {
      diags.error_at(file, kv.second, path, "expected {max: V} and/or {min: V}");
      continue;
    }
    sim::check_keys(kv.second, file, path, {"min", "max"}, diags);
    Constraint c;
    c.metric = metric;
    double v;
    if (kv.second["min"] && sim::read_double(kv.second["min"], file, path + ".min", diags, v))
      c.min = v;
    if (kv.second["max"] && sim::read_double(kv.second["max"], file, path + ".max", diags, v))
      c.max = v;
    s.constraints.push_back(c);
  }
}

}  // namespace

namespace {

// Parses what it can of the space into `s`, recording every problem in `diags`.
void parse_space_into(const YAML::Node& root, const std::string& file, const std::string& base_dir,
                      Space& s, Diagnostics& diags) {
  s.file = file;
  if (!root.IsMap()) {
    diags.error_at(file, root, "", "a space file is a map with workload, arch, hardware, ...");
    return;
  }
  sim::check_keys(root, file, "",
                  {"name", "workload", "dataset", "arch", "seed", "hardware", "compression",
                   "objectives", "constraints"},
                  diags);
  if (root["name"]) sim::read_string(root["name"], file, "name", diags, s.name);
  if (root["seed"]) {
    int64_t seed;
    if (sim::read_int(root["seed"], file, "seed", diags, seed))
      s.seed = static_cast<uint64_t>(seed);
  }

  const YAML::Node w =
      file_section(root["workload"], file, "workload", {"file", "batch"}, diags, s.workload);
  if (!s.workload.empty()) s.workload = resolve_path(base_dir, s.workload);
  if (w && w["batch"] && sim::read_int(w["batch"], file, "workload.batch", diags, s.batch) &&
      s.batch < 1)
    diags.error_at(file, w["batch"], "workload.batch", "must be >= 1");

  if (const YAML::Node d = root["dataset"]) {
    if (!d.IsMap()) {
      diags.error_at(file, d, "dataset", "expected {name: fashion-mnist, ...}");
    } else {
      sim::check_keys(d, file, "dataset", {"name", "test_images"}, diags);
      if (!d["name"])
        diags.error_at(file, d, "dataset.name", "missing required key", "fashion-mnist");
      else if (sim::read_string(d["name"], file, "dataset.name", diags, s.dataset) &&
               s.dataset != "fashion-mnist")
        diags.error_at(file, d["name"], "dataset.name", "unknown dataset '" + s.dataset + "'",
                       sim::did_you_mean(s.dataset, {"fashion-mnist"}));
      int64_t v;
      if (d["test_images"] &&
          sim::read_int(d["test_images"], file, "dataset.test_images", diags, v))
        s.test_images = static_cast<int>(v);
    }
  }

  std::string model;
  std::vector<std::string> arch_keys;
  const YAML::Node a =
      file_section(root["arch"], file, "arch", {"file", "fidelity", "set"}, diags, s.arch);
  if (!s.arch.empty()) {
    s.arch = resolve_path(base_dir, s.arch);
    try {
      model = sim::load_arch(s.arch).model;
    } catch (const sim::ConfigError& e) {
      for (const auto& d : e.diagnostics().list()) diags.error(d);
      if (e.diagnostics().empty()) diags.error_at(file, root["arch"], "arch", e.what());
    }
  }
  if (a && a["fidelity"]) {
    std::string f;
    if (sim::read_string(a["fidelity"], file, "arch.fidelity", diags, f)) {
      if (f == "cycle")
        s.fidelity = sim::Fidelity::kCycle;
      else if (f != "fast")
        diags.error_at(file, a["fidelity"], "arch.fidelity", "'" + f + "' is not cycle or fast");
    }
  }

  std::vector<sim::ParamInfo> params;
  if (const auto* entry = sim::Registry::instance().accelerator(model)) params = entry->params();
  std::vector<std::string> param_keys = {"technology", "memory.dram_type"};
  for (const auto& p : params) param_keys.push_back("accelerator." + p.name);
  auto check_hw = [&](const std::string& key, const YAML::Node& key_node,
                      const std::vector<YAML::Node>& values, const YAML::Mark& where,
                      const std::string& path) {
    if (model.empty()) return false;
    if (std::find(param_keys.begin(), param_keys.end(), key) == param_keys.end()) {
      diags.error_at(file, key_node, path, "'" + key + "' is not a parameter of model " + model,
                     sim::did_you_mean(key, param_keys));
      return false;
    }
    for (const auto& p : params)
      if (key == "accelerator." + p.name)
        for (const auto& v : values)
          check_param_value(p, v, v.Mark().is_null() ? where : v.Mark(), file, path, diags);
    return true;
  };
  if (a && a["set"]) {
    const YAML::Node set = a["set"];
    if (!set.IsMap()) {
      diags.error_at(file, set, "arch.set", "expected a map {key.path: value}");
    } else {
      for (const auto& kv : set) {
        const std::string key = kv.first.Scalar();
        if (check_hw(key, kv.first, {kv.second}, kv.second.Mark(), "arch.set." + key))
          s.arch_overrides.push_back(key + "=" + scalar_text(kv.second));
      }
    }
  }

  if (const YAML::Node hw = root["hardware"]) {
    if (!hw.IsMap()) {
      diags.error_at(file, hw, "hardware", "expected a map {accelerator.PARAM: [values]}");
    } else {
      for (const auto& kv : hw) {
        const std::string key = kv.first.Scalar();
        const std::string path = "hardware." + key;
        Dimension d;
        d.kind = Dimension::Kind::kHardware;
        d.name = key;
        d.values = dimension_values(kv.second, file, path, diags);
        if (d.values.empty()) continue;
        check_hw(key, kv.first, d.values, kv.second.Mark(), path);
        for (const auto& v : d.values) d.labels.push_back(scalar_text(v));
        s.dims.push_back(std::move(d));
      }
    }
  }
  parse_compression(root["compression"], file, s, diags);
  if (s.dims.empty())
    diags.error_at(file, root, "hardware", "the space has no dimension",
                   "add `hardware:` parameters or `compression:` groups");
  parse_objectives(root["objectives"], file, s, diags);
  parse_constraints(root["constraints"], file, s, diags);
  if (s.name.empty()) s.name = std::filesystem::path(file).stem().string();
  if (!diags.empty()) return;

  // The fingerprint covers what defines points and their metrics: everything but the
  // objectives, constraints and name, which only change how points are judged.
  YAML::Node fp = YAML::Clone(root);
  fp.remove("objectives");
  fp.remove("constraints");
  fp.remove("name");
  YAML::Emitter e;
  e << YAML::Flow << fp;
  s.fingerprint = hash_hex(std::string(e.c_str()) + "|" + s.workload + "|" + s.arch);
}

}  // namespace

Space parse_space(const YAML::Node& root, const std::string& file, const std::string& base_dir) {
  Diagnostics diags;
  Space s;
  parse_space_into(root, file, base_dir, s, diags);
  diags.throw_if_any();
  return s;
}

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace

Space load_space(const std::string& path) {
  const YAML::Node root = sim::load_yaml_file(path);
  Diagnostics diags;
  Space s;
  parse_space_into(root, path, std::filesystem::path(path).parent_path().string(), s, diags);
  // The workload is loaded even when the space has errors, so that its own problems and groups
  // that match no op are reported together with them.
  const std::string& workload = s.workload;
  if (!workload.empty()) {
    try {
      auto w = std::make_shared<ir::v1::Workload>();
      if (std::filesystem::path(workload).extension() == ".onnx") {
        workloads::OnnxImportOptions o;
        o.batch = s.batch;
        *w = workloads::import_onnx(workload, o);
      } else {
        *w = workloads::load_workload(workload);
      }
      std::vector<std::string> names;
      for (const auto& op : w->ops()) names.push_back(op.name());
      bind_workload(s, names, diags);
      s.base = std::move(w);
    } catch (const sim::ConfigError& e) {
      for (const auto& d : e.diagnostics().list()) diags.error(d);
      if (e.diagnostics().empty()) diags.error_at(path, root["workload"], "workload", e.what());
    }
  }
  diags.throw_if_any();
  s.fingerprint =
      hash_hex(s.fingerprint + "|" + file_bytes(s.arch) + "|" + hash_hex(file_bytes(s.workload)));
  return s;
}

void bind_workload(Space& space, const std::vector<std::string>& op_names, Diagnostics& diags) {
  for (auto& g : space.groups) {
    g.ops.clear();
    if (g.ops_regex.empty()) continue;
    const std::regex re(g.ops_regex, std::regex::ECMAScript);
    for (const auto& op : op_names)
      if (std::regex_match(op, re)) g.ops.push_back(op);
    if (g.ops.empty()) {
      std::vector<std::string> some(op_names.begin(),
                                    op_names.begin() + std::min<long>(8, op_names.size()));
      std::string list;
      for (const auto& n : some) list += (list.empty() ? "" : ", ") + n;
      diags.error_at(
          space.file, g.ops_mark, g.path + ".ops",
          "'" + g.ops_regex + "' matches no op of " + space.workload,
          "ops are " + list + (op_names.size() > 8 ? ", ..." : "") +
              (sim::closest_match(g.ops_regex, op_names).empty()
                   ? ""
                   : "; did you mean '" + sim::closest_match(g.ops_regex, op_names) + "'?"));
    }
  }
}

std::string point_key(const Point& p) {
  std::string k;
  for (size_t i = 0; i < p.size(); ++i) k += (i ? "." : "") + std::to_string(p[i]);
  return k;
}

Point point_from_key(const std::string& key) {
  Point p;
  std::stringstream ss(key);
  std::string part;
  while (std::getline(ss, part, '.')) p.push_back(std::stoi(part));
  return p;
}

Point point_at(const Space& s, uint64_t index) {
  Point p(s.dims.size());
  for (size_t i = s.dims.size(); i-- > 0;) {
    const uint64_t n = s.dims[i].size();
    p[i] = static_cast<int>(index % n);
    index /= n;
  }
  return p;
}

uint64_t point_index(const Space& s, const Point& p) {
  uint64_t index = 0;
  for (size_t i = 0; i < s.dims.size(); ++i) index = index * s.dims[i].size() + p[i];
  return index;
}

nlohmann::json point_params(const Space& s, const Point& p) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < s.dims.size(); ++i) j[s.dims[i].name] = s.dims[i].labels[p[i]];
  return j;
}

std::vector<std::string> point_overrides(const Space& s, const Point& p) {
  std::vector<std::string> out = s.arch_overrides;
  for (size_t i = 0; i < s.dims.size(); ++i)
    if (s.dims[i].kind == Dimension::Kind::kHardware)
      out.push_back(s.dims[i].name + "=" + scalar_text(s.dims[i].values[p[i]]));
  return out;
}

namespace {
std::string regex_escape(const std::string& s) {
  static const std::string special = R"(\^$.|?*+()[]{})";
  std::string out;
  for (char c : s) {
    if (special.find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}
}  // namespace

YAML::Node point_pipeline(const Space& s, const Point& p) {
  YAML::Node steps(YAML::NodeType::Sequence);
  for (const auto& g : s.groups) {
    // The group's ops and the ops an earlier step made of them (named OP.something).
    std::string alt;
    for (size_t i = 0; i < g.ops.size(); ++i) alt += (i ? "|" : "") + regex_escape(g.ops[i]);
    const std::string select = "(?:" + alt + ")(?:\\..*)?";
    for (int d : g.dims) {
      const YAML::Node step = s.dims[d].steps[p[d]];
      if (step.IsNull()) continue;
      YAML::Node st = YAML::Clone(step);
      st["select"]["name"] = select;
      steps.push_back(st);
    }
  }
  YAML::Node root;
  if (steps.size() == 0) return root;
  root["pipeline"] = steps;
  return root;
}

}  // namespace codesim::search
