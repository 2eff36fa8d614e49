#pragma once
// A linear map y = W x as the tensor LSTM model runs it: the layer network of a decomposed
// weight (tensor train or hierarchical Tucker, from the structure annotation the tt / ht
// transforms put on it, with the letters and factor order those transforms use), or of a dense
// weight, and its stages: the contraction order comes from compress/transforms/tt/contraction.h
// (plan_min_macs, or plan_left_to_right for comparison), the layouts from the memory scheme.

#include <cstdint>
#include <string>
#include <vector>

#include "arch/models/tensor_lstm/contraction_engine.h"
#include "compress/transforms/tt/contraction.h"
#include "workload.pb.h"

namespace codesim::arch::tensor_lstm {

enum class LayerKind { kDense, kTensorTrain, kHierarchicalTucker };
const char* layer_kind_name(LayerKind k);

struct LayerNetwork {
  LayerKind kind = LayerKind::kDense;
  compress::TensorNetwork net;  // tensors[0] is the activation X = lead + column letters
  std::string lead_letters;     // batch axes of X and Y
  std::string col_letters;      // the reduction n_1..n_d of W (X's other axes)
  std::string row_letters;      // the outputs m_1..m_d of W
  int64_t rows = 0, cols = 0;   // W is [rows x cols]
  int64_t params = 0;           // weight elements stored (all factors)
  // Values of tensors 1.. of `net` in their letters' row-major order; empty when not known.
  std::vector<std::vector<float>> values;
};

// The network of a weight matrix [rows x cols] from its tensor's structure annotation; a tensor
// without tensor_train / hierarchical_tucker structure gives the dense network. `lead` are the
// batch sizes (the lstm's batch). Throws std::invalid_argument when the annotation does not
// describe a [rows x cols] matrix.
LayerNetwork network_from_structure(const ir::v1::Structure& s, int64_t rows, int64_t cols,
                                    const std::vector<int64_t>& lead);
// Fills `values` from the matrix the factors represent (row-major [rows x cols]): the factors
// are recomputed by TT-SVD / hierarchical SVD at the annotated ranks, which reproduces a matrix
// that has those ranks (the lstm_cell stores the reconstruction, not the factors).
void set_values_from_matrix(LayerNetwork& l, const std::vector<float>& w);

struct Stage {
  compress::ContractionStep step;
  int a = 0, b = 0;          // operand ids (network tensor i, or n + s for step s's result)
  bool weight_only = false;  // no operand depends on X: run once per op, kept in the weight SRAM
  StageGeometry geom;
};

struct LayerSchedule {
  LayerNetwork layer;
  compress::ContractionPlan plan;
  std::vector<Stage> stages;    // in plan order
  int64_t weight_elements = 0;  // factors + weight-only intermediates
  int64_t work_elements = 0;    // the largest X-dependent tensor (input, intermediate or output)
  // kFdht: the planner found letter orders and group shapes without a bank conflict for every
  // X-dependent stage (each is then marked conflict_free).
  bool conflict_free = false;
};

// The stages of a layer in the plan's order (fewest MACs, or left to right), with the layouts of
// the memory scheme. kFdht searches, stage by stage, the row order of every intermediate in its
// consumer's view, the order of each stage's B columns and its columns per group, for a plan in
// which every group reads its rows from distinct banks and writes its results to distinct banks
// (README.md: "FDHT layout planner"); when none is found the natural orders are kept and the
// conflicts are counted. kNaive keeps every tensor in its einsum letter order.
LayerSchedule schedule_layer(LayerNetwork l, bool min_macs, const EngineConfig& cfg);

// out = a (letters `a_letters`) contracted with b over the plan step's letters, written in
// `out_letters` order; float32 sums over the contracted letters in mixed-radix order.
std::vector<float> contract(const std::vector<float>& a, const std::string& a_letters,
                            const std::vector<float>& b, const std::string& b_letters,
                            const std::string& out_letters, const LetterSizes& sizes);

// Runs the layer on X (lead + col letters, row-major) the way the hardware does: X loaded into a
// working buffer in the first stage's layout, every X-dependent stage read from one ping-pong
// buffer and written to the other through the stage's layouts (execute_stage), weight-only
// products computed once into `precomputed` (filled when empty). Returns Y (net.output order).
std::vector<float> evaluate(const LayerSchedule& s, const EngineConfig& cfg,
                            const std::vector<float>& x,
                            std::vector<std::vector<float>>& precomputed);

}  // namespace codesim::arch::tensor_lstm
