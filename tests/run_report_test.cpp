// `codesim run` outputs, end to end: report.json totals are the sums of the per-op figures,
// report.csv has a row per op, trace.json is Chrome trace JSON, and config.resolved.yaml holds
// every declared parameter.

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sim/core/registry.h"
#include "tests/test_util.h"

using codesim::test::read_file;
using codesim::test::run_codesim;
using codesim::test::temp_dir;
using codesim::test::write_file;
using nlohmann::json;

namespace {

struct Run {
  std::string dir;
  codesim::test::Command cmd;
  json report;
};

Run run_small(const std::string& extra = "") {
  Run r;
  r.dir = temp_dir();
  const std::string arch = write_file(r.dir, "arch.yaml",
                                      "accelerator: {model: systolic, rows: 32, cols: 32, "
                                      "dataflow: os, operand: int8}\n"
                                      "technology: generic45\n");
  const std::string w =
      write_file(r.dir, "w.yaml",
                 "workload:\n"
                 "  name: small\n"
                 "  ops:\n"
                 "    - {name: g0, gemm: {m: 32, n: 32, k: 32}}\n"
                 "    - {name: sm, softmax: {rows: 32, length: 32}}\n"
                 "    - {name: c1, conv2d: {h: 18, w: 18, c: 16, filters: 32, kernel: 3}}\n");
  r.cmd = run_codesim("run --arch " + arch + " --workload " + w + " --out " + r.dir +
                      "/out --trace " + extra);
  r.report = json::parse(read_file(r.dir + "/out/report.json"));
  return r;
}

}  // namespace

TEST_CASE("report.json totals are the sums of the per-op figures", "[sim]") {
  const Run r = run_small();
  REQUIRE(r.cmd.status == 0);
  const json& ops = r.report["ops"];
  REQUIRE(ops.size() == 3);
  uint64_t cycles = 0;
  int64_t macs = 0;
  double energy = 0;
  for (const auto& op : ops) {
    if (!op["supported"].get<bool>()) continue;
    cycles += op["cycles"].get<uint64_t>();
    macs += op["macs"].get<int64_t>();
    energy += op["total_energy_pj"].get<double>();
  }
  const json& t = r.report["totals"];
  CHECK(t["cycles"].get<uint64_t>() == cycles);
  CHECK(t["macs"].get<int64_t>() == macs);
  CHECK(t["energy_pj"].get<double>() == Approx(energy));
  // MACs follow from the shapes: 32³ for the gemm, 16·16·32·(3·3·16) for the conv.
  CHECK(macs == 32 * 32 * 32 + 16 * 16 * 32 * 144);
  // Cycles follow the closed form of a back-to-back output-stationary fold (K + R + C − 2) with
  // the final write overlapped; the conv is 8 row folds of the 256×32×144 GEMM.
  CHECK(ops[0]["cycles"].get<uint64_t>() == 32 + 32 + 32 - 2 - 1);
  CHECK(ops[2]["cycles"].get<uint64_t>() == 8 * (144 + 32 + 32 - 2) - 1);
  // The softmax is not supported by a systolic array: reported, not simulated, not in totals.
  CHECK_FALSE(ops[1]["supported"].get<bool>());
  CHECK(ops[1]["cycles"].get<uint64_t>() == 0);
  CHECK(ops[0]["counters"]["sram_ifmap_reads"].get<uint64_t>() == 32 * 32);
  CHECK(r.report["totals"]["area_um2"].get<double>() > 0);
  double area = 0;
  for (const auto& kv : r.report["area_um2"].items()) area += kv.value().get<double>();
  CHECK(r.report["totals"]["area_um2"].get<double>() == Approx(area));
}

TEST_CASE("report.csv has one row per op and the table is printed", "[sim]") {
  const Run r = run_small();
  REQUIRE(r.cmd.status == 0);
  std::istringstream csv(read_file(r.dir + "/out/report.csv"));
  std::string line;
  int rows = 0;
  std::getline(csv, line);
  CHECK_THAT(line, Catch::StartsWith("name,kind,supported,start_cycle,cycles,stall_cycles,macs"));
  while (std::getline(csv, line)) ++rows;
  CHECK(rows == 3);
  CHECK_THAT(r.cmd.out, Catch::Contains("g0"));
  CHECK_THAT(r.cmd.out, Catch::Contains("not simulated"));
}

TEST_CASE("trace.json is a Chrome trace with one complete event per simulated op", "[sim]") {
  const Run r = run_small();
  REQUIRE(r.cmd.status == 0);
  const json trace = json::parse(read_file(r.dir + "/out/trace.json"));
  int op_events = 0;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["tid"] == 1) {
      ++op_events;
      CHECK(e["dur"].get<double>() > 0);
    }
  CHECK(op_events == 2);
}

TEST_CASE("config.resolved.yaml holds every declared parameter", "[sim]") {
  const Run r = run_small();
  REQUIRE(r.cmd.status == 0);
  const YAML::Node resolved = YAML::LoadFile(r.dir + "/out/config.resolved.yaml");
  const auto* entry = codesim::sim::Registry::instance().accelerator("systolic");
  REQUIRE(entry != nullptr);
  for (const auto& p : entry->params()) CHECK(resolved["accelerator"][p.name].IsDefined());
  CHECK(resolved["accelerator"]["rows"].as<int>() == 32);
  CHECK(resolved["technology"].as<std::string>() == "generic45");
}

TEST_CASE("functional mode reports zero mismatches for int8", "[sim]") {
  const Run r = run_small("--functional --fidelity cycle");
  REQUIRE(r.cmd.status == 0);
  CHECK(r.report["ops"][0]["functional_mismatches"].get<int64_t>() == 0);
  CHECK(r.report["ops"][2]["functional_mismatches"].get<int64_t>() == 0);
}
