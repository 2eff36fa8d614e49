#pragma once
// Pairwise contraction planning for the einsum network of a decomposed layer (tt, ht and, for
// its 1x1 projections, tucker2): a layer applied to a batch of activations X is the network
// {X, factor_1, ..., factor_k} -> Y, and it runs as a sequence of two-operand einsums. The order
// decides the MACs by orders of magnitude, so it is chosen to minimise them: exact dynamic
// programming over subsets for up to kMaxExactTensors operands (3^n work), greedy beyond, and in
// every case never worse than contracting left to right (X with factor_1, the result with
// factor_2, ...), the order a naive einsum uses. Issue 7's simulators charge the stages MACs as
// planned here.
//
// Indices are single letters (the IR's einsum convention). One pairwise contraction costs the
// product of the sizes of every index of both operands (ir::op_macs of the einsum op).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "workload.pb.h"

namespace codesim::compress {

// One operand of a network: a name (for the order text) and one letter per axis.
struct NetworkTensor {
  std::string name;
  std::string indices;
};

struct TensorNetwork {
  std::map<char, int64_t> sizes;
  std::vector<NetworkTensor> tensors;  // tensors[0] is the activation by convention
  std::string output;                  // the result's letters, in order
};

// Operands of a step are numbered 0..n-1 for the network's tensors and n + s for the result of
// step s.
struct ContractionStep {
  int lhs = 0, rhs = 0;
  std::string lhs_indices, rhs_indices, out_indices;
  int64_t macs = 0;
};

struct ContractionPlan {
  std::vector<ContractionStep> steps;
  int64_t macs() const;
  // The order as a parenthesised product of the tensor names, e.g. "((X*G1)*G2)*G3".
  std::string order_text(const TensorNetwork& n) const;
  // MACs of every step, e.g. "4096 + 2048 + 512".
  std::string stage_macs_text() const;
};

inline constexpr int kMaxExactTensors = 16;

// Checks the network (letters, sizes, every output letter in some tensor); throws
// std::invalid_argument otherwise.
void check_network(const TensorNetwork& n);
// X with tensor 1, the result with tensor 2, and so on.
ContractionPlan plan_left_to_right(const TensorNetwork& n);
// The order with the fewest total MACs (see the top of this file).
ContractionPlan plan_min_macs(const TensorNetwork& n);
// The plan of an explicit order: a sequence of (lhs, rhs) operand numbers as in ContractionStep.
ContractionPlan plan_from_pairs(const TensorNetwork& n,
                                const std::vector<std::pair<int, int>>& pairs);

// Appends the plan to `w` as einsum ops named `prefix`.c0, .c1, ...: operand i of the network is
// the IR tensor tensor_names[i], intermediate results are new FLOAT32 activations named
// `prefix`.t0, .t1, ... with the shape of their indices, and the last step writes `output` (an
// existing tensor, or created with the network output's shape). Returns the ops in order; the
// caller places them (replace_op).
std::vector<ir::v1::Op> emit_einsum_ops(ir::v1::Workload& w, const TensorNetwork& n,
                                        const ContractionPlan& plan,
                                        const std::vector<std::string>& tensor_names,
                                        const std::string& output, const std::string& prefix);

// Letters for networks: 'a'..'z' then 'A'..'Z'; throws past 52.
char index_letter(int i);

}  // namespace codesim::compress
