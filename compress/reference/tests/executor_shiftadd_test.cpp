// The executor's multiplication-free paths: pow2 weights as exact integer shifts of the activation
// codes, and adder ops (-sum |x - w|) in float and integer arithmetic, against values computed by
// hand in the comments, and against a direct loop on random cases.

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>

#include "compress/reference/tests/reference_test_util.h"
#include "sim/core/diagnostics.h"

namespace codesim::compress {
namespace {

using Catch::Matchers::Contains;
using test::array;
using test::random_values;
using test::run_first_op;
using test::WorkloadMaker;

void quantize_activation(ir::v1::Tensor* t, uint32_t bits, float scale) {
  t->set_dtype(ir::v1::INT);
  t->set_bits(bits);
  t->mutable_quantization()->add_scale(scale);
  t->mutable_quantization()->add_zero_point(0);
}

ir::v1::Gemm* gemm(WorkloadMaker& mk, int64_t m, int64_t n, int64_t k, bool bias = false) {
  std::vector<std::string> in = {"x", "w"};
  if (bias) in.push_back("b");
  auto* g = mk.op("fc", in, {"y"})->mutable_gemm();
  g->set_m(m);
  g->set_n(n);
  g->set_k(k);
  return g;
}

void set_pow2(ir::v1::Tensor* t, int min_exponent, int max_exponent) {
  t->mutable_structure()->mutable_pow2()->set_min_exponent(min_exponent);
  t->mutable_structure()->mutable_pow2()->set_max_exponent(max_exponent);
}

TEST_CASE("a pow2 gemm runs as integer shifts of the activation codes", "[unit]") {
  WorkloadMaker mk;
  quantize_activation(mk.input("x", {1, 3}), 8, 0.25f);
  // Codes w * 2^3: [[4, -2], [-8, 1], [1, 0]].
  set_pow2(mk.tensor("w", {3, 2}, true, {0.5f, -0.25f, -1.0f, 0.125f, 0.125f, 0.0f}), -3, 0);
  mk.tensor("y", {1, 2});
  gemm(mk, 1, 2, 3);
  Executor e(mk.w, Arithmetic::kInteger);
  REQUIRE(e.integer_ops() == std::vector<std::string>{"fc"});
  // x codes round([1, -0.5, 0.3] / 0.25) = [4, -2, 1],
  // column 0: 4*4 + (-2)(-8) + 1*1 = 33 -> 33 * 0.25 * 2^-3 = 1.03125,
  // column 1: 4(-2) + (-2)(1) + 1*0 = -10 -> -0.3125.
  const Array x = array({1, 3}, {1.0f, -0.5f, 0.3f});
  const Array y = e.run_op(mk.w.ops(0), {&x}).at(0);
  CHECK(y.data == std::vector<float>{1.03125f, -0.3125f});
  // Float arithmetic keeps 0.3 unquantized: 0.5 + 0.5 + 0.3 * 0.125 = 1.0375.
  const Array f = run_first_op(mk.w, {&x});
  CHECK(f.data[0] == Approx(1.0375f));
}

TEST_CASE("a pow2 conv2d with padding and stride equals the direct integer loop", "[unit]") {
  WorkloadMaker mk;
  const int64_t c = 4, h = 7, wd = 6, f = 3, k = 3;
  quantize_activation(mk.input("x", {1, c, h, wd}), 6, 0.125f);
  std::vector<float> w(static_cast<size_t>(f * c * k * k));
  std::vector<int64_t> codes(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const int e = static_cast<int>(i * 7 % 8) - 6;  // -6..1; -6 is below the range: zero
    const int sign = i % 3 == 0 ? -1 : 1;
    codes[i] = e < -5 ? 0 : sign * (int64_t{1} << (e + 5));
    w[i] = static_cast<float>(std::ldexp(static_cast<double>(codes[i]), -5));
  }
  set_pow2(mk.tensor("w", {f, c, k, k}, true, w), -5, 1);
  mk.tensor("y", {1, f, 4, 3});
  auto* cv = mk.op("conv", {"x", "w"}, {"y"})->mutable_conv2d();
  cv->set_batch(1), cv->set_h(h), cv->set_w(wd), cv->set_c(c), cv->set_filters(f);
  cv->set_kernel_h(k), cv->set_kernel_w(k), cv->set_stride_h(2), cv->set_stride_w(2);
  cv->set_pad_top(1), cv->set_pad_bottom(1), cv->set_pad_left(1), cv->set_pad_right(0);
  const Array x = array({1, c, h, wd}, random_values(c * h * wd, 5, -5, 5));
  const Array y = run_first_op(mk.w, {&x}, 0, Arithmetic::kInteger);
  REQUIRE(y.shape == std::vector<int64_t>{1, f, 4, 3});
  for (int64_t o = 0; o < f; ++o)
    for (int64_t oy = 0; oy < 4; ++oy)
      for (int64_t ox = 0; ox < 3; ++ox) {
        int64_t acc = 0;
        for (int64_t ci = 0; ci < c; ++ci)
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              const double v =
                  std::nearbyint(x.data[static_cast<size_t>((ci * h + iy) * wd + ix)] / 0.125f);
              const int64_t q = static_cast<int64_t>(std::min(31.0, std::max(-32.0, v)));
              acc += q * codes[static_cast<size_t>(((o * c + ci) * k + ky) * k + kx)];
            }
        const float want =
            static_cast<float>(static_cast<double>(acc) * (0.125 * std::ldexp(1.0, -5)));
        CHECK(y.data[static_cast<size_t>((o * 4 + oy) * 3 + ox)] == want);
      }
}

TEST_CASE("pow2 weights that are not codes of their range are an error naming the tensor",
          "[unit]") {
  WorkloadMaker mk;
  quantize_activation(mk.input("x", {1, 2}), 8, 0.25f);
  // 2^-4 is below min_exponent -3: no integer code.
  set_pow2(mk.tensor("w", {2, 1}, true, {0.5f, 0.0625f}), -3, 0);
  mk.tensor("y", {1, 1});
  gemm(mk, 1, 1, 2);
  const Array x = array({1, 2}, {1.0f, 1.0f});
  REQUIRE_THROWS_WITH(run_first_op(mk.w, {&x}, 0, Arithmetic::kInteger),
                      Contains("'w'") && Contains("min_exponent -3"));
}

TEST_CASE("pow2 weights spanning more than 30 exponents run in float", "[unit]") {
  WorkloadMaker mk;
  quantize_activation(mk.input("x", {1, 2}), 8, 0.25f);
  set_pow2(mk.tensor("w", {2, 1}, true, {1.0f, 0.5f}), -40, 0);
  mk.tensor("y", {1, 1});
  gemm(mk, 1, 1, 2);
  Executor e(mk.w, Arithmetic::kInteger);
  CHECK(e.integer_ops().empty());
  const Array x = array({1, 2}, {0.3f, 0.3f});
  // Unquantized: 0.3 + 0.15.
  CHECK(e.run_op(mk.w.ops(0), {&x}).at(0).data[0] == Approx(0.45f));
}

TEST_CASE("an adder gemm computes -sum|x - w| in float and on integer codes", "[unit]") {
  WorkloadMaker mk;
  quantize_activation(mk.input("x", {1, 3}), 4, 0.5f);
  mk.tensor("w", {3, 1}, true, {0.75f, -1.0f, 10.0f})->mutable_structure()->mutable_adder();
  mk.tensor("b", {1}, true, {0.5f});
  mk.tensor("y", {1, 1});
  gemm(mk, 1, 1, 3, true);
  const Array x = array({1, 3}, {1.0f, -2.0f, 5.0f});
  // Float: -(|1 - 0.75| + |-2 + 1| + |5 - 10|) + 0.5 = -6.25 + 0.5.
  CHECK(run_first_op(mk.w, {&x}).data == std::vector<float>{-5.75f});
  // Integer, 4-bit codes [-8, 7]: x -> [2, -4, 7 (10 saturates)]; w on the same grid ->
  // [2 (1.5 rounds to even), -2, 7 (20 saturates)]; -(0 + 2 + 0) * 0.5 + 0.5 = -0.5.
  Executor e(mk.w, Arithmetic::kInteger);
  REQUIRE(e.integer_ops() == std::vector<std::string>{"fc"});
  CHECK(e.run_op(mk.w.ops(0), {&x}).at(0).data == std::vector<float>{-0.5f});
}

TEST_CASE("an adder conv2d subtracts weights at padded positions from zero", "[unit]") {
  WorkloadMaker mk;
  mk.input("x", {1, 1, 2, 2});
  mk.tensor("w", {1, 1, 3, 3}, true, {0, 1, 2, 3, 4, 5, 6, 7, 8})
      ->mutable_structure()
      ->mutable_adder();
  mk.tensor("y", {1, 1, 2, 2});
  auto* cv = mk.op("conv", {"x", "w"}, {"y"})->mutable_conv2d();
  cv->set_batch(1), cv->set_h(2), cv->set_w(2), cv->set_c(1), cv->set_filters(1);
  cv->set_kernel_h(3), cv->set_kernel_w(3), cv->set_stride_h(1), cv->set_stride_w(1);
  cv->set_pad_top(1), cv->set_pad_bottom(1), cv->set_pad_left(1), cv->set_pad_right(1);
  const Array x = array({1, 1, 2, 2}, {1, 2, 3, 4});
  // Output (0,0): padded row |0-0|+|0-1|+|0-2| = 3; middle row |0-3|+|1-4|+|2-5| = 9; bottom
  // row |0-6|+|3-7|+|4-8| = 14: -26. (0,1) and (1,0) also sum to 26; (1,1): 4 + 5 + 21 = 30.
  CHECK(run_first_op(mk.w, {&x}).data == std::vector<float>{-26, -26, -26, -30});
}

TEST_CASE("an integer grouped adder conv2d equals the direct loop on codes", "[unit]") {
  WorkloadMaker mk;
  const int64_t c = 6, h = 5, wd = 5, f = 4, g = 2, k = 3;
  quantize_activation(mk.input("x", {1, c, h, wd}), 6, 0.25f);
  const std::vector<float> wv = random_values(f * (c / g) * k * k, 9, -9, 9);
  mk.tensor("w", {f, c / g, k, k}, true, wv)->mutable_structure()->mutable_adder();
  mk.tensor("y", {1, f, 3, 3});
  auto* cv = mk.op("conv", {"x", "w"}, {"y"})->mutable_conv2d();
  cv->set_batch(1), cv->set_h(h), cv->set_w(wd), cv->set_c(c), cv->set_filters(f);
  cv->set_kernel_h(k), cv->set_kernel_w(k), cv->set_stride_h(2), cv->set_stride_w(2);
  cv->set_pad_top(1), cv->set_pad_bottom(1), cv->set_pad_left(1), cv->set_pad_right(1);
  cv->set_groups(g);
  const Array x = array({1, c, h, wd}, random_values(c * h * wd, 10, -9, 9));
  const Array y = run_first_op(mk.w, {&x}, 0, Arithmetic::kInteger);
  const auto code = [](float v, double lo, double hi) {
    return static_cast<int64_t>(
        std::min(hi, std::max(lo, static_cast<double>(std::nearbyint(v / 0.25f)))));
  };
  for (int64_t o = 0; o < f; ++o)
    for (int64_t oy = 0; oy < 3; ++oy)
      for (int64_t ox = 0; ox < 3; ++ox) {
        int64_t acc = 0;
        for (int64_t ci = 0; ci < c / g; ++ci)
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
              const int64_t cin = (o / (f / g)) * (c / g) + ci;
              const int64_t xq =
                  iy < 0 || iy >= h || ix < 0 || ix >= wd
                      ? 0
                      : code(x.data[static_cast<size_t>((cin * h + iy) * wd + ix)], -32, 31);
              const int64_t wq =
                  code(wv[static_cast<size_t>(((o * (c / g) + ci) * k + ky) * k + kx)], -32, 31);
              acc -= std::llabs(xq - wq);
            }
        CHECK(y.data[static_cast<size_t>((o * 3 + oy) * 3 + ox)] ==
              static_cast<float>(static_cast<double>(acc) * 0.25));
      }
}

}  // namespace
}  // namespace codesim::compress
