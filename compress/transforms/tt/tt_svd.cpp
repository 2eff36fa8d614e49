#include "compress/transforms/tt/tt_svd.h"

#include <algorithm>
#include <stdexcept>

namespace codesim::compress {

int64_t TensorTrain::params() const { return tt_params(row_factors, col_factors, ranks); }

int64_t tt_params(const std::vector<int64_t>& m, const std::vector<int64_t>& n,
                  const std::vector<int64_t>& r) {
  int64_t p = 0;
  for (size_t k = 0; k < m.size(); ++k) p += r[k] * m[k] * n[k] * r[k + 1];
  return p;
}

std::vector<int64_t> tt_full_ranks(const std::vector<int64_t>& m, const std::vector<int64_t>& n) {
  const size_t d = m.size();
  std::vector<int64_t> r(d + 1, 1);
  int64_t left = 1;
  for (size_t k = 0; k + 1 < d; ++k) {
    left *= m[k] * n[k];
    int64_t right = 1;
    for (size_t l = k + 1; l < d; ++l) right *= m[l] * n[l];
    r[k + 1] = std::min(left, right);
  }
  return r;
}

TensorTrain tt_svd(const Eigen::MatrixXd& w, const std::vector<int64_t>& m,
                   const std::vector<int64_t>& n, const std::vector<int64_t>& ranks) {
  const size_t d = m.size();
  if (d < 1 || n.size() != d)
    throw std::invalid_argument("tt_svd: need as many row factors as column factors (>= 1)");
  if (ranks.size() != d + 1 || ranks.front() != 1 || ranks.back() != 1)
    throw std::invalid_argument("tt_svd: ranks need d+1 = " + std::to_string(d + 1) +
                                " entries with first and last 1, got " + dims_text(ranks));
  for (int64_t r : ranks)
    if (r < 1) throw std::invalid_argument("tt_svd: ranks must be >= 1");
  DenseTensor a = matrix_to_mode_tensor(w, m, n);
  const std::vector<int64_t> full = tt_full_ranks(m, n);

  TensorTrain tt;
  tt.row_factors = m;
  tt.col_factors = n;
  tt.ranks.assign(d + 1, 1);
  // `rest` holds the remainder as [r_{k-1}·m_k·n_k, rest of the modes], row-major.
  std::vector<double> rest = std::move(a.data);
  int64_t cols = w.size();
  for (size_t k = 0; k + 1 < d; ++k) {
    const int64_t rows = tt.ranks[k] * m[k] * n[k];
    cols /= m[k] * n[k];
    Eigen::Map<const RowMatrixXd> c(rest.data(), rows, cols);
    const int64_t r = std::min({ranks[k + 1], full[k + 1], rows});
    const LeadingSubspace u = left_subspace(c, r);
    tt.ranks[k + 1] = r;
    DenseTensor core;
    core.shape = {tt.ranks[k], m[k], n[k], r};
    core.data.resize(static_cast<size_t>(rows * r));
    Eigen::Map<RowMatrixXd>(core.data.data(), rows, r) = u.basis;
    tt.cores.push_back(std::move(core));
    // U^T·C = S·V^T: the part of the remainder the kept subspace carries.
    RowMatrixXd next = u.basis.transpose() * c;
    rest.assign(next.data(), next.data() + next.size());
  }
  DenseTensor last;
  last.shape = {tt.ranks[d - 1], m[d - 1], n[d - 1], 1};
  last.data = std::move(rest);
  tt.cores.push_back(std::move(last));
  return tt;
}

Eigen::MatrixXd tt_to_matrix(const TensorTrain& tt) {
  const size_t d = tt.cores.size();
  // Left to right: acc [prod_{l<=k} m_l n_l, r_k] as a tensor [modes..., r_k].
  DenseTensor acc = tt.cores[0];
  acc.shape = {tt.row_factors[0] * tt.col_factors[0], tt.ranks[1]};
  for (size_t k = 1; k < d; ++k) {
    const DenseTensor& g = tt.cores[k];
    const int64_t rk = tt.ranks[k], mode = tt.row_factors[k] * tt.col_factors[k];
    Eigen::Map<const RowMatrixXd> gm(g.data.data(), rk, mode * tt.ranks[k + 1]);
    acc = mode_product(acc, static_cast<int>(acc.shape.size()) - 1, gm);
    acc.shape.back() = mode;
    acc.shape.push_back(tt.ranks[k + 1]);
  }
  acc.shape.pop_back();  // r_d = 1
  return mode_tensor_to_matrix(acc, tt.row_factors, tt.col_factors);
}

}  // namespace codesim::compress
