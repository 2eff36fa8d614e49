#pragma once
// Dense-tensor helpers shared by the tensor decompositions (tt, ht, tucker2). Everything runs in
// double: the decompositions promise a full-rank reconstruction error below 1e-5, and float32
// Gram matrices would lose that margin on ill-conditioned weights.
//
// A matrix W [M, N] with M = m_1···m_d and N = n_1···n_d is viewed as a d-order tensor whose
// mode k has size m_k·n_k (TT-matrix / HT convention): element W[i, j] with i = (i_1..i_d),
// j = (j_1..j_d) row-major (i_1 most significant) sits at mode index i_k·n_k + j_k of mode k.

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

namespace codesim::compress {

using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A dense row-major tensor.
struct DenseTensor {
  std::vector<int64_t> shape;
  std::vector<double> data;
  int64_t size() const;
};

int64_t product(const std::vector<int64_t>& v);
// "[2, 3, 4]" for messages and reports.
std::string dims_text(const std::vector<int64_t>& v);

// t ×_axis M: out[.., b, ..] = sum_a t[.., a, ..] · M[a, b]; M is [shape[axis], B].
DenseTensor mode_product(const DenseTensor& t, int axis, const Eigen::MatrixXd& m);
// Gram matrix of the mode-`axis` unfolding, T_(axis) · T_(axis)^T, [shape[axis], shape[axis]].
Eigen::MatrixXd mode_gram(const DenseTensor& t, int axis);
// Merges axes `axis` and `axis + 1` (a reshape; row-major data are unchanged).
DenseTensor merge_axes(DenseTensor t, int axis);

// The `rank` leading eigenvectors (columns, by decreasing eigenvalue) of a symmetric positive
// semi-definite matrix, i.e. the leading left singular vectors of the matrix it is the Gram of.
// `energy_kept` is the fraction of the trace they carry (1 when the trace is 0).
struct LeadingSubspace {
  Eigen::MatrixXd basis;
  double energy_kept = 1;
};
LeadingSubspace leading_subspace(const Eigen::MatrixXd& gram, int64_t rank);
// The `rank` leading left singular vectors of a [rows, cols] matrix. A tall matrix goes through a
// thin QR first, so the eigen-problem is never larger than min(rows, cols) (the Gram of a
// 7168 x 28 unfolding would be 7168 x 7168).
LeadingSubspace left_subspace(const Eigen::Ref<const RowMatrixXd>& a, int64_t rank);
// The same for the mode-`axis` unfolding of t.
LeadingSubspace mode_subspace(const DenseTensor& t, int axis, int64_t rank);

// W [M, N] -> the d-order tensor with modes m_k·n_k (see the top of this file), and back.
DenseTensor matrix_to_mode_tensor(const Eigen::MatrixXd& w, const std::vector<int64_t>& row_factors,
                                  const std::vector<int64_t>& col_factors);
Eigen::MatrixXd mode_tensor_to_matrix(const DenseTensor& t, const std::vector<int64_t>& row_factors,
                                      const std::vector<int64_t>& col_factors);

// The most balanced split of n into `parts` factors (smallest largest factor, then largest
// smallest), in decreasing order; parts of 1 appear only when n has fewer prime factors than
// `parts`. A prime n > 1 stays one factor next to 1s.
std::vector<int64_t> balanced_factors(int64_t n, int parts);

// ||a - b||_F / ||a||_F (0 when both are zero).
double relative_error(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);

}  // namespace codesim::compress
