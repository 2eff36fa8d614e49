#include "workloads/onnx/onnx_import.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "sim/core/diagnostics.h"
#include "workloads/ir/ir.h"
#include "workloads/onnx/onnx_const.h"

namespace codesim::workloads {

namespace {

using namespace onnx_detail;
namespace v1 = ir::v1;

// The node is valid ONNX the importer does not map; with allow_unknown it becomes `generic`.
class Unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The model itself is inconsistent (or its shapes cannot be inferred); always an error.
class ImportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What Unsupported says when the op type has no mapping at all (rather than an unsupported form).
constexpr const char* kNoMapping = "no mapping to the IR";

// ONNX LSTM gate blocks are i, o, f, c; the IR's are i, f, g (= c), o.
constexpr int kLstmGateFromOnnx[4] = {0, 2, 3, 1};

struct ValueType {
  bool has_shape = false;
  Shape shape;  // -1 where a dimension is unknown
  int32_t elem_type = 0;
};

// A group of ONNX nodes imported as one IR op, emitted at the position of its first node.
struct Fusion {
  enum Kind { kConvBatchNorm, kMatMulBias, kLayerNorm, kGelu };
  Fusion(Kind k, std::vector<int> n) : kind(k), nodes(std::move(n)) {}
  Kind kind;
  std::vector<int> nodes;  // the first names the IR op (Conv, MatMul, first ReduceMean, Erf)
  std::string x, y;        // LayerNorm and GELU: input and output tensors
  std::string gamma, beta;
  float epsilon = 1e-5f;
};

class Importer {
 public:
  Importer(std::string path, const OnnxImportOptions& options)
      : path_(std::move(path)), options_(options) {}

  v1::Workload run();

 private:
  v1::Workload import();
  // ---- loading, shape inference and constant folding ----
  void load();
  void fix_input_dims();
  void infer_shapes(onnx::ModelProto& m);
  bool fold_constants();
  bool shapes_complete() const;
  void reinfer_with_folded_constants();
  void analyse();

  // ---- patterns that become one IR op ----
  void find_fusions();
  bool match_conv_batchnorm(int k);
  bool match_matmul_bias(int k);
  bool match_layernorm(int k);
  bool match_gelu(int k);

  // ---- mapping ----
  void map_node(int k);
  void emit_fusion(const Fusion& f);
  void map_conv(int k, int bn);
  void map_batchnorm(int k);
  void map_gemm(int k);
  void map_matmul(int k, int add);
  void map_binary(int k, v1::EltwiseFunc func);
  void map_unary(int k, v1::EltwiseFunc func);
  void map_clip(int k);
  void map_softmax(int k);
  void map_layernorm(int k);
  void map_pool(int k);
  void map_global_pool(int k, v1::PoolKind kind);
  void map_reshape(int k);
  void map_transpose(int k);
  void map_reduce(int k, v1::ReduceKind kind);
  void map_concat(int k);
  void map_slice(int k);
  void map_gather(int k);
  void map_lstm(int k);
  void map_identity(int k);
  void emit_generic(int k);
  void emit_layernorm(const std::string& name, const std::string& x, const Shape& x_shape,
                      int64_t length, std::vector<float> gamma, std::vector<float> beta,
                      float epsilon, const std::string& out);
  void finish_outputs();
  // After a node failed: its outputs still get tensors (where shapes are known), so that its
  // consumers import and report their own problems rather than a missing input.
  void declare_outputs(int k);

  // ---- graph queries ----
  const onnx::NodeProto& node(int k) const { return graph().node(k); }
  const onnx::GraphProto& graph() const { return model_.graph(); }
  const ConstTensor* find_const(const std::string& name);
  const ConstTensor& need_const(const std::string& name, const std::string& what);
  bool has_input(const onnx::NodeProto& n, int j) const {
    return n.input_size() > j && !n.input(j).empty();
  }
  // Inferred shape of a tensor; an error when shape inference left it unknown.
  Shape shape(const std::string& name);
  int32_t elem_type(const std::string& name) const;
  // The single live consumer of `tensor`, or -1 (several consumers, or a graph output).
  int only_consumer(const std::string& tensor) const;
  bool used(const std::string& tensor) const {
    return consumers_.count(tensor) > 0 || graph_outputs_.count(tensor) > 0;
  }
  // True when binary node `n` reads `x` and a constant, which goes to *c.
  bool binary_with_const(const onnx::NodeProto& n, const std::string& x, const ConstTensor** c);
  int producer(const std::string& tensor) const {
    auto it = producer_.find(tensor);
    return it == producer_.end() ? -1 : it->second;
  }

  // ---- IR construction ----
  std::string op_name(int k);
  std::string unique_op_name(const std::string& base);
  std::string unique_tensor_name(const std::string& base);
  v1::Tensor* add_tensor(const std::string& name, const Shape& shape, bool is_weight);
  std::string add_weight(const std::string& base, const Shape& shape, std::vector<float> data);
  // An activation input of an op: the IR tensor holding ONNX tensor `onnx_name`.
  std::string act(const std::string& onnx_name);
  // A data input that may be a constant (a weight named `<op>.<role>`) or an activation.
  std::string operand(const std::string& op, const std::string& role, const std::string& onnx_name);
  // Creates the IR tensor of ONNX output `onnx_name` with its inferred shape.
  std::string output(const std::string& onnx_name);
  v1::Op* add_op(const std::string& name, const std::vector<std::string>& inputs,
                 const std::vector<std::string>& outputs);
  std::string emit_transpose(const std::string& name, const std::string& x, const Shape& x_shape,
                             const std::vector<int64_t>& perm, const std::string& out = "");
  std::string emit_reshape(const std::string& name, const std::string& x, const Shape& to,
                           const std::string& out = "");

  // Undoes the tensors and ops a failed mapping added, so that a generic op replaces it cleanly.
  std::pair<int, int> mark() const { return {w_.tensors_size(), w_.ops_size()}; }
  void rollback(std::pair<int, int> to);

  void node_error(int k, const std::string& message, const std::string& hint = "");
  // Adds an error about the whole file and throws every error collected so far.
  [[noreturn]] void file_error(const std::string& message, const std::string& hint = "");
  std::string node_label(int k) const;

  std::string path_;
  std::string dir_;
  OnnxImportOptions options_;
  onnx::ModelProto model_;
  int64_t opset_ = 1;
  sim::Diagnostics diags_;

  std::map<std::string, const onnx::TensorProto*> initializers_;
  std::map<std::string, ConstTensor> consts_;
  std::map<std::string, ValueType> types_;
  std::vector<bool> folded_, live_, consumed_;
  std::map<std::string, std::vector<int>> consumers_;
  std::map<std::string, int> producer_;
  std::set<std::string> graph_outputs_;
  std::map<int, Fusion> fusions_;
  std::map<int, std::string> fold_errors_;

  v1::Workload w_;
  std::map<std::string, int> tensor_index_;
  std::set<std::string> reserved_names_;  // every ONNX value name, so weights never take one
  std::set<std::string> op_names_;
  std::map<std::string, std::string> alias_;          // ONNX name -> IR tensor (Identity)
  std::map<std::string, std::string> shared_weight_;  // ONNX initializer -> IR weight as is
};

// ---------------------------------------------------------------------------------------------
// Loading

void Importer::file_error(const std::string& message, const std::string& hint) {
  sim::Diagnostic d;
  d.file = path_;
  d.message = message;
  d.hint = hint;
  diags_.error(d);
  throw sim::ConfigError(diags_);
}

void Importer::load() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) file_error("cannot open file", "check the path");
  dir_ = std::filesystem::path(path_).parent_path().string();
  if (!model_.ParseFromIstream(&in))
    file_error("not a valid ONNX model: the protobuf does not parse (truncated or not ONNX?)",
               "re-export the model, e.g. with torch.onnx.export");
  if (!model_.has_graph() || model_.graph().node_size() == 0)
    file_error("not a valid ONNX model: it has no graph nodes",
               "re-export the model, e.g. with torch.onnx.export");
  for (const auto& o : model_.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  for (const auto& t : graph().initializer()) initializers_[t.name()] = &t;
}

void Importer::fix_input_dims() {
  for (auto& in : *model_.mutable_graph()->mutable_input()) {
    if (initializers_.count(in.name()) || !in.type().has_tensor_type()) continue;
    auto* tt = in.mutable_type()->mutable_tensor_type();
    if (!tt->has_shape()) continue;
    for (auto& d : *tt->mutable_shape()->mutable_dim())
      if (!d.has_dim_value() || d.dim_value() <= 0) d.set_dim_value(options_.batch);
  }
  // The exporter's intermediate shapes carry the symbolic batch; inference recomputes them.
  model_.mutable_graph()->clear_value_info();
}

void Importer::infer_shapes(onnx::ModelProto& m) {
  // error_mode 0: a node ONNX cannot infer (e.g. a custom op) leaves its outputs unknown instead
  // of failing the whole model; data propagation resolves Shape -> ... -> Reshape chains.
  const onnx::ShapeInferenceOptions opts(false, 0, true);
  try {
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception& e) {
    file_error(std::string("ONNX shape inference failed: ") + e.what());
  }
  types_.clear();
  auto take = [this](const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type()) return;
    const auto& tt = v.type().tensor_type();
    ValueType t;
    t.elem_type = tt.elem_type();
    t.has_shape = tt.has_shape();
    for (const auto& d : tt.shape().dim())
      t.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    types_[v.name()] = t;
  };
  for (const auto& v : m.graph().input()) take(v);
  for (const auto& v : m.graph().value_info()) take(v);
  for (const auto& v : m.graph().output()) take(v);
}

const ConstTensor* Importer::find_const(const std::string& name) {
  if (name.empty()) return nullptr;
  auto it = consts_.find(name);
  if (it != consts_.end()) return &it->second;
  auto init = initializers_.find(name);
  if (init == initializers_.end()) return nullptr;
  try {
    return &consts_.emplace(name, decode_tensor(*init->second, dir_)).first->second;
  } catch (const ConstError& e) {
    throw ImportError(std::string("initializer: ") + e.what());
  }
}

const ConstTensor& Importer::need_const(const std::string& name, const std::string& what) {
  const ConstTensor* c = find_const(name);
  if (!c) throw Unsupported(what + " ('" + name + "') is not a constant");
  return *c;
}

bool Importer::fold_constants() {
  bool any = false;
  for (int k = 0; k < graph().node_size(); ++k) {
    if (folded_[k] || fold_errors_.count(k)) continue;
    const auto& n = node(k);
    if (!(n.domain().empty() || n.domain() == "ai.onnx") || !foldable(n.op_type())) continue;
    const bool shape_only = n.op_type() == "Shape" || n.op_type() == "Size";
    std::vector<const ConstTensor*> ins;
    std::vector<Shape> shapes;
    bool ready = true;
    try {
      for (const auto& name : n.input()) {
        const ConstTensor* c = find_const(name);
        ins.push_back(c);
        Shape s;
        if (c) {
          s = c->shape;
        } else if (shape_only && !name.empty()) {
          auto t = types_.find(name);
          const bool known = t != types_.end() && t->second.has_shape &&
                             std::all_of(t->second.shape.begin(), t->second.shape.end(),
                                         [](int64_t d) { return d >= 0; });
          if (known)
            s = t->second.shape;
          else
            ready = false;
        } else if (!name.empty()) {
          ready = false;
        }
        shapes.push_back(s);
      }
      if (!ready) continue;
      auto outs = fold_node(n, ins, shapes);
      for (int j = 0; j < n.output_size() && j < static_cast<int>(outs.size()); ++j)
        consts_[n.output(j)] = std::move(outs[j]);
    } catch (const std::exception& e) {
      // Reported only if the node turns out to be live (analyse() runs after folding).
      fold_errors_[k] = std::string("cannot evaluate this constant subgraph: ") + e.what();
      continue;
    }
    folded_[k] = true;
    any = true;
  }
  return any;
}

bool Importer::shapes_complete() const {
  for (int k = 0; k < graph().node_size(); ++k) {
    if (folded_[k]) continue;
    for (const auto& out : node(k).output()) {
      if (out.empty()) continue;
      auto t = types_.find(out);
      if (t == types_.end() || !t->second.has_shape) return false;
      for (int64_t d : t->second.shape)
        if (d < 0) return false;
    }
  }
  return true;
}

// ONNX's data propagation covers only some shape computations; when folding resolved more
// (e.g. a ConstantOfShape or Expand feeding an LSTM state), inference runs again on the graph
// with the folded values as initializers.
void Importer::reinfer_with_folded_constants() {
  onnx::ModelProto m = model_;
  auto* g = m.mutable_graph();
  g->clear_node();
  g->clear_value_info();
  std::set<std::string> needed;
  for (int k = 0; k < graph().node_size(); ++k) {
    if (folded_[k]) continue;
    *g->add_node() = node(k);
    for (const auto& in : node(k).input()) needed.insert(in);
  }
  for (const auto& name : needed)
    if (consts_.count(name) && !initializers_.count(name))
      *g->add_initializer() = encode_tensor(consts_.at(name), name);
  infer_shapes(m);
  for (const auto& t : m.graph().initializer()) {
    ValueType v;
    v.has_shape = true;
    v.elem_type = t.data_type();
    v.shape.assign(t.dims().begin(), t.dims().end());
    types_.emplace(t.name(), v);
  }
}

void Importer::analyse() {
  const int n = graph().node_size();
  live_.assign(n, false);
  consumed_.assign(n, false);
  for (const auto& o : graph().output()) graph_outputs_.insert(o.name());
  std::set<std::string> needed = graph_outputs_;
  for (int k = n - 1; k >= 0; --k) {
    if (folded_[k]) continue;
    bool live = false;
    for (const auto& out : node(k).output()) live = live || needed.count(out);
    if (!live) continue;
    live_[k] = true;
    for (const auto& in : node(k).input())
      if (!in.empty()) needed.insert(in);
  }
  for (int k = 0; k < n; ++k) {
    if (!live_[k]) continue;
    for (const auto& in : node(k).input())
      if (!in.empty() && !find_const(in)) consumers_[in].push_back(k);
    for (const auto& out : node(k).output())
      if (!out.empty()) producer_[out] = k;
  }
}

Shape Importer::shape(const std::string& name) {
  if (const ConstTensor* c = find_const(name)) return c->shape;
  auto t = types_.find(name);
  if (t != types_.end() && t->second.has_shape &&
      std::all_of(t->second.shape.begin(), t->second.shape.end(), [](int64_t d) { return d > 0; }))
    return t->second.shape;
  throw ImportError("ONNX shape inference could not determine the shape of tensor '" + name + "'" +
                    (t != types_.end() && t->second.has_shape
                         ? " (" + shape_str(t->second.shape) + ", -1 = unknown)"
                         : ""));
}

int32_t Importer::elem_type(const std::string& name) const {
  auto c = consts_.find(name);
  if (c != consts_.end()) return c->second.elem_type;
  auto t = types_.find(name);
  return t == types_.end() || t->second.elem_type == 0 ? onnx::TensorProto::FLOAT
                                                       : t->second.elem_type;
}

int Importer::only_consumer(const std::string& tensor) const {
  if (graph_outputs_.count(tensor)) return -1;
  auto it = consumers_.find(tensor);
  if (it == consumers_.end() || it->second.size() != 1) return -1;
  return it->second[0];
}

bool Importer::binary_with_const(const onnx::NodeProto& n, const std::string& x,
                                 const ConstTensor** c) {
  if (n.input_size() != 2) return false;
  const int other = n.input(0) == x ? 1 : (n.input(1) == x ? 0 : -1);
  if (other < 0) return false;
  *c = find_const(n.input(other));
  return *c != nullptr;
}

// ---------------------------------------------------------------------------------------------
// Patterns

bool near(double v, double target, double tol = 1e-4) { return std::fabs(v - target) <= tol; }

bool is_op(const onnx::NodeProto& n, const char* type) {
  return n.op_type() == type && (n.domain().empty() || n.domain() == "ai.onnx");
}

void Importer::find_fusions() {
  for (int k = 0; k < graph().node_size(); ++k) {
    if (!live_[k] || consumed_[k]) continue;
    const auto& n = node(k);
    if (is_op(n, "Conv"))
      match_conv_batchnorm(k);
    else if (is_op(n, "MatMul"))
      match_matmul_bias(k);
    else if (is_op(n, "ReduceMean"))
      match_layernorm(k);
    else if (is_op(n, "Erf"))
      match_gelu(k);
  }
}

bool Importer::match_conv_batchnorm(int k) {
  const auto& conv = node(k);
  if (!has_input(conv, 1) || !find_const(conv.input(1))) return false;
  if (has_input(conv, 2) && !find_const(conv.input(2))) return false;
  const int b = only_consumer(conv.output(0));
  if (b < 0 || consumed_[b] || !is_op(node(b), "BatchNormalization")) return false;
  const auto& bn = node(b);
  if (bn.input_size() < 5 || attr_int(bn, "training_mode", 0) != 0) return false;
  for (int j = 1; j < 5; ++j)
    if (!find_const(bn.input(j))) return false;
  for (int j = 1; j < bn.output_size(); ++j)
    if (used(bn.output(j))) return false;
  Fusion f{Fusion::kConvBatchNorm, {k, b}};
  for (int j : f.nodes) consumed_[j] = true;
  fusions_.insert_or_assign(k, f);
  return true;
}

bool Importer::match_matmul_bias(int k) {
  const auto& mm = node(k);
  const ConstTensor* w = find_const(mm.input(1));
  if (!w || w->shape.size() != 2 || find_const(mm.input(0))) return false;
  const int a = only_consumer(mm.output(0));
  if (a < 0 || consumed_[a] || !is_op(node(a), "Add")) return false;
  const ConstTensor* bias = nullptr;
  if (!binary_with_const(node(a), mm.output(0), &bias)) return false;
  // Only a bias along the last (N) axis fuses; anything else stays an eltwise add.
  const int64_t n = w->shape[1];
  if (bias->size() != n || bias->shape.empty() || bias->shape.back() != n) return false;
  const auto out = types_.find(mm.output(0));
  if (out == types_.end() || bias->shape.size() > out->second.shape.size()) return false;
  Fusion f{Fusion::kMatMulBias, {k, a}};
  for (int j : f.nodes) consumed_[j] = true;
  fusions_.insert_or_assign(k, f);
  return true;
}

// Reduce axes of a ReduceMean node as given, or false when they are not constant.
bool reduce_axes(const onnx::NodeProto& n, const ConstTensor* axes_input,
                 std::vector<int64_t>& axes) {
  if (attr_ints(n, "axes", axes)) return true;
  if (axes_input) {
    axes = axes_input->ints();
    return true;
  }
  return false;
}

// Before opset 17 has LayerNormalization, torch writes LayerNorm as
// ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta.
bool Importer::match_layernorm(int k) {
  const auto& r1 = node(k);
  const std::string x = r1.input(0);
  auto t = types_.find(x);
  if (find_const(x) || t == types_.end() || !t->second.has_shape || t->second.shape.empty())
    return false;
  const int64_t rank = static_cast<int64_t>(t->second.shape.size());
  const int64_t length = t->second.shape.back();
  auto last_axis_mean = [&](const onnx::NodeProto& r) {
    std::vector<int64_t> axes;
    const ConstTensor* ai = r.input_size() > 1 ? find_const(r.input(1)) : nullptr;
    return is_op(r, "ReduceMean") && attr_int(r, "keepdims", 1) == 1 && reduce_axes(r, ai, axes) &&
           axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
  };
  if (!last_axis_mean(r1)) return false;
  std::vector<int> nodes = {k};
  auto next = [&](const std::string& tensor, const char* type) {
    const int c = only_consumer(tensor);
    if (c < 0 || consumed_[c] || !is_op(node(c), type)) return -1;
    nodes.push_back(c);
    return c;
  };
  const int sub = next(r1.output(0), "Sub");
  if (sub < 0 || node(sub).input(0) != x || node(sub).input(1) != r1.output(0)) return false;
  const std::string d = node(sub).output(0);
  // d feeds exactly the squaring and the division.
  auto cons = consumers_.find(d);
  if (graph_outputs_.count(d) || cons == consumers_.end() || cons->second.size() != 2) return false;
  int sq = -1, div = -1;
  for (int c : cons->second) {
    const auto& cn = node(c);
    const ConstTensor* e = nullptr;
    if (is_op(cn, "Pow") && cn.input(0) == d && binary_with_const(cn, d, &e) && e->size() == 1 &&
        e->at(0) == 2.0)
      sq = c;
    else if (is_op(cn, "Mul") && cn.input(0) == d && cn.input(1) == d)
      sq = c;
    else if (is_op(cn, "Div") && cn.input(0) == d)
      div = c;
  }
  if (sq < 0 || div < 0 || consumed_[sq] || consumed_[div]) return false;
  nodes.push_back(sq);
  const int r2 = only_consumer(node(sq).output(0));
  if (r2 < 0 || consumed_[r2] || !last_axis_mean(node(r2))) return false;
  nodes.push_back(r2);
  const int add_eps = next(node(r2).output(0), "Add");
  const ConstTensor* eps = nullptr;
  if (add_eps < 0 || !binary_with_const(node(add_eps), node(r2).output(0), &eps) ||
      eps->size() != 1)
    return false;
  const int sqrt = next(node(add_eps).output(0), "Sqrt");
  if (sqrt < 0 || only_consumer(node(sqrt).output(0)) != div ||
      node(div).input(1) != node(sqrt).output(0))
    return false;
  nodes.push_back(div);
  Fusion f{Fusion::kLayerNorm, {}};
  f.x = x;
  f.epsilon = static_cast<float>(eps->at(0));
  f.y = node(div).output(0);
  // The affine part is optional: gamma and beta default to 1 and 0.
  const int mul = only_consumer(f.y);
  const ConstTensor* gamma = nullptr;
  if (mul >= 0 && !consumed_[mul] && is_op(node(mul), "Mul") &&
      binary_with_const(node(mul), f.y, &gamma) && gamma->size() == length) {
    nodes.push_back(mul);
    f.gamma = node(mul).input(node(mul).input(0) == f.y ? 1 : 0);
    f.y = node(mul).output(0);
  }
  const int add = only_consumer(f.y);
  const ConstTensor* beta = nullptr;
  if (add >= 0 && !consumed_[add] && is_op(node(add), "Add") &&
      binary_with_const(node(add), f.y, &beta) && beta->size() == length) {
    nodes.push_back(add);
    f.beta = node(add).input(node(add).input(0) == f.y ? 1 : 0);
    f.y = node(add).output(0);
  }
  f.nodes = nodes;
  for (int j : nodes) consumed_[j] = true;
  fusions_.insert_or_assign(*std::min_element(nodes.begin(), nodes.end()), f);
  return true;
}

// torch exports exact GELU as x * 0.5 * (1 + erf(x / sqrt(2))): Div (or Mul by 1/sqrt 2), Erf,
// Add 1, then Mul x and Mul 0.5 in either order.
bool Importer::match_gelu(int k) {
  const auto& erf = node(k);
  const int d = producer(erf.input(0));
  if (d < 0 || consumed_[d] || only_consumer(erf.input(0)) != k) return false;
  const auto& scale = node(d);
  const ConstTensor* c = nullptr;
  std::string x;
  if (is_op(scale, "Div") && find_const(scale.input(1)) && !find_const(scale.input(0))) {
    c = find_const(scale.input(1));
    if (c->size() != 1 || !near(c->at(0), std::sqrt(2.0))) return false;
    x = scale.input(0);
  } else if (is_op(scale, "Mul")) {
    const int ci = find_const(scale.input(1)) ? 1 : (find_const(scale.input(0)) ? 0 : -1);
    if (ci < 0) return false;
    c = find_const(scale.input(ci));
    if (c->size() != 1 || !near(c->at(0), std::sqrt(0.5))) return false;
    x = scale.input(1 - ci);
  } else {
    return false;
  }
  if (find_const(x)) return false;
  std::vector<int> nodes = {k, d};  // the op takes the Erf node's name
  const int add = only_consumer(erf.output(0));
  const ConstTensor* one = nullptr;
  if (add < 0 || consumed_[add] || !is_op(node(add), "Add") ||
      !binary_with_const(node(add), erf.output(0), &one) || one->size() != 1 ||
      !near(one->at(0), 1.0))
    return false;
  nodes.push_back(add);
  const int mul = only_consumer(node(add).output(0));
  if (mul < 0 || consumed_[mul] || !is_op(node(mul), "Mul")) return false;
  nodes.push_back(mul);
  const auto& m = node(mul);
  const std::string other = m.input(0) == node(add).output(0) ? m.input(1) : m.input(0);
  std::string y;
  const ConstTensor* half = nullptr;
  if (other == x) {
    const int last = only_consumer(m.output(0));
    if (last < 0 || consumed_[last] || !is_op(node(last), "Mul") ||
        !binary_with_const(node(last), m.output(0), &half) || half->size() != 1 ||
        !near(half->at(0), 0.5))
      return false;
    nodes.push_back(last);
    y = node(last).output(0);
  } else {
    const int h = producer(other);
    if (h < 0 || consumed_[h] || !is_op(node(h), "Mul") || only_consumer(other) != mul ||
        !binary_with_const(node(h), x, &half) || half->size() != 1 || !near(half->at(0), 0.5))
      return false;
    nodes.push_back(h);
    y = m.output(0);
  }
  Fusion f{Fusion::kGelu, nodes};
  f.x = x;
  f.y = y;
  for (int j : nodes) consumed_[j] = true;
  fusions_.insert_or_assign(*std::min_element(nodes.begin(), nodes.end()), f);
  return true;
}

// ---------------------------------------------------------------------------------------------
// IR construction

std::string Importer::node_label(int k) const {
  const auto& n = node(k);
  std::string type =
      n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type() : n.domain() + "." + n.op_type();
  return "op '" + type + "' (node '" + n.name() + "', index " + std::to_string(k) + ")";
}

void Importer::node_error(int k, const std::string& message, const std::string& hint) {
  sim::Diagnostic d;
  d.file = path_;
  d.path = "graph.node[" + std::to_string(k) + "]";
  d.message = node_label(k) + ": " + message;
  d.hint = hint;
  diags_.error(d);
}

std::string Importer::unique_op_name(const std::string& base) {
  std::string name = base;
  for (int s = 1; op_names_.count(name); ++s) name = base + "_" + std::to_string(s);
  op_names_.insert(name);
  return name;
}

std::string Importer::op_name(int k) {
  const std::string& name = node(k).name();
  return unique_op_name(name.empty() ? node(k).op_type() + "_" + std::to_string(k) : name);
}

std::string Importer::unique_tensor_name(const std::string& base) {
  std::string name = base;
  for (int s = 1; tensor_index_.count(name) || reserved_names_.count(name); ++s)
    name = base + "_" + std::to_string(s);
  return name;
}

v1::Tensor* Importer::add_tensor(const std::string& name, const Shape& shape, bool is_weight) {
  tensor_index_[name] = w_.tensors_size();
  auto* t = w_.add_tensors();
  t->set_name(name);
  for (int64_t d : shape) t->add_shape(d);
  t->set_dtype(v1::FLOAT32);
  t->set_bits(32);
  t->set_is_weight(is_weight);
  return t;
}

std::string Importer::add_weight(const std::string& base, const Shape& shape,
                                 std::vector<float> data) {
  const std::string name = unique_tensor_name(base);
  auto* t = add_tensor(name, shape, true);
  t->mutable_float_data()->Add(data.begin(), data.end());
  return name;
}

std::string Importer::act(const std::string& onnx_name) {
  auto a = alias_.find(onnx_name);
  const std::string& name = a == alias_.end() ? onnx_name : a->second;
  if (!tensor_index_.count(name))
    throw ImportError("input '" + onnx_name + "' is not produced by an imported op");
  return name;
}

std::string Importer::operand(const std::string& op, const std::string& role,
                              const std::string& onnx_name) {
  const ConstTensor* c = find_const(onnx_name);
  if (!c) return act(onnx_name);
  // An initializer used as it is stays one tensor however many ops read it (tied weights).
  const bool raw = initializers_.count(onnx_name) > 0;
  if (raw) {
    auto it = shared_weight_.find(onnx_name);
    if (it != shared_weight_.end()) return it->second;
  }
  std::vector<float> data(static_cast<size_t>(c->size()));
  for (int64_t k = 0; k < c->size(); ++k) data[k] = static_cast<float>(c->at(k));
  const std::string name = add_weight(op + "." + role, c->shape, std::move(data));
  if (raw) shared_weight_[onnx_name] = name;
  return name;
}

std::string Importer::output(const std::string& onnx_name) {
  if (tensor_index_.count(onnx_name)) return onnx_name;
  add_tensor(onnx_name, shape(onnx_name), false);
  return onnx_name;
}

v1::Op* Importer::add_op(const std::string& name, const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs) {
  auto* op = w_.add_ops();
  op->set_name(name);
  for (const auto& i : inputs) op->add_inputs(i);
  for (const auto& o : outputs) op->add_outputs(o);
  return op;
}

std::string Importer::emit_transpose(const std::string& name, const std::string& x,
                                     const Shape& x_shape, const std::vector<int64_t>& perm,
                                     const std::string& out) {
  Shape s;
  for (int64_t p : perm) s.push_back(x_shape.at(p));
  std::string y = out;
  if (y.empty()) {
    y = unique_tensor_name(name + ".out");
    add_tensor(y, s, false);
  }
  auto* t = add_op(unique_op_name(name), {x}, {y})->mutable_transpose();
  for (int64_t p : perm) t->add_perm(p);
  return y;
}

std::string Importer::emit_reshape(const std::string& name, const std::string& x, const Shape& to,
                                   const std::string& out) {
  std::string y = out;
  if (y.empty()) {
    y = unique_tensor_name(name + ".out");
    add_tensor(y, to, false);
  }
  add_op(unique_op_name(name), {x}, {y})->mutable_reshape();
  return y;
}

// ---------------------------------------------------------------------------------------------
// Mapping

void Importer::map_node(int k) {
  const auto& n = node(k);
  if (!(n.domain().empty() || n.domain() == "ai.onnx"))
    throw Unsupported("ops of domain '" + n.domain() + "' are not supported");
  const std::string& t = n.op_type();
  if (t == "Conv") return map_conv(k, -1);
  if (t == "BatchNormalization") return map_batchnorm(k);
  if (t == "Gemm") return map_gemm(k);
  if (t == "MatMul") return map_matmul(k, -1);
  if (t == "Add") return map_binary(k, v1::ADD);
  if (t == "Sub") return map_binary(k, v1::SUB);
  if (t == "Mul") return map_binary(k, v1::MUL);
  if (t == "Div") return map_binary(k, v1::DIV);
  if (t == "Pow") return map_binary(k, v1::MUL);
  if (t == "Relu") return map_unary(k, v1::RELU);
  if (t == "Sigmoid") return map_unary(k, v1::SIGMOID);
  if (t == "Tanh") return map_unary(k, v1::TANH);
  if (t == "HardSwish") return map_unary(k, v1::HARDSWISH);
  if (t == "Gelu") {
    if (attr_string(n, "approximate", "none") != "none")
      throw Unsupported("Gelu with approximate = '" + attr_string(n, "approximate", "") +
                        "' (the IR's GELU is the exact erf form)");
    return map_unary(k, v1::GELU);
  }
  if (t == "Clip") return map_clip(k);
  if (t == "Softmax") return map_softmax(k);
  if (t == "LayerNormalization") return map_layernorm(k);
  if (t == "MaxPool" || t == "AveragePool") return map_pool(k);
  if (t == "GlobalAveragePool") return map_global_pool(k, v1::GLOBAL_AVG);
  if (t == "GlobalMaxPool") return map_global_pool(k, v1::MAX);
  if (t == "Flatten" || t == "Reshape" || t == "Squeeze" || t == "Unsqueeze") return map_reshape(k);
  if (t == "Transpose") return map_transpose(k);
  if (t == "ReduceMean") return map_reduce(k, v1::REDUCE_MEAN);
  if (t == "ReduceSum") return map_reduce(k, v1::REDUCE_SUM);
  if (t == "ReduceMax") return map_reduce(k, v1::REDUCE_MAX);
  if (t == "Concat") return map_concat(k);
  if (t == "Slice") return map_slice(k);
  if (t == "Gather") return map_gather(k);
  if (t == "LSTM") return map_lstm(k);
  if (t == "Identity" || t == "Dropout") return map_identity(k);
  throw Unsupported(kNoMapping);
}

void Importer::emit_fusion(const Fusion& f) {
  switch (f.kind) {
    case Fusion::kConvBatchNorm:
      return map_conv(f.nodes[0], f.nodes[1]);
    case Fusion::kMatMulBias:
      return map_matmul(f.nodes[0], f.nodes[1]);
    case Fusion::kGelu: {
      auto* e = add_op(op_name(f.nodes[0]), {act(f.x)}, {output(f.y)})->mutable_eltwise();
      e->set_func(v1::GELU);
      e->set_elements(numel(shape(f.y)));
      return;
    }
    case Fusion::kLayerNorm: {
      const Shape xs = shape(f.x);
      const int64_t length = xs.back();
      std::vector<float> gamma(length, 1.0f), beta(length, 0.0f);
      if (!f.gamma.empty()) gamma = need_const(f.gamma, "LayerNorm scale").f;
      if (!f.beta.empty()) beta = need_const(f.beta, "LayerNorm shift").f;
      emit_layernorm(op_name(f.nodes[0]), act(f.x), xs, length, gamma, beta, f.epsilon, f.y);
      return;
    }
  }
}

void Importer::map_conv(int k, int bn) {
  const auto& n = node(k);
  const Shape xs = shape(n.input(0));
  if (xs.size() != 4)
    throw Unsupported("a rank-" + std::to_string(xs.size()) +
                      " input (only 2-D convolutions over NCHW are supported)");
  const ConstTensor& w = need_const(n.input(1), "the weight");
  if (w.shape.size() != 4 || !w.is_float)
    throw ImportError("the weight must be a float tensor [filters, C/groups, kh, kw]");
  const int64_t filters = w.shape[0], kh = w.shape[2], kw = w.shape[3];
  std::vector<float> weight = w.f;
  std::vector<float> bias;
  if (has_input(n, 2)) bias = need_const(n.input(2), "the bias").f;
  const int64_t groups = attr_int(n, "group", 1);
  std::vector<int64_t> strides = {1, 1}, dilations = {1, 1}, pads = {0, 0, 0, 0};
  attr_ints(n, "strides", strides);
  attr_ints(n, "dilations", dilations);
  attr_ints(n, "pads", pads);
  if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
    throw ImportError("strides, dilations and pads must describe 2 spatial axes");
  const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
  if (auto_pad == "VALID") {
    pads = {0, 0, 0, 0};
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int a = 0; a < 2; ++a) {
      const int64_t in = xs[2 + a], k_eff = dilations[a] * ((a ? kw : kh) - 1) + 1;
      const int64_t out = (in + strides[a] - 1) / strides[a];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[a] + k_eff - in);
      const int64_t small = total / 2;
      pads[a] = auto_pad == "SAME_UPPER" ? small : total - small;
      pads[a + 2] = total - pads[a];
    }
  }
  std::string out_name = n.output(0);
  if (bn >= 0) {
    // w' = w·γ/√(var+ε), b' = (b − mean)·γ/√(var+ε) + β, per output channel (in double).
    const auto& b = node(bn);
    const auto& gamma = need_const(b.input(1), "BatchNormalization scale");
    const auto& beta = need_const(b.input(2), "BatchNormalization bias");
    const auto& mean = need_const(b.input(3), "BatchNormalization mean");
    const auto& var = need_const(b.input(4), "BatchNormalization variance");
    if (gamma.size() != filters || beta.size() != filters || mean.size() != filters ||
        var.size() != filters)
      throw ImportError("BatchNormalization parameters do not match the conv's " +
                        std::to_string(filters) + " filters");
    const double eps = attr_float(b, "epsilon", 1e-5f);
    if (bias.empty()) bias.assign(filters, 0.0f);
    const int64_t per_filter = static_cast<int64_t>(weight.size()) / filters;
    for (int64_t c = 0; c < filters; ++c) {
      const double s = gamma.at(c) / std::sqrt(var.at(c) + eps);
      for (int64_t j = 0; j < per_filter; ++j)
        weight[c * per_filter + j] = static_cast<float>(weight[c * per_filter + j] * s);
      bias[c] = static_cast<float>((bias[c] - mean.at(c)) * s + beta.at(c));
    }
    out_name = b.output(0);
  }
  const std::string name = op_name(k);
  std::vector<std::string> inputs = {act(n.input(0)),
                                     add_weight(name + ".weight", w.shape, std::move(weight))};
  if (!bias.empty()) inputs.push_back(add_weight(name + ".bias", {filters}, std::move(bias)));
  auto* c = add_op(name, inputs, {output(out_name)})->mutable_conv2d();
  c->set_batch(xs[0]);
  c->set_c(xs[1]);
  c->set_h(xs[2]);
  c->set_w(xs[3]);
  c->set_filters(filters);
  c->set_kernel_h(kh);
  c->set_kernel_w(kw);
  c->set_stride_h(strides[0]);
  c->set_stride_w(strides[1]);
  c->set_pad_top(pads[0]);
  c->set_pad_left(pads[1]);
  c->set_pad_bottom(pads[2]);
  c->set_pad_right(pads[3]);
  c->set_dilation_h(dilations[0]);
  c->set_dilation_w(dilations[1]);
  c->set_groups(groups);
}

// A BatchNormalization without a Conv to fold into is an exact per-channel affine map:
// x·s + t with s = γ/√(var+ε), t = β − mean·s, imported as an eltwise mul and add.
void Importer::map_batchnorm(int k) {
  const auto& n = node(k);
  if (attr_int(n, "training_mode", 0) != 0) throw Unsupported("training_mode = 1");
  for (int j = 1; j < n.output_size(); ++j)
    if (used(n.output(j))) throw Unsupported("its running-statistics outputs are used");
  const Shape xs = shape(n.input(0));
  if (xs.size() < 2) throw ImportError("the input must be [N, C, ...]");
  const int64_t c = xs[1];
  const auto& gamma = need_const(n.input(1), "the scale");
  const auto& beta = need_const(n.input(2), "the bias");
  const auto& mean = need_const(n.input(3), "the mean");
  const auto& var = need_const(n.input(4), "the variance");
  if (gamma.size() != c || beta.size() != c || mean.size() != c || var.size() != c)
    throw ImportError("parameters do not match the " + std::to_string(c) + " channels");
  const double eps = attr_float(n, "epsilon", 1e-5f);
  std::vector<float> scale(c), shift(c);
  for (int64_t j = 0; j < c; ++j) {
    const double s = gamma.at(j) / std::sqrt(var.at(j) + eps);
    scale[j] = static_cast<float>(s);
    shift[j] = static_cast<float>(beta.at(j) - mean.at(j) * s);
  }
  Shape ws = {c};
  ws.resize(xs.size() - 1, 1);  // [C, 1, 1]: broadcasts over [N, C, H, W]
  const std::string name = op_name(k);
  const std::string scaled = unique_tensor_name(name + ".scaled");
  add_tensor(scaled, xs, false);
  const std::string mul_op = unique_op_name(name + ".mul");
  const std::string add_op_name = unique_op_name(name + ".add");
  auto* m = add_op(mul_op, {act(n.input(0)), add_weight(mul_op + ".weight", ws, scale)}, {scaled})
                ->mutable_eltwise();
  m->set_func(v1::MUL);
  m->set_elements(numel(xs));
  auto* a = add_op(add_op_name, {scaled, add_weight(add_op_name + ".bias", ws, shift)},
                   {output(n.output(0))})
                ->mutable_eltwise();
  a->set_func(v1::ADD);
  a->set_elements(numel(xs));
}

void Importer::map_gemm(int k) {
  const auto& n = node(k);
  if (find_const(n.input(0))) throw Unsupported("a constant first operand A");
  const bool trans_a = attr_int(n, "transA", 0) != 0, trans_b = attr_int(n, "transB", 0) != 0;
  const double alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
  const Shape as = shape(n.input(0));
  if (as.size() != 2) throw ImportError("A must be 2-D");
  const std::string name = op_name(k);
  std::string a = act(n.input(0));
  if (trans_a) a = emit_transpose(name + ".transpose_a", a, as, {1, 0});
  const int64_t m = trans_a ? as[1] : as[0], kk = trans_a ? as[0] : as[1];
  int64_t nn = 0;
  std::string b;
  if (const ConstTensor* bc = find_const(n.input(1))) {
    // transB and alpha are folded into the weight, stored [K, N].
    if (bc->shape.size() != 2) throw ImportError("B must be 2-D");
    nn = trans_b ? bc->shape[0] : bc->shape[1];
    if ((trans_b ? bc->shape[1] : bc->shape[0]) != kk)
      throw ImportError("A " + shape_str(as) + " and B " + shape_str(bc->shape) +
                        " do not multiply");
    std::vector<float> data(static_cast<size_t>(kk * nn));
    for (int64_t r = 0; r < kk; ++r)
      for (int64_t c = 0; c < nn; ++c)
        data[r * nn + c] = static_cast<float>(alpha * bc->at(trans_b ? c * kk + r : r * nn + c));
    b = add_weight(name + ".weight", {kk, nn}, std::move(data));
  } else {
    if (alpha != 1.0) throw Unsupported("alpha != 1 with a non-constant B");
    const Shape bs = shape(n.input(1));
    if (bs.size() != 2) throw ImportError("B must be 2-D");
    b = act(n.input(1));
    if (trans_b) b = emit_transpose(name + ".transpose_b", b, bs, {1, 0});
    nn = trans_b ? bs[0] : bs[1];
  }
  std::vector<std::string> inputs = {a, b};
  std::string y = output(n.output(0));
  std::string extra_c;  // C that is not a bias vector: added by a separate eltwise op
  if (has_input(n, 2) && beta != 0.0) {
    const ConstTensor* c = find_const(n.input(2));
    const bool vector = c && (c->size() == 1 || (c->size() == nn && c->shape.back() == nn));
    if (vector) {
      std::vector<float> bias(static_cast<size_t>(nn));
      for (int64_t j = 0; j < nn; ++j)
        bias[j] = static_cast<float>(beta * c->at(c->size() == 1 ? 0 : j));
      inputs.push_back(add_weight(name + ".bias", {nn}, std::move(bias)));
    } else if (c) {
      std::vector<float> data(static_cast<size_t>(c->size()));
      for (int64_t j = 0; j < c->size(); ++j) data[j] = static_cast<float>(beta * c->at(j));
      extra_c = add_weight(name + ".c", c->shape, std::move(data));
    } else {
      if (beta != 1.0) throw Unsupported("beta != 1 with a non-constant C");
      extra_c = act(n.input(2));
    }
  }
  std::string gemm_out = y;
  if (!extra_c.empty()) {
    gemm_out = unique_tensor_name(name + ".product");
    add_tensor(gemm_out, {m, nn}, false);
  }
  auto* g = add_op(name, inputs, {gemm_out})->mutable_gemm();
  g->set_batch(1);
  g->set_m(m);
  g->set_n(nn);
  g->set_k(kk);
  if (!extra_c.empty()) {
    auto* e = add_op(unique_op_name(name + ".add_c"), {gemm_out, extra_c}, {y})->mutable_eltwise();
    e->set_func(v1::ADD);
    e->set_elements(m * nn);
  }
}

void Importer::map_matmul(int k, int add) {
  const auto& n = node(k);
  if (find_const(n.input(0))) throw Unsupported("a constant first operand");
  const Shape as = shape(n.input(0));
  const std::string out = add >= 0 ? node(add).output(0) : n.output(0);
  const std::string name = op_name(k);
  std::vector<std::string> inputs = {act(n.input(0))};
  int64_t batch = 1, m = 0, nn = 0, kk = 0;
  if (const ConstTensor* b = find_const(n.input(1))) {
    // A weight operand: A's leading dimensions are rows of one product (the weight is shared).
    if (b->shape.empty() || b->shape.size() > 2)
      throw Unsupported("a constant operand of rank " + std::to_string(b->shape.size()));
    kk = b->shape[0];
    nn = b->shape.size() == 2 ? b->shape[1] : 1;
    if (as.back() != kk)
      throw ImportError("A " + shape_str(as) + " and B " + shape_str(b->shape) +
                        " do not multiply");
    m = numel(as) / kk;
    std::vector<float> data(b->f.begin(), b->f.end());
    inputs.push_back(add_weight(name + ".weight", {kk, nn}, std::move(data)));
    if (add >= 0) {
      const ConstTensor* bias = nullptr;
      binary_with_const(node(add), n.output(0), &bias);
      inputs.push_back(add_weight(name + ".bias", {nn}, bias->f));
    }
  } else {
    const Shape bs = shape(n.input(1));
    if (as.size() < 2 || bs.size() < 2)
      throw Unsupported("a 1-D operand of a product of two activations");
    kk = as.back();
    m = as[as.size() - 2];
    nn = bs.back();
    if (bs[bs.size() - 2] != kk)
      throw ImportError("A " + shape_str(as) + " and B " + shape_str(bs) + " do not multiply");
    if (bs.size() == 2) {
      m = numel(as) / kk;
    } else {
      const Shape la(as.begin(), as.end() - 2), lb(bs.begin(), bs.end() - 2);
      if (la != lb)
        throw Unsupported("operands A " + shape_str(as) + " and B " + shape_str(bs) +
                          " broadcast over their leading dimensions");
      batch = numel(la);
    }
    inputs.push_back(act(n.input(1)));
  }
  auto* g = add_op(name, inputs, {output(out)})->mutable_gemm();
  g->set_batch(batch);
  g->set_m(m);
  g->set_n(nn);
  g->set_k(kk);
}

void Importer::map_binary(int k, v1::EltwiseFunc func) {
  const auto& n = node(k);
  const std::string name = op_name(k);
  std::vector<std::string> inputs;
  if (n.op_type() == "Pow") {
    // x^2 is x·x; other exponents have no eltwise function.
    const ConstTensor* e = find_const(n.input(1));
    if (!e || e->size() != 1 || e->at(0) != 2.0) throw Unsupported("an exponent other than 2");
    inputs = {act(n.input(0)), act(n.input(0))};
  } else {
    const char* role = func == v1::ADD || func == v1::SUB ? "bias" : "weight";
    for (int j = 0; j < 2; ++j) inputs.push_back(operand(name, role, n.input(j)));
  }
  auto* e = add_op(name, inputs, {output(n.output(0))})->mutable_eltwise();
  e->set_func(func);
  e->set_elements(numel(shape(n.output(0))));
}

void Importer::map_unary(int k, v1::EltwiseFunc func) {
  const auto& n = node(k);
  auto* e = add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_eltwise();
  e->set_func(func);
  e->set_elements(numel(shape(n.output(0))));
}

void Importer::map_clip(int k) {
  const auto& n = node(k);
  double lo = -std::numeric_limits<double>::infinity(), hi = -lo;
  if (opset_ < 11) {
    lo = attr_float(n, "min", -std::numeric_limits<float>::max());
    hi = attr_float(n, "max", std::numeric_limits<float>::max());
  } else {
    if (has_input(n, 1)) lo = need_const(n.input(1), "min").at(0);
    if (has_input(n, 2)) hi = need_const(n.input(2), "max").at(0);
  }
  if (lo == 0 && hi == 6) return map_unary(k, v1::RELU6);
  if (lo == 0 && hi >= std::numeric_limits<float>::max()) return map_unary(k, v1::RELU);
  std::ostringstream bounds;
  bounds << "Clip to [" << lo << ", " << hi
         << "] (only ReLU [0, inf) and ReLU6 [0, 6] map to the IR)";
  throw Unsupported(bounds.str());
}

void Importer::map_softmax(int k) {
  const auto& n = node(k);
  const Shape xs = shape(n.input(0));
  const int64_t rank = static_cast<int64_t>(xs.size());
  int64_t axis = attr_int(n, "axis", opset_ >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) throw ImportError("axis out of range");
  const std::string name = op_name(k);
  const std::string y = output(n.output(0));
  auto softmax = [&](const std::string& op, const std::string& x, const std::string& out,
                     int64_t length) {
    auto* s = add_op(op, {x}, {out})->mutable_softmax();
    s->set_rows(numel(xs) / length);
    s->set_length(length);
  };
  if (axis == rank - 1) return softmax(name, act(n.input(0)), y, xs.back());
  if (opset_ < 13) {
    // Before opset 13, Softmax normalises the flattened trailing block [axis:].
    int64_t length = 1;
    for (int64_t d = axis; d < rank; ++d) length *= xs[d];
    const std::string flat =
        emit_reshape(name + ".flatten", act(n.input(0)), {numel(xs) / length, length});
    const std::string s = unique_tensor_name(name + ".out");
    add_tensor(s, {numel(xs) / length, length}, false);
    softmax(name, flat, s, length);
    emit_reshape(name + ".unflatten", s, xs, y);
    return;
  }
  // The IR normalises the last axis: swap `axis` to the end and back.
  std::vector<int64_t> perm(rank);
  for (int64_t d = 0; d < rank; ++d) perm[d] = d;
  std::swap(perm[axis], perm[rank - 1]);
  const std::string in_t = emit_transpose(name + ".transpose_in", act(n.input(0)), xs, perm);
  Shape ts;
  for (int64_t p : perm) ts.push_back(xs[p]);
  const std::string s = unique_tensor_name(name + ".out");
  add_tensor(s, ts, false);
  softmax(name, in_t, s, xs[axis]);
  emit_transpose(name + ".transpose_out", s, ts, perm, y);
}

void Importer::emit_layernorm(const std::string& name, const std::string& x, const Shape& xs,
                              int64_t length, std::vector<float> gamma, std::vector<float> beta,
                              float epsilon, const std::string& out) {
  const std::string y = output(out);
  const int64_t rows = numel(xs) / length;
  std::string in = x, res = y;
  const bool flatten = xs.back() != length;
  if (flatten) {
    // Normalising several trailing axes: the IR normalises the last one, so flatten them.
    in = emit_reshape(name + ".flatten", x, {rows, length});
    res = unique_tensor_name(name + ".out");
    add_tensor(res, {rows, length}, false);
  }
  auto* l = add_op(name,
                   {in, add_weight(name + ".weight", {length}, std::move(gamma)),
                    add_weight(name + ".bias", {length}, std::move(beta))},
                   {res})
                ->mutable_layernorm();
  l->set_rows(rows);
  l->set_length(length);
  l->set_epsilon(epsilon);
  if (flatten) emit_reshape(name + ".unflatten", res, xs, y);
}

void Importer::map_layernorm(int k) {
  const auto& n = node(k);
  for (int j = 1; j < n.output_size(); ++j)
    if (used(n.output(j))) throw Unsupported("its Mean / InvStdDev outputs are used");
  const Shape xs = shape(n.input(0));
  const int64_t rank = static_cast<int64_t>(xs.size());
  int64_t axis = attr_int(n, "axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) throw ImportError("axis out of range");
  int64_t length = 1;
  for (int64_t d = axis; d < rank; ++d) length *= xs[d];
  const ConstTensor& g = need_const(n.input(1), "the scale");
  std::vector<float> beta(length, 0.0f);
  if (has_input(n, 2)) beta = need_const(n.input(2), "the bias").f;
  if (g.size() != length || static_cast<int64_t>(beta.size()) != length)
    throw ImportError("scale and bias must hold " + std::to_string(length) + " values");
  emit_layernorm(op_name(k), act(n.input(0)), xs, length, g.f, beta,
                 attr_float(n, "epsilon", 1e-5f), n.output(0));
}

void Importer::map_pool(int k) {
  const auto& n = node(k);
  const bool max = n.op_type() == "MaxPool";
  if (max && n.output_size() > 1 && used(n.output(1)))
    throw Unsupported("its Indices output is used");
  const Shape xs = shape(n.input(0));
  if (xs.size() != 4)
    throw Unsupported("a rank-" + std::to_string(xs.size()) +
                      " input (only 2-D pooling over NCHW)");
  std::vector<int64_t> kernel, strides = {1, 1}, pads = {0, 0, 0, 0}, dilations = {1, 1};
  if (!attr_ints(n, "kernel_shape", kernel) || kernel.size() != 2)
    throw ImportError("kernel_shape must give 2 spatial sizes");
  attr_ints(n, "strides", strides);
  attr_ints(n, "pads", pads);
  attr_ints(n, "dilations", dilations);
  if (dilations != std::vector<int64_t>{1, 1}) throw Unsupported("dilated pooling");
  const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
  if (auto_pad == "VALID") pads = {0, 0, 0, 0};
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int a = 0; a < 2; ++a) {
      const int64_t in = xs[2 + a], out = (in + strides[a] - 1) / strides[a];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[a] + kernel[a] - in);
      pads[a] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[a + 2] = total - pads[a];
    }
  }
  if (pads[0] != pads[2] || pads[1] != pads[3])
    throw Unsupported("asymmetric pads " + shape_str(pads) +
                      " (the IR's pool pads both sides equally)");
  auto* p = add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_pool();
  p->set_kind(max ? v1::MAX : v1::AVG);
  p->set_batch(xs[0]);
  p->set_c(xs[1]);
  p->set_h(xs[2]);
  p->set_w(xs[3]);
  p->set_kernel_h(kernel[0]);
  p->set_kernel_w(kernel[1]);
  p->set_stride_h(strides[0]);
  p->set_stride_w(strides[1]);
  p->set_pad_h(pads[0]);
  p->set_pad_w(pads[1]);
  p->set_ceil_mode(attr_int(n, "ceil_mode", 0) != 0);
  p->set_count_include_pad(!max && attr_int(n, "count_include_pad", 0) != 0);
}

void Importer::map_global_pool(int k, v1::PoolKind kind) {
  const auto& n = node(k);
  const Shape xs = shape(n.input(0));
  if (xs.size() != 4)
    throw Unsupported("a rank-" + std::to_string(xs.size()) +
                      " input (only 2-D pooling over NCHW)");
  auto* p = add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_pool();
  p->set_kind(kind);
  p->set_batch(xs[0]);
  p->set_c(xs[1]);
  p->set_h(xs[2]);
  p->set_w(xs[3]);
  if (kind == v1::MAX) {
    // A max pool whose window is the whole feature map.
    p->set_kernel_h(xs[2]);
    p->set_kernel_w(xs[3]);
    p->set_stride_h(xs[2]);
    p->set_stride_w(xs[3]);
  }
}

void Importer::map_reshape(int k) {
  const auto& n = node(k);
  for (int j = 1; j < n.input_size(); ++j)
    if (!n.input(j).empty() && !find_const(n.input(j)))
      throw Unsupported("a shape or axes input that is not constant");
  add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_reshape();
}

void Importer::map_transpose(int k) {
  const auto& n = node(k);
  const Shape xs = shape(n.input(0));
  std::vector<int64_t> perm;
  if (!attr_ints(n, "perm", perm))
    for (int64_t d = static_cast<int64_t>(xs.size()) - 1; d >= 0; --d) perm.push_back(d);
  auto* t = add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_transpose();
  for (int64_t p : perm) t->add_perm(p);
}

void Importer::map_reduce(int k, v1::ReduceKind kind) {
  const auto& n = node(k);
  const Shape xs = shape(n.input(0));
  const int64_t rank = static_cast<int64_t>(xs.size());
  std::vector<int64_t> axes;
  if (!attr_ints(n, "axes", axes) && has_input(n, 1))
    axes = need_const(n.input(1), "the axes").ints();
  if (axes.empty()) {
    if (attr_int(n, "noop_with_empty_axes", 0) != 0) return map_identity(k);
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  for (auto& a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) throw ImportError("axis out of range");
  }
  std::sort(axes.begin(), axes.end());
  auto* r = add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_reduce();
  r->set_kind(kind);
  for (int64_t a : axes) r->add_axes(a);
  r->set_keepdims(attr_int(n, "keepdims", 1) != 0);
}

void Importer::map_concat(int k) {
  const auto& n = node(k);
  const int64_t rank = static_cast<int64_t>(shape(n.output(0)).size());
  int64_t axis = attr_int(n, "axis", 0);
  if (axis < 0) axis += rank;
  const std::string name = op_name(k);
  std::vector<std::string> inputs;
  for (int j = 0; j < n.input_size(); ++j)
    inputs.push_back(operand(name, "in" + std::to_string(j), n.input(j)));
  add_op(name, inputs, {output(n.output(0))})->mutable_concat()->set_axis(axis);
}

void Importer::map_slice(int k) {
  const auto& n = node(k);
  const Shape xs = shape(n.input(0));
  const int64_t rank = static_cast<int64_t>(xs.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset_ < 10) {
    attr_ints(n, "starts", starts);
    attr_ints(n, "ends", ends);
    attr_ints(n, "axes", axes);
  } else {
    starts = need_const(n.input(1), "starts").ints();
    ends = need_const(n.input(2), "ends").ints();
    if (has_input(n, 3)) axes = need_const(n.input(3), "axes").ints();
    if (has_input(n, 4)) steps = need_const(n.input(4), "steps").ints();
  }
  if (axes.empty())
    for (size_t j = 0; j < starts.size(); ++j) axes.push_back(static_cast<int64_t>(j));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    throw ImportError("starts, ends, axes and steps differ in length");
  auto* s = add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_slice();
  for (size_t j = 0; j < starts.size(); ++j) {
    int64_t axis = axes[j] < 0 ? axes[j] + rank : axes[j];
    if (axis < 0 || axis >= rank) throw ImportError("axis out of range");
    const int64_t dim = xs[axis], step = steps[j];
    if (step == 0) throw ImportError("step 0");
    // Clamped as ONNX does, so that no INT64_MAX sentinel reaches the IR.
    int64_t b = starts[j] < 0 ? starts[j] + dim : starts[j];
    int64_t e = ends[j] < 0 ? ends[j] + dim : ends[j];
    if (step > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      // "Before index 0", written so that ONNX's negative-index rule still reads it so.
      if (e == -1) e = -dim - 1;
    }
    s->add_axes(axis);
    s->add_starts(b);
    s->add_ends(e);
    s->add_steps(step);
  }
}

// Gather of one constant index along an axis is a slice of length 1 (the output shape drops the
// axis when the index is a scalar).
void Importer::map_gather(int k) {
  const auto& n = node(k);
  if (find_const(n.input(0))) throw Unsupported("a constant table indexed by an activation");
  const ConstTensor* idx = find_const(n.input(1));
  if (!idx || idx->size() != 1) throw Unsupported("indices that are not one constant index");
  const Shape xs = shape(n.input(0));
  const int64_t rank = static_cast<int64_t>(xs.size());
  int64_t axis = attr_int(n, "axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) throw ImportError("axis out of range");
  int64_t i = idx->int_at(0);
  if (i < 0) i += xs[axis];
  if (i < 0 || i >= xs[axis]) throw ImportError("index out of range");
  auto* s = add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_slice();
  s->add_axes(axis);
  s->add_starts(i);
  s->add_ends(i + 1);
  s->add_steps(1);
}

void Importer::map_lstm(int k) {
  const auto& n = node(k);
  const std::string direction = attr_string(n, "direction", "forward");
  if (direction != "forward")
    throw Unsupported("direction '" + direction + "' (only forward LSTMs are supported)");
  if (attr_int(n, "layout", 0) != 0) throw Unsupported("layout = 1 (batch-first tensors)");
  if (attr_int(n, "input_forget", 0) != 0) throw Unsupported("input_forget = 1");
  if (find_attr(n, "clip")) throw Unsupported("cell clipping");
  if (const auto* a = find_attr(n, "activations")) {
    const std::vector<std::string> acts(a->strings().begin(), a->strings().end());
    if (acts != std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"})
      throw Unsupported("activations other than Sigmoid, Tanh, Tanh");
  }
  const Shape xs = shape(n.input(0));
  if (xs.size() != 3) throw ImportError("X must be [seq, batch, input]");
  const int64_t steps = xs[0], batch = xs[1], input = xs[2];
  const ConstTensor& w = need_const(n.input(1), "W");
  const ConstTensor& r = need_const(n.input(2), "R");
  const int64_t hidden = attr_int(n, "hidden_size", r.shape.size() == 3 ? r.shape[2] : 0);
  if (w.shape != Shape{1, 4 * hidden, input} || r.shape != Shape{1, 4 * hidden, hidden})
    throw ImportError("W " + shape_str(w.shape) + " or R " + shape_str(r.shape) +
                      " does not match input " + std::to_string(input) + ", hidden " +
                      std::to_string(hidden));
  if (has_input(n, 4)) {
    const ConstTensor* lens = find_const(n.input(4));
    if (!lens) throw Unsupported("per-sequence lengths (sequence_lens) that are not constant");
    for (int64_t v : lens->ints())
      if (v != steps) throw Unsupported("sequence_lens shorter than the sequence");
  }
  for (int j : {5, 6}) {
    if (!has_input(n, j)) continue;
    const ConstTensor* s = find_const(n.input(j));
    if (!s) throw Unsupported("an initial state that is not constant");
    for (float v : s->f)
      if (v != 0.0f) throw Unsupported("a non-zero initial state");
  }
  if (has_input(n, 7)) throw Unsupported("peephole weights (P)");

  auto reorder = [&](const ConstTensor& src, int64_t cols) {
    std::vector<float> out(static_cast<size_t>(4 * hidden * cols));
    for (int g = 0; g < 4; ++g)
      std::copy_n(src.f.begin() + kLstmGateFromOnnx[g] * hidden * cols, hidden * cols,
                  out.begin() + g * hidden * cols);
    return out;
  };
  const std::string name = op_name(k);
  std::vector<std::string> inputs = {
      act(n.input(0)), add_weight(name + ".weight_ih", {4 * hidden, input}, reorder(w, input)),
      add_weight(name + ".weight_hh", {4 * hidden, hidden}, reorder(r, hidden))};
  if (has_input(n, 3)) {
    // ONNX keeps the input and recurrent biases apart (Wb, Rb); they only ever appear summed.
    const ConstTensor& b = need_const(n.input(3), "B");
    if (b.shape != Shape{1, 8 * hidden}) throw ImportError("B must be [1, 8·hidden]");
    std::vector<float> bias(static_cast<size_t>(4 * hidden));
    for (int g = 0; g < 4; ++g)
      for (int64_t j = 0; j < hidden; ++j) {
        const int64_t src = kLstmGateFromOnnx[g] * hidden + j;
        bias[g * hidden + j] = b.f[src] + b.f[4 * hidden + src];
      }
    inputs.push_back(add_weight(name + ".bias", {4 * hidden}, std::move(bias)));
  }
  // The IR's outputs drop ONNX's num_directions axis; reshapes give consumers the ONNX tensors.
  const Shape ir_shapes[3] = {{steps, batch, hidden}, {batch, hidden}, {batch, hidden}};
  const char* roles[3] = {"y", "h_last", "c_last"};
  std::vector<std::string> outs;
  for (int j = 0; j < 3; ++j) {
    outs.push_back(unique_tensor_name(name + "." + roles[j]));
    add_tensor(outs.back(), ir_shapes[j], false);
  }
  auto* l = add_op(name, inputs, outs)->mutable_lstm_cell();
  l->set_batch(batch);
  l->set_input_size(input);
  l->set_hidden_size(hidden);
  l->set_steps(steps);
  for (int j = 0; j < 3 && j < n.output_size(); ++j)
    if (!n.output(j).empty() && used(n.output(j)))
      emit_reshape(name + ".reshape_" + roles[j], outs[j], shape(n.output(j)), output(n.output(j)));
}

void Importer::map_identity(int k) {
  const auto& n = node(k);
  for (int j = 1; j < n.output_size(); ++j)
    if (used(n.output(j))) throw Unsupported("its mask output is used");
  // A graph output needs a tensor of its own name; elsewhere the consumer reads the input.
  if (graph_outputs_.count(n.output(0))) {
    add_op(op_name(k), {act(n.input(0))}, {output(n.output(0))})->mutable_reshape();
    return;
  }
  alias_[n.output(0)] = act(n.input(0));
}

void Importer::emit_generic(int k) {
  const auto& n = node(k);
  const std::string name = op_name(k);
  std::vector<std::string> inputs, outputs;
  int64_t read = 0, written = 0;
  for (int j = 0; j < n.input_size(); ++j) {
    if (n.input(j).empty()) continue;
    inputs.push_back(operand(name, "in" + std::to_string(j), n.input(j)));
    read += numel(shape(n.input(j))) * std::max<int64_t>(1, elem_size(elem_type(n.input(j))));
  }
  for (const auto& o : n.output()) {
    if (o.empty()) continue;
    outputs.push_back(output(o));
    written += numel(shape(o)) * std::max<int64_t>(1, elem_size(elem_type(o)));
  }
  auto* g = add_op(name, inputs, outputs)->mutable_generic();
  g->set_op_type(n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type()
                                                               : n.domain() + "." + n.op_type());
  g->set_bytes_read(read);
  g->set_bytes_written(written);
}

void Importer::rollback(std::pair<int, int> to) {
  while (w_.tensors_size() > to.first) {
    tensor_index_.erase(w_.tensors(w_.tensors_size() - 1).name());
    w_.mutable_tensors()->RemoveLast();
  }
  while (w_.ops_size() > to.second) w_.mutable_ops()->RemoveLast();
  for (auto it = shared_weight_.begin(); it != shared_weight_.end();)
    it = tensor_index_.count(it->second) ? std::next(it) : shared_weight_.erase(it);
}

void Importer::declare_outputs(int k) {
  for (const auto& o : node(k).output()) {
    if (o.empty() || tensor_index_.count(o) || alias_.count(o)) continue;
    try {
      output(o);
    } catch (const ImportError&) {
      // Its consumers then report the missing input.
    }
  }
}

void Importer::finish_outputs() {
  for (const auto& o : graph().output()) {
    const std::string& name = o.name();
    if (!tensor_index_.count(name)) {
      if (const ConstTensor* c = find_const(name)) {
        // A constant output: the workload carries its value.
        auto* t = add_tensor(name, c->shape, true);
        for (int64_t j = 0; j < c->size(); ++j) t->add_float_data(static_cast<float>(c->at(j)));
      } else {
        continue;  // its producer failed; that error is already reported
      }
    }
    w_.add_outputs(name);
  }
}

v1::Workload Importer::run() {
  try {
    return import();
  } catch (const ImportError& e) {
    // Raised outside any node, e.g. by an initializer whose data do not match its shape.
    file_error(e.what());
  }
}

v1::Workload Importer::import() {
  load();
  fix_input_dims();
  infer_shapes(model_);
  folded_.assign(graph().node_size(), false);
  // Folding can make shapes inferable that were not (and the reverse); a few rounds settle it.
  for (int round = 0; round < 4 && fold_constants() && !shapes_complete(); ++round)
    reinfer_with_folded_constants();
  analyse();

  w_.set_name(std::filesystem::path(path_).stem().string());
  for (const auto& p : model_.metadata_props()) (*w_.mutable_metadata())[p.key()] = p.value();
  for (const auto& n : graph().node())
    for (const auto& o : n.output()) reserved_names_.insert(o);
  for (const auto& in : graph().input()) {
    if (initializers_.count(in.name())) continue;
    reserved_names_.insert(in.name());
    try {
      add_tensor(in.name(), shape(in.name()), false);
      w_.add_inputs(in.name());
    } catch (const ImportError& e) {
      sim::Diagnostic d;
      d.file = path_;
      d.path = "graph.input '" + in.name() + "'";
      d.message = e.what();
      diags_.error(d);
    }
  }
  diags_.throw_if_any();

  find_fusions();
  for (int k = 0; k < graph().node_size(); ++k) {
    if (!live_[k]) continue;
    if (fold_errors_.count(k)) {
      node_error(k, fold_errors_.at(k));
      declare_outputs(k);
      continue;
    }
    auto f = fusions_.find(k);
    if (f != fusions_.end()) {
      // The matchers checked what the fused op needs, so a failure here is an error of the model.
      try {
        emit_fusion(f->second);
      } catch (const std::runtime_error& e) {
        node_error(k, e.what());
        for (int j : f->second.nodes) declare_outputs(j);
      }
      continue;
    }
    if (consumed_[k]) continue;
    const auto before = mark();
    try {
      map_node(k);
      continue;
    } catch (const Unsupported& e) {
      rollback(before);
      if (!options_.allow_unknown) {
        const bool no_mapping = std::string(e.what()) == kNoMapping;
        node_error(
            k, no_mapping ? "unsupported ONNX op" : std::string("not supported with ") + e.what(),
            "pass --allow-unknown to keep it as a generic op with its byte traffic");
      } else {
        try {
          emit_generic(k);
          continue;
        } catch (const ImportError& g) {
          rollback(before);
          node_error(k, g.what());
        }
      }
    } catch (const ImportError& e) {
      rollback(before);
      node_error(k, e.what());
    }
    declare_outputs(k);
  }
  diags_.throw_if_any();
  finish_outputs();

  for (const auto& problem : ir::validate(w_)) {
    sim::Diagnostic d;
    d.file = path_;
    d.message = "the imported workload is invalid: " + problem;
    diags_.error(d);
  }
  diags_.throw_if_any();
  return std::move(w_);
}

}  // namespace

v1::Workload import_onnx(const std::string& path, const OnnxImportOptions& options) {
  if (options.batch < 1) throw sim::ConfigError("ONNX import: batch must be >= 1");
  return Importer(path, options).run();
}

}  // namespace codesim::workloads
