#include <Eigen/SVD>
#include <catch2/catch.hpp>

#include "compress/quality.h"
#include "compress/tests/compress_test_util.h"
#include "compress/transform.h"

namespace codesim::compress {
namespace {

using namespace testing;

// W [outputs x reduction] of a gemm B [K, N].
Eigen::MatrixXd gemm_matrix(const ir::v1::Tensor& b) {
  Eigen::MatrixXd m(b.shape(1), b.shape(0));
  for (int64_t k = 0; k < b.shape(0); ++k)
    for (int64_t n = 0; n < b.shape(1); ++n)
      m(n, k) = b.float_data(static_cast<int>(k * b.shape(1) + n));
  return m;
}

TEST_CASE("lowrank: the error is the sum of the discarded squared singular values", "[unit]") {
  for (auto [k, n] : std::vector<std::pair<int, int>>{{64, 40}, {30, 72}}) {
    ir::v1::Workload w = mlp(4, k, n, 10);
    const Eigen::MatrixXd dense = gemm_matrix(tensor(w, "fc1.W"));
    const Eigen::VectorXd sv = Eigen::JacobiSVD<Eigen::MatrixXd>(dense).singularValues();
    const int rank = 9;
    const auto r = run(
        "pipeline: [{transform: lowrank, select: {name: fc1}, rank: " + std::to_string(rank) + "}]",
        w);
    double discarded = 0;
    for (int i = rank; i < sv.size(); ++i) discarded += sv(i) * sv(i);
    // The two factors as the workload now holds them: B [K, r] then A [r, N].
    const Eigen::MatrixXd b = gemm_matrix(tensor(w, "fc1.lowrank.B"));  // r x K
    const Eigen::MatrixXd a = gemm_matrix(tensor(w, "fc1.lowrank.A"));  // N x r
    const double error = (dense - a * b).squaredNorm();
    CHECK(error == Approx(discarded).epsilon(1e-4));
    const OpChange& c = r[0].changes[0];
    CHECK(c.figures.at("discarded_sq_singular_values") == Approx(discarded).epsilon(1e-5));
    CHECK(c.figures.at("rank") == rank);
    CHECK(c.new_ops == std::vector<std::string>{"fc1.lowrank0", "fc1.lowrank1"});
    CHECK(c.params_after == rank * (k + n) + n);
    CHECK(!ir::find_tensor(w, "fc1.W"));  // the dense weight is gone
    CHECK(w.ops_size() == 4);
    CHECK(w.ops(0).gemm().n() == rank);
    CHECK(w.ops(1).gemm().k() == rank);
  }
}

TEST_CASE("lowrank: energy picks the smallest rank keeping that fraction", "[unit]") {
  ir::v1::Workload w = mlp(4, 64, 40, 10);
  const Eigen::VectorXd sv =
      Eigen::JacobiSVD<Eigen::MatrixXd>(gemm_matrix(tensor(w, "fc1.W"))).singularValues();
  const double total = sv.squaredNorm();
  const auto r = run("pipeline: [{transform: lowrank, select: {name: fc1}, energy: 0.8}]", w);
  const int rank = static_cast<int>(r[0].changes[0].figures.at("rank"));
  CHECK(sv.head(rank).squaredNorm() >= 0.8 * total);
  CHECK(sv.head(rank - 1).squaredNorm() < 0.8 * total);
}

TEST_CASE("lowrank: a conv becomes a rank-r conv and a 1x1 conv with the same output", "[unit]") {
  ir::v1::Workload w = conv(8, 16, 6);
  const ir::v1::Workload before = w;
  const auto r = run("pipeline: [{transform: lowrank, rank_fraction: 1}]", w);
  REQUIRE(w.ops_size() == 2);
  CHECK(w.ops(0).conv2d().filters() == 16);  // min(16, 72)
  CHECK(w.ops(1).conv2d().kernel_h() == 1);
  CHECK(r[0].changes[0].output_error < 1e-9);
  const auto x = random_inputs(before, 2, 9);
  const auto y0 = Executor(before).run(x).at("y");
  const auto y1 = Executor(w).run(x).at("y");
  REQUIRE(y0.shape == y1.shape);
  for (size_t i = 0; i < y0.data.size(); ++i) CHECK(y1.data[i] == Approx(y0.data[i]).margin(1e-4));

  ir::v1::Workload half = conv(8, 16, 6);
  const auto rh = run("pipeline: [{transform: lowrank, rank_fraction: 0.5}]", half);
  CHECK(rh[0].changes[0].figures.at("rank") == 8);
  CHECK(rh[0].changes[0].output_error > 0.01);
}

}  // namespace
}  // namespace codesim::compress
