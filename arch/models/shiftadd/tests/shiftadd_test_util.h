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
#include "workloads/ir/ir.h"
#include "workloads/zoo/builder.h"
#include "workloads/zoo/cnn.h"

namespace codesim::test::shiftadd {

enum class Kind { kMult, kShift, kAdder };

struct Conv {
  int64_t batch = 1, h = 8, w = 8, c = 4, filters = 4, kernel = 3, stride = 1, pad = 0, groups = 1;
};

inline int64_t conv_out(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  return (in + 2 * pad - k) / stride + 1;
}

// Ops built with the zoo's WorkloadBuilder (op `x` reads `x.weight`, `x.bias`, writes `x.out`),
// each with its own input `x.in`, then made shift (pow2) or adder ops. With `data`, activations
// carry float data quantized per tensor (dtype INT, `act_bits`, scale 2^-3, zero point 0),
// multiply weights carry int8 codes, shift weights exact powers of two in [2^-6, 2^0] (and
// zeros), adder weights floats on the activation grid and off it; biases are zero (the model
// accumulates without them).
class Builder {
 public:
  explicit Builder(bool data = false, int act_bits = 6, uint32_t seed = 7)
      : b_("shiftadd_test"), data_(data), act_bits_(act_bits), rng_(seed) {}

  Builder& conv(const std::string& name, const Conv& s, Kind k) {
    const std::string x = b_.input(name + ".in", {s.batch, s.c, s.h, s.w});
    workloads::conv_block(b_, name, x, s.filters, s.kernel, s.stride, s.pad, s.groups,
                          ir::v1::ELTWISE_UNSPECIFIED);
    kinds_.push_back({name, k});
    return *this;
  }

  Builder& gemm(const std::string& name, int64_t m, int64_t n, int64_t k, Kind kind) {
    b_.linear(name, b_.input(name + ".in", {m, k}), 1, m, n, k, false);
    kinds_.push_back({name, kind});
    return *this;
  }

  // The workload; no ops may be added afterwards.
  const ir::v1::Workload& workload() {
    if (done_) return w_;
    done_ = true;
    w_ = b_.finish();
    for (const auto& [name, kind] : kinds_) {
      activation(*ir::find_tensor(w_, name + ".in"));
      weight(*ir::find_tensor(w_, name + ".weight"), kind);
      if (ir::v1::Tensor* bias = ir::find_tensor(w_, name + ".bias"))
        for (int64_t i = 0; i < elements(*bias) && data_; ++i) bias->add_float_data(0.0f);
    }
    return w_;
  }

  static constexpr float kActScale = 0.125f;
  static constexpr int kPow2Min = -6;

 private:
  static int64_t elements(const ir::v1::Tensor& t) {
    int64_t n = 1;
    for (int64_t d : t.shape()) n *= d;
    return n;
  }
  void activation(ir::v1::Tensor& t) {
    if (!data_) return;
    t.set_dtype(ir::v1::INT);
    t.set_bits(static_cast<uint32_t>(act_bits_));
    t.mutable_quantization()->add_scale(kActScale);
    t.mutable_quantization()->add_zero_point(0);
    // Values a little beyond the code range, so that saturation is exercised too.
    const double hi = kActScale * static_cast<double>(int64_t{1} << (act_bits_ - 1)) * 1.1;
    std::uniform_real_distribution<double> d(-hi, hi);
    for (int64_t i = 0; i < elements(t); ++i) t.add_float_data(static_cast<float>(d(rng_)));
  }
  void weight(ir::v1::Tensor& t, Kind k) {
    if (k == Kind::kShift) {
      t.mutable_structure()->mutable_pow2()->set_min_exponent(kPow2Min);
      t.mutable_structure()->mutable_pow2()->set_max_exponent(0);
    }
    if (k == Kind::kAdder) t.mutable_structure()->mutable_adder();
    if (!data_) return;
    const int64_t n = elements(t);
    if (k == Kind::kMult) {
      t.set_dtype(ir::v1::INT);
      t.set_bits(8);
      std::uniform_int_distribution<int> d(-127, 127);
      for (int64_t i = 0; i < n; ++i) t.add_int_data(d(rng_));
      t.mutable_quantization()->add_scale(0.01f);
      t.mutable_quantization()->add_zero_point(0);
      for (int i = 0; i < t.int_data_size(); ++i)
        t.add_float_data(0.01f * static_cast<float>(t.int_data(i)));
    } else if (k == Kind::kShift) {
      std::uniform_int_distribution<int> p(kPow2Min - 1, 0);
      std::bernoulli_distribution neg(0.5);
      for (int64_t i = 0; i < n; ++i) {
        const int e = p(rng_);
        const float v = e < kPow2Min ? 0.0f : std::ldexp(1.0f, e);
        t.add_float_data(neg(rng_) ? -v : v);
      }
    } else {
      const double hi = kActScale * static_cast<double>(int64_t{1} << (act_bits_ - 1)) * 1.2;
      std::uniform_real_distribution<double> d(-hi, hi);
      for (int64_t i = 0; i < n; ++i) t.add_float_data(static_cast<float>(d(rng_)));
    }
  }

  workloads::WorkloadBuilder b_;
  std::vector<std::pair<std::string, Kind>> kinds_;
  ir::v1::Workload w_;
  bool done_ = false;
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
