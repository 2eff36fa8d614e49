// The butterfly (FABNet) model against the rules of its hardware: the skewed layout is conflict
// free for every stage of every length (and the plain layout is not), stage and run timing follow
// their closed forms, cycle and fast fidelity agree, MACs and bytes are conserved, functional
// outputs match the reference executor within the FP16 bound, and bad configs name their place.

#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <systemc>
#include <vector>

#include "arch/models/butterfly/butterfly.h"
#include "arch/models/butterfly/engine.h"
#include "arch/models/butterfly/schedule.h"
#include "compress/reference/executor.h"
#include "tests/test_util.h"

namespace {

using codesim::arch::ButterflyModel;
using codesim::arch::ButterflyParams;
namespace bf = codesim::arch::butterfly;
namespace ir = codesim::ir::v1;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A workload of one op with float data on every input.
struct OneOp {
  ir::Workload w;
  std::mt19937 rng{7};
  std::string tensor(const std::string& name, std::vector<int64_t> shape, bool weight,
                     bool data = true) {
    ir::Tensor* t = w.add_tensors();
    t->set_name(name);
    int64_t n = 1;
    for (int64_t d : shape) t->add_shape(d), n *= d;
    t->set_dtype(ir::FLOAT32);
    t->set_bits(32);
    t->set_is_weight(weight);
    std::uniform_real_distribution<float> u(-1, 1);
    if (data)
      for (int64_t i = 0; i < n; ++i) t->add_float_data(u(rng));
    return name;
  }
  void butterfly(int64_t rows, int64_t in, int64_t length, int64_t stacks, int64_t out) {
    ir::Op* op = w.add_ops();
    op->set_name("bfly");
    auto* b = op->mutable_butterfly();
    b->set_batch(rows);
    b->set_length(length);
    b->set_stages(static_cast<int64_t>(std::log2(length)));
    b->set_stacks(stacks);
    op->add_inputs(tensor("x", {rows, in}, false));
    op->add_inputs(tensor("t", {stacks, b->stages(), length / 2, 2, 2}, true));
    op->add_outputs(tensor("y", {rows, out}, false, false));
  }
  void fft(int64_t rows, int64_t cols, std::vector<int64_t> lengths, bool real_in, bool real_out,
           bool inverse = false) {
    ir::Op* op = w.add_ops();
    op->set_name("fft");
    auto* f = op->mutable_fft();
    f->set_batch(1);
    for (int64_t l : lengths) f->add_lengths(l);
    f->set_real_input(real_in);
    f->set_real_output(real_out);
    f->set_inverse(inverse);
    std::vector<int64_t> in_shape{rows, cols}, out_shape{rows, cols};
    if (!real_in) in_shape.push_back(2);
    if (!real_out) out_shape.push_back(2);
    op->add_inputs(tensor("x", in_shape, false));
    op->add_outputs(tensor("y", out_shape, false, false));
  }
};

struct Job {
  ButterflyModel* model;
  const ir::Workload* w;
  int op;
  codesim::sim::Fidelity fidelity;
  bool functional;
  uint64_t cycles = 0;
  codesim::sim::OpOutcome outcome;
  std::map<std::string, uint64_t> counters;
  std::vector<float> out;
  std::vector<bf::RunTimes> runs;
};

class Harness : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Harness);
  Harness(const sc_core::sc_module_name& n, std::vector<Job>& jobs)
      : sc_core::sc_module(n), jobs_(jobs) {
    SC_THREAD(run);
  }

 private:
  void run() {
    for (Job& j : jobs_) {
      const auto before = j.model->stats().snapshot();
      const uint64_t start = j.model->cycle();
      j.model->run_op({*j.w, j.w->ops(j.op), j.fidelity, j.functional, j.outcome});
      j.cycles = j.model->cycle() - start;
      const auto& cs = j.model->stats().counters();
      for (size_t c = 0; c < cs.size(); ++c) j.counters[cs[c]->name] = cs[c]->value - before[c];
      j.out = j.model->last_outputs();
      j.runs = j.model->last_runs();
    }
    sc_core::sc_stop();
  }
  std::vector<Job>& jobs_;
};

std::vector<std::unique_ptr<ButterflyModel>> g_models;
ButterflyModel* make(const ButterflyParams& p) {
  g_models.push_back(std::make_unique<ButterflyModel>(
      sc_core::sc_module_name(("bfly" + std::to_string(g_models.size())).c_str()), p));
  return g_models.back().get();
}
void run_all(std::vector<Job>& jobs) {
  Harness h("harness", jobs);
  sc_core::sc_start();
}

}  // namespace

TEST_CASE("skewed banks: every stage of every length is conflict-free, every pair once",
          "[unit]") {
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

TEST_CASE("run stage times follow their closed forms", "[unit]") {
  bf::PortConfig c{2048, 256, 2048, 4, 6};
  bf::PassSpec p;
  p.name = "b";
  p.length = 1024;
  p.stages = 10;
  p.vectors = 120;
  p.in_elems = 1024;
  p.out_elems = 1024;
  p.coef_elems = 10 * 512 * 4;
  // Load: 120 rows x 1024 x 16 b over 2048 b = 960 < S2P 1024 elements.
  CHECK(bf::load_cycles(c, p, 120) == 1024);
  CHECK(bf::load_cycles(c, p, 240) == 1920);
  // Compute: 10 stages x (1024 / 8 issue cycles + 6 pipeline cycles).
  CHECK(bf::compute_cycles(c, p) == 10 * (128 + 6));
  // Coefficients: 20480 x 16 b over 256 b = 1280 cycles.
  CHECK(bf::coef_cycles(c, p, 20480 * 16) == 1280);
  // A 3-run compute-bound pass: load0, then back-to-back computes, then the last store.
  bf::RunPipeline pipe(c, 40);
  p.vectors = 120;
  p.coef_elems = 0;
  const auto runs = pipe.plan(p, [&](const bf::RunTimes&) { return bf::compute_cycles(c, p); });
  REQUIRE(runs.size() == 3);
  const uint64_t load = bf::load_cycles(c, p, 40), comp = bf::compute_cycles(c, p);
  CHECK(runs[0].comp_start == load);
  CHECK(runs[2].comp_end == load + 3 * comp);
  CHECK(runs[2].store_end == load + 3 * comp + bf::store_cycles(c, p, 40));
}

TEST_CASE("butterfly op: cycles, MACs and bytes from the rules; fast equals cycle", "[sim]") {
  OneOp a;
  a.butterfly(20, 48, 64, 2, 100);  // 20 rows on 8 engines: 3 row groups x 2 stacks
  ButterflyParams p;
  p.engines = 8;
  p.units_per_engine = 2;
  p.input_port_bits = 64;
  p.coef_port_bits = 64;
  p.output_port_bits = 64;
  auto* fast = make(p);
  auto* cyc = make(p);
  std::vector<Job> jobs{{fast, &a.w, 0, codesim::sim::Fidelity::kFast, true},
                        {cyc, &a.w, 0, codesim::sim::Fidelity::kCycle, true}};
  run_all(jobs);
  const Job& f = jobs[0];
  const Job& c = jobs[1];
  CHECK(f.cycles == c.cycles);
  CHECK(f.counters == c.counters);
  CHECK(f.out == c.out);
  // 6 runs; pairs per vector and stack: 6 stages x 32 pairs, 4 multiplies each.
  CHECK(f.runs.size() == 6);
  CHECK(f.counters.at("bu_muls") == 20u * 2 * 6 * 32 * 4);
  CHECK(f.counters.at("bank_conflict_cycles") == 0);
  // Bytes: inputs 48 per row per stack run, outputs 64 + 36 per row, coefficients once per stack
  // change (stack 0, 1, 0, 1, 0, 1 alternate: every run loads).
  CHECK(f.counters.at("dram_write_bytes") == 20u * 100 * 2);
  CHECK(f.counters.at("dram_read_bytes") == 20u * 2 * 48 * 2 + 6u * 6 * 32 * 4 * 2);
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
  auto* plain_fast = make(p);
  auto* plain_cycle = make(p);
  auto* skewed = make(q);
  std::vector<Job> jobs{{plain_fast, &a.w, 0, codesim::sim::Fidelity::kFast, false},
                        {plain_cycle, &a.w, 0, codesim::sim::Fidelity::kCycle, false},
                        {skewed, &a.w, 0, codesim::sim::Fidelity::kCycle, false}};
  run_all(jobs);
  // n = 256, NB = 8: stages 3..7 (stride >= 8) conflict, 32 issue cycles each.
  CHECK(jobs[1].counters.at("bank_conflict_cycles") == 5u * 32);
  CHECK(jobs[0].counters.at("bank_conflict_cycles") == 5u * 32);
  CHECK(jobs[0].cycles == jobs[1].cycles);
  CHECK(jobs[1].cycles == jobs[2].cycles + 5 * 32);
  CHECK(jobs[2].counters.at("bank_conflict_cycles") == 0);
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
  for (auto& o : ws) jobs.push_back({make(p), &o.w, 0, codesim::sim::Fidelity::kCycle, true});
  run_all(jobs);
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
    for (int64_t l : op.has_fft() ? std::vector<int64_t>(op.fft().lengths().begin(),
                                                         op.fft().lengths().end())
                                  : std::vector<int64_t>{})
      stages += static_cast<int>(std::log2(l));
    const double tol = std::ldexp(1.0, -10) * (stages + 1) * peak;
    int64_t bad = 0;
    for (size_t k = 0; k < got.size(); ++k) bad += std::fabs(got[k] - want[k]) > tol;
    INFO("case " << i);
    CHECK(bad == 0);
    CHECK(jobs[i].outcome.functional_mismatches == 0);
  }
}

TEST_CASE("fused post-processing: shortcut add and LayerNorm after a butterfly cost no cycles",
          "[sim]") {
  const std::string dir = codesim::test::temp_dir();
  const std::string wl = codesim::test::write_file(
      dir, "w.yaml", "workload: {zoo: fabnet, variant: base, seq_len: 64}\n");
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
  // Same per-op cycles and counters in both fidelities (energy columns aside, all equal).
  CHECK(fj == cj);
  CHECK_THAT(fj, Catch::Contains("layer0.ffn.norm,layernorm,1,"));
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
