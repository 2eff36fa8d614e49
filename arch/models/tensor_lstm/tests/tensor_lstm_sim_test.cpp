// The tensor_lstm model through its SystemC run loop: functional outputs against the reference
// executor on LSTMs compressed by the tt / ht transforms, cycle and fast fidelity against each
// other, bank conflicts of the FDHT and naive layouts, MACs and op time against closed forms,
// the contraction order, and DRAM traffic against what must cross the chip boundary.

#include <catch2/catch.hpp>
#include <cmath>

#include "arch/models/tensor_lstm/tests/tensor_lstm_test_util.h"
#include "compress/transforms/tt/tests/decomposition_test_util.h"
#include "workloads/ir/ir.h"

namespace {

using codesim::arch::TensorLstmParams;
using codesim::ir::v1::Structure;
using codesim::ir::v1::Workload;
using codesim::sim::Fidelity;
using namespace codesim::test::tensor_lstm;

// Index of the lstm_cell op.
int lstm_op(const Workload& w) {
  for (int i = 0; i < w.ops_size(); ++i)
    if (w.ops(i).has_lstm_cell()) return i;
  return -1;
}

TEST_CASE("tensor_lstm: functional outputs equal the reference executor on compressed LSTMs",
          "[sim]") {
  // steps 3, batch 2, input 24, hidden 8: 4H = 32 gate rows, I + H = 32 columns.
  struct Case {
    const char* name;
    const char* pipeline;
    int chains;  // contraction chains per step: 1 = [W_ih | W_hh] together
  };
  const std::vector<Case> cases = {
      {"dense", "", 2},
      {"TT-LSTM (W_ih only)",
       "pipeline: [{transform: tt, row_factors: '4,2,4', col_factors: '2,3,4', rank: 3}]", 2},
      {"TT [W_ih | W_hh]",
       "pipeline: [{transform: tt, cores: 3, rank: 2, lstm_weights: concatenated}]", 1},
      {"HT separate", "pipeline: [{transform: ht, cores: 3, rank: 2, lstm_weights: separate}]", 2},
      {"FDHT [W_ih | W_hh]", "pipeline: [{transform: ht, cores: 4, rank: 3}]", 1},
  };
  std::vector<Workload> ws;
  for (const auto& c : cases) {
    ws.push_back(codesim::compress::testing::lstm(3, 2, 24, 8));
    if (*c.pipeline) codesim::compress::testing::run(c.pipeline, ws.back(), 0);
    // One time step from zero state, for the bound of the activation tables below.
    ws.push_back(codesim::compress::testing::lstm(1, 2, 24, 8));
    if (*c.pipeline) codesim::compress::testing::run(c.pipeline, ws.back(), 0);
  }
  TensorLstmParams fine = params();
  fine.act_segments = 1 << 16;  // a table error of 2e-10: what remains is float32 rounding
  fine.functional_tolerance = 1e-5;
  TensorLstmParams fine_naive = fine;
  fine_naive.memory_scheme = "naive";
  const TensorLstmParams table = params();  // 256 segments over [-8, 8]
  // One model per job, so that each keeps its op's outputs.
  Models models;
  std::vector<Job> jobs;
  for (size_t i = 0; i < cases.size(); ++i)
    for (Fidelity f : {Fidelity::kFast, Fidelity::kCycle}) {
      for (const auto* p : {&fine, &fine_naive})
        jobs.push_back({&models.make(*p), &ws[2 * i], lstm_op(ws[2 * i]), f, true});
      jobs.push_back({&models.make(table), &ws[2 * i + 1], lstm_op(ws[2 * i + 1]), f, true});
    }
  Models::run(jobs);
  // One step from h = c = 0: c = i g, h = o tanh(c). With table errors e (tanh) and e / 2
  // (sigmoid): |dc| <= e/2 + e, |d tanh(c)| <= e + |dc|, |dh| <= e/2 + 2.5 e = 3 e.
  const double e = codesim::arch::PiecewiseLinearTanh(256, 8.0).tanh_error_bound();
  for (size_t j = 0; j < jobs.size(); ++j) {
    const Job& job = jobs[j];
    const auto& m = static_cast<const codesim::arch::TensorLstmModel&>(*job.model);
    const bool one_step = j % 3 == 2;
    INFO(cases[j / 6].name << ", job " << j);
    CHECK(job.outcome.functional_mismatches == 0);
    CHECK(m.last_outputs().size() == (one_step ? 1u : 3u) * 2 * 8);
    CHECK(m.last_max_error() <= (one_step ? 3 * e + 1e-5 : 1e-5));
  }
  // The chains per step the annotations select: W_ih and W_hh apart, or [W_ih | W_hh] as one.
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].name);
    CHECK(jobs[6 * i].counters.at("stages") > 0);
    const bool together = cases[i].chains == 1;
    CHECK((jobs[6 * i].outcome.note.find("[W_ih | W_hh]") == 0) == together);
  }
}

// The video LSTM (UCF11 / YouTube Celebrities shape) as TT-LSTM (W_ih rank-4 tensor train, W_hh
// dense) and as FDHT-LSTM ([W_ih | W_hh] hierarchical Tucker, ranks 4).
Workload tt_lstm(int64_t steps, int64_t batch = 1) {
  return lstm_workload(57600, 256, steps, batch,
                       tt_structure(kVideoRows, kVideoCols, {1, 4, 4, 4, 1}), Structure());
}
Workload fdht_lstm(int64_t steps, int64_t batch = 1) {
  const Structure s = ht_structure(kVideoRows, kVideoConcatCols, 4, 4);
  return lstm_workload(57600, 256, steps, batch, s, s);
}

TEST_CASE("tensor_lstm: cycle and fast fidelity agree and FDHT layouts have no bank conflict",
          "[sim]") {
  const Workload tt = tt_lstm(2), fdht = fdht_lstm(2, 2);
  Models models;
  TensorLstmParams p = params(), n = params("naive"), q2 = params();
  q2.macs_per_pe = 2;
  q2.pes = 8;
  std::vector<codesim::arch::TensorLstmModel*> ms = {&models.make(p), &models.make(n),
                                                     &models.make(q2)};
  std::vector<Job> jobs;
  for (auto* m : ms)
    for (const Workload* w : {&tt, &fdht})
      for (Fidelity f : {Fidelity::kCycle, Fidelity::kFast}) jobs.push_back({m, w, 0, f});
  Models::run(jobs);
  for (size_t j = 0; j < jobs.size(); j += 2) {
    INFO("job " << j);
    CHECK(jobs[j].cycles == jobs[j + 1].cycles);
    CHECK(jobs[j].counters == jobs[j + 1].counters);
    CHECK(jobs[j].outcome.stall_cycles == jobs[j + 1].outcome.stall_cycles);
    const bool naive = jobs[j].model == ms[1];
    if (naive) {
      CHECK(jobs[j].counters.at("bank_conflicts") > 0);
      // The same work, and every lost cycle is a conflict stall.
      const Job& fdht_job = jobs[j - 4];
      CHECK(jobs[j].counters.at("mac_ops") == fdht_job.counters.at("mac_ops"));
      CHECK(jobs[j].cycles == fdht_job.cycles + jobs[j].counters.at("conflict_stall_cycles"));
    } else {
      CHECK(jobs[j].counters.at("bank_conflicts") == 0);
      CHECK(jobs[j].counters.at("conflict_stall_cycles") == 0);
    }
  }
}

TEST_CASE("tensor_lstm: op MACs and cycles follow the stages' closed forms", "[sim]") {
  // Unlimited DRAM: an op is the weight-only stages once, then per step every X-dependent stage
  // (groups x ceil(K / q) + 3 cycles each, without conflicts) and the gate unit
  // (ceil(batch H / lanes) x ops per unit + 3, ops per unit = 4 (chains - 1 + bias) + 8).
  const int64_t steps = 3, batch = 2;
  const Workload tt = tt_lstm(steps, batch), fdht = fdht_lstm(steps, batch);
  Models models;
  TensorLstmParams p = params();
  p.gate_lanes = 12;
  auto& m = models.make(p);
  std::vector<Job> jobs = {{&m, &tt, 0}, {&m, &fdht, 0}};
  Models::run(jobs);
  for (size_t j = 0; j < 2; ++j) {
    // The schedules are those of the last op, so rebuild them for the first.
    const auto cfg = codesim::arch::tensor_lstm::EngineConfig{16, 1, 16};
    std::vector<codesim::arch::tensor_lstm::LayerSchedule> layers;
    const Workload& w = j == 0 ? tt : fdht;
    const auto& ih = w.tensors(1).structure();
    if (j == 0) {
      layers.push_back(codesim::arch::tensor_lstm::schedule_layer(
          codesim::arch::tensor_lstm::network_from_structure(ih, 1024, 57600, {batch}), true, cfg));
      layers.push_back(codesim::arch::tensor_lstm::schedule_layer(
          codesim::arch::tensor_lstm::network_from_structure(Structure(), 1024, 256, {batch}), true,
          cfg));
    } else {
      layers.push_back(codesim::arch::tensor_lstm::schedule_layer(
          codesim::arch::tensor_lstm::network_from_structure(ih, 1024, 57856, {batch}), true, cfg));
    }
    uint64_t once = 0, per_step = 0, macs_once = 0, macs_step = 0;
    for (const auto& l : layers)
      for (const auto& s : l.stages) {
        const auto g = codesim::arch::tensor_lstm::make_grouping(s.geom.M, s.geom.N, 16,
                                                                 s.geom.cols_per_group);
        const uint64_t c = static_cast<uint64_t>(g.count * s.geom.K) + 3;
        (s.weight_only ? once : per_step) += c;
        (s.weight_only ? macs_once : macs_step) += static_cast<uint64_t>(s.step.macs);
      }
    const int64_t chains = static_cast<int64_t>(layers.size());
    const uint64_t gate =
        static_cast<uint64_t>(((batch * 256 + 11) / 12) * (4 * (chains - 1 + 1) + 8) + 3);
    INFO("workload " << j);
    CHECK(jobs[j].cycles == once + steps * (per_step + gate));
    CHECK(jobs[j].counters.at("mac_ops") == macs_once + steps * macs_step);
    CHECK(jobs[j].outcome.macs == static_cast<int64_t>(macs_once + steps * macs_step));
  }
  // FDHT's weight-only products (transfer tensors with their leaves) are formed once per op.
  const auto fdht_cfg = codesim::arch::tensor_lstm::EngineConfig{16, 1, 16};
  const auto fdht_layer = codesim::arch::tensor_lstm::schedule_layer(
      codesim::arch::tensor_lstm::network_from_structure(fdht.tensors(1).structure(), 1024, 57856,
                                                         {batch}),
      true, fdht_cfg);
  uint64_t weight_only = 0, x_stages = 0;
  for (const auto& s : fdht_layer.stages) ++(s.weight_only ? weight_only : x_stages);
  CHECK(weight_only > 0);
  CHECK(jobs[1].counters.at("stages") == weight_only + steps * x_stages);
}

TEST_CASE("tensor_lstm: the planned order never executes more MACs than left to right", "[sim]") {
  const Workload tt = tt_lstm(2), fdht = fdht_lstm(2);
  Models models;
  TensorLstmParams ltr = params();
  ltr.contraction_order = "left_to_right";
  auto& best = models.make(params());
  auto& naive_order = models.make(ltr);
  std::vector<Job> jobs = {
      {&best, &tt, 0}, {&naive_order, &tt, 0}, {&best, &fdht, 0}, {&naive_order, &fdht, 0}};
  Models::run(jobs);
  // Left to right on TT-LSTM W_ih (closed form of the unit test) plus dense W_hh, per step:
  // sum over k of r_(k-1) m_k n_k r_k (m_l, l < k) (n_l, l > k), plus 1024 x 256.
  const std::vector<int64_t> m = kVideoRows, n = kVideoCols, r = {1, 4, 4, 4, 1};
  int64_t ltr_step = 1024 * 256;
  for (size_t k = 0; k < 4; ++k) {
    int64_t e = r[k] * r[k + 1] * m[k] * n[k];
    for (size_t l = 0; l < 4; ++l) e *= l < k ? m[l] : l > k ? n[l] : 1;
    ltr_step += e;
  }
  CHECK(jobs[1].counters.at("mac_ops") == static_cast<uint64_t>(2 * ltr_step));
  for (size_t j = 0; j < 4; j += 2) {
    CHECK(jobs[j].counters.at("mac_ops") <= jobs[j + 1].counters.at("mac_ops"));
    CHECK(jobs[j].cycles <= jobs[j + 1].cycles);
  }
  // On these shapes the order matters by a large factor (TT: 5.9x, HT: 49x per step).
  CHECK(jobs[0].counters.at("mac_ops") * 5 < jobs[1].counters.at("mac_ops"));
  CHECK(jobs[2].counters.at("mac_ops") * 40 < jobs[3].counters.at("mac_ops"));
}

TEST_CASE("tensor_lstm: DRAM carries the factors once when they fit and every step when not",
          "[sim]") {
  const int64_t steps = 4;
  const Workload tt = tt_lstm(steps), fdht = fdht_lstm(steps);
  Models models;
  TensorLstmParams small = params();
  small.weight_sram_kib = 16;
  TensorLstmParams big = small;
  big.weight_sram_kib = 640;
  auto& s16 = models.make(small);
  auto& s640 = models.make(big);
  std::vector<Job> jobs = {{&s16, &tt, 0}, {&s640, &tt, 0}, {&s16, &fdht, 0}};
  Models::run(jobs);
  // int16: 2 bytes per element. Stored: TT cores 3,360 + dense W_hh 262,144 + bias 1,024,
  // FDHT: leaves 4 (16·8 + 4·8 + 4·8 + 4·113) + transfer 4·4·4 · 2 + 4·4 (root) + bias 1,024.
  const uint64_t tt_params = 3360 + 262144 + 1024;
  const uint64_t fdht_params = 4 * (16 * 8 + 4 * 8 + 4 * 8 + 4 * 113) + 2 * 64 + 16 + 1024;
  const uint64_t frames = steps * 57600 * 2, h_out = steps * 256 * 2;
  CHECK(jobs[0].counters.at("ops_weights_off_chip") == 1);
  CHECK(jobs[0].counters.at("dram_read_bytes") == steps * tt_params * 2 + frames);
  CHECK(jobs[1].counters.at("ops_weights_off_chip") == 0);
  CHECK(jobs[1].counters.at("dram_read_bytes") == tt_params * 2 + frames);
  CHECK(jobs[2].counters.at("ops_weights_off_chip") == 0);
  CHECK(jobs[2].counters.at("dram_read_bytes") == fdht_params * 2 + frames);
  for (const Job& j : jobs) CHECK(j.counters.at("dram_write_bytes") == h_out);
  CHECK(jobs[2].outcome.note.find("weights fit on chip") != std::string::npos);
  CHECK(jobs[0].outcome.note.find("do NOT fit") != std::string::npos);
}

TEST_CASE("tensor_lstm: a tensor-train linear layer runs as its einsum stages", "[sim]") {
  // An MLP whose fc1 the tt transform rewrote into reshape -> einsums -> bias add.
  Workload w = codesim::compress::testing::mlp(4, 64, 48, 10);
  codesim::compress::testing::run(
      "pipeline: [{transform: tt, select: {name: fc1}, cores: 3, rank: 3}]", w, 0);
  Models models;
  auto& m = models.make(params());
  std::vector<Job> jobs;
  for (int i = 0; i < w.ops_size(); ++i)
    if (m.supports(w.ops(i))) jobs.push_back({&m, &w, i, Fidelity::kCycle, true});
  Models::run(jobs);
  int einsums = 0;
  for (const Job& j : jobs) {
    const auto& op = w.ops(j.op);
    INFO(op.name());
    if (op.has_einsum()) ++einsums;
    if (op.has_einsum() || op.has_gemm()) {
      CHECK(j.outcome.functional_mismatches == 0);
      CHECK(j.counters.at("mac_ops") == static_cast<uint64_t>(codesim::ir::op_macs(w, op)));
      CHECK(j.counters.at("bank_conflicts") == 0);
    }
  }
  CHECK(einsums == 3);
}

}  // namespace
