#include <catch2/catch.hpp>
#include <cmath>

#include "compress/quality.h"
#include "compress/tests/compress_test_util.h"
#include "compress/transform.h"

namespace codesim::compress {
namespace {

using namespace testing;

TEST_CASE("quantize: codes lie on the k-bit grid and dequantize within half a step", "[unit]") {
  for (int bits : {2, 3, 4, 8, 12, 16})
    for (const char* scheme : {"symmetric", "asymmetric"})
      for (const char* granularity : {"per_channel", "per_tensor"}) {
        INFO(bits << " " << scheme << " " << granularity);
        ir::v1::Workload w = mlp(4, 32, 12, 10);
        const std::vector<float> dense(tensor(w, "fc1.W").float_data().begin(),
                                       tensor(w, "fc1.W").float_data().end());
        run("pipeline: [{transform: quantize, select: {name: fc1}, bits: " + std::to_string(bits) +
                ", scheme: " + scheme + ", granularity: " + granularity + "}]",
            w);
        const auto& t = tensor(w, "fc1.W");
        const auto& q = t.quantization();
        CHECK(t.dtype() == ir::v1::INT);
        CHECK(t.bits() == static_cast<uint32_t>(bits));
        CHECK(q.axis() == 1);  // gemm output channels (N) of B [K, N]
        CHECK(q.scale_size() == (std::string(granularity) == "per_channel" ? 12 : 1));
        const int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
        for (int i = 0; i < t.int_data_size(); ++i) {
          const int c = q.scale_size() > 1 ? i % 12 : 0;
          const int32_t code = t.int_data(i);
          CHECK(code >= (std::string(scheme) == "symmetric" ? lo + 1 : lo));
          CHECK(code <= hi);
          if (std::string(scheme) == "symmetric") CHECK(q.zero_point(c) == 0);
          const double s = q.scale(c);
          const double deq = s * (code - q.zero_point(c));
          CHECK(std::fabs(deq - dense[static_cast<size_t>(i)]) <= s / 2 * (1 + 1e-6));
          CHECK(std::fabs(deq - t.float_data(i)) <= 1e-6 * std::fabs(deq));
        }
      }
}

TEST_CASE("quantize: int8 output error is small and shrinks with more bits", "[unit]") {
  double last = 1;
  for (int bits : {2, 4, 8}) {
    ir::v1::Workload w = mlp(4, 64, 32, 10);
    const auto r = run("pipeline: [{transform: quantize, bits: " + std::to_string(bits) + "}]", w);
    const double e = r[0].changes[0].output_error;
    CHECK(e > 0);
    CHECK(e < last);
    last = e;
  }
  CHECK(last < 1e-3);  // int8
}

TEST_CASE("quantize: activations are calibrated and the op runs in integer arithmetic", "[unit]") {
  ir::v1::Workload w = mlp(4, 64, 32, 10);
  const auto r = run("pipeline: [{transform: quantize, bits: 8, activations: true}]", w, 64);
  const auto& x = tensor(w, "x");
  CHECK(x.dtype() == ir::v1::UINT);
  CHECK(x.bits() == 8u);
  CHECK(x.quantization().scale_size() == 1);
  const auto& hr = tensor(w, "hr");  // relu output: non-negative, zero point 0
  CHECK(hr.quantization().zero_point(0) == 0);
  const Executor ex(w, Arithmetic::kInteger);
  CHECK(ex.integer_ops() == std::vector<std::string>{"fc1", "fc2"});
  for (const auto& c : r[0].changes) {
    CHECK(c.output_error > 0);
    CHECK(c.output_error < 1e-3);
  }
}

TEST_CASE("quantize: activations without calibration data are an error naming the op", "[unit]") {
  ir::v1::Workload w = mlp();
  try {
    run("pipeline: [{transform: quantize, activations: true}]", w, 0);
    FAIL("no error");
  } catch (const sim::ConfigError& e) {
    CHECK(std::string(e.what()).find("op 'fc1': quantizing activations needs calibration") !=
          std::string::npos);
  }
}

TEST_CASE("quantize: mixed precision per layer via several steps", "[unit]") {
  ir::v1::Workload w = mlp();
  run("pipeline: [{transform: quantize, select: {name: fc1}, bits: 4},"
      " {transform: quantize, select: {name: fc2}, bits: 8}]",
      w);
  CHECK(tensor(w, "fc1.W").bits() == 4u);
  CHECK(tensor(w, "fc2.W").bits() == 8u);
  CHECK(storage_bits(tensor(w, "fc1.W")) == 64 * 48 * 4 + 48 * 32);
}

}  // namespace
}  // namespace codesim::compress
