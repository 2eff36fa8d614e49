#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "compress/tests/compress_test_util.h"
#include "compress/transforms/tucker2/tucker2_hosvd.h"

namespace codesim::compress {
namespace {

using namespace testing;

DenseTensor random_kernel(std::vector<int64_t> shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  DenseTensor t;
  t.shape = std::move(shape);
  t.data.resize(static_cast<size_t>(t.size()));
  for (double& v : t.data) v = nd(rng);
  return t;
}

double kernel_error(const DenseTensor& a, const DenseTensor& b) {
  double e = 0, n = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    e += (a.data[i] - b.data[i]) * (a.data[i] - b.data[i]);
    n += a.data[i] * a.data[i];
  }
  return std::sqrt(e / n);
}

TEST_CASE("Tucker-2 at full rank reconstructs and has the closed-form size", "[unit]") {
  const DenseTensor w = random_kernel({12, 7, 3, 3}, 1);
  const Tucker2 t = tucker2_hosvd(w, 12, 7);
  CHECK(kernel_error(w, tucker2_to_kernel(t)) < 1e-5);
  CHECK(t.core.shape == std::vector<int64_t>{12, 7, 3, 3});
  // R_out·R_in·kh·kw + F·R_out + C·R_in.
  CHECK(t.params() == 12 * 7 * 9 + 12 * 12 + 7 * 7);
  const Tucker2 small = tucker2_hosvd(w, 5, 3);
  CHECK(small.params() == 5 * 3 * 9 + 12 * 5 + 7 * 3);
  CHECK(static_cast<int64_t>(small.core.data.size() + small.u_out.size() + small.u_in.size()) ==
        small.params());
  // The bases are orthonormal.
  CHECK((small.u_out.transpose() * small.u_out - Eigen::MatrixXd::Identity(5, 5)).norm() < 1e-10);
}

TEST_CASE("Tucker-2 error decreases monotonically with either rank", "[unit]") {
  const DenseTensor w = random_kernel({10, 8, 3, 3}, 2);
  double previous = 2;
  for (int64_t r = 1; r <= 8; ++r) {
    const double e = kernel_error(w, tucker2_to_kernel(tucker2_hosvd(w, r + 2, r)));
    INFO("ranks " << r + 2 << ", " << r << ": " << e);
    CHECK(e < previous);
    previous = e;
  }
  double prev_out = 2;
  for (int64_t r = 1; r <= 10; ++r) {
    const double e = kernel_error(w, tucker2_to_kernel(tucker2_hosvd(w, r, 4)));
    CHECK(e < prev_out);
    prev_out = e;
  }
}

TEST_CASE("tucker2 transform: conv2d becomes 1x1, kxk, 1x1 convolutions", "[unit]") {
  ir::v1::Workload w = conv(8, 16, 6);
  auto results = run("pipeline: [{transform: tucker2, rank_out: 16, rank_in: 8}]", w);
  const OpChange& full = results[0].changes.at(0);
  CHECK(full.new_ops ==
        std::vector<std::string>{"conv.tucker2.in", "conv.tucker2.core", "conv.tucker2.out"});
  CHECK(full.figures.at("relative_error") < 1e-5);
  CHECK(full.output_error >= 0);
  CHECK(full.output_error < 1e-10);
  CHECK(full.params_after == 16 * 8 * 9 + 16 * 16 + 8 * 8 + 16);
  CHECK(tensor(w, "conv.tucker2.core").structure().tucker().ranks(0) == 16);

  ir::v1::Workload t = conv(8, 16, 6);
  results = run("pipeline: [{transform: tucker2, rank_fraction: 0.5}]", t);
  const OpChange& half = results[0].changes.at(0);
  CHECK(half.figures.at("rank_out") == 8);
  CHECK(half.figures.at("rank_in") == 4);
  CHECK(half.params_after == 8 * 4 * 9 + 16 * 8 + 8 * 4 + 16);
  CHECK(half.figures.at("relative_error") > 0.1);
  CHECK(half.output_error > 0.01);
  // Batch 2, 6x6, padding 1: 2·36·8·4 + 2·36·8·4·9 + 2·36·16·8 MACs.
  CHECK(half.figures.at("planned_macs") == 2 * 36 * 8 * 4 + 2 * 36 * 8 * 4 * 9 + 2 * 36 * 16 * 8);
  int64_t macs = 0;
  for (const auto& op : t.ops()) macs += ir::op_macs(t, op);
  CHECK(static_cast<double>(macs) == half.figures.at("planned_macs"));
}

}  // namespace
}  // namespace codesim::compress
