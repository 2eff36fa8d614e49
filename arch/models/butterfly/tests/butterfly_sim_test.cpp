// The butterfly model through its run_op interface: cycles, MACs and bytes from the rules, bank
// conflicts and data hazards counted the same in cycle and fast fidelity, functional outputs
// against the reference executor, fused post-processing, and the dense baseline's engines.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arch/models/butterfly/butterfly.h"
#include "arch/models/butterfly/tests/butterfly_test_util.h"
#include "compress/reference/executor.h"
#include "tests/test_util.h"

namespace {

using codesim::arch::ButterflyParams;
using codesim::sim::Fidelity;
namespace bt = codesim::arch::butterfly::testing;
using bt::ceil_div;
using bt::Job;
using bt::OneOp;

int log2i(int64_t n) { return 63 - __builtin_clzll(static_cast<uint64_t>(n)); }

}  // namespace

TEST_CASE("butterfly op: cycles, MACs and bytes from the rules, fast equals cycle", "[sim]") {
  OneOp a;
  a.butterfly(20, 48, 64, 2, 100);  // 20 rows on 8 engines: 3 row groups x 2 stacks
  ButterflyParams p;
  p.engines = 8;
  p.units_per_engine = 2;
  p.input_port_bits = 64;
  p.coef_port_bits = 64;
  p.output_port_bits = 64;
  std::vector<Job> jobs{{bt::make(p), &a.w, {0}, Fidelity::kFast, true},
                        {bt::make(p), &a.w, {0}, Fidelity::kCycle, true}};
  bt::run_all(jobs);
  const Job& f = jobs[0];
  const Job& c = jobs[1];
  CHECK(f.cycles == c.cycles);
  CHECK(f.counters == c.counters);
  CHECK(f.out == c.out);
  // 6 runs; pairs per vector and stack: 6 stages x 32 pairs, 4 multiplies each.
  CHECK(f.runs.size() == 6);
  CHECK(f.counters.at("bu_muls") == 20u * 2 * 6 * 32 * 4);
  CHECK(f.counters.at("bank_conflict_cycles") == 0);
  // Bytes: 48 inputs per row for each stack run; 100 outputs per row; each stack's 6 x 32 x 64-bit
  // coefficient entries (96 entries, within a half of the weight buffer) are fetched once.
  CHECK(f.counters.at("dram_write_bytes") == 20u * 100 * 2);
  CHECK(f.counters.at("dram_read_bytes") == 20u * 2 * 48 * 2 + 2u * 6 * 32 * 8);
  // The op ends when the last store ends (it is the workload's last op).
  CHECK(f.cycles == f.runs.back().store_end);
  CHECK(f.outcome.functional_mismatches == 0);
}

TEST_CASE("plain layout costs exactly the traced conflicts in both fidelities", "[sim]") {
  OneOp a;
  a.butterfly(8, 256, 256, 1, 256);
  ButterflyParams p;
  p.engines = 8;
  p.skew = false;
  ButterflyParams q = p;
  q.skew = true;
  std::vector<Job> jobs{{bt::make(p), &a.w, {0}, Fidelity::kFast},
                        {bt::make(p), &a.w, {0}, Fidelity::kCycle},
                        {bt::make(q), &a.w, {0}, Fidelity::kCycle}};
  bt::run_all(jobs);
  // n = 256, NB = 8: stages 3..7 (stride >= 8) conflict, 32 issue cycles each.
  CHECK(jobs[1].counters.at("bank_conflict_cycles") == 5u * 32);
  CHECK(jobs[0].counters.at("bank_conflict_cycles") == 5u * 32);
  CHECK(jobs[0].cycles == jobs[1].cycles);
  CHECK(jobs[1].cycles == jobs[2].cycles + 5 * 32);
  CHECK(jobs[2].counters.at("bank_conflict_cycles") == 0);
}

TEST_CASE("cycle fidelity: no bank conflict in any stage of any supported length with the skew",
          "[sim]") {
  // Every length up to max_length, as a butterfly (real) and as a complex 1-D FFT, on two
  // engines with two vectors each; the plain layout conflicts on every stage with stride >= 2U.
  std::vector<OneOp> ws;
  for (int64_t n = 2; n <= 4096; n *= 2) {
    ws.emplace_back();
    ws.back().butterfly(4, n, n, 1, n);
    ws.emplace_back();
    ws.back().fft(4, n, {n}, false, false);
  }
  ButterflyParams skew;
  skew.engines = 2;
  ButterflyParams plain = skew;
  plain.skew = false;
  std::vector<Job> jobs;
  for (auto& o : ws) {
    jobs.push_back({bt::make(skew), &o.w, {0}, Fidelity::kCycle});
    jobs.push_back({bt::make(plain), &o.w, {0}, Fidelity::kCycle});
  }
  bt::run_all(jobs);
  for (size_t i = 0; i < ws.size(); ++i) {
    const int64_t n = int64_t{1} << (i / 2 + 1);
    const int stages = log2i(n);
    INFO("length " << n << (i % 2 ? " fft" : " butterfly"));
    CHECK(jobs[2 * i].runs.size() == 2);
    CHECK(jobs[2 * i].counters.at("bank_conflict_cycles") == 0);
    // Plain: one extra cycle per issue cycle of each stage with stride >= 8, in each run.
    const int64_t conflicting = std::max(0, stages - 3);
    CHECK(jobs[2 * i + 1].counters.at("bank_conflict_cycles") ==
          static_cast<uint64_t>(2 * conflicting * ceil_div(n / 2, 4)));
  }
}

TEST_CASE("short vectors wait for their operands, the same in both fidelities", "[sim]") {
  OneOp a;
  a.butterfly(4, 32, 32, 1, 32);  // 4 issue cycles per stage < 2 x 7 cycles of latency
  ButterflyParams p;
  p.engines = 4;
  std::vector<Job> jobs{{bt::make(p), &a.w, {0}, Fidelity::kFast},
                        {bt::make(p), &a.w, {0}, Fidelity::kCycle}};
  bt::run_all(jobs);
  CHECK(jobs[0].counters.at("dependency_stall_cycles") > 0);
  CHECK(jobs[0].counters == jobs[1].counters);
  CHECK(jobs[0].cycles == jobs[1].cycles);
  // The stalls stretch compute beyond 5 stages x 4 issue cycles + latency.
  CHECK(jobs[0].runs[0].comp_end - jobs[0].runs[0].comp_start ==
        5 * 4 - 1 + 7 + jobs[0].counters.at("dependency_stall_cycles"));
}

TEST_CASE("functional butterfly and fft match the reference executor within the FP16 bound",
          "[sim]") {
  std::vector<OneOp> ws(5);
  ws[0].butterfly(5, 48, 64, 2, 100);
  ws[1].fft(6, 12, {16}, true, false);
  ws[2].fft(12, 24, {16, 32}, true, true);
  ws[3].fft(8, 16, {8, 16}, false, false);
  ws[4].fft(8, 16, {8, 16}, false, false, true);
  ButterflyParams p;
  p.engines = 4;
  std::vector<Job> jobs;
  for (auto& o : ws) jobs.push_back({bt::make(p), &o.w, {0}, Fidelity::kCycle, true});
  bt::run_all(jobs);
  for (size_t i = 0; i < ws.size(); ++i) {
    codesim::compress::Executor ex(ws[i].w);
    const auto res = ex.run({});
    const auto& want = res.at("y").data;
    const auto& got = jobs[i].out;
    REQUIRE(got.size() == want.size());
    double peak = 0;
    for (float v : want) peak = std::max(peak, std::fabs(static_cast<double>(v)));
    // Stated bound: |error| <= 2^-10 (stages + 1) max|y|, FP16 rounding at every unit output.
    const auto& op = ws[i].w.ops(0);
    int stages = 0;
    if (op.has_butterfly()) stages = static_cast<int>(op.butterfly().stages());
    if (op.has_fft())
      for (int64_t l : op.fft().lengths()) stages += log2i(l);
    const double tol = std::ldexp(1.0, -10) * (stages + 1) * peak;
    int64_t bad = 0;
    for (size_t k = 0; k < got.size(); ++k) bad += std::fabs(got[k] - want[k]) > tol;
    INFO("case " << i);
    CHECK(bad == 0);
    CHECK(jobs[i].outcome.functional_mismatches == 0);
  }
}

TEST_CASE("FABNet layers: fast and cycle fidelity report the same and fuse post-processing",
          "[sim]") {
  const std::string dir = codesim::test::temp_dir();
  const std::string wl = codesim::test::write_file(
      dir, "w.yaml", "workload: {zoo: fabnet, variant: base, seq_len: 200}\n");
  const std::string arch =
      codesim::test::source_path("arch/models/butterfly/configs/vcu128_be120.yaml");
  const auto fast = codesim::test::run_codesim("run --arch " + arch + " --workload " + wl +
                                               " --out " + dir + "/f -q");
  const auto cyc = codesim::test::run_codesim("run --arch " + arch + " --workload " + wl +
                                              " --out " + dir + "/c -q --fidelity cycle");
  REQUIRE(fast.status == 0);
  REQUIRE(cyc.status == 0);
  const std::string fj = codesim::test::read_file(dir + "/f/report.csv");
  const std::string cj = codesim::test::read_file(dir + "/c/report.csv");
  // Every op's start, cycles and counters are equal in both fidelities.
  CHECK(fj == cj);
  // Shortcut adds, LayerNorms and GELUs run on the write-back: no cycles of their own.
  CHECK_THAT(fj, Catch::Contains("layer0.ffn.norm,layernorm,1,"));
  CHECK_THAT(fj, Catch::Contains("layer0.ffn.gelu,eltwise,1,"));
  CHECK_THAT(fj, Catch::Matches("[\\s\\S]*\nlayer0\\.mix\\.norm,layernorm,1,[0-9]+,0,[\\s\\S]*"));
}

TEST_CASE("the trace shows every run's stages, one row per resource, by the hardware's rules",
          "[sim]") {
  // FABNet-Large, L = 128 on 120 engines: two row groups, so every pass has runs that overlap.
  const std::string dir = codesim::test::temp_dir();
  const std::string wl = codesim::test::write_file(
      dir, "w.yaml", "workload: {zoo: fabnet, variant: large, seq_len: 128}\n");
  const std::string arch =
      codesim::test::source_path("arch/models/butterfly/configs/vcu128_be120.yaml");
  const auto r = codesim::test::run_codesim("run --arch " + arch + " --workload " + wl + " --out " +
                                            dir + "/o -q --trace");
  REQUIRE(r.status == 0);
  const auto trace = nlohmann::json::parse(codesim::test::read_file(dir + "/o/trace.json"));
  const auto report = nlohmann::json::parse(codesim::test::read_file(dir + "/o/report.json"));
  const double cycles_per_us = report["clock_mhz"].get<double>();
  std::map<int, std::string> track;
  struct Interval {
    int64_t begin, end;
    std::string name;
  };
  std::map<std::string, std::vector<Interval>> on;
  for (const auto& e : trace["traceEvents"]) {
    if (e["name"] == "thread_name") track[e["tid"].get<int>()] = e["args"]["name"];
    if (e["ph"] != "X" || e["tid"].get<int>() < 2) continue;
    const auto b = std::llround(e["ts"].get<double>() * cycles_per_us);
    const auto d = std::llround(e["dur"].get<double>() * cycles_per_us);
    on[track.at(e["tid"].get<int>())].push_back({b, b + d, e["name"]});
  }
  for (const char* t :
       {"BP load (S2P)", "BP engines", "BP store (P2S)", "BP coefficient port", "BP shortcut rows"})
    REQUIRE(on.count(t));
  // One S2P, one set of units and one P2S per engine, one coefficient port: a resource's
  // intervals never overlap.
  for (auto& [name, v] : on) {
    INFO(name);
    std::sort(v.begin(), v.end(),
              [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < v.size(); ++i) CHECK(v[i].begin >= v[i - 1].end);
  }
  // FFT mode holds every bank port: no load or store beside an FFT compute.
  const auto& comp = on["BP engines"];
  int64_t fft_computes = 0, busy = 0;
  for (const auto& c : comp) {
    busy += c.end - c.begin;
    if (c.name.find(".fft.axis") == std::string::npos) continue;
    ++fft_computes;
    for (const char* t : {"BP load (S2P)", "BP store (P2S)"})
      for (const auto& io : on[t]) {
        INFO(c.name << " beside " << io.name);
        CHECK((io.end <= c.begin || io.begin >= c.end));
      }
  }
  // 24 layers x (9 sequence-axis runs of 120 of the 1024 columns + 2 hidden-axis runs).
  CHECK(fft_computes == 24 * (9 + 2));
  // The engines' busy time on the trace is the model's counter of it.
  int64_t counted = 0;
  for (const auto& op : report["ops"])
    if (op["counters"].contains("bp_compute_cycles"))
      counted += op["counters"]["bp_compute_cycles"].get<int64_t>();
  CHECK(busy == counted);
  // A run loads before it computes and stores after (names: "<pass> run <k> <stage>").
  std::map<std::string, std::map<std::string, Interval>> runs;
  for (const auto& [name, v] : on)
    for (const auto& i : v) {
      const size_t cut = i.name.rfind(' ');
      runs[i.name.substr(0, cut)][i.name.substr(cut + 1)] = i;
    }
  for (const auto& [run, st] : runs) {
    INFO(run);
    REQUIRE(st.count("compute"));
    REQUIRE(st.count("store"));
    if (st.count("load")) CHECK(st.at("load").end <= st.at("compute").begin);
    CHECK(st.at("store").begin >= st.at("compute").end);
  }
}

TEST_CASE("a residual the previous op loaded in one row group stays in the shortcut FIFOs",
          "[sim]") {
  // A butterfly FFN on 8 rows: up = x (64) -> 256 as 4 stacks of 64, down = 256 -> 64, y = down +
  // x.
  OneOp a;
  const std::string x = a.tensor("x", {8, 64}, false, false);
  const std::string up = a.linear("up", x, 8, 64, 256);
  const std::string down = a.linear("down", up, 8, 256, 64);
  a.add("add", {down, x}, {8, 64});
  const auto job = [&](int64_t engines, int64_t depth, Fidelity f) {
    ButterflyParams p;
    p.engines = engines;
    p.input_port_bits = 64;
    p.shortcut_depth = depth;
    return Job{bt::make(p), &a.w, {0, 1, 2}, f};
  };
  // One row group (8 engines): x's rows fit the FIFOs (1024) or not (32); two row groups (4).
  std::vector<Job> jobs{job(8, 1024, Fidelity::kFast), job(8, 32, Fidelity::kFast),
                        job(4, 1024, Fidelity::kFast), job(4, 32, Fidelity::kFast),
                        job(8, 1024, Fidelity::kCycle)};
  bt::run_all(jobs);
  // DRAM reads: up loads x for each of its 4 stack runs (4 x 8 x 64 x 2 B) and fetches each
  // stack's 6 x 32 coefficient entries of 8 B once; down loads 8 x 256 x 2 B and its 8 x 128
  // entries once. Kept, x is not read again.
  const uint64_t base = 4 * 8 * 64 * 2 + 4 * 6 * 32 * 8 + 8 * 256 * 2 + 8 * 128 * 8;
  const uint64_t x_bytes = 8 * 64 * 2;
  CHECK(jobs[0].counters.at("dram_read_bytes") == base);
  CHECK(jobs[1].counters.at("dram_read_bytes") == base + x_bytes);
  CHECK(jobs[0].cycles <= jobs[1].cycles);
  // Two row groups: an engine would have to keep two rows until down's write-back, so x is read
  // again whatever the depth; up's 4 stack sets no longer fit the weight buffer's two halves
  // between row groups, so all 8 runs fetch theirs.
  CHECK(jobs[2].counters.at("dram_read_bytes") == base + 4 * 6 * 32 * 8 + x_bytes);
  CHECK(jobs[3].counters.at("dram_read_bytes") == jobs[2].counters.at("dram_read_bytes"));
  // Every case writes and reads x's rows in the FIFOs once.
  for (const Job& j : jobs) CHECK(j.counters.at("shortcut_accesses") == 2u * 8 * 64);
  CHECK(jobs[4].cycles == jobs[0].cycles);
  CHECK(jobs[4].counters == jobs[0].counters);
}

TEST_CASE("dense baseline: weight GEMMs on the linear engine, attention heads in rounds", "[sim]") {
  ButterflyParams d;
  d.engines = 0;
  d.heads = 8;
  d.qk_macs = 32;
  d.sv_macs = 32;
  d.dense_multipliers = 1536;
  OneOp proj;
  proj.gemm("proj", 1, 128, 768, 768, true);
  // 12 heads of 128 x 128 scores over 64 features, then S.V.
  OneOp att;
  att.gemm("scores", 12, 128, 128, 64, false);
  att.softmax("softmax", "scores.out", 12 * 128, 128);
  att.gemm("context", 12, 128, 64, 128, false, "softmax.out");
  std::vector<Job> jobs{{bt::make(d), &proj.w, {0}}, {bt::make(d), &att.w, {0, 1, 2}}};
  bt::run_all(jobs);
  // Adder-tree fill: multiplier 2 + 2 per level over log2(k) levels + accumulate and register 4.
  const auto fill = [](int64_t k) { return 2 + 2 * log2i(k) + 4; };
  CHECK(jobs[0].cycles == static_cast<uint64_t>(ceil_div(128 * 768 * 768, 1536) + fill(768)));
  CHECK(jobs[0].counters.at("dense_macs") == 128u * 768 * 768);
  // Each head on one 32-multiplier unit: 12 heads on 8 units take 2 rounds; softmax streams one
  // score per cycle per head; the three overlap row by row (slowest + one row of the others).
  const uint64_t qk = 2 * ceil_div(128 * 128 * 64, 32) + fill(64);
  const uint64_t sv = 2 * ceil_div(128 * 64 * 128, 32) + fill(128);
  const uint64_t sm = 12 * 128 * 128 / 8;
  const uint64_t slowest = std::max({qk, sv, sm});
  CHECK(jobs[1].cycles == slowest + (qk + sv + sm - slowest) / (12 * 128));
  CHECK(jobs[1].counters.at("ap_macs") == 2u * 12 * 128 * 128 * 64);
  // Scores and probabilities stay on chip: DRAM sees Q, K, V in and the context out only.
  CHECK(jobs[1].counters.at("dram_read_bytes") == 3u * 12 * 128 * 64 * 2);
  CHECK(jobs[1].counters.at("dram_write_bytes") == 12u * 128 * 64 * 2);
}

TEST_CASE("attention processor: Q.K^T starts while the engines still compute V", "[sim]") {
  ButterflyParams p;
  p.engines = 32;
  p.heads = 4;
  p.qk_macs = 16;
  p.sv_macs = 16;
  // q, k, v butterfly projections of 256 tokens x 256 features (4 heads of 64), then attention.
  OneOp full;
  const std::string x = full.tensor("x", {256, 256}, false, false);
  const std::string q = full.linear("q", x, 256, 256, 256);
  const std::string k = full.linear("k", x, 256, 256, 256);
  const std::string v = full.linear("v", x, 256, 256, 256);
  full.gemm("scores", 4, 256, 256, 64, false, q, k);
  full.softmax("softmax", "scores.out", 4 * 256, 256);
  full.gemm("context", 4, 256, 64, 256, false, "softmax.out", v);
  OneOp alone;
  alone.gemm("scores", 4, 256, 256, 64, false);
  alone.softmax("softmax", "scores.out", 4 * 256, 256);
  alone.gemm("context", 4, 256, 64, 256, false, "softmax.out");
  std::vector<Job> jobs{{bt::make(p), &full.w, {0, 1, 2, 3, 4, 5}},
                        {bt::make(p), &alone.w, {0, 1, 2}}};
  bt::run_all(jobs);
  const uint64_t attention_alone = jobs[1].cycles;
  // 4 heads on 4 units: 256 x 256 x 64 / 16 cycles per head for Q.K^T and the same for S.V.
  CHECK(attention_alone >= 256u * 256 * 64 / 16);
  // After V is computed, less than the attention's own time is left, but at least S.V's share.
  const uint64_t after_v = jobs[0].op_cycles[3];
  CHECK(after_v < attention_alone);
  CHECK(after_v >= 256u * 64 * 256 / 16);
}
