#pragma once
// The reference executor: runs an IR workload with its weights, op by op, on the CPU. It is the
// golden model that functional simulation compares against and the accuracy evaluator behind
// `codesim eval`. Op semantics follow the tensor conventions of workloads/ir/ir.h (ONNX where
// ONNX has the op, torch_butterfly for butterflies); compress/reference/README.md lists them.
//
// Arithmetic (Arithmetic::kInteger; kFloat32 runs everything in float32):
//   * Integer: gemm and conv2d whose weight has int_data and a quantization annotation and whose
//     first (activation) input tensor has a per-tensor quantization annotation and dtype INT or
//     UINT. The activation is quantized, q_x = clamp(round_half_even(x / s_x) + z_x) to its
//     `bits` (signed for INT), and the op accumulates (q_x - z_x)(q_w - z_w) exactly in int64.
//     The output is acc * s_x * s_w formed in double and rounded once to float32, plus the
//     float32 bias. Weight scales may be per channel along the output axis (gemm: N, axis 1,
//     conv2d: filters, axis 0).
//   * Integer, multiplication-free: gemm and conv2d with such an activation whose weight is
//     annotated structure.pow2 (exact power-of-two values: integer codes w * 2^-min_exponent,
//     output acc * s_x * 2^min_exponent) or structure.adder (y = -sum |x - w| with w on the
//     activation's grid; see kernels.h).
//   * Float32: every other op and operand, including gemm/conv2d without both annotations. A
//     weight with int_data and no float_data is dequantized, s_w * (q_w - z_w), in either mode.
// Float32 GEMMs and convolutions (im2col) use Eigen with float32 accumulation; FFTs, softmax sums
// and LayerNorm statistics run in double; LSTM gates use Eigen's vectorized logistic and tanh.
//
// Batch: kernels take batch-dependent sizes from their input arrays and the rest from the op, so
// a workload declared for batch b (the leading dimension of its first input) can run another
// batch. Where a shape must come from the workload (reshape targets, the shapes of views) and
// the element count differs, the one axis of declared size b is resized; a reshape target with
// no such axis or several (e.g. [1, 1, 128] for b = 1) is an error. Running the declared batch
// avoids this inference altogether, which is what evaluate_classifier does.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "workload.pb.h"

namespace codesim::compress {

// A dense row-major float32 tensor.
struct Array {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t size() const;  // elements, the product of `shape`
};

enum class Arithmetic { kFloat32, kInteger };

// Errors in the workload or the inputs (a tensor without data, sizes that do not fit an op, an
// op kind that cannot run) are sim::ConfigError naming the op and tensor.
class Executor {
 public:
  explicit Executor(const ir::v1::Workload& w, Arithmetic a = Arithmetic::kFloat32);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs the whole workload on the named inputs; returns every tensor computed (op outputs) by
  // name. Weights and constants come from the workload's data.
  std::map<std::string, Array> run(const std::map<std::string, Array>& inputs) const;
  // Runs one op on given input arrays, in the order of op.inputs(); a missing or null entry is
  // taken from the workload's data for that tensor (an integer gemm/conv2d always reads its
  // weight's codes from the workload). Returns one array per op output.
  std::vector<Array> run_op(const ir::v1::Op& op, const std::vector<const Array*>& inputs) const;

  // Names of the ops that run in integer arithmetic (empty with Arithmetic::kFloat32).
  std::vector<std::string> integer_ops() const;
  const ir::v1::Workload& workload() const { return w_; }

 private:
  const ir::v1::Tensor* tensor(const std::string& name) const;
  bool runs_integer(const ir::v1::Op& op) const;
  std::vector<Array> run_kind(const ir::v1::Op& op, const std::vector<const Array*>& in) const;
  std::vector<int64_t> output_shape(const std::string& tensor, int64_t elements) const;

  ir::v1::Workload w_;
  Arithmetic arithmetic_;
  std::map<std::string, int> tensor_index_;
  std::map<std::string, Array> constants_;  // float values of tensors with float_data or int_data
  int64_t declared_batch_ = 0;              // leading dim of the first workload input, 0 if none
};

}  // namespace codesim::compress
