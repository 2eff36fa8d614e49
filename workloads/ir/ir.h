#pragma once
// Helpers over the protobuf IR (workloads/proto/codesim/ir/v1/workload.proto).
//
// Tensor conventions (the same as ONNX where ONNX has the op):
//   gemm     inputs [A, B, (bias)]: A [batch, M, K] (or [M, K] when batch = 1), B [K, N] when it
//            is a weight, [batch, K, N] when it is an activation; bias [N]; output [batch, M, N].
//   conv2d   inputs [x, W, (bias)]: x NCHW [batch, C, H, W], W [filters, C/groups, kh, kw],
//            output NCHW.
//   lstm_cell inputs [x, W_ih [4H, I], W_hh [4H, H], (bias [4H])], gate order i, f, g, o.
//   lstm_cell outputs [Y [steps, batch, H] (every hidden state), h_last [batch, H], c_last].
//   butterfly inputs [x [batch, length], twiddles [stacks, stages, length/2, 2, 2]].
//   eltwise  one input (activations) or two (binary ops, numpy broadcasting by shape).
//   softmax, layernorm  normalise along the last axis; layernorm inputs [x, gamma, beta].
//   reshape, transpose, reduce, concat, slice  shape-only layout ops (ONNX semantics).

#include <cstdint>
#include <string>
#include <vector>

#include "workload.pb.h"

namespace codesim::ir {

using v1::Op;
using v1::Tensor;
using v1::Workload;

// "gemm", "conv2d", ... (the oneof field name); "none" when unset.
std::string op_kind(const Op& op);
const Tensor* find_tensor(const Workload& w, const std::string& name);
Tensor* find_tensor(Workload& w, const std::string& name);

// Multiply-accumulates of the op as written (dense count; structure is not applied).
int64_t op_macs(const Workload& w, const Op& op);
// Weight elements the op reads (inputs with is_weight), dense count.
int64_t op_params(const Workload& w, const Op& op);
int64_t tensor_elements(const Tensor& t);
// Conv output size along one axis.
int64_t conv_out_dim(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                     int64_t dilation);

// Every problem of the workload, each as "ops[3].conv2d.stride_h: must be >= 1".
std::vector<std::string> validate(const Workload& w);

// Load and save by extension: .pb (binary), .textproto / .pbtxt (text). A malformed file is a
// sim::ConfigError naming the file.
Workload load_proto_file(const std::string& path);
void save_proto_file(const Workload& w, const std::string& path);

}  // namespace codesim::ir
