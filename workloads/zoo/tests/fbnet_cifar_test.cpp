// NASA's FBNet-style CIFAR supernet against the closed form of its MACs and its macro structure.
#include <catch2/catch.hpp>

#include "workloads/ir/ir.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {
namespace {

// MACs of the supernet with the same (E, K) everywhere: stem, 22 PW-DW-PW blocks, head, classifier.
int64_t closed_form_macs(int64_t e, int64_t k) {
  const int64_t ch[] = {16, 24, 32, 64, 112, 184, 352}, n[] = {1, 4, 4, 4, 4, 4, 1},
                st[] = {1, 1, 2, 2, 1, 2, 1};
  int64_t hw = 32, in = 16, macs = 3 * 16 * 9 * 32 * 32;
  for (int s = 0; s < 7; ++s)
    for (int64_t i = 0; i < n[s]; ++i) {
      const int64_t out_hw = hw / (i == 0 ? st[s] : 1), hidden = in * e;
      macs += in * hidden * hw * hw + hidden * k * k * out_hw * out_hw +
              hidden * ch[s] * out_hw * out_hw;
      hw = out_hw, in = ch[s];
    }
  return macs + in * 1504 * hw * hw + 1504 * 10;
}

ir::v1::Workload build(const std::string& yaml, sim::Diagnostics& diags) {
  const YAML::Node node = YAML::Load(yaml);
  return build_zoo("fbnet_cifar", node, "test.yaml", "workload", diags);
}

int64_t macs(const ir::v1::Workload& w) {
  int64_t m = 0;
  for (const auto& op : w.ops()) m += ir::op_macs(w, op);
  return m;
}

}  // namespace

TEST_CASE("fbnet_cifar MACs equal the closed form for every uniform candidate", "[unit]") {
  for (int64_t e : {1, 3, 6})
    for (int64_t k : {3, 5}) {
      FbnetCifarParams p = zoo_defaults<FbnetCifarParams>();
      p.expansion = e, p.kernel = k;
      const ir::v1::Workload w = build_fbnet_cifar(p);
      INFO("e" << e << "k" << k);
      CHECK(macs(w) == closed_form_macs(e, k));
      int depthwise = 0, convs = 0;
      for (const auto& op : w.ops())
        if (op.has_conv2d()) {
          ++convs;
          depthwise += op.conv2d().groups() > 1;
        }
      CHECK(depthwise == 22);
      CHECK(convs == 22 * 3 + 2);  // and the classifier is a gemm
      CHECK(ir::validate(w).empty());
    }
}

TEST_CASE("fbnet_cifar blocks: skip removes a block, bad choices are located errors", "[unit]") {
  std::string blocks = "e1k3";
  for (int i = 1; i < 22; ++i) blocks += i == 3 ? ",skip" : ",e1k3";
  sim::Diagnostics ok;
  const ir::v1::Workload w = build("{blocks: '" + blocks + "'}", ok);
  REQUIRE(ok.empty());
  // Layer 3 (stage 2, 24 -> 24 channels at 32x32) is gone: its three convs' MACs with E = 1.
  const int64_t layer3 = 24 * 24 * 32 * 32 + 24 * 9 * 32 * 32 + 24 * 24 * 32 * 32;
  CHECK(macs(w) == closed_form_macs(1, 3) - layer3);

  sim::Diagnostics shape;
  // Layer 5 is the first of stage 3 (stride 2): skip is not allowed there.
  std::string items;
  for (int i = 0; i < 22; ++i) items += std::string(i ? "," : "") + (i == 5 ? "skip" : "e3k5");
  build("{blocks: '" + items + "'}", shape);
  REQUIRE(shape.size() == 1);
  CHECK_THAT(shape.str(), Catch::Contains("workload.blocks") && Catch::Contains("cannot be skip"));
  sim::Diagnostics count;
  build("{blocks: 'e1k3,e3k3'}", count);
  CHECK_THAT(count.str(), Catch::Contains("needs 22 comma-separated choices, has 2"));
  sim::Diagnostics word;
  build("{expansion: 4}", word);
  CHECK_THAT(word.str(), Catch::Contains("workload.expansion") && Catch::Contains("1, 3 or 6"));
}

}  // namespace codesim::workloads
