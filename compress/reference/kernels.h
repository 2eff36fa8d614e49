#pragma once
// The reference executor's kernels, one per op kind (internal to compress/reference). Each takes
// its batch-dependent sizes from the input arrays and the rest from the op, and throws
// KernelError on sizes that do not fit; the executor adds the op's name to the message.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "compress/reference/executor.h"

namespace codesim::compress::kernels {

class KernelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string shape_str(const std::vector<int64_t>& shape);
int64_t elements(const std::vector<int64_t>& shape);

// Per-tensor quantization of an activation: q = clamp(round_half_even(x / scale) + zero_point,
// lo, hi).
struct ActivationQuant {
  float scale = 1;
  int32_t zero_point = 0;
  int64_t lo = 0, hi = 0;
};

// Integer codes of a weight: real = scale[c] * (q - zero_point[c]), c the index along `axis`
// (one entry: per tensor).
struct IntWeight {
  std::vector<int64_t> shape;
  std::vector<int32_t> q;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int axis = 0;
};

// ---- linear algebra (kernels_linear.cpp) ----
Array gemm(const Array& a, const Array& b, const Array* bias, const ir::v1::Gemm& g);
Array gemm_integer(const Array& a, const ActivationQuant& qa, const IntWeight& b, const Array* bias,
                   const ir::v1::Gemm& g);
Array conv2d(const Array& x, const Array& w, const Array* bias, const ir::v1::Conv2d& c);
Array conv2d_integer(const Array& x, const ActivationQuant& qx, const IntWeight& w,
                     const Array* bias, const ir::v1::Conv2d& c);
// AdderNet ops (weight annotated structure.adder): y = -sum |x - w| (+ bias). Without `qx` in
// float (sums in double, rounded once to float32). With `qx` in integer: x as centered codes
// q_x - z_x, w on the activation's grid, clamp(round_half_even(w / s_x)) to the signed range of
// the activation's bits, the sum exact in int64, y = acc * s_x. Padding is x = 0.
Array gemm_adder(const Array& a, const Array& b, const Array* bias, const ir::v1::Gemm& g,
                 const ActivationQuant* qa);
Array conv2d_adder(const Array& x, const Array& w, const Array* bias, const ir::v1::Conv2d& c,
                   const ActivationQuant* qx);
// Outputs Y [steps, batch, H], h_last [batch, H], c_last [batch, H].
std::vector<Array> lstm_cell(const Array& x, const Array& w_ih, const Array& w_hh,
                             const Array* bias, const ir::v1::LstmCell& l);
Array einsum(const Array& a, const Array& b, const ir::v1::Einsum& e);

// ---- structured transforms (kernels_transform.cpp) ----
// out_width 0 means stacks * length.
Array butterfly(const Array& x, const Array& twiddles, const ir::v1::Butterfly& b,
                int64_t out_width);
Array fft(const Array& x, const ir::v1::Fft& f);

// ---- element-wise, normalization, pooling (kernels_elementwise.cpp) ----
Array eltwise(const std::vector<const Array*>& in, ir::v1::EltwiseFunc func);
Array softmax(const Array& x, const ir::v1::Softmax& s);
Array layernorm(const Array& x, const Array* gamma, const Array* beta, const ir::v1::LayerNorm& l);
Array pool(const Array& x, const ir::v1::Pool& p);

// ---- layout (kernels_layout.cpp) ----
Array transpose(const Array& x, const std::vector<int64_t>& perm);
Array reduce(const Array& x, const ir::v1::Reduce& r);
Array concat(const std::vector<const Array*>& in, int64_t axis);
Array slice(const Array& x, const ir::v1::Slice& s);

}  // namespace codesim::compress::kernels
