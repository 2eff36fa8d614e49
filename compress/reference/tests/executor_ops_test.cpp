// Every op kind of the IR against a closed form or an independent naive loop.
#include <catch2/catch.hpp>
#include <cmath>
#include <complex>

#include "compress/reference/tests/reference_test_util.h"
#include "sim/core/diagnostics.h"

namespace codesim::compress {
namespace {

using Catch::Matchers::Contains;
using test::array;
using test::random_values;
using test::run_first_op;
using test::WorkloadMaker;

void require_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(got[i] == Approx(want[i]).margin(tol));
  }
}

TEST_CASE("gemm with a weight and bias equals a naive loop over every row of A", "[unit]") {
  const int64_t b = 2, m = 3, k = 4, n = 5;
  WorkloadMaker mk;
  mk.input("a", {b, m, k});
  const auto w = random_values(k * n, 1), bias = random_values(n, 2);
  mk.tensor("fc.weight", {k, n}, true, w);
  mk.tensor("fc.bias", {n}, true, bias);
  mk.tensor("fc.out", {b, m, n});
  auto* g = mk.op("fc", {"a", "fc.weight", "fc.bias"}, {"fc.out"})->mutable_gemm();
  g->set_batch(1);
  g->set_m(b * m);
  g->set_n(n);
  g->set_k(k);
  const Array a = array({b, m, k}, random_values(b * m * k, 3));
  const Array y = run_first_op(mk.w, {&a});
  REQUIRE(y.shape == std::vector<int64_t>{b, m, n});
  std::vector<double> want(b * m * n);
  for (int64_t r = 0; r < b * m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double s = bias[j];
      for (int64_t i = 0; i < k; ++i) s += double(a.data[r * k + i]) * w[i * n + j];
      want[r * n + j] = s;
    }
  require_close(y.data, want, 1e-5);
}

TEST_CASE("gemm with an activation B multiplies one matrix pair per batch entry", "[unit]") {
  const int64_t b = 3, m = 2, k = 4, n = 3;
  WorkloadMaker mk;
  mk.input("a", {b, m, k});
  mk.input("bt", {b, k, n});
  mk.tensor("mm.out", {b, m, n});
  auto* g = mk.op("mm", {"a", "bt"}, {"mm.out"})->mutable_gemm();
  g->set_batch(b);
  g->set_m(m);
  g->set_n(n);
  g->set_k(k);
  const Array a = array({b, m, k}, random_values(b * m * k, 4));
  const Array bt = array({b, k, n}, random_values(b * k * n, 5));
  const Array y = run_first_op(mk.w, {&a, &bt});
  REQUIRE(y.shape == std::vector<int64_t>{b, m, n});
  std::vector<double> want(b * m * n);
  for (int64_t p = 0; p < b; ++p)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t i = 0; i < k; ++i)
          s += double(a.data[(p * m + r) * k + i]) * bt.data[(p * k + i) * n + j];
        want[(p * m + r) * n + j] = s;
      }
  require_close(y.data, want, 1e-5);
}

// Direct convolution, independent of the executor's im2col.
std::vector<double> naive_conv(const Array& x, const std::vector<float>& w,
                               const std::vector<float>& bias, const ir::v1::Conv2d& c, int64_t oh,
                               int64_t ow) {
  const int64_t n = x.shape[0], g = c.groups(), cg = c.c() / g, fg = c.filters() / g;
  std::vector<double> out(n * c.filters() * oh * ow);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t f = 0; f < c.filters(); ++f)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double s = bias[f];
          const int64_t grp = f / fg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < c.kernel_h(); ++ky)
              for (int64_t kx = 0; kx < c.kernel_w(); ++kx) {
                const int64_t iy = oy * c.stride_h() - c.pad_top() + ky * c.dilation_h();
                const int64_t ix = ox * c.stride_w() - c.pad_left() + kx * c.dilation_w();
                if (iy < 0 || iy >= c.h() || ix < 0 || ix >= c.w()) continue;
                s += double(w[((f * cg + ci) * c.kernel_h() + ky) * c.kernel_w() + kx]) *
                     x.data[((b * c.c() + grp * cg + ci) * c.h() + iy) * c.w() + ix];
              }
          out[((b * c.filters() + f) * oh + oy) * ow + ox] = s;
        }
  return out;
}

TEST_CASE("conv2d with stride, padding, dilation and groups equals a direct convolution",
          "[unit]") {
  ir::v1::Conv2d c;
  c.set_batch(2);
  c.set_c(4);
  c.set_h(7);
  c.set_w(6);
  c.set_filters(6);
  c.set_kernel_h(3);
  c.set_kernel_w(2);
  c.set_stride_h(2);
  c.set_stride_w(1);
  c.set_pad_top(1);
  c.set_pad_bottom(2);
  c.set_pad_left(0);
  c.set_pad_right(1);
  c.set_dilation_h(1);
  c.set_dilation_w(2);
  c.set_groups(2);
  SECTION("grouped") {}
  SECTION("depthwise") {
    c.set_groups(4);
    c.set_filters(8);
  }
  const int64_t oh = 4, ow = 5;  // (7+3-3)/2+1, (6+1-3)/1+1
  WorkloadMaker mk;
  mk.input("x", {2, 4, 7, 6});
  const auto w = random_values(c.filters() * (c.c() / c.groups()) * 3 * 2, 6);
  const auto bias = random_values(c.filters(), 7);
  mk.tensor("conv.weight", {c.filters(), c.c() / c.groups(), 3, 2}, true, w);
  mk.tensor("conv.bias", {c.filters()}, true, bias);
  mk.tensor("conv.out", {2, c.filters(), oh, ow});
  *mk.op("conv", {"x", "conv.weight", "conv.bias"}, {"conv.out"})->mutable_conv2d() = c;
  const Array x = array({2, 4, 7, 6}, random_values(2 * 4 * 7 * 6, 8));
  const Array y = run_first_op(mk.w, {&x});
  REQUIRE(y.shape == std::vector<int64_t>{2, c.filters(), oh, ow});
  require_close(y.data, naive_conv(x, w, bias, c, oh, ow), 1e-5);
}

// Butterfly op over x [rows, in] with `twiddles` [stacks, stages, length/2, 2, 2] and output
// width `width`.
Array run_butterfly(const Array& x, int64_t length, int64_t stages, int64_t stacks,
                    const std::vector<float>& twiddles, int64_t width) {
  WorkloadMaker mk;
  mk.input("x", x.shape);
  mk.tensor("bf.weight", {stacks, stages, length / 2, 2, 2}, true, twiddles);
  mk.tensor("bf.out", {x.shape[0], width});
  auto* b = mk.op("bf", {"x", "bf.weight"}, {"bf.out"})->mutable_butterfly();
  b->set_batch(x.shape[0]);
  b->set_length(length);
  b->set_stages(stages);
  b->set_stacks(stacks);
  return run_first_op(mk.w, {&x});
}

// Every 2x2 block of every stage set to `m`.
std::vector<float> uniform_twiddles(int64_t stacks, int64_t stages, int64_t length,
                                    std::vector<float> m) {
  std::vector<float> t;
  for (int64_t i = 0; i < stacks * stages * length / 2; ++i) t.insert(t.end(), m.begin(), m.end());
  return t;
}

TEST_CASE("butterfly with Hadamard twiddles is the Walsh-Hadamard transform", "[unit]") {
  const int64_t length = 16;
  const Array x = array({3, length}, random_values(3 * length, 9));
  const Array y =
      run_butterfly(x, length, 4, 1, uniform_twiddles(1, 4, length, {1, 1, 1, -1}), length);
  std::vector<double> want(3 * length);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t k = 0; k < length; ++k)
      for (int64_t n = 0; n < length; ++n)
        want[r * length + k] +=
            (__builtin_popcountll(k & n) % 2 ? -1.0 : 1.0) * x.data[r * length + n];
  require_close(y.data, want, 1e-5);
}

TEST_CASE("butterfly stage s pairs i with i + 2^s and uses twiddle block*stride + offset",
          "[unit]") {
  // Stage 0 identity; stage 1 (stride 2) pairs (0, 2) with block 0 and (1, 3) with block 1.
  const std::vector<float> t = {1, 0, 0, 1, 1, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
  const Array x = array({1, 4}, {1, 10, 100, 1000});
  const Array y = run_butterfly(x, 4, 2, 1, t, 4);
  REQUIRE(y.data == std::vector<float>{201, 6050, 403, 8070});
  // A single stage (stride 1) pairs (0, 1) and (2, 3).
  const Array y1 = run_butterfly(x, 4, 1, 1, {1, 2, 3, 4, 5, 6, 7, 8}, 4);
  REQUIRE(y1.data == std::vector<float>{21, 43, 6500, 8700});
}

TEST_CASE("butterfly zero-pads the input, concatenates stacks and truncates the output", "[unit]") {
  std::vector<float> t = uniform_twiddles(1, 2, 4, {1, 1, 1, -1});
  const std::vector<float> twice = uniform_twiddles(1, 2, 4, {2, 0, 0, 2});
  t.insert(t.end(), twice.begin(), twice.end());
  const Array x = array({1, 3}, {1, 2, 3});
  const Array y = run_butterfly(x, 4, 2, 2, t, 6);
  REQUIRE(y.shape == std::vector<int64_t>{1, 6});
  REQUIRE(y.data == std::vector<float>{6, 2, 0, -4, 4, 8});
}

Array run_fft(const Array& x, std::vector<int64_t> lengths, bool real_in, bool real_out,
              bool inverse, int64_t batch = 1) {
  WorkloadMaker mk;
  mk.input("x", x.shape);
  mk.tensor("fft.out", {});
  auto* f = mk.op("fft", {"x"}, {"fft.out"})->mutable_fft();
  f->set_batch(batch);
  for (int64_t l : lengths) f->add_lengths(l);
  f->set_real_input(real_in);
  f->set_real_output(real_out);
  f->set_inverse(inverse);
  return run_first_op(mk.w, {&x});
}

TEST_CASE("fft of a delta is flat at 0 and a phase ramp at 1", "[unit]") {
  const int64_t n = 8;
  Array delta0 = array({1, n}, std::vector<float>(n, 0.0f));
  delta0.data[0] = 1;
  const Array y0 = run_fft(delta0, {n}, true, false, false);
  REQUIRE(y0.shape == std::vector<int64_t>{1, n, 2});
  for (int64_t k = 0; k < n; ++k) {
    REQUIRE(y0.data[2 * k] == Approx(1.0).margin(1e-7));
    REQUIRE(y0.data[2 * k + 1] == Approx(0.0).margin(1e-7));
  }
  Array delta1 = array({1, n}, std::vector<float>(n, 0.0f));
  delta1.data[1] = 1;
  const Array y1 = run_fft(delta1, {n}, true, false, false);
  for (int64_t k = 0; k < n; ++k) {
    REQUIRE(y1.data[2 * k] == Approx(std::cos(2 * M_PI * k / n)).margin(1e-6));
    REQUIRE(y1.data[2 * k + 1] == Approx(-std::sin(2 * M_PI * k / n)).margin(1e-6));
  }
}

TEST_CASE("2-D fft keeping the real part equals a direct DFT of the zero-padded input", "[unit]") {
  // Two 3 x 5 signals as the rank-2 view [batch * seq, hidden], padded to 4 x 8 (FNet mixing).
  const int64_t batch = 2, seq = 3, hidden = 5, l0 = 4, l1 = 8;
  const Array x = array({batch * seq, hidden}, random_values(batch * seq * hidden, 10));
  const Array y = run_fft(x, {l0, l1}, true, true, false, batch);
  REQUIRE(y.shape == x.shape);
  std::vector<double> want(x.data.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t k0 = 0; k0 < seq; ++k0)
      for (int64_t k1 = 0; k1 < hidden; ++k1) {
        std::complex<double> s = 0;
        for (int64_t n0 = 0; n0 < seq; ++n0)
          for (int64_t n1 = 0; n1 < hidden; ++n1)
            s += double(x.data[(b * seq + n0) * hidden + n1]) *
                 std::polar(1.0, -2 * M_PI * (double(k0 * n0) / l0 + double(k1 * n1) / l1));
        want[(b * seq + k0) * hidden + k1] = s.real();
      }
  require_close(y.data, want, 1e-5);
}

TEST_CASE("inverse fft undoes the forward fft of a complex signal", "[unit]") {
  const Array x = array({2, 4, 8, 2}, random_values(2 * 4 * 8 * 2, 11));
  const Array y = run_fft(x, {4, 8}, false, false, false);
  const Array back = run_fft(y, {4, 8}, false, false, true);
  REQUIRE(back.shape == x.shape);
  require_close(back.data, std::vector<double>(x.data.begin(), x.data.end()), 1e-6);
}

Array run_einsum(const std::string& eq, const Array& a, const Array& b) {
  WorkloadMaker mk;
  mk.input("a", a.shape);
  mk.input("b", b.shape);
  mk.tensor("e.out", {});
  mk.op("e", {"a", "b"}, {"e.out"})->mutable_einsum()->set_equation(eq);
  return run_first_op(mk.w, {&a, &b});
}

TEST_CASE("einsum contracts, batches, transposes and sums indices", "[unit]") {
  const Array a = array({2, 3, 4}, random_values(24, 12));
  const Array b = array({2, 4, 5}, random_values(40, 13));
  SECTION("batched matmul bij,bjk->bik") {
    const Array y = run_einsum("bij,bjk->bik", a, b);
    REQUIRE(y.shape == std::vector<int64_t>{2, 3, 5});
    std::vector<double> want(30);
    for (int p = 0; p < 2; ++p)
      for (int i = 0; i < 3; ++i)
        for (int k = 0; k < 5; ++k)
          for (int j = 0; j < 4; ++j)
            want[(p * 3 + i) * 5 + k] +=
                double(a.data[(p * 3 + i) * 4 + j]) * b.data[(p * 4 + j) * 5 + k];
    require_close(y.data, want, 1e-5);
  }
  SECTION("summed index and transposed output bij,bjk->kb") {
    const Array y = run_einsum("bij, bjk -> kb", a, b);
    REQUIRE(y.shape == std::vector<int64_t>{5, 2});
    std::vector<double> want(10);
    for (int p = 0; p < 2; ++p)
      for (int i = 0; i < 3; ++i)
        for (int k = 0; k < 5; ++k)
          for (int j = 0; j < 4; ++j)
            want[k * 2 + p] += double(a.data[(p * 3 + i) * 4 + j]) * b.data[(p * 4 + j) * 5 + k];
    require_close(y.data, want, 1e-5);
  }
  SECTION("an output index in no operand is an error") {
    REQUIRE_THROWS_WITH(run_einsum("bij,bjk->bz", a, b), Contains("'z' appears in no operand"));
  }
}

TEST_CASE("softmax rows sum to 1 with the closed-form values", "[unit]") {
  WorkloadMaker mk;
  mk.input("x", {2, 3});
  mk.tensor("s.out", {2, 3});
  auto* s = mk.op("s", {"x"}, {"s.out"})->mutable_softmax();
  s->set_rows(2);
  s->set_length(3);
  const Array x = array({2, 3}, {0, float(std::log(2.0)), float(std::log(3.0)), 1000, 1000, 1000});
  const Array y = run_first_op(mk.w, {&x});
  require_close(y.data, {1 / 6.0, 2 / 6.0, 3 / 6.0, 1 / 3.0, 1 / 3.0, 1 / 3.0}, 1e-6);
}

TEST_CASE("layernorm rows have mean 0 and variance 1 before the affine", "[unit]") {
  const int64_t rows = 4, length = 16;
  const auto gamma = random_values(length, 14, 0.5f, 2.0f), beta = random_values(length, 15);
  WorkloadMaker mk;
  mk.input("x", {rows, length});
  mk.tensor("ln.weight", {length}, true, std::vector<float>(length, 1.0f));
  mk.tensor("ln.bias", {length}, true, std::vector<float>(length, 0.0f));
  mk.tensor("ln.out", {rows, length});
  auto* l = mk.op("ln", {"x", "ln.weight", "ln.bias"}, {"ln.out"})->mutable_layernorm();
  l->set_rows(rows);
  l->set_length(length);
  const Array x = array({rows, length}, random_values(rows * length, 16, -3, 5));
  const Array y = run_first_op(mk.w, {&x});
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < length; ++i) mean += y.data[r * length + i];
    mean /= length;
    for (int64_t i = 0; i < length; ++i) var += std::pow(y.data[r * length + i] - mean, 2);
    var /= length;
    REQUIRE(mean == Approx(0).margin(1e-6));
    REQUIRE(var == Approx(1).epsilon(1e-4));  // eps = 1e-5 against a variance of about 5
  }
  const Array g = array({length}, gamma), b = array({length}, beta);
  const Array z = run_first_op(mk.w, {&x, &g, &b});
  std::vector<double> want(rows * length);
  for (int64_t i = 0; i < rows * length; ++i)
    want[i] = double(y.data[i]) * gamma[i % length] + beta[i % length];
  require_close(z.data, want, 1e-5);
}

Array run_eltwise(ir::v1::EltwiseFunc f, const std::vector<const Array*>& in) {
  WorkloadMaker mk;
  std::vector<std::string> names;
  for (size_t i = 0; i < in.size(); ++i) {
    names.push_back("x" + std::to_string(i));
    mk.input(names.back(), in[i]->shape);
  }
  mk.tensor("e.out", {});
  mk.op("e", names, {"e.out"})->mutable_eltwise()->set_func(f);
  return run_first_op(mk.w, in);
}

TEST_CASE("eltwise functions have their closed-form values", "[unit]") {
  const Array x = array({6}, {-4, -1, 0, 1, 3, 7});
  require_close(run_eltwise(ir::v1::RELU, {&x}).data, {0, 0, 0, 1, 3, 7}, 0);
  require_close(run_eltwise(ir::v1::RELU6, {&x}).data, {0, 0, 0, 1, 3, 6}, 0);
  require_close(run_eltwise(ir::v1::HARDSWISH, {&x}).data, {0, -1 / 3.0, 0, 2 / 3.0, 3, 7}, 1e-6);
  std::vector<double> gelu, sigmoid, tanh;
  for (float v : x.data) {
    gelu.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
    sigmoid.push_back(1 / (1 + std::exp(-double(v))));
    tanh.push_back(std::tanh(double(v)));
  }
  require_close(run_eltwise(ir::v1::GELU, {&x}).data, gelu, 1e-6);
  REQUIRE(run_eltwise(ir::v1::GELU, {&x}).data[3] == Approx(0.8413447).margin(1e-6));
  require_close(run_eltwise(ir::v1::SIGMOID, {&x}).data, sigmoid, 1e-6);
  require_close(run_eltwise(ir::v1::TANH, {&x}).data, tanh, 1e-6);
}

TEST_CASE("binary eltwise ops broadcast numpy-style by shape", "[unit]") {
  const Array a = array({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  const Array b = array({4, 1}, {10, 20, 30, 40});
  const Array sum = run_eltwise(ir::v1::ADD, {&a, &b});
  REQUIRE(sum.shape == std::vector<int64_t>{2, 4, 3});
  REQUIRE(sum.data[0] == 11);
  REQUIRE(sum.data[1 * 3 + 2] == 23);            // a[0, 0, 2] + b[1]
  REQUIRE(sum.data[(1 * 4 + 3) * 3 + 1] == 45);  // a[1, 0, 1] + b[3]
  const Array row = array({3}, {2, 4, 8});
  REQUIRE(run_eltwise(ir::v1::DIV, {&a, &row}).data ==
          std::vector<float>{0.5f, 0.5f, 0.375f, 2, 1.25f, 0.75f});
  REQUIRE(run_eltwise(ir::v1::SUB, {&row, &a}).data == std::vector<float>{1, 2, 5, -2, -1, 2});
  const Array scalar = array({}, {3});
  REQUIRE(run_eltwise(ir::v1::MUL, {&row, &scalar, &row}).data == std::vector<float>{12, 48, 192});
  const Array bad = array({4}, {1, 2, 3, 4});
  REQUIRE_THROWS_WITH(run_eltwise(ir::v1::ADD, {&a, &bad}), Contains("cannot broadcast"));
}

Array run_pool(const Array& x, ir::v1::Pool p) {
  WorkloadMaker mk;
  mk.input("x", x.shape);
  mk.tensor("p.out", {});
  p.set_batch(x.shape[0]);
  p.set_c(x.shape[1]);
  p.set_h(x.shape[2]);
  p.set_w(x.shape[3]);
  *mk.op("p", {"x"}, {"p.out"})->mutable_pool() = p;
  return run_first_op(mk.w, {&x});
}

ir::v1::Pool pool_spec(ir::v1::PoolKind kind, int64_t k, int64_t s, int64_t pad) {
  ir::v1::Pool p;
  p.set_kind(kind);
  p.set_kernel_h(k);
  p.set_kernel_w(k);
  p.set_stride_h(s);
  p.set_stride_w(s);
  p.set_pad_h(pad);
  p.set_pad_w(pad);
  return p;
}

TEST_CASE("pooling follows torch: padding, ceil_mode and count_include_pad", "[unit]") {
  std::vector<float> ramp(16);
  for (int i = 0; i < 16; ++i) ramp[i] = float(i);
  const Array x = array({1, 1, 4, 4}, ramp);
  const Array max2 = run_pool(x, pool_spec(ir::v1::MAX, 2, 2, 0));
  REQUIRE(max2.shape == std::vector<int64_t>{1, 1, 2, 2});
  REQUIRE(max2.data == std::vector<float>{5, 7, 13, 15});
  auto avg = pool_spec(ir::v1::AVG, 3, 1, 1);
  const Array exclude = run_pool(x, avg);
  REQUIRE(exclude.shape == std::vector<int64_t>{1, 1, 4, 4});
  REQUIRE(exclude.data[0] == Approx((0 + 1 + 4 + 5) / 4.0));
  REQUIRE(exclude.data[5] == Approx((0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9.0));
  avg.set_count_include_pad(true);
  REQUIRE(run_pool(x, avg).data[0] == Approx((0 + 1 + 4 + 5) / 9.0));
  auto ceil = pool_spec(ir::v1::MAX, 3, 2, 0);
  REQUIRE(run_pool(x, ceil).data == std::vector<float>{10});
  ceil.set_ceil_mode(true);
  const Array c = run_pool(x, ceil);
  REQUIRE(c.shape == std::vector<int64_t>{1, 1, 2, 2});
  REQUIRE(c.data == std::vector<float>{10, 11, 14, 15});
  ir::v1::Pool global;
  global.set_kind(ir::v1::GLOBAL_AVG);
  REQUIRE(run_pool(x, global).data == std::vector<float>{7.5f});
}

TEST_CASE("lstm_cell with constant gates follows the closed-form cell recurrence", "[unit]") {
  // Zero weights leave the gates at their biases: c_t = f c_{t-1} + i g, h_t = o tanh(c_t).
  const int64_t in = 3, hidden = 2, steps = 5, batch = 2;
  WorkloadMaker mk;
  mk.input("x", {steps, batch, in});
  mk.tensor("l.weight_ih", {4 * hidden, in}, true, std::vector<float>(4 * hidden * in, 0.0f));
  mk.tensor("l.weight_hh", {4 * hidden, hidden}, true,
            std::vector<float>(4 * hidden * hidden, 0.0f));
  const std::vector<float> bias = {0.5f, -1, 2, 0.25f, 0.3f, -0.7f, -0.2f, 1.5f};  // i, f, g, o
  mk.tensor("l.bias", {4 * hidden}, true, bias);
  mk.tensor("l.out", {steps, batch, hidden});
  mk.tensor("l.h", {batch, hidden});
  mk.tensor("l.c", {batch, hidden});
  auto* l = mk.op("l", {"x", "l.weight_ih", "l.weight_hh", "l.bias"}, {"l.out", "l.h", "l.c"})
                ->mutable_lstm_cell();
  l->set_batch(batch);
  l->set_input_size(in);
  l->set_hidden_size(hidden);
  l->set_steps(steps);
  const Array x = array({steps, batch, in}, random_values(steps * batch * in, 17));
  Executor e(mk.w);
  const auto out = e.run_op(mk.w.ops(0), {&x});
  REQUIRE(out.size() == 3);
  REQUIRE(out[0].shape == std::vector<int64_t>{steps, batch, hidden});
  const auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  for (int64_t j = 0; j < hidden; ++j) {
    const double i = sig(bias[j]), f = sig(bias[hidden + j]), g = std::tanh(bias[2 * hidden + j]),
                 o = sig(bias[3 * hidden + j]);
    for (int64_t t = 0; t < steps; ++t) {
      const double c = i * g * (1 - std::pow(f, t + 1)) / (1 - f);
      for (int64_t b = 0; b < batch; ++b)
        REQUIRE(out[0].data[(t * batch + b) * hidden + j] == Approx(o * std::tanh(c)).margin(1e-6));
      if (t == steps - 1) {
        REQUIRE(out[1].data[j] == Approx(o * std::tanh(c)).margin(1e-6));
        REQUIRE(out[2].data[hidden + j] == Approx(c).margin(1e-6));
      }
    }
  }
}

TEST_CASE("layout ops follow ONNX: transpose, reduce, concat, slice", "[unit]") {
  std::vector<float> ramp(24);
  for (int i = 0; i < 24; ++i) ramp[i] = float(i);
  const Array x = array({2, 3, 4}, ramp);
  WorkloadMaker mk;
  mk.input("x", {2, 3, 4});
  mk.tensor("o", {});
  SECTION("transpose") {
    auto* t = mk.op("t", {"x"}, {"o"})->mutable_transpose();
    for (int64_t p : {2, 0, 1}) t->add_perm(p);
    const Array y = run_first_op(mk.w, {&x});
    REQUIRE(y.shape == std::vector<int64_t>{4, 2, 3});
    REQUIRE(y.data[(3 * 2 + 1) * 3 + 2] == x.data[(1 * 3 + 2) * 4 + 3]);  // y[3,1,2] = x[1,2,3]
  }
  SECTION("reduce") {
    auto* r = mk.op("r", {"x"}, {"o"})->mutable_reduce();
    r->set_kind(ir::v1::REDUCE_MEAN);
    r->add_axes(-2);
    r->set_keepdims(true);
    Array y = run_first_op(mk.w, {&x});
    REQUIRE(y.shape == std::vector<int64_t>{2, 1, 4});
    REQUIRE(y.data == std::vector<float>{4, 5, 6, 7, 16, 17, 18, 19});
    r->set_kind(ir::v1::REDUCE_MAX);
    r->add_axes(0);
    r->set_keepdims(false);
    y = run_first_op(mk.w, {&x});
    REQUIRE(y.shape == std::vector<int64_t>{4});
    REQUIRE(y.data == std::vector<float>{20, 21, 22, 23});
    r->clear_axes();
    r->set_kind(ir::v1::REDUCE_SUM);
    REQUIRE(run_first_op(mk.w, {&x}).data == std::vector<float>{276});
  }
  SECTION("concat") {
    mk.input("z", {2, 1, 4});
    auto* op = mk.op("c", {"x", "z"}, {"o"});
    op->mutable_concat()->set_axis(1);
    const Array z = array({2, 1, 4}, std::vector<float>(8, -1.0f));
    const Array y = run_first_op(mk.w, {&x, &z});
    REQUIRE(y.shape == std::vector<int64_t>{2, 4, 4});
    REQUIRE(y.data[12] == -1);
    REQUIRE(y.data[16] == 12);
  }
  SECTION("slice") {
    auto* s = mk.op("s", {"x"}, {"o"})->mutable_slice();
    for (int64_t v : {2, 1}) s->add_axes(v);
    for (int64_t v : {-1, 0}) s->add_starts(v);
    for (int64_t v : {INT64_MIN, int64_t{1000}}) s->add_ends(v);
    for (int64_t v : {-2, 2}) s->add_steps(v);
    const Array y = run_first_op(mk.w, {&x});
    REQUIRE(y.shape == std::vector<int64_t>{2, 2, 2});
    REQUIRE(y.data == std::vector<float>{3, 1, 11, 9, 15, 13, 23, 21});
  }
}

TEST_CASE("a workload declared for batch 1 runs a larger batch through reshape and gather",
          "[unit]") {
  // x [1, 4] -> gemm [1, 6] -> reshape [1, 2, 3] -> transpose [2, 1, 3] -> slice index 1 of axis
  // 0, declared [1, 3] (a gather that drops the axis).
  WorkloadMaker mk;
  mk.input("x", {1, 4});
  const auto w = random_values(24, 18);
  mk.tensor("fc.weight", {4, 6}, true, w);
  mk.tensor("fc.out", {1, 6});
  mk.tensor("r.out", {1, 2, 3});
  mk.tensor("t.out", {2, 1, 3});
  mk.tensor("g.out", {1, 3});
  auto* g = mk.op("fc", {"x", "fc.weight"}, {"fc.out"})->mutable_gemm();
  g->set_m(1);
  g->set_n(6);
  g->set_k(4);
  mk.op("r", {"fc.out"}, {"r.out"})->mutable_reshape();
  auto* t = mk.op("t", {"r.out"}, {"t.out"})->mutable_transpose();
  for (int64_t p : {1, 0, 2}) t->add_perm(p);
  auto* s = mk.op("g", {"t.out"}, {"g.out"})->mutable_slice();
  s->add_axes(0);
  s->add_starts(1);
  s->add_ends(2);
  const Array x = array({5, 4}, random_values(20, 19));
  Executor e(mk.w);
  const auto values = e.run({{"x", x}});
  REQUIRE(values.at("r.out").shape == std::vector<int64_t>{5, 2, 3});
  REQUIRE(values.at("t.out").shape == std::vector<int64_t>{2, 5, 3});
  const Array& y = values.at("g.out");
  REQUIRE(y.shape == std::vector<int64_t>{5, 3});
  for (int64_t b = 0; b < 5; ++b)
    for (int64_t j = 0; j < 3; ++j) {
      double s = 0;
      for (int64_t i = 0; i < 4; ++i) s += double(x.data[b * 4 + i]) * w[i * 6 + 3 + j];
      REQUIRE(y.data[b * 3 + j] == Approx(s).margin(1e-5));
    }
}

TEST_CASE("ops that cannot run are errors naming the op and tensor", "[unit]") {
  WorkloadMaker mk;
  mk.input("x", {1, 4});
  mk.tensor("fc.weight", {4, 2}, true);
  mk.tensor("fc.out", {1, 2});
  mk.tensor("erf.out", {1, 2});
  auto* g = mk.op("fc", {"x", "fc.weight"}, {"fc.out"})->mutable_gemm();
  g->set_m(1);
  g->set_n(2);
  g->set_k(4);
  mk.op("erf", {"fc.out"}, {"erf.out"})->mutable_generic()->set_op_type("Erf");
  Executor e(mk.w);
  const Array x = array({1, 4}, {1, 2, 3, 4});
  REQUIRE_THROWS_AS(e.run({{"x", x}}), sim::ConfigError);
  REQUIRE_THROWS_WITH(e.run({{"x", x}}),
                      Contains("op 'fc' (gemm): weight 'fc.weight' has no data"));
  REQUIRE_THROWS_WITH(e.run({}), Contains("input 'x' has no value"));
  for (float v : {1, 2, 3, 4, 5, 6, 7, 8}) mk.w.mutable_tensors(1)->add_float_data(v);
  Executor with_weights(mk.w);
  REQUIRE_THROWS_WITH(with_weights.run({{"x", x}}),
                      Contains("op 'erf' (generic): a generic op (ONNX 'Erf')"));
  const Array wrong = array({1, 3}, {1, 2, 3});
  REQUIRE_THROWS_WITH(with_weights.run({{"x", wrong}}), Contains("op 'fc' (gemm): A [1, 3]"));
}

}  // namespace
}  // namespace codesim::compress
