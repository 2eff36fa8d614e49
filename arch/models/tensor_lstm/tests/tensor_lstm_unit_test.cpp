// The contraction engine and the layer schedules without SystemC: MACs per stage against the
// closed forms of the TT and HT contraction sequences (reference/accelerators.md §4), the
// planned order against left to right, the FDHT layout planner against the cycle-by-cycle
// enumeration of the bank accesses, banked functional execution against a direct einsum, and
// the piecewise-linear activation against its error bound.

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <random>

#include "arch/models/tensor_lstm/tests/tensor_lstm_test_util.h"
#include "sim/core/diagnostics.h"
#include "sim/core/runner.h"
#include "tests/test_util.h"

namespace {

using codesim::arch::PiecewiseLinearTanh;
using codesim::arch::tensor_lstm::contract;
using codesim::arch::tensor_lstm::EngineConfig;
using codesim::arch::tensor_lstm::evaluate;
using codesim::arch::tensor_lstm::LayerNetwork;
using codesim::arch::tensor_lstm::LayerSchedule;
using codesim::arch::tensor_lstm::MemoryScheme;
using codesim::arch::tensor_lstm::network_from_structure;
using codesim::arch::tensor_lstm::run_stage;
using codesim::arch::tensor_lstm::schedule_layer;
using codesim::arch::tensor_lstm::StageEvents;
using codesim::ir::v1::Workload;
using namespace codesim::test::tensor_lstm;

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

EngineConfig config(int64_t pes = 16, int64_t q = 1, int64_t banks = 0,
                    MemoryScheme s = MemoryScheme::kFdht) {
  EngineConfig c;
  c.pes = pes;
  c.macs_per_pe = q;
  c.banks = banks > 0 ? banks : pes;
  c.scheme = s;
  return c;
}

// A random layer of 2 to 4 factor pairs of sizes 1..max_dim; TT ranks 1..max_rank inside.
void random_layer(std::mt19937& rng, int64_t max_dim, int64_t max_rank, std::vector<int64_t>& m,
                  std::vector<int64_t>& n, std::vector<int64_t>& r) {
  std::uniform_int_distribution<int64_t> dim(1, max_dim), rank(1, max_rank), cores(2, 4);
  const int64_t d = cores(rng);
  r = {1};
  for (int64_t k = 0; k < d; ++k) {
    m.push_back(dim(rng));
    n.push_back(dim(rng));
    r.push_back(k + 1 == d ? 1 : rank(rng));
  }
}

LayerSchedule schedule(const codesim::ir::v1::Structure& st, const std::vector<int64_t>& m,
                       const std::vector<int64_t>& n, int64_t batch, bool min_macs,
                       const EngineConfig& cfg) {
  return schedule_layer(network_from_structure(st, product(m), product(n), {batch}), min_macs, cfg);
}

TEST_CASE("tensor_lstm: TT stage MACs follow the closed forms of both orders", "[unit]") {
  // TT-LSTM's input-to-hidden layer of the video LSTMs, batch 2.
  const std::vector<int64_t> m = kVideoRows, n = kVideoCols, r = {1, 4, 4, 4, 1};
  const int64_t b = 2, d = 4;
  for (bool min_macs : {false, true}) {
    EngineConfig cfg = config();
    const LayerSchedule s = schedule(tt_structure(m, n, r), m, n, b, min_macs, cfg);
    REQUIRE(s.stages.size() == 4);
    for (int64_t j = 0; j < d; ++j) {
      // Left to right contracts core j at stage j: b r_(k-1) m_k n_k r_k (m_l, l < k) (n_l, l > k).
      // Fewest MACs is TIE's order, G_d first (accelerators.md §4.2): stage j contracts core
      // k = d - 1 - j, b r_(k-1) m_k n_k r_k (n_l, l < k) (m_l, l > k).
      const int64_t k = min_macs ? d - 1 - j : j;
      int64_t expect = b * r[k] * r[k + 1] * m[k] * n[k];
      for (int64_t l = 0; l < d; ++l) {
        if (l < k) expect *= min_macs ? n[l] : m[l];
        if (l > k) expect *= min_macs ? m[l] : n[l];
      }
      const auto& st = s.stages[static_cast<size_t>(j)];
      CHECK(st.step.macs == expect);
      CHECK_FALSE(st.weight_only);
      // The engine performs exactly these MACs, counted cycle by cycle, in (M x K)(K x N) form.
      cfg.cycle = true;
      CHECK(run_stage(st.geom, s.layer.net.sizes, cfg).macs == static_cast<uint64_t>(expect));
      CHECK(st.geom.M * st.geom.K * st.geom.N == expect);
    }
  }
}

TEST_CASE("tensor_lstm: HT stage MACs follow the closed form of the leaves-then-tree order",
          "[unit]") {
  // FDHT-LSTM's [W_ih | W_hh] of the video LSTMs (57,856 = 8·8·8·113 columns), leaf and transfer
  // ranks 4, batch 3. Left to right is §4.1's order: the leaves U_1..U_4, then the transfer
  // tensors bottom-up (node {3,4}, node {1,2}), the root last.
  const std::vector<int64_t> m = kVideoRows, n = kVideoConcatCols;
  const int64_t b = 3, rho = 4, inner = 4;
  EngineConfig cfg = config();
  cfg.cycle = true;
  const LayerSchedule s = schedule(ht_structure(m, n, rho, inner), m, n, b, false, cfg);
  REQUIRE(s.stages.size() == 7);
  std::vector<int64_t> expect;
  // Leaf k replaces n_k by (m_k, rho_k): b (m_l rho_l, l < k) (n_l, l >= k) m_k rho_k.
  for (size_t k = 0; k < 4; ++k) {
    int64_t e = b * m[k] * rho;
    for (size_t l = 0; l < 4; ++l) e *= l < k ? m[l] * rho : l >= k ? n[l] : 1;
    expect.push_back(e);
  }
  const int64_t all_m = product(m);
  expect.push_back(b * all_m * rho * rho * rho * rho * inner);  // B_{34}: rho_3 rho_4 -> r_34
  expect.push_back(b * all_m * rho * rho * inner * inner);      // B_{12}: rho_1 rho_2 -> r_12
  expect.push_back(b * all_m * inner * inner);                  // root: r_12 r_34 -> 1
  for (size_t j = 0; j < 7; ++j) {
    CHECK(s.stages[j].step.macs == expect[j]);
    CHECK(run_stage(s.stages[j].geom, s.layer.net.sizes, cfg).macs ==
          static_cast<uint64_t>(expect[j]));
  }
}

TEST_CASE("tensor_lstm: the planned contraction order is never worse than left to right",
          "[unit]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> rank(1, 5), batch(1, 3);
  int cases = 0, strictly_better = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<int64_t> m, n, r;
    random_layer(rng, 6, 5, m, n, r);
    const bool ht = i % 2 == 1;
    const auto st = ht ? ht_structure(m, n, rank(rng), rank(rng)) : tt_structure(m, n, r);
    const int64_t b = batch(rng);
    // The order does not depend on the memory scheme; naive skips the layout search.
    const EngineConfig cfg = config(16, 1, 0, MemoryScheme::kNaive);
    const LayerSchedule best = schedule(st, m, n, b, true, cfg);
    const LayerSchedule ltr = schedule(st, m, n, b, false, cfg);
    // Per time step (weight-only products counted too) and per step of the engine, which runs
    // weight-only stages once per sequence.
    CHECK(best.plan.macs() <= ltr.plan.macs());
    int64_t engine_step = 0;
    for (const auto& stage : best.stages)
      if (!stage.weight_only) engine_step += stage.step.macs;
    CHECK(engine_step <= ltr.plan.macs());
    ++cases;
    strictly_better += best.plan.macs() < ltr.plan.macs();
  }
  CHECK(cases == 300);
  CHECK(strictly_better > 0);
}

// Every stage of the schedule in cycle fidelity (the enumeration) and fast fidelity.
std::pair<StageEvents, StageEvents> both_fidelities(const LayerSchedule& s, EngineConfig cfg) {
  StageEvents cycle, fast;
  for (const auto& st : s.stages) {
    if (st.weight_only) continue;
    cfg.cycle = true;
    cycle += run_stage(st.geom, s.layer.net.sizes, cfg);
    cfg.cycle = false;
    fast += run_stage(st.geom, s.layer.net.sizes, cfg);
  }
  return {cycle, fast};
}

TEST_CASE("tensor_lstm: FDHT layouts of the video LSTMs have no bank conflict but naive ones do",
          "[unit]") {
  struct Case {
    const char* name;
    codesim::ir::v1::Structure st;
    std::vector<int64_t> m, n;
  };
  const std::vector<Case> cases = {
      {"TT-LSTM W_ih", tt_structure(kVideoRows, kVideoCols, {1, 4, 4, 4, 1}), kVideoRows,
       kVideoCols},
      {"HT W_ih", ht_structure(kVideoRows, kVideoCols, 4, 4), kVideoRows, kVideoCols},
      {"FDHT [W_ih | W_hh]", ht_structure(kVideoRows, kVideoConcatCols, 4, 4), kVideoRows,
       kVideoConcatCols},
      {"dense W_hh", codesim::ir::v1::Structure(), {1024}, {256}},
  };
  for (const auto& c : cases)
    for (bool min_macs : {true, false}) {
      INFO(c.name << (min_macs ? ", fewest MACs" : ", left to right"));
      const LayerSchedule f = schedule(c.st, c.m, c.n, 1, min_macs, config());
      const auto [cycle, fast] = both_fidelities(f, config());
      CHECK(cycle == fast);
      // The order the engine runs (fewest MACs) always gets a plan; HT left to right (49x the
      // MACs, up to 9 letters per intermediate) may exhaust the planner's search bound.
      if (!min_macs && c.st.has_hierarchical_tucker() && !f.conflict_free) continue;
      CHECK(f.conflict_free);
      CHECK(cycle.bank_conflicts == 0);
      CHECK(cycle.conflict_stalls == 0);
      // Conflict-free: every group sweeps K once, cycles = groups x ceil(K / q) + depth.
      uint64_t closed = 0;
      for (const auto& st : f.stages)
        if (!st.weight_only)
          closed += static_cast<uint64_t>(codesim::arch::tensor_lstm::make_grouping(
                                              st.geom.M, st.geom.N, 16, st.geom.cols_per_group)
                                              .count *
                                          st.geom.K) +
                    codesim::arch::tensor_lstm::kStagePipelineDepth;
      CHECK(cycle.cycles == closed);
      if (c.m.size() == 1) continue;  // one stage, a row-major vector: no transform to get wrong
      const EngineConfig naive = config(16, 1, 0, MemoryScheme::kNaive);
      const LayerSchedule nv = schedule(c.st, c.m, c.n, 1, min_macs, naive);
      const auto [ncycle, nfast] = both_fidelities(nv, naive);
      CHECK(ncycle.bank_conflicts > 0);
      CHECK(ncycle.cycles == cycle.cycles + ncycle.conflict_stalls);
      CHECK(ncycle.macs == cycle.macs);
      CHECK(ncycle == nfast);
    }
}

TEST_CASE("tensor_lstm: a layout the planner calls conflict-free has no conflict", "[unit]") {
  // Random small TT/HT layers on arrays of 4, 8 and 16 PEs, 1 or 2 MACs per PE, as many banks as
  // PEs or more: the claim is checked against the enumeration of every access.
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> rank(1, 4);
  int planned = 0;
  for (int i = 0; i < 120; ++i) {
    std::vector<int64_t> m, n, r;
    random_layer(rng, 7, 4, m, n, r);
    const int64_t pes = int64_t{4} << (i % 3);
    const EngineConfig cfg = config(pes, 1 + i % 2, pes + (i % 4 == 3 ? 3 : 0));
    const auto st = i % 2 ? ht_structure(m, n, rank(rng), rank(rng)) : tt_structure(m, n, r);
    const LayerSchedule s = schedule(st, m, n, 1 + i % 3, true, cfg);
    const auto [cycle, fast] = both_fidelities(s, cfg);
    INFO("case " << i);
    CHECK(cycle == fast);
    if (!s.conflict_free) continue;
    ++planned;
    CHECK(cycle.bank_conflicts == 0);
  }
  // Odd letter sizes (5, 7) on 4 to 16 banks leave some layers without a conflict-free plan (the
  // engine then counts their conflicts); most small layers have one.
  CHECK(planned >= 60);
}

TEST_CASE("tensor_lstm: stages through the banked buffers compute the einsum chain", "[unit]") {
  // The functional path writes every intermediate through its producer's address generator and
  // reads it through its consumer's; a direct einsum evaluation of the same plan is the oracle.
  std::mt19937 rng(3);
  std::normal_distribution<float> val(0.0f, 1.0f);
  const std::vector<int64_t> m = {3, 4, 2}, n = {5, 2, 3};
  for (bool ht : {false, true})
    for (MemoryScheme scheme : {MemoryScheme::kFdht, MemoryScheme::kNaive})
      for (int64_t q : {1, 3}) {
        const EngineConfig cfg = config(8, q, 0, scheme);
        const auto st = ht ? ht_structure(m, n, 2, 3) : tt_structure(m, n, {1, 3, 2, 1});
        LayerNetwork l = network_from_structure(st, product(m), product(n), {2});
        for (size_t t = 1; t < l.net.tensors.size(); ++t) {
          std::vector<float> v(static_cast<size_t>(
              codesim::arch::tensor_lstm::letters_product(l.net.tensors[t].indices, l.net.sizes)));
          for (float& x : v) x = val(rng);
          l.values.push_back(v);
        }
        const LayerSchedule s = schedule_layer(l, true, cfg);
        std::vector<float> x(static_cast<size_t>(2 * product(n)));
        for (float& v : x) v = val(rng);
        std::vector<std::vector<float>> pre;
        const std::vector<float> y = evaluate(s, cfg, x, pre);
        // Oracle: the plan's steps as plain einsums.
        std::vector<std::vector<float>> res;
        const auto operand = [&](int id) -> const std::vector<float>& {
          const int k = static_cast<int>(l.net.tensors.size());
          return id == 0 ? x : id < k ? l.values[static_cast<size_t>(id - 1)] : res[id - k];
        };
        const auto letters = [&](int id) -> const std::string& {
          const int k = static_cast<int>(l.net.tensors.size());
          return id < k ? l.net.tensors[static_cast<size_t>(id)].indices
                        : s.plan.steps[static_cast<size_t>(id - k)].out_indices;
        };
        for (const auto& step : s.plan.steps)
          res.push_back(contract(operand(step.lhs), letters(step.lhs), operand(step.rhs),
                                 letters(step.rhs), step.out_indices, l.net.sizes));
        REQUIRE(y.size() == res.back().size());
        for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(res.back()[i]).margin(1e-4));
      }
}

TEST_CASE("tensor_lstm: the piecewise-linear tanh stays within its error bound", "[unit]") {
  for (int64_t segments : {16, 256, 4096}) {
    const PiecewiseLinearTanh act(segments, 8.0);
    const double bound = act.tanh_error_bound();
    // Chord error of tanh over a segment of width h: max|tanh''| h^2 / 8.
    const double h = 16.0 / static_cast<double>(segments);
    CHECK(bound ==
          Approx(std::max(4.0 / (3.0 * std::sqrt(3.0)) * h * h / 8.0, 1 - std::tanh(8.0))));
    double worst = 0, worst_sigmoid = 0;
    for (double x = -12; x <= 12; x += 1.0 / 1024) {
      const auto f = static_cast<float>(x);
      worst = std::max(worst, std::fabs(act.tanh(f) - std::tanh(x)));
      worst_sigmoid = std::max(worst_sigmoid, std::fabs(act.sigmoid(f) - 1 / (1 + std::exp(-x))));
    }
    CHECK(worst <= bound + 1e-6);
    CHECK(worst_sigmoid <= bound / 2 + 1e-6);
    CHECK(worst > bound / 8);  // the bound is not loose by orders of magnitude
  }
}

TEST_CASE("tensor_lstm: the TIE and FDHT configs are 16 PEs at 1 GHz with equal memories",
          "[unit]") {
  std::vector<codesim::arch::TensorLstmParams> ps;
  for (const char* name : {"tie_16pe_1ghz", "fdht_16pe_1ghz"}) {
    const auto arch = codesim::sim::load_arch(codesim::test::source_path(
        std::string("arch/models/tensor_lstm/configs/") + name + ".yaml"));
    CHECK(arch.model == "tensor_lstm");
    CHECK(arch.technology == "aladdin40");
    codesim::sim::Diagnostics diags;
    ps.push_back(codesim::arch::TensorLstmParams::schema().parse(arch.accelerator, arch.file,
                                                                 "accelerator", diags, {"model"}));
    CHECK(diags.list().empty());
  }
  for (const auto& p : ps) {
    // TIE: 16 PEs at 1,000 MHz (accelerators.md §4.2 [A]).
    CHECK(p.pes == 16);
    CHECK(p.clock_mhz == 1000);
    // One frame with the hidden state, [x; h] = 57,856 16-bit elements, fits a working buffer.
    CHECK(p.work_sram_kib * 1024 >= 57856 * 2);
  }
  CHECK(YAML::Dump(codesim::arch::TensorLstmParams::schema().dump(ps[0])) ==
        YAML::Dump(codesim::arch::TensorLstmParams::schema().dump(ps[1])));
}

}  // namespace

namespace {

TEST_CASE("tensor_lstm: an annotation that does not describe its weight is an input error",
          "[unit]") {
  // W_ih [1024 x 57600] annotated as a 2048 x 57600 tensor train.
  const Workload w =
      lstm_workload(57600, 256, 2, 1, tt_structure({16, 4, 4, 8}, kVideoCols, {1, 4, 4, 4, 1}),
                    codesim::ir::v1::Structure());
  const std::string dir = codesim::test::temp_dir();
  const std::string path = dir + "/bad.pb";
  {
    std::ofstream f(path, std::ios::binary);
    REQUIRE(w.SerializeToOstream(&f));
  }
  const auto c = codesim::test::run_codesim(
      "run --arch " +
      codesim::test::source_path("arch/models/tensor_lstm/configs/fdht_16pe_1ghz.yaml") +
      " --workload " + path + " --out " + dir + "/out -q");
  CHECK(c.status == 2);
  CHECK_THAT(c.err, Catch::Contains("op 'lstm', weight 'w_ih'"));
  CHECK_THAT(c.err, Catch::Contains("2048 x 57600 matrix, the weight is 1024 x 57600"));
  CHECK_THAT(c.err, Catch::Contains("rerun the tt / ht transform"));
}

}  // namespace
