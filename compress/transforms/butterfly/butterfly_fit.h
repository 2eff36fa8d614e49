#pragma once
// Fitting a butterfly matrix (torch_butterfly's increasing-stride form, reference/accelerators.md
// §1.1) to a dense matrix. A butterfly of length n = 2^L is T = B_{L-1} ··· B_1 B_0, stage B_s
// pairing i with i + 2^s when (i mod 2^{s+1}) < 2^s through a 2x2 twiddle
// [[t00, t01], [t10, t11]]: y[i] = t00·x[i] + t01·x[i+2^s], y[i+2^s] = t10·x[i] + t11·x[i+2^s].
// Twiddles are stored [stacks, stages, n/2, 2, 2], pair p = block·2^s + offset for
// i = block·2^{s+1} + offset (the IR's butterfly op and the reference executor use the same).
//
// Exact factorization: the last stage splits T = [[D1 R1, D2 R2], [D3 R1, D4 R2]] with R1, R2
// butterflies of length n/2 on the two halves, so rows i of T's left column block in the top and
// bottom halves are both multiples of row i of R1. A best rank-1 fit of every such pair of rows
// gives the stage-(L-1) twiddles and the rows of R1 and R2, and the recursion continues on them.
// It is exact when T is a butterfly product (Walsh-Hadamard; the DFT with bit-reversed input
// order, in complex arithmetic) and a greedy approximation otherwise.
//
// General matrices: Adam on the twiddles minimises ||T_hat - T||_F^2 over the entries that
// matter (rows below the output width, columns below the input width; the rest meet zero-padded
// inputs or truncated outputs), started from the greedy factorization and from seeded random
// inits, keeping the best.

#include <Eigen/Dense>
#include <complex>
#include <cstdint>
#include <vector>

namespace codesim::compress {

template <class S>
struct ButterflyFactors {
  int64_t length = 0;       // n, a power of two >= 2
  int64_t stages = 0;       // log2(n)
  int64_t stacks = 1;       // ceil(outputs / n)
  std::vector<S> twiddles;  // [stacks, stages, n/2, 2, 2]

  // 2·n·log2(n) per stack.
  int64_t params() const { return stacks * stages * length * 2; }
};

template <class S>
using MatrixX = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;

// The dense matrix [stacks·n, n] of the butterfly (stack k in rows k·n .. k·n + n - 1).
template <class S>
MatrixX<S> butterfly_matrix(const ButterflyFactors<S>& b);

// The recursive factorization of a square n x n matrix (n a power of two >= 2), one stack.
template <class S>
ButterflyFactors<S> factor_butterfly(const MatrixX<S>& t);

struct ButterflyFitOptions {
  int steps = 1000;             // Adam iterations per start
  double learning_rate = 0.01;  // peak rate of a cosine schedule, on the target scaled to an
                                // orthogonal matrix's norm
  int random_starts = 1;        // seeded random inits besides the greedy factorization
  uint64_t seed = 0;
  double target_error = 1e-7;  // stop a start once its relative error is below this
};

struct ButterflyFit {
  ButterflyFactors<double> factors;
  double relative_error = 1;   // ||T_hat - W||_F / ||W||_F over the rows/cols that matter
  double recursive_error = 1;  // of the greedy factorization alone
  int steps_run = 0;           // Adam iterations over all starts
  double seconds = 0;
};

// Fits w [outputs, inputs] (the matrix mapping an input vector to an output vector): length
// n = 2^ceil(log2 inputs) (at least 2), stacks = ceil(outputs / n).
ButterflyFit fit_butterfly(const Eigen::MatrixXd& w, const ButterflyFitOptions& options);

// ||a - b||_F / ||a||_F for real or complex matrices (0 when both are zero).
template <class S>
double relative_error_of(const MatrixX<S>& a, const MatrixX<S>& b) {
  const double na = a.norm(), diff = (a - b).norm();
  if (na == 0) return diff == 0 ? 0.0 : 1.0;
  return diff / na;
}

}  // namespace codesim::compress
