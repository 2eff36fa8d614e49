// Unit tests of the butterfly (FABNet) model's rules: the skewed layout is conflict free for every
// stage of every length and the plain layout is not, the scoreboarded vector trace agrees with
// its closed form wherever that claims to hold, run stages follow the bank-sharing rules of each
// mode, the FPGA estimate follows the paper's resource model, and bad configs name their place.

#include "arch/models/butterfly/butterfly.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "arch/models/butterfly/engine.h"
#include "arch/models/butterfly/schedule.h"
#include "arch/models/butterfly/tests/butterfly_test_util.h"
#include "tests/test_util.h"

namespace {

namespace bf = codesim::arch::butterfly;
using bf::testing::ceil_div;

int log2i(int64_t n) { return 63 - __builtin_clzll(static_cast<uint64_t>(n)); }

// A pass of full-length vectors (every element read and written) in one mode.
bf::PassSpec pass(const std::string& name, bool fft, int64_t length, int64_t vectors) {
  bf::PassSpec p;
  p.name = name;
  p.fft = fft;
  p.length = length;
  p.stages = log2i(length);
  p.latency = fft ? 8 : 7;
  p.vectors = vectors;
  p.in_elems = length;
  p.out_elems = length;
  return p;
}

}  // namespace

TEST_CASE("skewed banks: every stage of every length is conflict-free, every pair once", "[unit]") {
  for (int units : {1, 2, 4, 8}) {
    const bf::BankLayout skew{2 * units, true};
    for (int64_t n = 2; n <= 8192; n *= 2) {
      for (int s = 0; (int64_t{1} << s) < n; ++s) {
        const bf::StageTrace t = bf::trace_stage(skew, n, s, units);
        INFO("units " << units << " n " << n << " stage " << s);
        CHECK(t.conflict_cycles == 0);
        CHECK(t.issue_cycles == ceil_div(n / 2, units));
        CHECK(t.reads == n);
        // Each lower index of stage s is issued exactly once.
        std::set<int64_t> seen;
        bf::for_each_issue(n, s, units, [&](const int64_t* lo, int count) {
          for (int k = 0; k < count; ++k) {
            CHECK((lo[k] & (int64_t{1} << s)) == 0);
            seen.insert(lo[k]);
          }
        });
        CHECK(static_cast<int64_t>(seen.size()) == n / 2);
      }
    }
  }
}

TEST_CASE("plain layout conflicts on every stage with stride >= 2U and only there", "[unit]") {
  for (int units : {2, 4, 8}) {
    const int nb = 2 * units;
    const bf::BankLayout plain{nb, false};
    for (int64_t n = 2; n <= 4096; n *= 2)
      for (int s = 0; (int64_t{1} << s) < n; ++s) {
        const bf::StageTrace t = bf::trace_stage(plain, n, s, units);
        // Both elements of each pair sit in the same bank (same row), so every cycle reads each of
        // its U banks twice: one extra cycle per issue cycle.
        if ((int64_t{1} << s) >= nb)
          CHECK(t.conflict_cycles == t.issue_cycles);
        else
          CHECK(t.conflict_cycles == 0);
      }
  }
}

TEST_CASE("vector timing: the closed form equals the scoreboarded trace wherever it claims to",
          "[unit]") {
  int claimed = 0, hazards = 0;
  for (int units : {1, 2, 4, 8, 16})
    for (int latency = 1; latency <= 12; ++latency)
      for (bool skew : {false, true})
        for (int64_t n = 2; n <= 8192; n *= 2) {
          const bf::BankLayout layout{2 * units, skew};
          const int stages = log2i(n);
          const bf::VectorTrace t = bf::trace_vector(layout, n, stages, units, latency);
          INFO("units " << units << " latency " << latency << " skew " << skew << " n " << n);
          // Every pair of every stage is issued once; reads = writes = n per stage.
          CHECK(t.issue_cycles == stages * ceil_div(n / 2, units));
          CHECK(t.reads == stages * n);
          bf::VectorTrace c;
          if (bf::vector_closed_form(layout, n, stages, units, latency, &c)) {
            ++claimed;
            CHECK(t.dependency_stalls == 0);
            CHECK(c.cycles == t.cycles);
            CHECK(c.conflict_cycles == t.conflict_cycles);
            CHECK(c.issue_cycles == t.issue_cycles);
          } else {
            hazards += t.dependency_stalls > 0;
          }
        }
  CHECK(claimed > 500);
  // Short stages do wait for the previous stage's results (the RTL's shortest length, 128 on
  // 4 units with latency 7-8, is the first without a hazard).
  CHECK(hazards > 50);
  const bf::BankLayout skew{8, true};
  CHECK(bf::trace_vector(skew, 64, 6, 4, 8).dependency_stalls > 0);
  CHECK(bf::trace_vector(skew, 128, 7, 4, 8).dependency_stalls == 0);
  // 1024 on 4 units: 10 stages x 128 issue cycles, last results 7 cycles after the last issue.
  CHECK(bf::trace_vector(skew, 1024, 10, 4, 7).cycles == 10 * 128 - 1 + 7);
}

TEST_CASE("run stage times follow their closed forms", "[unit]") {
  const bf::PortConfig c{2048, 256, 2048, 4, 1024};
  bf::PassSpec p = pass("b", false, 1024, 120);
  p.in_elems = 768;
  p.out_elems = 768;
  // Load: 120 rows x 768 x 16 b over 2048 b = 720 cycles < S2P 1024 elements (padding included).
  CHECK(bf::load_cycles(c, p, 120) == 1024);
  CHECK(bf::load_cycles(c, p, 240) == 1440);
  // Store: P2S 768 elements vs 720 port cycles; complex output doubles the port time.
  CHECK(bf::store_cycles(c, p, 120) == 768);
  p.out_elem_bits = 32;
  CHECK(bf::store_cycles(c, p, 120) == 1440);
  // Coefficients: 10 stages x 512 pairs x 4 x 16 bits, in either mode.
  CHECK(bf::coef_bits_per_stack(p) == 10 * 512 * 64);
  // LayerNorm: mean, then variance, over 768 outputs at 2U = 8 per cycle.
  p.layernorm_width = 768;
  CHECK(bf::layernorm_latency(c, p) == 2 * 96);
  // Stacks: the last stack keeps only what is left of the output width.
  p.out_total = 2500;
  CHECK(bf::run_out_elems(p, 0) == 1024);
  CHECK(bf::run_out_elems(p, 2) == 2500 - 2048);
}

TEST_CASE("port timeline books the first gap that fits", "[unit]") {
  bf::PortTimeline port;
  CHECK(port.reserve(0, 10) == 0);
  CHECK(port.reserve(0, 5) == 10);
  CHECK(port.reserve(20, 5) == 20);
  CHECK(port.reserve(0, 5) == 15);  // the gap [15, 20)
  CHECK(port.reserve(0, 6) == 25);
  port.sync_to(100);
  CHECK(port.reserve(0, 1) == 100);
}

TEST_CASE("linear runs overlap load, compute and store, FFT runs only load and store", "[unit]") {
  const bf::PortConfig c{2048, 256, 2048, 4, 1024};
  const bf::PassSpec lin = pass("lin", false, 1024, 360);  // 3 runs of 120
  const uint64_t comp = 10 * 128 - 1 + 7;
  bf::RunPipeline a(c, 120);
  const auto runs = a.plan(lin, [&](int64_t, int64_t) { return comp; });
  REQUIRE(runs.size() == 3);
  // Loads (1024-cycle S2P) hide behind compute; computes run back to back, then one store.
  for (int k = 0; k < 3; ++k) CHECK(runs[k].comp_end == 1024 + (k + 1) * comp);
  CHECK(runs[2].store_end == 1024 + 3 * comp + 1024);
  // Every run streams its 1280 coefficient entries (more than a 1024-entry half).
  for (const auto& r : runs) CHECK(r.coef_bits == 10 * 512 * 64);

  bf::PassSpec fft = pass("fft", true, 1024, 360);
  fft.out_elem_bits = 32;  // store: 120 x 1024 x 32 / 2048 = 1920 > P2S 1024
  const uint64_t fcomp = 10 * 128 - 1 + 8;
  bf::RunPipeline b(c, 120);
  const auto fruns = b.plan(fft, [&](int64_t, int64_t) { return fcomp; });
  REQUIRE(fruns.size() == 3);
  CHECK(fruns[0].comp_end == 1024 + fcomp);
  // Period = max(load 1024, store 1920) + compute: no load or store beside an FFT compute.
  for (int k = 1; k < 3; ++k) {
    CHECK(fruns[k].comp_end - fruns[k - 1].comp_end == 1920 + fcomp);
    CHECK(fruns[k].load_start >= fruns[k - 1].comp_end);
    CHECK(fruns[k].comp_start >= fruns[k - 1].store_end);
  }
}

TEST_CASE("coefficients: a set within half the weight buffer is fetched once, others stream",
          "[unit]") {
  const bf::PassSpec p = pass("fft", true, 128, 480);
  bf::RunPipeline a({2048, 256, 2048, 4, 1024}, 120);
  const auto runs = a.plan(p, [](int64_t, int64_t) { return uint64_t{120}; });
  REQUIRE(runs.size() == 4);
  // 7 stages x 16 entries = 112 <= 1024: the twiddles stay for all four runs.
  CHECK(runs[0].coef_bits == 7 * 64 * 64);
  for (int k = 1; k < 4; ++k) CHECK(runs[k].coef_bits == 0);

  // A 64-bit coefficient port: 327,680 bits per run take 5,120 cycles, far above the compute, so
  // the stream paces the runs and compute ends `latency` after the last entry.
  const bf::PassSpec q = pass("lin", false, 1024, 360);
  bf::RunPipeline b({2048, 64, 2048, 4, 1024}, 120);
  const auto slow = b.plan(q, [](int64_t, int64_t) { return uint64_t{1286}; });
  REQUIRE(slow.size() == 3);
  for (int k = 0; k < 3; ++k) {
    CHECK(slow[k].coef_end == (k + 1) * 5120u);
    CHECK(slow[k].comp_end == (k + 1) * 5120u + 7);
  }
}

TEST_CASE("shortcut rows ride the input port and a fused LayerNorm delays the store", "[unit]") {
  bf::PassSpec p = pass("b", false, 1024, 120);
  p.in_elems = 768;
  p.out_elems = 768;
  p.shortcut_bits_per_vector = 768 * 16;
  p.layernorm_width = 768;
  bf::RunPipeline a({2048, 256, 2048, 4, 1024}, 120);
  const auto runs = a.plan(p, [](int64_t, int64_t) { return uint64_t{1286}; });
  REQUIRE(runs.size() == 1);
  const auto& r = runs[0];
  // The input port carries the rows (720 cycles) and then the shortcut rows (720 cycles).
  CHECK(r.shortcut_start == 720);
  CHECK(r.shortcut_end == 1440);
  CHECK(r.in_bits == 2 * 120 * 768 * 16);
  CHECK(r.store_end == r.store_start + 2 * 96 + 768);
}

TEST_CASE("shortcut FIFO: rows stream in behind the last store unless two rows fit", "[unit]") {
  // 3 runs of 2 vectors of 64; the input port (64 b) moves a run's rows and its shortcut rows in
  // 32 cycles each, the S2P takes 64; compute 100, store (P2S) 64, coefficients kept after run 0.
  bf::PassSpec p = pass("b", false, 64, 6);
  p.shortcut_bits_per_vector = 64 * 16;
  const auto plan = [&](int64_t depth) {
    bf::RunPipeline a({64, 1 << 20, 1 << 20, 4, 1024, depth}, 2);
    return a.plan(p, [](int64_t, int64_t) { return uint64_t{100}; });
  };
  // One row fits (depth 64): loads at 0, 64, 196 (run 2's buffer frees when run 0's store starts
  // at 164; the port is busy until 196 with run 1's shortcut); a run's shortcut starts when the
  // previous store starts (164, 264) and ends no earlier than that store (228, 328).
  const auto one = plan(64);
  REQUIRE(one.size() == 3);
  CHECK(one[0].shortcut_start == 32);
  CHECK(one[0].shortcut_end == 64);
  CHECK(one[1].shortcut_start == 164);
  CHECK(one[1].shortcut_end == 228);
  CHECK(one[2].load_start == 196);
  CHECK(one[2].shortcut_start == 264);
  CHECK(one[2].shortcut_end == 328);
  for (int k = 0; k < 3; ++k) CHECK(one[k].store_end == 228 + 100u * k);
  // Two rows fit (depth 128): run 1's rows follow its load at once (96); run 2's wait for run 0's
  // store to end (228).
  const auto two = plan(128);
  REQUIRE(two.size() == 3);
  CHECK(two[1].shortcut_start == 96);
  CHECK(two[1].shortcut_end == 128);
  CHECK(two[2].shortcut_start == 228);
  CHECK(two[2].shortcut_end == 260);
  for (int k = 0; k < 3; ++k) CHECK(two[k].store_end == 228 + 100u * k);
}

TEST_CASE("FPGA estimate: multipliers by the paper's formula, BRAM by the buffers it needs",
          "[unit]") {
  codesim::arch::ButterflyParams p;
  p.engines = 40;
  const auto be40 = codesim::arch::ButterflyModel::estimate_fpga(p);
  p.engines = 120;
  const auto be120 = codesim::arch::ButterflyModel::estimate_fpga(p);
  // DSP = 4 P_be P_bu (Table VII: BE-40 640 DSPs; BE-120 reports 2,880 for its 1,920).
  CHECK(be40.multipliers == 640);
  CHECK(be120.multipliers == 1920);
  // 16 BRAM18 of banks per engine (2 buffers x 8 sub-banks of 512 words) plus the 2 x 16 BRAM18
  // weight buffer: within 1% of the builds (Table VII: 338 and 978).
  CHECK(be40.bram36 == 40 * 8 + 16);
  CHECK(be120.bram36 == 120 * 8 + 16);
  CHECK(std::abs(be40.bram36 - 338) <= 0.01 * 338);
  CHECK(std::abs(be120.bram36 - 978) <= 0.01 * 978);
  // The shortcut FIFO of each engine, 1024 x 16 bits, takes one BRAM18.
  CHECK(be40.postp_bram36 == 20);
  CHECK(be120.postp_bram36 == 60);
  // Attention processor: P_head (P_qk + P_sv) multipliers and a query and key buffer per head.
  p.engines = 0;
  p.heads = 8;
  p.qk_macs = 32;
  p.sv_macs = 32;
  const auto ap = codesim::arch::ButterflyModel::estimate_fpga(p);
  CHECK(ap.multipliers == 8 * 64);
  CHECK(ap.bram36 == 8 * 32);
}

TEST_CASE("README's parameter table is the one `codesim describe butterfly --markdown` prints",
          "[unit]") {
  std::ifstream in(codesim::test::source_path("arch/models/butterfly/README.md"));
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string table =
      codesim::sim::format_params_markdown(codesim::arch::ButterflyParams::schema().infos());
  // On failure, paste the printed table into the README.
  INFO(table);
  CHECK(ss.str().find(table) != std::string::npos);
}

TEST_CASE("bad butterfly configs are errors naming file, line and key", "[unit]") {
  const std::string dir = codesim::test::temp_dir();
  const std::string arch = codesim::test::write_file(dir, "a.yaml",
                                                     "accelerator:\n"
                                                     "  model: butterfly\n"
                                                     "  engine: 4\n"
                                                     "  units_per_engine: 0\n");
  const std::string wl = codesim::test::write_file(
      dir, "w.yaml", "workload: {zoo: fabnet, variant: base, seq_len: 16}\n");
  const auto c = codesim::test::run_codesim("run --arch " + arch + " --workload " + wl + " -q");
  CHECK(c.status == 2);
  CHECK_THAT(c.err, Catch::Contains(arch + ":3:3: error: accelerator.engine: unknown key"));
  CHECK_THAT(c.err, Catch::Contains("did you mean 'engines'?"));
  CHECK_THAT(c.err, Catch::Contains(arch + ":4:21: error: accelerator.units_per_engine"));
}
