// Integer arithmetic of gemm and conv2d against exact integer references computed here.
#include <catch2/catch.hpp>
#include <cmath>

#include "compress/reference/tests/reference_test_util.h"
#include "sim/core/diagnostics.h"

namespace codesim::compress {
namespace {

using Catch::Matchers::Contains;
using test::array;
using test::random_values;
using test::WorkloadMaker;

void quantize_activation(ir::v1::Tensor* t, ir::v1::DType dtype, uint32_t bits, float scale,
                         int32_t zero_point) {
  t->set_dtype(dtype);
  t->set_bits(bits);
  t->mutable_quantization()->add_scale(scale);
  t->mutable_quantization()->add_zero_point(zero_point);
}

void set_int_weight(ir::v1::Tensor* t, const std::vector<int32_t>& codes,
                    const std::vector<float>& scales, const std::vector<int32_t>& zero_points,
                    int axis, uint32_t bits = 8) {
  t->set_dtype(ir::v1::INT);
  t->set_bits(bits);
  for (int32_t q : codes) t->add_int_data(q);
  for (float s : scales) t->mutable_quantization()->add_scale(s);
  for (int32_t z : zero_points) t->mutable_quantization()->add_zero_point(z);
  t->mutable_quantization()->set_axis(axis);
}

std::vector<int32_t> random_codes(size_t n, uint32_t seed, int lo, int hi) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& q : v) q = dist(gen);
  return v;
}

int64_t quantize_ref(float x, float scale, int32_t zero_point, int64_t lo, int64_t hi) {
  const int64_t q = static_cast<int64_t>(std::nearbyint(x / scale)) + zero_point;
  return std::min(hi, std::max(lo, q));
}

struct GemmCase {
  WorkloadMaker mk;
  int64_t m = 6, k = 40, n = 5;
  std::vector<int32_t> codes = random_codes(k * n, 21, -127, 127);
  std::vector<float> scales = {0.011f, 0.02f, 0.004f, 0.03f, 0.017f};
  std::vector<int32_t> zeros = {0, 1, -2, 5, 0};
  std::vector<float> bias = random_values(n, 22);
  float sx = 0.02f;
  int32_t zx = 3;
  Array x = array({m, k}, random_values(m* k, 23, -3, 3));  // saturates beyond about 2.6

  GemmCase() {
    quantize_activation(mk.input("x", {m, k}), ir::v1::INT, 8, sx, zx);
    set_int_weight(mk.tensor("fc.weight", {k, n}, true), codes, scales, zeros, 1);
    mk.tensor("fc.bias", {n}, true, bias);
    mk.tensor("fc.out", {m, n});
    auto* g = mk.op("fc", {"x", "fc.weight", "fc.bias"}, {"fc.out"})->mutable_gemm();
    g->set_m(m);
    g->set_n(n);
    g->set_k(k);
  }

  // acc * s_x * s_w in double, rounded once, plus the bias: the documented integer result.
  std::vector<float> exact() const {
    std::vector<float> out(m * n);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) {
        int64_t acc = 0;
        for (int64_t i = 0; i < k; ++i)
          acc += (quantize_ref(x.data[r * k + i], sx, zx, -128, 127) - zx) *
                 (int64_t{codes[i * n + j]} - zeros[j]);
        out[r * n + j] =
            static_cast<float>(double(acc) * (double(sx) * double(scales[j]))) + bias[j];
      }
    return out;
  }
};

TEST_CASE("integer gemm equals the exact integer reference bit for bit", "[unit]") {
  GemmCase c;
  Executor e(c.mk.w, Arithmetic::kInteger);
  REQUIRE(e.integer_ops() == std::vector<std::string>{"fc"});
  const auto out = e.run({{"x", c.x}});
  REQUIRE(out.at("fc.out").data == c.exact());
}

TEST_CASE("float arithmetic runs the same workload on dequantized weights", "[unit]") {
  GemmCase c;
  Executor e(c.mk.w, Arithmetic::kFloat32);
  REQUIRE(e.integer_ops().empty());
  const Array y = e.run({{"x", c.x}}).at("fc.out");
  const std::vector<float> exact = c.exact();
  bool differs = false;
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t j = 0; j < c.n; ++j) {
      double want = c.bias[j];
      for (int64_t i = 0; i < c.k; ++i)
        want += double(c.x.data[r * c.k + i]) * c.scales[j] * (c.codes[i * c.n + j] - c.zeros[j]);
      REQUIRE(y.data[r * c.n + j] == Approx(want).margin(1e-5));
      differs = differs || y.data[r * c.n + j] != exact[r * c.n + j];
    }
  REQUIRE(differs);  // the integer path quantizes the activations, the float path does not
}

TEST_CASE("activations saturate at the range of their dtype and bits", "[unit]") {
  WorkloadMaker mk;
  quantize_activation(mk.input("x", {1, 4}), ir::v1::UINT, 4, 0.5f, 2);
  set_int_weight(mk.tensor("fc.weight", {4, 1}, true), {1, 1, 1, 1}, {1.0f}, {0}, 0);
  mk.tensor("fc.out", {1, 1});
  auto* g = mk.op("fc", {"x", "fc.weight"}, {"fc.out"})->mutable_gemm();
  g->set_m(1);
  g->set_n(1);
  g->set_k(4);
  // q = clamp(round(x / 0.5) + 2, 0, 15): -9 -> 0, 0.25 -> 2 (0.5 rounds to even 0), 1.25 -> 4
  // (2.5 rounds to 2), 100 -> 15; (q - 2) * 0.5 sums to (-2 + 0 + 2 + 13) * 0.5.
  const Array x = array({1, 4}, {-9, 0.25f, 1.25f, 100});
  Executor e(mk.w, Arithmetic::kInteger);
  REQUIRE(e.run({{"x", x}}).at("fc.out").data == std::vector<float>{6.5f});
}

// A 2 x 4 by 4 x 2 integer gemm with unit scales on `bits`-bit activations equal to `xs` and
// weight codes `codes`: the accumulators, exactly.
void check_wide_gemm(uint32_t bits, const std::vector<float>& xs,
                     const std::vector<int32_t>& codes) {
  WorkloadMaker mk;
  quantize_activation(mk.input("x", {2, 4}), ir::v1::INT, bits, 1.0f, 0);
  set_int_weight(mk.tensor("fc.weight", {4, 2}, true), codes, {1.0f}, {0}, 0, bits);
  mk.tensor("fc.out", {2, 2});
  auto* g = mk.op("fc", {"x", "fc.weight"}, {"fc.out"})->mutable_gemm();
  g->set_m(2);
  g->set_n(2);
  g->set_k(4);
  Executor e(mk.w, Arithmetic::kInteger);
  const Array y = e.run({{"x", array({2, 4}, xs)}}).at("fc.out");
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 2; ++j) {
      int64_t acc = 0;
      for (int i = 0; i < 4; ++i) acc += int64_t(xs[r * 4 + i]) * codes[i * 2 + j];
      REQUIRE(y.data[r * 2 + j] == static_cast<float>(double(acc)));
    }
}

TEST_CASE("integer gemm stays exact when partial sums exceed 2^24 and 2^53", "[unit]") {
  SECTION("16-bit operands: sums up to 2^32, beyond float32's exact integers") {
    check_wide_gemm(16, {32767, -32768, 32765, 1, -32767, 32001, -3, 32767},
                    {32767, -32768, 32767, 32767, -32768, 12345, 1, -2});
  }
  SECTION("32-bit operands: sums up to 2^62, beyond double's exact integers") {
    std::vector<float> xs;
    for (int i = 0; i < 8; ++i) xs.push_back(float((1 << 30) - 128 * (i + 1)) * (i % 3 ? 1 : -1));
    check_wide_gemm(32, xs,
                    {(1 << 30) + 1, -(1 << 30) + 3, (1 << 30) - 7, 12345, (1 << 30) - 1,
                     (1 << 30) + 5, -(1 << 30), 1});
  }
}

TEST_CASE("integer conv2d equals an exact integer direct convolution", "[unit]") {
  const int64_t n = 2, c = 3, h = 6, w = 5, f = 4, kh = 3, kw = 3;
  WorkloadMaker mk;
  const float sx = 0.05f;
  const int32_t zx = -4;
  quantize_activation(mk.input("x", {n, c, h, w}), ir::v1::INT, 8, sx, zx);
  const auto codes = random_codes(f * c * kh * kw, 24, -100, 100);
  const std::vector<float> scales = {0.01f, 0.02f, 0.005f, 0.04f};
  set_int_weight(mk.tensor("conv.weight", {f, c, kh, kw}, true), codes, scales, {0}, 0);
  const auto bias = random_values(f, 25);
  mk.tensor("conv.bias", {f}, true, bias);
  mk.tensor("conv.out", {n, f, 3, 3});
  auto* cv = mk.op("conv", {"x", "conv.weight", "conv.bias"}, {"conv.out"})->mutable_conv2d();
  cv->set_batch(n);
  cv->set_c(c);
  cv->set_h(h);
  cv->set_w(w);
  cv->set_filters(f);
  cv->set_kernel_h(kh);
  cv->set_kernel_w(kw);
  cv->set_stride_h(2);
  cv->set_stride_w(2);
  cv->set_pad_top(1);
  cv->set_pad_bottom(0);
  cv->set_pad_left(1);
  cv->set_pad_right(1);
  const Array x = array({n, c, h, w}, random_values(n * c * h * w, 26, -6, 6));
  Executor e(mk.w, Arithmetic::kInteger);
  REQUIRE(e.integer_ops() == std::vector<std::string>{"conv"});
  const Array y = e.run({{"x", x}}).at("conv.out");
  REQUIRE(y.shape == std::vector<int64_t>{n, f, 3, 3});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < f; ++o)
      for (int64_t oy = 0; oy < 3; ++oy)
        for (int64_t ox = 0; ox < 3; ++ox) {
          int64_t acc = 0;
          for (int64_t ci = 0; ci < c; ++ci)
            for (int64_t ky = 0; ky < kh; ++ky)
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const float v = x.data[((b * c + ci) * h + iy) * w + ix];
                acc += (quantize_ref(v, sx, zx, -128, 127) - zx) *
                       codes[((o * c + ci) * kh + ky) * kw + kx];
              }
          const float want =
              static_cast<float>(double(acc) * (double(sx) * double(scales[o]))) + bias[o];
          REQUIRE(y.data[((b * f + o) * 3 + oy) * 3 + ox] == want);
        }
}

TEST_CASE("integer arithmetic rejects annotations it cannot honour", "[unit]") {
  GemmCase c;
  SECTION("a quantized activation of a float dtype") {
    c.mk.w.mutable_tensors(0)->set_dtype(ir::v1::FLOAT32);
    Executor e(c.mk.w, Arithmetic::kInteger);
    REQUIRE_THROWS_WITH(e.run({{"x", c.x}}), Contains("activation 'x': a quantized activation "
                                                      "needs dtype INT"));
  }
  SECTION("per-channel weight scales along the reduction axis") {
    auto* q = c.mk.w.mutable_tensors(1)->mutable_quantization();
    q->clear_scale();
    q->clear_zero_point();
    for (int64_t i = 0; i < c.k; ++i) q->add_scale(0.01f);
    q->set_axis(0);
    Executor e(c.mk.w, Arithmetic::kInteger);
    REQUIRE_THROWS_AS(e.run({{"x", c.x}}), sim::ConfigError);
    REQUIRE_THROWS_WITH(e.run({{"x", c.x}}), Contains("op 'fc' (gemm): per-channel weight scales "
                                                      "must lie along N"));
  }
}

}  // namespace
}  // namespace codesim::compress
