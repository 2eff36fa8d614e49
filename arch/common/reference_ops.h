#pragma once
// Independent plain reference implementations of GEMM and 2-D convolution, used to check what a
// model's array computes in functional mode. The convolution is direct (padding, stride,
// dilation, groups applied in the loop), not an im2col GEMM, so that a mapping bug in a model
// cannot hide behind the same bug in its reference.
//
// Layouts follow workloads/ir/ir.h: GEMM A [batch, M, K], B [K, N] or [batch, K, N], output
// [batch, M, N]; convolution x NCHW, W [filters, C/groups, kh, kw], output NCHW.

#include <cstdint>
#include <vector>

namespace codesim::arch {

struct GemmShape {
  int64_t batch = 1;
  int64_t m = 0, n = 0, k = 0;
  bool b_batched = false;  // B holds one [K, N] matrix per batch entry
};

struct Conv2dShape {
  int64_t batch = 1, c = 0, h = 0, w = 0, filters = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int64_t dilation_h = 1, dilation_w = 1, groups = 1;
  int64_t out_h() const;
  int64_t out_w() const;
};

// Two's complement wrap of `v` to `bits` (1..64): what an accumulator of that width holds.
int64_t wrap_to_bits(int64_t v, int bits);

// Integer references: exact 64-bit sums, then wrapped to the accumulator width. Wrapping once at
// the end equals wrapping after every addition (arithmetic modulo 2^bits).
std::vector<int64_t> reference_gemm(const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                                    const GemmShape& s, int acc_bits);
std::vector<int64_t> reference_conv2d(const std::vector<int32_t>& x, const std::vector<int32_t>& w,
                                      const Conv2dShape& s, int acc_bits);

// Floating-point references: sums in double, with Σ|a·b| per output for the error bound.
struct FpReference {
  std::vector<double> value;
  std::vector<double> abs_sum;
};
FpReference reference_gemm(const std::vector<float>& a, const std::vector<float>& b,
                           const GemmShape& s);
FpReference reference_conv2d(const std::vector<float>& x, const std::vector<float>& w,
                             const Conv2dShape& s);

// Output elements that differ (bit-exact comparison).
int64_t count_mismatches(const std::vector<int64_t>& got, const std::vector<int64_t>& want);

// Largest difference allowed between a binary32 dot product of `terms` products, summed in any
// order, and the exact value: γ(terms + 1) · Σ|a·b| with γ(n) = n·u / (1 − n·u), u = 2^-24 (the
// standard forward error bound of recursive summation, plus one rounding per product).
double fp32_dot_tolerance(int64_t terms, double abs_sum);
// Output elements whose binary32 value lies outside that bound around the reference.
int64_t count_mismatches(const std::vector<float>& got, const FpReference& want, int64_t terms);

}  // namespace codesim::arch
