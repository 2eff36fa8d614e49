#include <catch2/catch.hpp>
#include <cmath>

#include "compress/tests/compress_test_util.h"
#include "compress/transform.h"

namespace codesim::compress {
namespace {

using namespace testing;

int nonzeros(const ir::v1::Tensor& t) {
  int n = 0;
  for (float v : t.float_data()) n += v != 0.0f;
  return n;
}

TEST_CASE("prune: per layer keeps the largest magnitudes at the target density", "[unit]") {
  ir::v1::Workload w = mlp(4, 64, 48, 10);
  const std::vector<float> dense(tensor(w, "fc1.W").float_data().begin(),
                                 tensor(w, "fc1.W").float_data().end());
  const auto r = run("pipeline: [{transform: prune, density: 0.3}]", w);
  const auto& t = tensor(w, "fc1.W");
  CHECK(nonzeros(t) == std::lround(0.3 * 64 * 48));
  CHECK(nonzeros(tensor(w, "fc2.W")) == std::lround(0.3 * 48 * 10));
  CHECK(t.structure().unstructured().density() == Approx(0.3).epsilon(1e-3));
  float smallest_kept = INFINITY, largest_dropped = 0;
  for (int i = 0; i < t.float_data_size(); ++i) {
    const float m = std::fabs(dense[static_cast<size_t>(i)]);
    if (t.float_data(i) != 0)
      smallest_kept = std::min(smallest_kept, m);
    else
      largest_dropped = std::max(largest_dropped, m);
  }
  CHECK(largest_dropped <= smallest_kept);
  CHECK(nonzeros(tensor(w, "fc1.b")) == 48);  // biases are not pruned
  // Values plus a bitmap over the dense positions.
  CHECK(r[0].changes[0].bits_after == std::lround(0.3 * 64 * 48) * 32 + 64 * 48 + 48 * 32);
}

TEST_CASE("prune: global uses one threshold across the selected ops", "[unit]") {
  ir::v1::Workload w = mlp(4, 64, 48, 10);
  // fc2's weights are scaled up so that a global threshold keeps more of them than of fc1.
  auto* w2 = ir::find_tensor(w, "fc2.W");
  for (int i = 0; i < w2->float_data_size(); ++i) w2->set_float_data(i, 20 * w2->float_data(i));
  run("pipeline: [{transform: prune, density: 0.25, scope: global}]", w);
  const int n1 = nonzeros(tensor(w, "fc1.W")), n2 = nonzeros(tensor(w, "fc2.W"));
  CHECK(n1 + n2 == std::lround(0.25 * (64 * 48 + 48 * 10)));
  CHECK(static_cast<double>(n2) / (48 * 10) > 0.9);
  CHECK(static_cast<double>(n1) / (64 * 48) < 0.2);
}

}  // namespace
}  // namespace codesim::compress
