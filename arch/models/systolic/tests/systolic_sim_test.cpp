// The systolic model against its own rules: cycle and fast fidelity agree on every case tried,
// the fold timing follows its closed forms, functional outputs equal an independent reference,
// work and traffic are conserved, and a DRAM port that cannot keep up stalls the array.

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "arch/common/reference_ops.h"
#include "arch/models/systolic/tests/systolic_test_util.h"
#include "sim/core/diagnostics.h"
#include "workloads/ir/ir.h"

namespace {

using codesim::arch::SystolicModel;
using codesim::arch::SystolicParams;
using codesim::sim::Fidelity;
using codesim::test::systolic::ConvSpec;
using codesim::test::systolic::Job;
using codesim::test::systolic::Models;
using codesim::test::systolic::WorkloadBuilder;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Small shapes: partial folds in every dimension, batched GEMMs, convolutions with stride,
// padding, dilation, groups and depthwise.
WorkloadBuilder small_ops(int data_bits = 0) {
  WorkloadBuilder b("small", data_bits);
  b.gemm("g_5x7x3", 5, 7, 3);
  b.gemm("g_1x1x1", 1, 1, 1);
  b.gemm("g_16x16x16", 16, 16, 16);
  b.gemm("g_19x9x23", 19, 9, 23);
  b.gemm("g_6x21x40", 6, 21, 40);
  b.gemm("g_batch3_shared_b", 7, 5, 9, 3, false);
  b.gemm("g_batch2_batched_b", 6, 10, 5, 2, true);
  // Long streams with K folded: ws/is partial-sum tiles of a few KiB.
  b.gemm("g_70x9x30", 70, 9, 30);
  b.gemm("g_9x70x30", 9, 70, 30);
  ConvSpec c;
  c.h = 7, c.w = 6, c.c = 3, c.filters = 5, c.kernel = 3, c.pad_top = c.pad_bottom = 1;
  c.pad_left = c.pad_right = 1;
  b.conv("conv_pad1", c);
  ConvSpec s2;
  s2.h = 9, s2.w = 8, s2.c = 4, s2.filters = 6, s2.kernel = 3, s2.stride = 2, s2.pad_top = 1;
  s2.pad_left = 2;
  b.conv("conv_stride2_asym_pad", s2);
  ConvSpec dw;
  dw.h = 6, dw.w = 6, dw.c = 6, dw.filters = 6, dw.kernel = 3, dw.groups = 6;
  dw.pad_top = dw.pad_bottom = dw.pad_left = dw.pad_right = 1;
  b.conv("conv_depthwise", dw);
  ConvSpec gr;
  gr.batch = 2, gr.h = 7, gr.w = 7, gr.c = 8, gr.filters = 6, gr.kernel = 2, gr.groups = 2;
  gr.dilation = 2, gr.pad_bottom = 1;
  b.conv("conv_batch2_groups2_dilation2", gr);
  return b;
}

SystolicParams params(int rows, int cols, const std::string& df) {
  SystolicParams p;
  p.rows = rows;
  p.cols = cols;
  p.dataflow = df;
  return p;
}

std::string describe(const SystolicParams& p) {
  return std::to_string(p.rows) + "x" + std::to_string(p.cols) + " " + p.dataflow + " " +
         p.operand + " bw=" + std::to_string(p.dram_bandwidth) +
         " lat=" + std::to_string(p.dram_latency) + " sram=" + std::to_string(p.ifmap_sram_kib) +
         "/" + std::to_string(p.filter_sram_kib) + "/" + std::to_string(p.ofmap_sram_kib) +
         " overlap=" + std::to_string(p.fold_overlap);
}

// GEMM view of an op under a dataflow: (rows_dim, cols_dim, T, sub-GEMMs).
struct View {
  int64_t rows_dim, cols_dim, t, subs;
};
View view(const codesim::ir::v1::Op& op, const std::string& df) {
  int64_t m, n, k, subs;
  if (op.has_gemm()) {
    m = op.gemm().m(), n = op.gemm().n(), k = op.gemm().k(), subs = op.gemm().batch();
  } else {
    const auto& c = op.conv2d();
    const int64_t g = c.groups() < 1 ? 1 : c.groups();
    const int64_t dh = c.dilation_h() < 1 ? 1 : c.dilation_h();
    const int64_t dw = c.dilation_w() < 1 ? 1 : c.dilation_w();
    const int64_t oh = codesim::ir::conv_out_dim(c.h(), c.kernel_h(), c.stride_h(), c.pad_top(),
                                                 c.pad_bottom(), dh);
    const int64_t ow = codesim::ir::conv_out_dim(c.w(), c.kernel_w(), c.stride_w(), c.pad_left(),
                                                 c.pad_right(), dw);
    m = (c.batch() < 1 ? 1 : c.batch()) * oh * ow;
    n = c.filters() / g;
    k = c.kernel_h() * c.kernel_w() * c.c() / g;
    subs = g;
  }
  subs = subs < 1 ? 1 : subs;
  if (df == "os") return {m, n, k, subs};
  if (df == "ws") return {k, n, m, subs};
  return {k, m, n, subs};
}

}  // namespace

TEST_CASE("systolic cycle and fast fidelity agree on cycles stalls counters and outputs", "[sim]") {
  const WorkloadBuilder b = small_ops(8);
  const auto& w = b.workload();
  struct Memory {
    double bw;
    int64_t latency, sram_kib;
  };
  // Unlimited; a slow port with tiny SRAMs (streamed tiles, single-buffered fetches, spilled
  // partial sums); a moderate port with latency.
  const std::vector<Memory> memories = {{0, 0, 64}, {3.5, 7, 1}, {16, 20, 64}};
  const std::vector<std::pair<int, int>> arrays = {{4, 4}, {8, 4}, {3, 8}, {8, 8}};
  Models models;
  std::vector<SystolicParams> configs;
  std::vector<Job> jobs;
  std::vector<SystolicModel*> owners;
  for (const std::string df : {"os", "ws", "is"})
    for (const auto& a : arrays)
      for (const Memory& m : memories)
        for (bool overlap : {false, true}) {
          SystolicParams p = params(a.first, a.second, df);
          p.dram_bandwidth = m.bw;
          p.dram_latency = m.latency;
          p.ifmap_sram_kib = p.filter_sram_kib = p.ofmap_sram_kib = m.sram_kib;
          p.fold_overlap = overlap;
          SystolicModel& model = models.make(p);
          for (int op = 0; op < w.ops_size(); ++op)
            for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle}) {
              Job j;
              j.model = &model;
              j.workload = &w;
              j.op = op;
              j.fidelity = f;
              j.functional = true;
              jobs.push_back(j);
              configs.push_back(p);
            }
        }
  Models::run(jobs);
  int stalled = 0, spilled = 0;
  for (size_t i = 0; i < jobs.size(); i += 2) {
    const Job& fast = jobs[i];
    const Job& cycle = jobs[i + 1];
    INFO(describe(configs[i]) << " op " << w.ops(fast.op).name());
    CHECK(cycle.cycles == fast.cycles);
    CHECK(cycle.outcome.stall_cycles == fast.outcome.stall_cycles);
    CHECK(cycle.counters == fast.counters);
    CHECK(cycle.outcome.phases.size() == fast.outcome.phases.size());
    CHECK(fast.outcome.functional_mismatches == 0);
    CHECK(cycle.outcome.functional_mismatches == 0);
    CHECK(cycle.int_out == fast.int_out);
    stalled += fast.outcome.stall_cycles > 0;
    spilled += fast.outcome.note.find("spill") != std::string::npos;
  }
  // The memory configurations above exercise stalls and partial-sum spills.
  CHECK(stalled > 0);
  CHECK(spilled > 0);
}

TEST_CASE("systolic fold timing follows its closed forms with unlimited bandwidth", "[sim]") {
  const WorkloadBuilder b = small_ops();
  const auto& w = b.workload();
  Models models;
  std::vector<Job> jobs;
  std::vector<SystolicParams> configs;
  for (const std::string df : {"os", "ws", "is"})
    for (bool overlap : {false, true})
      for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle}) {
        SystolicParams p = params(4, 6, df);
        p.fold_overlap = overlap;
        SystolicModel& model = models.make(p);
        for (int op = 0; op < w.ops_size(); ++op) {
          Job j;
          j.model = &model;
          j.workload = &w;
          j.op = op;
          j.fidelity = f;
          jobs.push_back(j);
          configs.push_back(p);
        }
      }
  Models::run(jobs);
  for (size_t i = 0; i < jobs.size(); ++i) {
    const SystolicParams& p = configs[i];
    const View v = view(w.ops(jobs[i].op), p.dataflow);
    const int64_t r = p.rows, c = p.cols;
    const int64_t folds = v.subs * ceil_div(v.rows_dim, r) * ceil_div(v.cols_dim, c);
    const int64_t fold = (p.dataflow == "os" ? 0 : r) + r + c + v.t - 2;
    const int64_t expected =
        p.fold_overlap ? (folds - 1) * std::max<int64_t>(v.t, r) + fold - 1 : folds * fold - 1;
    INFO(describe(p) << " op " << w.ops(jobs[i].op).name());
    CHECK(jobs[i].cycles == static_cast<uint64_t>(expected));
    CHECK(jobs[i].outcome.stall_cycles == 0);
    CHECK(jobs[i].counters.at("folds") == static_cast<uint64_t>(folds));
  }
}

TEST_CASE("systolic integer outputs are bit-exact against the direct reference", "[sim]") {
  // Tensor data for int8 and int16; pseudo-random operands (no data) for int16; a 16-bit
  // accumulator that wraps; a 48-bit one (the 64-bit accumulation path).
  const WorkloadBuilder with8 = small_ops(8), with16 = small_ops(16), without = small_ops(0);
  struct Case {
    const WorkloadBuilder* b;
    std::string operand;
    int64_t acc_bits;
  };
  const std::vector<Case> cases = {{&with8, "int8", 32},
                                   {&with16, "int16", 32},
                                   {&without, "int16", 32},
                                   {&with16, "int16", 16},
                                   {&with16, "int16", 48}};
  Models models;
  std::vector<Job> jobs;
  for (const Case& cs : cases)
    for (const std::string df : {"os", "ws", "is"}) {
      SystolicParams p = params(4, 5, df);
      p.operand = cs.operand;
      p.accumulator_bits = cs.acc_bits;
      SystolicModel& model = models.make(p);
      for (int op = 0; op < cs.b->workload().ops_size(); ++op)
        for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle}) {
          Job j;
          j.model = &model;
          j.workload = &cs.b->workload();
          j.op = op;
          j.fidelity = f;
          j.functional = true;
          jobs.push_back(j);
        }
    }
  Models::run(jobs);
  for (const Job& j : jobs) {
    const auto& p = static_cast<SystolicModel*>(j.model)->params();
    INFO(describe(p) << " acc " << p.accumulator_bits << " op " << j.workload->ops(j.op).name());
    CHECK(j.outcome.functional_mismatches == 0);
    CHECK(!j.int_out.empty());
  }
  // The 16-bit accumulator must really wrap for that case to mean something: same data, same
  // op, outputs unlike the 32-bit ones somewhere, and all within 16 bits.
  const size_t per_case = jobs.size() / cases.size();
  int64_t differing = 0;
  for (size_t i = 0; i < per_case; ++i) {
    const Job& wide = jobs[1 * per_case + i];
    const Job& narrow = jobs[3 * per_case + i];
    REQUIRE(wide.int_out.size() == narrow.int_out.size());
    for (size_t e = 0; e < wide.int_out.size(); ++e) {
      differing += wide.int_out[e] != narrow.int_out[e];
      CHECK((narrow.int_out[e] >= -32768 && narrow.int_out[e] <= 32767));
    }
  }
  CHECK(differing > 0);
}

TEST_CASE("systolic floating-point outputs stay within the fp32 summation bound", "[sim]") {
  const WorkloadBuilder b = small_ops(0);
  Models models;
  std::vector<Job> jobs;
  for (const std::string operand : {"fp16", "fp32"})
    for (const std::string df : {"os", "ws", "is"}) {
      SystolicParams p = params(4, 4, df);
      p.operand = operand;
      SystolicModel& model = models.make(p);
      for (int op = 0; op < b.workload().ops_size(); ++op)
        for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle}) {
          Job j;
          j.model = &model;
          j.workload = &b.workload();
          j.op = op;
          j.fidelity = f;
          j.functional = true;
          jobs.push_back(j);
        }
    }
  Models::run(jobs);
  for (size_t i = 0; i < jobs.size(); i += 2) {
    INFO(describe(static_cast<SystolicModel*>(jobs[i].model)->params())
         << " op " << b.workload().ops(jobs[i].op).name());
    CHECK(jobs[i].outcome.functional_mismatches == 0);
    CHECK(jobs[i + 1].outcome.functional_mismatches == 0);
    // Both fidelities sum in the array's order: identical binary32 results.
    CHECK(jobs[i].fp_out == jobs[i + 1].fp_out);
  }
}

TEST_CASE("systolic functional check fails against a corrupted reference", "[sim]") {
  WorkloadBuilder b("corrupt", 8);
  b.gemm("g", 9, 7, 11);
  ConvSpec c;
  c.h = 6, c.w = 5, c.c = 4, c.filters = 4, c.kernel = 3, c.stride = 2, c.groups = 2;
  c.pad_top = c.pad_left = 1;
  b.conv("c", c);
  Models models;
  SystolicModel& model = models.make(params(4, 4, "ws"));
  std::vector<Job> jobs(2);
  for (int op = 0; op < 2; ++op) {
    jobs[op].model = &model;
    jobs[op].workload = &b.workload();
    jobs[op].op = op;
    jobs[op].fidelity = Fidelity::kCycle;
    jobs[op].functional = true;
  }
  Models::run(jobs);
  const auto& w = b.workload();
  const auto data = [&](const std::string& name) {
    const auto* t = codesim::ir::find_tensor(w, name);
    return std::vector<int32_t>(t->int_data().begin(), t->int_data().end());
  };
  codesim::arch::GemmShape gs;
  gs.m = 9, gs.n = 7, gs.k = 11;
  std::vector<int64_t> gref = codesim::arch::reference_gemm(data("g.a"), data("g.b"), gs, 32);
  codesim::arch::Conv2dShape cs;
  cs.c = 4, cs.h = 6, cs.w = 5, cs.filters = 4, cs.kernel_h = cs.kernel_w = 3;
  cs.stride_h = cs.stride_w = 2, cs.groups = 2, cs.pad_top = cs.pad_left = 1;
  std::vector<int64_t> cref = codesim::arch::reference_conv2d(data("c.x"), data("c.w"), cs, 32);
  // The model agrees with the untouched reference...
  CHECK(jobs[0].outcome.functional_mismatches == 0);
  CHECK(jobs[1].outcome.functional_mismatches == 0);
  CHECK(codesim::arch::count_mismatches(jobs[0].int_out, gref) == 0);
  CHECK(codesim::arch::count_mismatches(jobs[1].int_out, cref) == 0);
  // ...and the same comparison reports every element that was tampered with.
  gref[3] += 1;
  cref.front() ^= 4;
  cref.back() -= 7;
  CHECK(codesim::arch::count_mismatches(jobs[0].int_out, gref) == 1);
  CHECK(codesim::arch::count_mismatches(jobs[1].int_out, cref) == 2);
  // A floating-point result off by more than the bound is a mismatch too.
  codesim::arch::FpReference fr;
  fr.value = {1.0, 2.0};
  fr.abs_sum = {1.0, 2.0};
  CHECK(codesim::arch::count_mismatches(std::vector<float>{1.0f, 2.0f}, fr, 4) == 0);
  CHECK(codesim::arch::count_mismatches(std::vector<float>{1.0f, 2.001f}, fr, 4) == 1);
}

TEST_CASE("systolic conserves work and traffic when everything fits", "[sim]") {
  const WorkloadBuilder b = small_ops();
  const auto& w = b.workload();
  Models models;
  std::vector<Job> jobs;
  for (const std::string df : {"os", "ws", "is"})
    for (const std::string operand : {"int8", "fp32"}) {
      SystolicParams p = params(4, 4, df);
      p.operand = operand;
      p.ifmap_sram_kib = p.filter_sram_kib = p.ofmap_sram_kib = 1024;
      SystolicModel& model = models.make(p);
      for (int op = 0; op < w.ops_size(); ++op)
        for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle}) {
          Job j;
          j.model = &model;
          j.workload = &w;
          j.op = op;
          j.fidelity = f;
          jobs.push_back(j);
        }
    }
  Models::run(jobs);
  for (const Job& j : jobs) {
    const auto& op = w.ops(j.op);
    const int64_t eb = static_cast<SystolicModel*>(j.model)->params().operand == "fp32" ? 4 : 1;
    const int64_t outputs =
        codesim::ir::tensor_elements(*codesim::ir::find_tensor(w, op.outputs(0)));
    const int64_t filter = codesim::ir::tensor_elements(*codesim::ir::find_tensor(w, op.inputs(1)));
    int64_t input = codesim::ir::tensor_elements(*codesim::ir::find_tensor(w, op.inputs(0)));
    if (op.has_conv2d()) {
      // DRAM moves whole input rows; a row no output pixel reads (stride > 1 past the last
      // window) is never fetched. Every other row is fetched exactly once.
      const auto& c = op.conv2d();
      const int64_t dil = c.dilation_h() < 1 ? 1 : c.dilation_h();
      const int64_t oh = codesim::ir::conv_out_dim(c.h(), c.kernel_h(), c.stride_h(), c.pad_top(),
                                                   c.pad_bottom(), dil);
      std::vector<bool> read(c.h(), false);
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t i = 0; i < c.kernel_h(); ++i) {
          const int64_t ih = y * c.stride_h() - c.pad_top() + i * dil;
          if (ih >= 0 && ih < c.h()) read[ih] = true;
        }
      int64_t rows = 0;
      for (bool r : read) rows += r;
      input = input / c.h() * rows;
    }
    INFO(describe(static_cast<SystolicModel*>(j.model)->params()) << " op " << op.name());
    CHECK(j.counters.at("mac_ops") == static_cast<uint64_t>(codesim::ir::op_macs(w, op)));
    CHECK(j.counters.at("dram_read_bytes") == static_cast<uint64_t>((input + filter) * eb));
    CHECK(j.counters.at("dram_write_bytes") == static_cast<uint64_t>(outputs * eb));
    CHECK(j.counters.at("sram_ifmap_fills") == static_cast<uint64_t>(input));
    CHECK(j.counters.at("sram_filter_fills") == static_cast<uint64_t>(filter));
    CHECK(j.counters.at("sram_ofmap_drains") == static_cast<uint64_t>(outputs));
  }
  // The strided convolution really leaves input rows unread.
  const auto& strided = *codesim::ir::find_tensor(w, "conv_stride2_asym_pad.x");
  for (const Job& j : jobs)
    if (w.ops(j.op).name() == "conv_stride2_asym_pad")
      CHECK(j.counters.at("sram_ifmap_fills") <
            static_cast<uint64_t>(codesim::ir::tensor_elements(strided)));
}

TEST_CASE("systolic stalls when the DRAM port cannot keep up and only then", "[sim]") {
  WorkloadBuilder b("bw");
  b.gemm("g", 64, 64, 64);
  ConvSpec c;
  c.h = c.w = 12, c.c = 16, c.filters = 16, c.kernel = 3, c.pad_top = c.pad_bottom = 1;
  c.pad_left = c.pad_right = 1;
  b.conv("c", c);
  const auto& w = b.workload();
  struct Case {
    double bw;
    int64_t latency;
  };
  const std::vector<Case> cases = {{0, 0}, {2, 0}, {0.5, 30}, {8, 100}};
  Models models;
  std::vector<Job> jobs;
  std::vector<Case> job_case;
  for (const std::string df : {"os", "ws", "is"})
    for (const Case& cs : cases)
      for (bool overlap : {false, true}) {
        SystolicParams p = params(8, 8, df);
        p.dram_bandwidth = cs.bw;
        p.dram_latency = cs.latency;
        p.ifmap_sram_kib = p.filter_sram_kib = p.ofmap_sram_kib = 2;
        p.fold_overlap = overlap;
        SystolicModel& model = models.make(p);
        for (int op = 0; op < w.ops_size(); ++op)
          for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle}) {
            Job j;
            j.model = &model;
            j.workload = &w;
            j.op = op;
            j.fidelity = f;
            jobs.push_back(j);
            job_case.push_back(cs);
          }
      }
  Models::run(jobs);
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& j = jobs[i];
    const Case& cs = job_case[i];
    const auto& p = static_cast<SystolicModel*>(j.model)->params();
    INFO(describe(p) << " op " << w.ops(j.op).name());
    const uint64_t bytes = j.counters.at("dram_read_bytes") + j.counters.at("dram_write_bytes");
    REQUIRE(bytes > 0);
    if (cs.bw == 0 && cs.latency == 0) {
      CHECK(j.outcome.stall_cycles == 0);
    } else {
      CHECK(j.outcome.stall_cycles > 0);
      CHECK(j.outcome.stall_cycles < j.cycles);
    }
    if (cs.bw > 0) CHECK(static_cast<double>(j.cycles) >= static_cast<double>(bytes) / cs.bw);
    if (i % 2 == 1) CHECK(j.cycles == jobs[i - 1].cycles);
    // The trace gets a few merged phases, never one per fold.
    CHECK(!j.outcome.phases.empty());
    CHECK(j.outcome.phases.size() <= 130);
  }
}

TEST_CASE("systolic parameters are checked with their declared ranges", "[unit]") {
  codesim::sim::Diagnostics d;
  const YAML::Node n =
      YAML::Load("{model: systolic, rows: 0, dataflow: wss, operand: int4, dram_bandwidth: -1}");
  SystolicParams::schema().parse(n, "arch.yaml", "accelerator", d, {"model"});
  REQUIRE(d.size() == 4);
  CHECK(d.str().find("accelerator.rows") != std::string::npos);
  CHECK(d.str().find("did you mean 'ws'") != std::string::npos);
  codesim::sim::Diagnostics ok;
  const SystolicParams p = SystolicParams::schema().parse(YAML::Load("{model: systolic}"), "a.yaml",
                                                          "accelerator", ok, {"model"});
  CHECK(ok.empty());
  CHECK(p.rows == 32);
  CHECK(p.dataflow == "os");
  CHECK(p.ofmap_sram_kib == 64);
  CHECK(!p.fold_overlap);
}
