#pragma once
// How an op becomes work for the array, following SCALE-Sim v2:
//   gemm    `batch` independent GEMMs A[M, K] · B[K, N];
//   conv2d  one GEMM per group through im2col: M = batch·OH·OW output pixels, K = kh·kw·C/groups
//           (index order c, i, j: the row-major order of the weight tensor), N = filters/groups.
// The GEMM is mapped on the R × C array per dataflow (array rows ←, array cols ←, streamed):
//   os: M, N, K    ws: K, N, M    is: K, M, N
// and cut into folds of at most R × C, every fold a full pass of the streamed dimension.
//
// Fold order (it decides DRAM reuse; cycles and SRAM reads do not depend on it):
//   os: for each sub-GEMM, for each M tile (outer), for each N tile (inner): the ifmap tile is
//       reused across the inner loop, the filter tile changes every fold; outputs are final.
//   ws: for each sub-GEMM, for each N tile (outer), for each K tile (inner): the output tile
//       M × N_tile accumulates partial sums over the inner loop.
//   is: for each sub-GEMM, for each M tile (outer), for each K tile (inner): the output tile
//       M_tile × N accumulates over the inner loop.

#include <cstdint>
#include <string>
#include <vector>

#include "arch/common/reference_ops.h"
#include "sim/mem/sram.h"
#include "workload.pb.h"

namespace codesim::arch::systolic {

enum class Dataflow { kOs, kWs, kIs };

class OpMapping {
 public:
  static bool supports(const ir::v1::Op& op);
  // Throws std::invalid_argument for an op whose shape cannot be simulated (e.g. empty output).
  OpMapping(const ir::v1::Workload& w, const ir::v1::Op& op, Dataflow df, int rows, int cols);

  Dataflow dataflow() const { return df_; }
  bool is_conv() const { return conv_; }
  bool has_padding() const { return padded_; }
  int64_t subs() const { return subs_; }  // sub-GEMMs run one after another
  int64_t m() const { return m_; }
  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  int64_t stream() const { return stream_; }  // T: the streamed dimension
  int64_t rows_dim() const { return rows_dim_; }
  int64_t cols_dim() const { return cols_dim_; }

  // Element addresses in the operand and output tensors (row-major in the IR layouts).
  // a_addr is -1 for a padding position of a convolution (a zero made at the array edge).
  // Inline: staging calls these once per operand element.
  int64_t a_addr(int64_t s, int64_t m, int64_t k) const {
    return conv_ ? conv_a_addr(s, m, k) : (s * m_ + m) * k_ + k;
  }
  int64_t b_addr(int64_t s, int64_t k, int64_t n) const {
    return conv_ ? (s * ng_ + n) * k_ + k : ((b_batched_ ? s : 0) * k_ + k) * n_ + n;
  }
  int64_t out_addr(int64_t s, int64_t m, int64_t n) const;
  int64_t a_elements() const { return a_elements_; }
  int64_t b_elements() const { return b_elements_; }
  int64_t out_elements() const { return subs_ * m_ * n_; }
  bool b_batched() const { return b_batched_; }

  // Elements of A[m0:m1, k0:k1] that are not padding (the same in every sub-GEMM).
  int64_t a_real(int64_t m0, int64_t m1, int64_t k0, int64_t k1) const;

  // DRAM footprints of tiles. A GEMM operand is stored as the grid of tiles the dataflow cuts it
  // into; a convolution's input as rows of its feature map (n, c, ih), since the tiles of
  // neighbouring output pixels overlap there.
  int64_t a_tile_key(int64_t s, int64_t m0, int64_t k0) const;
  int64_t b_tile_key(int64_t s, int64_t k0, int64_t n0) const;
  sim::TileFootprint a_footprint(int64_t s, int64_t m0, int64_t m1, int64_t k0, int64_t k1,
                                 int64_t elem_bytes) const;
  sim::TileFootprint b_footprint(int64_t s, int64_t k0, int64_t k1, int64_t n0, int64_t n1,
                                 int64_t elem_bytes) const;
  int64_t a_segment_space() const;
  int64_t b_segment_space() const;

  GemmShape gemm_shape() const;
  Conv2dShape conv_shape() const { return conv_shape_; }
  // Input tensors (nullptr when the workload does not declare them).
  const ir::v1::Tensor* a_tensor() const { return a_tensor_; }
  const ir::v1::Tensor* b_tensor() const { return b_tensor_; }

 private:
  int64_t conv_a_addr(int64_t s, int64_t m, int64_t k) const;
  void kernel_rows(int64_t k0, int64_t k1, int64_t cl, int64_t& i_lo, int64_t& i_hi) const;

  Dataflow df_;
  bool conv_ = false;
  bool padded_ = false;
  bool b_batched_ = false;
  int64_t subs_ = 1, m_ = 0, n_ = 0, k_ = 0;
  int64_t rows_dim_ = 0, cols_dim_ = 0, stream_ = 0;
  int64_t a_elements_ = 0, b_elements_ = 0;
  // Tile grid of each GEMM operand (tile extents along its two dimensions).
  int64_t a_step_m_ = 1, a_step_k_ = 1, b_step_k_ = 1, b_step_n_ = 1;
  Conv2dShape conv_shape_;
  int64_t oh_ = 1, ow_ = 1, cg_ = 1, ng_ = 1;
  const ir::v1::Tensor* a_tensor_ = nullptr;
  const ir::v1::Tensor* b_tensor_ = nullptr;
};

// One fold: a tile of at most R × C of one sub-GEMM, with the GEMM ranges it covers.
struct Fold {
  int64_t sub = 0;
  int64_t m0 = 0, m1 = 0, n0 = 0, n1 = 0, k0 = 0, k1 = 0;
  int rows_used = 0, cols_used = 0;
  bool first_k = true;  // ws/is: the first K tile of its output tile (no partial sum to add to)
  bool last_k = true;   // ws/is: the last one (its outputs are final)
};

std::vector<Fold> make_folds(const OpMapping& mp, int rows, int cols);

}  // namespace codesim::arch::systolic
