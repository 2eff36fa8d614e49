#pragma once
// Tensor-train (TT-matrix) decomposition by TT-SVD (Oseledets 2011), the format of TT-LSTM and
// the TIE accelerator (reference/accelerators.md §4.2):
//   W(i_1..i_d, j_1..j_d) = G_1[i_1, j_1] G_2[i_2, j_2] ... G_d[i_d, j_d],
// core G_k [r_{k-1}, m_k, n_k, r_k] with r_0 = r_d = 1, W [M, N], M = prod m_k, N = prod n_k.
// TT-SVD sweeps k = 1..d-1: the remainder, unfolded to [r_{k-1}·m_k·n_k, rest], keeps its r_k
// leading left singular vectors as G_k and passes S·V^T on. Error bound (Oseledets, Thm 2.2):
// ||W - W_tt||_F^2 <= sum_k (discarded squared singular values of step k).

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "compress/transforms/tt/tensor_algebra.h"

namespace codesim::compress {

struct TensorTrain {
  std::vector<int64_t> row_factors;  // m_k
  std::vector<int64_t> col_factors;  // n_k
  std::vector<int64_t> ranks;        // r_0..r_d, r_0 = r_d = 1
  std::vector<DenseTensor> cores;    // G_k [r_{k-1}, m_k, n_k, r_k]

  int64_t params() const;
};

// sum_k r_{k-1} m_k n_k r_k.
int64_t tt_params(const std::vector<int64_t>& row_factors, const std::vector<int64_t>& col_factors,
                  const std::vector<int64_t>& ranks);

// The largest useful rank at every bond: r_k <= min(prod_{l<=k} m_l n_l, prod_{l>k} m_l n_l);
// with these ranks TT-SVD is exact.
std::vector<int64_t> tt_full_ranks(const std::vector<int64_t>& row_factors,
                                   const std::vector<int64_t>& col_factors);

// TT-SVD of w with the requested bond ranks (d+1 entries, ends 1), each capped at the full rank
// of its bond (and at r_{k-1}·m_k·n_k); `ranks` in the result are the ranks used. Throws
// std::invalid_argument when the factors do not multiply to w's size.
TensorTrain tt_svd(const Eigen::MatrixXd& w, const std::vector<int64_t>& row_factors,
                   const std::vector<int64_t>& col_factors, const std::vector<int64_t>& ranks);

// The matrix the train represents.
Eigen::MatrixXd tt_to_matrix(const TensorTrain& tt);

}  // namespace codesim::compress
