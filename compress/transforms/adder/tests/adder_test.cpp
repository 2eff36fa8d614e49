#include <catch2/catch.hpp>

#include "compress/tests/compress_test_util.h"
#include "compress/transform.h"

namespace codesim::compress {
namespace {

using namespace testing;

TEST_CASE("adder: annotated, weights kept, quality stated as needing retraining", "[unit]") {
  ir::v1::Workload w = mlp();
  const ir::v1::Workload before = w;
  const auto r = run("pipeline: [{transform: adder, select: {kind: gemm}}]", w);
  REQUIRE(r[0].changes.size() == 2);
  for (const auto& c : r[0].changes) {
    CHECK(c.needs_retraining);
    CHECK(c.output_error < 0);  // no invented figure
    CHECK(c.bits_after == c.bits_before);
  }
  CHECK(tensor(w, "fc1.W").structure().has_adder());
  CHECK(tensor(w, "fc1.W").float_data(3) == tensor(before, "fc1.W").float_data(3));
}

}  // namespace
}  // namespace codesim::compress
