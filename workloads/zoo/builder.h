#pragma once
// WorkloadBuilder creates the tensors and ops of a workload with one naming scheme, so that every
// zoo model and every YAML-defined workload looks alike to the compression transforms and the
// simulators: an op `x` reads its weights `x.weight` (and `x.bias`, or another `x.<role>`) and
// writes `x.out`. Tensor shapes follow the conventions at the top of workloads/ir/ir.h.
//
// Reshapes and transposes that cost nothing on an accelerator (splitting heads, flattening a
// feature map into tokens) are views: a consumer reads its producer's tensor as it is, with the
// same element count, instead of going through an extra op. Weights are shape-only (no data),
// FLOAT32 with 32 bits.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "workload.pb.h"

namespace codesim::workloads {

using Shape = std::vector<int64_t>;

// Names must be unique; a repeated tensor or op name is a bug in the caller (std::logic_error).
class WorkloadBuilder {
 public:
  explicit WorkloadBuilder(const std::string& name);

  // A graph input (an activation the workload does not compute).
  std::string input(const std::string& name, const Shape& shape);
  // A parameter tensor named `<op>.<role>`, for weights an op method does not create itself.
  std::string weight(const std::string& op, const std::string& role, const Shape& shape);
  void mark_output(const std::string& tensor);

  // y = a·W (+ bias): a [m, k] ([batch, m, k] when batch > 1), W [k, n], bias [n].
  std::string linear(const std::string& op, const std::string& a, int64_t batch, int64_t m,
                     int64_t n, int64_t k, bool bias);
  // y = a·b with both operands activations: a [batch, m, k], b [batch, k, n].
  std::string matmul(const std::string& op, const std::string& a, const std::string& b,
                     int64_t batch, int64_t m, int64_t n, int64_t k);
  // NCHW convolution; `spec` gives the input size, so x must be [batch, c, h, w].
  std::string conv2d(const std::string& op, const std::string& x, const ir::v1::Conv2d& spec,
                     bool bias);
  // A butterfly op as written: x [batch, in] with in <= length (zero-padded), output
  // [batch, out_width] with out_width <= stacks·length (extra outputs truncated).
  std::string butterfly(const std::string& op, const std::string& x, const ir::v1::Butterfly& spec,
                        int64_t out_width);
  // torch_butterfly's Butterfly(in, out) used as a drop-in linear layer over `rows` vectors: the
  // input is zero-padded to length 2^ceil(log2 in), ceil(out / length) stacks cover a wider
  // output, and every stack is a full butterfly of log2(length) stages.
  std::string butterfly_linear(const std::string& op, const std::string& x, int64_t rows,
                               int64_t in, int64_t out);
  // Output has the shape of x.
  std::string fft(const std::string& op, const std::string& x, const ir::v1::Fft& spec);
  // Two-operand einsum; operand and output shapes follow the equation's index sizes.
  std::string einsum(const std::string& op, const std::string& a, const std::string& b,
                     const ir::v1::Einsum& spec);
  std::string softmax(const std::string& op, const std::string& x, int64_t rows, int64_t length);
  // With learned scale and shift (`<op>.weight`, `<op>.bias`, each [length]).
  std::string layernorm(const std::string& op, const std::string& x, int64_t rows, int64_t length);
  // Element-wise op over `inputs` (activations and weights); the output has `out_shape`.
  std::string eltwise(const std::string& op, ir::v1::EltwiseFunc func,
                      const std::vector<std::string>& inputs, const Shape& out_shape);
  // Element-wise op whose output has the shape of the first input.
  std::string eltwise(const std::string& op, ir::v1::EltwiseFunc func,
                      const std::vector<std::string>& inputs);
  // NCHW pooling; `spec` gives the input size.
  std::string pool(const std::string& op, const std::string& x, const ir::v1::Pool& spec);
  // x [steps, batch, input_size] -> hidden states [steps, batch, hidden_size].
  std::string lstm_cell(const std::string& op, const std::string& x, const ir::v1::LstmCell& spec,
                        bool bias);
  // A data-movement op with no arithmetic (e.g. selecting the class token), charged by traffic.
  std::string generic(const std::string& op, const std::string& op_type, const std::string& x,
                      const Shape& out_shape);

  const ir::v1::Tensor& tensor(const std::string& name) const;
  // The workload built so far; the builder is empty afterwards.
  ir::v1::Workload finish();

 private:
  std::string add_tensor(const std::string& name, const Shape& shape, bool is_weight);
  ir::v1::Op* add_op(const std::string& name, const std::vector<std::string>& inputs,
                     const std::string& output);

  ir::v1::Workload w_;
  std::map<std::string, int> tensor_index_;
  std::set<std::string> op_names_;
};

// Shape of einsum operand 0 or 1, or of the output (2), from the equation and index sizes; an
// index without a size counts as 1.
Shape einsum_shape(const ir::v1::Einsum& spec, int operand);

// Smallest power of two >= n (n >= 1).
int64_t pow2_ceil(int64_t n);
// log2 of a power of two.
int64_t log2_exact(int64_t n);

}  // namespace codesim::workloads
