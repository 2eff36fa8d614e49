#include "arch/models/shiftadd/shiftadd.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "arch/common/operand_values.h"
#include "sim/core/diagnostics.h"
#include "sim/core/registry.h"
#include "workloads/ir/ir.h"

namespace codesim::arch {

using shiftadd::Chunk;
using shiftadd::Dataflow;
using shiftadd::kChunks;
using shiftadd::kDataflows;

const sim::ParamSchema<ShiftAddParams>& ShiftAddParams::schema() {
  static const sim::ParamSchema<ShiftAddParams> s = [] {
    sim::ParamSchema<ShiftAddParams> p;
    using P = ShiftAddParams;
    const std::vector<std::string> dfs = {"auto", "rs", "is", "ws", "os"};
    p.real("clock_mhz", &P::clock_mhz, "clock frequency (NASA: 250 MHz in 45 nm)")
        .def(250.0)
        .range(1, 100000)
        .unit("MHz");
    p.integer("mult_pes", &P::mult_pes, "multiply-accumulate PEs of the CLP chunk")
        .def(168)
        .range(0, 1 << 20)
        .unit("PEs");
    p.integer("shift_pes", &P::shift_pes, "shift-and-accumulate PEs of the SLP chunk")
        .def(0)
        .range(0, 1 << 20)
        .unit("PEs");
    p.integer("adder_pes", &P::adder_pes, "subtract-abs-accumulate PEs of the ALP chunk")
        .def(0)
        .range(0, 1 << 20)
        .unit("PEs");
    p.integer("area_budget_mult_pes", &P::area_budget_mult_pes,
              "when > 0: the PE counts are allocated (NASA: N_chunk / ops_chunk equal for all "
              "chunks) in the area of this many multiply PEs with their RFs, priced by "
              "cost_table, by op_mix_* or, when those are all 0, by the workload's MACs per "
              "chunk; *_pes are then ignored")
        .def(0)
        .range(0, 1 << 20)
        .unit("PEs");
    p.real("op_mix_mult", &P::op_mix_mult,
           "ops of the multiply layers, for the area allocation (any unit, e.g. MMACs); all "
           "op_mix_* 0 = the workload's")
        .def(0.0)
        .range(0, 1e18);
    p.real("op_mix_shift", &P::op_mix_shift, "ops of the shift layers, for the area allocation")
        .def(0.0)
        .range(0, 1e18);
    p.real("op_mix_adder", &P::op_mix_adder, "ops of the adder layers, for the area allocation")
        .def(0.0)
        .range(0, 1e18);
    p.integer("mult_bits", &P::mult_bits, "activation and weight width of multiply layers")
        .def(8)
        .range(2, 32)
        .unit("bits");
    p.integer("shift_bits", &P::shift_bits,
              "activation and weight-code width of shift layers (NASA: 6)")
        .def(6)
        .range(2, 32)
        .unit("bits");
    p.integer("adder_bits", &P::adder_bits, "activation and weight width of adder layers (NASA: 6)")
        .def(6)
        .range(2, 32)
        .unit("bits");
    p.integer("psum_bits", &P::psum_bits, "accumulator and partial-sum width (sums wrap)")
        .def(24)
        .range(8, 64)
        .unit("bits");
    p.integer("datapath_bits", &P::datapath_bits,
              "PE datapath width fed by a packed operand stream: a PE completes datapath_bits / "
              "op_bits ops per cycle (ShiftAddNAS: 32-bit datapath, 10-bit shift data); 0 = one "
              "op per cycle")
        .def(0)
        .range(0, 1024)
        .unit("bits");
    p.integer("ifmap_rf_bytes", &P::ifmap_rf_bytes, "ifmap register file per PE (Eyeriss: 24 B)")
        .def(24)
        .range(1, 1 << 20)
        .unit("bytes");
    p.integer("weight_rf_bytes", &P::weight_rf_bytes,
              "weight register file per PE (Eyeriss: 448 B)")
        .def(448)
        .range(1, 1 << 20)
        .unit("bytes");
    p.integer("psum_rf_bytes", &P::psum_rf_bytes,
              "partial-sum register file per PE (Eyeriss: 72 B)")
        .def(72)
        .range(1, 1 << 20)
        .unit("bytes");
    p.choice("rf_sizing", &P::rf_sizing, {"bytes", "words"},
             "what *_rf_bytes fix in the shift and adder chunks: bytes = their RFs have those "
             "bytes (a 6-bit chunk holds more words than the 8-bit multiply chunk); words = their "
             "RFs hold as many words as the multiply chunk's (*_rf_bytes at mult_bits), each of "
             "the chunk's width, so 6-bit ifmap and weight RFs are 6/8 the size (psum RFs: "
             "psum_bits in every chunk)")
        .def("bytes");
    p.integer("gb_bytes", &P::gb_bytes, "shared global buffer (Eyeriss-like: 128 KiB)")
        .def(131072)
        .range(64, int64_t{1} << 34)
        .unit("bytes");
    p.real("dram_bandwidth", &P::dram_bandwidth,
           "DRAM bandwidth; an op takes at least its DRAM bytes / bandwidth; 0 = unlimited "
           "(as in ShiftAddNAS)")
        .def(0.0)
        .range(0, 1e9)
        .unit("bytes/cycle");
    p.choice("dataflow_mult", &P::dataflow_mult, dfs,
             "dataflow of the multiply chunk; auto = chosen by the mapper")
        .def("auto");
    p.choice("dataflow_shift", &P::dataflow_shift, dfs, "dataflow of the shift chunk").def("auto");
    p.choice("dataflow_adder", &P::dataflow_adder, dfs, "dataflow of the adder chunk").def("auto");
    p.choice("mapper_objective", &P::mapper_objective, {"edp", "shiftaddnas"},
             "tiling choice per layer: least energy x delay, or ShiftAddNAS's least "
             "(E-Emin)/Emax + (L-Lmin)/Lmax; dataflows under auto always minimize network energy x "
             "pipeline beat")
        .def("edp");
    p.choice("gb_partition", &P::gb_partition, {"pes", "whole"},
             "GB space a layer may tile into: pes = the chunks run concurrently (layer-pipelined) "
             "and share the GB in proportion to their PEs, among the chunks the workload uses; "
             "whole = every layer may use all of it (ShiftAddNAS's one-layer-at-a-time view)")
        .def("pes");
    p.text("cost_table", &P::cost_table,
           "technology table (name or path) the mapper and the area allocation price with; "
           "set it to the run's `technology:` so that the mapper optimizes what is reported")
        .def("generic45");
    return p;
  }();
  return s;
}

namespace {

int64_t wrap(int64_t v, int bits) {
  if (bits >= 64) return v;
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  uint64_t u = static_cast<uint64_t>(v) & mask;
  if (u >> (bits - 1)) u |= ~mask;
  return static_cast<int64_t>(u);
}

uint64_t round_count(double v) { return v <= 0 ? 0 : static_cast<uint64_t>(std::llround(v)); }

// The table's own error names the table; say which parameter gave it.
TechTable load_cost_table(const std::string& name) {
  try {
    return TechTable::load(name);
  } catch (const sim::ConfigError& e) {
    throw sim::ConfigError(std::string("accelerator.cost_table: ") + e.what());
  }
}

const char* kRfNames[3] = {"ifmap", "weight", "psum"};

// The configured bytes of RF `which` (0 ifmap, 1 weight, 2 psum).
int64_t given_rf_bytes(const ShiftAddParams& p, int which) {
  return which == 0 ? p.ifmap_rf_bytes : which == 1 ? p.weight_rf_bytes : p.psum_rf_bytes;
}

}  // namespace

ShiftAddModel::ShiftAddModel(const sc_core::sc_module_name& name, const Params& p)
    : sim::Accelerator(name, p.clock_mhz),
      p_(p),
      cost_table_(load_cost_table(p.cost_table)),
      mult_macs_(stats_.counter("mult_macs", "ops", "multiply-accumulates (multiply chunk)",
                                "mult_pe", "mac")),
      shift_ops_(stats_.counter("shift_ops", "ops", "shifts by a power-of-two weight",
                                "shift_pe_shifter", "shift")),
      shift_accs_(stats_.counter("shift_accs", "ops", "accumulations of shifted activations",
                                 "shift_pe_acc", "add")),
      adder_subs_(stats_.counter("adder_subs", "ops",
                                 "subtractions x - w (abs folded into the "
                                 "accumulate's add/subtract select)",
                                 "adder_pe_sub", "add")),
      adder_accs_(
          stats_.counter("adder_accs", "ops", "accumulations of -|x - w|", "adder_pe_acc", "add")),
      noc_multicast_bits_(stats_.counter(
          "noc_multicast_hop_bits", "bits",
          "ifmap and weight bits delivered to PEs, two register hops each (GB/DRAM to row bus, "
          "row bus to PE)",
          "noc", "write")),
      noc_psum_bits_(stats_.counter("noc_psum_hop_bits", "bits",
                                    "partial-sum bits forwarded between PEs (one hop)", "noc",
                                    "write")),
      gb_read_bits_(stats_.counter("gb_read_bits", "bits", "global buffer reads", "gb", "read")),
      gb_write_bits_(
          stats_.counter("gb_write_bits", "bits", "global buffer writes", "gb", "write")),
      dram_read_bytes_(
          stats_.counter("dram_read_bytes", "bytes", "bytes read from DRAM", "dram", "read")),
      dram_write_bytes_(
          stats_.counter("dram_write_bytes", "bytes", "bytes written to DRAM", "dram", "write")),
      pe_steps_(stats_.counter("pe_array_steps", "steps",
                               "temporal steps of the PE arrays (one op per active PE)")) {
  dataflow_param_ = {p.dataflow_mult, p.dataflow_shift, p.dataflow_adder};
  for (int c = 0; c < kChunks; ++c) {
    const std::string ch = shiftadd::chunk_name(static_cast<Chunk>(c));
    for (int r = 0; r < 3; ++r) {
      sim::Counter* rd =
          &stats_.counter("rf_" + ch + "_" + kRfNames[r] + "_read_bits", "bits",
                          std::string(kRfNames[r]) + " RF reads in the " + ch + " chunk",
                          ch + "_rf_" + kRfNames[r], "read");
      if (r == 0) rf_ifmap_reads_[c] = rd;
      if (r == 1) rf_weight_reads_[c] = rd;
      if (r == 2) rf_psum_reads_[c] = rd;
    }
    rf_psum_writes_[c] =
        &stats_.counter("rf_" + ch + "_psum_write_bits", "bits",
                        "psum RF writes in the " + ch + " chunk", ch + "_rf_psum", "write");
    busy_cycles_[c] = &stats_.counter("busy_cycles_" + ch, "cycles",
                                      "cycles the " + ch + " chunk computes (its pipeline stage)");
  }

  // PE counts: given, or NASA's allocation N_k = lambda * ops_k under the area budget.
  pes_ = {p.mult_pes, p.shift_pes, p.adder_pes};
  for (int c = 0; c < kChunks; ++c) {
    hw_[c].pes = pes_[c];
    hw_[c].op_bits = chunk_bits(static_cast<Chunk>(c));
    hw_[c].psum_bits = static_cast<int>(p.psum_bits);
    hw_[c].ifmap_rf_words = rf_words(static_cast<Chunk>(c), 0);
    hw_[c].weight_rf_words = rf_words(static_cast<Chunk>(c), 1);
    hw_[c].psum_rf_words = rf_words(static_cast<Chunk>(c), 2);
    hw_[c].ops_per_pe_cycle =
        p.datapath_bits > 0 ? static_cast<double>(p.datapath_bits) / hw_[c].op_bits : 1.0;
  }
  if (p.area_budget_mult_pes > 0 && p.op_mix_mult + p.op_mix_shift + p.op_mix_adder > 0)
    allocate({p.op_mix_mult, p.op_mix_shift, p.op_mix_adder});
  for (int c = 0; c < kChunks; ++c) {
    const Chunk ch = static_cast<Chunk>(c);
    shiftadd::UnitCosts& u = costs_[c];
    const Component a = pe_component(ch, 0), b = pe_component(ch, 1);
    u.op = cost_table_.energy_pj(a, ch == Chunk::kMult    ? "mac"
                                    : ch == Chunk::kShift ? "shift"
                                                          : "add") +
           (b.name.empty() ? 0.0 : cost_table_.energy_pj(b, "add"));
    Component dram;
    dram.klass = ComponentClass::kDram;
    dram.dram_type = cost_table_.default_dram_type();
    u.dram_bit = cost_table_.energy_pj(dram, "read") / 8;
    Component gb;
    gb.klass = ComponentClass::kSram;
    gb.bytes = p.gb_bytes;
    gb.port_bits = 64;
    gb.word_bits = 1;
    u.gb_read_bit = cost_table_.energy_pj(gb, "read");
    u.gb_write_bit = cost_table_.energy_pj(gb, "write");
    Component noc;
    noc.klass = ComponentClass::kRegister;
    noc.bits = 1;
    u.noc_hop_bit = cost_table_.energy_pj(noc, "write");
    u.rf_ifmap_bit = cost_table_.energy_pj(rf_component(ch, 0), "read");
    u.rf_weight_bit = cost_table_.energy_pj(rf_component(ch, 1), "read");
    u.rf_psum_read_bit = cost_table_.energy_pj(rf_component(ch, 2), "read");
    u.rf_psum_write_bit = cost_table_.energy_pj(rf_component(ch, 2), "write");
  }

  stats_.formula("pipeline_beat_cycles", "cycles",
                 "layer-pipelined stage time: the busiest chunk's cycles per inference", [this] {
                   uint64_t m = 0;
                   for (uint64_t b : busy_) m = std::max(m, b);
                   return static_cast<double>(m);
                 });
  stats_.formula("throughput_inferences_per_s", "1/s",
                 "inferences per second with the chunks pipelined over different inputs", [this] {
                   uint64_t m = 0;
                   for (uint64_t b : busy_) m = std::max(m, b);
                   return m ? p_.clock_mhz * 1e6 / static_cast<double>(m) : 0.0;
                 });
  stats_.formula("latency_cycles", "cycles", "one inference through all chunks in turn", [this] {
    uint64_t s = 0;
    for (uint64_t b : busy_) s += b;
    return static_cast<double>(s);
  });
  // The report prices leakage over every op's cycles, i.e. over the latency; with the chunks
  // pipelined an inference leaks for one beat, so this lets a reader re-price it.
  stats_.formula("leakage_mw", "mW",
                 "leakage power of all components, priced by cost_table (the report's energy "
                 "includes it over the latency; pipelined, an inference leaks over one beat)",
                 [this] {
                   double mw = 0;
                   for (const Component& c : components())
                     mw += cost_table_.leakage_mw(c) * static_cast<double>(c.count);
                   return mw;
                 });
  for (int c = 0; c < kChunks; ++c) {
    const std::string ch = shiftadd::chunk_name(static_cast<Chunk>(c));
    stats_.formula("pes_" + ch, "PEs", "PEs of the " + ch + " chunk",
                   [this, c] { return static_cast<double>(pes_[c]); });
    stats_.formula("dataflow_" + ch, "code",
                   "dataflow the " + ch + " chunk ran: 0 rs, 1 is, 2 ws, 3 os (see the op notes)",
                   [this, c] { return static_cast<double>(static_cast<int>(chosen_[c])); });
  }
}

int ShiftAddModel::chunk_bits(Chunk c) const {
  switch (c) {
    case Chunk::kShift:
      return static_cast<int>(p_.shift_bits);
    case Chunk::kAdder:
      return static_cast<int>(p_.adder_bits);
    default:
      return static_cast<int>(p_.mult_bits);
  }
}

double ShiftAddModel::pe_area_um2(Chunk c) const {
  double a = 0;
  for (int part = 0; part < 2; ++part) {
    const Component u = pe_component(c, part);
    if (!u.name.empty()) a += cost_table_.area_um2(u);
  }
  for (int r = 0; r < 3; ++r) a += cost_table_.area_um2(rf_component(c, r));
  return a;
}

// NASA: N_k / ops_k is the same for every chunk and sum_k N_k * area_k = the budget, so
// N_k = budget * ops_k / sum_j ops_j * area_j. A chunk with ops gets at least one PE.
void ShiftAddModel::allocate(const std::array<double, kChunks>& ops) {
  const double budget = static_cast<double>(p_.area_budget_mult_pes) * pe_area_um2(Chunk::kMult);
  double denom = 0;
  for (int c = 0; c < kChunks; ++c) denom += ops[c] * pe_area_um2(static_cast<Chunk>(c));
  for (int c = 0; c < kChunks; ++c) {
    // The relative epsilon keeps an exact share (one chunk: the whole budget) from rounding down
    // to one PE less through the division.
    pes_[c] =
        denom > 0 ? static_cast<int64_t>(std::floor(budget * ops[c] / denom * (1 + 1e-12))) : 0;
    if (ops[c] > 0) pes_[c] = std::max<int64_t>(pes_[c], 1);
  }
  op_mix_ = ops;
  for (int c = 0; c < kChunks; ++c) hw_[c].pes = pes_[c];
}

void ShiftAddModel::bind_workload(const ir::v1::Workload& w) {
  if (p_.area_budget_mult_pes <= 0 || p_.op_mix_mult + p_.op_mix_shift + p_.op_mix_adder > 0)
    return;
  std::array<double, kChunks> ops{};
  for (const auto& op : w.ops())
    if (supports(op) && shiftadd::mappable(w, op))
      ops[static_cast<int>(shiftadd::chunk_of(w, op))] +=
          static_cast<double>(shiftadd::layer_of(w, op).macs());
  allocate(ops);
}

// part 0: the op unit (MAC, shifter, subtractor); part 1: the accumulating adder of shift and
// adder PEs (a MAC includes its own).
Component ShiftAddModel::pe_component(Chunk c, int part) const {
  Component u;
  const int ci = static_cast<int>(c);
  u.count = pes_[ci];
  if (c == Chunk::kMult) {
    if (part == 1) return Component{};  // a MAC accumulates itself: no second part
    u.name = "mult_pe";
    u.klass = ComponentClass::kMac;
    u.bits = chunk_bits(c);
    u.acc_bits = static_cast<int>(p_.psum_bits);
    return u;
  }
  if (part == 1) {
    u.name = std::string(c == Chunk::kShift ? "shift" : "adder") + "_pe_acc";
    u.klass = ComponentClass::kAdder;
    u.bits = static_cast<int>(p_.psum_bits);
    return u;
  }
  u.name = c == Chunk::kShift ? "shift_pe_shifter" : "adder_pe_sub";
  u.klass = c == Chunk::kShift ? ComponentClass::kShifter : ComponentClass::kAdder;
  u.bits = chunk_bits(c);
  return u;
}

int64_t ShiftAddModel::rf_words(Chunk c, int which) const {
  const int64_t word_bits = which == 2                ? p_.psum_bits
                            : p_.rf_sizing == "words" ? p_.mult_bits
                                                      : chunk_bits(c);
  return given_rf_bytes(p_, which) * 8 / word_bits;
}

int64_t ShiftAddModel::rf_bytes(Chunk c, int which) const {
  if (which == 2 || p_.rf_sizing != "words") return given_rf_bytes(p_, which);
  return (rf_words(c, which) * chunk_bits(c) + 7) / 8;
}

Component ShiftAddModel::rf_component(Chunk c, int which) const {
  Component r;
  r.name = std::string(shiftadd::chunk_name(c)) + "_rf_" + kRfNames[which];
  r.klass = ComponentClass::kSram;
  r.count = pes_[static_cast<int>(c)];
  r.bytes = rf_bytes(c, which);
  r.port_bits = which == 2 ? static_cast<int>(p_.psum_bits) : chunk_bits(c);
  r.word_bits = 1;  // counters count bits
  return r;
}

std::vector<Component> ShiftAddModel::components() const {
  std::vector<Component> out;
  for (int c = 0; c < kChunks; ++c) {
    const Chunk ch = static_cast<Chunk>(c);
    for (int part = 0; part < 2; ++part) {
      Component u = pe_component(ch, part);
      if (!u.name.empty()) out.push_back(u);
    }
    for (int r = 0; r < 3; ++r) out.push_back(rf_component(ch, r));
  }
  Component gb;
  gb.name = "gb";
  gb.klass = ComponentClass::kSram;
  gb.bytes = p_.gb_bytes;
  gb.port_bits = 64;
  gb.word_bits = 1;
  out.push_back(gb);
  // NoC wiring area is not modelled (no table prices wires); its hops are priced as 1-bit
  // register writes.
  Component noc;
  noc.name = "noc";
  noc.klass = ComponentClass::kRegister;
  noc.bits = 1;
  noc.count = 0;
  out.push_back(noc);
  Component dram;
  dram.name = "dram";
  dram.klass = ComponentClass::kDram;
  out.push_back(dram);
  return out;
}

double ShiftAddModel::peak_macs_per_cycle() const {
  double s = 0;
  for (int c = 0; c < kChunks; ++c) s += static_cast<double>(pes_[c]) * hw_[c].ops_per_pe_cycle;
  return s;
}

YAML::Node ShiftAddModel::resolved_params() const {
  YAML::Node n = Params::schema().dump(p_);
  for (int c = 0; c < kChunks; ++c) {
    const Chunk ch = static_cast<Chunk>(c);
    n["allocated_pes"][shiftadd::chunk_name(ch)] = pes_[c];
    if (p_.area_budget_mult_pes > 0) n["allocation_op_mix"][shiftadd::chunk_name(ch)] = op_mix_[c];
    // What the auto-mapper picked (or the fixed choice); "-" for a chunk no op ran on.
    n["chosen_dataflow"][shiftadd::chunk_name(ch)] =
        used_[c] ? shiftadd::dataflow_name(chosen_[c]) : "-";
    if (planned_) n["gb_share_bytes"][shiftadd::chunk_name(ch)] = gb_share_[c] / 8;
  }
  return n;
}

bool ShiftAddModel::supports(const ir::v1::Op& op) const {
  return op.kind_case() == ir::v1::Op::kConv2D || op.kind_case() == ir::v1::Op::kGemm;
}

const shiftadd::Mapping* ShiftAddModel::mapping(const std::string& op) const {
  auto it = plan_.find(op);
  if (it == plan_.end()) return nullptr;
  return &it->second.by_dataflow[static_cast<int>(chosen_[static_cast<int>(it->second.chunk)])];
}

void ShiftAddModel::plan(const ir::v1::Workload& w) {
  const shiftadd::Objective obj = p_.mapper_objective == "shiftaddnas"
                                      ? shiftadd::Objective::kShiftAddNas
                                      : shiftadd::Objective::kEdp;
  std::array<bool, kChunks>& used = used_;
  for (const auto& op : w.ops())
    if (supports(op) && shiftadd::mappable(w, op))
      used[static_cast<int>(shiftadd::chunk_of(w, op))] = true;
  // The chunks that run share the GB concurrently: each gets its PEs' share of it.
  int64_t running_pes = 0;
  for (int c = 0; c < kChunks; ++c)
    if (used[c]) running_pes += pes_[c];
  for (int c = 0; c < kChunks; ++c)
    gb_share_[c] = p_.gb_partition == "pes" && used[c] && running_pes > 0
                       ? gb_bits() * pes_[c] / running_pes
                       : gb_bits();
  for (const auto& op : w.ops()) {
    if (!supports(op) || !shiftadd::mappable(w, op)) continue;
    Planned pl;
    pl.layer = shiftadd::layer_of(w, op);
    pl.chunk = shiftadd::chunk_of(w, op);
    const int c = static_cast<int>(pl.chunk);
    for (int d = 0; d < kDataflows; ++d) {
      Dataflow df;
      if (dataflow_param_[c] != "auto" &&
          (!shiftadd::parse_dataflow(dataflow_param_[c], df) || static_cast<int>(df) != d))
        continue;
      pl.by_dataflow[d] = shiftadd::map_layer(pl.layer, static_cast<Dataflow>(d), hw_[c],
                                              gb_share_[c], costs_[c], obj);
    }
    plan_[op.name()] = pl;
  }
  // Dataflow per chunk: fixed, or the combination (4^3 at most) of least network EDP, with
  // energy summed over the layers and delay the pipeline beat (the busiest chunk's cycles per
  // inference; with one chunk, the sum of its layers' cycles).
  std::array<std::vector<int>, kChunks> options;
  for (int c = 0; c < kChunks; ++c) {
    Dataflow df = Dataflow::kRs;
    if (dataflow_param_[c] == "auto" && used[c])
      options[c] = {0, 1, 2, 3};
    else
      options[c] = {shiftadd::parse_dataflow(dataflow_param_[c], df) ? static_cast<int>(df) : 0};
  }
  double best = std::numeric_limits<double>::infinity();
  for (int a : options[0])
    for (int b : options[1])
      for (int d : options[2]) {
        const int pick[3] = {a, b, d};
        double e = 0;
        std::array<double, kChunks> busy{};
        bool ok = true;
        for (const auto& kv : plan_) {
          const int c = static_cast<int>(kv.second.chunk);
          const shiftadd::Mapping& m = kv.second.by_dataflow[pick[c]];
          if (!m.valid) {
            ok = ok && pes_[c] == 0;
            continue;
          }
          e += m.energy_pj;
          busy[c] += static_cast<double>(m.counts.cycles);
        }
        const double beat = *std::max_element(busy.begin(), busy.end());
        if (ok && e * beat < best) {
          best = e * beat;
          for (int c = 0; c < kChunks; ++c) chosen_[c] = static_cast<Dataflow>(pick[c]);
        }
      }
  planned_ = true;
}

void ShiftAddModel::run_op(const sim::OpTask& task) {
  if (!planned_) plan(task.workload);
  out_.clear();
  sim::OpOutcome& o = task.outcome;
  auto it = plan_.find(task.op.name());
  if (it == plan_.end()) {
    o.note = "not mapped: a gemm needs a weight B";
    return;
  }
  const Planned& pl = it->second;
  const int c = static_cast<int>(pl.chunk);
  if (pes_[c] == 0) {
    o.note = std::string("the ") + shiftadd::chunk_name(pl.chunk) + " chunk has no PEs; op not run";
    return;
  }
  const shiftadd::Mapping& m = pl.by_dataflow[static_cast<int>(chosen_[c])];
  if (!m.valid) {
    o.note = "no tiling fits the PE array and register files";
    return;
  }
  execute(task, pl, m);
}

void ShiftAddModel::execute(const sim::OpTask& task, const Planned& pl,
                            const shiftadd::Mapping& m) {
  const shiftadd::Layer& L = pl.layer;
  const shiftadd::Tiling& t = m.tiling;
  const shiftadd::Counts& k = m.counts;
  const Chunk chunk = pl.chunk;
  const int c = static_cast<int>(chunk);
  const shiftadd::ChunkHw& hw = hw_[c];
  const int b = hw.op_bits, pb = hw.psum_bits;
  const bool is_conv = task.op.kind_case() == ir::v1::Op::kConv2D;

  // Action counts of the mapping.
  const uint64_t macs = static_cast<uint64_t>(L.macs());
  if (chunk == Chunk::kMult) mult_macs_ += macs;
  if (chunk == Chunk::kShift) {
    shift_ops_ += macs;
    shift_accs_ += macs;
  }
  if (chunk == Chunk::kAdder) {
    adder_subs_ += macs;
    adder_accs_ += macs;
  }
  *rf_ifmap_reads_[c] += round_count(k.rf_ifmap * b);
  *rf_weight_reads_[c] += round_count(k.rf_weight * b);
  *rf_psum_reads_[c] += round_count(0.5 * k.rf_ofmap * pb);
  *rf_psum_writes_[c] += round_count(0.5 * k.rf_ofmap * pb);
  noc_multicast_bits_ += round_count(2 * (k.noc_ifmap + k.noc_weight) * b);
  noc_psum_bits_ += round_count(k.noc_ofmap * pb);
  gb_read_bits_ += round_count(k.gb_ifmap * b + k.gb_ofmap_reads * pb);
  gb_write_bits_ += round_count((k.gb_ofmap - k.gb_ofmap_reads) * pb);
  const double spill_bits = k.spill * b;
  const uint64_t rd_bytes =
      round_count(((k.dram_ifmap + k.dram_weight) * b + 0.5 * spill_bits) / 8.0);
  const uint64_t wr_bytes = round_count((k.dram_ofmap * b + 0.5 * spill_bits) / 8.0);
  dram_read_bytes_ += rd_bytes;
  dram_write_bytes_ += wr_bytes;

  // Functional operands (only when asked): integer codes as the reference executor's integer
  // mode forms them when the workload carries quantization, else seeded codes.
  const bool functional = task.functional;
  std::vector<int64_t> xq, wq;
  std::vector<int> wshift;  // shift chunk: exponent offset p - p_min (or -1 for a zero weight)
  const ir::v1::Tensor* xt = ir::find_tensor(task.workload, task.op.inputs(0));
  const ir::v1::Tensor* wt = ir::find_tensor(task.workload, task.op.inputs(1));
  const int64_t nx = L.groups * L.n * L.c * L.h * L.w;
  const int64_t nw = L.groups * L.m * L.c * L.r * L.s;
  if (functional) {
    const std::string seed = task.op.name();
    uint64_t state = seed_from(seed + "/x");
    const bool xquant = xt && xt->float_data_size() == nx && xt->quantization().scale_size() == 1;
    double sx = 1;
    int64_t lo = -(int64_t{1} << (b - 1)), hi = (int64_t{1} << (b - 1)) - 1, zx = 0;
    xq.resize(static_cast<size_t>(nx));
    if (xquant) {
      const bool sgn = xt->dtype() == ir::v1::INT;
      const int xb = static_cast<int>(xt->bits());
      lo = sgn ? -(int64_t{1} << (xb - 1)) : 0;
      hi = sgn ? (int64_t{1} << (xb - 1)) - 1 : (int64_t{1} << xb) - 1;
      zx = xt->quantization().zero_point_size() ? xt->quantization().zero_point(0) : 0;
      const float s = xt->quantization().scale(0);
      sx = s;
      for (int64_t i = 0; i < nx; ++i) {
        double v = static_cast<double>(std::nearbyint(xt->float_data(static_cast<int>(i)) / s)) +
                   static_cast<double>(zx);
        v = std::min(static_cast<double>(hi), std::max(static_cast<double>(lo), v));
        xq[i] = static_cast<int64_t>(v) - zx;
      }
    } else {
      for (auto& v : xq)
        v = lo + static_cast<int64_t>(next_random(state) % static_cast<uint64_t>(hi - lo + 1));
    }
    state = seed_from(seed + "/w");
    wq.resize(static_cast<size_t>(nw));
    const int64_t half = (hi - lo + 1) / 2;
    if (chunk == Chunk::kShift) {
      wshift.resize(static_cast<size_t>(nw));
      const bool data = wt && wt->float_data_size() == nw &&
                        wt->structure().kind_case() == ir::v1::Structure::kPow2;
      const int pmin = data ? wt->structure().pow2().min_exponent() : 0;
      const int range = data ? wt->structure().pow2().max_exponent() - pmin : (1 << (b - 1)) - 2;
      for (int64_t i = 0; i < nw; ++i) {
        if (data) {
          const float v = wt->float_data(static_cast<int>(i));
          wq[i] = v < 0 ? -1 : v > 0 ? 1 : 0;
          wshift[i] = v == 0 ? -1 : std::ilogb(v) - pmin;
        } else {
          const uint64_t r = next_random(state);
          wq[i] = (r & 1) ? -1 : 1;
          wshift[i] = static_cast<int>((r >> 1) % static_cast<uint64_t>(range + 2)) - 1;
          if (wshift[i] < 0) wq[i] = 0;
        }
      }
    } else if (chunk == Chunk::kAdder) {
      const bool data = wt && wt->float_data_size() == nw && xquant;
      for (int64_t i = 0; i < nw; ++i) {
        if (data) {
          const double v = static_cast<double>(
              std::nearbyint(wt->float_data(static_cast<int>(i)) / static_cast<float>(sx)));
          wq[i] = static_cast<int64_t>(
              std::min(static_cast<double>(half - 1), std::max(static_cast<double>(-half), v)));
        } else {
          wq[i] =
              -half + static_cast<int64_t>(next_random(state) % static_cast<uint64_t>(2 * half));
        }
      }
    } else {
      const bool codes = wt && wt->int_data_size() == nw;
      const auto& q = wt ? wt->quantization() : ir::v1::Quantization();
      int64_t inner = 1;  // elements per step of the quantization axis
      if (wt)
        for (int d = q.axis() + 1; d < wt->shape_size(); ++d) inner *= wt->shape(d);
      for (int64_t i = 0; i < nw; ++i) {
        if (codes) {
          int64_t z = 0;
          if (q.zero_point_size() == 1) z = q.zero_point(0);
          if (q.zero_point_size() > 1)
            z = q.zero_point(static_cast<int>((i / inner) % wt->shape(q.axis())));
          wq[i] = wt->int_data(static_cast<int>(i)) - z;
        } else {
          wq[i] =
              -half + static_cast<int64_t>(next_random(state) % static_cast<uint64_t>(2 * half));
        }
      }
    }
  }

  // Index helpers: conv NCHW with weight [F, C/g, R, S]; gemm A [rows, K], B [K, N], out [rows, N].
  const auto& cv = task.op.conv2d();
  const int64_t pad_t = is_conv ? cv.pad_top() : 0, pad_l = is_conv ? cv.pad_left() : 0;
  const int64_t dil_h = is_conv ? std::max<int64_t>(1, cv.dilation_h()) : 1;
  const int64_t dil_w = is_conv ? std::max<int64_t>(1, cv.dilation_w()) : 1;
  const int64_t stride_w = is_conv ? std::max<int64_t>(1, cv.stride_w()) : 1;
  const int64_t C_all = L.groups * L.c, M_all = L.groups * L.m;
  const auto x_at = [&](int64_t g, int64_t n, int64_t ci, int64_t e, int64_t f, int64_t r,
                        int64_t s) -> int64_t {
    if (!is_conv) return xq[static_cast<size_t>(n * L.c + ci)];
    const int64_t iy = e * L.stride - pad_t + r * dil_h, ix = f * stride_w - pad_l + s * dil_w;
    if (iy < 0 || iy >= L.h || ix < 0 || ix >= L.w) return 0;
    return xq[static_cast<size_t>(((n * C_all + g * L.c + ci) * L.h + iy) * L.w + ix)];
  };
  const auto w_index = [&](int64_t g, int64_t mi, int64_t ci, int64_t r, int64_t s) -> size_t {
    if (!is_conv) return static_cast<size_t>(ci * L.m + mi);
    return static_cast<size_t>((((g * L.m + mi) * L.c + ci) * L.r + r) * L.s + s);
  };
  const auto out_index = [&](int64_t g, int64_t n, int64_t mi, int64_t e, int64_t f) -> size_t {
    if (!is_conv) return static_cast<size_t>(n * L.m + mi);
    return static_cast<size_t>(((n * M_all + g * L.m + mi) * L.e + e) * L.f + f);
  };
  const auto op_value = [&](int64_t x, size_t wi) -> int64_t {
    switch (chunk) {
      case Chunk::kShift:
        return wq[wi] == 0 ? 0 : wq[wi] * (x * (int64_t{1} << wshift[wi]));
      case Chunk::kAdder:
        return -std::llabs(x - wq[wi]);
      default:
        return x * wq[wi];
    }
  };
  const int64_t out_elems = L.groups * L.n * L.m * L.e * L.f;
  std::vector<int64_t> acc;
  if (functional) acc.assign(static_cast<size_t>(out_elems), 0);

  const bool cycle_fidelity = task.fidelity == sim::Fidelity::kCycle;
  const uint64_t op_start = cycle();
  uint64_t steps = 0;
  if (cycle_fidelity || functional) {
    // The loop nest of the mapping, one temporal step at a time; every active PE
    // (m1, c1, e1, r) does one op per step. Time advances at the end of each DRAM-level tile. The
    // GB loops run in rs's and ws's order; os and is order them differently, which changes
    // neither a result nor the number of steps.
    for (int64_t g = 0; g < L.groups; ++g)
      for (int64_t n3 = 0; n3 < t.n3; ++n3)
        for (int64_t e3 = 0; e3 < t.e3; ++e3)
          for (int64_t m3 = 0; m3 < t.m3; ++m3) {
            for (int64_t n0 = 0; n0 < t.n0; ++n0)
              for (int64_t c2 = 0; c2 < t.c2; ++c2)
                for (int64_t m2 = 0; m2 < t.m2; ++m2)
                  for (int64_t f3 = 0; f3 < t.f3; ++f3)
                    for (int64_t f = f3 * (L.f / t.f3); f < (f3 + 1) * (L.f / t.f3); ++f)
                      for (int64_t m0 = 0; m0 < t.m0; ++m0)
                        for (int64_t c0 = 0; c0 < t.c0; ++c0)
                          for (int64_t s = 0; s < L.s; ++s) {
                            ++steps;
                            if (!functional) continue;
                            const int64_t n = n3 * t.n0 + n0;
                            for (int64_t m1 = 0; m1 < t.m1; ++m1) {
                              const int64_t mi = ((m3 * t.m2 + m2) * t.m1 + m1) * t.m0 + m0;
                              for (int64_t e1 = 0; e1 < t.e1; ++e1) {
                                const int64_t e = e3 * t.e1 + e1;
                                int64_t sum = 0;  // reduced over c1 and r across PEs
                                for (int64_t c1 = 0; c1 < t.c1; ++c1) {
                                  const int64_t ci = (c2 * t.c1 + c1) * t.c0 + c0;
                                  for (int64_t r = 0; r < L.r; ++r)
                                    sum += op_value(x_at(g, n, ci, e, f, r, s),
                                                    w_index(g, mi, ci, r, s));
                                }
                                acc[out_index(g, n, mi, e, f)] += sum;
                              }
                            }
                          }
            if (cycle_fidelity) {
              const uint64_t now =
                  op_start + static_cast<uint64_t>(std::ceil(
                                 static_cast<double>(steps) / hw.ops_per_pe_cycle - 1e-9));
              if (now > cycle()) wait_cycles(now - cycle());
            }
          }
  }
  if (!cycle_fidelity) steps = k.temporal_steps;
  const uint64_t compute =
      static_cast<uint64_t>(std::ceil(static_cast<double>(steps) / hw.ops_per_pe_cycle - 1e-9));
  uint64_t total = compute;
  sim::OpOutcome& o = task.outcome;
  if (p_.dram_bandwidth > 0) {
    const uint64_t mem = static_cast<uint64_t>(
        std::ceil(static_cast<double>(rd_bytes + wr_bytes) / p_.dram_bandwidth));
    if (mem > compute) {
      total = mem;
      o.stall_cycles = mem - compute;
    }
  }
  const uint64_t end = op_start + total;
  if (end > cycle()) wait_cycles(end - cycle());
  pe_steps_ += steps;
  busy_[c] += total;
  *busy_cycles_[c] += total;
  o.phases.push_back(
      sim::Phase{std::string(shiftadd::chunk_name(chunk)) + " chunk", op_start, end});

  std::ostringstream note;
  note << shiftadd::chunk_name(chunk) << " chunk, " << shiftadd::dataflow_name(m.dataflow) << ", "
       << t.str();
  if (!m.fits_gb) note << "; does not fit the GB (overflow spills to DRAM)";
  if (o.stall_cycles * 2 > total) note << "; memory-bound";
  o.note = note.str();

  if (!functional) return;
  // Independent direct loop over the op (no tiling), for the mismatch count.
  std::vector<int64_t> ref(static_cast<size_t>(out_elems), 0);
  for (int64_t g = 0; g < L.groups; ++g)
    for (int64_t n = 0; n < L.n; ++n)
      for (int64_t mi = 0; mi < L.m; ++mi)
        for (int64_t e = 0; e < L.e; ++e)
          for (int64_t f = 0; f < L.f; ++f) {
            int64_t sum = 0;
            for (int64_t ci = 0; ci < L.c; ++ci)
              for (int64_t r = 0; r < L.r; ++r)
                for (int64_t s = 0; s < L.s; ++s)
                  sum += op_value(x_at(g, n, ci, e, f, r, s), w_index(g, mi, ci, r, s));
            ref[out_index(g, n, mi, e, f)] = wrap(sum, pb);
          }
  int64_t mismatches = 0;
  for (size_t i = 0; i < acc.size(); ++i) {
    acc[i] = wrap(acc[i], pb);
    if (acc[i] != ref[i]) ++mismatches;
  }
  o.functional_mismatches = mismatches;
  out_ = std::move(acc);
}

CODESIM_REGISTER_ACCELERATOR("shiftadd", ShiftAddModel);

}  // namespace codesim::arch
