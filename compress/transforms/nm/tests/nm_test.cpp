#include <catch2/catch.hpp>
#include <cmath>

#include "compress/tests/compress_test_util.h"
#include "compress/transform.h"

namespace codesim::compress {
namespace {

using namespace testing;

// Checks every group of m along the reduction dimension of `weight` (a gemm B [K, N]: groups
// run down the columns) against `dense`: at most n non-zeros, and each kept value is one of the
// group's n largest magnitudes.
void check_groups(const ir::v1::Tensor& weight, const std::vector<float>& dense, int n, int m) {
  const int64_t k = weight.shape(0), cols = weight.shape(1);
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r0 = 0; r0 < k; r0 += m) {
      const int64_t size = std::min<int64_t>(m, k - r0);
      std::vector<float> mags;
      int nonzero = 0;
      float smallest_kept = INFINITY, largest_dropped = 0;
      for (int64_t j = 0; j < size; ++j) {
        const int64_t i = (r0 + j) * cols + c;
        const float v = weight.float_data(static_cast<int>(i));
        if (v != 0) {
          ++nonzero;
          CHECK(v == dense[static_cast<size_t>(i)]);  // kept values are unchanged
          smallest_kept = std::min(smallest_kept, std::fabs(v));
        } else {
          largest_dropped = std::max(largest_dropped, std::fabs(dense[static_cast<size_t>(i)]));
        }
      }
      CHECK(nonzero <= n);
      CHECK(nonzero == std::min<int64_t>(n, size));  // random data has no zeros
      CHECK(largest_dropped <= smallest_kept);
    }
}

TEST_CASE("nm: every N:M group has at most N non-zeros, the largest ones", "[unit]") {
  for (auto [n, m] : std::vector<std::pair<int, int>>{{2, 4}, {1, 4}, {2, 8}, {4, 16}, {3, 5}}) {
    INFO(n << ":" << m);
    // k = 70 is not a multiple of m for most cases, which exercises the partial last group.
    ir::v1::Workload w = mlp(4, 70, 24, 10);
    const std::vector<float> dense(tensor(w, "fc1.W").float_data().begin(),
                                   tensor(w, "fc1.W").float_data().end());
    const auto r = run("pipeline: [{transform: nm, select: {name: fc1}, n: " + std::to_string(n) +
                           ", m: " + std::to_string(m) + "}]",
                       w);
    const auto& t = tensor(w, "fc1.W");
    check_groups(t, dense, n, m);
    REQUIRE(t.structure().has_nm());
    CHECK(t.structure().nm().n() == static_cast<uint32_t>(n));
    CHECK(t.structure().nm().m() == static_cast<uint32_t>(m));
    const int64_t full = 70 / m, rest = 70 % m;
    const int64_t slots = 24 * (full * n + std::min<int64_t>(n, rest));
    const int64_t index_bits = static_cast<int64_t>(std::ceil(std::log2(m)));
    CHECK(t.structure().nm().metadata_bits() == slots * index_bits);
    CHECK(r[0].changes[0].params_after == slots + 24);
    CHECK(r[0].changes[0].output_error > 0);
    CHECK(r[0].changes[0].output_error < 1);
  }
}

TEST_CASE("nm: bitmap metadata is m bits per group, conv groups run over C*kh*kw", "[unit]") {
  ir::v1::Workload w = conv(8, 16, 6);
  run("pipeline: [{transform: nm, n: 2, m: 4, index_format: bitmap}]", w);
  const auto& t = tensor(w, "conv.W");
  CHECK(t.structure().nm().index_format() == ir::v1::BITMAP);
  CHECK(t.structure().nm().metadata_bits() == 16 * 8 * 9);
  // Each filter's 72 reduction elements hold 18 groups of 4, 2 kept in each.
  for (int f = 0; f < 16; ++f)
    for (int g = 0; g < 18; ++g) {
      int nz = 0;
      for (int j = 0; j < 4; ++j) nz += t.float_data(f * 72 + g * 4 + j) != 0.0f;
      CHECK(nz == 2);
    }
}

TEST_CASE("nm after quantize keeps the integer codes consistent", "[unit]") {
  ir::v1::Workload w = mlp(4, 64, 24, 10);
  run("pipeline: [{transform: quantize, bits: 8, scheme: asymmetric}, {transform: nm}]", w);
  const auto& t = tensor(w, "fc1.W");
  REQUIRE(t.int_data_size() == t.float_data_size());
  const int cols = 24;
  for (int i = 0; i < t.float_data_size(); ++i) {
    const int c = i % cols;
    const double deq = static_cast<double>(t.quantization().scale(c)) *
                       (t.int_data(i) - t.quantization().zero_point(c));
    CHECK(std::fabs(deq - t.float_data(i)) <= 1e-6 * std::fabs(deq) + 1e-12);
  }
}

}  // namespace
}  // namespace codesim::compress
