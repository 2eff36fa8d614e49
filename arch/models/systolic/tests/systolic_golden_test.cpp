// Every row of ../shared/reference/scalesim_dev.csv (SCALE-Sim v2, 64 KiB SRAMs, bandwidth
// provisioned by the tool) through the systolic model via the runner, in both fidelities: total
// cycles, ifmap and filter SRAM reads must equal the tool's. One TEST_CASE per array
// configuration and fidelity, since each process elaborates one accelerator.

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "arch/models/systolic/tests/systolic_test_util.h"
#include "sim/core/runner.h"

namespace {

using codesim::test::systolic::ConvSpec;
using codesim::test::systolic::WorkloadBuilder;

const std::string kCsv = CODESIM_SOURCE_DIR "/../shared/reference/scalesim_dev.csv";

struct Row {
  std::map<std::string, std::string> f;
  int64_t num(const std::string& k) const { return std::stoll(f.at(k)); }
};

std::vector<Row> read_rows() {
  std::ifstream in(kCsv);
  if (!in) FAIL("reference data missing: cannot open " << kCsv);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string cell; std::getline(hs, cell, ',');) header.push_back(cell);
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Row r;
    std::stringstream ls(line);
    std::string cell;
    for (size_t i = 0; i < header.size(); ++i) {
      std::getline(ls, cell, ',');
      r.f[header[i]] = cell;
    }
    rows.push_back(r);
  }
  REQUIRE(rows.size() == 36);
  return rows;
}

uint64_t counter(const codesim::sim::OpResult& op, const std::string& name) {
  for (const auto& c : op.counters)
    if (c.name == name) return c.value;
  FAIL("no counter " << name);
  return 0;
}

void check_config(int rows, int cols, const std::string& dataflow, bool cycle) {
  std::vector<Row> selected;
  for (const Row& r : read_rows())
    if (r.num("R") == rows && r.num("C") == cols && r.f.at("dataflow") == dataflow)
      selected.push_back(r);
  REQUIRE(selected.size() == 6);

  WorkloadBuilder b("scalesim_dev");
  for (const Row& r : selected) {
    if (r.f.at("layer_type") == "gemm") {
      b.gemm(r.f.at("case_id"), r.num("M"), r.num("N"), r.num("K"));
    } else {
      // SCALE-Sim's inputs are already padded: no padding here.
      ConvSpec s;
      s.h = r.num("ifmap_h");
      s.w = r.num("ifmap_w");
      REQUIRE(r.num("filt_h") == r.num("filt_w"));
      s.kernel = r.num("filt_h");
      s.c = r.num("channels");
      s.filters = r.num("num_filters");
      s.stride = r.num("stride");
      b.conv(r.f.at("case_id"), s);
    }
  }
  codesim::sim::ArchConfig arch;
  arch.file = "<golden test>";
  arch.model = "systolic";
  arch.accelerator = YAML::Load("{model: systolic, rows: " + std::to_string(rows) +
                                ", cols: " + std::to_string(cols) + ", dataflow: " + dataflow +
                                ", ifmap_sram_kib: 64, filter_sram_kib: 64, ofmap_sram_kib: 64}");
  arch.root["accelerator"] = arch.accelerator;
  codesim::sim::RunOptions opt;
  opt.fidelity = cycle ? codesim::sim::Fidelity::kCycle : codesim::sim::Fidelity::kFast;
  const codesim::sim::RunResult res = codesim::sim::run_workload(arch, b.workload(), opt);
  REQUIRE(res.ops.size() == selected.size());
  for (size_t i = 0; i < selected.size(); ++i) {
    const Row& r = selected[i];
    const auto& op = res.ops[i];
    INFO(r.f.at("case_id") << (cycle ? " (cycle)" : " (fast)"));
    CHECK(op.cycles == static_cast<uint64_t>(r.num("total_cycles")));
    CHECK(op.stall_cycles == static_cast<uint64_t>(r.num("stall_cycles")));
    CHECK(counter(op, "sram_ifmap_reads") == static_cast<uint64_t>(r.num("sram_ifmap_reads")));
    CHECK(counter(op, "sram_filter_reads") == static_cast<uint64_t>(r.num("sram_filter_reads")));
  }
}

}  // namespace

TEST_CASE("systolic matches SCALE-Sim 32x32 os in fast fidelity", "[golden]") {
  check_config(32, 32, "os", false);
}
TEST_CASE("systolic matches SCALE-Sim 32x32 os in cycle fidelity", "[golden]") {
  check_config(32, 32, "os", true);
}
TEST_CASE("systolic matches SCALE-Sim 32x32 ws in fast fidelity", "[golden]") {
  check_config(32, 32, "ws", false);
}
TEST_CASE("systolic matches SCALE-Sim 32x32 ws in cycle fidelity", "[golden]") {
  check_config(32, 32, "ws", true);
}
TEST_CASE("systolic matches SCALE-Sim 32x32 is in fast fidelity", "[golden]") {
  check_config(32, 32, "is", false);
}
TEST_CASE("systolic matches SCALE-Sim 32x32 is in cycle fidelity", "[golden]") {
  check_config(32, 32, "is", true);
}
TEST_CASE("systolic matches SCALE-Sim 16x16 os in fast fidelity", "[golden]") {
  check_config(16, 16, "os", false);
}
TEST_CASE("systolic matches SCALE-Sim 16x16 os in cycle fidelity", "[golden]") {
  check_config(16, 16, "os", true);
}
TEST_CASE("systolic matches SCALE-Sim 16x16 ws in fast fidelity", "[golden]") {
  check_config(16, 16, "ws", false);
}
TEST_CASE("systolic matches SCALE-Sim 16x16 ws in cycle fidelity", "[golden]") {
  check_config(16, 16, "ws", true);
}
TEST_CASE("systolic matches SCALE-Sim 16x16 is in fast fidelity", "[golden]") {
  check_config(16, 16, "is", false);
}
TEST_CASE("systolic matches SCALE-Sim 16x16 is in cycle fidelity", "[golden]") {
  check_config(16, 16, "is", true);
}
