#include "compress/transform.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "workloads/ir/ir.h"

namespace codesim::compress {

using ir::v1::Op;
using ir::v1::Tensor;
using ir::v1::Workload;

namespace {

// FNV-1a: a hash that is the same on every platform, unlike std::hash, so seeds reproduce.
uint64_t stable_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool is_weight(const Workload& w, const std::string& name) {
  const Tensor* t = ir::find_tensor(w, name);
  return t && t->is_weight();
}

std::string weight_at(const Workload& w, const Op& op, int i) {
  if (op.inputs_size() > i && is_weight(w, op.inputs(i))) return op.inputs(i);
  return "";
}

int64_t product(const Tensor& t, int from) {
  int64_t n = 1;
  for (int i = from; i < t.shape_size(); ++i) n *= t.shape(i);
  return n;
}

std::string shape_text(const Tensor& t) {
  std::string s = "[";
  for (int i = 0; i < t.shape_size(); ++i) s += (i ? ", " : "") + std::to_string(t.shape(i));
  return s + "]";
}

// The value `stored_params` counts for a tensor with a sparse structure and no data.
double structural_density(const Tensor& t) {
  const auto& s = t.structure();
  if (s.has_unstructured()) return s.unstructured().density();
  if (s.has_nm() && s.nm().m() > 0) return static_cast<double>(s.nm().n()) / s.nm().m();
  return 1.0;
}

// U(-bound, bound) from 24 random bits per value (two values per 64-bit draw): exact float
// steps and several times faster than std::uniform_real_distribution, which matters for
// BERT-sized weights.
void fill_uniform(float* out, int64_t n, float bound, std::mt19937_64 rng) {
  constexpr float kStep = 1.0f / 16777216.0f;  // 2^-24
  for (int64_t i = 0; i < n; i += 2) {
    const uint64_t r = rng();
    out[i] = bound * (2.0f * static_cast<float>(r >> 40) * kStep - 1.0f);
    if (i + 1 < n)
      out[i + 1] = bound * (2.0f * static_cast<float>((r >> 16) & 0xFFFFFF) * kStep - 1.0f);
  }
}

}  // namespace

std::mt19937_64 TransformContext::rng(const std::string& key) const {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(stable_hash(key)),
                    static_cast<uint32_t>(stable_hash(key) >> 32)};
  return std::mt19937_64(seq);
}

const Array* TransformContext::activation(const std::string& name) const {
  if (!activations) return nullptr;
  auto it = activations->find(name);
  return it == activations->end() ? nullptr : &it->second;
}

bool Transform::accepts(const Workload& w, const Op& op) const {
  const std::string kind = ir::op_kind(op);
  if (std::find(kinds_.begin(), kinds_.end(), kind) == kinds_.end()) return false;
  return !matrix_weights(w, op).empty();
}

TransformRegistry& TransformRegistry::instance() {
  static TransformRegistry r;
  return r;
}

bool TransformRegistry::add(TransformEntry e) {
  const std::string name = e.name;
  if (!entries_.emplace(name, std::move(e)).second)
    throw std::logic_error("transform registered twice: " + name);
  return true;
}

const TransformEntry* TransformRegistry::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> TransformRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

std::vector<std::string> matrix_weights(const Workload& w, const Op& op) {
  std::vector<std::string> out;
  auto add = [&](int i) {
    std::string n = weight_at(w, op, i);
    if (!n.empty()) out.push_back(n);
  };
  switch (op.kind_case()) {
    case Op::kGemm:
    case Op::kConv2D:
      add(1);
      break;
    case Op::kLstmCell:
      add(1);
      add(2);
      break;
    default:
      break;
  }
  return out;
}

std::string bias_input(const Workload& w, const Op& op) {
  switch (op.kind_case()) {
    case Op::kGemm:
    case Op::kConv2D:
      return weight_at(w, op, 2);
    case Op::kLstmCell:
      return weight_at(w, op, 3);
    default:
      return "";
  }
}

std::string activation_input(const Workload& w, const Op& op) {
  for (const auto& n : op.inputs())
    if (!is_weight(w, n)) return n;
  return "";
}

WeightLayout weight_layout(const Op& op, const Tensor& t) {
  WeightLayout l;
  const auto fail = [&](const std::string& expected) {
    throw sim::ConfigError("op '" + op.name() + "': weight '" + t.name() + "' has shape " +
                           shape_text(t) + ", expected " + expected);
  };
  switch (op.kind_case()) {
    case Op::kGemm:
      if (t.shape_size() != 2) fail("[K, N]");
      l.reduction = t.shape(0);
      l.outputs = t.shape(1);
      l.reduction_major = true;
      l.output_axis = 1;
      break;
    case Op::kConv2D:
      if (t.shape_size() != 4) fail("[filters, C/groups, kh, kw]");
      l.outputs = t.shape(0);
      l.reduction = product(t, 1);
      break;
    case Op::kLstmCell:
      if (t.shape_size() != 2) fail("[4H, I] or [4H, H]");
      l.outputs = t.shape(0);
      l.reduction = t.shape(1);
      break;
    default:
      throw sim::ConfigError("op '" + op.name() + "': kind " + ir::op_kind(op) +
                             " has no weight matrix");
  }
  return l;
}

Eigen::MatrixXf weight_matrix(const Tensor& t, const WeightLayout& l) {
  if (t.float_data_size() != l.outputs * l.reduction)
    throw sim::ConfigError("weight '" + t.name() + "' has " + std::to_string(t.float_data_size()) +
                           " values, expected " + std::to_string(l.outputs * l.reduction));
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (l.reduction_major)
    return Eigen::Map<const RowMajor>(t.float_data().data(), l.reduction, l.outputs).transpose();
  return Eigen::Map<const RowMajor>(t.float_data().data(), l.outputs, l.reduction);
}

void set_weight_matrix(Tensor& t, const WeightLayout& l, const Eigen::MatrixXf& m) {
  if (t.int_data_size() > 0) {
    t.clear_int_data();
    t.clear_quantization();
    t.clear_bits();
    t.set_dtype(ir::v1::FLOAT32);
  }
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  t.mutable_float_data()->Resize(static_cast<int>(l.outputs * l.reduction), 0.0f);
  float* out = t.mutable_float_data()->mutable_data();
  if (l.reduction_major)
    Eigen::Map<RowMajor>(out, l.reduction, l.outputs) = m.transpose();
  else
    Eigen::Map<RowMajor>(out, l.outputs, l.reduction) = m;
}

void zero_elements(Tensor& t, const std::vector<int64_t>& indices) {
  float* f = t.mutable_float_data()->mutable_data();
  for (int64_t i : indices) f[i] = 0.0f;
  if (t.int_data_size() == 0) return;
  const auto& q = t.quantization();
  const int axis = q.axis();
  const int64_t inner = product(t, axis + 1);
  const int64_t channels = t.shape_size() > axis ? t.shape(axis) : 1;
  int32_t* codes = t.mutable_int_data()->mutable_data();
  for (int64_t i : indices) {
    const int64_t c = q.zero_point_size() > 1 ? (i / inner) % channels : 0;
    codes[i] = q.zero_point_size() ? q.zero_point(static_cast<int>(c)) : 0;
  }
}

void ensure_values(Workload& w, int op_index, const TransformContext& ctx, OpChange& change) {
  const Op op = w.ops(op_index);
  const std::vector<std::string> mats = matrix_weights(w, op);
  int64_t bias_fan_in = 1;
  std::vector<std::pair<std::string, int64_t>> todo;  // tensor, fan_in
  for (const auto& name : mats) {
    const int64_t fan_in = weight_layout(op, *ir::find_tensor(w, name)).reduction;
    if (todo.empty()) bias_fan_in = fan_in;
    todo.emplace_back(name, fan_in);
  }
  const std::string bias = bias_input(w, op);
  if (!bias.empty()) todo.emplace_back(bias, bias_fan_in);

  std::vector<std::string> synthesized;
  for (const auto& [name, fan_in] : todo) {
    Tensor* t = ir::find_tensor(w, name);
    const int64_t n = ir::tensor_elements(*t);
    if (t->float_data_size() == n) continue;
    auto* data = t->mutable_float_data();
    data->Resize(static_cast<int>(n), 0.0f);
    if (t->int_data_size() == n) {
      const auto& q = t->quantization();
      const int axis = q.axis();
      const int64_t inner = product(*t, axis + 1);
      const int64_t channels = t->shape_size() > axis ? t->shape(axis) : 1;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = q.scale_size() > 1 ? (i / inner) % channels : 0;
        const float s = q.scale_size() ? q.scale(static_cast<int>(c)) : 1.0f;
        const int32_t z = q.zero_point_size() > c ? q.zero_point(static_cast<int>(c)) : 0;
        data->Set(static_cast<int>(i),
                  s * static_cast<float>(t->int_data(static_cast<int>(i)) - z));
      }
      continue;
    }
    const float bound = 1.0f / std::sqrt(static_cast<float>(std::max<int64_t>(fan_in, 1)));
    fill_uniform(data->mutable_data(), n, bound, ctx.rng(name));
    synthesized.push_back(name);
  }
  if (!synthesized.empty()) {
    change.synthesized_weights = true;
    std::string list;
    for (const auto& s : synthesized) list += (list.empty() ? "" : ", ") + s;
    change.notes.push_back(
        "weights synthesized (seeded Kaiming-uniform U(-1/sqrt(fan_in), "
        "1/sqrt(fan_in))): " +
        list);
  }
}

std::vector<std::string> ensure_all_values(Workload& w, const TransformContext& ctx) {
  std::vector<std::string> synthesized;
  for (int i = 0; i < w.ops_size(); ++i) {
    const Op& op = w.ops(i);
    std::vector<std::string> missing;
    for (const auto& in : op.inputs()) {
      const Tensor* t = ir::find_tensor(w, in);
      if (t && t->is_weight() && t->float_data_size() == 0 && t->int_data_size() == 0)
        missing.push_back(in);
    }
    if (missing.empty()) continue;
    if (!matrix_weights(w, op).empty()) {
      OpChange ignored;
      ensure_values(w, i, ctx, ignored);
    } else {
      // Other parameters: a layernorm starts as the identity (gamma 1, beta 0), as frameworks
      // initialize it; anything else is Kaiming-uniform over its last axis.
      for (int k = 0; k < op.inputs_size(); ++k) {
        Tensor* t = ir::find_tensor(w, op.inputs(k));
        if (!t || std::find(missing.begin(), missing.end(), t->name()) == missing.end()) continue;
        const int64_t n = ir::tensor_elements(*t);
        auto* data = t->mutable_float_data();
        data->Resize(static_cast<int>(n), 0.0f);
        if (op.kind_case() == Op::kLayernorm) {
          if (k == 1) std::fill(data->begin(), data->end(), 1.0f);
          continue;
        }
        const int64_t fan_in = t->shape_size() ? t->shape(t->shape_size() - 1) : 1;
        const float bound = 1.0f / std::sqrt(static_cast<float>(std::max<int64_t>(fan_in, 1)));
        fill_uniform(data->mutable_data(), n, bound, ctx.rng(t->name()));
      }
    }
    synthesized.insert(synthesized.end(), missing.begin(), missing.end());
  }
  return synthesized;
}

int replace_op(Workload& w, int op_index, std::vector<Op> ops) {
  if (ops.empty()) throw std::logic_error("replace_op: no replacement ops");
  auto* list = w.mutable_ops();
  *list->Mutable(op_index) = std::move(ops[0]);
  const int extra = static_cast<int>(ops.size()) - 1;
  for (int i = 0; i < extra; ++i) list->Add();
  // Shift the tail right by `extra`, then drop the new ops into the gap.
  for (int i = list->size() - 1; i > op_index + extra; --i) list->SwapElements(i, i - extra);
  for (int i = 1; i <= extra; ++i) *list->Mutable(op_index + i) = std::move(ops[i]);
  return op_index + extra + 1;
}

Tensor* add_tensor(Workload& w, Tensor t) {
  Tensor* out = w.add_tensors();
  *out = std::move(t);
  return out;
}

std::string unique_tensor_name(const Workload& w, const std::string& base) {
  if (!ir::find_tensor(w, base)) return base;
  for (int i = 2;; ++i) {
    std::string n = base + "." + std::to_string(i);
    if (!ir::find_tensor(w, n)) return n;
  }
}

int element_bits(const Tensor& t) {
  if (t.bits() > 0) return static_cast<int>(t.bits());
  switch (t.dtype()) {
    case ir::v1::FLOAT16:
    case ir::v1::BFLOAT16:
      return 16;
    default:
      return 32;
  }
}

namespace {

// Parameters of the factors a tensor-train or hierarchical-Tucker annotation describes (the
// closed forms of tt_svd.h and ht_decomposition.h).
int64_t factor_params(const ir::v1::Structure& s) {
  int64_t total = 0;
  if (s.has_tensor_train()) {
    const auto& tt = s.tensor_train();
    for (int k = 0; k < tt.row_factors_size() && k + 1 < tt.ranks_size(); ++k)
      total += static_cast<int64_t>(tt.ranks(k)) * tt.row_factors(k) * tt.col_factors(k) *
               tt.ranks(k + 1);
    return total;
  }
  const auto& ht = s.hierarchical_tucker();
  for (const auto& node : ht.nodes()) {
    if (node.left() < 0) {
      if (node.dims_size() != 1) continue;
      const int k = static_cast<int>(node.dims(0));
      if (k < ht.row_factors_size() && k < ht.col_factors_size())
        total += static_cast<int64_t>(ht.row_factors(k)) * ht.col_factors(k) * node.rank();
    } else if (node.left() < ht.nodes_size() && node.right() < ht.nodes_size()) {
      total += static_cast<int64_t>(ht.nodes(node.left()).rank()) * ht.nodes(node.right()).rank() *
               node.rank();
    }
  }
  return total;
}

// A weight matrix [rows, cols] that holds the values of a TT or HT matrix (an lstm_cell keeps
// its op, so its weights hold the reconstruction) stores the factors: its share of their
// parameters in proportion to its columns, since [W_ih | W_hh] share one decomposition. -1 for
// the factor tensors themselves (3-D or 4-D) and anything else.
int64_t factored_matrix_params(const Tensor& t) {
  const auto& s = t.structure();
  if (t.shape_size() != 2) return -1;
  const auto& rows_f =
      s.has_tensor_train() ? s.tensor_train().row_factors() : s.hierarchical_tucker().row_factors();
  const auto& cols_f =
      s.has_tensor_train() ? s.tensor_train().col_factors() : s.hierarchical_tucker().col_factors();
  int64_t rows = 1, cols = 1;
  for (uint32_t f : rows_f) rows *= f;
  for (uint32_t f : cols_f) cols *= f;
  if (t.shape(0) != rows || t.shape(1) > cols) return -1;
  return std::llround(static_cast<double>(factor_params(s)) * static_cast<double>(t.shape(1)) /
                      static_cast<double>(cols));
}

}  // namespace

int64_t stored_params(const Tensor& t) {
  const int64_t n = ir::tensor_elements(t);
  const auto& s = t.structure();
  if (s.has_tensor_train() || s.has_hierarchical_tucker()) {
    const int64_t share = factored_matrix_params(t);
    if (share >= 0) return share;
  }
  if (s.has_nm()) return static_cast<int64_t>(std::llround(structural_density(t) * n));
  if (!s.has_unstructured()) return n;
  if (t.float_data_size() == n) {
    int64_t nz = 0;
    for (float v : t.float_data()) nz += v != 0.0f;
    return nz;
  }
  return static_cast<int64_t>(std::llround(structural_density(t) * static_cast<double>(n)));
}

int64_t storage_bits(const Tensor& t) {
  int64_t bits = stored_params(t) * element_bits(t);
  const auto& s = t.structure();
  if (s.has_nm()) bits += s.nm().metadata_bits();
  if (s.has_unstructured()) bits += ir::tensor_elements(t);
  const auto& q = t.quantization();
  bits += 32 * static_cast<int64_t>(q.scale_size());
  if (std::any_of(q.zero_point().begin(), q.zero_point().end(), [](int32_t z) { return z != 0; }))
    bits += 32 * static_cast<int64_t>(q.zero_point_size());
  return bits;
}

namespace {
template <class F>
int64_t sum_over_weights(const Workload& w, const std::vector<std::string>& ops, F f) {
  int64_t total = 0;
  for (const auto& op : w.ops()) {
    if (std::find(ops.begin(), ops.end(), op.name()) == ops.end()) continue;
    for (const auto& in : op.inputs()) {
      const Tensor* t = ir::find_tensor(w, in);
      if (t && t->is_weight()) total += f(*t);
    }
  }
  return total;
}
}  // namespace

int64_t ops_stored_params(const Workload& w, const std::vector<std::string>& ops) {
  return sum_over_weights(w, ops, stored_params);
}

int64_t ops_storage_bits(const Workload& w, const std::vector<std::string>& ops) {
  return sum_over_weights(w, ops, storage_bits);
}

}  // namespace codesim::compress
