#pragma once
// Shared by the shiftadd tests: a workload builder whose ops can be turned into shift (pow2) or
// adder layers, and the arch configs of this folder with their paths made absolute.

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sim/core/runner.h"
#include "tests/test_util.h"
#include "workload.pb.h"

namespace codesim::test::shiftadd {

enum class Kind { kMult, kShift, kAdder };

struct Conv {
  int64_t batch = 1, h = 8, w = 8, c = 4, filters = 4, kernel = 3, stride = 1, pad = 0, groups = 1;
};

inline int64_t conv_out(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  return (in + 2 * pad - k) / stride + 1;
}

// Ops get their own tensors. With `data`, activations carry float data quantized per tensor
// (dtype INT, `act_bits`, scale 2^-3, zero point 0); multiply weights carry int8 codes, shift
// weights exact powers of two in [2^-6, 2^0] (and zeros), adder weights floats on the activation
// grid and off it.
class Builder {
 public:
  explicit Builder(bool data = false, int act_bits = 6, uint32_t seed = 7)
      : data_(data), act_bits_(act_bits), rng_(seed) {
    w_.set_name("shiftadd_test");
  }

  Builder& conv(const std::string& name, const Conv& s, Kind k) {
    ir::v1::Op* op = w_.add_ops();
    op->set_name(name);
    auto* c = op->mutable_conv2d();
    c->set_batch(s.batch);
    c->set_h(s.h);
    c->set_w(s.w);
    c->set_c(s.c);
    c->set_filters(s.filters);
    c->set_kernel_h(s.kernel);
    c->set_kernel_w(s.kernel);
    c->set_stride_h(s.stride);
    c->set_stride_w(s.stride);
    c->set_pad_top(s.pad);
    c->set_pad_bottom(s.pad);
    c->set_pad_left(s.pad);
    c->set_pad_right(s.pad);
    c->set_groups(s.groups);
    op->add_inputs(activation(name + ".x", {s.batch, s.c, s.h, s.w}));
    op->add_inputs(weight(name + ".w", {s.filters, s.c / s.groups, s.kernel, s.kernel}, k));
    op->add_outputs(
        plain(name + ".y", {s.batch, s.filters, conv_out(s.h, s.kernel, s.stride, s.pad),
                            conv_out(s.w, s.kernel, s.stride, s.pad)}));
    return *this;
  }

  Builder& gemm(const std::string& name, int64_t m, int64_t n, int64_t k, Kind kind) {
    ir::v1::Op* op = w_.add_ops();
    op->set_name(name);
    auto* g = op->mutable_gemm();
    g->set_batch(1);
    g->set_m(m);
    g->set_n(n);
    g->set_k(k);
    op->add_inputs(activation(name + ".a", {m, k}));
    op->add_inputs(weight(name + ".b", {k, n}, kind));
    op->add_outputs(plain(name + ".out", {m, n}));
    return *this;
  }

  ir::v1::Workload& workload() { return w_; }
  static constexpr float kActScale = 0.125f;
  static constexpr int kPow2Min = -6;

 private:
  ir::v1::Tensor* add(const std::string& name, const std::vector<int64_t>& shape) {
    ir::v1::Tensor* t = w_.add_tensors();
    t->set_name(name);
    for (int64_t d : shape) t->add_shape(d);
    t->set_dtype(ir::v1::FLOAT32);
    t->set_bits(32);
    return t;
  }
  static int64_t elements(const ir::v1::Tensor& t) {
    int64_t n = 1;
    for (int64_t d : t.shape()) n *= d;
    return n;
  }
  std::string plain(const std::string& name, const std::vector<int64_t>& shape) {
    add(name, shape);
    return name;
  }
  std::string activation(const std::string& name, const std::vector<int64_t>& shape) {
    ir::v1::Tensor* t = add(name, shape);
    if (!data_) return name;
    t->set_dtype(ir::v1::INT);
    t->set_bits(static_cast<uint32_t>(act_bits_));
    t->mutable_quantization()->add_scale(kActScale);
    t->mutable_quantization()->add_zero_point(0);
    // Values a little beyond the code range, so that saturation is exercised too.
    const double hi = kActScale * static_cast<double>(int64_t{1} << (act_bits_ - 1)) * 1.1;
    std::uniform_real_distribution<double> d(-hi, hi);
    for (int64_t i = 0; i < elements(*t); ++i) t->add_float_data(static_cast<float>(d(rng_)));
    return name;
  }
  std::string weight(const std::string& name, const std::vector<int64_t>& shape, Kind k) {
    ir::v1::Tensor* t = add(name, shape);
    t->set_is_weight(true);
    if (k == Kind::kShift) {
      t->mutable_structure()->mutable_pow2()->set_min_exponent(kPow2Min);
      t->mutable_structure()->mutable_pow2()->set_max_exponent(0);
    }
    if (k == Kind::kAdder) t->mutable_structure()->mutable_adder();
    if (!data_) return name;
    const int64_t n = elements(*t);
    if (k == Kind::kMult) {
      t->set_dtype(ir::v1::INT);
      t->set_bits(8);
      std::uniform_int_distribution<int> d(-127, 127);
      for (int64_t i = 0; i < n; ++i) t->add_int_data(d(rng_));
      t->mutable_quantization()->add_scale(0.01f);
      t->mutable_quantization()->add_zero_point(0);
      for (int i = 0; i < t->int_data_size(); ++i)
        t->add_float_data(0.01f * static_cast<float>(t->int_data(i)));
    } else if (k == Kind::kShift) {
      std::uniform_int_distribution<int> p(kPow2Min - 1, 0);
      std::bernoulli_distribution neg(0.5);
      for (int64_t i = 0; i < n; ++i) {
        const int e = p(rng_);
        const float v = e < kPow2Min ? 0.0f : std::ldexp(1.0f, e);
        t->add_float_data(neg(rng_) ? -v : v);
      }
    } else {
      const double hi = kActScale * static_cast<double>(int64_t{1} << (act_bits_ - 1)) * 1.2;
      std::uniform_real_distribution<double> d(-hi, hi);
      for (int64_t i = 0; i < n; ++i) t->add_float_data(static_cast<float>(d(rng_)));
    }
    return name;
  }

  ir::v1::Workload w_;
  bool data_;
  int act_bits_;
  std::mt19937 rng_;
};

// An arch config of this folder with every path made absolute (tests run from the build tree).
inline sim::ArchConfig arch(const std::string& config, std::vector<std::string> overrides = {}) {
  const std::string path = source_path("arch/models/shiftadd/configs/" + config);
  sim::ArchConfig a = sim::load_arch(path, overrides);
  if (a.technology.find('/') != std::string::npos) {
    overrides.push_back("technology=" + source_path(a.technology));
    overrides.push_back("accelerator.cost_table=" + source_path(a.technology));
    a = sim::load_arch(path, overrides);
  }
  return a;
}

}  // namespace codesim::test::shiftadd
