#pragma once
// Test oracle: ShiftAddNAS's Eyeriss-style analytical cost model (You et al., ICML 2022; the rules
// of GATECH-EIC/ShiftAddNAS CV/retraining_hybrid/hw_utils.py as summarized in
// shared/reference/accelerators.md §3.3), written from those rules and independently of
// arch/models/shiftadd/mapper.cpp. It enumerates every factorization of the loop bounds (not the
// mapper's pruned nest), applies the constraints, prices every valid tiling with the access
// counts of the row-stationary nest and picks ShiftAddNAS's least
// (E - Emin)/Emax + (L - Lmin)/Lmax.
//
// The hardware limits are parameters instead of ShiftAddNAS's constants (192 PEs, 12/960/16-word
// RFs, 64 Ki-word GB, all x2 or x4 in its 8-bit mode). Four deliberate generalizations, each
// reducing to ShiftAddNAS when the parameters equal its own:
//   1. a capacity holds what it holds: the constraints are <= (ShiftAddNAS writes strict <
//      against its constants, which leaves one word of every RF and one PE unused),
//   2. partial sums have their own width (GB, NoC and RF ofmap traffic at psum_bits; final
//      outputs go to DRAM at data_bits); ShiftAddNAS uses one width for everything,
//   3. a conv with a 1-row output (E = 1) may use E1 = 1 (ShiftAddNAS allows it only for FC),
//   4. every layer type pays for every level. ShiftAddNAS zeroes the DRAM, GB and NoC costs of its
//      "Add" type (attention matmuls whose operands are on chip); a NASA adder layer is a
//      convolution fed from DRAM like the others.
// A grouped convolution is `groups` independent layers with C/groups channels and M/groups
// filters each.

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace codesim::test::shiftaddnas {

struct Layer {
  int64_t groups = 1;
  int64_t n = 1, h = 1, w = 1, c = 1, m = 1, e = 1, f = 1, r = 1, s = 1, stride = 1;
  bool fc = false;
};

struct Hardware {
  int64_t pes = 168;
  int64_t ifmap_rf_words = 12, weight_rf_words = 224, psum_rf_words = 24;
  double gb_bits = 131072.0 * 8;
  int data_bits = 8;  // ifmap, weight and final output words
  int psum_bits = 8;
  double ops_per_cycle = 1;  // ShiftAddNAS: 32 / 10 for its shift layers, else 1
};

// pJ per op of the layer's unit, and pJ per 16-bit word at each level (ShiftAddNAS scales every
// level by bits / 16).
struct Energies {
  double op = 0;
  double dram = 200, gb = 6 * 3.7, noc = 2 * 3.7, noc_psum = 3.7, rf = 3.7, rf_weight = 2 * 3.7;
};

struct Tiling {
  int64_t n0 = 1, n3 = 1, m0 = 1, m1 = 1, m2 = 1, m3 = 1, c0 = 1, c1 = 1, c2 = 1, e1 = 1, e3 = 1;
};

struct Result {
  bool valid = false;
  Tiling tiling;
  double energy_pj = 0;
  uint64_t cycles = 0;
};

// Every ordered k-tuple of positive integers whose product is n.
inline std::vector<std::vector<int64_t>> factorizations(int64_t n, int k) {
  if (k == 1) return {{n}};
  std::vector<std::vector<int64_t>> out;
  for (int64_t d = 1; d <= n; ++d) {
    if (n % d) continue;
    for (auto rest : factorizations(n / d, k - 1)) {
      rest.insert(rest.begin(), d);
      out.push_back(rest);
    }
  }
  return out;
}

inline bool valid(const Layer& l, const Tiling& t, const Hardware& hw) {
  if (t.m0 > hw.psum_rf_words) return false;
  if (t.c0 * l.s > hw.ifmap_rf_words) return false;
  if (t.m0 * t.c0 * l.s > hw.weight_rf_words) return false;
  if (t.m1 * t.c1 * t.e1 * l.r > hw.pes) return false;
  if (!l.fc && l.e > 1 && t.e1 == 1) return false;
  const double ifmap_words = static_cast<double>(
      t.n0 * t.c1 * t.c0 * ((t.e1 - 1) * l.stride + l.r) * ((l.f - 1) * l.stride + l.s));
  const double ofmap_words = static_cast<double>(t.n0 * t.m2 * t.m1 * t.m0 * t.e1 * l.f);
  return ifmap_words * hw.data_bits + ofmap_words * hw.psum_bits <= hw.gb_bits;
}

// ShiftAddNAS's access counts in words, one group (the caller multiplies by groups); gb_ofmap
// counts reads and writes, gb_ofmap_reads the reads among them.
struct Accesses {
  double ops = 0;
  double dram_ifmap = 0, dram_weight = 0, dram_ofmap = 0;
  double gb_ifmap = 0, gb_ofmap = 0, gb_ofmap_reads = 0;
  double noc_ifmap = 0, noc_weight = 0, noc_ofmap = 0;
  double rf_ifmap = 0, rf_weight = 0, rf_ofmap = 0;
};

inline Accesses accesses(const Layer& l, const Tiling& t) {
  const double ifmap = static_cast<double>(l.n * l.h * l.w * l.c);
  const double weight = static_cast<double>(l.r * l.s * l.c * l.m);
  const double ofmap = static_cast<double>(l.n * l.e * l.f * l.m);
  Accesses a;
  a.ops = ofmap * static_cast<double>(l.r * l.s * l.c);
  a.dram_ifmap = t.m3 * ifmap;
  a.dram_weight = static_cast<double>(t.n3 * t.e3) * weight;
  a.dram_ofmap = ofmap;
  a.gb_ifmap = static_cast<double>(t.m3 * t.m2) * ifmap;
  a.gb_ofmap = std::max<double>(2.0 * static_cast<double>(t.c2 - 1), 1.0) * ofmap;
  a.gb_ofmap_reads = static_cast<double>(t.c2 - 1) * ofmap;
  const double rows = static_cast<double>(l.r * l.e) / static_cast<double>(l.h);
  const double cols = static_cast<double>(l.s * l.f) / static_cast<double>(l.w);
  a.noc_ifmap = static_cast<double>(t.m3 * t.m2 * t.m1) * rows * ifmap;
  a.noc_weight = static_cast<double>(t.n3 * t.e3 * t.e1) * weight;
  a.noc_ofmap = std::max<double>(static_cast<double>(t.c2 * (t.c1 * l.r - 1)), 1.0) * ofmap;
  a.rf_ifmap = a.noc_ifmap * static_cast<double>(t.m0) * cols;
  a.rf_weight = static_cast<double>(t.n3 * t.e3 * t.e1 * l.f * t.n0) * weight;
  a.rf_ofmap =
      std::max<double>(2.0 * static_cast<double>(t.c2 * t.c1 * l.r * (t.c0 * l.s - 1)), 1.0) *
      ofmap;
  return a;
}

// One group; the caller multiplies by groups.
inline double energy_pj(const Layer& l, const Tiling& t, const Hardware& hw, const Energies& u) {
  const Accesses a = accesses(l, t);
  const double b = hw.data_bits / 16.0, pb = hw.psum_bits / 16.0;
  return a.ops * u.op + (a.dram_ifmap + a.dram_weight + a.dram_ofmap) * b * u.dram +
         (a.gb_ifmap * b + a.gb_ofmap * pb) * u.gb + (a.noc_ifmap + a.noc_weight) * b * u.noc +
         a.noc_ofmap * pb * u.noc_psum + (a.rf_ifmap * b + a.rf_ofmap * pb) * u.rf +
         a.rf_weight * b * u.rf_weight;
}

inline uint64_t cycles(const Layer& l, const Tiling& t, const Hardware& hw) {
  const double steps =
      static_cast<double>(l.n * t.m3 * t.m2 * t.m0 * t.c2 * t.c0 * t.e3 * l.f * l.s);
  return static_cast<uint64_t>(std::ceil(steps / hw.ops_per_cycle - 1e-9));
}

inline Result evaluate(const Layer& l, const Hardware& hw, const Energies& u) {
  struct Candidate {
    Tiling t;
    double e;
    double lat;
  };
  std::vector<Candidate> all;
  for (const auto& nf : factorizations(l.n, 2))
    for (const auto& mf : factorizations(l.m, 4))
      for (const auto& cf : factorizations(l.c, 3))
        for (const auto& ef : factorizations(l.e, 2)) {
          Tiling t;
          t.n0 = nf[0], t.n3 = nf[1];
          t.m0 = mf[0], t.m1 = mf[1], t.m2 = mf[2], t.m3 = mf[3];
          t.c0 = cf[0], t.c1 = cf[1], t.c2 = cf[2];
          t.e1 = ef[0], t.e3 = ef[1];
          if (!valid(l, t, hw)) continue;
          all.push_back({t, energy_pj(l, t, hw, u), static_cast<double>(cycles(l, t, hw))});
        }
  Result best;
  if (all.empty()) return best;
  double emin = std::numeric_limits<double>::infinity(), emax = 0, lmin = emin, lmax = 0;
  for (const auto& c : all) {
    emin = std::min(emin, c.e), emax = std::max(emax, c.e);
    lmin = std::min(lmin, c.lat), lmax = std::max(lmax, c.lat);
  }
  double best_metric = std::numeric_limits<double>::infinity();
  for (const auto& c : all) {
    const double metric = (c.e - emin) / emax + (c.lat - lmin) / lmax;
    if (metric < best_metric) {
      best_metric = metric;
      best.valid = true;
      best.tiling = c.t;
      best.energy_pj = c.e * static_cast<double>(l.groups);
      best.cycles = static_cast<uint64_t>(c.lat) * static_cast<uint64_t>(l.groups);
    }
  }
  return best;
}

}  // namespace codesim::test::shiftaddnas
