#include "compress/transforms/tt/tensor_algebra.h"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <algorithm>
#include <functional>
#include <stdexcept>

namespace codesim::compress {

int64_t DenseTensor::size() const { return product(shape); }

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

std::string dims_text(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

namespace {

// The tensor as [pre, shape[axis], post].
void split_at(const std::vector<int64_t>& shape, int axis, int64_t& pre, int64_t& mid,
              int64_t& post) {
  pre = 1;
  post = 1;
  for (int i = 0; i < axis; ++i) pre *= shape[i];
  mid = shape[axis];
  for (size_t i = axis + 1; i < shape.size(); ++i) post *= shape[i];
}

}  // namespace

DenseTensor mode_product(const DenseTensor& t, int axis, const Eigen::MatrixXd& m) {
  int64_t pre, mid, post;
  split_at(t.shape, axis, pre, mid, post);
  if (m.rows() != mid)
    throw std::invalid_argument("mode_product: matrix has " + std::to_string(m.rows()) +
                                " rows, mode has " + std::to_string(mid));
  DenseTensor out;
  out.shape = t.shape;
  out.shape[axis] = m.cols();
  out.data.resize(static_cast<size_t>(pre * m.cols() * post));
  const Eigen::MatrixXd mt = m.transpose();
  for (int64_t p = 0; p < pre; ++p) {
    Eigen::Map<const RowMatrixXd> in(t.data.data() + p * mid * post, mid, post);
    Eigen::Map<RowMatrixXd> res(out.data.data() + p * m.cols() * post, m.cols(), post);
    res.noalias() = mt * in;
  }
  return out;
}

Eigen::MatrixXd mode_gram(const DenseTensor& t, int axis) {
  int64_t pre, mid, post;
  split_at(t.shape, axis, pre, mid, post);
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(mid, mid);
  for (int64_t p = 0; p < pre; ++p) {
    Eigen::Map<const RowMatrixXd> in(t.data.data() + p * mid * post, mid, post);
    g.selfadjointView<Eigen::Lower>().rankUpdate(in);
  }
  return g.selfadjointView<Eigen::Lower>();
}

DenseTensor merge_axes(DenseTensor t, int axis) {
  t.shape[axis] *= t.shape[axis + 1];
  t.shape.erase(t.shape.begin() + axis + 1);
  return t;
}

LeadingSubspace leading_subspace(const Eigen::MatrixXd& gram, int64_t rank) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram);
  const int64_t n = gram.rows();
  rank = std::min(rank, n);
  LeadingSubspace s;
  // Eigenvalues come in increasing order; the leading ones are the last columns.
  s.basis = eig.eigenvectors().rightCols(rank).rowwise().reverse();
  const double total = eig.eigenvalues().cwiseMax(0.0).sum();
  const double kept = eig.eigenvalues().tail(rank).cwiseMax(0.0).sum();
  s.energy_kept = total > 0 ? kept / total : 1.0;
  return s;
}

LeadingSubspace left_subspace(const Eigen::Ref<const RowMatrixXd>& a, int64_t rank) {
  if (a.rows() <= a.cols()) return leading_subspace(a * a.transpose(), rank);
  // A = Q R with Q [rows, cols] orthonormal: A A^T = Q (R R^T) Q^T.
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(a.rows(), a.cols());
  const Eigen::MatrixXd r = qr.matrixQR().topRows(a.cols()).triangularView<Eigen::Upper>();
  LeadingSubspace s = leading_subspace(r * r.transpose(), rank);
  s.basis = q * s.basis;
  return s;
}

LeadingSubspace mode_subspace(const DenseTensor& t, int axis, int64_t rank) {
  int64_t pre, mid, post;
  split_at(t.shape, axis, pre, mid, post);
  if (mid <= pre * post) return leading_subspace(mode_gram(t, axis), rank);
  RowMatrixXd unfolding(mid, pre * post);
  for (int64_t p = 0; p < pre; ++p)
    unfolding.middleCols(p * post, post) =
        Eigen::Map<const RowMatrixXd>(t.data.data() + p * mid * post, mid, post);
  return left_subspace(unfolding, rank);
}

DenseTensor matrix_to_mode_tensor(const Eigen::MatrixXd& w, const std::vector<int64_t>& rows,
                                  const std::vector<int64_t>& cols) {
  const size_t d = rows.size();
  if (cols.size() != d || product(rows) != w.rows() || product(cols) != w.cols())
    throw std::invalid_argument("matrix [" + std::to_string(w.rows()) + ", " +
                                std::to_string(w.cols()) + "] does not factor as " +
                                dims_text(rows) + " x " + dims_text(cols));
  DenseTensor t;
  for (size_t k = 0; k < d; ++k) t.shape.push_back(rows[k] * cols[k]);
  t.data.resize(static_cast<size_t>(t.size()));
  // Strides of mode k in the tensor, and of digit k in the row and column indices.
  std::vector<int64_t> mode_stride(d, 1), row_stride(d, 1), col_stride(d, 1);
  for (size_t k = d - 1; k-- > 0;) {
    mode_stride[k] = mode_stride[k + 1] * t.shape[k + 1];
    row_stride[k] = row_stride[k + 1] * rows[k + 1];
    col_stride[k] = col_stride[k + 1] * cols[k + 1];
  }
  for (int64_t i = 0; i < w.rows(); ++i) {
    int64_t base = 0;
    for (size_t k = 0; k < d; ++k)
      base += ((i / row_stride[k]) % rows[k]) * cols[k] * mode_stride[k];
    for (int64_t j = 0; j < w.cols(); ++j) {
      int64_t pos = base;
      for (size_t k = 0; k < d; ++k) pos += ((j / col_stride[k]) % cols[k]) * mode_stride[k];
      t.data[static_cast<size_t>(pos)] = w(i, j);
    }
  }
  return t;
}

Eigen::MatrixXd mode_tensor_to_matrix(const DenseTensor& t, const std::vector<int64_t>& rows,
                                      const std::vector<int64_t>& cols) {
  const size_t d = rows.size();
  const int64_t m = product(rows), n = product(cols);
  if (t.size() != m * n) throw std::invalid_argument("mode tensor size does not match factors");
  std::vector<int64_t> mode_stride(d, 1), row_stride(d, 1), col_stride(d, 1);
  for (size_t k = d - 1; k-- > 0;) {
    mode_stride[k] = mode_stride[k + 1] * rows[k + 1] * cols[k + 1];
    row_stride[k] = row_stride[k + 1] * rows[k + 1];
    col_stride[k] = col_stride[k + 1] * cols[k + 1];
  }
  Eigen::MatrixXd w(m, n);
  for (int64_t i = 0; i < m; ++i) {
    int64_t base = 0;
    for (size_t k = 0; k < d; ++k)
      base += ((i / row_stride[k]) % rows[k]) * cols[k] * mode_stride[k];
    for (int64_t j = 0; j < n; ++j) {
      int64_t pos = base;
      for (size_t k = 0; k < d; ++k) pos += ((j / col_stride[k]) % cols[k]) * mode_stride[k];
      w(i, j) = t.data[static_cast<size_t>(pos)];
    }
  }
  return w;
}

std::vector<int64_t> balanced_factors(int64_t n, int parts) {
  if (n < 1 || parts < 1) throw std::invalid_argument("balanced_factors: n and parts must be >= 1");
  std::vector<int64_t> best, current;
  // Non-decreasing factor sequences keep the search to multiplicative partitions of n.
  std::function<void(int64_t, int64_t, int)> search = [&](int64_t rest, int64_t lo, int left) {
    if (left == 1) {
      if (rest < lo) return;
      current.push_back(rest);
      const auto better = [](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
        if (a.back() != b.back()) return a.back() < b.back();
        return a.front() > b.front();
      };
      if (best.empty() || better(current, best)) best = current;
      current.pop_back();
      return;
    }
    for (int64_t f = lo; f <= rest; ++f) {
      int64_t power = 1;
      bool fits = true;
      for (int i = 0; i < left && fits; ++i) fits = (power *= f) <= rest;
      if (!fits) break;
      if (rest % f) continue;
      current.push_back(f);
      search(rest / f, f, left - 1);
      current.pop_back();
    }
  };
  search(n, 1, parts);
  std::reverse(best.begin(), best.end());
  return best;
}

double relative_error(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  const double na = a.norm();
  const double diff = (a - b).norm();
  if (na == 0) return diff == 0 ? 0.0 : 1.0;
  return diff / na;
}

}  // namespace codesim::compress
