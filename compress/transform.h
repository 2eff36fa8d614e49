#pragma once
// The compression-transform framework. A transform rewrites the weights (real values, never only
// shapes) and structure annotations of one op at a time, and may replace the op by several ops
// (low-rank: one gemm becomes two). Transforms live in compress/transforms/<name>/, register
// themselves with CODESIM_REGISTER_TRANSFORM and declare their parameters once, with a
// sim::ParamSchema; the pipeline (compress/pipeline.h) parses a YAML list of steps, selects ops
// and calls Transform::apply; compress/quality.h measures what every change cost.
//
// Contract of Transform::apply(w, op_index, ctx) -> OpChange:
//   * Before prepare/apply the pipeline has given every weight of the selected ops float values
//     (ensure_values), so transforms may assume float_data is present.
//   * It reads the op ops[op_index] and its weight tensors, writes new float values (and, for
//     quantization, int_data) and annotations (Tensor.structure, .quantization, .bits, .dtype).
//   * It may replace ops[op_index] by k >= 1 ops (use replace_op). The replacement must read the
//     original op's activation input(s) and the LAST replacement op must write the original
//     op's outputs under the same names, so that the rest of the workload is untouched and the
//     quality module can compare the original op's output with the replacement's.
//   * New tensors (factors, intermediate activations) get names prefixed with the op's name
//     (e.g. "fc1.lowrank.A") and must not collide with existing ones (use unique_tensor_name).
//   * A transform that changes the float values of a weight that has int_data (quantized by an
//     earlier step) must re-quantize it or drop the quantization: set_weight_matrix drops it
//     (int_data, quantization, bits, dtype back to FLOAT32) and the pipeline notes it.
//   * Weights never lose their float_data: a quantized weight keeps float_data equal to its
//     dequantized values (so float consumers, and later transforms, see the quantized weights)
//     next to int_data; N:M and pruned weights keep dense-shaped float_data with zeros; the
//     annotation says which entries are structural zeros. The reference executor thus runs
//     every compressed workload without knowing the transforms (integer mode uses int_data).
//   * It fills OpChange.op, .transform, .new_ops, .notes and, when it has them, .figures. The
//     pipeline fills params_before/after and bits_before/after from the tensors (storage_bits /
//     stored_params) unless the transform set them (>= 0), and quality.h fills output_error.
//   * Errors that depend on the workload (a weight whose shape does not fit the op, missing
//     calibration data) throw sim::ConfigError naming the op; an op the transform cannot handle
//     is excluded earlier by accepts(), never by an exception.
//
// Weight layout: every weight a transform touches is viewed as a matrix [outputs x reduction]
// (WeightLayout): gemm B [K, N] -> [N, K]; conv2d W [F, C/g, kh, kw] -> [F, C/g*kh*kw],
// lstm_cell W_ih [4H, I] -> [4H, I], W_hh [4H, H] -> [4H, H]. "Along the reduction dimension"
// (N:M groups) and "per output channel" (per-channel quantization) refer to this view.
//
// Shape-only weights (zoo workloads) get values when a transform needs them: ensure_values fills
// every weight of the op from a seeded Kaiming-uniform distribution, U(-1/sqrt(fan_in),
// +1/sqrt(fan_in)) with fan_in = the reduction size (torch's default for nn.Linear/nn.Conv2d), and
// records it in OpChange.synthesized_weights, which the report states.

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "compress/reference/executor.h"
#include "sim/core/diagnostics.h"
#include "sim/core/params.h"
#include "workload.pb.h"

namespace codesim::compress {

// What a transform may look at besides the workload.
struct TransformContext {
  // Calibration activations by tensor name: the float32 executor's value of every tensor (the
  // workload inputs and every op output) on the calibration inputs, computed on the workload as
  // it stands before the current pipeline step. The leading axis is the calibration batch.
  // nullptr when no calibration data is available (then transforms that need it, e.g.
  // activation quantization, report an error naming the op).
  const std::map<std::string, Array>* activations = nullptr;
  // Seed of the run; rng(key) derives an independent, reproducible stream per key (e.g. a
  // tensor name), so results do not depend on the order in which ops are visited.
  uint64_t seed = 0;
  std::mt19937_64 rng(const std::string& key) const;

  // The calibration value of tensor `name`, or nullptr.
  const Array* activation(const std::string& name) const;
};

// What one application of a transform to one op did. Serialized per op into
// compress_report.json by quality.h.
struct OpChange {
  std::string op;         // name of the original op
  std::string transform;  // registered name, e.g. "nm"
  std::string kind;       // original op kind, e.g. "gemm"
  // Parameters (stored weight elements: non-zeros for pruned / N:M weights, all elements of
  // every factor for decompositions) and total weight storage bits including index metadata
  // and quantization scales/zero points (storage_bits). -1: the pipeline measures them.
  int64_t params_before = -1, params_after = -1;
  int64_t bits_before = -1, bits_after = -1;
  // Names of the ops that now stand where `op` stood, in order ({op} when it was rewritten in
  // place).
  std::vector<std::string> new_ops;
  // Facts for the reader, e.g. "needs retraining", "rank 128 keeps 93.1% of the energy".
  std::vector<std::string> notes;
  // The output error cannot be stated without retraining (adder): quality reports
  // "needs retraining" instead of a figure.
  bool needs_retraining = false;
  // Some weight of the op had no values and was synthesized (ensure_values).
  bool synthesized_weights = false;
  // Transform-specific numbers for the report, e.g. {"rank", 128}, {"metadata_bits", 4096},
  // {"energy_kept", 0.93}, {"discarded_sq_singular_values", 12.5}.
  std::map<std::string, double> figures;
  // Filled by quality.h: ||WX - W'X||^2 / ||WX||^2 of the op's output on the calibration
  // inputs; negative when not measured (no calibration data, or needs_retraining).
  double output_error = -1;
};

class Transform {
 public:
  virtual ~Transform() = default;

  // Op kinds ("gemm", "conv2d", "lstm_cell", ... as ir::op_kind spells them) this transform can
  // rewrite: T::op_kinds() of the registered class (set by the registry).
  const std::vector<std::string>& kinds() const { return kinds_; }

  // Whether this op can be rewritten: by default, its kind is in kinds() and it has at least one
  // weight (matrix_weights non-empty). Ops a step selects but that are not accepted are skipped
  // (the report lists them); a step that accepts none is an error.
  virtual bool accepts(const ir::v1::Workload& w, const ir::v1::Op& op) const;

  // Called once per pipeline step with the indices of the accepted ops, before any apply, for
  // decisions that span ops (global magnitude pruning's threshold). Default: nothing.
  virtual void prepare(ir::v1::Workload& w, const std::vector<int>& op_indices,
                       const TransformContext& ctx) {}

  // Rewrites ops[op_index] (see the contract at the top of this file).
  virtual OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext& ctx) = 0;

 private:
  template <class T>
  friend struct TransformEntryMaker;
  std::vector<std::string> kinds_;
};

// ---- registry ----

struct TransformEntry {
  std::string name;
  std::string summary;
  std::function<std::vector<sim::ParamInfo>()> params;
  std::function<std::vector<std::string>()> kinds;
  // Parses `node` (one pipeline step; keys `transform` and `select` are skipped) into the
  // transform's Params. Returns nullptr and fills `diags` when the parameters are invalid.
  std::function<std::unique_ptr<Transform>(const YAML::Node& node, const std::string& file,
                                           const std::string& path, sim::Diagnostics& diags)>
      create;
};

class TransformRegistry {
 public:
  static TransformRegistry& instance();
  bool add(TransformEntry e);
  const TransformEntry* find(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted

 private:
  std::map<std::string, TransformEntry> entries_;
};

// Transform classes T (deriving from Transform) provide a nested `Params` struct with a static
// `schema()` returning its sim::ParamSchema, a `kSummary` string (one line for listings), a
// static `op_kinds()` listing the op kinds they accept (e.g. gemm, conv2d) and a constructor
// from `const Params&`. Optionally, for constraints between parameters (n < m) reported with the
// step's location, a static `check(params, step node, file, path, diagnostics)`.
template <class T, class = void>
struct HasCheck : std::false_type {};
template <class T>
struct HasCheck<T, std::void_t<decltype(T::check(
                       std::declval<const typename T::Params&>(), std::declval<const YAML::Node&>(),
                       std::declval<const std::string&>(), std::declval<const std::string&>(),
                       std::declval<sim::Diagnostics&>()))>> : std::true_type {};

template <class T>
struct TransformEntryMaker {
  static TransformEntry make(const std::string& name) {
    TransformEntry e;
    e.name = name;
    e.summary = T::kSummary;
    e.params = [] { return T::Params::schema().infos(); };
    e.kinds = [] { return T::op_kinds(); };
    e.create = [](const YAML::Node& node, const std::string& file, const std::string& path,
                  sim::Diagnostics& diags) -> std::unique_ptr<Transform> {
      const size_t before = diags.size();
      typename T::Params p =
          T::Params::schema().parse(node, file, path, diags, {"transform", "select"});
      if (diags.size() != before) return nullptr;
      if constexpr (HasCheck<T>::value) {
        T::check(p, node, file, path, diags);
        if (diags.size() != before) return nullptr;
      }
      auto t = std::make_unique<T>(p);
      static_cast<Transform*>(t.get())->kinds_ = T::op_kinds();
      return t;
    };
    return e;
  }
};

// ---- helpers shared by the transforms ----

// A weight viewed as a matrix [outputs x reduction] (see the top of this file).
struct WeightLayout {
  int64_t outputs = 0;
  int64_t reduction = 0;
  // True when the stored row-major tensor is [reduction, outputs] (gemm B [K, N]); false when it
  // is [outputs, reduction...] (conv2d, lstm_cell).
  bool reduction_major = false;
  int output_axis = 0;  // axis of the output channel in the stored shape (gemm 1, others 0)
};

// The weight inputs an op multiplies activations with (gemm B when it is a weight, conv2d W,
// lstm_cell W_ih and W_hh), excluding biases and other 1-D parameters.
std::vector<std::string> matrix_weights(const ir::v1::Workload& w, const ir::v1::Op& op);
// The op's bias tensor name, or "" (gemm/conv2d input 2, lstm_cell input 3, when a weight).
std::string bias_input(const ir::v1::Workload& w, const ir::v1::Op& op);
// The first input that is not a weight (the activation), or "".
std::string activation_input(const ir::v1::Workload& w, const ir::v1::Op& op);

// Layout of `weight` (an input of `op`). Throws sim::ConfigError if the shape does not match
// the op's conventions (ir.h).
WeightLayout weight_layout(const ir::v1::Op& op, const ir::v1::Tensor& weight);

// The weight's float_data as a matrix [outputs x reduction], and back (shape unchanged). The
// tensor must have float_data (call ensure_values first).
Eigen::MatrixXf weight_matrix(const ir::v1::Tensor& t, const WeightLayout& l);
void set_weight_matrix(ir::v1::Tensor& t, const WeightLayout& l, const Eigen::MatrixXf& m);

// Zeroes the listed elements (row-major indices) in float_data and, for a quantized tensor, in
// int_data (each set to its channel's zero point, which the quantize transform keeps
// representable), so pruning after quantization keeps the codes consistent.
void zero_elements(ir::v1::Tensor& t, const std::vector<int64_t>& indices);

// Gives every weight input of ops[op_index] (matrix weights and biases) float values if it has
// none: dequantized int_data if present, else seeded Kaiming-uniform (see the top of this
// file). Sets change.synthesized_weights and adds a note when it synthesized anything.
void ensure_values(ir::v1::Workload& w, int op_index, const TransformContext& ctx,
                   OpChange& change);

// Values for every weight of the workload that has none, so that a shape-only workload (zoo) can
// run on calibration inputs: ensure_values for ops with matrix weights; layernorm gamma 1 and
// beta 0; other parameters Kaiming-uniform over their last axis. Returns the tensors it filled.
std::vector<std::string> ensure_all_values(ir::v1::Workload& w, const TransformContext& ctx);

// Replaces ops[op_index] by `ops` (in order, in place). Returns the index of the op after them.
int replace_op(ir::v1::Workload& w, int op_index, std::vector<ir::v1::Op> ops);
// Adds a tensor and returns a pointer to it (valid until the next tensor is added).
ir::v1::Tensor* add_tensor(ir::v1::Workload& w, ir::v1::Tensor t);
// `base` if no tensor has that name, else base + ".2", ".3", ...
std::string unique_tensor_name(const ir::v1::Workload& w, const std::string& base);

// Element width of a tensor: `bits` if set, else from dtype (FLOAT32 32, FLOAT16/BFLOAT16 16).
int element_bits(const ir::v1::Tensor& t);
// Stored elements: all elements; for unstructured sparsity the non-zeros of float_data
// (density * elements for a shape-only tensor); for N:M the n/m * elements value slots (exact
// when the reduction size is a multiple of m; the nm transform reports exact figures itself),
// for a weight matrix holding a TT/HT reconstruction (lstm_cell), its column share of the
// factors' parameters (the closed forms), so that workload totals count what is stored.
int64_t stored_params(const ir::v1::Tensor& t);
// Total storage bits: stored_params * element_bits, plus index metadata (N:M: metadata_bits,
// unstructured: a bitmap of one bit per dense element), plus quantization parameters (32 bits
// per scale and per zero point when any zero point is non-zero).
int64_t storage_bits(const ir::v1::Tensor& t);
// Sums over the weight inputs (matrix weights and biases) of the named ops.
int64_t ops_stored_params(const ir::v1::Workload& w, const std::vector<std::string>& ops);
int64_t ops_storage_bits(const ir::v1::Workload& w, const std::vector<std::string>& ops);

}  // namespace codesim::compress

// Registers transform class T under NAME (the folder name under compress/transforms/).
#define CODESIM_REGISTER_TRANSFORM(NAME, T)                   \
  static const bool codesim_registered_transform_##T =        \
      ::codesim::compress::TransformRegistry::instance().add( \
          ::codesim::compress::TransformEntryMaker<T>::make(NAME))
