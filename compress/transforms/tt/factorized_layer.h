#pragma once
// Glue shared by the tt and ht transforms: a weight matrix [outputs x reduction] decomposed into
// factor tensors with einsum letters, and the two ways a layer carries it in the IR.
//   * gemm: the op becomes reshape(X) -> planned einsum sequence -> (bias add). The reshape
//     splits X's reduction axis into the column factors n_1..n_d (a free view on hardware; it is
//     an op so that the executor can resize the batch axis for any calibration batch).
//   * lstm_cell: the IR has no loop to carry a per-step einsum sequence, so the op stays; its
//     weights hold the reconstruction (the values the factored layer computes) and the
//     structure annotation describes the factors, from which a simulator derives the
//     contraction stages (plan_min_macs over layer_network with lead [batch]).
// Letters: the factors use letters 0.. (index_letter); the activation's leading axes take the
// next free ones.

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "compress/transform.h"
#include "compress/transforms/tt/contraction.h"
#include "workload.pb.h"

namespace codesim::compress {

struct FactorTensor {
  std::string role;            // "G1", "U0", "B3": the tensor is named <op>.<transform>.<role>
  std::string indices;         // one letter per axis
  std::vector<int64_t> shape;  // sizes of `indices`
  std::vector<double> data;    // row-major
};

struct FactorizedMatrix {
  std::string transform;          // "tt" or "ht"
  std::string row_letters;        // m_1..m_d (the outputs)
  std::string col_letters;        // n_1..n_d (the reduction)
  std::map<char, int64_t> sizes;  // every letter of the factors
  int next_letter = 0;            // first letter the factors leave free
  std::vector<FactorTensor> factors;
  ir::v1::Structure structure;  // annotation put on every factor tensor
  int64_t params = 0;
};

// Parses "4,8,8" (commas, spaces or 'x' between positive integers); empty text gives an empty
// list. Returns false on anything else.
bool parse_factor_list(const std::string& text, std::vector<int64_t>& out);

// The network {X[lead.., n..], factors...} -> Y[lead.., m..]; lead sizes as given.
TensorNetwork layer_network(const FactorizedMatrix& f, const std::vector<int64_t>& lead);

// A decomposition of one weight matrix [outputs x reduction]: the factors and the matrix they
// represent. `what` names the matrix in errors and notes (a tensor name).
struct Decomposed {
  FactorizedMatrix factors;
  Eigen::MatrixXd reconstruction;
};
using Decomposer = std::function<Decomposed(const std::string& what, const Eigen::MatrixXd& w)>;

// Replaces the gemm ops[op_index] (weight B [K, N], viewed [N x K]) by reshape -> einsum
// sequence -> bias add, with the factors as new weight tensors. Fills change.new_ops, figures
// (relative_error, planned / left-to-right / dense MACs, stages) and notes (order, MACs per
// stage).
void rewrite_gemm(ir::v1::Workload& w, int op_index, const Decomposer& decompose, OpChange& change);

// Which lstm_cell matrices are decomposed: "input" (W_ih alone, as TT-LSTM), "separate" (W_ih
// and W_hh each) or "concatenated" ([W_ih | W_hh] as one [4H x (I + H)] matrix, as FDHT-LSTM).
// The op stays (see the top of this file); the same figures as rewrite_gemm, with MACs per time
// step, and params_after / bits_after from the factors.
void rewrite_lstm(ir::v1::Workload& w, int op_index, const std::string& which,
                  const Decomposer& decompose, OpChange& change);

// Rows and columns of a decomposition that the user gave or that are chosen automatically: the
// most balanced split of each dimension into `cores` factors. Throws sim::ConfigError starting
// with `where` (e.g. "op 'fc1', weight 'fc1.weight'") and naming the parameter when given factors
// do not multiply to the dimension.
void choose_factors(const std::string& where, const std::string& row_text,
                    const std::string& col_text, int cores, int64_t rows, int64_t cols,
                    std::vector<int64_t>& row_factors, std::vector<int64_t>& col_factors);

}  // namespace codesim::compress
