#pragma once
// Shared by the tensor_lstm tests: LSTM workloads whose weights carry tensor-train or
// hierarchical-Tucker structure annotations (shape only, as the tt / ht transforms write them),
// and models whose jobs run in one simulation through tests/sim_harness.h.

#include <cstdint>
#include <string>
#include <vector>

#include "arch/models/tensor_lstm/tensor_lstm.h"
#include "compress/transforms/ht/ht_decomposition.h"
#include "sim/core/accelerator.h"
#include "tests/sim_harness.h"
#include "workload.pb.h"

namespace codesim::test::tensor_lstm {

// A tensor-train annotation: row factors m_1..m_d, column factors n_1..n_d, ranks r_0..r_d.
inline ir::v1::Structure tt_structure(const std::vector<int64_t>& m, const std::vector<int64_t>& n,
                                      const std::vector<int64_t>& r) {
  ir::v1::Structure s;
  auto* tt = s.mutable_tensor_train();
  for (size_t k = 0; k < m.size(); ++k) {
    tt->add_row_factors(static_cast<uint32_t>(m[k]));
    tt->add_col_factors(static_cast<uint32_t>(n[k]));
  }
  for (int64_t x : r) tt->add_ranks(static_cast<uint32_t>(x));
  return s;
}

// A hierarchical-Tucker annotation over the balanced tree of compress::ht_balanced_tree: every
// leaf has rank `leaf_rank`, every internal node but the root `inner_rank`, the root 1.
inline ir::v1::Structure ht_structure(const std::vector<int64_t>& m, const std::vector<int64_t>& n,
                                      int64_t leaf_rank, int64_t inner_rank) {
  ir::v1::Structure s;
  auto* ht = s.mutable_hierarchical_tucker();
  for (size_t k = 0; k < m.size(); ++k) {
    ht->add_row_factors(static_cast<uint32_t>(m[k]));
    ht->add_col_factors(static_cast<uint32_t>(n[k]));
  }
  const auto nodes = compress::ht_balanced_tree(static_cast<int>(m.size()));
  for (size_t t = 0; t < nodes.size(); ++t) {
    auto* node = ht->add_nodes();
    for (int k : nodes[t].modes) node->add_dims(static_cast<uint32_t>(k));
    node->set_left(nodes[t].left);
    node->set_right(nodes[t].right);
    node->set_rank(static_cast<uint32_t>(t == 0 ? 1 : nodes[t].leaf() ? leaf_rank : inner_rank));
  }
  return s;
}

inline ir::v1::Tensor* add_tensor(ir::v1::Workload& w, const std::string& name,
                                  const std::vector<int64_t>& shape, bool weight) {
  ir::v1::Tensor* t = w.add_tensors();
  t->set_name(name);
  for (int64_t d : shape) t->add_shape(d);
  t->set_dtype(ir::v1::FLOAT32);
  t->set_is_weight(weight);
  return t;
}

// One lstm_cell op (x [steps, batch, I], W_ih [4H, I], W_hh [4H, H], bias [4H]) with shape-only
// weights annotated with `ih` and `hh` (an empty Structure: dense). For FDHT-LSTM both carry the
// same annotation of [W_ih | W_hh].
inline ir::v1::Workload lstm_workload(int64_t input, int64_t hidden, int64_t steps, int64_t batch,
                                      const ir::v1::Structure& ih, const ir::v1::Structure& hh) {
  ir::v1::Workload w;
  w.set_name("lstm");
  add_tensor(w, "x", {steps, batch, input}, false);
  *add_tensor(w, "w_ih", {4 * hidden, input}, true)->mutable_structure() = ih;
  *add_tensor(w, "w_hh", {4 * hidden, hidden}, true)->mutable_structure() = hh;
  add_tensor(w, "bias", {4 * hidden}, true);
  add_tensor(w, "y", {steps, batch, hidden}, false);
  w.add_inputs("x");
  w.add_outputs("y");
  auto* op = w.add_ops();
  op->set_name("lstm");
  for (const char* in : {"x", "w_ih", "w_hh", "bias"}) op->add_inputs(in);
  op->add_outputs("y");
  auto* l = op->mutable_lstm_cell();
  l->set_input_size(input);
  l->set_hidden_size(hidden);
  l->set_steps(steps);
  l->set_batch(batch);
  return w;
}

// The video LSTMs (UCF11 / YouTube Celebrities): input 57,600 = 8 x 20 x 20 x 18, hidden 256,
// gates 4H = 1,024 = 16 x 4 x 4 x 4.
inline const std::vector<int64_t> kVideoRows = {16, 4, 4, 4};
inline const std::vector<int64_t> kVideoCols = {8, 20, 20, 18};
// [W_ih | W_hh]: 57,856 = 8 x 8 x 8 x 113 columns.
inline const std::vector<int64_t> kVideoConcatCols = {8, 8, 8, 113};

// One op on one model; the model keeps no outputs the tests read.
using test::Job;

// Owns the models of one test; all must be made before run() (SystemC elaborates once).
class Models : public test::Models {
 public:
  arch::TensorLstmModel& make(const arch::TensorLstmParams& p) {
    return add<arch::TensorLstmModel>("tl", p);
  }
  // Runs every job, in order, in one simulation. Call once per process.
  static void run(std::vector<Job>& jobs) { run_jobs(jobs); }
};

// The configs of the README: 16 PEs, 1 GHz, int16, 16 banks.
inline arch::TensorLstmParams params(const std::string& scheme = "fdht") {
  arch::TensorLstmParams p;
  p.memory_scheme = scheme;
  return p;
}

}  // namespace codesim::test::tensor_lstm
