// Energy = Σ action counts × energy per action + leakage × runtime, by component; area =
// Σ instances × unit area. Checked on hand-computed cases from the published table entries.

#include <catch2/catch.hpp>

#include "arch/tech/tech.h"
#include "sim/core/runner.h"

using codesim::arch::Component;
using codesim::arch::ComponentClass;
using codesim::arch::TechTable;
using codesim::sim::CounterValue;
using codesim::sim::price_counters;

namespace {

std::vector<Component> inventory() {
  Component mac;
  mac.name = "pe_array";
  mac.klass = ComponentClass::kMac;
  mac.count = 4;
  mac.bits = 8;
  mac.acc_bits = 32;
  Component sram;
  sram.name = "sram";
  sram.klass = ComponentClass::kSram;
  sram.bytes = 32 * 1024;
  sram.port_bits = 64;
  sram.word_bits = 8;
  Component dram;
  dram.name = "dram";
  dram.klass = ComponentClass::kDram;
  return {mac, sram, dram};
}

std::vector<CounterValue> counters() {
  return {{"mac_ops", "ops", "pe_array", "mac", 1000},
          {"sram_reads", "words", "sram", "read", 800},
          {"dram_read_bytes", "bytes", "dram", "read", 100},
          {"uncosted", "events", "", "", 12345}};
}

}  // namespace

TEST_CASE("energy by component under generic45 (Horowitz 45 nm) by hand", "[unit]") {
  const TechTable tech = TechTable::load("generic45");
  const auto e = price_counters(counters(), inventory(), tech, 1000, 1000);
  // int8 multiply 0.2 pJ + 32-bit accumulate 0.1 pJ per MAC.
  CHECK(e.at("pe_array") == Approx(1000 * (0.2 + 0.1)));
  // 32 KiB, 64-bit access 20 pJ; one counted 8-bit word is 8/64 of an access.
  CHECK(e.at("sram") == Approx(800 * 20.0 * 8 / 64));
  // Generic DRAM at 20 pJ/bit.
  CHECK(e.at("dram") == Approx(100 * 8 * 20.0));
  CHECK(e.size() == 3);  // counters without a component are not priced
}

TEST_CASE("leakage is charged over the runtime under aladdin40", "[unit]") {
  const TechTable tech = TechTable::load("aladdin40");
  std::vector<CounterValue> none;
  std::vector<Component> inv = {inventory()[0]};
  // 8-bit multiplier leaks 80 µW·(8/32)² = 5 µW, the 32-bit adder 2.4 µW: 7.4 µW per MAC, four
  // MACs for 1000 cycles at 500 MHz (2 µs): 4 · 7.4e-6 W · 2e-6 s = 59.2 pJ.
  const auto e = price_counters(none, inv, tech, 1000, 500);
  CHECK(e.at("pe_array") == Approx(4 * 7.4e-6 * 2e-6 * 1e12));
}

TEST_CASE("area is instances times unit area", "[unit]") {
  const TechTable tech = TechTable::load("generic45");
  const auto inv = inventory();
  // Dally 45 nm: 8-bit multiplier 282 µm² + 32-bit adder 137 µm².
  CHECK(tech.area_um2(inv[0]) * inv[0].count == Approx(4 * (282 + 137)));
  CHECK(tech.area_um2(inv[2]) == 0);  // DRAM is off chip
}
