#include "workloads/zoo/builder.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {

namespace {

struct LstmPreset {
  const char* name;
  int64_t input, hidden, steps, classes;
};

// The raw-pixel video LSTMs of TT-LSTM (Yang et al., ICML 2017), reused by the TT/HT-LSTM
// accelerator papers (TIE, FDHT-LSTM): frames resized to 160x120x3 = 57,600 inputs, hidden 256;
// UCF11 has 11 classes and YouTube Celebrities Face 47. The 6 steps are TT-LSTM's 6 frames
// sampled per clip; the accelerator papers do not restate the sequence length.
constexpr LstmPreset kPresets[] = {
    {"ucf11", 57600, 256, 6, 11},
    {"youtube_celebrities", 57600, 256, 6, 47},
};

const LstmPreset* find_preset(const std::string& name) {
  for (const auto& p : kPresets)
    if (name == p.name) return &p;
  return nullptr;
}

std::string variant_doc() {
  std::string doc = "custom: input and hidden must be given; presets (keys given explicitly win):";
  for (const auto& p : kPresets)
    doc += std::string(" ") + p.name + " = input " + std::to_string(p.input) + ", hidden " +
           std::to_string(p.hidden) + ", steps " + std::to_string(p.steps) + ", classes " +
           std::to_string(p.classes) + ";";
  doc.pop_back();
  return doc;
}

}  // namespace

const sim::ParamSchema<LstmParams>& LstmParams::schema() {
  static const auto s =
      sim::ParamSchema<LstmParams>()
          .choice("variant", &LstmParams::variant, {"custom", "ucf11", "youtube_celebrities"},
                  variant_doc())
          .def("custom")
          .integer("input", &LstmParams::input, "input features per step of the first layer")
          .required()
          .min(1)
          .integer("hidden", &LstmParams::hidden, "hidden (and cell) state size of every layer")
          .required()
          .min(1)
          .integer("steps", &LstmParams::steps, "time steps (frames) per sequence")
          .def(1)
          .min(1)
          .integer("batch", &LstmParams::batch, "sequences per inference")
          .def(1)
          .min(1)
          .integer("layers", &LstmParams::layers, "stacked LSTM layers")
          .def(1)
          .min(1)
          .integer("classes", &LstmParams::classes,
                   "outputs of the linear classifier on the last hidden state; 0: no classifier")
          .def(0)
          .min(0);
  return s;
}

YAML::Node LstmParams::apply_preset(const YAML::Node& node) {
  if (!node || !node.IsMap() || !node["variant"] || !node["variant"].IsScalar()) return node;
  const LstmPreset* p = find_preset(node["variant"].Scalar());
  if (!p) return node;
  YAML::Node merged(YAML::NodeType::Map);
  for (const auto& kv : node) merged[kv.first] = kv.second;
  auto fill = [&](const char* key, int64_t value) {
    if (!node[key]) merged[key] = value;
  };
  fill("input", p->input);
  fill("hidden", p->hidden);
  fill("steps", p->steps);
  fill("classes", p->classes);
  return merged;
}

LstmParams LstmParams::preset(const std::string& variant) {
  YAML::Node node(YAML::NodeType::Map);
  node["variant"] = variant;
  sim::Diagnostics unused;
  return schema().parse(apply_preset(node), "", "", unused);
}

ir::v1::Workload build_lstm(const LstmParams& p) {
  WorkloadBuilder b("lstm_" + p.variant);
  std::string x = b.input("input", {p.steps, p.batch, p.input});
  for (int64_t l = 0; l < p.layers; ++l) {
    ir::v1::LstmCell cell;
    cell.set_batch(p.batch);
    cell.set_input_size(l == 0 ? p.input : p.hidden);
    cell.set_hidden_size(p.hidden);
    cell.set_steps(p.steps);
    x = b.lstm_cell("lstm" + std::to_string(l), x, cell, /*bias=*/true);
  }
  if (p.classes > 0) {
    const std::string last = b.generic("last_step", "gather", x, {p.batch, p.hidden});
    x = b.linear("classifier", last, 1, p.batch, p.classes, p.hidden, true);
  }
  b.mark_output(x);
  return b.finish();
}

}  // namespace codesim::workloads
