// Technology tables: every expected value is computed by hand from the published numbers in
// arch/tech/*.yaml and the scaling rules of arch/tech/README.md.

#include "arch/tech/tech.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "sim/core/diagnostics.h"

namespace codesim::arch {
namespace {

Component unit(ComponentClass klass, const std::string& number, int bits, int acc_bits = 32) {
  Component c;
  c.name = "u";
  c.klass = klass;
  c.number = number;
  c.bits = bits;
  c.acc_bits = acc_bits;
  return c;
}

Component sram(int64_t bytes, int port_bits, int word_bits) {
  Component c;
  c.name = "buf";
  c.klass = ComponentClass::kSram;
  c.bytes = bytes;
  c.port_bits = port_bits;
  c.word_bits = word_bits;
  return c;
}

Component dram(const std::string& type) {
  Component c;
  c.name = "dram";
  c.klass = ComponentClass::kDram;
  c.dram_type = type;
  return c;
}

// Writes `text` to a fresh file under the temp directory and returns its path.
std::string write_table(const std::string& name, const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / ("codesim_tech_test_" + name + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

Approx exactly(double v) { return Approx(v).epsilon(1e-12); }

}  // namespace

TEST_CASE("built-in tables load and carry their names", "[unit]") {
  const std::vector<std::string> names = TechTable::builtin_names();
  REQUIRE(names == std::vector<std::string>{"aladdin40", "generic45"});
  const TechTable g = TechTable::load("generic45");
  CHECK(g.name() == "generic45");
  CHECK(g.node_nm() == 45);
  CHECK_FALSE(g.description().empty());
  const TechTable a = TechTable::load("aladdin40");
  CHECK(a.name() == "aladdin40");
  CHECK(a.node_nm() == 40);
  CHECK(a.default_dram_type() == "LPDDR4");
  CHECK(g.default_dram_type() == "generic");
}

TEST_CASE("aladdin40 multiplier energy is quadratic in width from the 32-bit point", "[unit]") {
  const TechTable t = TechTable::load("aladdin40");
  const Component m8 = unit(ComponentClass::kMultiplier, "int", 8);
  CHECK(t.energy_pj(m8, "mul") == exactly(0.7925));  // 12.68 * (8/32)^2
  CHECK(t.area_um2(m8) == exactly(6350.0 / 16));     // area quadratic too
  CHECK(t.leakage_mw(m8) == exactly(80e-3 / 16));    // 80 uW * (8/32)^2, in mW
  CHECK(t.energy_pj(unit(ComponentClass::kMultiplier, "int", 32), "mul") == exactly(12.68));
}

TEST_CASE("adder energy, area and leakage are linear in width", "[unit]") {
  const TechTable t = TechTable::load("aladdin40");
  const Component a16 = unit(ComponentClass::kAdder, "int", 16);
  CHECK(t.energy_pj(a16, "add") == exactly(0.105));
  CHECK(t.area_um2(a16) == exactly(139));
  CHECK(t.leakage_mw(a16) == exactly(1.2e-3));
  // generic45 has 8/16/32-bit points: 12 bits is nearer 16 than 8 in log2 (1.33x vs 1.5x).
  const TechTable g = TechTable::load("generic45");
  CHECK(g.energy_pj(unit(ComponentClass::kAdder, "int", 12), "add") == exactly(0.05 * 12 / 16));
  CHECK(g.energy_pj(unit(ComponentClass::kAdder, "int", 16), "add") == exactly(0.05));
}

TEST_CASE("a multiplier scales from the nearest point, ties going to the wider one", "[unit]") {
  const TechTable g = TechTable::load("generic45");
  CHECK(g.energy_pj(unit(ComponentClass::kMultiplier, "int", 8), "mul") == exactly(0.2));
  CHECK(g.energy_pj(unit(ComponentClass::kMultiplier, "int", 4), "mul") == exactly(0.05));
  // 16 bits is 2x from both 8 and 32: the 32-bit point wins, 3.1 * (16/32)^2.
  CHECK(g.energy_pj(unit(ComponentClass::kMultiplier, "int", 16), "mul") == exactly(0.775));
  CHECK(g.area_um2(unit(ComponentClass::kMultiplier, "int", 16)) == exactly(3495.0 / 4));
  // 24 bits is nearer 32 (1.33x) than 8 (3x).
  CHECK(g.energy_pj(unit(ComponentClass::kMultiplier, "int", 24), "mul") ==
        exactly(3.1 * 0.75 * 0.75));
}

TEST_CASE("a MAC is its multiplier plus an adder of the accumulator width", "[unit]") {
  const TechTable g = TechTable::load("generic45");
  const Component mac = unit(ComponentClass::kMac, "int", 8, 32);
  CHECK(g.energy_pj(mac, "mac") == exactly(0.2 + 0.1));
  CHECK(g.area_um2(mac) == exactly(282 + 137));
  CHECK(g.leakage_mw(mac) == 0.0);  // Horowitz and Dally give no leakage
  const Component fp = unit(ComponentClass::kMac, "fp", 16, 32);
  CHECK(g.energy_pj(fp, "mac") == exactly(1.1 + 0.9));
  CHECK(g.area_um2(fp) == exactly(1640 + 4184));

  const TechTable a = TechTable::load("aladdin40");
  const Component mac16 = unit(ComponentClass::kMac, "int", 8, 16);
  CHECK(a.energy_pj(mac16, "mac") == exactly(0.7925 + 0.105));
  CHECK(a.area_um2(mac16) == exactly(6350.0 / 16 + 139));
  CHECK(a.leakage_mw(mac16) == exactly((5 + 1.2) * 1e-3));
}

TEST_CASE("floating-point units come from their own rows", "[unit]") {
  const TechTable g = TechTable::load("generic45");
  CHECK(g.energy_pj(unit(ComponentClass::kMultiplier, "fp", 16), "mul") == exactly(1.1));
  CHECK(g.energy_pj(unit(ComponentClass::kMultiplier, "fp", 32), "mul") == exactly(3.7));
  CHECK(g.energy_pj(unit(ComponentClass::kAdder, "fp", 16), "add") == exactly(0.4));
  CHECK(g.area_um2(unit(ComponentClass::kAdder, "fp", 32)) == exactly(4184));
  const TechTable a = TechTable::load("aladdin40");
  CHECK(a.energy_pj(unit(ComponentClass::kMultiplier, "fp", 16), "mul") == exactly(35.3 / 4));
  CHECK(a.energy_pj(unit(ComponentClass::kAdder, "fp", 16), "add") == exactly(16.7 / 2));
  CHECK(a.energy_pj(unit(ComponentClass::kMultiplier, "fp", 64), "mul") == exactly(114));
  CHECK(a.leakage_mw(unit(ComponentClass::kAdder, "fp", 64)) == exactly(0.133));
}

TEST_CASE("shifters and registers", "[unit]") {
  const TechTable g = TechTable::load("generic45");
  CHECK(g.energy_pj(unit(ComponentClass::kShifter, "int", 8), "shift") == exactly(0.024));
  CHECK(g.energy_pj(unit(ComponentClass::kShifter, "int", 32), "shift") == exactly(0.13));
  CHECK(g.area_um2(unit(ComponentClass::kShifter, "int", 32)) == exactly(250 * 1.265625));
  const Component r8 = unit(ComponentClass::kRegister, "int", 8);
  CHECK(g.energy_pj(r8, "read") == exactly(8.0 / 32));  // 1 pJ per 32-bit register access
  CHECK(g.energy_pj(r8, "write") == exactly(8.0 / 32));

  const TechTable a = TechTable::load("aladdin40");
  CHECK(a.energy_pj(unit(ComponentClass::kShifter, "int", 32), "shift") == exactly(0.417));
  const Component r16 = unit(ComponentClass::kRegister, "int", 16);
  CHECK(a.energy_pj(r16, "read") == exactly(16 * 0.009));
  CHECK(a.energy_pj(r16, "write") == exactly(16 * 0.009));
  CHECK(a.area_um2(r16) == exactly(16 * 5.98));
  CHECK(a.leakage_mw(r16) == exactly(16 * 0.07e-3));
}

TEST_CASE("generic45 SRAM follows the Horowitz square-root fit", "[unit]") {
  const TechTable g = TechTable::load("generic45");
  CHECK(g.energy_pj(sram(8 * 1024, 64, 64), "read") == exactly(10));
  CHECK(g.energy_pj(sram(32 * 1024, 64, 64), "read") == exactly(20));
  CHECK(g.energy_pj(sram(32 * 1024, 64, 64), "write") == exactly(20));
  CHECK(g.energy_pj(sram(1024 * 1024, 64, 64), "read") == exactly(10 * std::sqrt(128.0)));
  CHECK(g.energy_pj(sram(128 * 1024, 64, 64), "read") == exactly(10 * std::sqrt(16.0)));
  // Linear in port width: a 32-bit port costs half (the 5 pJ of the Han table).
  CHECK(g.energy_pj(sram(8 * 1024, 32, 32), "read") == exactly(5));
  // One counted 8-bit word of a 64-bit port pays 8/64 of the access.
  CHECK(g.energy_pj(sram(32 * 1024, 64, 8), "read") == exactly(20.0 * 8 / 64));
  CHECK(g.leakage_mw(sram(32 * 1024, 64, 8)) == 0.0);
  CHECK(g.area_um2(sram(8 * 1024, 64, 8)) == exactly(0.0427 * 1.265625 * 1e6));
  CHECK(g.area_um2(sram(64 * 1024, 64, 8)) == exactly(8 * 0.0427 * 1.265625 * 1e6));
}

TEST_CASE("aladdin40 SRAM is exact at CACTI points and interpolates between them", "[unit]") {
  const TechTable a = TechTable::load("aladdin40");
  const Component s8k = sram(8192, 64, 64);
  CHECK(a.energy_pj(s8k, "read") == exactly(5.26));
  CHECK(a.energy_pj(s8k, "write") == exactly(6.43));
  CHECK(a.leakage_mw(s8k) == exactly(3.91));
  CHECK(a.area_um2(s8k) == exactly(0.0427e6));
  CHECK(a.energy_pj(sram(448, 16, 16), "read") == exactly(0.50));

  // 16 KiB with a 32-bit port, counted in bytes. Nearest point: 8 KiB/64 b (1 + 1 octaves away).
  // width_scale 1/2, depth 4096 rows vs 1024: depth_scale 4.
  const Component s16k = sram(16 * 1024, 32, 8);
  const double access = 5.26 * (0.7 * 0.5 + 0.3) * std::pow(4.0, 0.78);
  CHECK(a.energy_pj(s16k, "read") == exactly(access * 8 / 32));
  CHECK(a.leakage_mw(s16k) == exactly(3.91 * 2));
  CHECK(a.area_um2(s16k) == exactly(0.0427e6 * 2));

  // 64 KiB/64 b is nearer the 100 KB point (0.64 octave) than 8 KiB (3 octaves).
  const Component s64k = sram(64 * 1024, 64, 64);
  CHECK(a.energy_pj(s64k, "read") == exactly(32.1 * std::pow(0.64, 0.78)));
  CHECK(a.energy_pj(s64k, "write") == exactly(22.1 * std::pow(0.64, 0.78)));
  CHECK(a.area_um2(s64k) == exactly(0.507e6 * 0.64));
}

TEST_CASE("DRAM is priced per byte by type, with no area or leakage", "[unit]") {
  const TechTable a = TechTable::load("aladdin40");
  CHECK(a.energy_pj(dram("LPDDR4"), "read") == exactly(64));
  CHECK(a.energy_pj(dram("LPDDR4"), "write") == exactly(64));
  CHECK(a.energy_pj(dram("hbm2"), "read") == exactly(3.9 * 8));
  CHECK(a.energy_pj(dram("DDR3"), "read") == exactly(560));
  CHECK(a.energy_pj(dram(""), "read") == exactly(64));  // the table's default type
  CHECK(a.area_um2(dram("LPDDR4")) == 0.0);
  CHECK(a.leakage_mw(dram("LPDDR4")) == 0.0);
  const TechTable g = TechTable::load("generic45");
  CHECK(g.energy_pj(dram("default"), "read") == exactly(160));
  CHECK(g.energy_pj(dram("LPDDR4"), "read") == exactly(64));

  try {
    a.energy_pj(dram("LPDR4"), "read");
    FAIL("an unknown DRAM type was priced");
  } catch (const sim::ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("unknown dram_type 'LPDR4'") &&
                             Catch::Contains("did you mean 'LPDDR4'?"));
  }
  CHECK_THAT(a.check(dram("generic")), Catch::Contains("unknown dram_type 'generic'"));
  CHECK(a.check(dram("GDDR5")).empty());
}

TEST_CASE("actions a class does not have and bad components are errors", "[unit]") {
  const TechTable g = TechTable::load("generic45");
  try {
    g.energy_pj(sram(8192, 64, 8), "reed");
    FAIL("an unknown action was priced");
  } catch (const sim::ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("component 'buf'") && Catch::Contains("'reed'") &&
                             Catch::Contains("did you mean 'read'?"));
  }
  CHECK_THROWS_AS(g.energy_pj(unit(ComponentClass::kMac, "int", 8), "mul"), sim::ConfigError);
  CHECK_THAT(g.check(unit(ComponentClass::kMac, "fixed", 8)),
             Catch::Contains("number must be int or fp"));
  CHECK_THAT(g.check(unit(ComponentClass::kAdder, "int", 0)), Catch::Contains("positive"));
  CHECK_THAT(g.check(sram(0, 64, 8)), Catch::Contains("bytes must be positive"));
  CHECK(g.check(unit(ComponentClass::kMac, "fp", 16)).empty());
}

TEST_CASE("a user table loads by path", "[unit]") {
  const std::string path = write_table("user", R"(technology: mine
node_nm: 28
units:
  int_mul:
    scaling: quadratic
    points:
      - {bits: 8, energy_pj: 0.1, area_um2: 100, leak_uw: 1}
sram:
  model: cacti
  points:
    - {bytes: 4096, width_bits: 32, read_pj: 2, write_pj: 3, area_mm2: 0.01}
dram:
  default_type: X
  pj_per_bit: {X: 5}
)");
  const TechTable t = TechTable::load(path);
  CHECK(t.name() == "mine");
  CHECK(t.node_nm() == 28);
  CHECK(t.energy_pj(unit(ComponentClass::kMultiplier, "int", 16), "mul") == exactly(0.4));
  CHECK(t.leakage_mw(unit(ComponentClass::kMultiplier, "int", 16)) == exactly(4e-3));
  CHECK(t.energy_pj(sram(4096, 32, 32), "write") == exactly(3));
  CHECK(t.leakage_mw(sram(4096, 32, 32)) == 0.0);  // leak_mw is optional
  CHECK(t.energy_pj(dram(""), "read") == exactly(40));
  // Units the file does not give are errors when priced, not zeros.
  CHECK_THAT(t.check(unit(ComponentClass::kAdder, "int", 8)),
             Catch::Contains("the table has no 'int_add' unit"));
  std::filesystem::remove(path);
}

TEST_CASE("a malformed table reports every error with its location", "[unit]") {
  const std::string path = write_table("bad", R"(technology: broken
node_nm: 45
units:
  int_mult:
    scaling: quadratic
    points:
      - {bits: 8, energy_pj: 0.2, area_um2: 282}
  int_add:
    scaling: cubic
    points:
      - {bits: 8, energy_pj: cheap, area_um2: 36}
      - {bits: 16, energy_pj: 0.05}
sram:
  model: sqrt
  points: []
dram:
  default_type: DDR4
  pj_per_bit: {DDR3: 70}
)");
  try {
    TechTable::load(path);
    FAIL("a malformed table loaded");
  } catch (const sim::ConfigError& e) {
    const auto& list = e.diagnostics().list();
    REQUIRE(list.size() == 6);
    CHECK(list[0].file == path);
    CHECK(list[0].line == 4);
    CHECK(list[0].col == 3);
    CHECK(list[0].path == "units.int_mult");
    CHECK(list[0].message == "unknown key");
    CHECK(list[0].hint == "did you mean 'int_mul'?");
    CHECK(list[1].line == 9);
    CHECK(list[1].path == "units.int_add.scaling");
    CHECK_THAT(list[1].hint, Catch::Contains("linear, quadratic"));
    CHECK(list[2].line == 11);
    CHECK(list[2].col == 30);
    CHECK(list[2].path == "units.int_add.points[0].energy_pj");
    CHECK(list[2].message == "expected a number, got 'cheap'");
    CHECK(list[3].line == 12);
    CHECK(list[3].path == "units.int_add.points[1].area_um2");
    CHECK(list[3].message == "missing key 'area_um2'");
    CHECK(list[4].path == "sram.points");
    CHECK(list[5].path == "dram.default_type");
    CHECK(list[5].hint == "did you mean 'DDR3'?");
    CHECK_THAT(e.what(), Catch::Contains(path + ":4:3: error: units.int_mult: unknown key"));
  }
  std::filesystem::remove(path);
}

TEST_CASE("a missing required key and a wrong top-level type are reported", "[unit]") {
  const std::string path = write_table("missing", "node_nm: many\nunits: [1, 2]\n");
  try {
    TechTable::load(path);
    FAIL("a table without a name loaded");
  } catch (const sim::ConfigError& e) {
    const auto& list = e.diagnostics().list();
    REQUIRE(list.size() == 3);
    CHECK(list[0].path == "technology");
    CHECK(list[0].message == "missing key 'technology'");
    CHECK(list[0].line == 1);
    CHECK(list[1].path == "node_nm");
    CHECK(list[1].message == "expected an integer, got 'many'");
    CHECK(list[2].path == "units");
    CHECK(list[2].message == "expected a map, got a list");
    CHECK(list[2].line == 2);
  }
  std::filesystem::remove(path);
}

TEST_CASE("an unknown built-in name lists the built-in tables", "[unit]") {
  try {
    TechTable::load("generic54");
    FAIL("an unknown table loaded");
  } catch (const sim::ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("unknown technology 'generic54'") &&
                             Catch::Contains("did you mean 'generic45'?") &&
                             Catch::Contains("built-in tables: aladdin40, generic45"));
  }
  CHECK_THROWS_WITH(TechTable::load("/nonexistent/table.yaml"),
                    Catch::Contains("cannot open file"));
}

}  // namespace codesim::arch
