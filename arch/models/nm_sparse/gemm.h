#pragma once
// A gemm on the STA matrix engine: an R × C array of PEs, each with P multipliers behind M:1
// selectors and an adder tree, in a weight-stationary systolic dataflow.
//
//   rows  ← compressed reduction rows (value slots): R·P per fold, P per PE. In sparse mode a
//           slot holds one kept weight and its index; its selector picks the activation at that
//           index from its group's window of M activations. Dense mode: one slot per reduction
//           position, selectors bypassed.
//   cols  ← N (output columns), C per fold.
//   streamed T = M (rows of the activation A), one per cycle.
// Folds: for each sub-GEMM, N tiles outer, K tiles inner (the output tile accumulates on chip).
// Fold timing is SCALE-Sim's weight-stationary rule with R PE rows: F = 2R + C + T − 2 (R cycles
// to load the stationary tile, R + C − 2 of skew), folds back to back, or with `overlap` the next
// fold starts max(T, R) cycles after the current one (ping-pong weight registers). The fold loop
// and its memory side are the shared ones of arch/common (fold_loop.h, fold_memory.h).

#include <cstdint>
#include <functional>
#include <vector>

#include "arch/common/fold_loop.h"
#include "arch/common/fold_memory.h"
#include "arch/common/reference_ops.h"
#include "arch/models/nm_sparse/nm_format.h"
#include "sim/core/accelerator.h"
#include "sim/mem/dram.h"
#include "sim/mem/sram.h"
#include "workload.pb.h"

namespace codesim::arch::nm_sparse {

// A conv2d that cuts its input into non-overlapping patches (kernel = stride, no padding,
// dilation or groups: ViT's patch embedding). Its im2col matrix is a permutation of the input,
// so it runs as a GEMM M = batch·OH·OW, N = filters, K = C·kh·kw (index order c, i, j, the order
// in which the nm transform groups a conv weight) with no duplicated activation traffic.
bool is_patch_conv(const ir::v1::Op& op);

class GemmMap {
 public:
  // A gemm, or a conv2d for which is_patch_conv holds. Throws std::invalid_argument for an empty
  // GEMM.
  GemmMap(const ir::v1::Workload& w, const ir::v1::Op& op, NmPattern run, IndexFormat fmt);

  int64_t subs() const { return subs_; }
  int64_t m() const { return m_; }
  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  bool b_batched() const { return b_batched_; }  // one B per sub-GEMM (an activation)
  int64_t b_matrices() const { return b_batched_ ? subs_ : 1; }
  const ColumnLayout& layout() const { return layout_; }
  bool sparse() const { return !layout_.pattern().dense(); }
  IndexFormat index_format() const { return fmt_; }
  const ir::v1::Tensor* a_tensor() const { return a_; }
  const ir::v1::Tensor* b_tensor() const { return b_; }
  // Patch convolution: A is the NCHW input (im2col'd on the way in), B the weight [N, K].
  bool is_conv() const { return conv_; }
  const Conv2dShape& conv_shape() const { return conv_shape_; }

  // Stored bytes of the weight tile: compressed rows [r0, r1) × columns [n0, n1), values plus
  // index metadata (metadata rounded up to whole bytes per tile).
  int64_t b_tile_bytes(int64_t r0, int64_t r1, int64_t n0, int64_t n1, int64_t elem_bytes) const;
  // Values plus metadata of one whole B matrix, in bits (exact, no rounding).
  int64_t b_matrix_bits(int64_t elem_bits) const;

 private:
  int64_t subs_ = 1, m_ = 0, n_ = 0, k_ = 0;
  bool b_batched_ = false;
  bool conv_ = false;
  Conv2dShape conv_shape_;
  ColumnLayout layout_;
  IndexFormat fmt_;
  const ir::v1::Tensor* a_ = nullptr;
  const ir::v1::Tensor* b_ = nullptr;
};

struct Fold {
  int64_t sub = 0;
  int64_t r0 = 0, r1 = 0;  // compressed rows
  int64_t n0 = 0, n1 = 0;
  int64_t k0 = 0, k1 = 0;  // dense reduction window read by the fold
  int64_t kt = 0, nt = 0;  // tile indices
  int pe_rows_used = 0, cols_used = 0;
  bool first_k = true, last_k = true;
};

std::vector<Fold> make_folds(const GemmMap& mp, int rows, int mults, int cols);

struct MemConfig : FoldMemoryConfig {
  bool a_on_chip = false;    // A is in the attention buffer (S·V after the softmax)
  bool out_on_chip = false;  // the output stays in the attention buffer (Q·Kᵀ)
  // Earliest cycle at which a fold of each sub may start because its A rows arrive from the
  // softmax unit (empty: no such constraint).
  std::vector<uint64_t> a_rows_ready;
};

// Memory side of the fold sequence: arch::FoldMemory (the same rules as the systolic model) with
// A the activations (nothing to read when they are in the attention buffer) and B the compressed
// weight tiles (values and index metadata). Output tiles accumulate over K tiles; their partial
// sums are M × (columns of the fold).
class FoldScheduler final : public FoldMemory {
 public:
  FoldScheduler(const GemmMap& mp, const std::vector<Fold>& folds, const MemConfig& cfg,
                sim::DramPort& dram, sim::OperandBuffer& ifmap, sim::OperandBuffer& weight);
  uint64_t data_ready(size_t f) const override;

 private:
  const sim::TileFootprint& a_tile(size_t f) override;
  const sim::TileFootprint& b_tile(size_t f) override;
  Output output(size_t f) const override;

  const GemmMap& mp_;
  const std::vector<Fold>& folds_;
  MemConfig cfg_;
  int64_t ktiles_ = 1, ntiles_ = 1;
  sim::TileFootprint a_, b_;  // the tiles last asked for
};

struct EngineConfig {
  int rows = 32, cols = 32, mults = 1;
  bool overlap = false;
  bool cycle = false;
  bool functional = false;
};

struct EngineEvents {
  uint64_t macs = 0;          // multiplications (kept value slots × streamed rows)
  uint64_t selects = 0;       // M:1 selections driven by an index (sparse mode)
  uint64_t ifmap_reads = 0;   // activation words read into the array (group windows)
  uint64_t weight_reads = 0;  // weight SRAM bytes loaded into PE registers (values + indices)
  uint64_t weight_reg_writes = 0;
  uint64_t out_writes = 0;  // outputs / partial sums written to the ofmap SRAM
  uint64_t out_reads = 0;   // partial sums read back to accumulate
  uint64_t psum_reg_writes = 0;
};

struct EngineResult : FoldTiming {
  EngineEvents events;
  std::vector<uint64_t> sub_rows_out;  // per sub: cycle its first output row is complete
};

// Weights in the engine's stored form: per B matrix, per compressed row r and column j, the
// value and the dense reduction position its index selects (-1: an empty slot of a group with
// fewer than n non-zeros).
template <class V>
struct CompressedB {
  std::vector<std::vector<V>> val;
  std::vector<std::vector<int32_t>> pos;
  int64_t violations = 0;  // groups with more non-zeros than the pattern allows (extra dropped)
};

// Runs the folds from `start`. Functional mode: `b` holds the compressed weights, `a` the A
// values (subs × M × K) and `out` (subs × M × N, zeroed) receives the accumulators.
template <class V, class A>
EngineResult run_folds(const GemmMap& mp, const std::vector<Fold>& folds, FoldScheduler& mem,
                       const EngineConfig& cfg, const CompressedB<V>* b, const V* a, A* out,
                       uint64_t start, const std::function<void(uint64_t)>& sync);

}  // namespace codesim::arch::nm_sparse
