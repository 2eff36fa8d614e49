#include "arch/models/shiftadd/mapper.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "workloads/ir/ir.h"

namespace codesim::arch::shiftadd {

const char* chunk_name(Chunk c) {
  switch (c) {
    case Chunk::kShift:
      return "shift";
    case Chunk::kAdder:
      return "adder";
    default:
      return "mult";
  }
}

const char* dataflow_name(Dataflow d) {
  switch (d) {
    case Dataflow::kIs:
      return "is";
    case Dataflow::kWs:
      return "ws";
    case Dataflow::kOs:
      return "os";
    default:
      return "rs";
  }
}

bool parse_dataflow(const std::string& s, Dataflow& d) {
  for (int i = 0; i < kDataflows; ++i)
    if (s == dataflow_name(static_cast<Dataflow>(i))) {
      d = static_cast<Dataflow>(i);
      return true;
    }
  return false;
}

namespace {

const ir::v1::Tensor* weight_of(const ir::v1::Workload& w, const ir::v1::Op& op) {
  if (op.inputs_size() < 2) return nullptr;
  const ir::v1::Tensor* t = ir::find_tensor(w, op.inputs(1));
  return t && t->is_weight() ? t : nullptr;
}

std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> lo, hi;
  for (int64_t d = 1; d * d <= n; ++d)
    if (n % d == 0) {
      lo.push_back(d);
      if (d != n / d) hi.push_back(n / d);
    }
  lo.insert(lo.end(), hi.rbegin(), hi.rend());
  return lo;
}

}  // namespace

Chunk chunk_of(const ir::v1::Workload& w, const ir::v1::Op& op) {
  const ir::v1::Tensor* t = weight_of(w, op);
  if (t && t->structure().kind_case() == ir::v1::Structure::kPow2) return Chunk::kShift;
  if (t && t->structure().kind_case() == ir::v1::Structure::kAdder) return Chunk::kAdder;
  return Chunk::kMult;
}

bool mappable(const ir::v1::Workload& w, const ir::v1::Op& op) {
  if (op.kind_case() == ir::v1::Op::kConv2D) return op.inputs_size() >= 2;
  if (op.kind_case() == ir::v1::Op::kGemm) return weight_of(w, op) != nullptr;
  return false;
}

Layer layer_of(const ir::v1::Workload& w, const ir::v1::Op& op) {
  Layer l;
  if (op.kind_case() == ir::v1::Op::kGemm) {
    const auto& g = op.gemm();
    l.n = std::max<int64_t>(1, g.batch()) * g.m();
    l.m = g.n();
    l.c = g.k();
    l.fc = true;
    return l;
  }
  const auto& c = op.conv2d();
  l.groups = std::max<int64_t>(1, c.groups());
  l.n = std::max<int64_t>(1, c.batch());
  l.m = c.filters() / l.groups;
  l.c = c.c() / l.groups;
  l.h = c.h();
  l.w = c.w();
  l.r = c.kernel_h();
  l.s = c.kernel_w();
  l.stride = std::max<int64_t>(1, c.stride_h());
  const int64_t dh = std::max<int64_t>(1, c.dilation_h()),
                dw = std::max<int64_t>(1, c.dilation_w());
  l.e = ir::conv_out_dim(c.h(), c.kernel_h(), c.stride_h(), c.pad_top(), c.pad_bottom(), dh);
  l.f = ir::conv_out_dim(c.w(), c.kernel_w(), c.stride_w(), c.pad_left(), c.pad_right(), dw);
  l.fc = l.h == 1 && l.w == 1 && l.e == 1 && l.f == 1;
  return l;
}

std::string Tiling::str() const {
  std::ostringstream os;
  os << "N0=" << n0 << " N3=" << n3 << " M0=" << m0 << " M1=" << m1 << " M2=" << m2 << " M3=" << m3
     << " C0=" << c0 << " C1=" << c1 << " C2=" << c2 << " E1=" << e1 << " E3=" << e3;
  if (f3 > 1) os << " F3=" << f3;
  return os.str();
}

double gb_footprint_bits(const Layer& l, const Tiling& t, const ChunkHw& hw, Dataflow d) {
  const double in_rows = static_cast<double>((t.e1 - 1) * l.stride + l.r);
  const double in_cols = static_cast<double>((l.f - 1) * l.stride + l.s);
  const bool os = d == Dataflow::kOs;
  const double channels = static_cast<double>(os ? l.c : t.c1 * t.c0);
  const double ifmap = static_cast<double>(t.n0) * channels * in_rows * in_cols;
  const double ofmap = static_cast<double>(t.n0 * (os ? 1 : t.m2) * t.m1 * t.m0 * t.e1) *
                       static_cast<double>(os ? l.f / t.f3 : l.f);
  return ifmap * hw.op_bits + ofmap * hw.psum_bits;
}

Counts count(const Layer& l, const Tiling& t, Dataflow d, const ChunkHw& hw, int64_t gb_bits) {
  // Row stationary as in ShiftAddNAS's Eyeriss model: the loop nest (outer to inner)
  // DRAM [N3, E3, M3] > GB [N0, C2, M2] > spatial [M1, C1, E1, R] > RF [F, M0, C0, S].
  const double I = static_cast<double>(l.n * l.h * l.w * l.c);
  const double W = static_cast<double>(l.m * l.c * l.r * l.s);
  const double O = static_cast<double>(l.n * l.e * l.f * l.m);
  const double row_share = static_cast<double>(l.r * l.e) / static_cast<double>(l.h);
  const double col_share = static_cast<double>(l.s * l.f) / static_cast<double>(l.w);
  Counts k;
  k.dram_ifmap = static_cast<double>(t.m3) * I;
  k.dram_weight = static_cast<double>(t.n3 * t.e3) * W;
  k.dram_ofmap = O;
  k.gb_ifmap = static_cast<double>(t.m3 * t.m2) * I;
  k.gb_ofmap = static_cast<double>(std::max<int64_t>(2 * (t.c2 - 1), 1)) * O;
  k.gb_ofmap_reads = static_cast<double>(t.c2 - 1) * O;
  k.noc_ifmap = static_cast<double>(t.m3 * t.m2 * t.m1) * row_share * I;
  k.noc_weight = static_cast<double>(t.n3 * t.e3 * t.e1) * W;
  k.noc_ofmap = static_cast<double>(std::max<int64_t>(t.c2 * (t.c1 * l.r - 1), 1)) * O;
  k.rf_ifmap = k.noc_ifmap * static_cast<double>(t.m0) * col_share;
  k.rf_weight = static_cast<double>(t.n3 * t.e3 * t.e1 * l.f * t.n0) * W;
  k.rf_ofmap =
      static_cast<double>(std::max<int64_t>(2 * t.c2 * t.c1 * l.r * (t.c0 * l.s - 1), 1)) * O;
  // Each other dataflow keeps one operand in the PE longer than rs does; rf_need charges the
  // register file for exactly what is kept, so no reuse below is free. With the row in F3 tiles
  // (not rs), each tile's (F0 - 1) stride + S input columns leave the GB and cross the NoC (the
  // S - stride halo columns twice).
  const int64_t f0 = l.f / t.f3;
  const double halo = static_cast<double>(t.f3 * ((f0 - 1) * l.stride + l.s)) /
                      static_cast<double>((l.f - 1) * l.stride + l.s);
  k.gb_ifmap *= halo;
  k.noc_ifmap *= halo;
  switch (d) {
    case Dataflow::kWs:
      // GB loops [N0, C2, M2, F3]: the weight sits in the PE's operand register while the F0
      // output columns of its filter row stream past (one RF read per F0 uses, the F0 partial
      // sums held in the psum RF; the weight RF keeps the filters across the F3 tiles). The ifmap
      // RF then holds only an S-word window that cannot slide with F, so every ifmap use is
      // delivered over the NoC: no ifmap reuse inside the PE (NoC ifmap = rs's RF ifmap reads).
      k.rf_weight = static_cast<double>(t.n3 * t.e3 * t.e1 * t.n0 * t.f3) * W;
      k.noc_ifmap = k.rf_ifmap;
      break;
    case Dataflow::kOs:
      // GB loops [N0, M2, F3, C2]: the partial sums of the F0 x M0 outputs a PE makes in one C2
      // pass stay in its psum RF until C2 is done, so they never go to the GB and back, and the
      // array reduces them across its C1 x R PEs once instead of once per C2 pass. The filters
      // of every C2 pass come again for each F3 tile.
      k.noc_weight *= static_cast<double>(t.f3);
      k.gb_ofmap = O;
      k.gb_ofmap_reads = 0;
      k.noc_ofmap = static_cast<double>(std::max<int64_t>(t.c1 * l.r - 1, 1)) * O;
      break;
    case Dataflow::kIs:
      // GB loops [N0, C2, F3, M2]: the PE keeps its ifmap row segment (C0 channels x the
      // (F0 - 1) stride + S columns) across the M2 loop: the GB is read once per M3 and the NoC
      // delivers the segment once per (M3, M1) instead of once per M2. The filters of every M2
      // pass come again for each F3 tile.
      k.gb_ifmap = static_cast<double>(t.m3) * I * halo;
      k.noc_ifmap /= static_cast<double>(t.m2);
      k.noc_weight *= static_cast<double>(t.f3);
      break;
    default:
      break;
  }
  const double fp = gb_footprint_bits(l, t, hw, d);
  if (fp > static_cast<double>(gb_bits)) {
    const double overflow = 1.0 - static_cast<double>(gb_bits) / fp;
    k.spill = overflow * (k.gb_ifmap + k.gb_ofmap);
  }
  const double g = static_cast<double>(l.groups);
  for (double* v : {&k.dram_ifmap, &k.dram_weight, &k.dram_ofmap, &k.gb_ifmap, &k.gb_ofmap,
                    &k.gb_ofmap_reads, &k.noc_ifmap, &k.noc_weight, &k.noc_ofmap, &k.rf_ifmap,
                    &k.rf_weight, &k.rf_ofmap, &k.spill})
    *v *= g;
  const uint64_t steps =
      static_cast<uint64_t>(l.groups * l.n * t.m3 * t.m2 * t.m0 * t.c2 * t.c0 * t.e3 * l.f * l.s);
  k.temporal_steps = steps;
  k.cycles =
      static_cast<uint64_t>(std::ceil(static_cast<double>(steps) / hw.ops_per_pe_cycle - 1e-9));
  return k;
}

double price(const Counts& c, const Layer& l, const ChunkHw& hw, const UnitCosts& u) {
  const double b = hw.op_bits, pb = hw.psum_bits;
  double e = static_cast<double>(l.macs()) * u.op;
  e += ((c.dram_ifmap + c.dram_weight + c.dram_ofmap + c.spill) * b) * u.dram_bit;
  e += c.gb_ifmap * b * u.gb_read_bit;
  e +=
      c.gb_ofmap_reads * pb * u.gb_read_bit + (c.gb_ofmap - c.gb_ofmap_reads) * pb * u.gb_write_bit;
  e += (2 * (c.noc_ifmap + c.noc_weight) * b + c.noc_ofmap * pb) * u.noc_hop_bit;
  e += c.rf_ifmap * b * u.rf_ifmap_bit + c.rf_weight * b * u.rf_weight_bit;
  e += 0.5 * c.rf_ofmap * pb * (u.rf_psum_read_bit + u.rf_psum_write_bit);
  return e;
}

RfNeed rf_need(const Layer& l, int64_t m0, int64_t c0, int64_t f0, Dataflow d) {
  RfNeed n;
  // rs: the C0 x S ifmap window, the M0 filter rows and the psums of one output column.
  n.weight = m0 * c0 * l.s;
  n.ifmap = c0 * l.s;
  n.psum = m0;
  switch (d) {
    case Dataflow::kWs:  // one channel's S-word window; the F0 psums of one filter row
      n.ifmap = l.s;
      n.psum = f0;
      break;
    case Dataflow::kOs:  // the psums of all F0 x M0 outputs of a C2 pass
      n.psum = f0 * m0;
      break;
    case Dataflow::kIs:  // the input row segment of C0 channels and F0 output columns
      n.ifmap = c0 * ((f0 - 1) * l.stride + l.s);
      break;
    default:
      break;
  }
  return n;
}

namespace {

// Calls fn(tiling) for every tiling whose RF and PE constraints hold for dataflow d.
template <class Fn>
void for_each_tiling(const Layer& l, Dataflow d, const ChunkHw& hw, Fn fn) {
  const std::vector<int64_t> dm = divisors(l.m), dc = divisors(l.c), de = divisors(l.e),
                             dn = divisors(l.n);
  const std::vector<int64_t> df = d == Dataflow::kRs ? std::vector<int64_t>{1} : divisors(l.f);
  Tiling t;
  for (int64_t f3 : df) {
    const int64_t f0 = l.f / f3;
    for (int64_t m0 : dm) {
      if (rf_need(l, m0, 1, f0, d).psum > hw.psum_rf_words) break;
      for (int64_t c0 : dc) {
        const RfNeed need = rf_need(l, m0, c0, f0, d);
        if (need.ifmap > hw.ifmap_rf_words || need.weight > hw.weight_rf_words) break;
        for (int64_t e1 : de) {
          if (!l.fc && e1 == 1 && l.e > 1) continue;
          if (e1 * l.r > hw.pes) break;
          for (int64_t m1 : divisors(l.m / m0)) {
            if (m1 * e1 * l.r > hw.pes) break;
            for (int64_t c1 : divisors(l.c / c0)) {
              if (m1 * c1 * e1 * l.r > hw.pes) break;
              for (int64_t m2 : divisors(l.m / (m0 * m1))) {
                for (int64_t n0 : dn) {
                  t.m0 = m0;
                  t.m1 = m1;
                  t.m2 = m2;
                  t.m3 = l.m / (m0 * m1 * m2);
                  t.c0 = c0;
                  t.c1 = c1;
                  t.c2 = l.c / (c0 * c1);
                  t.e1 = e1;
                  t.e3 = l.e / e1;
                  t.n0 = n0;
                  t.n3 = l.n / n0;
                  t.f3 = f3;
                  fn(t);
                }
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

Mapping map_layer(const Layer& l, Dataflow d, const ChunkHw& hw, int64_t gb_bits,
                  const UnitCosts& u, Objective obj) {
  Mapping best;
  best.dataflow = d;
  if (hw.pes <= 0) return best;
  // Two populations: tilings that fit the GB, and (used only when there is none) those that spill.
  for (int pass = 0; pass < 2 && !best.valid; ++pass) {
    const bool want_fit = pass == 0;
    double emin = std::numeric_limits<double>::infinity(), emax = 0, lmin = emin, lmax = 0;
    if (obj == Objective::kShiftAddNas) {
      for_each_tiling(l, d, hw, [&](const Tiling& t) {
        if ((gb_footprint_bits(l, t, hw, d) <= static_cast<double>(gb_bits)) != want_fit) return;
        const Counts c = count(l, t, d, hw, gb_bits);
        const double e = price(c, l, hw, u), lat = static_cast<double>(c.cycles);
        emin = std::min(emin, e);
        emax = std::max(emax, e);
        lmin = std::min(lmin, lat);
        lmax = std::max(lmax, lat);
      });
    }
    double best_score = std::numeric_limits<double>::infinity();
    for_each_tiling(l, d, hw, [&](const Tiling& t) {
      const bool fits = gb_footprint_bits(l, t, hw, d) <= static_cast<double>(gb_bits);
      if (fits != want_fit) return;
      const Counts c = count(l, t, d, hw, gb_bits);
      const double e = price(c, l, hw, u);
      const double lat = static_cast<double>(c.cycles);
      const double score =
          obj == Objective::kEdp ? e * lat : (e - emin) / emax + (lat - lmin) / lmax;
      if (score < best_score) {
        best_score = score;
        best.valid = true;
        best.fits_gb = fits;
        best.tiling = t;
        best.counts = c;
        best.energy_pj = e;
      }
    });
  }
  return best;
}

}  // namespace codesim::arch::shiftadd
