#include <catch2/catch.hpp>
#include <random>

#include "compress/tests/compress_test_util.h"
#include "compress/transforms/ht/ht_decomposition.h"
#include "compress/transforms/tt/tests/decomposition_test_util.h"

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

TEST_CASE("HT tree is balanced and breadth-first", "[unit]") {
  const std::vector<HtTreeNode> t = ht_balanced_tree(4);
  REQUIRE(t.size() == 7);
  CHECK(t[0].modes == std::vector<int>{0, 1, 2, 3});
  CHECK(t[0].left == 1);
  CHECK(t[0].right == 2);
  CHECK(t[1].modes == std::vector<int>{0, 1});
  CHECK(t[2].modes == std::vector<int>{2, 3});
  for (int i = 3; i < 7; ++i) CHECK(t[i].modes == std::vector<int>{i - 3});
  const std::vector<HtTreeNode> t3 = ht_balanced_tree(3);
  CHECK(t3[1].modes == std::vector<int>{0, 1});
  CHECK(t3[2].leaf());
}

TEST_CASE("HT at full rank reconstructs and has the closed-form size", "[unit]") {
  const std::vector<int64_t> m = {2, 3, 2, 2}, n = {3, 2, 5, 1};
  const Eigen::MatrixXd w = random_matrix(24, 30, 4);
  const HierarchicalTuckerMatrix ht = ht_decompose(w, m, n, std::vector<int64_t>(7, 1000));
  CHECK(relative_error(w, ht_to_matrix(ht)) < 1e-5);
  // Mode sizes 6, 6, 10, 2: leaves keep 6, 6, 10, 2; nodes {0,1} and {2,3} min(36, 20) = 20 and
  // min(20, 36) = 20.
  std::vector<int64_t> ranks;
  for (const auto& t : ht.nodes) ranks.push_back(t.rank);
  CHECK(ranks == std::vector<int64_t>{1, 20, 20, 6, 6, 10, 2});
  CHECK(ranks == ht_full_ranks(m, n));
  // Leaves sum m_k n_k r_k, transfer tensors r_l r_r r_t.
  const int64_t leaves = 6 * 6 + 6 * 6 + 10 * 10 + 2 * 2;
  const int64_t transfer = 6 * 6 * 20 + 10 * 2 * 20 + 20 * 20 * 1;
  CHECK(ht.params() == leaves + transfer);
  int64_t stored = 0;
  for (const auto& t : ht.tensors) stored += t.size();
  CHECK(stored == ht.params());
}

TEST_CASE("HT with equal ranks matches d·m·n·r + (d-2)·r^3 + r^2", "[unit]") {
  const std::vector<int64_t> m = {4, 4, 4, 4}, n = {4, 4, 4, 4};
  const Eigen::MatrixXd w = random_matrix(256, 256, 5);
  const int64_t r = 5;
  const HierarchicalTuckerMatrix ht = ht_decompose(w, m, n, std::vector<int64_t>(7, r));
  CHECK(ht.params() == 4 * 4 * 4 * r + 2 * r * r * r + r * r);
  CHECK(ht_to_matrix(ht).rows() == 256);
}

TEST_CASE("HT truncation error decreases monotonically with rank", "[unit]") {
  // Low-rank-ish: a product of two random factors plus noise.
  const std::vector<int64_t> m = {3, 4, 2, 3}, n = {2, 3, 4, 2};
  const Eigen::MatrixXd w =
      random_matrix(72, 10, 6) * random_matrix(10, 48, 7) + 0.05 * random_matrix(72, 48, 8);
  double previous = 2;
  for (int64_t r = 1; r <= 36; r += 5) {
    const double e =
        relative_error(w, ht_to_matrix(ht_decompose(w, m, n, std::vector<int64_t>(7, r))));
    INFO("rank " << r << " error " << e);
    CHECK(e < previous);
    previous = e;
  }
  CHECK(relative_error(w, ht_to_matrix(ht_decompose(w, m, n, std::vector<int64_t>(7, 1000)))) <
        1e-5);
}

TEST_CASE("ht transform: a gemm becomes an einsum sequence, exact at full rank", "[unit]") {
  ir::v1::Workload w = mlp(5, 64, 48, 10);
  const auto results = run("pipeline: [{transform: ht, select: {name: fc1}, cores: 4}]", w);
  const OpChange& c = results[0].changes.at(0);
  CHECK(c.figures.at("relative_error") < 1e-5);
  CHECK(c.output_error >= 0);
  CHECK(c.output_error < 1e-10);
  CHECK(c.figures.at("planned_macs") <= c.figures.at("left_to_right_macs"));
  // 48 = 4·3·2·2, 64 = 4·4·2·2: 7 tensors, 7 einsum stages (X plus 7 factors).
  CHECK(c.figures.at("contraction_stages") == 7);
  const ir::v1::Tensor& root = tensor(w, "fc1.ht.B0");
  REQUIRE(root.structure().has_hierarchical_tucker());
  const auto& s = root.structure().hierarchical_tucker();
  CHECK(s.nodes_size() == 7);
  CHECK(s.nodes(0).rank() == 1);
  CHECK(s.nodes(0).left() == 1);
  CHECK(s.nodes(3).left() == -1);
  int64_t factors = 0;
  for (int i = 0; i < 7; ++i) {
    const std::string role = (s.nodes(i).left() < 0 ? "fc1.ht.U" : "fc1.ht.B") + std::to_string(i);
    factors += ir::tensor_elements(tensor(w, role));
  }
  CHECK(c.params_after == factors + 48);
  CHECK(c.figures.at("params") == factors);
}

TEST_CASE("ht transform: FDHT-LSTM decomposes [W_ih | W_hh] as one matrix", "[unit]") {
  // 4H = 32, I + H = 24 + 8 = 32.
  ir::v1::Workload w = lstm(3, 2, 24, 8);
  auto results = run("pipeline: [{transform: ht, cores: 2}]", w);
  const OpChange& full = results[0].changes.at(0);
  CHECK(full.figures.at("relative_error") < 1e-5);
  CHECK(full.output_error < 1e-10);
  const auto& a = tensor(w, "lstm.weight_ih").structure();
  const auto& b = tensor(w, "lstm.weight_hh").structure();
  REQUIRE(a.has_hierarchical_tucker());
  CHECK(a.SerializeAsString() == b.SerializeAsString());
  // Column factors split I + H = 32.
  CHECK(a.hierarchical_tucker().col_factors(0) * a.hierarchical_tucker().col_factors(1) == 32);

  ir::v1::Workload t = lstm(3, 2, 24, 8);
  results = run("pipeline: [{transform: ht, cores: 2, rank: 3}]", t);
  const OpChange& low = results[0].changes.at(0);
  // 32 = 8·4 rows, 32 = 8·4 columns: leaves 64·3 + 16·3, root 3·3, plus the bias.
  CHECK(low.params_after == 64 * 3 + 16 * 3 + 9 + 32);
  CHECK(low.params_before == 32 * 24 + 32 * 8 + 32);
  // The workload's totals count the factors, not the reconstruction the weights hold.
  CHECK(workload_stored_params(t) == low.params_after);
  CHECK(low.figures.at("relative_error") > 0.1);
  CHECK(low.output_error > 0);
  CHECK(low.figures.at("planned_macs") <= low.figures.at("left_to_right_macs"));
}

}  // namespace
}  // namespace codesim::compress
