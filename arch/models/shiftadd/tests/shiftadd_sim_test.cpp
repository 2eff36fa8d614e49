// The shiftadd model against rules that do not come from its own code: functional outputs equal
// the reference executor's integer results, both fidelities agree, every MAC is done exactly once,
// DRAM traffic follows the tiling, the auto-mapper's choice is the least-EDP one of the 64
// combinations, PEs are allocated by NASA's rule and the pipeline beat is the busiest chunk's.

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "arch/models/shiftadd/tests/shiftadd_harness.h"
#include "arch/models/shiftadd/tests/shiftaddnas_oracle.h"
#include "arch/tech/tech.h"
#include "compress/reference/executor.h"
#include "sim/core/runner.h"
#include "tests/test_util.h"
#include "workloads/ir/ir.h"

namespace {

using codesim::arch::ShiftAddModel;
using codesim::arch::ShiftAddParams;
using codesim::sim::Fidelity;
using codesim::test::shiftadd::Builder;
using codesim::test::shiftadd::Conv;
using codesim::test::shiftadd::Job;
using codesim::test::shiftadd::Kind;
using codesim::test::shiftadd::Models;
using codesim::test::shiftadd::params;
namespace sa = codesim::arch::shiftadd;

const Kind kKinds[] = {Kind::kMult, Kind::kShift, Kind::kAdder};
const char* kDataflows[] = {"rs", "is", "ws", "os"};

std::string kind_name(Kind k) {
  return k == Kind::kMult ? "mult" : k == Kind::kShift ? "shift" : "adder";
}

// Small layers of every kind: padding, stride, groups, depthwise, batch and a gemm.
Builder small_ops(bool data) {
  Builder b(data);
  for (Kind k : kKinds) {
    const std::string p = kind_name(k) + ".";
    Conv pad;
    pad.h = 7, pad.w = 6, pad.c = 5, pad.filters = 7, pad.kernel = 3, pad.pad = 1;
    b.conv(p + "conv_pad1", pad, k);
    Conv s2;
    s2.batch = 2, s2.h = 9, s2.w = 9, s2.c = 4, s2.filters = 6, s2.kernel = 3, s2.stride = 2;
    s2.pad = 1, s2.groups = 2;
    b.conv(p + "conv_b2_s2_g2", s2, k);
    Conv dw;
    dw.h = dw.w = 6, dw.c = dw.filters = 6, dw.kernel = 3, dw.pad = 1, dw.groups = 6;
    b.conv(p + "depthwise", dw, k);
    Conv pw;
    pw.h = pw.w = 5, pw.c = 24, pw.filters = 16, pw.kernel = 1;
    b.conv(p + "pointwise", pw, k);
    b.gemm(p + "gemm", 3, 9, 20, k);
  }
  return b;
}

// Parameters for the small ops: 168-PE chunks of every kind, one dataflow for all of them, and
// optionally a tiny array and buffer so that every loop of the nest has more than one trip.
ShiftAddParams small_params(const std::string& dataflow, bool tiny) {
  std::vector<std::string> o = {"accelerator.shift_pes=168", "accelerator.adder_pes=168",
                                "accelerator.dataflow_mult=" + dataflow,
                                "accelerator.dataflow_shift=" + dataflow,
                                "accelerator.dataflow_adder=" + dataflow};
  if (tiny) {
    o.insert(o.end(),
             {"accelerator.mult_pes=7", "accelerator.shift_pes=7", "accelerator.adder_pes=7",
              "accelerator.psum_rf_bytes=9", "accelerator.ifmap_rf_bytes=4",
              "accelerator.weight_rf_bytes=12", "accelerator.gb_bytes=512"});
  }
  return params("eyeriss_like.yaml", o);
}

// Every op of w on the small-op models (4 dataflows x 2 sizes), once per fidelity given, in one
// simulation.
std::vector<Job> run_small(Models& models, const codesim::ir::v1::Workload& w,
                           std::vector<Fidelity> fidelities, bool functional) {
  std::vector<Job> jobs;
  for (const char* df : kDataflows)
    for (bool tiny : {false, true}) {
      ShiftAddModel& m = models.make(small_params(df, tiny));
      for (int i = 0; i < w.ops_size(); ++i)
        for (Fidelity f : fidelities) {
          Job j;
          j.model = &m, j.workload = &w, j.op = i, j.fidelity = f, j.functional = functional;
          jobs.push_back(j);
        }
    }
  Models::run(jobs);
  return jobs;
}

double output_scale(const codesim::ir::v1::Workload& w, const codesim::ir::v1::Op& op) {
  const auto* x = codesim::ir::find_tensor(w, op.inputs(0));
  const auto* wt = codesim::ir::find_tensor(w, op.inputs(1));
  const double sx = static_cast<double>(x->quantization().scale(0));
  if (wt->structure().has_pow2())
    return sx * static_cast<double>(
                    static_cast<float>(std::ldexp(1.0, wt->structure().pow2().min_exponent())));
  if (wt->structure().has_adder()) return sx;
  return sx * static_cast<double>(wt->quantization().scale(0));
}

}  // namespace

TEST_CASE("functional multiply, shift and adder outputs equal the reference executor bit for bit",
          "[sim][golden]") {
  Builder b = small_ops(true);
  const auto& w = b.workload();
  Models models;
  const std::vector<Job> jobs = run_small(models, w, {Fidelity::kCycle, Fidelity::kFast}, true);

  const codesim::compress::Executor ref(w, codesim::compress::Arithmetic::kInteger);
  REQUIRE(ref.integer_ops().size() == static_cast<size_t>(w.ops_size()));
  std::vector<std::vector<float>> want;
  for (const auto& op : w.ops()) want.push_back(ref.run_op(op, {}).at(0).data);
  int runs = 0, row_tiled = 0;
  for (const Job& j : jobs) {
    const auto& op = w.ops(j.op);
    INFO(op.name() << " on " << j.model->name() << " fidelity " << static_cast<int>(j.fidelity));
    REQUIRE(j.mapping != nullptr);
    if (!j.mapping->valid) continue;  // the tiny RFs admit no tiling of some ops
    REQUIRE(j.outcome.functional_mismatches == 0);
    REQUIRE(j.out.size() == want[static_cast<size_t>(j.op)].size());
    const double scale = output_scale(w, op);
    bool equal = true;
    for (size_t i = 0; i < j.out.size(); ++i)
      equal = equal && static_cast<float>(static_cast<double>(j.out[i]) * scale) ==
                           want[static_cast<size_t>(j.op)][i];
    CHECK(equal);
    ++runs;
    if (j.mapping->tiling.f3 > 1) ++row_tiled;
  }
  // On the full-size arrays every op has a tiling in every dataflow; on the tiny ones (7 PEs,
  // 3 psum words) a 3x3 conv with an odd output height has none (E1 = 1 is not allowed and E1 = 7
  // needs 21 PEs). The tiny RFs make ws, os and is split rows into F3 tiles.
  CHECK(runs > static_cast<int>(jobs.size()) / 2);
  CHECK(row_tiled > 0);
}

TEST_CASE("cycle and fast fidelity report the same cycles and counters", "[sim]") {
  Builder b = small_ops(false);
  const auto& w = b.workload();
  Models models;
  const std::vector<Job> jobs = run_small(models, w, {Fidelity::kCycle, Fidelity::kFast}, false);
  for (size_t i = 0; i < jobs.size(); i += 2) {
    INFO(w.ops(jobs[i].op).name() << " on " << jobs[i].model->name());
    CHECK(jobs[i].cycles == jobs[i + 1].cycles);
    CHECK(jobs[i].counters == jobs[i + 1].counters);
  }
}

TEST_CASE("every MAC is done once and every level moves the chunk's word width", "[sim]") {
  Builder b = small_ops(false);
  const auto& w = b.workload();
  Models models;
  const std::vector<Job> jobs = run_small(models, w, {Fidelity::kCycle}, false);
  int checked = 0, rs_checked = 0;
  for (const Job& j : jobs) {
    const auto& op = w.ops(j.op);
    INFO(op.name() << " on " << j.model->name());
    REQUIRE(j.mapping != nullptr);
    if (!j.mapping->valid) {
      CHECK(j.cycles == 0);
      continue;
    }
    const auto macs = static_cast<uint64_t>(codesim::ir::op_macs(w, op));
    const sa::Chunk chunk = sa::chunk_of(w, op);
    const auto& c = j.counters;
    CHECK(c.at("mult_macs") == (chunk == sa::Chunk::kMult ? macs : 0));
    CHECK(c.at("shift_ops") == (chunk == sa::Chunk::kShift ? macs : 0));
    CHECK(c.at("shift_accs") == c.at("shift_ops"));
    CHECK(c.at("adder_subs") == (chunk == sa::Chunk::kAdder ? macs : 0));
    CHECK(c.at("adder_accs") == c.at("adder_subs"));
    // The temporal steps times the PEs active in each (M1 C1 E1 R) cover the MACs exactly; padded
    // positions are operations too (the PE adds a zero), so this is exact for every conv.
    const sa::Tiling& t = j.mapping->tiling;
    const sa::Layer l = sa::layer_of(w, op);
    CHECK(c.at("pe_array_steps") * static_cast<uint64_t>(t.m1 * t.c1 * t.e1 * l.r) == macs);
    CHECK(t.m0 * t.m1 * t.m2 * t.m3 == l.m);
    CHECK(t.c0 * t.c1 * t.c2 == l.c);
    CHECK(t.e1 * t.e3 == l.e);
    CHECK(t.n0 * t.n3 == l.n);
    CHECK(t.m1 * t.c1 * t.e1 * l.r <= j.model->pes(chunk));
    CHECK(j.cycles == c.at("pe_array_steps"));
    // DRAM: the ifmap comes once per M3 filter tile, the weights once per N3 x E3 tile, the
    // outputs leave once, all at the chunk's word width (when the GB holds the tile).
    if (j.mapping->fits_gb) {
      const int bits = j.model->chunk_hw(chunk).op_bits;
      const auto* x = codesim::ir::find_tensor(w, op.inputs(0));
      const auto* wt = codesim::ir::find_tensor(w, op.inputs(1));
      const auto* y = codesim::ir::find_tensor(w, op.outputs(0));
      const double in = static_cast<double>(codesim::ir::tensor_elements(*x));
      const double wts = static_cast<double>(codesim::ir::tensor_elements(*wt));
      const double out = static_cast<double>(codesim::ir::tensor_elements(*y));
      CHECK(c.at("dram_read_bytes") ==
            static_cast<uint64_t>(std::llround((t.m3 * in + t.n3 * t.e3 * wts) * bits / 8.0)));
      CHECK(c.at("dram_write_bytes") == static_cast<uint64_t>(std::llround(out * bits / 8.0)));
    }
    // On chip too, every level moves the chunk's words: NASA's 8 bits in multiply layers, 6 in
    // shift and adder layers (eyeriss_like.yaml), 24-bit partial sums; access counts in words
    // from ShiftAddNAS's row-stationary model (the oracle), which rs is.
    if (j.mapping->dataflow == sa::Dataflow::kRs) {
      const double b = chunk == sa::Chunk::kMult ? 8 : 6, pb = 24;
      const double g = static_cast<double>(l.groups);
      codesim::test::shiftaddnas::Layer ol;
      ol.n = l.n, ol.h = l.h, ol.w = l.w, ol.c = l.c, ol.m = l.m, ol.e = l.e, ol.f = l.f;
      ol.r = l.r, ol.s = l.s, ol.stride = l.stride, ol.fc = l.fc;
      codesim::test::shiftaddnas::Tiling ot;
      ot.n0 = t.n0, ot.n3 = t.n3, ot.m0 = t.m0, ot.m1 = t.m1, ot.m2 = t.m2, ot.m3 = t.m3;
      ot.c0 = t.c0, ot.c1 = t.c1, ot.c2 = t.c2, ot.e1 = t.e1, ot.e3 = t.e3;
      const auto a = codesim::test::shiftaddnas::accesses(ol, ot);
      const std::string ch = sa::chunk_name(chunk);
      const auto bits = [&](const std::string& k) { return static_cast<double>(c.at(k)); };
      CHECK(bits("gb_read_bits") == Approx(g * (a.gb_ifmap * b + a.gb_ofmap_reads * pb)).margin(1));
      CHECK(bits("gb_write_bits") == Approx(g * (a.gb_ofmap - a.gb_ofmap_reads) * pb).margin(1));
      CHECK(bits("noc_multicast_hop_bits") ==
            Approx(g * 2 * (a.noc_ifmap + a.noc_weight) * b).margin(1));
      CHECK(bits("noc_psum_hop_bits") == Approx(g * a.noc_ofmap * pb).margin(1));
      CHECK(bits("rf_" + ch + "_ifmap_read_bits") == Approx(g * a.rf_ifmap * b).margin(1));
      CHECK(bits("rf_" + ch + "_weight_read_bits") == Approx(g * a.rf_weight * b).margin(1));
      CHECK(bits("rf_" + ch + "_psum_read_bits") == Approx(g * a.rf_ofmap * pb / 2).margin(1));
      ++rs_checked;
    }
    ++checked;
  }
  CHECK(checked > static_cast<int>(jobs.size()) / 2);
  CHECK(rs_checked >= 20);
}
