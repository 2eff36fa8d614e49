// Zoo totals against published figures and closed forms (never against this code's own output).
#include "workloads/zoo/zoo.h"

#include <catch2/catch.hpp>
#include <set>

#include "workloads/ir/ir.h"

namespace codesim::workloads {
namespace {

struct Totals {
  int64_t macs = 0;
  int64_t params = 0;
};

Totals totals(const ir::v1::Workload& w) {
  Totals t;
  for (const auto& op : w.ops()) {
    t.macs += ir::op_macs(w, op);
    t.params += ir::op_params(w, op);
  }
  return t;
}

// The closed form of BERT-base MACs: per layer, four hidden x hidden projections and the two FFN
// matrices for every token, plus Q·Kᵀ and S·V (seq² · hidden each).
int64_t bert_base_macs(int64_t seq) {
  const int64_t h = 768, ffn = 3072;
  return 12 * (seq * (4 * h * h + 2 * h * ffn) + 2 * seq * seq * h);
}

ir::v1::Workload from_yaml(const std::string& text) {
  sim::Diagnostics diags;
  const YAML::Node node = YAML::Load(text);
  ir::v1::Workload w = build_zoo(node["zoo"].Scalar(), node, "test.yaml", "workload", diags);
  INFO(diags.str());
  REQUIRE(diags.empty());
  return w;
}

}  // namespace

TEST_CASE("resnet50 matches torchvision's 4.1 GMAC and 25.6 M parameters", "[unit]") {
  const Totals t = totals(build_resnet50(zoo_defaults<ResNet50Params>()));
  CHECK(t.macs == Approx(4.1e9).epsilon(0.02));
  CHECK(t.params == Approx(25.6e6).epsilon(0.02));
}

TEST_CASE("mobilenetv2 matches torchvision's 0.30 GMAC and 3.5 M parameters", "[unit]") {
  const ir::v1::Workload w = build_mobilenetv2(zoo_defaults<MobileNetV2Params>());
  const Totals t = totals(w);
  CHECK(t.macs == Approx(0.30e9).epsilon(0.02));
  CHECK(t.params == Approx(3.5e6).epsilon(0.02));
  // 17 inverted residual blocks, each with exactly one depthwise conv.
  int depthwise = 0;
  for (const auto& op : w.ops())
    if (op.has_conv2d() && op.conv2d().groups() > 1) {
      CHECK(op.conv2d().groups() == op.conv2d().c());
      ++depthwise;
    }
  CHECK(depthwise == 17);
}

TEST_CASE("vit b16 and l16 match the published 17.6 / 61.6 GMAC and 86.6 / 304.3 M", "[unit]") {
  VitParams p = zoo_defaults<VitParams>();
  Totals t = totals(build_vit(p));
  CHECK(t.macs == Approx(17.6e9).epsilon(0.02));
  CHECK(t.params == Approx(86.6e6).epsilon(0.02));
  p.variant = "l16";
  t = totals(build_vit(p));
  CHECK(t.macs == Approx(61.6e9).epsilon(0.02));
  CHECK(t.params == Approx(304.3e6).epsilon(0.02));
}

TEST_CASE("bert base at seq 128 has 11.2 GMAC and 85 M parameters", "[unit]") {
  const Totals t = totals(build_bert(zoo_defaults<BertParams>()));
  CHECK(t.macs == Approx(11.2e9).epsilon(0.02));
  CHECK(t.params == Approx(85e6).epsilon(0.02));
}

TEST_CASE("bert MACs follow the closed form in seq_len, parameters do not depend on it", "[unit]") {
  BertParams p = zoo_defaults<BertParams>();
  // Per layer: Q, K, V, O weights and biases, FFN weights and biases, two LayerNorms.
  const int64_t h = 768, ffn = 3072;
  const int64_t params = 12 * (4 * (h * h + h) + 2 * h * ffn + ffn + h + 2 * 2 * h);
  for (int64_t seq : {1, 64, 128, 200, 512}) {
    p.seq_len = seq;
    const Totals t = totals(build_bert(p));
    CHECK(t.macs == bert_base_macs(seq));
    CHECK(t.params == params);
  }
  p.seq_len = 128;
  p.batch = 4;
  CHECK(totals(build_bert(p)).macs == 4 * bert_base_macs(128));
}

TEST_CASE("fabnet butterflies follow torch_butterfly: 2·L·log2(L)·stacks twiddles", "[unit]") {
  struct Case {
    std::string variant;
    int64_t hidden, layers;
  };
  for (const Case& c : {Case{"base", 768, 12}, Case{"large", 1024, 24}}) {
    FabnetParams p = zoo_defaults<FabnetParams>();
    p.variant = c.variant;
    p.seq_len = 200;
    const ir::v1::Workload w = build_fabnet(p);
    // FFN up: in = hidden padded to 1024, stacks = ceil(4·hidden / 1024); down: 4·hidden padded
    // to 4096, one stack.
    const int64_t up_stacks = (4 * c.hidden + 1023) / 1024;
    const int64_t per_layer = 2 * 1024 * 10 * up_stacks + 2 * 4096 * 12 * 1;
    int64_t twiddles = 0, butterflies = 0, ffts = 0;
    for (const auto& op : w.ops()) {
      if (op.has_butterfly()) {
        const auto& b = op.butterfly();
        const ir::v1::Tensor* t = ir::find_tensor(w, op.inputs(1));
        REQUIRE(t != nullptr);
        CHECK(t->is_weight());
        CHECK(ir::tensor_elements(*t) == 2 * b.length() * b.stages() * b.stacks());
        CHECK(b.batch() == 200);
        twiddles += ir::tensor_elements(*t);
        ++butterflies;
      }
      if (op.has_fft()) {
        REQUIRE(op.fft().lengths_size() == 2);
        CHECK(op.fft().lengths(0) == 256);   // seq 200 padded
        CHECK(op.fft().lengths(1) == 1024);  // 768 padded, 1024 as is
        CHECK(op.fft().real_output());
        ++ffts;
      }
    }
    CHECK(butterflies == 2 * c.layers);
    CHECK(ffts == c.layers);
    CHECK(twiddles == c.layers * per_layer);
  }
}

TEST_CASE("fabnet abfly blocks replace the last FBfly blocks", "[unit]") {
  FabnetParams p = zoo_defaults<FabnetParams>();
  p.abfly_layers = 2;
  const ir::v1::Workload w = build_fabnet(p);
  int ffts = 0, attention_gemms = 0, butterflies = 0;
  for (const auto& op : w.ops()) {
    ffts += op.has_fft();
    butterflies += op.has_butterfly();
    if (op.has_gemm()) {
      CHECK(op.gemm().batch() == 12);  // heads
      ++attention_gemms;
    }
  }
  CHECK(ffts == 10);
  CHECK(attention_gemms == 2 * 2);
  // FFN butterflies in every layer, Q, K, V and output butterflies in the two ABfly layers.
  CHECK(butterflies == 12 * 2 + 2 * 4);
}

TEST_CASE("lstm ucf11 preset: 57,600 inputs, hidden 256, 11 classes", "[unit]") {
  const LstmParams p = LstmParams::preset("ucf11");
  const Totals t = totals(build_lstm(p));
  const int64_t in = 160 * 120 * 3, h = 256;
  CHECK(t.macs == p.steps * 4 * h * (in + h) + h * 11);
  CHECK(t.params == 4 * h * (in + h) + 4 * h + h * 11 + 11);
  CHECK(LstmParams::preset("youtube_celebrities").classes == 47);
}

TEST_CASE("lstm keys given explicitly win over the variant's preset", "[unit]") {
  const ir::v1::Workload w =
      from_yaml("{zoo: lstm, variant: youtube_celebrities, steps: 12, layers: 2}");
  REQUIRE(w.ops(0).has_lstm_cell());
  CHECK(w.ops(0).lstm_cell().input_size() == 57600);
  CHECK(w.ops(0).lstm_cell().steps() == 12);
  CHECK(w.ops(1).lstm_cell().input_size() == 256);  // second layer reads hidden states
  CHECK(w.ops(w.ops_size() - 1).gemm().n() == 47);
}

TEST_CASE("mlp: one linear layer per pair of sizes", "[unit]") {
  CHECK(totals(build_mlp(zoo_defaults<MlpParams>())).macs == 784 * 256 + 256 * 256 + 256 * 10);
  const ir::v1::Workload w = from_yaml("{zoo: mlp, sizes: [100, 50], batch: 8}");
  const Totals t = totals(w);
  CHECK(t.macs == 8 * 100 * 50);
  CHECK(t.params == 100 * 50 + 50);
}

TEST_CASE("every zoo workload passes ir::validate and names its tensors after its ops", "[unit]") {
  for (const auto& model : zoo_models()) {
    YAML::Node node(YAML::NodeType::Map);
    node["zoo"] = model.name;
    if (model.name == "lstm") node["variant"] = "ucf11";
    if (model.name == "fabnet") node["abfly_layers"] = 1;
    sim::Diagnostics diags;
    const ir::v1::Workload w = build_zoo(model.name, node, "", "workload", diags);
    INFO(model.name << ": " << diags.str());
    REQUIRE(diags.empty());
    CHECK(w.ops_size() > 0);
    std::string problems;
    for (const auto& p : ir::validate(w)) problems += p + "\n";
    CHECK(problems == "");
    for (const auto& op : w.ops()) {
      REQUIRE(op.outputs_size() == 1);
      CHECK(op.outputs(0) == op.name() + ".out");
      for (const auto& in : op.inputs()) {
        const ir::v1::Tensor* t = ir::find_tensor(w, in);
        REQUIRE(t != nullptr);
        if (t->is_weight()) CHECK(in.rfind(op.name() + ".", 0) == 0);
      }
    }
  }
}

TEST_CASE("zoo names are unique and every model documents its parameters", "[unit]") {
  const auto names = zoo_names();
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  for (const char* expected : {"bert", "vit", "resnet50", "mobilenetv2", "mlp", "lstm", "fabnet"})
    CHECK(find_zoo(expected) != nullptr);
  for (const auto& model : zoo_models()) {
    CHECK_FALSE(model.summary.empty());
    for (const auto& info : model.params) {
      INFO(model.name << "." << info.name);
      CHECK_FALSE(info.doc.empty());
    }
  }
}

}  // namespace codesim::workloads
