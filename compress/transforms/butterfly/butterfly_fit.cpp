#include "compress/transforms/butterfly/butterfly_fit.h"

#include <Eigen/SVD>
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>

namespace codesim::compress {

namespace {

bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

int64_t log2_exact(int64_t n) {
  int64_t l = 0;
  while ((int64_t{1} << l) < n) ++l;
  return l;
}

// Stage `s` of a butterfly of length n on the rows of x (n rows of `cols` values, row-major), in
// place; tw points at the stage's n/2 twiddles.
template <class S>
void apply_stage(const S* tw, int64_t n, int64_t s, S* x, int64_t cols) {
  const int64_t stride = int64_t{1} << s;
  for (int64_t block = 0; block < n / (2 * stride); ++block)
    for (int64_t off = 0; off < stride; ++off) {
      const int64_t i = block * 2 * stride + off;
      const S* t = tw + (block * stride + off) * 4;
      S* lo = x + i * cols;
      S* hi = x + (i + stride) * cols;
      for (int64_t c = 0; c < cols; ++c) {
        const S a = lo[c], b = hi[c];
        lo[c] = t[0] * a + t[1] * b;
        hi[c] = t[2] * a + t[3] * b;
      }
    }
}

// Stage `s` out of place: out = B_s in (both n x cols, row-major).
void apply_stage_into(const double* tw, int64_t n, int64_t s, const double* in, double* out,
                      int64_t cols) {
  const int64_t stride = int64_t{1} << s;
  for (int64_t block = 0; block < n / (2 * stride); ++block)
    for (int64_t off = 0; off < stride; ++off) {
      const int64_t i = block * 2 * stride + off;
      const double* t = tw + (block * stride + off) * 4;
      const double* lo = in + i * cols;
      const double* hi = in + (i + stride) * cols;
      double* olo = out + i * cols;
      double* ohi = out + (i + stride) * cols;
      for (int64_t c = 0; c < cols; ++c) {
        olo[c] = t[0] * lo[c] + t[1] * hi[c];
        ohi[c] = t[2] * lo[c] + t[3] * hi[c];
      }
    }
}

template <class S>
using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Fills the twiddles of stages 0..stage of one stack from t, the 2^{stage+1}-square block of the
// butterfly acting on indices [base, base + 2^{stage+1}).
template <class S>
void factor_block(const MatrixX<S>& t, int64_t base, int64_t stage, int64_t n, S* stack_tw) {
  S* tw_stage = stack_tw + stage * (n / 2) * 4;
  if (stage == 0) {
    S* tw = tw_stage + (base / 2) * 4;
    tw[0] = t(0, 0);
    tw[1] = t(0, 1);
    tw[2] = t(1, 0);
    tw[3] = t(1, 1);
    return;
  }
  const int64_t h = t.rows() / 2;
  MatrixX<S> r1(h, h), r2(h, h);
  for (int64_t i = 0; i < h; ++i) {
    S* tw = tw_stage + (base / 2 + i) * 4;
    for (int half = 0; half < 2; ++half) {
      Eigen::Matrix<S, 2, Eigen::Dynamic> pair(2, h);
      pair.row(0) = t.block(i, half * h, 1, h);
      pair.row(1) = t.block(h + i, half * h, 1, h);
      // Best rank-1 fit: [t0x; t1x] = sigma·u, the row of R = v^H.
      Eigen::JacobiSVD<Eigen::Matrix<S, 2, Eigen::Dynamic>> svd(
          pair, Eigen::ComputeThinU | Eigen::ComputeThinV);
      const double sigma = svd.singularValues()(0);
      const Eigen::Matrix<S, 2, 1> d = sigma * svd.matrixU().col(0);
      (half == 0 ? r1 : r2).row(i) = svd.matrixV().col(0).adjoint();
      tw[half] = d(0);      // t00 (left half) or t01 (right half)
      tw[2 + half] = d(1);  // t10 or t11
    }
  }
  factor_block<S>(r1, base, stage - 1, n, stack_tw);
  factor_block<S>(r2, base + h, stage - 1, n, stack_tw);
}

// Adam on one stack: target [n, cols] of which the first `rows` rows matter. Returns the best
// squared error and leaves the best twiddles in `tw`.
double adam_stack(const RowMatrix<double>& target, int64_t rows, int64_t n, int64_t stages,
                  std::vector<double>& tw, const ButterflyFitOptions& o, double target_sq,
                  int& steps_run) {
  const int64_t cols = target.cols();
  const size_t count = tw.size();
  std::vector<double> m(count, 0.0), v(count, 0.0), grad(count), best = tw;
  double best_loss = std::numeric_limits<double>::infinity();
  std::vector<RowMatrix<double>> x(static_cast<size_t>(stages + 1));
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-12;
  for (int step = 0; step <= o.steps; ++step) {
    x[0] = RowMatrix<double>::Identity(n, cols);
    for (int64_t s = 0; s < stages; ++s) {
      x[s + 1].resize(n, cols);
      apply_stage_into(tw.data() + s * (n / 2) * 4, n, s, x[s].data(), x[s + 1].data(), cols);
    }
    RowMatrix<double> g = RowMatrix<double>::Zero(n, cols);
    g.topRows(rows) = x[stages].topRows(rows) - target.topRows(rows);
    const double loss = g.squaredNorm();
    if (loss < best_loss) {
      best_loss = loss;
      best = tw;
    }
    if (step == o.steps || loss <= o.target_error * o.target_error * target_sq) break;
    ++steps_run;
    g *= 2.0;
    for (int64_t s = stages; s-- > 0;) {
      const int64_t stride = int64_t{1} << s;
      const double* t_all = tw.data() + s * (n / 2) * 4;
      double* gr_all = grad.data() + s * (n / 2) * 4;
      const RowMatrix<double>& in = x[s];
      for (int64_t block = 0; block < n / (2 * stride); ++block)
        for (int64_t off = 0; off < stride; ++off) {
          const int64_t i = block * 2 * stride + off, p = block * stride + off;
          const double* t = t_all + p * 4;
          double* gr = gr_all + p * 4;
          double* glo = g.data() + i * cols;
          double* ghi = g.data() + (i + stride) * cols;
          const double* xlo = in.data() + i * cols;
          const double* xhi = in.data() + (i + stride) * cols;
          // One pass: the twiddle gradients and g_in = B_s^T g_out for the pair.
          double g0 = 0, g1 = 0, g2 = 0, g3 = 0;
          for (int64_t c = 0; c < cols; ++c) {
            const double a = glo[c], b = ghi[c];
            g0 += a * xlo[c];
            g1 += a * xhi[c];
            g2 += b * xlo[c];
            g3 += b * xhi[c];
            glo[c] = t[0] * a + t[2] * b;
            ghi[c] = t[1] * a + t[3] * b;
          }
          gr[0] = g0;
          gr[1] = g1;
          gr[2] = g2;
          gr[3] = g3;
        }
    }
    const double lr = o.learning_rate * 0.5 * (1.0 + std::cos(M_PI * step / o.steps));
    const double c1 = 1.0 - std::pow(beta1, step + 1), c2 = 1.0 - std::pow(beta2, step + 1);
    for (size_t k = 0; k < count; ++k) {
      m[k] = beta1 * m[k] + (1 - beta1) * grad[k];
      v[k] = beta2 * v[k] + (1 - beta2) * grad[k] * grad[k];
      tw[k] -= lr * (m[k] / c1) / (std::sqrt(v[k] / c2) + eps);
    }
  }
  tw = best;
  return best_loss;
}

}  // namespace

template <class S>
MatrixX<S> butterfly_matrix(const ButterflyFactors<S>& b) {
  const int64_t n = b.length;
  RowMatrix<S> out(b.stacks * n, n);
  for (int64_t k = 0; k < b.stacks; ++k) {
    RowMatrix<S> x = RowMatrix<S>::Identity(n, n);
    for (int64_t s = 0; s < b.stages; ++s)
      apply_stage(b.twiddles.data() + (k * b.stages + s) * (n / 2) * 4, n, s, x.data(), n);
    out.middleRows(k * n, n) = x;
  }
  return out;
}

template <class S>
ButterflyFactors<S> factor_butterfly(const MatrixX<S>& t) {
  const int64_t n = t.rows();
  if (t.cols() != n || n < 2 || !is_pow2(n))
    throw std::invalid_argument("factor_butterfly: need a square matrix of power-of-two size >= 2");
  ButterflyFactors<S> b;
  b.length = n;
  b.stages = log2_exact(n);
  b.stacks = 1;
  b.twiddles.assign(static_cast<size_t>(b.stages * n * 2), S(0));
  factor_block<S>(t, 0, b.stages - 1, n, b.twiddles.data());
  return b;
}

template MatrixX<double> butterfly_matrix(const ButterflyFactors<double>&);
template MatrixX<std::complex<double>> butterfly_matrix(
    const ButterflyFactors<std::complex<double>>&);
template ButterflyFactors<double> factor_butterfly(const MatrixX<double>&);
template ButterflyFactors<std::complex<double>> factor_butterfly(
    const MatrixX<std::complex<double>>&);

ButterflyFit fit_butterfly(const Eigen::MatrixXd& w, const ButterflyFitOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t outputs = w.rows(), inputs = w.cols();
  if (outputs < 1 || inputs < 1) throw std::invalid_argument("fit_butterfly: empty matrix");
  int64_t n = 2;
  while (n < inputs) n *= 2;
  ButterflyFit fit;
  ButterflyFactors<double>& f = fit.factors;
  f.length = n;
  f.stages = log2_exact(n);
  f.stacks = (outputs + n - 1) / n;
  const int64_t per_stack = f.stages * n * 2;
  f.twiddles.assign(static_cast<size_t>(f.stacks * per_stack), 0.0);

  // Scale the target to an orthogonal matrix's norm so one learning rate suits every weight;
  // the scale goes back into the last stage (the product is linear in every stage).
  const double norm = w.norm();
  const double scale = norm > 0 ? std::sqrt(static_cast<double>(inputs)) / norm : 1.0;
  double best_total = 0, greedy_total = 0;
  for (int64_t k = 0; k < f.stacks; ++k) {
    const int64_t rows = std::min(n, outputs - k * n);
    RowMatrix<double> target = RowMatrix<double>::Zero(n, inputs);
    target.topRows(rows) = scale * w.middleRows(k * n, rows);
    const double target_sq = target.squaredNorm();

    MatrixX<double> square = MatrixX<double>::Zero(n, n);
    square.leftCols(inputs) = target;
    ButterflyFactors<double> greedy = factor_butterfly<double>(square);
    ButterflyFitOptions no_steps = o;
    no_steps.steps = 0;
    int unused = 0;
    std::vector<double> tw = greedy.twiddles;
    greedy_total += adam_stack(target, rows, n, f.stages, tw, no_steps, target_sq, unused);

    tw = greedy.twiddles;
    double best = adam_stack(target, rows, n, f.stages, tw, o, target_sq, fit.steps_run);
    std::vector<double> best_tw = tw;
    std::mt19937_64 rng(o.seed + static_cast<uint64_t>(k));
    // torch_butterfly's random init: N(0, 1/2) twiddles keep the expected norm per stage.
    std::normal_distribution<double> normal(0.0, std::sqrt(0.5));
    for (int r = 0; r < o.random_starts && best > o.target_error * o.target_error * target_sq;
         ++r) {
      for (double& t : tw) t = normal(rng);
      const double loss = adam_stack(target, rows, n, f.stages, tw, o, target_sq, fit.steps_run);
      if (loss < best) {
        best = loss;
        best_tw = tw;
      }
    }
    // Undo the target scale in the last stage.
    for (int64_t p = 0; p < n * 2; ++p) best_tw[(f.stages - 1) * n * 2 + p] /= scale;
    std::copy(best_tw.begin(), best_tw.end(), f.twiddles.begin() + k * per_stack);
    best_total += best;
  }
  const double total_sq = scale * scale * norm * norm;
  fit.relative_error = total_sq > 0 ? std::sqrt(best_total / total_sq) : 0.0;
  fit.recursive_error = total_sq > 0 ? std::sqrt(greedy_total / total_sq) : 0.0;
  fit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return fit;
}

}  // namespace codesim::compress
