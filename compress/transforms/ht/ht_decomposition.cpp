#include "compress/transforms/ht/ht_decomposition.h"

#include <algorithm>
#include <deque>
#include <stdexcept>

namespace codesim::compress {

std::vector<HtTreeNode> ht_balanced_tree(int d) {
  if (d < 2) throw std::invalid_argument("an HT dimension tree needs at least two modes");
  std::vector<HtTreeNode> nodes(1);
  for (int k = 0; k < d; ++k) nodes[0].modes.push_back(k);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].modes.size() < 2) continue;
    const std::vector<int> modes = nodes[i].modes;
    const size_t half = (modes.size() + 1) / 2;
    HtTreeNode l, r;
    l.modes.assign(modes.begin(), modes.begin() + static_cast<long>(half));
    r.modes.assign(modes.begin() + static_cast<long>(half), modes.end());
    nodes[i].left = static_cast<int>(nodes.size());
    nodes[i].right = static_cast<int>(nodes.size()) + 1;
    nodes.push_back(l);
    nodes.push_back(r);
  }
  return nodes;
}

int64_t ht_params(const std::vector<int64_t>& m, const std::vector<int64_t>& n,
                  const std::vector<HtTreeNode>& nodes) {
  int64_t p = 0;
  for (const auto& t : nodes) {
    if (t.leaf())
      p += m[t.modes[0]] * n[t.modes[0]] * t.rank;
    else
      p += nodes[t.left].rank * nodes[t.right].rank * t.rank;
  }
  return p;
}

std::vector<int64_t> ht_full_ranks(const std::vector<int64_t>& m, const std::vector<int64_t>& n) {
  const std::vector<HtTreeNode> nodes = ht_balanced_tree(static_cast<int>(m.size()));
  int64_t total = 1;
  for (size_t k = 0; k < m.size(); ++k) total *= m[k] * n[k];
  std::vector<int64_t> r(nodes.size(), 1);
  // Children have larger breadth-first numbers than their parent.
  for (size_t i = nodes.size(); i-- > 1;) {
    int64_t inside = 1;
    for (int k : nodes[i].modes) inside *= m[k] * n[k];
    const int64_t outside = total / inside;
    r[i] = nodes[i].leaf() ? std::min(inside, outside)
                           : std::min(r[nodes[i].left] * r[nodes[i].right], outside);
  }
  return r;
}

int64_t HierarchicalTuckerMatrix::params() const {
  return ht_params(row_factors, col_factors, nodes);
}

HierarchicalTuckerMatrix ht_decompose(const Eigen::MatrixXd& w, const std::vector<int64_t>& m,
                                      const std::vector<int64_t>& n,
                                      const std::vector<int64_t>& ranks) {
  const int d = static_cast<int>(m.size());
  HierarchicalTuckerMatrix ht;
  ht.row_factors = m;
  ht.col_factors = n;
  ht.nodes = ht_balanced_tree(d);
  if (ranks.size() != ht.nodes.size())
    throw std::invalid_argument("ht_decompose: " + std::to_string(ht.nodes.size()) +
                                " node ranks expected, got " + std::to_string(ranks.size()));
  for (size_t i = 1; i < ranks.size(); ++i)
    if (ranks[i] < 1) throw std::invalid_argument("ht_decompose: ranks must be >= 1");
  const DenseTensor a = matrix_to_mode_tensor(w, m, n);
  ht.tensors.resize(ht.nodes.size());

  // Leaf frames from the unfoldings of W itself, then the core C = W x_k U_k^T for every k.
  std::vector<int> frontier(d);  // node of each axis of `core`
  std::vector<Eigen::MatrixXd> frames(d);
  for (size_t i = 0; i < ht.nodes.size(); ++i) {
    HtTreeNode& t = ht.nodes[i];
    if (!t.leaf()) continue;
    const int k = t.modes[0];
    const int64_t size = a.shape[k], outside = a.size() / size;
    t.rank = std::min({ranks[i], size, outside});
    frames[k] = mode_subspace(a, k, t.rank).basis;
    ht.tensors[i].shape = {m[k], n[k], t.rank};
    ht.tensors[i].data.resize(static_cast<size_t>(size * t.rank));
    Eigen::Map<RowMatrixXd>(ht.tensors[i].data.data(), size, t.rank) = frames[k];
    frontier[k] = static_cast<int>(i);
  }
  DenseTensor core = a;
  for (int k = 0; k < d; ++k) core = mode_product(core, k, frames[k]);

  // Internal nodes deepest first: merge the two child axes, keep the leading subspace.
  for (size_t i = ht.nodes.size(); i-- > 1;) {
    HtTreeNode& t = ht.nodes[i];
    if (t.leaf()) continue;
    const int pos =
        static_cast<int>(std::find(frontier.begin(), frontier.end(), t.left) - frontier.begin());
    const int64_t rl = ht.nodes[t.left].rank, rr = ht.nodes[t.right].rank;
    core = merge_axes(std::move(core), pos);
    t.rank = std::min({ranks[i], rl * rr, core.size() / (rl * rr)});
    const Eigen::MatrixXd u = mode_subspace(core, pos, t.rank).basis;
    ht.tensors[i].shape = {rl, rr, t.rank};
    ht.tensors[i].data.resize(static_cast<size_t>(rl * rr * t.rank));
    Eigen::Map<RowMatrixXd>(ht.tensors[i].data.data(), rl * rr, t.rank) = u;
    core = mode_product(core, pos, u);
    frontier[pos] = static_cast<int>(i);
    frontier.erase(frontier.begin() + pos + 1);
  }
  HtTreeNode& root = ht.nodes[0];
  root.rank = 1;
  ht.tensors[0].shape = {ht.nodes[root.left].rank, ht.nodes[root.right].rank, 1};
  ht.tensors[0].data = std::move(core.data);
  return ht;
}

Eigen::MatrixXd ht_to_matrix(const HierarchicalTuckerMatrix& ht) {
  // Root to leaves: replace each node's rank axis by its children's (or by the leaf mode).
  const HtTreeNode& root = ht.nodes[0];
  DenseTensor t = ht.tensors[0];
  t.shape = {ht.nodes[root.left].rank, ht.nodes[root.right].rank};
  std::vector<int> frontier = {root.left, root.right};
  for (size_t pos = 0; pos < frontier.size();) {
    const HtTreeNode& node = ht.nodes[frontier[pos]];
    const DenseTensor& f = ht.tensors[frontier[pos]];
    const int64_t r = node.rank;
    const int64_t expanded = f.size() / r;
    Eigen::Map<const RowMatrixXd> fm(f.data.data(), expanded, r);
    t = mode_product(t, static_cast<int>(pos), fm.transpose());
    if (node.leaf()) {
      ++pos;
      continue;
    }
    t.shape[pos] = ht.nodes[node.left].rank;
    t.shape.insert(t.shape.begin() + static_cast<long>(pos) + 1, ht.nodes[node.right].rank);
    const int left = node.left, right = node.right;
    frontier[pos] = left;
    frontier.insert(frontier.begin() + static_cast<long>(pos) + 1, right);
  }
  return mode_tensor_to_matrix(t, ht.row_factors, ht.col_factors);
}

}  // namespace codesim::compress
