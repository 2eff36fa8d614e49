#include "workloads/onnx/onnx_import.h"

#include <google/protobuf/util/message_differencer.h>
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "sim/core/diagnostics.h"
#include "tests/test_util.h"
#include "workloads/ir/ir.h"
#include "workloads/yaml/workload_yaml.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {
namespace {

using ir::v1::Op;
using ir::v1::Workload;

// A temporary folder removed with its contents (exported models reach 100 MB).
class ScopedDir {
 public:
  ScopedDir() : path_(test::temp_dir()) {}
  ~ScopedDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string fashion(const std::string& file) {
  return std::string(CODESIM_SOURCE_DIR) + "/workloads/models/fashion_mnist/" + file;
}

std::map<std::string, int> kind_counts(const Workload& w) {
  std::map<std::string, int> counts;
  for (const auto& op : w.ops()) ++counts[ir::op_kind(op)];
  return counts;
}

std::vector<std::string> kinds(const Workload& w) {
  std::vector<std::string> out;
  for (const auto& op : w.ops()) out.push_back(ir::op_kind(op));
  return out;
}

std::vector<const Op*> ops_of(const Workload& w, const std::string& kind) {
  std::vector<const Op*> out;
  for (const auto& op : w.ops())
    if (ir::op_kind(op) == kind) out.push_back(&op);
  return out;
}

int64_t total_macs(const Workload& w) {
  int64_t n = 0;
  for (const auto& op : w.ops()) n += ir::op_macs(w, op);
  return n;
}

// Elements of every weight tensor, each counted once.
int64_t total_params(const Workload& w) {
  int64_t n = 0;
  for (const auto& t : w.tensors())
    if (t.is_weight()) n += ir::tensor_elements(t);
  return n;
}

const ir::v1::Tensor& tensor(const Workload& w, const std::string& name) {
  const auto* t = ir::find_tensor(w, name);
  REQUIRE(t != nullptr);
  return *t;
}

std::vector<int64_t> shape_of(const ir::v1::Tensor& t) {
  return {t.shape().begin(), t.shape().end()};
}

// ---- reading and building ONNX models ----

onnx::ModelProto read_onnx(const std::string& path) {
  onnx::ModelProto m;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(m.ParseFromIstream(&in));
  return m;
}

std::vector<float> initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name() != name) continue;
    REQUIRE(t.data_type() == onnx::TensorProto::FLOAT);
    if (t.float_data_size() > 0) return {t.float_data().begin(), t.float_data().end()};
    std::vector<float> v(t.raw_data().size() / 4);
    std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
    return v;
  }
  FAIL("no initializer " << name);
  return {};
}

const onnx::NodeProto& onnx_node(const onnx::ModelProto& m, const std::string& op_type, int nth) {
  for (const auto& n : m.graph().node())
    if (n.op_type() == op_type && nth-- == 0) return n;
  FAIL("no " << op_type << " node");
  return m.graph().node(0);
}

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int opset = 17) {
    m_.set_ir_version(8);
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m_.mutable_graph()->set_name("test");
  }
  // A float input; -1 is a symbolic (batch) dimension.
  void input(const std::string& name, const std::vector<int64_t>& dims) {
    auto* v = m_.mutable_graph()->add_input();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* s = tt->mutable_shape();
    for (int64_t d : dims) {
      if (d < 0)
        s->add_dim()->set_dim_param("N");
      else
        s->add_dim()->set_dim_value(d);
    }
  }
  void output(const std::string& name) {
    auto* v = m_.mutable_graph()->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  void weight(const std::string& name, const std::vector<int64_t>& dims,
              const std::vector<float>& values) {
    auto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  void ints(const std::string& name, const std::vector<int64_t>& dims,
            const std::vector<int64_t>& values) {
    auto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
  }
  onnx::NodeProto* node(const std::string& type, const std::string& name,
                        const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    auto* n = m_.mutable_graph()->add_node();
    n->set_op_type(type);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  static void attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  std::string save(const ScopedDir& dir, const std::string& file) const {
    const std::string path = dir.file(file);
    std::ofstream out(path, std::ios::binary);
    REQUIRE(m_.SerializeToOstream(&out));
    return path;
  }

 private:
  onnx::ModelProto m_;
};

std::string import_error(const std::string& path, const OnnxImportOptions& opts = {}) {
  try {
    import_onnx(path, opts);
  } catch (const sim::ConfigError& e) {
    return e.what();
  }
  return "";
}

// ---- models exported from torchvision at test time ----

nlohmann::json export_torchvision(const std::string& dir, const std::string& models) {
  if (std::system("/usr/bin/python3 -c 'import torch, torchvision, onnx' > /dev/null 2>&1") != 0)
    FAIL(
        "python3-torch, python3-torchvision and python3-onnx are needed to export the test models "
        "(apt-get install python3-torch python3-torchvision python3-onnx; see scripts/setup)");
  const std::string log = dir + "/export.log";
  const std::string cmd = "/usr/bin/python3 " + std::string(CODESIM_SOURCE_DIR) +
                          "/scripts/export_torchvision.py --out " + dir + " --models " + models +
                          " > " + log + " 2>&1";
  const int status = std::system(cmd.c_str());
  INFO("export log:\n" << test::read_file(log));
  REQUIRE(status == 0);
  nlohmann::json meta;
  for (const auto& name : {"resnet18", "resnet50", "mobilenet_v2", "vit", "lstm"})
    if (models.find(name) != std::string::npos)
      meta[name] = nlohmann::json::parse(test::read_file(dir + "/" + name + ".json"));
  return meta;
}

// ---- the committed Fashion-MNIST models ----

TEST_CASE("ONNX import: Fashion-MNIST MLP keeps its layers and weights", "[unit]") {
  const Workload w = import_onnx(fashion("mlp.onnx"));
  CHECK(ir::validate(w).empty());
  CHECK(kind_counts(w) == std::map<std::string, int>{{"reshape", 1}, {"gemm", 3}, {"eltwise", 2}});
  CHECK(total_params(w) == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  CHECK(total_macs(w) == 784 * 256 + 256 * 128 + 128 * 10);
  REQUIRE(w.inputs_size() == 1);
  CHECK(w.inputs(0) == "input");
  CHECK(shape_of(tensor(w, "input")) == std::vector<int64_t>{1, 1, 28, 28});
  REQUIRE(w.outputs_size() == 1);
  CHECK(shape_of(tensor(w, "logits")) == std::vector<int64_t>{1, 10});
  CHECK(w.metadata().at("codesim.input_mean") == "0.286");
  CHECK(w.metadata().at("codesim.input_std") == "0.353");

  // Gemm transB = 1: the IR weight is the [K, N] transpose of torch's [N, K] matrix.
  const onnx::ModelProto m = read_onnx(fashion("mlp.onnx"));
  const auto torch_w = initializer(m, "net.1.weight");
  const Op& g = *ops_of(w, "gemm")[0];
  CHECK(g.gemm().m() == 1);
  CHECK(g.gemm().k() == 784);
  CHECK(g.gemm().n() == 256);
  const auto& wt = tensor(w, g.inputs(1));
  CHECK(wt.is_weight());
  CHECK(shape_of(wt) == std::vector<int64_t>{784, 256});
  REQUIRE(wt.float_data_size() == 784 * 256);
  for (int k : {0, 1, 783})
    for (int n : {0, 7, 255}) CHECK(wt.float_data(k * 256 + n) == torch_w[n * 784 + k]);
  CHECK(tensor(w, g.inputs(2)).float_data(5) == initializer(m, "net.1.bias")[5]);
}

TEST_CASE("ONNX import: --batch sets the dynamic batch dimension", "[unit]") {
  OnnxImportOptions opts;
  opts.batch = 4;
  const Workload w = import_onnx(fashion("mlp.onnx"), opts);
  CHECK(shape_of(tensor(w, "input")) == std::vector<int64_t>{4, 1, 28, 28});
  CHECK(ops_of(w, "gemm")[0]->gemm().m() == 4);
  CHECK(total_macs(w) == 4 * (784 * 256 + 256 * 128 + 128 * 10));
  const Workload lstm = import_onnx(fashion("lstm.onnx"), opts);
  CHECK(ops_of(lstm, "lstm_cell")[0]->lstm_cell().batch() == 4);
}

TEST_CASE("ONNX import: Fashion-MNIST CNN folds BatchNormalization into the convs", "[unit]") {
  const Workload w = import_onnx(fashion("cnn.onnx"));
  CHECK(ir::validate(w).empty());
  // Conv, BN, ReLU, MaxPool twice, Flatten, Gemm: no BN op is left.
  CHECK(kinds(w) == std::vector<std::string>{"conv2d", "eltwise", "pool", "conv2d", "eltwise",
                                             "pool", "reshape", "gemm"});
  // The BN scale and shift (2 per channel) become one conv bias per channel.
  CHECK(total_params(w) == (16 * 9 + 16) + (32 * 16 * 9 + 32) + (1568 * 10 + 10));

  const onnx::ModelProto m = read_onnx(fashion("cnn.onnx"));
  for (int i = 0; i < 2; ++i) {
    const Op& conv = *ops_of(w, "conv2d")[i];
    REQUIRE(conv.inputs_size() == 3);
    const int64_t filters = conv.conv2d().filters();
    const auto& wt = tensor(w, conv.inputs(1));
    const auto& bias = tensor(w, conv.inputs(2));
    CHECK(shape_of(bias) == std::vector<int64_t>{filters});
    // w' = w·γ/√(var+ε), b' = (b − mean)·γ/√(var+ε) + β.
    const auto& cn = onnx_node(m, "Conv", i);
    const auto& bn = onnx_node(m, "BatchNormalization", i);
    const auto w0 = initializer(m, cn.input(1)), b0 = initializer(m, cn.input(2));
    const auto gamma = initializer(m, bn.input(1)), beta = initializer(m, bn.input(2));
    const auto mean = initializer(m, bn.input(3)), var = initializer(m, bn.input(4));
    const int64_t per = static_cast<int64_t>(w0.size()) / filters;
    for (int64_t c = 0; c < filters; ++c) {
      const double s = gamma[c] / std::sqrt(var[c] + 1e-5);
      CHECK(bias.float_data(c) == Approx((b0[c] - mean[c]) * s + beta[c]).epsilon(1e-6));
      CHECK(wt.float_data(c * per + per / 2) == Approx(w0[c * per + per / 2] * s).epsilon(1e-6));
    }
  }
  const Op& pool = *ops_of(w, "pool")[0];
  CHECK(pool.pool().kind() == ir::v1::MAX);
  CHECK(pool.pool().kernel_h() == 2);
  CHECK(pool.pool().stride_w() == 2);
}

TEST_CASE("ONNX import: ViT at opset 17 and its decomposed opset-13 form give the same IR",
          "[unit]") {
  const Workload a = import_onnx(fashion("vit.onnx"));
  const Workload b = import_onnx(fashion("vit_opset13.onnx"));
  CHECK(ir::validate(a).empty());
  CHECK(ir::validate(b).empty());
  CHECK(kinds(a) == kinds(b));
  REQUIRE(ops_of(a, "layernorm").size() == 5);
  REQUIRE(ops_of(b, "layernorm").size() == 5);
  // Patch conv 16·64·49; per layer q, k, v, proj 4·16·64², QKᵀ and S·V 2·4·16³, MLP 2·16·64·128;
  // head 64·10.
  const int64_t layer = 4 * 16 * 64 * 64 + 2 * 4 * 16 * 16 * 16 + 2 * 16 * 64 * 128;
  CHECK(total_macs(a) == 16 * 64 * 49 + 2 * layer + 64 * 10);
  CHECK(total_macs(b) == total_macs(a));
  for (const auto* w : {&a, &b}) {
    int gelu = 0;
    for (const Op* e : ops_of(*w, "eltwise")) gelu += e->eltwise().func() == ir::v1::GELU;
    CHECK(gelu == 2);
    // The attention products multiply two activations, one product per head.
    const Op& qk = *ops_of(*w, "gemm")[3];
    CHECK(qk.gemm().batch() == 4);
    CHECK(qk.gemm().m() == 16);
    CHECK(qk.gemm().k() == 16);
    CHECK_FALSE(tensor(*w, qk.inputs(1)).is_weight());
  }
  for (int i = 0; i < 5; ++i) {
    const Op& la = *ops_of(a, "layernorm")[i];
    const Op& lb = *ops_of(b, "layernorm")[i];
    CHECK(la.layernorm().length() == 64);
    CHECK(la.layernorm().epsilon() == Approx(1e-5));
    CHECK(lb.layernorm().epsilon() == Approx(1e-5));
    // Same weights in both files: the pattern found gamma and beta.
    CHECK(tensor(a, la.inputs(1)).float_data(3) == tensor(b, lb.inputs(1)).float_data(3));
    CHECK(tensor(a, la.inputs(2)).float_data(3) == tensor(b, lb.inputs(2)).float_data(3));
  }
}

TEST_CASE("ONNX import: Fashion-MNIST LSTM becomes one lstm_cell with reordered gates", "[unit]") {
  const Workload w = import_onnx(fashion("lstm.onnx"));
  CHECK(ir::validate(w).empty());
  // Shape, Gather, Unsqueeze, Concat and ConstantOfShape only built the zero initial state.
  CHECK(kind_counts(w) ==
        std::map<std::string, int>{
            {"reshape", 2}, {"transpose", 1}, {"lstm_cell", 1}, {"slice", 1}, {"gemm", 1}});
  const auto cells = ops_of(w, "lstm_cell");
  REQUIRE(cells.size() == 1);
  const auto& l = cells[0]->lstm_cell();
  CHECK(l.input_size() == 28);
  CHECK(l.hidden_size() == 128);
  CHECK(l.steps() == 28);
  CHECK(l.batch() == 1);
  const int64_t h = 128;
  CHECK(total_params(w) == 4 * h * (28 + h) + 4 * h + h * 10 + 10);

  // ONNX gate blocks i, o, f, c -> IR i, f, g, o; the bias is Wb + Rb.
  const onnx::ModelProto m = read_onnx(fashion("lstm.onnx"));
  const auto& node = onnx_node(m, "LSTM", 0);
  const auto W = initializer(m, node.input(1)), B = initializer(m, node.input(3));
  const auto& w_ih = tensor(w, cells[0]->inputs(1));
  const auto& bias = tensor(w, cells[0]->inputs(3));
  const int onnx_block[4] = {0, 2, 3, 1};
  for (int g = 0; g < 4; ++g) {
    const int64_t row = g * h + 5, src = onnx_block[g] * h + 5;
    CHECK(w_ih.float_data(row * 28 + 3) == W[src * 28 + 3]);
    CHECK(bias.float_data(row) == Approx(B[src] + B[4 * h + src]));
  }
  // Y_h [1, N, 128] -> Gather(index -1, axis 0) is a slice of the one direction.
  const Op& slice = *ops_of(w, "slice")[0];
  CHECK(slice.slice().axes(0) == 0);
  CHECK(slice.slice().starts(0) == 0);
  CHECK(slice.slice().ends(0) == 1);
  CHECK(shape_of(tensor(w, slice.outputs(0))) == std::vector<int64_t>{1, 128});
}

TEST_CASE("ONNX import: load_workload and the CLI accept .onnx files", "[unit]") {
  const Workload direct = import_onnx(fashion("mlp.onnx"));
  CHECK(google::protobuf::util::MessageDifferencer::Equals(load_workload(fashion("mlp.onnx")),
                                                           direct));
  const ScopedDir tmp;
  const std::string& dir = tmp.path();
  const auto r = test::run_codesim("import " + fashion("mlp.onnx") + " -o " + dir + "/mlp.pb");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("6 ops (3 gemm, 2 eltwise, 1 reshape), 234,752 MACs, "
                                    "235,146 params"));
  CHECK(google::protobuf::util::MessageDifferencer::Equals(ir::load_proto_file(dir + "/mlp.pb"),
                                                           direct));
  const auto text = test::run_codesim("import " + fashion("lstm.onnx") + " --batch 2 -o " + dir +
                                      "/lstm.textproto");
  REQUIRE(text.status == 0);
  CHECK_THAT(test::read_file(dir + "/lstm.textproto"), Catch::Contains("hidden_size: 128"));
  const auto bad = test::run_codesim("import " + fashion("mlp.onnx") + " -o " + dir + "/x.csv");
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains(".textproto"));
}

// ---- errors ----

TEST_CASE("ONNX import: a truncated or missing file is an error naming the file", "[unit]") {
  const ScopedDir tmp;
  const std::string& dir = tmp.path();
  const std::string full = test::read_file(fashion("mlp.onnx"));
  const std::string cut = dir + "/cut.onnx";
  std::ofstream(cut, std::ios::binary) << full.substr(0, full.size() / 2);
  const std::string e = import_error(cut);
  CHECK_THAT(e, Catch::StartsWith(cut + ": error:"));
  CHECK_THAT(e, Catch::Contains("does not parse"));
  const std::string missing = dir + "/none.onnx";
  CHECK_THAT(import_error(missing), Catch::Contains(missing + ": error: cannot open file"));
  CHECK_THROWS_AS(load_workload(cut), sim::ConfigError);
}

// x [2, 5] -> Relu -> Hardmax -> y; Relu -> Cos -> z; Relu -> Clip(-1, 1) -> c.
std::string unsupported_model(const ScopedDir& dir) {
  OnnxBuilder b;
  b.input("x", {2, 5});
  b.node("Relu", "r", {"x"}, {"rx"});
  b.node("Hardmax", "hm", {"rx"}, {"y"});
  b.node("Cos", "cos", {"rx"}, {"z"});
  b.weight("lo", {}, {-1.0f});
  b.weight("hi", {}, {1.0f});
  b.node("Clip", "clip", {"rx", "lo", "hi"}, {"c"});
  for (const char* o : {"y", "z", "c"}) b.output(o);
  return b.save(dir, "unsupported.onnx");
}

TEST_CASE("ONNX import: unsupported ops are named, all at once", "[unit]") {
  const ScopedDir dir;
  const std::string path = unsupported_model(dir);
  const std::string e = import_error(path);
  CHECK_THAT(e, Catch::Contains(path + ": error: graph.node[1]: op 'Hardmax' (node 'hm', index 1): "
                                       "unsupported ONNX op"));
  CHECK_THAT(e, Catch::Contains("op 'Cos' (node 'cos', index 2)"));
  CHECK_THAT(e, Catch::Contains("op 'Clip' (node 'clip', index 3): not supported with Clip to "
                                "[-1"));
  CHECK_THAT(e, Catch::Contains("--allow-unknown"));
}

TEST_CASE("ONNX import: --allow-unknown keeps unsupported ops as generic ops with their traffic",
          "[unit]") {
  OnnxImportOptions opts;
  opts.allow_unknown = true;
  const ScopedDir dir;
  const Workload w = import_onnx(unsupported_model(dir), opts);
  CHECK(ir::validate(w).empty());
  const auto generic = ops_of(w, "generic");
  REQUIRE(generic.size() == 3);
  const Op& hm = *generic[0];
  CHECK(hm.name() == "hm");
  CHECK(hm.generic().op_type() == "Hardmax");
  CHECK(hm.generic().bytes_read() == 2 * 5 * 4);
  CHECK(hm.generic().bytes_written() == 2 * 5 * 4);
  CHECK(std::vector<std::string>(hm.inputs().begin(), hm.inputs().end()) ==
        std::vector<std::string>{"rx"});
  CHECK(std::vector<std::string>(hm.outputs().begin(), hm.outputs().end()) ==
        std::vector<std::string>{"y"});
  // Clip reads its two scalar bounds as well.
  CHECK(generic[2]->generic().bytes_read() == 2 * 5 * 4 + 2 * 4);
  CHECK(w.outputs_size() == 3);
}

// ---- mappings checked on small graphs ----

TEST_CASE("ONNX import: Gemm folds transB and alpha into the weight and beta into the bias",
          "[unit]") {
  const ScopedDir dir;
  OnnxBuilder b;
  b.input("a", {2, 3});
  b.input("at", {3, 2});
  b.weight("B", {3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  b.weight("Bt", {4, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  b.weight("C", {4}, {1, 2, 3, 4});
  auto* g1 = b.node("Gemm", "g1", {"a", "B", "C"}, {"y1"});
  OnnxBuilder::attr(g1, "alpha", 2.0f);
  OnnxBuilder::attr(g1, "beta", 0.5f);
  auto* g2 = b.node("Gemm", "g2", {"at", "Bt"}, {"y2"});
  OnnxBuilder::attr(g2, "transA", int64_t{1});
  OnnxBuilder::attr(g2, "transB", int64_t{1});
  b.output("y1");
  b.output("y2");
  const Workload w = import_onnx(b.save(dir, "gemm.onnx"));
  CHECK(kinds(w) == std::vector<std::string>{"gemm", "transpose", "gemm"});
  const Op& first = w.ops(0);
  const auto& weight = tensor(w, first.inputs(1));
  CHECK(shape_of(weight) == std::vector<int64_t>{3, 4});
  CHECK(weight.float_data(1 * 4 + 2) == 2.0f * 6);
  CHECK(tensor(w, first.inputs(2)).float_data(3) == 0.5f * 4);
  const Op& second = w.ops(2);
  CHECK(second.inputs(0) == w.ops(1).outputs(0));
  CHECK(second.gemm().m() == 2);
  CHECK(second.gemm().k() == 3);
  CHECK(second.gemm().n() == 4);
  // B' [K, N] = Btᵀ: B'[k][n] = Bt[n][k].
  CHECK(tensor(w, second.inputs(1)).float_data(2 * 4 + 1) == 1 * 3 + 2);
}

TEST_CASE("ONNX import: a BatchNormalization after a non-conv op is an exact mul and add",
          "[unit]") {
  const ScopedDir dir;
  OnnxBuilder b;
  b.input("x", {1, 2, 3, 3});
  b.node("Relu", "r", {"x"}, {"rx"});
  b.weight("g", {2}, {2.0f, 0.5f});
  b.weight("bt", {2}, {1.0f, -1.0f});
  b.weight("mu", {2}, {0.25f, 4.0f});
  b.weight("var", {2}, {3.0f, 15.0f});
  auto* bn = b.node("BatchNormalization", "bn", {"rx", "g", "bt", "mu", "var"}, {"y"});
  OnnxBuilder::attr(bn, "epsilon", 1.0f);
  b.output("y");
  const Workload w = import_onnx(b.save(dir, "bn.onnx"));
  REQUIRE(kinds(w) == std::vector<std::string>{"eltwise", "eltwise", "eltwise"});
  const auto& scale = tensor(w, w.ops(1).inputs(1));
  const auto& shift = tensor(w, w.ops(2).inputs(1));
  CHECK(w.ops(1).eltwise().func() == ir::v1::MUL);
  CHECK(w.ops(2).eltwise().func() == ir::v1::ADD);
  CHECK(shape_of(scale) == std::vector<int64_t>{2, 1, 1});
  CHECK(scale.float_data(0) == Approx(2.0 / 2.0));  // γ/√(var+ε) = 2/√4
  CHECK(scale.float_data(1) == Approx(0.5 / 4.0));
  CHECK(shift.float_data(1) == Approx(-1.0 - 4.0 * 0.125));  // β − mean·scale
  CHECK(w.ops(2).outputs(0) == "y");
}

TEST_CASE("ONNX import: Softmax over an inner axis is moved to the last axis and back", "[unit]") {
  const ScopedDir dir;
  OnnxBuilder b;
  b.input("x", {2, 3, 4});
  auto* s = b.node("Softmax", "sm", {"x"}, {"y"});
  OnnxBuilder::attr(s, "axis", int64_t{1});
  b.output("y");
  const Workload w = import_onnx(b.save(dir, "softmax.onnx"));
  REQUIRE(kinds(w) == std::vector<std::string>{"transpose", "softmax", "transpose"});
  CHECK(std::vector<int64_t>(w.ops(0).transpose().perm().begin(),
                             w.ops(0).transpose().perm().end()) == std::vector<int64_t>{0, 2, 1});
  CHECK(w.ops(1).softmax().rows() == 8);
  CHECK(w.ops(1).softmax().length() == 3);
  CHECK(shape_of(tensor(w, "y")) == std::vector<int64_t>{2, 3, 4});
}

TEST_CASE("ONNX import: a Shape-derived Reshape target is folded with the inferred shapes",
          "[unit]") {
  const ScopedDir dir;
  OnnxBuilder b;
  b.input("x", {-1, 3, 4});
  b.node("Shape", "shape", {"x"}, {"s"});
  b.ints("zero", {}, {0});
  b.ints("axes", {1}, {0});
  b.ints("rest", {1}, {-1});
  b.node("Gather", "batch", {"s", "zero"}, {"n"});
  b.node("Unsqueeze", "unsq", {"n", "axes"}, {"n1"});
  OnnxBuilder::attr(b.node("Concat", "cat", {"n1", "rest"}, {"target"}), "axis", int64_t{0});
  b.node("Reshape", "flat", {"x", "target"}, {"y"});
  b.output("y");
  OnnxImportOptions opts;
  opts.batch = 3;
  const Workload w = import_onnx(b.save(dir, "shape.onnx"), opts);
  REQUIRE(kinds(w) == std::vector<std::string>{"reshape"});
  CHECK(w.ops(0).inputs(0) == "x");
  CHECK(shape_of(tensor(w, "y")) == std::vector<int64_t>{3, 12});
}

// ---- torchvision models, exported at test time ----

TEST_CASE("ONNX import: torchvision ResNet-50 matches the zoo's MACs and parameters",
          "[unit][slow]") {
  const ScopedDir tmp;
  const std::string& dir = tmp.path();
  const auto meta = export_torchvision(dir, "resnet50");
  const Workload w = import_onnx(dir + "/resnet50.onnx");
  CHECK(ir::validate(w).empty());
  sim::Diagnostics diags;
  const Workload zoo = build_zoo("resnet50", YAML::Node(), "", "", diags);
  REQUIRE(diags.empty());
  CHECK(total_macs(w) == total_macs(zoo));
  CHECK(total_macs(w) == 4089184256);
  // The export folds every BatchNormalization (γ and β, 2·C parameters) into a conv bias of C, so
  // params = torchvision's − Σ C over the BNs. ResNet-50's BNs: the stem (64); per bottleneck of
  // width c: c, c and 4c; per stage one downsample BN of 4c.
  const std::pair<int64_t, int> stages[] = {{64, 3}, {128, 4}, {256, 6}, {512, 3}};
  int64_t bn_channels = 64;
  for (const auto& [width, blocks] : stages) bn_channels += blocks * 6 * width + 4 * width;
  CHECK(bn_channels == 26560);
  const int64_t torch_params = meta["resnet50"]["parameters"];
  CHECK(total_params(w) == torch_params - bn_channels);
  CHECK(total_params(w) == total_params(zoo));
  CHECK(kind_counts(w).count("conv2d"));
  CHECK(ops_of(w, "conv2d").size() == 53);
}

TEST_CASE("ONNX import: torchvision MobileNetV2 matches the zoo's MACs", "[unit]") {
  const ScopedDir tmp;
  const std::string& dir = tmp.path();
  const auto meta = export_torchvision(dir, "mobilenet_v2");
  const Workload w = import_onnx(dir + "/mobilenet_v2.onnx");
  CHECK(ir::validate(w).empty());
  sim::Diagnostics diags;
  const Workload zoo = build_zoo("mobilenetv2", YAML::Node(), "", "", diags);
  REQUIRE(diags.empty());
  CHECK(total_macs(w) == total_macs(zoo));
  // BN channels: the stem (32), per inverted residual the expansion (if t > 1), depthwise and
  // projection BNs, and the last 1x1 conv (1280).
  const int settings[7][3] = {{1, 16, 1}, {6, 24, 2},  {6, 32, 3}, {6, 64, 4},
                              {6, 96, 3}, {6, 160, 3}, {6, 320, 1}};
  int64_t bn_channels = 32 + 1280, in = 32;
  for (const auto& s : settings)
    for (int i = 0; i < s[2]; ++i) {
      const int64_t hidden = in * s[0];
      bn_channels += (s[0] != 1 ? hidden : 0) + hidden + s[1];
      in = s[1];
    }
  const int64_t torch_params = meta["mobilenet_v2"]["parameters"];
  CHECK(total_params(w) == torch_params - bn_channels);
  CHECK(total_params(w) == total_params(zoo));
  int relu6 = 0, depthwise = 0;
  for (const Op* e : ops_of(w, "eltwise")) relu6 += e->eltwise().func() == ir::v1::RELU6;
  for (const Op* c : ops_of(w, "conv2d"))
    depthwise += c->conv2d().groups() == c->conv2d().c() && c->conv2d().c() > 1;
  CHECK(relu6 == 35);
  CHECK(depthwise == 17);
}

TEST_CASE("ONNX import: torchvision ResNet-18, small ViT and LSTM import and validate", "[unit]") {
  const ScopedDir tmp;
  const std::string& dir = tmp.path();
  const auto meta = export_torchvision(dir, "resnet18,vit,lstm");

  const Workload resnet = import_onnx(dir + "/resnet18.onnx");
  CHECK(ir::validate(resnet).empty());
  // BN channels: the stem, two per basic block (2 blocks per stage), one downsample BN in
  // stages 2 to 4.
  const int64_t bn_channels = 64 + 2 * 2 * (64 + 128 + 256 + 512) + (128 + 256 + 512);
  const int64_t resnet_params = meta["resnet18"]["parameters"];
  CHECK(total_params(resnet) == resnet_params - bn_channels);

  // ViT: MultiheadAttention's packed in-projection is sliced into q, k, v; the class token is a
  // constant (Expand folded) concatenated in front of the patch tokens.
  const Workload vit = import_onnx(dir + "/vit.onnx");
  CHECK(ir::validate(vit).empty());
  CHECK(ops_of(vit, "layernorm").size() == 5);
  CHECK(ops_of(vit, "softmax").size() == 2);
  const auto concat = ops_of(vit, "concat");
  REQUIRE(concat.size() == 1);
  CHECK(tensor(vit, concat[0]->inputs(0)).is_weight());
  CHECK(shape_of(tensor(vit, concat[0]->outputs(0))) == std::vector<int64_t>{1, 17, 64});
  // The two attention scalars (1/√32 as a Div) are constants the IR counts as weights.
  const int64_t vit_params = meta["vit"]["parameters"];
  CHECK(total_params(vit) == vit_params + 2);

  const Workload lstm = import_onnx(dir + "/lstm.onnx");
  CHECK(ir::validate(lstm).empty());
  const auto cells = ops_of(lstm, "lstm_cell");
  REQUIRE(cells.size() == 2);
  CHECK(cells[0]->lstm_cell().input_size() == 32);
  CHECK(cells[1]->lstm_cell().input_size() == 64);
  for (const Op* c : cells) {
    CHECK(c->lstm_cell().hidden_size() == 64);
    CHECK(c->lstm_cell().steps() == 10);
  }
  // torch's b_ih and b_hh are summed into one bias per layer.
  const int64_t lstm_params = meta["lstm"]["parameters"];
  CHECK(total_params(lstm) == lstm_params - 2 * 4 * 64);
}

}  // namespace
}  // namespace codesim::workloads
