#include "compress/pipeline.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>

#include "compress/quality.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

using ir::v1::Op;
using ir::v1::Workload;

namespace {

std::string location(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Selector parse_selector(const YAML::Node& node, const std::string& file, const std::string& path,
                        sim::Diagnostics& diags) {
  Selector s;
  if (!node || node.IsNull()) return s;
  if (!node.IsMap()) {
    diags.error_at(file, node, path, "expected a map such as {kind: gemm, name: \"fc.*\"}");
    return s;
  }
  sim::check_keys(node, file, path, {"kind", "name"}, diags);
  if (node["kind"]) {
    const std::string p = sim::join_path(path, "kind");
    if (sim::read_string(node["kind"], file, p, diags, s.kind)) {
      const std::vector<std::string> kinds = ir_op_kinds();
      if (std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end())
        diags.error_at(file, node["kind"], p, "unknown op kind '" + s.kind + "'",
                       sim::did_you_mean(s.kind, kinds));
    }
  }
  if (node["name"]) {
    const std::string p = sim::join_path(path, "name");
    if (sim::read_string(node["name"], file, p, diags, s.name)) {
      try {
        s.name_re = std::regex(s.name, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        diags.error_at(file, node["name"], p,
                       "invalid regular expression '" + s.name + "': " + e.what());
      }
    }
  }
  return s;
}

struct Selection {
  std::vector<std::string> accepted;  // op names
  std::vector<std::string> skipped;
};

Selection select(const PipelineStep& step, const Workload& w) {
  Selection s;
  for (const auto& op : w.ops()) {
    if (!step.select.matches(op)) continue;
    (step.impl->accepts(w, op) ? s.accepted : s.skipped).push_back(op.name());
  }
  return s;
}

std::string nothing_selected(const PipelineStep& step, const Selection& s) {
  std::string msg = "step selects no op that '" + step.transform + "' accepts (" +
                    step.select.str() + "; it rewrites ";
  const std::vector<std::string>& kinds = step.impl->kinds();
  for (size_t i = 0; i < kinds.size(); ++i) msg += (i ? ", " : "") + kinds[i];
  msg += " ops with weights";
  if (!s.skipped.empty())
    msg += "; selected but not accepted: " + std::to_string(s.skipped.size()) + " ops, e.g. '" +
           s.skipped.front() + "'";
  return msg + ")";
}

int op_index(const Workload& w, const std::string& name) {
  for (int i = 0; i < w.ops_size(); ++i)
    if (w.ops(i).name() == name) return i;
  return -1;
}

// Weight tensors of the op that carry integer codes, to notice a later step dropping them.
std::set<std::string> quantized_weights(const Workload& w, const Op& op) {
  std::set<std::string> out;
  for (const auto& in : op.inputs()) {
    const auto* t = ir::find_tensor(w, in);
    if (t && t->is_weight() && t->int_data_size() > 0) out.insert(in);
  }
  return out;
}

void remove_unused_tensors(Workload& w) {
  std::set<std::string> used(w.inputs().begin(), w.inputs().end());
  used.insert(w.outputs().begin(), w.outputs().end());
  for (const auto& op : w.ops()) {
    used.insert(op.inputs().begin(), op.inputs().end());
    used.insert(op.outputs().begin(), op.outputs().end());
  }
  auto* ts = w.mutable_tensors();
  ts->erase(std::remove_if(ts->begin(), ts->end(),
                           [&](const ir::v1::Tensor& t) { return !used.count(t.name()); }),
            ts->end());
}

}  // namespace

bool Selector::matches(const Op& op) const {
  if (!kind.empty() && ir::op_kind(op) != kind) return false;
  if (!name.empty() && !std::regex_match(op.name(), name_re)) return false;
  return true;
}

std::string Selector::str() const {
  if (kind.empty() && name.empty()) return "all ops";
  std::string s;
  if (!kind.empty()) s += "kind=" + kind;
  if (!name.empty()) s += std::string(s.empty() ? "" : " ") + "name=" + name;
  return s;
}

std::vector<std::string> ir_op_kinds() {
  std::vector<std::string> out;
  const auto* oneof = Op::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < oneof->field_count(); ++i) out.push_back(oneof->field(i)->name());
  return out;
}

Pipeline parse_pipeline(const YAML::Node& root, const std::string& file) {
  sim::Diagnostics diags;
  Pipeline p;
  p.file = file;
  if (!root.IsMap()) {
    diags.error_at(file, root, "", "expected a map with the key `pipeline:`");
    diags.throw_if_any();
  }
  sim::check_keys(root, file, "", {"pipeline"}, diags);
  const YAML::Node list = root["pipeline"];
  if (!list) {
    diags.error_at(file, root, "pipeline", "missing `pipeline:` (a list of transform steps)");
  } else if (!list.IsSequence()) {
    diags.error_at(file, list, "pipeline", "expected a list of steps");
  } else if (list.size() == 0) {
    diags.error_at(file, list, "pipeline", "the pipeline has no steps");
  } else {
    const auto& reg = TransformRegistry::instance();
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node node = list[i];
      const std::string path = "pipeline[" + std::to_string(i) + "]";
      if (!node.IsMap()) {
        diags.error_at(file, node, path, "expected a map such as {transform: quantize, bits: 8}");
        continue;
      }
      PipelineStep step;
      step.index = static_cast<int>(i);
      step.line = node.Mark().line + 1;
      step.col = node.Mark().column + 1;
      step.where = location(file, node);
      step.select = parse_selector(node["select"], file, path + ".select", diags);
      const YAML::Node name = node["transform"];
      if (!name) {
        diags.error_at(
            file, node, path + ".transform", "missing `transform:`", "one of: " + [&] {
              std::string s;
              for (const auto& n : reg.names()) s += (s.empty() ? "" : ", ") + n;
              return s;
            }());
        continue;
      }
      if (!sim::read_string(name, file, path + ".transform", diags, step.transform)) continue;
      const TransformEntry* entry = reg.find(step.transform);
      if (!entry) {
        diags.error_at(file, name, path + ".transform",
                       "unknown transform '" + step.transform + "'",
                       sim::did_you_mean(step.transform, reg.names()));
        continue;
      }
      step.impl = entry->create(node, file, path, diags);
      if (!step.impl) continue;
      // The resolved parameters for the report: the step's values, defaults for the rest.
      YAML::Node params(YAML::NodeType::Map);
      for (const auto& info : entry->params()) {
        const YAML::Node v = node[info.name];
        params[info.name] = v ? YAML::Clone(v) : YAML::Load(info.default_text);
      }
      step.params = params;
      p.steps.push_back(std::move(step));
    }
  }
  diags.throw_if_any();
  return p;
}

Pipeline load_pipeline(const std::string& path) {
  return parse_pipeline(sim::load_yaml_file(path), path);
}

void check_selection(const Pipeline& p, const Workload& w, sim::Diagnostics& diags) {
  for (const auto& step : p.steps) {
    const Selection s = select(step, w);
    if (!s.accepted.empty()) continue;
    sim::Diagnostic d;
    d.file = p.file;
    d.line = step.line;
    d.col = step.col;
    d.path = "pipeline[" + std::to_string(step.index) + "].select";
    d.message = nothing_selected(step, s);
    diags.error(d);
  }
}

std::vector<StepResult> run_pipeline(const Pipeline& p, Workload& w, const RunOptions& options) {
  std::vector<StepResult> results;
  TransformContext ctx;
  ctx.seed = options.seed;
  for (const auto& step : p.steps) {
    StepResult r;
    r.index = step.index;
    r.transform = step.transform;
    r.select = step.select.str();
    r.params = step.params;
    const Selection sel = select(step, w);
    r.skipped = sel.skipped;
    if (sel.accepted.empty())
      throw sim::ConfigError(step.where + ": pipeline[" + std::to_string(step.index) +
                             "].select: " + nothing_selected(step, sel) + "\n");

    auto t0 = std::chrono::steady_clock::now();
    std::map<std::string, Array> acts;
    if (!options.calibration.empty()) acts = calibration_activations(w, options.calibration);
    ctx.activations = options.calibration.empty() ? nullptr : &acts;
    r.quality_seconds += seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    std::vector<OpChange> prepared;  // values ensured before prepare, for the synthesized notes
    std::vector<int> indices;
    for (const auto& name : sel.accepted) {
      const int i = op_index(w, name);
      OpChange c;
      ensure_values(w, i, ctx, c);
      prepared.push_back(std::move(c));
      indices.push_back(i);
    }
    step.impl->prepare(w, indices, ctx);
    r.transform_seconds += seconds_since(t0);

    for (size_t k = 0; k < sel.accepted.size(); ++k) {
      const std::string& name = sel.accepted[k];
      const int i = op_index(w, name);
      const Op original = w.ops(i);
      // The op before the step, with its tensors, for the error measurement; copying only the
      // op's neighbourhood keeps this cheap on large workloads.
      t0 = std::chrono::steady_clock::now();
      const bool measure = ctx.activations != nullptr;
      Workload before;
      if (measure) before = sub_workload(w, {name});
      const std::set<std::string> had_codes = quantized_weights(w, original);
      const int64_t params_before = ops_stored_params(w, {name});
      const int64_t bits_before = ops_storage_bits(w, {name});
      r.quality_seconds += seconds_since(t0);

      t0 = std::chrono::steady_clock::now();
      OpChange c = step.impl->apply(w, i, ctx);
      r.transform_seconds += seconds_since(t0);

      t0 = std::chrono::steady_clock::now();
      c.op = name;
      c.transform = step.transform;
      c.kind = ir::op_kind(original);
      if (c.new_ops.empty()) c.new_ops = {name};
      const OpChange& pre = prepared[k];
      if (pre.synthesized_weights) {
        c.synthesized_weights = true;
        c.notes.insert(c.notes.begin(), pre.notes.begin(), pre.notes.end());
      }
      if (c.params_before < 0) c.params_before = params_before;
      if (c.bits_before < 0) c.bits_before = bits_before;
      if (c.params_after < 0) c.params_after = ops_stored_params(w, c.new_ops);
      if (c.bits_after < 0) c.bits_after = ops_storage_bits(w, c.new_ops);
      for (const auto& t : had_codes) {
        const auto* now = ir::find_tensor(w, t);
        if (now && now->int_data_size() == 0)
          c.notes.push_back("the quantization of '" + t + "' was dropped (values changed)");
      }
      if (measure && !c.needs_retraining)
        c.output_error = output_error(before, name, sub_workload(w, c.new_ops), c.new_ops, acts);
      r.quality_seconds += seconds_since(t0);
      r.changes.push_back(std::move(c));
    }
    results.push_back(std::move(r));
  }
  remove_unused_tensors(w);
  return results;
}

}  // namespace codesim::compress
