#pragma once
// The NASA chunk accelerator's analytical core (no SystemC): which chunk runs an op, the op's
// loop nest in ShiftAddNAS/Eyeriss notation, loop tilings over DRAM, GB, NoC (spatial) and RF,
// the access counts of the four dataflows, and the auto-mapper. The model (shiftadd.h) turns a
// chosen mapping into simulated time and counters; README.md states every formula.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "workload.pb.h"

namespace codesim::arch::shiftadd {

enum class Chunk { kMult = 0, kShift = 1, kAdder = 2 };
constexpr int kChunks = 3;
enum class Dataflow { kRs = 0, kIs = 1, kWs = 2, kOs = 3 };
constexpr int kDataflows = 4;
const char* chunk_name(Chunk c);
const char* dataflow_name(Dataflow d);
bool parse_dataflow(const std::string& s, Dataflow& d);

// The weight annotation decides the unit: structure.pow2 -> shift PEs, structure.adder -> adder
// PEs, anything else -> multiply PEs.
Chunk chunk_of(const ir::v1::Workload& w, const ir::v1::Op& op);
// gemm with a weight B, or conv2d.
bool mappable(const ir::v1::Workload& w, const ir::v1::Op& op);

// One group of a conv (or a gemm as a 1x1 conv over N = batch * m rows): N images, M filters,
// C channels, H x W input, E x F output, R x S kernel. A grouped conv runs `groups` such layers.
struct Layer {
  int64_t groups = 1;
  int64_t n = 1, m = 1, c = 1, h = 1, w = 1, e = 1, f = 1, r = 1, s = 1, stride = 1;
  bool fc = false;  // 1x1 input and output: E1 may be 1
  int64_t macs() const { return groups * n * m * c * e * f * r * s; }
};
Layer layer_of(const ir::v1::Workload& w, const ir::v1::Op& op);

// Per-chunk hardware the mapper sees. Capacities are in words of the chunk's widths.
struct ChunkHw {
  int64_t pes = 0;
  int64_t ifmap_rf_words = 0, weight_rf_words = 0, psum_rf_words = 0;
  int op_bits = 8;              // activation and weight words
  int psum_bits = 32;           // partial sums
  double ops_per_pe_cycle = 1;  // datapath_bits / op_bits with a packed operand stream
};

// Energy (pJ) per bit moved at each level and per op of the chunk's unit, from the tech table.
struct UnitCosts {
  double op = 0;  // one MAC / shift+accumulate / subtract+accumulate
  double dram_bit = 0;
  double gb_read_bit = 0, gb_write_bit = 0;
  double noc_hop_bit = 0;  // a multicast (ifmap, weight) takes 2 hops, a psum forward 1
  double rf_ifmap_bit = 0, rf_weight_bit = 0, rf_psum_read_bit = 0, rf_psum_write_bit = 0;
};

// F3 > 1 splits the F output columns of a row into F3 tiles of F / F3 at the GB level (ws, os and
// is only: rs is Eyeriss's row primitive, which keeps whole rows in the PE as ShiftAddNAS does).
struct Tiling {
  int64_t n0 = 1, n3 = 1;
  int64_t m0 = 1, m1 = 1, m2 = 1, m3 = 1;
  int64_t c0 = 1, c1 = 1, c2 = 1;
  int64_t e1 = 1, e3 = 1;
  int64_t f3 = 1;
  std::string str() const;
};

// Accesses in words over the whole op (all groups); the RF psum count includes reads and writes.
struct Counts {
  double dram_ifmap = 0, dram_weight = 0, dram_ofmap = 0;
  double gb_ifmap = 0, gb_ofmap = 0;  // gb_ofmap: reads + writes
  double gb_ofmap_reads = 0;
  double noc_ifmap = 0, noc_weight = 0, noc_ofmap = 0;
  double rf_ifmap = 0, rf_weight = 0, rf_ofmap = 0;
  double spill = 0;  // words that overflow the GB and go to DRAM and back instead
  uint64_t cycles = 0;
  uint64_t temporal_steps = 0;  // PE-array steps before packing several ops per cycle
};

struct Mapping {
  bool valid = false;   // some tiling exists (possibly spilling the GB)
  bool fits_gb = true;  // the chosen tiling's GB footprint fits
  Dataflow dataflow = Dataflow::kRs;
  Tiling tiling;
  Counts counts;
  double energy_pj = 0;  // dynamic, priced with UnitCosts
  double edp() const { return energy_pj * static_cast<double>(counts.cycles); }
};

enum class Objective { kEdp, kShiftAddNas };

// Register-file words a PE needs under dataflow d with M0 filters, C0 channels and F0 output
// columns in its RF loop.
struct RfNeed {
  int64_t ifmap = 0, weight = 0, psum = 0;
};
RfNeed rf_need(const Layer& l, int64_t m0, int64_t c0, int64_t f0, Dataflow d);

// GB footprint in bits of a tiling (ShiftAddNAS: ifmap tile + ofmap tile; weights bypass it).
// os runs the C2 loop inside M2, so the GB holds the ifmap of all C channels (else it would come
// from DRAM once per M2) and only one pass's finished outputs.
double gb_footprint_bits(const Layer& l, const Tiling& t, const ChunkHw& hw, Dataflow d);
Counts count(const Layer& l, const Tiling& t, Dataflow d, const ChunkHw& hw, int64_t gb_bits);
double price(const Counts& c, const Layer& l, const ChunkHw& hw, const UnitCosts& u);
// The best tiling of one dataflow. Objective kEdp: least energy x cycles; kShiftAddNas: least
// (E - Emin)/Emax + (L - Lmin)/Lmax over the valid tilings (ShiftAddNAS's choice). When no tiling
// fits the GB, the best of those that only overflow it (the overflow spills to DRAM).
Mapping map_layer(const Layer& l, Dataflow d, const ChunkHw& hw, int64_t gb_bits,
                  const UnitCosts& u, Objective obj);

}  // namespace codesim::arch::shiftadd
