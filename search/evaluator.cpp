#include "search/evaluator.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compress/pipeline.h"
#include "compress/quality.h"
#include "compress/reference/evaluate.h"
#include "sim/core/registry.h"
#include "sim/core/runner.h"
#include "workloads/data/fashion_mnist.h"
#include "workloads/ir/ir.h"

namespace codesim::search {

namespace {

using nlohmann::json;
namespace ir = codesim::ir;

std::string deterministic_bytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream raw(&out);
  google::protobuf::io::CodedOutputStream coded(&raw);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string from_hex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  auto v = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(v(hex[2 * i]) * 16 + v(hex[2 * i + 1]));
  return out;
}

void strip_values(ir::Workload& w) {
  for (auto& t : *w.mutable_tensors()) {
    t.clear_float_data();
    t.clear_int_data();
  }
}

// The op as the simulator sees it: kind and dimensions, and its tensors' shapes, types and
// annotations, with names (and quantization scales) left out so that identical layers share it.
std::string canonical_op(const ir::Workload& w, const ir::Op& op) {
  ir::Op c = op;
  c.clear_name();
  std::string out;
  auto add_tensor = [&](const std::string& name, const std::string& placeholder) {
    const ir::Tensor* t = ir::find_tensor(w, name);
    if (!t) return;
    ir::Tensor copy = *t;
    copy.set_name(placeholder);
    copy.clear_float_data();
    copy.clear_int_data();
    copy.mutable_quantization()->clear_scale();
    copy.mutable_quantization()->clear_zero_point();
    out += deterministic_bytes(copy);
  };
  for (int i = 0; i < c.inputs_size(); ++i) {
    add_tensor(c.inputs(i), "i" + std::to_string(i));
    c.set_inputs(i, "i" + std::to_string(i));
  }
  for (int i = 0; i < c.outputs_size(); ++i) {
    add_tensor(c.outputs(i), "o" + std::to_string(i));
    c.set_outputs(i, "o" + std::to_string(i));
  }
  return deterministic_bytes(c) + "|" + out;
}

// The codesim build: a model change is a new binary, so cached op results are keyed by it.
std::string build_identity() {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return hash_hex(os.str());
}

compress::Normalization normalization(const ir::Workload& w) {
  const auto n = compress::normalization_from_metadata(w);
  return n ? *n : compress::Normalization{};
}

// Dataset images, normalized, as the workload's single input.
compress::Array model_inputs(const ir::Workload& w, const workloads::ImageDataset& d) {
  if (w.inputs_size() != 1)
    throw sim::ConfigError("a dataset needs a workload with one input; '" + w.name() + "' has " +
                           std::to_string(w.inputs_size()));
  const ir::Tensor* in = ir::find_tensor(w, w.inputs(0));
  compress::Array a;
  a.shape.assign(in->shape().begin(), in->shape().end());
  int64_t per_sample = 1;
  for (size_t i = 1; i < a.shape.size(); ++i) per_sample *= a.shape[i];
  if (a.shape.empty() || per_sample != d.image_size())
    throw sim::ConfigError("workload input '" + in->name() + "' does not hold one " +
                           std::to_string(d.image_size()) + "-pixel image per sample");
  a.shape[0] = d.count();
  a.data = d.images;
  compress::normalize(normalization(w), a.data.data(), a.size());
  return a;
}

struct Compressed {
  json figures;           // quality_loss, group_quality, accuracy, size
  ir::Workload workload;  // without weight values
  std::string identity;   // hash of `workload`: the context of ops of non-separable models
};

class SimEvaluator : public Evaluator {
 public:
  explicit SimEvaluator(const Space& space) : space_(space), build_(build_identity()) {
    if (!space.base) throw std::invalid_argument("the space's workload is not loaded (load_space)");
    base_ = *space.base;
    if (!space.compression_dims().empty()) {
      compress::TransformContext ctx;
      ctx.seed = space.seed;
      compress::ensure_all_values(base_, ctx);
      const ir::Tensor* in =
          base_.inputs_size() ? ir::find_tensor(base_, base_.inputs(0)) : nullptr;
      const int batch = in && in->shape_size() ? static_cast<int>(in->shape(0)) : 1;
      if (space.dataset.empty())
        calibration_ = compress::random_inputs(base_, batch, space.seed);
      else
        calibration_ = {
            {base_.inputs(0), model_inputs(base_, workloads::load_fashion_mnist("train", batch))}};
    }
    if (!space.dataset.empty()) {
      test_ = workloads::load_fashion_mnist("test", space.test_images);
      const compress::Array images{test_.shape, test_.images};
      baseline_accuracy_ = compress::evaluate_classifier(compress::Executor(base_), images,
                                                         test_.labels, normalization(base_))
                               .top1_percent();
    }
    for (const auto& g : space.groups)
      for (const auto& op : g.ops) group_of_op_[op] = g.name;
  }

  void absorb_cache(const std::map<std::string, std::string>& entries) override {
    for (const auto& kv : entries) cache_.insert(kv);
  }

  std::optional<json> from_cache(const Point& p) override {
    const auto comp = compressed(p);
    if (!comp) return std::nullopt;
    const Hardware& hw = hardware(p);
    const auto area = cache_.find("area:" + hw.key);
    if (area == cache_.end()) return std::nullopt;
    std::vector<const std::string*> ops;
    for (const auto& op : comp->workload.ops()) {
      const auto it = cache_.find(op_key(hw, *comp, op));
      if (it == cache_.end()) return std::nullopt;
      ops.push_back(&it->second);
    }
    return assemble(*comp, area->second, ops, 0);
  }

  json evaluate(const Point& p) override {
    json new_entries = json::object();
    std::shared_ptr<const Compressed> comp = compressed(p);
    if (!comp) {
      auto c = compress_point(p);
      new_entries[compress_key(p)] = encode(*c);
      comp = std::move(c);
    }
    if (comp->figures.contains("needs_retraining") && !space_.dataset.empty())
      throw std::runtime_error(
          "accuracy cannot be stated: " + comp->figures["needs_retraining"].get<std::string>() +
          " needs retraining");
    const Hardware& hw = hardware(p);
    std::vector<std::string> keys, missing;
    std::set<std::string> pending;  // a layer repeated in this workload is simulated once
    for (const auto& op : comp->workload.ops()) {
      keys.push_back(op_key(hw, *comp, op));
      if (!cache_.count(keys.back()) && pending.insert(keys.back()).second)
        missing.push_back(op.name());
    }
    const std::string area_key = "area:" + hw.key;
    std::set<std::string> missing_set(missing.begin(), missing.end());
    int simulated = 0;
    if (!missing.empty() || !cache_.count(area_key)) {
      ir::Workload sub = compress::sub_workload(comp->workload, missing);
      sim::RunOptions opt;
      opt.fidelity = space_.fidelity;
      const sim::RunResult r = sim::run_workload(hw.arch, sub, opt);
      new_entries[area_key] =
          json{{"area_um2", r.total_area_um2}, {"clock_mhz", r.clock_mhz}}.dump();
      for (int i = 0; i < comp->workload.ops_size(); ++i) {
        const auto& op = comp->workload.ops(i);
        if (!missing_set.count(op.name())) continue;
        for (const auto& o : r.ops)
          if (o.name == op.name()) {
            new_entries[keys[static_cast<size_t>(i)]] = json{
                {"supported", o.supported},
                {"cycles", o.cycles},
                {"energy_pj", o.total_energy_pj},
                {"macs", o.macs}}.dump();
            ++simulated;
          }
      }
    }
    auto lookup = [&](const std::string& key) -> std::string {
      if (new_entries.contains(key)) return new_entries[key].get<std::string>();
      return cache_.at(key);
    };
    const std::string area = lookup(area_key);
    std::vector<std::string> values;
    for (const auto& k : keys) values.push_back(lookup(k));
    std::vector<const std::string*> ops;
    for (const auto& v : values) ops.push_back(&v);
    return json{{"metrics", assemble(*comp, area, ops, simulated)}, {"cache", new_entries}};
  }

 private:
  struct Hardware {
    std::string key;
    sim::ArchConfig arch;
    // The model's op results are their own (registry); otherwise an op's cached result is valid
    // only within the same whole workload.
    bool separable_ops = false;
  };

  std::string compress_key(const Point& p) const {
    std::string k = "compress:";
    for (int d : space_.compression_dims()) k += std::to_string(p[d]) + ".";
    return k;
  }

  const Hardware& hardware(const Point& p) {
    std::string id;
    for (int d : space_.hardware_dims()) id += std::to_string(p[d]) + ".";
    auto it = hardware_.find(id);
    if (it != hardware_.end()) return it->second;
    Hardware hw;
    hw.arch = sim::load_arch(space_.arch, point_overrides(space_, p));
    const sim::AcceleratorEntry* entry = sim::Registry::instance().accelerator(hw.arch.model);
    hw.separable_ops = entry && entry->separable_ops;
    YAML::Emitter e;
    e << YAML::Flow << hw.arch.root;
    hw.key = hash_hex(build_ + "|" + sim::fidelity_name(space_.fidelity) + "|" + e.c_str());
    return hardware_.emplace(id, std::move(hw)).first->second;
  }

  // Separable models: the op alone, so repeated layers and points share results. Others: the op
  // by name within its whole workload, so every op of a new workload is simulated in context.
  std::string op_key(const Hardware& hw, const Compressed& c, const ir::Op& op) const {
    if (hw.separable_ops) return "op:" + hash_hex(hw.key + "|" + canonical_op(c.workload, op));
    return "op:" + hash_hex(hw.key + "|" + c.identity + "|" + op.name());
  }

  std::shared_ptr<const Compressed> compressed(const Point& p) {
    const std::string key = compress_key(p);
    auto it = decoded_.find(key);
    if (it != decoded_.end()) return it->second;
    const auto c = cache_.find(key);
    if (c == cache_.end()) return nullptr;
    const json j = json::parse(c->second);
    auto out = std::make_shared<Compressed>();
    out->figures = j["figures"];
    out->workload.ParseFromString(from_hex(j["workload"].get<std::string>()));
    out->identity = hash_hex(deterministic_bytes(out->workload));
    decoded_[key] = out;
    return out;
  }

  static std::string encode(const Compressed& c) {
    return json{{"figures", c.figures}, {"workload", to_hex(deterministic_bytes(c.workload))}}
        .dump();
  }

  std::string group_of(const std::string& op) const {
    // Ops a transform made of OP are named OP.something.
    std::string name = op;
    while (true) {
      const auto it = group_of_op_.find(name);
      if (it != group_of_op_.end()) return it->second;
      const auto dot = name.rfind('.');
      if (dot == std::string::npos) return "";
      name = name.substr(0, dot);
    }
  }

  std::shared_ptr<Compressed> compress_point(const Point& p) {
    auto out = std::make_shared<Compressed>();
    out->workload = base_;
    json group_quality = json::object();
    for (const auto& g : space_.groups) group_quality[g.name] = 0.0;
    double quality_loss = 0;
    std::string retrain;
    const YAML::Node doc = point_pipeline(space_, p);
    if (!doc.IsNull()) {
      const compress::Pipeline pipeline = compress::parse_pipeline(doc, space_.file);
      compress::RunOptions options;
      options.calibration = calibration_;
      options.seed = space_.seed;
      for (const auto& step : compress::run_pipeline(pipeline, out->workload, options))
        for (const auto& c : step.changes) {
          if (c.needs_retraining && retrain.empty()) retrain = c.op;
          if (c.output_error < 0) continue;
          quality_loss += c.output_error;
          const std::string g = group_of(c.op);
          if (!g.empty()) group_quality[g] = group_quality[g].get<double>() + c.output_error;
        }
    }
    json& f = out->figures;
    f["quality_loss"] = quality_loss;
    f["group_quality"] = group_quality;
    f["size"] = static_cast<double>(compress::workload_storage_bits(out->workload)) / 8192.0;
    if (!retrain.empty()) {
      f["needs_retraining"] = retrain;
    } else if (!space_.dataset.empty()) {
      const compress::Array images{test_.shape, test_.images};
      const compress::Executor exec(out->workload, compress::Arithmetic::kInteger);
      f["accuracy"] =
          compress::evaluate_classifier(exec, images, test_.labels, normalization(out->workload))
              .top1_percent();
    }
    strip_values(out->workload);
    out->identity = hash_hex(deterministic_bytes(out->workload));
    return out;
  }

  json assemble(const Compressed& comp, const std::string& area_text,
                const std::vector<const std::string*>& ops, int simulated) const {
    const json area = json::parse(area_text);
    const double clock_mhz = area["clock_mhz"].get<double>();
    double cycles = 0, energy_pj = 0;
    int unsupported = 0;
    json groups = json::object();
    for (const auto& g : space_.groups)
      groups[g.name] = {{"cycles", 0.0},
                        {"energy", 0.0},
                        {"quality_loss", comp.figures["group_quality"][g.name]}};
    for (size_t i = 0; i < ops.size(); ++i) {
      const json o = json::parse(*ops[i]);
      if (!o["supported"].get<bool>()) {
        ++unsupported;
        continue;
      }
      const double c = o["cycles"].get<double>(), e = o["energy_pj"].get<double>();
      cycles += c;
      energy_pj += e;
      const std::string g = group_of(comp.workload.ops(static_cast<int>(i)).name());
      if (g.empty()) continue;
      groups[g]["cycles"] = groups[g]["cycles"].get<double>() + c;
      groups[g]["energy"] = groups[g]["energy"].get<double>() + e * 1e-6;
    }
    json m;
    m["cycles"] = cycles;
    m["latency"] = cycles / clock_mhz / 1e3;
    m["energy"] = energy_pj * 1e-6;
    m["edp"] = m["latency"].get<double>() * m["energy"].get<double>();
    m["area"] = area["area_um2"].get<double>() * 1e-6;
    m["quality_loss"] = comp.figures["quality_loss"];
    m["size"] = comp.figures["size"];
    if (comp.figures.contains("accuracy")) {
      m["accuracy"] = comp.figures["accuracy"];
      m["accuracy_drop"] = baseline_accuracy_ - comp.figures["accuracy"].get<double>();
    }
    m["groups"] = groups;
    m["ops_simulated"] = simulated;
    m["ops_cached"] = static_cast<int>(ops.size()) - simulated;
    m["ops_unsupported"] = unsupported;
    return m;
  }

  const Space& space_;
  std::string build_;
  ir::Workload base_;
  std::map<std::string, compress::Array> calibration_;
  workloads::ImageDataset test_;
  double baseline_accuracy_ = 0;
  std::map<std::string, std::string> group_of_op_;
  std::map<std::string, std::string> cache_;
  std::map<std::string, std::shared_ptr<const Compressed>> decoded_;
  std::map<std::string, Hardware> hardware_;
};

}  // namespace

std::unique_ptr<Evaluator> make_sim_evaluator(const Space& space) {
  return std::make_unique<SimEvaluator>(space);
}

}  // namespace codesim::search
