// The shiftadd model on its Eyeriss-like configuration against ShiftAddNAS's analytical model
// (shiftaddnas_oracle.h, written independently): per layer, cycles and energy within 5 %, for
// multiply, shift and adder layers of FBNet/ResNet shapes on CIFAR-sized inputs.

#include <catch2/catch.hpp>
#include <cmath>
#include <iostream>
#include <map>
#include <string>

#include "arch/models/shiftadd/tests/shiftadd_test_util.h"
#include "arch/models/shiftadd/tests/shiftaddnas_oracle.h"
#include "sim/core/runner.h"

namespace {

using codesim::test::shiftadd::Builder;
using codesim::test::shiftadd::Conv;
using codesim::test::shiftadd::Kind;
namespace oracle = codesim::test::shiftaddnas;

struct Case {
  std::string name;
  bool gemm = false;
  Conv conv;
  int64_t m = 1, n = 1, k = 1;  // gemm
};

// FBNet-style CIFAR blocks (stem, expansion, strided depthwise, projection, 5x5 depthwise, head,
// classifier) and a ResNet 3x3 convolution.
std::vector<Case> cases() {
  std::vector<Case> v;
  const auto conv = [&v](const std::string& name, int64_t hw, int64_t c, int64_t f, int64_t k,
                         int64_t stride, int64_t pad, int64_t groups) {
    Case x;
    x.name = name;
    x.conv.h = x.conv.w = hw;
    x.conv.c = c;
    x.conv.filters = f;
    x.conv.kernel = k;
    x.conv.stride = stride;
    x.conv.pad = pad;
    x.conv.groups = groups;
    v.push_back(x);
  };
  conv("stem_3x3", 32, 3, 16, 3, 1, 1, 1);
  conv("expand_1x1", 32, 16, 96, 1, 1, 0, 1);
  conv("dw_3x3_s2", 32, 96, 96, 3, 2, 1, 96);
  conv("project_1x1", 16, 96, 24, 1, 1, 0, 1);
  conv("resnet_3x3", 8, 64, 64, 3, 1, 1, 1);
  conv("dw_5x5", 8, 184, 184, 5, 1, 2, 184);
  conv("head_1x1", 4, 352, 1504, 1, 1, 0, 1);
  Case fc;
  fc.name = "classifier";
  fc.gemm = true;
  fc.m = 1, fc.n = 10, fc.k = 1504;
  v.push_back(fc);
  return v;
}

oracle::Layer oracle_layer(const Case& c) {
  oracle::Layer l;
  if (c.gemm) {
    l.n = c.m, l.m = c.n, l.c = c.k, l.fc = true;
    return l;
  }
  const Conv& s = c.conv;
  l.groups = s.groups;
  l.n = s.batch, l.h = s.h, l.w = s.w, l.c = s.c / s.groups, l.m = s.filters / s.groups;
  l.r = l.s = s.kernel, l.stride = s.stride;
  l.e = codesim::test::shiftadd::conv_out(s.h, s.kernel, s.stride, s.pad);
  l.f = codesim::test::shiftadd::conv_out(s.w, s.kernel, s.stride, s.pad);
  l.fc = s.h == 1 && s.w == 1 && l.e == 1 && l.f == 1;
  return l;
}

const char* kind_name(Kind k) {
  return k == Kind::kMult ? "mult" : k == Kind::kShift ? "shift" : "adder";
}

}  // namespace

TEST_CASE("Eyeriss-like per-layer cycles and energy agree with the ShiftAddNAS model within 5%",
          "[sim][golden]") {
  Builder b;
  const std::vector<Case> cs = cases();
  for (Kind k : {Kind::kMult, Kind::kShift, Kind::kAdder})
    for (const Case& c : cs) {
      const std::string name = std::string(kind_name(k)) + "." + c.name;
      if (c.gemm)
        b.gemm(name, c.m, c.n, c.k, k);
      else
        b.conv(name, c.conv, k);
    }
  const codesim::sim::RunResult r =
      codesim::sim::run_workload(codesim::test::shiftadd::arch("eyeriss_like_shiftaddnas.yaml"),
                                 b.workload(), codesim::sim::RunOptions{});
  std::map<std::string, const codesim::sim::OpResult*> by_name;
  for (const auto& o : r.ops) by_name[o.name] = &o;

  double worst_cycles = 0, worst_energy = 0;
  for (Kind k : {Kind::kMult, Kind::kShift, Kind::kAdder}) {
    // The configuration: 168 PEs, RFs of 24 / 448 / 72 B, a 128 KiB GB, 24-bit partial sums,
    // 8-bit multiply and 6-bit shift/adder words. Energies: ShiftAddNAS's per 16-bit word
    // (the oracle's defaults) and its 8-bit unit per op.
    oracle::Hardware hw;
    hw.pes = 168;
    hw.data_bits = k == Kind::kMult ? 8 : 6;
    hw.psum_bits = 24;
    hw.ifmap_rf_words = 24 * 8 / hw.data_bits;
    hw.weight_rf_words = 448 * 8 / hw.data_bits;
    hw.psum_rf_words = 72 * 8 / 24;
    hw.gb_bits = 131072.0 * 8;
    oracle::Energies u;
    u.op = k == Kind::kMult ? 0.2 : k == Kind::kShift ? 0.024 : 0.03;
    for (const Case& c : cs) {
      const std::string name = std::string(kind_name(k)) + "." + c.name;
      INFO(name);
      const oracle::Result want = oracle::evaluate(oracle_layer(c), hw, u);
      REQUIRE(want.valid);
      const codesim::sim::OpResult& got = *by_name.at(name);
      REQUIRE(got.supported);
      const double dc =
          std::abs(static_cast<double>(got.cycles) / static_cast<double>(want.cycles) - 1);
      const double de = std::abs(got.total_energy_pj / want.energy_pj - 1);
      CHECK(dc <= 0.05);
      CHECK(de <= 0.05);
      worst_cycles = std::max(worst_cycles, dc);
      worst_energy = std::max(worst_energy, de);
    }
  }
  // The measured agreement, quoted in README.md.
  std::cout << "oracle agreement over " << 3 * cs.size() << " layers: max |cycles error| "
            << worst_cycles * 100 << " %, max |energy error| " << worst_energy * 100 << " %\n";
}
