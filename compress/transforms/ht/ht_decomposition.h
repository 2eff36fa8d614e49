#pragma once
// Hierarchical Tucker (HT) decomposition of a matrix (Hackbusch & Kühn 2009, Grasedyck 2010), as
// FDHT-LSTM applies it to an LSTM's concatenated gate matrices (reference/accelerators.md §4.1):
//   * W [M, N], M = prod m_k, N = prod n_k, is viewed as a d-order tensor whose mode k has size
//     m_k·n_k (one leaf per factor pair (m_k, n_k), as §4 prescribes).
//   * A balanced binary dimension tree splits the modes {0..d-1} in halves (left half the larger)
//     down to single modes. Nodes are numbered breadth-first, nodes[0] the root.
//   * Leaf k holds a frame U_k [m_k, n_k, r_k]; an internal node t with children l, r holds a
//     transfer tensor B_t [r_l, r_r, r_t]; the root has r_t = 1.
//   * Parameters (closed form): sum_leaves m_k n_k r_k + sum_internal r_l r_r r_t; with equal
//     ranks r and d = 2^L leaves, d·m·n·r + (d-2)·r^3 + r^2.
// The decomposition is the leaves-to-root hierarchical SVD (Grasedyck 2010, Alg. 2): leaf frames
// are the leading left singular vectors of the mode unfoldings of W; W projected on them gives a
// core whose merged child modes are truncated level by level up to the root. Quasi-optimal:
// error <= sqrt(2d - 3) times the best HT approximation with these ranks; exact at full rank.

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "compress/transforms/tt/tensor_algebra.h"

namespace codesim::compress {

struct HtTreeNode {
  std::vector<int> modes;  // modes covered, contiguous and increasing
  int left = -1, right = -1;
  int64_t rank = 0;
  bool leaf() const { return left < 0; }
};

struct HierarchicalTuckerMatrix {
  std::vector<int64_t> row_factors, col_factors;
  std::vector<HtTreeNode> nodes;     // breadth-first, nodes[0] the root
  std::vector<DenseTensor> tensors;  // per node: U_k [m_k, n_k, r_k] or B_t [r_l, r_r, r_t]

  int64_t params() const;
};

// The balanced dimension tree over d >= 2 modes (ranks 0).
std::vector<HtTreeNode> ht_balanced_tree(int d);
// The closed form above for the tree's ranks.
int64_t ht_params(const std::vector<int64_t>& row_factors, const std::vector<int64_t>& col_factors,
                  const std::vector<HtTreeNode>& nodes);
// The largest useful rank per node (leaves: min(m_k n_k, product of the other modes); internal:
// min(r_l r_r, product of the modes outside the node); root 1). With them the decomposition is
// exact.
std::vector<int64_t> ht_full_ranks(const std::vector<int64_t>& row_factors,
                                   const std::vector<int64_t>& col_factors);

// Decomposes w with the requested rank per node (breadth-first; the root's entry is ignored and
// set to 1), each capped at its full rank; the result's nodes carry the ranks used. Throws
// std::invalid_argument when the factors do not multiply to w's size or d < 2.
HierarchicalTuckerMatrix ht_decompose(const Eigen::MatrixXd& w,
                                      const std::vector<int64_t>& row_factors,
                                      const std::vector<int64_t>& col_factors,
                                      const std::vector<int64_t>& ranks);

Eigen::MatrixXd ht_to_matrix(const HierarchicalTuckerMatrix& ht);

}  // namespace codesim::compress
