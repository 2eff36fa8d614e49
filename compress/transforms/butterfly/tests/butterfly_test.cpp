#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "compress/reference/executor.h"
#include "compress/tests/compress_test_util.h"
#include "compress/transforms/butterfly/butterfly_fit.h"

namespace codesim::compress {
namespace {

using namespace testing;

Eigen::MatrixXd hadamard(int64_t n) {
  Eigen::MatrixXd h = Eigen::MatrixXd::Ones(1, 1);
  while (h.rows() < n) {
    Eigen::MatrixXd g(2 * h.rows(), 2 * h.rows());
    g << h, h, h, -h;
    h = g;
  }
  return h;
}

Eigen::MatrixXd random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  Eigen::MatrixXd m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = nd(rng);
  return m;
}

TEST_CASE("butterfly matrix follows the torch_butterfly stage convention", "[unit]") {
  // n = 4: stage 0 pairs (0,1), (2,3); stage 1 pairs (0,2), (1,3).
  ButterflyFactors<double> b;
  b.length = 4;
  b.stages = 2;
  b.twiddles = {1, 2, 3, 4, 5, 6, 7, 8,   // stage 0, pairs 0 and 1
                1, 0, 0, 1, 0, 1, 1, 0};  // stage 1: pair (0,2) identity, pair (1,3) swap
  const Eigen::MatrixXd t = butterfly_matrix(b);
  // Stage 0 rows: (1, 2, 0, 0), (3, 4, 0, 0), (0, 0, 5, 6), (0, 0, 7, 8); stage 1 swaps rows 1, 3.
  Eigen::MatrixXd expect(4, 4);
  expect << 1, 2, 0, 0,  //
      0, 0, 7, 8,        //
      0, 0, 5, 6,        //
      3, 4, 0, 0;
  CHECK((t - expect).norm() == 0);
  CHECK(b.params() == 2 * 4 * 2);
}

TEST_CASE("Hadamard 16 and 64 factor exactly", "[unit]") {
  for (int64_t n : {16, 64}) {
    const ButterflyFit fit = fit_butterfly(hadamard(n), ButterflyFitOptions{});
    INFO("n " << n);
    CHECK(fit.relative_error < 1e-5);
    CHECK(fit.recursive_error < 1e-5);
    CHECK(fit.steps_run == 0);  // the recursive factorization is already exact
    CHECK(fit.factors.stages == (n == 16 ? 4 : 6));
    CHECK(relative_error_of<double>(hadamard(n), butterfly_matrix(fit.factors)) < 1e-5);
  }
}

TEST_CASE("the DFT with bit-reversed input order factors exactly in complex arithmetic", "[unit]") {
  // Radix-2 decimation in time: F_n P = B_{L-1} ... B_0 with twiddles [[1, w], [1, -w]].
  for (int64_t n : {8, 32}) {
    int bits = 0;
    while ((int64_t{1} << bits) < n) ++bits;
    const auto reverse = [&](int64_t j) {
      int64_t r = 0;
      for (int b = 0; b < bits; ++b)
        if (j >> b & 1) r |= int64_t{1} << (bits - 1 - b);
      return r;
    };
    MatrixX<std::complex<double>> f(n, n);
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < n; ++j)
        f(k, j) = std::polar(1.0, -2 * M_PI * static_cast<double>(k * reverse(j)) / n);
    const auto b = factor_butterfly<std::complex<double>>(f);
    INFO("n " << n);
    CHECK(relative_error_of<std::complex<double>>(f, butterfly_matrix(b)) < 1e-5);
  }
}

TEST_CASE("a random dense matrix fits a butterfly only roughly", "[unit]") {
  const Eigen::MatrixXd r = random_matrix(64, 64, 7);
  ButterflyFitOptions o;
  o.seed = 3;
  const ButterflyFit fit = fit_butterfly(r, o);
  // 768 twiddles for 4096 entries: the fit is poor (measured 0.87), and Adam improves the
  // recursive factorization (measured 0.90).
  CHECK(fit.relative_error > 0.1);
  CHECK(fit.relative_error < fit.recursive_error);
  CHECK(fit.steps_run > 0);
}

TEST_CASE("Adam recovers a butterfly hidden in noise", "[unit]") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> nd(0, std::sqrt(0.5));
  ButterflyFactors<double> b;
  b.length = 64;
  b.stages = 6;
  for (int i = 0; i < 6 * 64 * 2; ++i) b.twiddles.push_back(nd(rng));
  const Eigen::MatrixXd t = butterfly_matrix(b);
  Eigen::MatrixXd noise = random_matrix(64, 64, 4);
  noise *= 0.05 * t.norm() / noise.norm();
  const ButterflyFit fit = fit_butterfly(t + noise, ButterflyFitOptions{});
  // The greedy factorization compounds the noise over six levels; Adam gets down to the noise
  // level (relative noise 0.05).
  INFO("greedy " << fit.recursive_error << ", Adam " << fit.relative_error);
  CHECK(fit.relative_error < 0.055);
  CHECK(fit.relative_error < 0.6 * fit.recursive_error);
}

TEST_CASE("butterfly transform: a gemm becomes a stacked butterfly op", "[unit]") {
  // fc1: x [5, 16] -> 32 outputs, the weight two stacked Hadamard blocks (exact), so the
  // executor's butterfly op must reproduce the gemm.
  ir::v1::Workload w = mlp(5, 16, 32, 10);
  ir::v1::Tensor& wt = *ir::find_tensor(w, "fc1.W");
  const Eigen::MatrixXd h = hadamard(16);
  for (int64_t k = 0; k < 16; ++k)
    for (int64_t j = 0; j < 32; ++j)
      wt.set_float_data(static_cast<int>(k * 32 + j),
                        static_cast<float>(0.25 * (j < 16 ? h(j, k) : -0.5 * h(j - 16, k))));
  auto results = run("pipeline: [{transform: butterfly, select: {name: fc1}}]", w);
  const OpChange& c = results[0].changes.at(0);
  CHECK(c.figures.at("relative_error") < 1e-5);
  CHECK(c.output_error < 1e-10);
  CHECK(c.new_ops == std::vector<std::string>{"fc1.butterfly", "fc1.butterfly.bias"});
  // Two stacks of 2·16·4 twiddles, plus the bias.
  CHECK(c.params_after == 2 * 2 * 16 * 4 + 32);
  const ir::v1::Tensor& tw = tensor(w, "fc1.butterfly.twiddles");
  CHECK(tw.structure().butterfly().stacks() == 2);
  CHECK(tw.structure().butterfly().length() == 16);
  CHECK(c.figures.at("planned_macs") == 5 * 2 * 4 * 2 * 16);

  // A random weight with a non-power-of-two input (zero-padded to 16) fits roughly.
  ir::v1::Workload r = mlp(5, 12, 20, 10);
  results = run("pipeline: [{transform: butterfly, select: {name: fc1}, steps: 200}]", r);
  const OpChange& rc = results[0].changes.at(0);
  CHECK(rc.figures.at("relative_error") > 0.1);
  CHECK(rc.output_error > 0.01);
  CHECK(tensor(r, "fc1.butterfly.twiddles").structure().butterfly().stacks() == 2);
}

}  // namespace
}  // namespace codesim::compress
