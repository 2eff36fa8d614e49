#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "compress/tests/compress_test_util.h"
#include "compress/transform.h"

namespace codesim::compress {
namespace {

using namespace testing;

TEST_CASE("pow2: weights are exactly signed powers of two in the exponent range", "[unit]") {
  for (int bits : {3, 5, 7}) {
    INFO(bits);
    ir::v1::Workload w = mlp(4, 64, 32, 10);
    const std::vector<float> dense(tensor(w, "fc1.W").float_data().begin(),
                                   tensor(w, "fc1.W").float_data().end());
    const auto r = run("pipeline: [{transform: pow2, bits: " + std::to_string(bits) + "}]", w);
    const auto& t = tensor(w, "fc1.W");
    REQUIRE(t.structure().has_pow2());
    const int pmin = t.structure().pow2().min_exponent(),
              pmax = t.structure().pow2().max_exponent();
    CHECK(pmax - pmin + 1 == (1 << (bits - 1)) - 1);
    CHECK(t.bits() == static_cast<uint32_t>(bits));
    for (int i = 0; i < t.float_data_size(); ++i) {
      const float v = t.float_data(i);
      if (v == 0) continue;
      int e = 0;
      const float mant = std::frexp(std::fabs(v), &e);  // |v| = mant * 2^e, mant in [0.5, 1)
      CHECK(mant == 0.5f);
      CHECK(e - 1 >= pmin);
      CHECK(e - 1 <= pmax);
      CHECK(std::signbit(v) == std::signbit(dense[static_cast<size_t>(i)]));
      // Log-domain rounding: within a factor sqrt(2) of the original, unless clamped at pmax.
      const double ratio = std::fabs(v) / std::fabs(dense[static_cast<size_t>(i)]);
      if (e - 1 < pmax) CHECK(ratio <= std::sqrt(2.0) * 1.0001);
      CHECK(ratio >= 1 / std::sqrt(2.0) / 1.0001);
    }
    CHECK(r[0].changes[0].output_error > 0);
    CHECK(r[0].changes[0].output_error < 0.2);
  }
}

TEST_CASE("pow2: a fixed range clamps large weights and zeroes tiny ones", "[unit]") {
  ir::v1::Workload w = mlp(4, 64, 32, 10);
  run("pipeline: [{transform: pow2, bits: 3, range: fixed, max_exponent: -4}]", w);
  const auto& t = tensor(w, "fc1.W");
  CHECK(t.structure().pow2().min_exponent() == -6);
  std::set<float> values;
  for (float v : t.float_data()) values.insert(std::fabs(v));
  CHECK(values == std::set<float>{0.0f, 0.015625f, 0.03125f, 0.0625f});
}

}  // namespace
}  // namespace codesim::compress
