// The nm_sparse model against the rules of its hardware: SCALE-Sim v3's weight-stationary N:M
// GEMMs, a dense systolic array of the same multiplier count, the sparse–dense closed form
// (M/N when compute-bound, the compressed bytes when bandwidth-bound), compressed weight traffic,
// int8 outputs bit-exact against the reference executor, cycle = fast, and the on-chip attention
// chain.

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "arch/models/nm_sparse/nm_format.h"
#include "arch/models/nm_sparse/tests/nm_sparse_test_util.h"
#include "compress/pipeline.h"
#include "compress/reference/executor.h"
#include "sim/core/diagnostics.h"
#include "sim/core/registry.h"
#include "sim/core/runner.h"
#include "workloads/ir/ir.h"
#include "workloads/zoo/zoo.h"

namespace {

using codesim::arch::NmSparseModel;
using codesim::arch::NmSparseParams;
using codesim::sim::Fidelity;
using codesim::test::nm_sparse::add_gemm;
using codesim::test::nm_sparse::add_tensor;
using codesim::test::nm_sparse::ceil_div;
using codesim::test::nm_sparse::Job;
using codesim::test::nm_sparse::job;
using codesim::test::nm_sparse::Models;
using codesim::test::nm_sparse::scalesim_params;
namespace nms = codesim::arch::nm_sparse;
namespace ir = codesim::ir::v1;

// Without stalls: folds back to back (F each, the op's last cycle shared with the next), or
// overlapped every max(T, R) cycles.
uint64_t closed_form(int64_t folds, int64_t rows, int64_t cols, int64_t t, bool overlap) {
  const int64_t f = 2 * rows + cols + t - 2;
  if (!overlap) return static_cast<uint64_t>(folds * f - 1);
  return static_cast<uint64_t>((folds - 1) * std::max(t, rows) + f - 1);
}

}  // namespace

TEST_CASE("nm_sparse: N:M patterns, containment and compressed layout", "[unit]") {
  nms::NmPattern p;
  std::string err;
  CHECK(nms::parse_pattern(" 2:4 ", p, err));
  CHECK(p == nms::NmPattern{2, 4});
  CHECK_FALSE(nms::parse_pattern("4:4", p, err));
  CHECK_FALSE(nms::parse_pattern("2-4", p, err));
  std::vector<nms::NmPattern> list;
  CHECK(nms::parse_pattern_list("2:4, 1:4;2:4,dense", list).empty());
  CHECK(list.size() == 2);
  CHECK_FALSE(nms::parse_pattern_list("2:4,9:3", list).empty());
  std::vector<nms::NmRule> rules;
  CHECK(nms::parse_rules("ffn\\..*=2:4; .*attn.*=dense; 1:8", rules).empty());
  REQUIRE(rules.size() == 3);
  CHECK(rules[2].regex_text == ".*");
  CHECK(rules[1].pattern.dense());
  CHECK_FALSE(nms::parse_rules("([=2:4", rules).empty());

  // A 1:8 weight has at most one non-zero in any aligned 4 (1:4 ⊂ 2:4), at most 2 in 16.
  CHECK(nms::contained({1, 8}, {1, 4}));
  CHECK(nms::contained({1, 8}, {2, 16}));
  CHECK(nms::contained({2, 8}, {2, 4}));
  CHECK_FALSE(nms::contained({4, 8}, {2, 4}));
  CHECK_FALSE(nms::contained({2, 4}, {1, 8}));
  CHECK_FALSE(nms::contained({1, 3}, {1, 4}));
  const std::vector<nms::NmPattern> sup = {{2, 4}, {4, 8}};
  CHECK(nms::best_supported({1, 4}, sup) == nms::NmPattern{2, 4});
  CHECK(nms::best_supported({2, 8}, sup) == nms::NmPattern{2, 4});
  CHECK(nms::best_supported({4, 8}, sup) == nms::NmPattern{4, 8});
  CHECK(nms::best_supported({3, 4}, sup).dense());
  CHECK(nms::best_supported({4, 16}, sup) == nms::NmPattern{4, 8});

  // k = 50 in groups of 4 keeping 2: 12 full groups (24 slots) + a group of 2 keeping 2.
  const nms::ColumnLayout l(50, {2, 4});
  CHECK(l.rows() == 26);
  CHECK(l.window_begin(4) == 8);
  CHECK(l.window_end(26) == 50);
  CHECK(l.metadata_bits(0, 26, nms::IndexFormat::kIndices) == 26 * 2);
  CHECK(l.metadata_bits(0, 26, nms::IndexFormat::kBitmap) == 50);
  CHECK(l.metadata_bits(0, 12, nms::IndexFormat::kBitmap) +
            l.metadata_bits(12, 26, nms::IndexFormat::kBitmap) ==
        50);
  const nms::ColumnLayout d(50, {});
  CHECK(d.rows() == 50);
  CHECK(d.metadata_bits(0, 50, nms::IndexFormat::kIndices) == 0);
}

TEST_CASE("nm_sparse: SCALE-Sim v3 weight-stationary 2:4 GEMMs halve on 32x32", "[sim]") {
  ir::Workload w;
  add_gemm(w, "dense64", 64, 64, 64);
  add_gemm(w, "sparse64", 64, 64, 64, 1, false, 2, 4);
  add_gemm(w, "dense256", 256, 256, 256);
  add_gemm(w, "sparse256", 256, 256, 256, 1, false, 2, 4);
  Models models;
  NmSparseModel& m = models.make(scalesim_params());
  std::vector<Job> jobs;
  for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle})
    for (int op = 0; op < 4; ++op) jobs.push_back(job(m, w, op, f));
  Models::run(jobs);
  for (size_t i = 0; i < jobs.size(); i += 4) {
    CHECK(jobs[i].cycles == 631);
    CHECK(jobs[i + 1].cycles == 315);
    CHECK(jobs[i + 2].cycles == 22399);
    CHECK(jobs[i + 3].cycles == 11199);
    CHECK(jobs[i + 1].outcome.note.find("sparse 2:4") != std::string::npos);
    CHECK(jobs[i + 1].counters.at("mac_ops") * 2 == jobs[i].counters.at("mac_ops"));
  }
}

TEST_CASE("nm_sparse: dense-dense cycles equal a dense systolic array of the same multipliers",
          "[sim]") {
  ir::Workload w;
  add_gemm(w, "g64", 64, 64, 64);
  add_gemm(w, "g100x48x70", 100, 48, 70);
  add_gemm(w, "g37x90x33", 37, 90, 33);
  add_gemm(w, "qk_heads3", 20, 16, 50, 3, true);
  add_gemm(w, "g128x200x96", 128, 200, 96);
  // P = 1: the same R × C array; P = 4 with R/4 rows: the same multipliers, and each PE's adder
  // tree collapses P rows into one systolic stage, saving 2R(P - 1) fill/drain cycles per fold
  // that is not overlapped. Every model is elaborated before the one simulation run.
  Models models;
  std::vector<Job> jobs;
  for (bool overlap : {false, true}) {
    codesim::arch::SystolicParams sp;
    sp.rows = 16;
    sp.cols = 8;
    sp.dataflow = "ws";
    sp.fold_overlap = overlap;
    sp.ifmap_sram_kib = sp.filter_sram_kib = sp.ofmap_sram_kib = 4096;
    auto& sys = models.make_systolic(sp);
    NmSparseParams p1;
    p1.rows = 16;
    p1.cols = 8;
    p1.mults_per_pe = 1;
    p1.fold_overlap = overlap;
    p1.ifmap_sram_kib = p1.weight_sram_kib = p1.ofmap_sram_kib = 4096;
    auto& nm1 = models.make(p1);
    NmSparseParams p4 = p1;
    p4.rows = 4;
    p4.mults_per_pe = 4;
    auto& nm4 = models.make(p4);
    for (int op = 0; op < w.ops_size(); ++op) {
      jobs.push_back(job(sys, w, op));
      jobs.push_back(job(nm1, w, op));
      jobs.push_back(job(nm4, w, op));
      jobs.push_back(job(nm4, w, op, Fidelity::kCycle));
    }
  }
  Models::run(jobs);
  for (bool overlap : {false, true}) {
    const size_t base = overlap ? 4 * static_cast<size_t>(w.ops_size()) : 0;
    for (int op = 0; op < w.ops_size(); ++op) {
      const auto& g = w.ops(op).gemm();
      INFO(w.ops(op).name() << " overlap=" << overlap);
      const size_t at = base + 4 * static_cast<size_t>(op);
      const Job& s = jobs[at];
      CHECK(jobs[at + 1].cycles == s.cycles);
      CHECK(jobs[at + 1].counters.at("mac_ops") == s.counters.at("mac_ops"));
      const int64_t folds = g.batch() * ceil_div(g.k(), 16) * ceil_div(g.n(), 8);
      const int64_t saved = 2 * 4 * 3;
      const bool overlapped = overlap && g.m() >= 16;
      CHECK(jobs[at + 2].cycles ==
            s.cycles - static_cast<uint64_t>(overlapped ? saved : folds * saved));
      CHECK(jobs[at + 2].counters.at("mac_ops") == s.counters.at("mac_ops"));
      CHECK(jobs[at + 3].cycles == jobs[at + 2].cycles);
      CHECK(jobs[at + 2].outcome.note.rfind("dense", 0) == 0);
    }
  }
}

TEST_CASE("nm_sparse: compute-bound sparse-dense GEMMs follow the closed form, speedup M/N",
          "[sim]") {
  const std::vector<std::pair<int, int>> patterns = {{0, 0}, {1, 4}, {2, 4}, {2, 8},
                                                     {4, 8}, {1, 8}, {4, 16}};
  ir::Workload w;
  for (const auto& nm : patterns)
    add_gemm(w, "g" + std::to_string(nm.first) + "_" + std::to_string(nm.second), 512, 64, 1024, 1,
             false, nm.first, nm.second);
  Models models;
  NmSparseParams p;
  p.rows = 8;
  p.cols = 16;
  p.mults_per_pe = 4;
  auto& m = models.make(p);
  std::vector<Job> jobs;
  for (int op = 0; op < w.ops_size(); ++op) jobs.push_back(job(m, w, op));
  jobs.push_back(job(m, w, 2, Fidelity::kCycle));
  Models::run(jobs);
  const double dense = static_cast<double>(jobs[0].cycles);
  for (size_t i = 0; i < patterns.size(); ++i) {
    const int n = patterns[i].first ? patterns[i].first : 1;
    const int mm = patterns[i].first ? patterns[i].second : 1;
    INFO(n << ":" << mm);
    const int64_t kc = 1024 * n / mm;
    const int64_t folds = ceil_div(kc, 32) * ceil_div(64, 16);
    CHECK(jobs[i].cycles == closed_form(folds, 8, 16, 512, true));
    CHECK(jobs[i].outcome.stall_cycles == 0);
    CHECK(jobs[i].outcome.note.find("compute-bound") != std::string::npos);
    CHECK(jobs[i].counters.at("mac_ops") == static_cast<uint64_t>(512 * 64 * kc));
    CHECK(jobs[i].counters.at("sparse_macs_skipped") ==
          static_cast<uint64_t>(512 * 64 * (1024 - kc)));
    CHECK(dense / static_cast<double>(jobs[i].cycles) ==
          Approx(static_cast<double>(mm) / n).epsilon(0.01));
  }
  CHECK(jobs.back().cycles == jobs[2].cycles);
}

TEST_CASE("nm_sparse: bandwidth-bound layers speed up by the compression ratio, not M/N", "[sim]") {
  // 8 rows of activations against a 1024 x 256 weight on 8 B/cycle: the weight stream dominates.
  ir::Workload w;
  add_gemm(w, "dense", 8, 256, 1024);
  add_gemm(w, "s24", 8, 256, 1024, 1, false, 2, 4);
  add_gemm(w, "s18_bitmap", 8, 256, 1024, 1, false, 1, 8, true);
  Models models;
  NmSparseParams p;
  p.rows = 8;
  p.cols = 16;
  p.mults_per_pe = 4;
  p.dram_bandwidth = 8;
  auto& m = models.make(p);
  std::vector<Job> jobs;
  for (int op = 0; op < 3; ++op) jobs.push_back(job(m, w, op));
  for (int op = 0; op < 3; ++op) jobs.push_back(job(m, w, op, Fidelity::kCycle));
  Models::run(jobs);
  // Weight bytes: dense K·N; 2:4 half the values + 2-bit indices; 1:8 an eighth + 8-bit bitmaps.
  const std::vector<double> weight = {1024.0 * 256, 1024.0 * 256 / 2 + 1024.0 * 256 / 2 * 2 / 8,
                                      1024.0 * 256 / 8 + 1024.0 * 256 / 8};
  const double other = 8 * 1024 + 8 * 256;  // activations in, outputs out
  for (int i = 0; i < 3; ++i) {
    INFO(w.ops(i).name());
    CHECK(jobs[i].outcome.note.find("memory-bound") != std::string::npos);
    CHECK(static_cast<double>(jobs[i].counters.at("dram_weight_bytes")) == weight[i]);
    const double bytes = static_cast<double>(jobs[i].counters.at("dram_read_bytes") +
                                             jobs[i].counters.at("dram_write_bytes"));
    CHECK(bytes == weight[i] + other);
    CHECK(static_cast<double>(jobs[i].cycles) >= bytes / 8);
    // The last fold's compute and the output write are all that is left after the last byte.
    CHECK(static_cast<double>(jobs[i].cycles) <= bytes / 8 + 2 * 8 + 16 + 8 + 256);
    CHECK(jobs[i + 3].cycles == jobs[i].cycles);
  }
  const double ratio24 = static_cast<double>(jobs[0].cycles) / jobs[1].cycles;
  CHECK(ratio24 == Approx((weight[0] + other) / (weight[1] + other)).epsilon(0.02));
  CHECK(ratio24 < 1.7);  // far from the compute-bound M/N = 2
}

TEST_CASE("nm_sparse: DRAM weight traffic equals the compressed weight size", "[sim]") {
  struct Case {
    int n, m;
    bool bitmap;
    int64_t k, nn;
    int64_t weight_kib;
  };
  const std::vector<Case> cases = {{2, 4, false, 256, 96, 512},  {2, 4, true, 256, 96, 512},
                                   {1, 8, false, 320, 64, 512},  {1, 8, true, 320, 64, 512},
                                   {4, 16, false, 512, 48, 512}, {2, 4, false, 256, 96, 1},
                                   {0, 0, false, 200, 40, 1}};
  ir::Workload w;
  for (size_t i = 0; i < cases.size(); ++i)
    add_gemm(w, "g" + std::to_string(i), 24, cases[i].nn, cases[i].k, 1, false, cases[i].n,
             cases[i].m, cases[i].bitmap);
  Models models;
  std::vector<NmSparseModel*> ms;
  for (const Case& c : cases) {
    NmSparseParams p;
    p.rows = 4;
    p.cols = 8;
    p.mults_per_pe = 2;
    p.weight_sram_kib = c.weight_kib;
    p.dram_bandwidth = 5.5;
    ms.push_back(&models.make(p));
  }
  std::vector<Job> jobs;
  for (size_t i = 0; i < cases.size(); ++i) jobs.push_back(job(*ms[i], w, static_cast<int>(i)));
  Models::run(jobs);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    INFO("case " << i);
    const int64_t kept = c.n ? c.k / c.m * c.n * c.nn : c.k * c.nn;
    const int64_t meta_bits = !c.n ? 0 : c.bitmap ? c.k * c.nn : kept * nms::index_bits(c.m);
    CHECK(jobs[i].counters.at("dram_weight_bytes") == static_cast<uint64_t>(kept + meta_bits / 8));
    CHECK(jobs[i].counters.at("sram_weight_fills") == jobs[i].counters.at("dram_weight_bytes"));
  }
}

TEST_CASE("nm_sparse: int8 outputs are bit-exact against the reference executor", "[sim]") {
  namespace cmp = codesim::compress;
  // x [16, 96] -> fc_a (96 -> 40, 2:4 indices) ; x -> fc_b (96 -> 24, 1:8 bitmap),
  // x -> fc_c (96 -> 16, dense), all int8 with symmetric per-tensor activations.
  ir::Workload w;
  w.set_name("mlp");
  const int64_t m = 16, k = 96;
  ir::Tensor* x = w.add_tensors();
  x->set_name("x");
  x->add_shape(m);
  x->add_shape(k);
  x->set_dtype(ir::FLOAT32);
  w.add_inputs("x");
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  cmp::Array xa;
  xa.shape = {m, k};
  for (int64_t i = 0; i < m * k; ++i) xa.data.push_back(nd(rng));
  const std::vector<std::pair<std::string, int64_t>> fcs = {
      {"fc_a", 40}, {"fc_b", 24}, {"fc_c", 16}};
  for (const auto& [name, n] : fcs) {
    ir::Op* op = w.add_ops();
    op->set_name(name);
    op->mutable_gemm()->set_batch(1);
    op->mutable_gemm()->set_m(m);
    op->mutable_gemm()->set_n(n);
    op->mutable_gemm()->set_k(k);
    op->add_inputs("x");
    op->add_inputs(name + ".W");
    op->add_inputs(name + ".bias");
    op->add_outputs(name + ".out");
    ir::Tensor* wt = w.add_tensors();
    wt->set_name(name + ".W");
    wt->add_shape(k);
    wt->add_shape(n);
    wt->set_dtype(ir::FLOAT32);
    wt->set_is_weight(true);
    for (int64_t i = 0; i < k * n; ++i) wt->add_float_data(0.1f * nd(rng));
    ir::Tensor* bt = w.add_tensors();
    bt->set_name(name + ".bias");
    bt->add_shape(n);
    bt->set_dtype(ir::FLOAT32);
    bt->set_is_weight(true);
    for (int64_t i = 0; i < n; ++i) bt->add_float_data(0.1f * nd(rng));
    ir::Tensor* ot = w.add_tensors();
    ot->set_name(name + ".out");
    ot->add_shape(m);
    ot->add_shape(n);
    ot->set_dtype(ir::FLOAT32);
  }
  const cmp::Pipeline pipe = cmp::parse_pipeline(YAML::Load(R"(
pipeline:
  - {transform: nm, select: {name: fc_a}, n: 2, m: 4}
  - {transform: nm, select: {name: fc_b}, n: 1, m: 8, index_format: bitmap}
  - {transform: quantize, bits: 8, activations: true, activation_scheme: symmetric}
)"),
                                                 "test");
  cmp::RunOptions ro;
  ro.calibration["x"] = xa;
  cmp::run_pipeline(pipe, w, ro);
  // The model reads the input the executor gets (float data quantized with the tensor's scale).
  ir::Tensor* xt = codesim::ir::find_tensor(w, "x");
  REQUIRE(xt->quantization().scale_size() == 1);
  xt->clear_float_data();
  for (float v : xa.data) xt->add_float_data(v);

  Models models;
  NmSparseParams p;
  p.rows = 4;
  p.cols = 8;
  p.mults_per_pe = 3;
  p.dram_bandwidth = 6;
  auto& model = models.make(p);
  std::vector<Job> jobs;
  for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle})
    for (int op = 0; op < 3; ++op) jobs.push_back(job(model, w, op, f, true));
  Models::run(jobs);

  const cmp::Executor ex(w, cmp::Arithmetic::kInteger);
  REQUIRE(ex.integer_ops().size() == 3);
  for (size_t j = 0; j < jobs.size(); ++j) {
    const ir::Op& op = w.ops(jobs[j].op);
    INFO(op.name() << " fidelity " << static_cast<int>(jobs[j].fidelity));
    const ir::Tensor* wt = codesim::ir::find_tensor(w, op.inputs(1));
    const ir::Tensor* bt = codesim::ir::find_tensor(w, op.inputs(2));
    const int64_t n = op.gemm().n();
    if (op.name() != "fc_c") {
      REQUIRE(wt->structure().has_nm());
      const int64_t kept = k / wt->structure().nm().m() * wt->structure().nm().n() * n;
      CHECK(jobs[j].counters.at("dram_weight_bytes") ==
            static_cast<uint64_t>(kept + wt->structure().nm().metadata_bits() / 8));
    }
    CHECK(jobs[j].outcome.functional_mismatches == 0);
    CHECK(jobs[j].outcome.note.find("break") == std::string::npos);
    const std::vector<cmp::Array> ref = ex.run_op(op, {&xa, nullptr, nullptr});
    REQUIRE(ref.size() == 1);
    REQUIRE(jobs[j].int_out.size() == static_cast<size_t>(m * n));
    int64_t differ = 0;
    for (int64_t i = 0; i < m * n; ++i) {
      const double scale = static_cast<double>(xt->quantization().scale(0)) *
                           static_cast<double>(wt->quantization().scale(
                               static_cast<int>(wt->quantization().scale_size() == 1 ? 0 : i % n)));
      const float y = static_cast<float>(static_cast<double>(jobs[j].int_out[i]) * scale) +
                      bt->float_data(static_cast<int>(i % n));
      differ += y != ref[0].data[static_cast<size_t>(i)];
    }
    CHECK(differ == 0);
  }
  CHECK(jobs[0].int_out == jobs[3].int_out);
}

TEST_CASE("nm_sparse: cycle and fast fidelity agree on cycles, counters and outputs", "[sim]") {
  ir::Workload w;
  add_gemm(w, "dense", 19, 21, 37);
  add_gemm(w, "s24_k50", 23, 9, 50, 1, false, 2, 4);
  add_gemm(w, "s18_bitmap", 40, 17, 64, 1, false, 1, 8, true);
  add_gemm(w, "s416", 6, 30, 100, 1, false, 4, 16);
  add_gemm(w, "batched_act_b", 12, 10, 14, 3, true);
  add_gemm(w, "shared_w_batch2", 9, 12, 40, 2, false, 2, 4);
  std::vector<NmSparseParams> ps;
  for (const char* operand : {"int8", "int16", "fp16"})
    for (int mults : {1, 3})
      for (bool overlap : {false, true})
        for (int mem = 0; mem < 3; ++mem) {
          NmSparseParams p;
          p.operand = operand;
          p.rows = 4;
          p.cols = 5;
          p.mults_per_pe = mults;
          p.fold_overlap = overlap;
          if (mem == 1) {
            p.dram_bandwidth = 3.5;
            p.dram_latency = 7;
            p.ifmap_sram_kib = p.weight_sram_kib = p.ofmap_sram_kib = 1;
          } else if (mem == 2) {
            p.dram_bandwidth = 16;
            p.dram_latency = 20;
          }
          ps.push_back(p);
        }
  Models models;
  std::vector<NmSparseModel*> fast, cyc;
  for (const auto& p : ps) {
    fast.push_back(&models.make(p));
    cyc.push_back(&models.make(p));
  }
  std::vector<Job> jobs;
  for (size_t c = 0; c < ps.size(); ++c)
    for (int op = 0; op < w.ops_size(); ++op) {
      jobs.push_back(job(*fast[c], w, op, Fidelity::kFast, true));
      jobs.push_back(job(*cyc[c], w, op, Fidelity::kCycle, true));
    }
  Models::run(jobs);
  bool some_stall = false;
  for (size_t i = 0; i < jobs.size(); i += 2) {
    INFO("config " << i / 2 / w.ops_size() << " op " << w.ops(jobs[i].op).name());
    CHECK(jobs[i].cycles == jobs[i + 1].cycles);
    CHECK(jobs[i].outcome.stall_cycles == jobs[i + 1].outcome.stall_cycles);
    CHECK(jobs[i].counters == jobs[i + 1].counters);
    CHECK(jobs[i].int_out == jobs[i + 1].int_out);
    CHECK(jobs[i].fp_out == jobs[i + 1].fp_out);
    CHECK(jobs[i].int_out.size() + jobs[i].fp_out.size() > 0);
    CHECK(jobs[i].outcome.functional_mismatches == 0);
    CHECK(jobs[i + 1].outcome.functional_mismatches == 0);
    some_stall |= jobs[i].outcome.stall_cycles > 0;
  }
  CHECK(some_stall);
}

TEST_CASE("nm_sparse: functional mode detects weights that break their N:M annotation", "[sim]") {
  ir::Workload w;
  ir::Op* op = add_gemm(w, "g", 4, 4, 8, 1, false, 1, 4);
  ir::Tensor* b = codesim::ir::find_tensor(w, op->inputs(1));
  for (int i = 0; i < 32; ++i) b->add_int_data(i % 3 == 0 ? 0 : 1 + i % 5);  // dense-ish
  Models models;
  auto& m = models.make(NmSparseParams{});
  std::vector<Job> jobs = {job(m, w, 0, Fidelity::kFast, true)};
  Models::run(jobs);
  CHECK(jobs[0].outcome.functional_mismatches > 0);
  CHECK(jobs[0].outcome.note.find("break 1:4") != std::string::npos);
}

TEST_CASE("nm_sparse: which pattern a weight runs in", "[unit]") {
  ir::Workload w;
  add_gemm(w, "ffn.up", 8, 8, 16, 1, false, 1, 8);  // annotated 1:8
  add_gemm(w, "ffn.down", 8, 8, 16);                // shape-only, no annotation
  add_gemm(w, "attn.q", 8, 8, 16);
  add_gemm(w, "attn.scores", 8, 8, 16, 2, true);
  add_gemm(w, "other", 8, 8, 16, 1, false, 4, 8);
  NmSparseParams p;
  p.supported_nm = "2:4";
  p.nm_rules = "ffn\\..*=1:4; attn\\.q=4:8";
  Models models;
  auto& m = models.make(p);
  const auto c0 = m.choose(w, w.ops(0));
  CHECK(c0.source == "annotation");
  CHECK(c0.declared == nms::NmPattern{1, 8});
  CHECK(c0.run == nms::NmPattern{2, 4});  // 1:8 ⊂ 2:4
  const auto c1 = m.choose(w, w.ops(1));
  CHECK(c1.source.find("rule") == 0);
  CHECK(c1.run == nms::NmPattern{2, 4});
  CHECK(m.choose(w, w.ops(2)).run.dense());  // 4:8 is not inside 2:4
  const auto c3 = m.choose(w, w.ops(3));
  CHECK_FALSE(c3.weight);
  CHECK(c3.run.dense());
  CHECK(m.choose(w, w.ops(4)).run.dense());

  NmSparseParams bad;
  bad.supported_nm = "2:4,5:4";
  CHECK_THROWS_AS(NmSparseModel(sc_core::sc_module_name("bad1"), bad), codesim::sim::ConfigError);
  bad = NmSparseParams{};
  bad.nm_rules = "x=2:4; ([=1:4";
  CHECK_THROWS_AS(NmSparseModel(sc_core::sc_module_name("bad2"), bad), codesim::sim::ConfigError);
}

TEST_CASE("nm_sparse: the attention matrix stays on chip and S·V starts on the first rows",
          "[sim]") {
  // 4 heads: scores [4, 64, 64] = Q [4, 64, 32] · Kᵀ [4, 32, 64]; context = P [4, 64, 64] · V.
  const int64_t heads = 4, seq = 64, hd = 32;
  ir::Workload w;
  add_tensor(w, "q", {heads, seq, hd}, false);
  add_tensor(w, "kt", {heads, hd, seq}, false);
  add_tensor(w, "v", {heads, seq, hd}, false);
  add_tensor(w, "scores", {heads, seq, seq}, false);
  add_tensor(w, "probs", {heads, seq, seq}, false);
  add_tensor(w, "ctx", {heads, seq, hd}, false);
  const auto gemm = [&](const std::string& name, const std::string& a, const std::string& b,
                        const std::string& out, int64_t n, int64_t k) {
    ir::Op* op = w.add_ops();
    op->set_name(name);
    op->add_inputs(a);
    op->add_inputs(b);
    op->add_outputs(out);
    auto* g = op->mutable_gemm();
    g->set_batch(heads);
    g->set_m(seq);
    g->set_n(n);
    g->set_k(k);
  };
  gemm("qk", "q", "kt", "scores", seq, hd);
  ir::Op* sm = w.add_ops();
  sm->set_name("softmax");
  sm->add_inputs("scores");
  sm->add_outputs("probs");
  sm->mutable_softmax()->set_rows(heads * seq);
  sm->mutable_softmax()->set_length(seq);
  gemm("sv", "probs", "v", "ctx", hd, seq);

  NmSparseParams fast_sm;
  fast_sm.rows = 8;
  fast_sm.cols = 16;
  fast_sm.mults_per_pe = 4;
  fast_sm.softmax_lanes = 64;
  fast_sm.softmax_latency = 10;
  NmSparseParams slow_sm = fast_sm;
  slow_sm.softmax_lanes = 1;
  NmSparseParams spill = fast_sm;
  spill.attn_sram_kib = 8;  // 16 KiB of scores do not fit
  Models models;
  auto& a = models.make(fast_sm);
  auto& b = models.make(slow_sm);
  auto& c = models.make(spill);
  std::vector<Job> jobs;
  for (auto* m : {&a, &b, &c})
    for (int op = 0; op < 3; ++op) jobs.push_back(job(*m, w, op));
  Models::run(jobs);

  const uint64_t s_bytes = heads * seq * seq;
  // Fused, fast softmax: Q·Kᵀ writes nothing to DRAM, the softmax takes no array time, S·V
  // reads only V, and neither gemm stalls: both take their closed forms.
  const Job& qk = jobs[0];
  const Job& smx = jobs[1];
  const Job& sv = jobs[2];
  CHECK(qk.counters.at("dram_write_bytes") == 0);
  CHECK(smx.cycles == 0);
  CHECK(smx.counters.at("dram_read_bytes") == 0);
  CHECK(sv.counters.at("dram_read_bytes") == static_cast<uint64_t>(heads * seq * hd));
  CHECK(qk.cycles == closed_form(heads * 1 * ceil_div(seq, 16), 8, 16, seq, true));
  CHECK(sv.cycles == closed_form(heads * ceil_div(seq, 32) * ceil_div(hd, 16), 8, 16, seq, true));
  CHECK(sv.outcome.stall_cycles == 0);
  CHECK(sv.counters.at("sram_attn_reads") > 0);
  // One-lane softmax: 64 cycles per pass per row, heads·seq rows; S·V waits for the rows.
  const Job& sv_slow = jobs[5];
  CHECK(sv_slow.outcome.stall_cycles > 0);
  CHECK(sv_slow.start + sv_slow.cycles - jobs[3].start >= static_cast<uint64_t>(heads * seq * seq));
  // Spilled: the scores and probabilities make a DRAM round trip and take longer.
  CHECK(jobs[6].counters.at("dram_write_bytes") == s_bytes);
  CHECK(jobs[7].counters.at("dram_read_bytes") == s_bytes);
  CHECK(jobs[7].counters.at("dram_write_bytes") == s_bytes);
  CHECK(jobs[7].cycles > 0);
  CHECK(jobs[8].counters.at("dram_read_bytes") == s_bytes + heads * seq * hd);
  const uint64_t fused = jobs[2].start + jobs[2].cycles - jobs[0].start;
  const uint64_t spilled = jobs[8].start + jobs[8].cycles - jobs[6].start;
  CHECK(fused < spilled);
}

TEST_CASE("nm_sparse: the STA config runs BERT-base with attention fused on chip", "[sim]") {
  codesim::workloads::BertParams bp;
  bp.variant = "base";
  bp.seq_len = 128;
  bp.batch = 1;
  const ir::Workload w = codesim::workloads::build_bert(bp);
  const std::string dir = std::string(CODESIM_SOURCE_DIR) + "/arch/models/nm_sparse/configs/";
  const auto dense_cfg = codesim::sim::load_arch(dir + "sta_16x32x4_int8.yaml");
  const auto sparse_cfg =
      codesim::sim::load_arch(dir + "sta_16x32x4_int8.yaml", {"accelerator.nm_rules=2:4"});
  codesim::sim::RunOptions opt;
  // One elaboration per process, so one run; the 2:4 config is only checked to parse.
  const codesim::sim::RunResult r = codesim::sim::run_workload(dense_cfg, w, opt);
  int fused = 0, linear = 0;
  for (const auto& op : r.ops) {
    CHECK(op.supported);
    if (op.kind == "softmax" && op.note.find("pipelined") != std::string::npos) ++fused;
    if (op.kind == "gemm" && op.note.rfind("dense;", 0) == 0) {
      ++linear;
      CHECK(op.note.find("compute-bound") != std::string::npos);
    }
  }
  CHECK(fused == 12);
  CHECK(linear == 12 * 6);
  CHECK(r.total_area_um2 > 0);
  CHECK(r.total_energy_pj > 0);
  CHECK(sparse_cfg.accelerator["nm_rules"].as<std::string>() == "2:4");
}

TEST_CASE("nm_sparse: bad patterns and rules are reported with the schema's errors, located",
          "[unit]") {
  const YAML::Node n = YAML::Load(R"(model: nm_sparse
mults_per_pe: 0
supported_nm: "2:4, 4:3"
nm_rules: "ffn=2:4; ([=1:4"
operand: int4
)");
  codesim::sim::Diagnostics d;
  const auto* e = codesim::sim::Registry::instance().accelerator("nm_sparse");
  REQUIRE(e);
  CHECK(e->create(n, "arch.yaml", d) == nullptr);
  REQUIRE(d.size() == 4);
  const std::string s = d.str();
  CHECK(s.find("arch.yaml:2:15: error: accelerator.mults_per_pe") != std::string::npos);
  CHECK(s.find("arch.yaml:3:15: error: accelerator.supported_nm: '4:3' needs 1 <= N < M") !=
        std::string::npos);
  CHECK(s.find("arch.yaml:4:11: error: accelerator.nm_rules: rule '([=1:4': invalid regex") !=
        std::string::npos);
  CHECK(s.find("accelerator.operand") != std::string::npos);
}
