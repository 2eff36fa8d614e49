#include "compress/quality.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "sim/core/diagnostics.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

using ir::v1::Op;
using ir::v1::Tensor;
using ir::v1::Workload;

Workload sub_workload(const Workload& w, const std::vector<std::string>& ops) {
  Workload sub;
  sub.set_name(w.name() + ".sub");
  std::set<std::string> names, produced;
  for (const auto& op : w.ops()) {
    if (std::find(ops.begin(), ops.end(), op.name()) == ops.end()) continue;
    *sub.add_ops() = op;
    names.insert(op.inputs().begin(), op.inputs().end());
    names.insert(op.outputs().begin(), op.outputs().end());
    produced.insert(op.outputs().begin(), op.outputs().end());
  }
  for (const auto& t : w.tensors()) {
    if (!names.count(t.name())) continue;
    *sub.add_tensors() = t;
    const bool has_data = t.float_data_size() > 0 || t.int_data_size() > 0;
    if (!has_data && !produced.count(t.name())) sub.add_inputs(t.name());
  }
  for (const auto& op : sub.ops())
    for (const auto& o : op.outputs()) sub.add_outputs(o);
  return sub;
}

std::map<std::string, Array> calibration_activations(const Workload& w,
                                                     const std::map<std::string, Array>& inputs) {
  std::map<std::string, Array> acts = Executor(w, Arithmetic::kFloat32).run(inputs);
  for (const auto& kv : inputs) acts.emplace(kv.first, kv.second);
  return acts;
}

namespace {

std::map<std::string, Array> inputs_of(const Workload& sub,
                                       const std::map<std::string, Array>& activations) {
  std::map<std::string, Array> in;
  for (const auto& name : sub.inputs()) {
    auto it = activations.find(name);
    if (it == activations.end())
      throw sim::ConfigError("no calibration value for tensor '" + name + "'");
    in.emplace(name, it->second);
  }
  return in;
}

}  // namespace

double output_error(const Workload& before, const std::string& op, const Workload& after,
                    const std::vector<std::string>& after_ops,
                    const std::map<std::string, Array>& activations) {
  const Workload sub_before = sub_workload(before, {op});
  const Workload sub_after = sub_workload(after, after_ops);
  const auto ref =
      Executor(sub_before, Arithmetic::kFloat32).run(inputs_of(sub_before, activations));
  const auto got = Executor(sub_after, Arithmetic::kInteger).run(inputs_of(sub_after, activations));
  double num = 0, den = 0;
  for (const auto& o : sub_before.ops(0).outputs()) {
    const Array& y = ref.at(o);
    auto it = got.find(o);
    if (it == got.end() || it->second.data.size() != y.data.size())
      throw std::logic_error("the ops replacing '" + op + "' do not produce '" + o +
                             "' with its size");
    for (size_t i = 0; i < y.data.size(); ++i) {
      const double d = static_cast<double>(y.data[i]) - it->second.data[i];
      num += d * d;
      den += static_cast<double>(y.data[i]) * y.data[i];
    }
  }
  if (den == 0) return num == 0 ? 0.0 : INFINITY;
  return num / den;
}

std::map<std::string, Array> random_inputs(const Workload& w, int samples, uint64_t seed) {
  std::map<std::string, Array> out;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const auto& name : w.inputs()) {
    const Tensor* t = ir::find_tensor(w, name);
    if (!t) throw sim::ConfigError("workload input '" + name + "' has no tensor");
    Array a;
    a.shape.assign(t->shape().begin(), t->shape().end());
    if (!a.shape.empty()) a.shape[0] = samples;
    a.data.resize(static_cast<size_t>(a.size()));
    for (float& v : a.data) v = dist(rng);
    out.emplace(name, std::move(a));
  }
  return out;
}

namespace {
template <class F>
int64_t sum_weights(const Workload& w, F f) {
  int64_t total = 0;
  for (const auto& t : w.tensors())
    if (t.is_weight()) total += f(t);
  return total;
}

nlohmann::json yaml_to_json(const YAML::Node& n) {
  if (!n || n.IsNull()) return nullptr;
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : n) a.push_back(yaml_to_json(e));
    return a;
  }
  if (n.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return o;
  }
  const std::string s = n.Scalar();
  int64_t i;
  double d;
  bool b;
  if (YAML::convert<int64_t>::decode(n, i)) return i;
  if (YAML::convert<double>::decode(n, d)) return d;
  if (YAML::convert<bool>::decode(n, b)) return b;
  return s;
}

std::string quality_text(const OpChange& c) {
  if (c.needs_retraining) return "needs retraining";
  if (c.output_error < 0) return "not measured";
  return "measured";
}

std::string fmt(double v, int precision) {
  std::ostringstream os;
  os << std::setprecision(precision) << v;
  return os.str();
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

}  // namespace

int64_t workload_stored_params(const Workload& w) { return sum_weights(w, stored_params); }
int64_t workload_storage_bits(const Workload& w) { return sum_weights(w, storage_bits); }

std::string report_json(const CompressReport& r) {
  nlohmann::json j;
  j["workload"] = r.workload;
  j["pipeline"] = r.pipeline;
  j["seed"] = r.seed;
  j["calibration"] = {{"data", r.calibration}, {"samples", r.calibration_samples}};
  j["output_error_definition"] =
      "||W X - W' X||^2 / ||W X||^2 on the calibration inputs of the op (X: float32 activations "
      "of the workload before the step; W' X: the replacement ops, integer arithmetic where "
      "annotated)";
  nlohmann::json steps = nlohmann::json::array(), ops = nlohmann::json::array();
  bool synthesized = false;
  for (const auto& s : r.steps) {
    nlohmann::json step;
    step["step"] = s.index;
    step["transform"] = s.transform;
    step["select"] = s.select;
    step["params"] = yaml_to_json(s.params);
    step["ops"] = s.changes.size();
    step["skipped"] = s.skipped;
    step["transform_seconds"] = s.transform_seconds;
    step["quality_seconds"] = s.quality_seconds;
    steps.push_back(step);
    for (const auto& c : s.changes) {
      nlohmann::json o;
      o["op"] = c.op;
      o["kind"] = c.kind;
      o["step"] = s.index;
      o["transform"] = c.transform;
      o["params_before"] = c.params_before;
      o["params_after"] = c.params_after;
      o["bits_before"] = c.bits_before;
      o["bits_after"] = c.bits_after;
      o["output_error"] = c.output_error >= 0 ? nlohmann::json(c.output_error) : nullptr;
      o["quality"] = quality_text(c);
      o["new_ops"] = c.new_ops;
      o["notes"] = c.notes;
      o["figures"] = c.figures;
      o["synthesized_weights"] = c.synthesized_weights;
      synthesized |= c.synthesized_weights;
      ops.push_back(o);
    }
  }
  j["notes"] = r.notes;
  j["steps"] = steps;
  j["ops"] = ops;
  j["totals"] = {
      {"params_before", r.params_before},
      {"params_after", r.params_after},
      {"bits_before", r.bits_before},
      {"bits_after", r.bits_after},
      {"compression_ratio",
       r.bits_after ? static_cast<double>(r.bits_before) / static_cast<double>(r.bits_after) : 0.0},
      {"synthesized_weights", synthesized}};
  if (r.accuracy) {
    const AccuracyResult& a = *r.accuracy;
    j["accuracy"] = {{"dataset", a.dataset},
                     {"images", a.images},
                     {"top1_before", a.top1_before},
                     {"top1_after", a.top1_after ? nlohmann::json(*a.top1_after) : nullptr},
                     {"after_note", a.after_note},
                     {"integer_ops", a.integer_ops}};
  } else {
    j["accuracy"] = nullptr;
  }
  return j.dump(2) + "\n";
}

std::string report_table(const CompressReport& r) {
  std::ostringstream os;
  os << pad("step", 5) << pad("op", 28) << pad("transform", 10) << pad("params", 22)
     << pad("bits", 26) << "output_error\n";
  for (const auto& s : r.steps)
    for (const auto& c : s.changes) {
      const std::string err = c.needs_retraining   ? "needs retraining"
                              : c.output_error < 0 ? "-"
                                                   : fmt(c.output_error, 4);
      os << pad(std::to_string(s.index), 5) << pad(c.op, 28) << pad(c.transform, 10)
         << pad(std::to_string(c.params_before) + " -> " + std::to_string(c.params_after), 22)
         << pad(std::to_string(c.bits_before) + " -> " + std::to_string(c.bits_after), 26) << err
         << "\n";
    }
  os << "total: params " << r.params_before << " -> " << r.params_after << ", bits "
     << r.bits_before << " -> " << r.bits_after;
  if (r.bits_after)
    os << " (" << fmt(static_cast<double>(r.bits_before) / static_cast<double>(r.bits_after), 4)
       << "x smaller)";
  os << "\ncalibration: " << r.calibration << "\n";
  for (const auto& n : r.notes) os << "note: " << n << "\n";
  if (r.accuracy) {
    os << "top-1 on " << r.accuracy->images << " " << r.accuracy->dataset
       << " images: " << fmt(r.accuracy->top1_before, 4) << "% before, ";
    if (r.accuracy->top1_after)
      os << fmt(*r.accuracy->top1_after, 4) << "% after\n";
    else
      os << "after: " << r.accuracy->after_note << "\n";
  }
  return os.str();
}

}  // namespace codesim::compress
