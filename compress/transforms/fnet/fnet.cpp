// The fnet transform: a softmax-attention block becomes FNet's Fourier mixing, Re(FFT_2D(X)) over
// the sequence and hidden axes (Lee-Thorp et al. 2022; FABNet's FBfly block,
// reference/accelerators.md §1.1). It is selected by the block's output projection (a gemm whose
// input is softmax(Q·K^T)·V with Q, K, V projections of one tensor X); the q, k, v projections,
// scores, softmax and context ops are deleted and the output projection becomes reshape -> fft
// with lengths [seq, hidden] and real output. No weights remain. Mixing is not an approximation
// of attention, so the output error is not measured: the model needs retraining unless it was
// trained with Fourier mixing.

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "compress/transform.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

namespace {

struct AttentionBlock {
  std::string x;  // the tensor q, k and v are projected from
  int64_t seq = 0, hidden = 0, batch = 0;
  std::vector<int> removed;  // ops deleted besides the output projection
};

int64_t pow2_at_least(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

class Graph {
 public:
  explicit Graph(const ir::v1::Workload& w) : w_(w) {
    for (int i = 0; i < w.ops_size(); ++i) {
      for (const auto& o : w.ops(i).outputs()) producer_[o] = i;
      for (const auto& in : w.ops(i).inputs()) consumers_[in].push_back(i);
    }
  }

  // The op producing `tensor`, looking through layout ops and element-wise ops with constant
  // other operands (an attention scale or mask); those are added to `chain`. -1 if none.
  int producer(std::string tensor, std::vector<int>& chain) const {
    for (;;) {
      auto it = producer_.find(tensor);
      if (it == producer_.end()) return -1;
      const ir::v1::Op& op = w_.ops(it->second);
      const auto kind = op.kind_case();
      const bool view = kind == ir::v1::Op::kReshape || kind == ir::v1::Op::kTranspose;
      if (!view && !(kind == ir::v1::Op::kEltwise && activations(op).size() == 1))
        return it->second;
      chain.push_back(it->second);
      tensor = activations(op).front();
    }
  }

  // Inputs that are neither weights nor constants.
  std::vector<std::string> activations(const ir::v1::Op& op) const {
    std::vector<std::string> out;
    for (const auto& in : op.inputs()) {
      const ir::v1::Tensor* t = ir::find_tensor(w_, in);
      if (!t || (!t->is_weight() && t->float_data_size() == 0 && t->int_data_size() == 0))
        out.push_back(in);
    }
    return out;
  }

  const std::vector<int>& consumers(const std::string& t) const {
    static const std::vector<int> none;
    auto it = consumers_.find(t);
    return it == consumers_.end() ? none : it->second;
  }

 private:
  const ir::v1::Workload& w_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
};

bool is_projection(const ir::v1::Workload& w, const ir::v1::Op& op) {
  return op.kind_case() == ir::v1::Op::kGemm && !matrix_weights(w, op).empty();
}

std::optional<AttentionBlock> find_attention(const ir::v1::Workload& w, int out_index) {
  const Graph g(w);
  const ir::v1::Op& out = w.ops(out_index);
  if (!is_projection(w, out)) return std::nullopt;
  std::vector<int> chain;
  const int context = g.producer(activation_input(w, out), chain);
  if (context < 0 || w.ops(context).kind_case() != ir::v1::Op::kGemm) return std::nullopt;
  const std::vector<std::string> pv = g.activations(w.ops(context));
  if (pv.size() != 2) return std::nullopt;
  const int softmax = g.producer(pv[0], chain);
  const int v = g.producer(pv[1], chain);
  if (softmax < 0 || v < 0 || w.ops(softmax).kind_case() != ir::v1::Op::kSoftmax)
    return std::nullopt;
  const int scores = g.producer(g.activations(w.ops(softmax)).front(), chain);
  if (scores < 0 || w.ops(scores).kind_case() != ir::v1::Op::kGemm) return std::nullopt;
  const std::vector<std::string> qk = g.activations(w.ops(scores));
  if (qk.size() != 2) return std::nullopt;
  const int q = g.producer(qk[0], chain);
  const int k = g.producer(qk[1], chain);
  if (q < 0 || k < 0) return std::nullopt;
  for (int p : {q, k, v})
    if (!is_projection(w, w.ops(p))) return std::nullopt;
  AttentionBlock b;
  b.x = activation_input(w, w.ops(q));
  if (activation_input(w, w.ops(k)) != b.x || activation_input(w, w.ops(v)) != b.x)
    return std::nullopt;

  b.removed = {q, k, v, scores, softmax, context};
  b.removed.insert(b.removed.end(), chain.begin(), chain.end());
  std::set<int> gone(b.removed.begin(), b.removed.end());
  gone.insert(out_index);
  // Deleting is safe only if nothing outside the block reads what the block computes.
  for (int i : b.removed)
    for (const auto& o : w.ops(i).outputs())
      for (int c : g.consumers(o))
        if (!gone.count(c)) return std::nullopt;

  const ir::v1::Tensor* xt = ir::find_tensor(w, b.x);
  if (!xt || xt->shape_size() < 2) return std::nullopt;
  b.hidden = xt->shape(xt->shape_size() - 1);
  b.seq = w.ops(scores).gemm().m();
  const int64_t rows = ir::tensor_elements(*xt) / b.hidden;
  if (b.seq < 1 || rows % b.seq != 0) return std::nullopt;
  b.batch = rows / b.seq;
  return b;
}

}  // namespace

class FnetTransform : public Transform {
 public:
  struct Params {
    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s;
      return s;
    }
  };
  static constexpr const char* kSummary =
      "replaces a softmax-attention block (selected by its output projection) by 2-D FFT mixing";
  static std::vector<std::string> op_kinds() { return {"gemm"}; }

  explicit FnetTransform(const Params&) {}

  bool accepts(const ir::v1::Workload& w, const ir::v1::Op& op) const override {
    if (!Transform::accepts(w, op)) return false;
    for (int i = 0; i < w.ops_size(); ++i)
      if (w.ops(i).name() == op.name()) return find_attention(w, i).has_value();
    return false;
  }

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    const std::optional<AttentionBlock> found = find_attention(w, op_index);
    if (!found) throw std::logic_error("fnet: apply on an op accepts() rejected");
    const AttentionBlock& b = *found;
    const ir::v1::Op out = w.ops(op_index);

    std::vector<std::string> names;
    for (int i : b.removed) names.push_back(w.ops(i).name());
    names.push_back(out.name());
    int64_t macs = 0;
    for (const auto& n : names)
      for (const auto& op : w.ops())
        if (op.name() == n) macs += ir::op_macs(w, op);
    c.params_before = ops_stored_params(w, names);
    c.bits_before = ops_storage_bits(w, names);
    c.params_after = 0;
    c.bits_after = 0;
    c.needs_retraining = true;

    std::vector<int> removed = b.removed;
    std::sort(removed.rbegin(), removed.rend());
    for (int i : removed) w.mutable_ops()->DeleteSubrange(i, 1);
    int at = 0;
    while (w.ops(at).name() != out.name()) ++at;

    const std::string prefix = out.name() + ".fnet";
    ir::v1::Tensor view;
    view.set_name(unique_tensor_name(w, prefix + ".x"));
    for (int64_t d : {b.batch, b.seq, b.hidden}) view.add_shape(d);
    view.set_dtype(ir::v1::FLOAT32);
    view.set_bits(32);
    std::vector<ir::v1::Op> ops(2);
    ops[0].set_name(prefix + ".split");
    ops[0].add_inputs(b.x);
    ops[0].add_outputs(view.name());
    ops[0].mutable_reshape();
    ops[1].set_name(prefix);
    ops[1].add_inputs(view.name());
    ops[1].add_outputs(out.outputs(0));
    auto* f = ops[1].mutable_fft();
    f->set_batch(b.batch);
    const int64_t ls = pow2_at_least(b.seq), lh = pow2_at_least(b.hidden);
    f->add_lengths(ls);
    f->add_lengths(lh);
    f->set_real_input(true);
    f->set_real_output(true);
    add_tensor(w, std::move(view));
    for (const auto& o : ops) c.new_ops.push_back(o.name());
    replace_op(w, at, std::move(ops));

    c.figures["removed_macs"] = static_cast<double>(macs);
    c.figures["seq"] = static_cast<double>(b.seq);
    c.figures["hidden"] = static_cast<double>(b.hidden);
    std::string removed_names;
    for (const auto& n : names) removed_names += (removed_names.empty() ? "" : ", ") + n;
    c.notes.push_back("attention replaced by Re(FFT2) mixing; removed ops: " + removed_names);
    c.notes.push_back(
        "needs retraining: Fourier mixing does not approximate the trained "
        "attention");
    if (ls != b.seq || lh != b.hidden)
      c.notes.push_back("fft lengths padded to powers of two (" + std::to_string(ls) + " x " +
                        std::to_string(lh) +
                        "): the signal is zero-padded and the spectrum "
                        "cropped back, which differs from FNet's length-" +
                        std::to_string(b.seq) + " x " + std::to_string(b.hidden) + " DFT");
    return c;
  }
};

CODESIM_REGISTER_TRANSFORM("fnet", FnetTransform);

}  // namespace codesim::compress
