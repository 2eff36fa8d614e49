// The mapper and the chunk-level rules: every mapping it returns is valid for its dataflow and the
// least-EDP one among all valid tilings (checked by exhaustive enumeration); the auto-mapper's
// dataflow combination has the least network EDP of the 64; PEs follow NASA's area allocation,
// the layer pipeline's beat is the busiest chunk; bad parameters are located errors.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "arch/models/shiftadd/mapper.h"
#include "arch/models/shiftadd/tests/shiftadd_harness.h"
#include "arch/models/shiftadd/tests/shiftaddnas_oracle.h"
#include "arch/tech/tech.h"
#include "sim/core/runner.h"
#include "tests/test_util.h"

namespace {

using codesim::arch::ShiftAddModel;
using codesim::arch::ShiftAddParams;
using codesim::test::shiftadd::Builder;
using codesim::test::shiftadd::Conv;
using codesim::test::shiftadd::Job;
using codesim::test::shiftadd::Kind;
using codesim::test::shiftadd::Models;
using codesim::test::shiftadd::params;
namespace sa = codesim::arch::shiftadd;

sa::Layer conv_layer(int64_t n, int64_t hw, int64_t c, int64_t m, int64_t k, int64_t stride,
                     int64_t pad) {
  sa::Layer l;
  l.n = n, l.h = l.w = hw, l.c = c, l.m = m, l.r = l.s = k, l.stride = stride;
  l.e = l.f = (hw + 2 * pad - k) / stride + 1;
  return l;
}

// The constraints restated from the dataflow definitions in README.md.
bool valid(const sa::Layer& l, const sa::Tiling& t, sa::Dataflow d, const sa::ChunkHw& hw,
           int64_t gb_bits) {
  // What stays in the PE: ws one channel's S-word window and the F0 psums of a filter row; os
  // the psums of all F0 x M0 outputs of a C2 pass; is the input row segment of C0 channels.
  // rs keeps whole rows (F3 = 1); the others may split a row into F3 tiles of F0 columns.
  const bool ws = d == sa::Dataflow::kWs, os = d == sa::Dataflow::kOs, is = d == sa::Dataflow::kIs;
  if (d == sa::Dataflow::kRs && t.f3 != 1) return false;
  if (l.f % t.f3 != 0) return false;
  const int64_t f0 = l.f / t.f3;
  const int64_t ifmap = ws ? l.s : is ? t.c0 * ((f0 - 1) * l.stride + l.s) : t.c0 * l.s;
  const int64_t psum = ws ? f0 : os ? f0 * t.m0 : t.m0;
  if (ifmap > hw.ifmap_rf_words) return false;
  if (psum > hw.psum_rf_words) return false;
  if (t.m0 * t.c0 * l.s > hw.weight_rf_words) return false;
  if (t.m1 * t.c1 * t.e1 * l.r > hw.pes) return false;
  if (!l.fc && l.e > 1 && t.e1 == 1) return false;
  // os holds every channel's ifmap rows (C2 runs inside M2) and one pass's F0 outputs.
  const double in =
      static_cast<double>(t.n0 * (os ? l.c : t.c1 * t.c0) * ((t.e1 - 1) * l.stride + l.r) *
                          ((l.f - 1) * l.stride + l.s));
  const double out =
      static_cast<double>(t.n0 * (os ? 1 : t.m2) * t.m1 * t.m0 * t.e1 * (os ? f0 : l.f));
  return in * hw.op_bits + out * hw.psum_bits <= static_cast<double>(gb_bits);
}

sa::UnitCosts costs() {
  sa::UnitCosts u;
  u.op = 0.3, u.dram_bit = 20, u.gb_read_bit = 0.6, u.gb_write_bit = 0.7, u.noc_hop_bit = 0.03;
  u.rf_ifmap_bit = 0.01, u.rf_weight_bit = 0.04, u.rf_psum_read_bit = 0.02;
  u.rf_psum_write_bit = 0.02;
  return u;
}

}  // namespace

TEST_CASE("the mapper returns a valid tiling of least EDP for every dataflow", "[unit]") {
  const std::vector<sa::Layer> layers = {
      conv_layer(1, 32, 3, 16, 3, 1, 1), conv_layer(1, 16, 96, 24, 1, 1, 0),
      conv_layer(2, 9, 4, 6, 3, 2, 1),   conv_layer(1, 8, 64, 64, 3, 1, 1),
      conv_layer(1, 12, 1, 1, 5, 1, 2),  conv_layer(1, 7, 32, 32, 7, 1, 3),
  };
  sa::Layer fc;
  fc.n = 4, fc.m = 10, fc.c = 96, fc.fc = true;
  std::vector<sa::Layer> all = layers;
  all.push_back(fc);
  struct Hw {
    sa::ChunkHw hw;
    int64_t gb_bits;
  };
  std::vector<Hw> hws;
  sa::ChunkHw eyeriss;
  eyeriss.pes = 168, eyeriss.ifmap_rf_words = 24, eyeriss.weight_rf_words = 448;
  eyeriss.psum_rf_words = 24, eyeriss.op_bits = 8, eyeriss.psum_bits = 24;
  hws.push_back({eyeriss, 131072 * 8});
  sa::ChunkHw tiny = eyeriss;
  tiny.pes = 6, tiny.ifmap_rf_words = 6, tiny.weight_rf_words = 18, tiny.psum_rf_words = 8;
  hws.push_back({tiny, 4096 * 8});
  int valid_mappings = 0, invalid = 0;
  for (const auto& h : hws)
    for (const sa::Layer& l : all)
      for (int di = 0; di < sa::kDataflows; ++di) {
        const auto d = static_cast<sa::Dataflow>(di);
        INFO("layer m=" << l.m << " c=" << l.c << " e=" << l.e << " r=" << l.r << " "
                        << sa::dataflow_name(d) << " pes=" << h.hw.pes);
        const sa::Mapping m = sa::map_layer(l, d, h.hw, h.gb_bits, costs(), sa::Objective::kEdp);
        // Exhaustive: every factorization of N, M, C, E that the definitions allow.
        double best = std::numeric_limits<double>::infinity();
        bool any_fit = false, any = false;
        namespace o = codesim::test::shiftaddnas;
        for (const auto& nf : o::factorizations(l.n, 2))
          for (const auto& mf : o::factorizations(l.m, 4))
            for (const auto& cf : o::factorizations(l.c, 3))
              for (const auto& ef : o::factorizations(l.e, 2))
                for (const auto& ff : o::factorizations(l.f, 2)) {
                  sa::Tiling t;
                  t.n0 = nf[0], t.n3 = nf[1], t.m0 = mf[0], t.m1 = mf[1], t.m2 = mf[2],
                  t.m3 = mf[3];
                  t.c0 = cf[0], t.c1 = cf[1], t.c2 = cf[2], t.e1 = ef[0], t.e3 = ef[1],
                  t.f3 = ff[1];
                  const bool fits = valid(l, t, d, h.hw, h.gb_bits);
                  // Tilings that only overflow the GB (every other constraint holds).
                  const bool spills =
                      !fits && valid(l, t, d, h.hw, std::numeric_limits<int64_t>::max());
                  if (!fits && !spills) continue;
                  any = true;
                  if (fits && !any_fit) best = std::numeric_limits<double>::infinity();
                  any_fit = any_fit || fits;
                  if (any_fit && !fits) continue;
                  const sa::Counts c = sa::count(l, t, d, h.hw, h.gb_bits);
                  best = std::min(best,
                                  sa::price(c, l, h.hw, costs()) * static_cast<double>(c.cycles));
                }
        REQUIRE(m.valid == any);
        if (!m.valid) {
          ++invalid;
          continue;
        }
        ++valid_mappings;
        CHECK(m.fits_gb == any_fit);
        const sa::Tiling& t = m.tiling;
        CHECK(t.n0 * t.n3 == l.n);
        CHECK(t.m0 * t.m1 * t.m2 * t.m3 == l.m);
        CHECK(t.c0 * t.c1 * t.c2 == l.c);
        CHECK(t.e1 * t.e3 == l.e);
        CHECK(valid(l, t, d, h.hw, any_fit ? h.gb_bits : std::numeric_limits<int64_t>::max()));
        CHECK(m.edp() == Approx(best).epsilon(1e-12));
      }
  // Both outcomes occur: e.g. the tiny RFs cannot hold a 7x7 kernel row.
  CHECK(valid_mappings > 30);
  CHECK(invalid > 0);
}

TEST_CASE("each dataflow's accesses and register needs follow from what stays in the PE",
          "[unit]") {
  // 8x8 input, 4 channels, 12 filters 3x3, stride 1, pad 1: I = 256, W = 432, O = 768 words.
  const sa::Layer l = conv_layer(1, 8, 4, 12, 3, 1, 1);
  sa::Tiling t;
  t.m0 = 2, t.m1 = 3, t.m2 = 2, t.m3 = 1, t.c0 = 2, t.c1 = 1, t.c2 = 2, t.e1 = 4, t.e3 = 2;
  sa::ChunkHw hw;
  hw.pes = 168, hw.op_bits = 6, hw.psum_bits = 24;
  const auto k = [&](sa::Dataflow d) { return sa::count(l, t, d, hw, 1 << 30); };
  // rs (ShiftAddNAS): the ifmap row reaches M3 M2 M1 PEs R E / H = 3 times each, every delivered
  // word is read M0 S F / W = 6 times; a weight reaches N3 E3 E1 = 8 PEs and is read F = 8 times
  // in each; psums cross the GB 2 (C2 - 1) times and the array C2 (C1 R - 1) times.
  const sa::Counts rs = k(sa::Dataflow::kRs);
  CHECK(rs.gb_ifmap == 2 * 256);
  CHECK(rs.noc_ifmap == 2 * 3 * 3 * 256);
  CHECK(rs.rf_ifmap == 2 * 3 * 3 * 256 * 2 * 3);
  CHECK(rs.noc_weight == 8 * 432);
  CHECK(rs.rf_weight == 8 * 8 * 432);
  CHECK(rs.gb_ofmap == 2 * 768);
  CHECK(rs.gb_ofmap_reads == 768);
  CHECK(rs.noc_ofmap == 2 * 2 * 768);
  CHECK(rs.rf_ofmap == 2 * 2 * 3 * 5 * 768);
  // ws: a weight is read once per row of F uses; the S-word window cannot slide with F, so every
  // ifmap use comes over the NoC.
  const sa::Counts ws = k(sa::Dataflow::kWs);
  CHECK(ws.rf_weight == 8 * 432);
  CHECK(ws.noc_ifmap == rs.rf_ifmap);
  CHECK(ws.gb_ifmap == rs.gb_ifmap);
  // os: psums stay in the PE across C2: the GB only takes the finished outputs, the array
  // reduces once.
  const sa::Counts os = k(sa::Dataflow::kOs);
  CHECK(os.gb_ofmap == 768);
  CHECK(os.gb_ofmap_reads == 0);
  CHECK(os.noc_ofmap == 2 * 768);
  CHECK(os.noc_weight == rs.noc_weight);
  // is: the row segment stays across M2: the GB is read once per M3, the NoC once per M3 x M1.
  const sa::Counts is = k(sa::Dataflow::kIs);
  CHECK(is.gb_ifmap == 256);
  CHECK(is.noc_ifmap == 3 * 3 * 256);
  CHECK(is.noc_weight == rs.noc_weight);
  // Every dataflow does the same steps: N M3 M2 M0 C2 C0 E3 F S = 768, x 36 active PEs = MACs.
  for (const sa::Counts* c : {&rs, &ws, &os, &is})
    CHECK(static_cast<int64_t>(c->temporal_steps) * 36 == l.macs());
  // What each keeps costs register words: rs the C0 x S window, M0 x C0 x S weights, M0 psums,
  // ws one S window and F psums; os F x M0 psums; is C0 x ((F - 1) stride + S) ifmap words.
  const auto need = [&](sa::Dataflow d) { return sa::rf_need(l, t.m0, t.c0, l.f, d); };
  CHECK(need(sa::Dataflow::kRs).ifmap == 6);
  CHECK(need(sa::Dataflow::kRs).weight == 12);
  CHECK(need(sa::Dataflow::kRs).psum == 2);
  CHECK(need(sa::Dataflow::kWs).ifmap == 3);
  CHECK(need(sa::Dataflow::kWs).psum == 8);
  CHECK(need(sa::Dataflow::kOs).psum == 16);
  CHECK(need(sa::Dataflow::kOs).ifmap == 6);
  CHECK(need(sa::Dataflow::kIs).ifmap == 20);
  CHECK(need(sa::Dataflow::kIs).psum == 2);
  // GB footprint: rs holds C1 C0 = 2 channels x 6 rows x 10 columns of 6-bit ifmap and the
  // M2 M1 M0 E1 F = 384 24-bit psums of the C2 loop; os all 4 channels and one pass's
  // M1 M0 E1 F = 192 outputs.
  CHECK(sa::gb_footprint_bits(l, t, hw, sa::Dataflow::kRs) == 2 * 6 * 10 * 6 + 384 * 24);
  CHECK(sa::gb_footprint_bits(l, t, hw, sa::Dataflow::kIs) == 2 * 6 * 10 * 6 + 384 * 24);
  CHECK(sa::gb_footprint_bits(l, t, hw, sa::Dataflow::kOs) == 4 * 6 * 10 * 6 + 192 * 24);
  // Rows in F3 = 2 tiles of F0 = 4 columns: each tile takes (4 - 1) + 3 = 6 of the 10 padded
  // input columns (halo 12 / 10 at the GB and on the NoC); os and is bring the filters again per
  // tile, ws keeps them in the weight RF and reads each once per tile; the RFs hold a tile.
  sa::Tiling t2 = t;
  t2.f3 = 2;
  const auto k2 = [&](sa::Dataflow d) { return sa::count(l, t2, d, hw, 1 << 30); };
  CHECK(k2(sa::Dataflow::kOs).gb_ifmap == Approx(2 * 256 * 1.2));
  CHECK(k2(sa::Dataflow::kOs).noc_ifmap == Approx(2 * 3 * 3 * 256 * 1.2));
  CHECK(k2(sa::Dataflow::kOs).noc_weight == 2 * 8 * 432);
  CHECK(k2(sa::Dataflow::kIs).gb_ifmap == Approx(256 * 1.2));
  CHECK(k2(sa::Dataflow::kIs).noc_ifmap == Approx(3 * 3 * 256 * 1.2));
  CHECK(k2(sa::Dataflow::kIs).noc_weight == 2 * 8 * 432);
  CHECK(k2(sa::Dataflow::kWs).noc_weight == 8 * 432);
  CHECK(k2(sa::Dataflow::kWs).rf_weight == 2 * 8 * 432);
  CHECK(k2(sa::Dataflow::kWs).noc_ifmap == rs.rf_ifmap);
  for (sa::Dataflow d : {sa::Dataflow::kWs, sa::Dataflow::kOs, sa::Dataflow::kIs})
    CHECK(k2(d).temporal_steps == rs.temporal_steps);
  CHECK(sa::rf_need(l, t.m0, t.c0, 4, sa::Dataflow::kWs).psum == 4);
  CHECK(sa::rf_need(l, t.m0, t.c0, 4, sa::Dataflow::kOs).psum == 8);
  CHECK(sa::rf_need(l, t.m0, t.c0, 4, sa::Dataflow::kIs).ifmap == 12);
}

TEST_CASE("concurrent chunks share the GB in proportion to their PEs", "[sim]") {
  // A 32x32 3x3 adder conv needs at least ((2 - 1) + 3) x 34 6-bit ifmap words and 2 x 32 24-bit
  // psums in the GB (one channel, one filter, E1 = 2): 2352 bits = 294 B. That fits a 1 KiB GB,
  // but not the adder chunk's share of it, 1024 x 18 / 168 B, when three chunks run at once.
  Builder b;
  Conv big;
  big.h = big.w = 32, big.c = 2, big.filters = 2, big.kernel = 3, big.pad = 1;
  Conv small;
  small.h = small.w = 4, small.c = 2, small.filters = 2, small.kernel = 1;
  b.conv("a0", big, Kind::kAdder).conv("m0", small, Kind::kMult).conv("s0", small, Kind::kShift);
  const auto& w = b.workload();
  Builder b2;  // no shift layer: the shift chunk's PEs take no share
  b2.conv("a0", big, Kind::kAdder).conv("m0", small, Kind::kMult);
  const auto& w2 = b2.workload();
  const std::vector<std::string> hw = {"accelerator.mult_pes=120", "accelerator.shift_pes=30",
                                       "accelerator.adder_pes=18", "accelerator.gb_bytes=1024"};
  const auto with = [&hw](const std::string& partition) {
    std::vector<std::string> o = hw;
    o.push_back("accelerator.gb_partition=" + partition);
    return params("eyeriss_like.yaml", o);
  };
  Models models;
  ShiftAddModel& shared = models.make(with("pes"));
  ShiftAddModel& two = models.make(with("pes"));
  ShiftAddModel& whole = models.make(with("whole"));
  std::vector<Job> jobs;
  for (ShiftAddModel* m : {&shared, &two, &whole}) {
    Job j;
    j.model = m, j.workload = m == &two ? &w2 : &w, j.op = 0;
    jobs.push_back(j);
  }
  Models::run(jobs);
  const int64_t gb = 1024 * 8;
  CHECK(shared.gb_share_bits(sa::Chunk::kMult) == gb * 120 / 168);
  CHECK(shared.gb_share_bits(sa::Chunk::kShift) == gb * 30 / 168);
  CHECK(shared.gb_share_bits(sa::Chunk::kAdder) == gb * 18 / 168);
  CHECK(two.gb_share_bits(sa::Chunk::kMult) == gb * 120 / 138);
  CHECK(two.gb_share_bits(sa::Chunk::kAdder) == gb * 18 / 138);
  for (sa::Chunk c : {sa::Chunk::kMult, sa::Chunk::kShift, sa::Chunk::kAdder})
    CHECK(whole.gb_share_bits(c) == gb);
  REQUIRE(jobs[0].mapping != nullptr);
  REQUIRE(jobs[2].mapping != nullptr);
  CHECK_FALSE(jobs[0].mapping->fits_gb);
  CHECK(jobs[0].outcome.note.find("does not fit the GB") != std::string::npos);
  CHECK(jobs[2].mapping->fits_gb);
  CHECK(jobs[0].counters.at("dram_read_bytes") > jobs[2].counters.at("dram_read_bytes"));
}

TEST_CASE("the auto-mapper picks the dataflow combination of least network EDP", "[sim]") {
  Builder b;
  for (Kind k : {Kind::kMult, Kind::kShift, Kind::kAdder}) {
    const std::string p = k == Kind::kMult ? "mult." : k == Kind::kShift ? "shift." : "adder.";
    Conv stem;
    stem.h = stem.w = 16, stem.c = 3, stem.filters = 16, stem.kernel = 3, stem.pad = 1;
    b.conv(p + "stem", stem, k);
    Conv pw;
    pw.h = pw.w = 8, pw.c = 32, pw.filters = 64, pw.kernel = 1;
    b.conv(p + "pw", pw, k);
    Conv dw;
    dw.h = dw.w = 8, dw.c = dw.filters = 64, dw.kernel = 3, dw.pad = 1, dw.groups = 64;
    b.conv(p + "dw", dw, k);
    b.gemm(p + "fc", 1, 10, 256, k);
  }
  const auto& w = b.workload();
  const codesim::arch::TechTable tech = codesim::arch::TechTable::load("generic45");
  const std::vector<std::string> base = {"accelerator.shift_pes=120", "accelerator.adder_pes=100"};
  Models models;
  std::vector<ShiftAddModel*> ms;
  std::vector<std::string> combos;
  {
    std::vector<std::string> o = base;
    for (const char* c : {"mult", "shift", "adder"})
      o.push_back(std::string("accelerator.dataflow_") + c + "=auto");
    ms.push_back(&models.make(params("eyeriss_like.yaml", o)));
    combos.push_back("auto");
  }
  const char* dfs[] = {"rs", "is", "ws", "os"};
  for (const char* a : dfs)
    for (const char* s : dfs)
      for (const char* d : dfs) {
        std::vector<std::string> o = base;
        o.push_back(std::string("accelerator.dataflow_mult=") + a);
        o.push_back(std::string("accelerator.dataflow_shift=") + s);
        o.push_back(std::string("accelerator.dataflow_adder=") + d);
        ms.push_back(&models.make(params("eyeriss_like.yaml", o)));
        combos.push_back(std::string(a) + "/" + s + "/" + d);
      }
  std::vector<Job> jobs;
  for (ShiftAddModel* m : ms)
    for (int i = 0; i < w.ops_size(); ++i) {
      Job j;
      j.model = m, j.workload = &w, j.op = i;
      jobs.push_back(j);
    }
  Models::run(jobs);
  // EDP of every model from its counters priced by the table (not from the mapper's estimate),
  // the delay is the pipeline beat, the busiest chunk's cycles (ops are named by their chunk).
  std::vector<double> energy(ms.size()), cycles(ms.size());
  std::vector<std::map<char, double>> busy(ms.size());
  std::vector<bool> complete(ms.size(), true);
  for (const Job& j : jobs) {
    const size_t mi = static_cast<size_t>(std::find(ms.begin(), ms.end(), j.model) - ms.begin());
    if (j.cycles == 0) complete[mi] = false;  // some op has no valid tiling in this combination
    std::vector<codesim::sim::CounterValue> cv;
    for (const auto& k : j.model->stats().counters())
      cv.push_back({k->name, k->unit, k->component, k->action, j.counters.at(k->name)});
    for (const auto& kv : codesim::sim::price_counters(cv, j.model->components(), tech, j.cycles,
                                                       j.model->clock_mhz()))
      energy[mi] += kv.second;
    busy[mi][w.ops(j.op).name()[0]] += static_cast<double>(j.cycles);
  }
  for (size_t i = 0; i < ms.size(); ++i)
    for (const auto& kv : busy[i]) cycles[i] = std::max(cycles[i], kv.second);
  REQUIRE(complete[0]);
  double best = std::numeric_limits<double>::infinity();
  size_t arg = 0;
  int feasible = 0;
  for (size_t i = 1; i < ms.size(); ++i) {
    if (!complete[i]) continue;
    ++feasible;
    if (energy[i] * cycles[i] < best) best = energy[i] * cycles[i], arg = i;
  }
  INFO("best fixed combination " << combos[arg]);
  CHECK(feasible >= 8);
  CHECK(energy[0] * cycles[0] == Approx(best).epsilon(1e-6));
  // The report names the choice.
  const YAML::Node chosen = ms[0]->resolved_params()["chosen_dataflow"];
  CHECK(chosen["mult"].as<std::string>() + "/" + chosen["shift"].as<std::string>() + "/" +
            chosen["adder"].as<std::string>() ==
        combos[arg]);
}

TEST_CASE("PEs are allocated in proportion to each chunk's ops under the area budget", "[sim]") {
  Builder b;
  Conv c;
  c.h = c.w = 8, c.c = 16, c.filters = 16, c.kernel = 3, c.pad = 1;  // 147 456 MACs each
  b.conv("m0", c, Kind::kMult).conv("m1", c, Kind::kMult);
  b.conv("s0", c, Kind::kShift);
  b.conv("a0", c, Kind::kAdder).conv("a1", c, Kind::kAdder).conv("a2", c, Kind::kAdder);
  Models models;
  ShiftAddModel& given = models.make(params(
      "nasa_hybrid.yaml",
      {"accelerator.op_mix_mult=2", "accelerator.op_mix_shift=1", "accelerator.op_mix_adder=3"}));
  ShiftAddModel& from_workload = models.make(params("nasa_hybrid.yaml"));
  from_workload.bind_workload(b.workload());
  ShiftAddModel& reference = models.make(params("eyeriss_like.yaml"));
  const codesim::arch::TechTable tech = codesim::arch::TechTable::load("generic45");
  // Area of the chunk's PEs with their RFs, from the component inventory.
  const auto chunk_area = [&tech](const ShiftAddModel& m, const std::string& chunk) {
    double a = 0;
    for (const auto& comp : m.components())
      if (comp.name.rfind(chunk + "_", 0) == 0)
        a += tech.area_um2(comp) * static_cast<double>(comp.count);
    return a;
  };
  const double budget = chunk_area(reference, "mult");  // 168 multiply PEs
  for (ShiftAddModel* m : {&given, &from_workload}) {
    const double ops[3] = {2, 1, 3};
    const char* names[3] = {"mult", "shift", "adder"};
    double used = 0, per_pe[3], denom = 0;
    for (int k = 0; k < 3; ++k) {
      const int64_t n = m->pes(static_cast<sa::Chunk>(k));
      REQUIRE(n > 0);
      per_pe[k] = chunk_area(*m, names[k]) / static_cast<double>(n);
      used += chunk_area(*m, names[k]);
      denom += ops[k] * per_pe[k];
    }
    CHECK(used <= budget * (1 + 1e-12));
    for (int k = 0; k < 3; ++k) {
      // N_k = floor(budget * ops_k / sum_j ops_j * area_j): equal PEs per op, less than one PE
      // lost to rounding per chunk.
      const double exact = budget * ops[k] / denom;
      CHECK(static_cast<double>(m->pes(static_cast<sa::Chunk>(k))) <= exact + 1e-9);
      CHECK(static_cast<double>(m->pes(static_cast<sa::Chunk>(k))) > exact - 1);
    }
    // Cheaper PEs: more of them fit in the area of 168 multiply PEs.
    CHECK(m->pes(sa::Chunk::kMult) + m->pes(sa::Chunk::kShift) + m->pes(sa::Chunk::kAdder) > 168);
  }
}

TEST_CASE("6-bit chunks sized in words hold the multiply chunk's RF words in fewer bytes",
          "[sim]") {
  Builder b;
  Conv c;
  c.h = c.w = 8, c.c = 16, c.filters = 16, c.kernel = 3, c.pad = 1;
  b.conv("m0", c, Kind::kMult).conv("s0", c, Kind::kShift).conv("a0", c, Kind::kAdder);
  Models models;
  const std::vector<std::string> mix = {"accelerator.op_mix_mult=1", "accelerator.op_mix_shift=1",
                                        "accelerator.op_mix_adder=1"};
  std::vector<std::string> bytes_over = mix, words_over = mix;
  bytes_over.push_back("accelerator.rf_sizing=bytes");
  words_over.push_back("accelerator.rf_sizing=words");
  ShiftAddModel& bytes = models.make(params("nasa_hybrid.yaml", bytes_over));
  ShiftAddModel& words = models.make(params("nasa_hybrid.yaml", words_over));
  const auto rf_of = [](const ShiftAddModel& m, const std::string& name) {
    for (const auto& comp : m.components())
      if (comp.name == name) return comp.bytes;
    FAIL("no component " << name);
    return int64_t{0};
  };
  // Eyeriss RFs 24 / 448 / 72 B: 24 / 448 words of 8 bits, 24 psums of 24 bits.
  for (const sa::Chunk ch : {sa::Chunk::kShift, sa::Chunk::kAdder}) {
    const std::string name = sa::chunk_name(ch);
    CHECK(words.chunk_hw(ch).ifmap_rf_words == 24);
    CHECK(words.chunk_hw(ch).weight_rf_words == 448);
    CHECK(words.chunk_hw(ch).psum_rf_words == 24);
    CHECK(rf_of(words, name + "_rf_ifmap") == 24 * 6 / 8);
    CHECK(rf_of(words, name + "_rf_weight") == 448 * 6 / 8);
    CHECK(rf_of(words, name + "_rf_psum") == 72);
    // Sized in bytes, the same 24 / 448 B hold 6-bit words: 32 and 597 of them.
    CHECK(bytes.chunk_hw(ch).ifmap_rf_words == 24 * 8 / 6);
    CHECK(bytes.chunk_hw(ch).weight_rf_words == 448 * 8 / 6);
    CHECK(rf_of(bytes, name + "_rf_weight") == 448);
  }
  CHECK(words.chunk_hw(sa::Chunk::kMult).weight_rf_words == 448);
  CHECK(rf_of(words, "mult_rf_weight") == 448);
  // Smaller 6-bit PEs: the same area budget and op mix buy more of them.
  const auto total = [](const ShiftAddModel& m) {
    return m.pes(sa::Chunk::kMult) + m.pes(sa::Chunk::kShift) + m.pes(sa::Chunk::kAdder);
  };
  CHECK(total(words) > total(bytes));
  // The words also bound the mapping: the shift and adder layers' tilings fit 24 ifmap words.
  const codesim::ir::v1::Workload w = b.workload();
  std::vector<Job> jobs;
  for (int op = 1; op < 3; ++op) {
    Job j;
    j.model = &words, j.workload = &w, j.op = op;
    jobs.push_back(j);
  }
  Models::run(jobs);
  for (const Job& j : jobs) {
    REQUIRE(j.mapping != nullptr);
    const sa::Tiling& t = j.mapping->tiling;
    const sa::Layer l = sa::layer_of(w, w.ops(j.op));
    const sa::RfNeed need = sa::rf_need(l, t.m0, t.c0, l.f / t.f3, j.mapping->dataflow);
    CHECK(need.ifmap <= 24);
    CHECK(need.weight <= 448);
  }
}

TEST_CASE("chunks are layer-pipelined: the beat is the busiest chunk, latency all of them",
          "[sim]") {
  Builder b;
  Conv c;
  c.h = c.w = 8, c.c = 16, c.filters = 32, c.kernel = 3, c.pad = 1;
  b.conv("m0", c, Kind::kMult).conv("s0", c, Kind::kShift).conv("s1", c, Kind::kShift);
  b.conv("a0", c, Kind::kAdder).gemm("a1", 1, 10, 512, Kind::kAdder);
  const codesim::sim::RunResult r = codesim::sim::run_workload(
      codesim::test::shiftadd::arch("nasa_hybrid.yaml"), b.workload(), codesim::sim::RunOptions{});
  std::map<char, double> busy;
  for (const auto& o : r.ops) {
    REQUIRE(o.cycles > 0);
    busy[o.name[0]] += static_cast<double>(o.cycles);
  }
  const double beat = std::max({busy['m'], busy['s'], busy['a']});
  CHECK(r.derived.at("latency_cycles") == static_cast<double>(r.total_cycles));
  CHECK(r.derived.at("pipeline_beat_cycles") == beat);
  CHECK(r.derived.at("throughput_inferences_per_s") == Approx(250e6 / beat));
  CHECK(beat < static_cast<double>(r.total_cycles));
}

TEST_CASE("bad shiftadd parameters are located errors with a fix", "[unit]") {
  const std::string dir = codesim::test::temp_dir();
  const std::string arch = codesim::test::write_file(dir, "arch.yaml",
                                                     "accelerator:\n"
                                                     "  model: shiftadd\n"
                                                     "  dataflow_mult: xs\n"
                                                     "  shift_bitz: 6\n");
  const auto c = codesim::test::run_codesim("validate " + arch);
  CHECK(c.status == 2);
  CHECK_THAT(c.err,
             Catch::Contains(arch + ":3:18: error: accelerator.dataflow_mult: 'xs' is not one"));
  CHECK_THAT(c.err, Catch::Contains(arch + ":4:3: error: accelerator.shift_bitz: unknown key"));
  CHECK_THAT(c.err, Catch::Contains("did you mean 'shift_bits'?"));
}

TEST_CASE("a DRAM port that cannot keep up stretches an op to its bytes / bandwidth", "[sim]") {
  Builder b;
  Conv pw;
  pw.h = pw.w = 8, pw.c = 64, pw.filters = 64, pw.kernel = 1;
  Conv c3;
  c3.h = c3.w = 16, c3.c = 8, c3.filters = 16, c3.kernel = 3, c3.pad = 1;
  b.conv("pw", pw, Kind::kMult).conv("c3", c3, Kind::kShift).gemm("fc", 1, 10, 256, Kind::kAdder);
  const double bandwidth = 0.5;
  const codesim::sim::RunResult r = codesim::sim::run_workload(
      codesim::test::shiftadd::arch("eyeriss_like.yaml",
                                    {"accelerator.shift_pes=168", "accelerator.adder_pes=168",
                                     "accelerator.dram_bandwidth=" + std::to_string(bandwidth)}),
      b.workload(), codesim::sim::RunOptions{});
  int memory_bound = 0;
  for (const auto& o : r.ops) {
    INFO(o.name);
    std::map<std::string, uint64_t> c;
    for (const auto& v : o.counters) c[v.name] = v.value;
    const uint64_t steps = c.at("pe_array_steps");
    const auto mem = static_cast<uint64_t>(std::ceil(
        static_cast<double>(c.at("dram_read_bytes") + c.at("dram_write_bytes")) / bandwidth));
    CHECK(o.cycles == std::max(steps, mem));
    CHECK(o.stall_cycles == (mem > steps ? mem - steps : 0));
    memory_bound += mem > steps;
  }
  CHECK(memory_bound >= 2);  // the 1x1 conv and the classifier read more than they compute
}
