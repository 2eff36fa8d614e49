#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "compress/reference/executor.h"
#include "compress/tests/compress_test_util.h"
#include "compress/transforms/tt/tensor_algebra.h"
#include "compress/transforms/tt/tests/decomposition_test_util.h"
#include "compress/transforms/tt/tt_svd.h"

namespace codesim::compress {
namespace {

using namespace testing;

Eigen::MatrixXd random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  Eigen::MatrixXd m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = nd(rng);
  return m;
}

// A matrix with decaying structure (a sum of Kronecker products of decreasing weight), so that
// truncation errors spread over many ranks.
Eigen::MatrixXd decaying_matrix(const std::vector<int64_t>& m, const std::vector<int64_t>& n) {
  Eigen::MatrixXd w = Eigen::MatrixXd::Zero(product(m), product(n));
  for (int term = 0; term < 12; ++term) {
    Eigen::MatrixXd k = Eigen::MatrixXd::Ones(1, 1);
    for (size_t i = 0; i < m.size(); ++i) {
      const Eigen::MatrixXd f = random_matrix(m[i], n[i], 100 * term + i);
      Eigen::MatrixXd next(k.rows() * f.rows(), k.cols() * f.cols());
      for (int64_t a = 0; a < k.rows(); ++a)
        for (int64_t b = 0; b < k.cols(); ++b)
          next.block(a * f.rows(), b * f.cols(), f.rows(), f.cols()) = k(a, b) * f;
      k = next;
    }
    w += std::pow(0.6, term) * k;
  }
  return w + 1e-3 * random_matrix(w.rows(), w.cols(), 999);
}

TEST_CASE("balanced factors and the mode-tensor view round-trip", "[unit]") {
  CHECK(balanced_factors(768, 3) == std::vector<int64_t>{12, 8, 8});
  CHECK(balanced_factors(1024, 4) == std::vector<int64_t>{8, 8, 4, 4});
  CHECK(balanced_factors(13, 2) == std::vector<int64_t>{13, 1});
  CHECK(product(balanced_factors(3072, 3)) == 3072);
  const Eigen::MatrixXd w = random_matrix(24, 30, 1);
  const std::vector<int64_t> m = {2, 3, 4}, n = {5, 3, 2};
  const DenseTensor t = matrix_to_mode_tensor(w, m, n);
  CHECK(t.shape == std::vector<int64_t>{10, 9, 8});
  // W[i, j] with i = (1, 2, 3), j = (4, 1, 0) sits at mode indices (1·5+4, 2·3+1, 3·2+0).
  CHECK(t.data[(9 * 9 + 7) * 8 + 6] == w(1 * 12 + 2 * 4 + 3, 4 * 6 + 1 * 2 + 0));
  CHECK((mode_tensor_to_matrix(t, m, n) - w).norm() == 0);
}

TEST_CASE("TT-SVD at full rank reconstructs and has the closed-form size", "[unit]") {
  const std::vector<int64_t> m = {2, 3, 4}, n = {5, 3, 2};
  const Eigen::MatrixXd w = random_matrix(24, 30, 2);
  const TensorTrain tt = tt_svd(w, m, n, {1, 1000, 1000, 1});
  // Full ranks: min(10, 72) = 10 and min(90, 8) = 8.
  CHECK(tt.ranks == std::vector<int64_t>{1, 10, 8, 1});
  CHECK(relative_error(w, tt_to_matrix(tt)) < 1e-5);
  // sum_k r_{k-1} m_k n_k r_k = 1·10·10 + 10·9·8 + 8·8·1.
  CHECK(tt.params() == 100 + 720 + 64);
  size_t stored = 0;
  for (const auto& g : tt.cores) stored += g.data.size();
  CHECK(static_cast<int64_t>(stored) == tt.params());
  for (size_t k = 0; k < 3; ++k)
    CHECK(tt.cores[k].shape == std::vector<int64_t>{tt.ranks[k], m[k], n[k], tt.ranks[k + 1]});
}

TEST_CASE("TT truncation error decreases monotonically with rank", "[unit]") {
  const std::vector<int64_t> m = {4, 3, 4}, n = {3, 4, 3};
  const Eigen::MatrixXd w = decaying_matrix(m, n);
  double previous = 2;
  for (int64_t r = 1; r <= 12; ++r) {
    const double e = relative_error(w, tt_to_matrix(tt_svd(w, m, n, {1, r, r, 1})));
    INFO("rank " << r << " error " << e);
    CHECK(e < previous);
    previous = e;
  }
  CHECK(previous < 1e-5);  // 12 = the full rank of both bonds
}

// Evaluates the workload's einsum ops with plain loops over every index assignment, starting
// from `x` bound to the split tensor (a view of the activation), and returns the last result.
std::vector<double> run_einsums_by_loops(const ir::v1::Workload& w, const std::string& split,
                                         const std::vector<double>& x) {
  std::map<std::string, std::vector<double>> values = {{split, x}};
  std::vector<double> last;
  for (const auto& op : w.ops()) {
    if (op.kind_case() != ir::v1::Op::kEinsum) continue;
    const std::string& eq = op.einsum().equation();
    const std::string a = eq.substr(0, eq.find(','));
    const std::string b = eq.substr(eq.find(',') + 1, eq.find("->") - eq.find(',') - 1);
    const std::string out = eq.substr(eq.find("->") + 2);
    std::map<char, int64_t> size;
    std::string all;
    for (const auto& ix : op.einsum().indices()) {
      size[ix.name()[0]] = ix.size();
      all += ix.name()[0];
    }
    const auto operand = [&](const std::string& name) {
      auto it = values.find(name);
      if (it != values.end()) return it->second;
      const ir::v1::Tensor& t = tensor(w, name);
      return std::vector<double>(t.float_data().begin(), t.float_data().end());
    };
    const std::vector<double> va = operand(op.inputs(0)), vb = operand(op.inputs(1));
    int64_t out_size = 1;
    for (char c : out) out_size *= size[c];
    std::vector<double> res(static_cast<size_t>(out_size), 0.0);
    std::map<char, int64_t> at;
    for (char c : all) at[c] = 0;
    const auto offset = [&](const std::string& letters) {
      int64_t o = 0;
      for (char c : letters) o = o * size[c] + at[c];
      return o;
    };
    for (;;) {
      res[offset(out)] += va[offset(a)] * vb[offset(b)];
      size_t i = all.size();
      while (i > 0 && ++at[all[i - 1]] == size[all[i - 1]]) at[all[--i]] = 0;
      if (i == 0) break;
    }
    values[op.outputs(0)] = res;
    last = res;
  }
  return last;
}

TEST_CASE("tt transform: a gemm becomes an einsum sequence that computes x·W", "[unit]") {
  ir::v1::Workload w = mlp(5, 64, 48, 10);
  const ir::v1::Tensor original = tensor(w, "fc1.W");
  const auto results = run("pipeline: [{transform: tt, select: {name: fc1}, cores: 3}]", w);
  const OpChange& c = results[0].changes.at(0);
  // 48 = 4·4·3 outputs, 64 = 4·4·4 inputs; full ranks min(16, 144) = 16, min(192, 12) = 12.
  CHECK(c.figures.at("relative_error") < 1e-5);
  CHECK(c.params_after == 16 * 16 + 16 * 16 * 12 + 12 * 12 + 48);  // cores + bias
  CHECK(c.output_error >= 0);
  CHECK(c.output_error < 1e-10);
  CHECK(c.figures.at("planned_macs") <= c.figures.at("left_to_right_macs"));
  const ir::v1::Tensor& g1 = tensor(w, "fc1.tt.G1");
  REQUIRE(g1.structure().has_tensor_train());
  CHECK(g1.structure().tensor_train().ranks_size() == 4);
  CHECK(g1.structure().tensor_train().ranks(1) == 16);
  CHECK(c.new_ops.front() == "fc1.tt.split");
  CHECK(c.new_ops.back() == "fc1.tt.bias");

  // The einsum ops by plain loops: x [5, 64] through the sequence equals x·W (+ the bias added
  // by the last op, left out here).
  std::vector<double> x(5 * 64);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> nd;
  for (double& v : x) v = nd(rng);
  const std::vector<double> y = run_einsums_by_loops(w, "fc1.tt.x", x);
  REQUIRE(y.size() == 5 * 48);
  double err = 0, norm = 0;
  for (int r = 0; r < 5; ++r)
    for (int j = 0; j < 48; ++j) {
      double ref = 0;
      for (int k = 0; k < 64; ++k) ref += x[r * 64 + k] * original.float_data(k * 48 + j);
      err += (y[r * 48 + j] - ref) * (y[r * 48 + j] - ref);
      norm += ref * ref;
    }
  CHECK(std::sqrt(err / norm) < 1e-5);

  // MACs of the emitted ops add up to the planned figure.
  int64_t macs = 0;
  for (const auto& op : w.ops())
    if (op.kind_case() == ir::v1::Op::kEinsum) macs += ir::op_macs(w, op);
  CHECK(static_cast<double>(macs) == c.figures.at("planned_macs"));
}

TEST_CASE("tt transform: truncated ranks, explicit factors, TT-LSTM and errors", "[unit]") {
  ir::v1::Workload w = mlp(5, 64, 48, 10);
  auto results =
      run("pipeline: [{transform: tt, select: {name: fc1}, row_factors: \"6,8\", "
          "col_factors: \"8,8\", rank: 4}]",
          w);
  const OpChange& c = results[0].changes.at(0);
  CHECK(c.params_after == 6 * 8 * 4 + 4 * 8 * 8 + 48);
  CHECK(c.figures.at("relative_error") > 0.1);
  CHECK(c.output_error > 0.01);
  // The framework's output error and the weight error agree for a random input (isotropic).
  CHECK(std::sqrt(c.output_error) == Approx(c.figures.at("relative_error")).epsilon(0.2));

  ir::v1::Workload bad = mlp(5, 64, 48, 10);
  CHECK_THROWS_WITH(
      run("pipeline: [{transform: tt, select: {name: fc1}, row_factors: \"5,8\"}]", bad),
      Catch::Contains("row_factors [5, 8] multiply to 40, but the weight has 48"));

  // TT-LSTM: W_ih [4H = 32, I = 36] alone; at full rank the cell computes what it did.
  ir::v1::Workload l = lstm(3, 2, 36, 8);
  const ir::v1::Tensor whh = tensor(l, "lstm.weight_hh");
  results = run("pipeline: [{transform: tt, cores: 2}]", l);
  const OpChange& lc = results[0].changes.at(0);
  CHECK(lc.new_ops == std::vector<std::string>{"lstm"});
  CHECK(lc.figures.at("relative_error") < 1e-5);
  CHECK(lc.output_error < 1e-10);
  // 32 = 8·4, 36 = 6·6; full rank min(48, 24) = 24: 48·24 + 24·24, plus W_hh and the bias.
  CHECK(lc.params_after == 48 * 24 + 24 * 24 + 32 * 8 + 32);
  CHECK(tensor(l, "lstm.weight_ih").structure().has_tensor_train());
  CHECK(!tensor(l, "lstm.weight_hh").has_structure());
  CHECK(tensor(l, "lstm.weight_hh").float_data(5) == whh.float_data(5));

  CHECK(parse_errors("pipeline: [{transform: tt, ranks: \"2,4,1\"}]")
            .find("first and last TT ranks are 1") != std::string::npos);
  CHECK(parse_errors("pipeline: [{transform: tt, row_factors: \"4;4\"}]")
            .find("not a list of positive integers") != std::string::npos);
}

}  // namespace
}  // namespace codesim::compress
