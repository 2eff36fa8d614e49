#include "compress/transforms/tt/contraction.h"

#include <catch2/catch.hpp>
#include <random>

#include "compress/transforms/ht/ht_decomposition.h"
#include "compress/transforms/tt/tensor_algebra.h"

namespace codesim::compress {
namespace {

// X[b, n_1..n_d] with TT cores G_k[r_{k-1}, m_k, n_k, r_k] -> Y[b, m_1..m_d]. Letters: m_k = k,
// n_k = d + k, r_k = 2d + k, b = 3d + 1.
TensorNetwork tt_network(int64_t b, const std::vector<int64_t>& m, const std::vector<int64_t>& n,
                         const std::vector<int64_t>& r) {
  const int d = static_cast<int>(m.size());
  TensorNetwork net;
  const char bl = index_letter(3 * d + 1);
  net.sizes[bl] = b;
  std::string x(1, bl), y(1, bl);
  for (int k = 0; k < d; ++k) {
    net.sizes[index_letter(k)] = m[k];
    net.sizes[index_letter(d + k)] = n[k];
    x += index_letter(d + k);
    y += index_letter(k);
  }
  for (int k = 0; k <= d; ++k) net.sizes[index_letter(2 * d + k)] = r[k];
  net.tensors.push_back({"X", x});
  for (int k = 0; k < d; ++k)
    net.tensors.push_back({"G" + std::to_string(k + 1),
                           {index_letter(2 * d + k), index_letter(k), index_letter(d + k),
                            index_letter(2 * d + k + 1)}});
  net.output = y;
  return net;
}

// X with HT leaves and transfer tensors over the balanced tree, as the ht transform builds it.
TensorNetwork ht_network(int64_t b, const std::vector<int64_t>& m, const std::vector<int64_t>& n,
                         const std::vector<HtTreeNode>& nodes) {
  const int d = static_cast<int>(m.size());
  const int count = static_cast<int>(nodes.size());
  TensorNetwork net;
  const char bl = index_letter(2 * d + count);
  net.sizes[bl] = b;
  std::string x(1, bl), y(1, bl);
  for (int k = 0; k < d; ++k) {
    net.sizes[index_letter(k)] = m[k];
    net.sizes[index_letter(d + k)] = n[k];
    x += index_letter(d + k);
    y += index_letter(k);
  }
  net.tensors.push_back({"X", x});
  for (int t = 0; t < count; ++t) {
    net.sizes[index_letter(2 * d + t)] = nodes[t].rank;
    const HtTreeNode& node = nodes[t];
    if (node.leaf()) {
      const int k = node.modes[0];
      net.tensors.push_back({"U" + std::to_string(t),
                             {index_letter(k), index_letter(d + k), index_letter(2 * d + t)}});
    } else {
      std::string idx = {index_letter(2 * d + node.left), index_letter(2 * d + node.right)};
      if (t > 0) idx += index_letter(2 * d + t);
      net.tensors.push_back({"B" + std::to_string(t), idx});
    }
  }
  net.output = y;
  return net;
}

TEST_CASE("planned MACs never exceed left-to-right on random TT, HT and generic networks",
          "[unit]") {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> dim(1, 9), rank(1, 12), batch(1, 300);
  int strictly_better = 0;
  for (int trial = 0; trial < 150; ++trial) {
    const int d = 2 + trial % 4;
    std::vector<int64_t> m(d), n(d), r(d + 1, 1);
    for (int k = 0; k < d; ++k) {
      m[k] = dim(rng);
      n[k] = dim(rng);
    }
    for (int k = 1; k < d; ++k) r[k] = rank(rng);
    const TensorNetwork tt = tt_network(batch(rng), m, n, r);
    const ContractionPlan best = plan_min_macs(tt);
    const ContractionPlan naive = plan_left_to_right(tt);
    INFO("TT trial " << trial << ": " << best.order_text(tt));
    CHECK(best.macs() <= naive.macs());
    strictly_better += best.macs() < naive.macs();

    std::vector<HtTreeNode> nodes = ht_balanced_tree(d);
    for (size_t t = 1; t < nodes.size(); ++t) nodes[t].rank = rank(rng);
    nodes[0].rank = 1;
    const TensorNetwork ht = ht_network(batch(rng), m, n, nodes);
    const ContractionPlan hbest = plan_min_macs(ht);
    CHECK(hbest.macs() <= plan_left_to_right(ht).macs());
  }
  // The planner must actually matter on these shapes, not only tie.
  CHECK(strictly_better > 50);

  // Generic random networks: a chain with extra hyper-connections.
  for (int trial = 0; trial < 100; ++trial) {
    TensorNetwork net;
    const int letters = 6 + trial % 6;
    for (int i = 0; i < letters; ++i) net.sizes[index_letter(i)] = dim(rng) + 1;
    const int tensors = 3 + trial % 5;
    std::uniform_int_distribution<int> pick(0, letters - 1);
    std::set<char> used;
    for (int t = 0; t < tensors; ++t) {
      std::string idx;
      for (int j = 0; j < 3; ++j) {
        const char c = index_letter(pick(rng));
        if (idx.find(c) == std::string::npos) idx += c;
      }
      used.insert(idx.begin(), idx.end());
      net.tensors.push_back({"T" + std::to_string(t), idx});
    }
    net.output = std::string(1, *used.begin());
    INFO("generic trial " << trial);
    CHECK(plan_min_macs(net).macs() <= plan_left_to_right(net).macs());
  }
}

TEST_CASE("TT stage MACs equal the closed forms of both sweep directions", "[unit]") {
  const std::vector<int64_t> m = {4, 3, 5}, n = {2, 6, 3}, r = {1, 5, 7, 1};
  const int64_t b = 11;
  const TensorNetwork net = tt_network(b, m, n, r);
  const int d = 3;

  // Left to right: stage k contracts X·G_1..G_{k-1} [b, m_<k, r_{k-1}, n_>=k] with G_k:
  // b · prod_{l<=k} m_l · r_{k-1} r_k · prod_{l>=k} n_l.
  const ContractionPlan ltr = plan_left_to_right(net);
  REQUIRE(ltr.steps.size() == 3);
  for (int k = 0; k < d; ++k) {
    int64_t expect = b * r[k] * r[k + 1];
    for (int l = 0; l <= k; ++l) expect *= m[l];
    for (int l = k; l < d; ++l) expect *= n[l];
    CHECK(ltr.steps[k].macs == expect);
  }

  // TIE's order, G_d first (reference/accelerators.md §4.2): stage k costs
  // m_k r_{k-1} n_k r_k · prod_{l<k} n_l · prod_{l>k} m_l per vector.
  const int count = static_cast<int>(net.tensors.size());
  const ContractionPlan tie = plan_from_pairs(net, {{0, 3}, {count, 2}, {count + 1, 1}});
  for (int s = 0; s < d; ++s) {
    const int k = d - 1 - s;
    int64_t expect = b * m[k] * r[k] * n[k] * r[k + 1];
    for (int l = 0; l < k; ++l) expect *= n[l];
    for (int l = k + 1; l < d; ++l) expect *= m[l];
    CHECK(tie.steps[s].macs == expect);
  }
  CHECK(plan_min_macs(net).macs() <= std::min(tie.macs(), ltr.macs()));
}

TEST_CASE("HT leaf stages cost the remaining tensor times the contracted leaf", "[unit]") {
  // §4.1: contracting leaf k replaces n_k by (m_k, r_k); the cost is the size of the tensor
  // before the step times m_k·r_k.
  const std::vector<int64_t> m = {3, 4, 2, 5}, n = {5, 2, 3, 4};
  std::vector<HtTreeNode> nodes = ht_balanced_tree(4);
  const std::vector<int64_t> ranks = {1, 6, 7, 2, 3, 4, 5};
  for (size_t t = 0; t < nodes.size(); ++t) nodes[t].rank = ranks[t];
  const int64_t b = 9;
  const TensorNetwork net = ht_network(b, m, n, nodes);
  // Leaves are nodes 3..6 (modes 0..3), tensors 4..7 of the network.
  const int count = static_cast<int>(net.tensors.size());
  std::vector<std::pair<int, int>> pairs = {{0, 4}, {count, 5}, {count + 1, 6}, {count + 2, 7}};
  // Then B_1 (tensor 2), B_2 (tensor 3), the root (tensor 1).
  pairs.push_back({count + 3, 2});
  pairs.push_back({count + 4, 3});
  pairs.push_back({count + 5, 1});
  const ContractionPlan plan = plan_from_pairs(net, pairs);
  int64_t size = b * n[0] * n[1] * n[2] * n[3];
  for (int k = 0; k < 4; ++k) {
    CHECK(plan.steps[k].macs == size * m[k] * ranks[3 + k]);
    size = size / n[k] * m[k] * ranks[3 + k];
  }
  // B_1 [r_3, r_4, r_1] against [b, m.., r_3, r_4, r_5, r_6]: all of it times r_1.
  CHECK(plan.steps[4].macs == size * ranks[1]);
  CHECK(plan.macs() >= plan_min_macs(net).macs());
}

}  // namespace
}  // namespace codesim::compress
