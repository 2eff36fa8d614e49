#include "arch/models/systolic/systolic.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "arch/common/fold_memory.h"
#include "arch/common/fp16.h"
#include "arch/common/operand_values.h"
#include "arch/common/reference_ops.h"
#include "arch/models/systolic/engine.h"
#include "arch/models/systolic/schedule.h"
#include "sim/core/registry.h"
#include "workloads/ir/ir.h"

namespace codesim::arch {

using systolic::Dataflow;

const sim::ParamSchema<SystolicParams>& SystolicParams::schema() {
  static const sim::ParamSchema<SystolicParams> s = [] {
    sim::ParamSchema<SystolicParams> p;
    using P = SystolicParams;
    p.integer("rows", &P::rows, "PE rows of the array (R)").def(32).range(1, 4096).unit("PEs");
    p.integer("cols", &P::cols, "PE columns of the array (C)").def(32).range(1, 4096).unit("PEs");
    p.choice("dataflow", &P::dataflow, {"os", "ws", "is"},
             "output, weight or input stationary (SCALE-Sim v2 mapping)")
        .def("os");
    p.choice("operand", &P::operand, {"int8", "int16", "fp16", "fp32"},
             "operand type of the multipliers and of the SRAM/DRAM words")
        .def("int8");
    p.integer("accumulator_bits", &P::accumulator_bits,
              "accumulator and partial-sum width for integer operands (sums wrap); fp operands "
              "accumulate in fp32")
        .def(32)
        .range(16, 64)
        .unit("bits");
    p.integer("ifmap_sram_kib", &P::ifmap_sram_kib, "ifmap (input) SRAM capacity")
        .def(64)
        .range(1, 1 << 20)
        .unit("KiB");
    p.integer("filter_sram_kib", &P::filter_sram_kib, "filter (weight) SRAM capacity")
        .def(64)
        .range(1, 1 << 20)
        .unit("KiB");
    p.integer("ofmap_sram_kib", &P::ofmap_sram_kib, "ofmap (output and partial-sum) SRAM capacity")
        .def(64)
        .range(1, 1 << 20)
        .unit("KiB");
    declare_dram_port(p);
    p.real("clock_mhz", &P::clock_mhz, "clock frequency").def(1000.0).range(1, 100000).unit("MHz");
    p.boolean("fold_overlap", &P::fold_overlap,
              "double-buffered folds: the next fold's fill overlaps the current drain (false: "
              "SCALE-Sim, every fold fills and drains alone)")
        .def(false);
    return p;
  }();
  return s;
}

namespace {

Dataflow parse_dataflow(const std::string& s) {
  if (s == "ws") return Dataflow::kWs;
  if (s == "is") return Dataflow::kIs;
  return Dataflow::kOs;
}

// Integer operand values: the tensor's integer codes (saturated to the operand range); else its
// float data quantized symmetrically (the tensor's scale when it has one, else max|x| maps to
// the largest code); else pseudo-random codes seeded from the op name, so runs repeat.
std::vector<int16_t> int_values(const ir::v1::Tensor* t, int64_t n, int bits,
                                const std::string& seed) {
  const int32_t hi = (1 << (bits - 1)) - 1, lo = -hi - 1;
  std::vector<int16_t> v(static_cast<size_t>(n));
  const auto sat = [&](double x) {
    return static_cast<int16_t>(std::min<double>(hi, std::max<double>(lo, x)));
  };
  if (t && t->int_data_size() == n) {
    for (int64_t i = 0; i < n; ++i) v[i] = sat(t->int_data(static_cast<int>(i)));
  } else if (t && t->float_data_size() == n) {
    double scale = t->quantization().scale_size() > 0 ? t->quantization().scale(0) : 0.0;
    const double zero =
        t->quantization().zero_point_size() > 0 ? t->quantization().zero_point(0) : 0.0;
    if (scale <= 0) {
      double peak = 0;
      for (float x : t->float_data()) peak = std::max(peak, std::fabs(static_cast<double>(x)));
      scale = peak > 0 ? peak / hi : 1.0;
    }
    for (int64_t i = 0; i < n; ++i)
      v[i] = sat(std::nearbyint(t->float_data(static_cast<int>(i)) / scale) + zero);
  } else {
    uint64_t state = seed_from(seed);
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    for (auto& x : v)
      x = static_cast<int16_t>(lo + static_cast<int64_t>(next_random(state) % span));
  }
  return v;
}

// Floating-point operand values: float data, else integer codes, else pseudo-random in [-1, 1),
// rounded to binary16 for fp16 operands.
std::vector<float> fp_values(const ir::v1::Tensor* t, int64_t n, bool half,
                             const std::string& seed) {
  std::vector<float> v = float_operands(t, n, seed);
  if (half)
    for (auto& x : v) x = round_to_fp16(x);
  return v;
}

template <class A>
int64_t as_int64(A a) {
  if constexpr (std::is_same_v<A, uint32_t>)
    return static_cast<int32_t>(a);
  else
    return static_cast<int64_t>(a);
}

}  // namespace

SystolicModel::SystolicModel(const sc_core::sc_module_name& name, const Params& p)
    : sim::Accelerator(name, p.clock_mhz),
      p_(p),
      df_(parse_dataflow(p.dataflow)),
      dram_(p.dram_bandwidth, static_cast<uint64_t>(p.dram_latency)),
      ifmap_buf_("sram_ifmap", p.ifmap_sram_kib * 1024),
      filter_buf_("sram_filter", p.filter_sram_kib * 1024),
      mac_ops_(stats_.counter("mac_ops", "ops", "multiply-accumulates with two valid operands",
                              "pe_array", "mac")),
      sram_ifmap_reads_(stats_.counter("sram_ifmap_reads", "words",
                                       "ifmap elements read into the array (padding excluded)",
                                       "sram_ifmap", "read")),
      sram_filter_reads_(stats_.counter("sram_filter_reads", "words",
                                        "filter elements read into the array", "sram_filter",
                                        "read")),
      sram_ofmap_writes_(stats_.counter("sram_ofmap_writes", "words",
                                        "outputs and partial sums written by the array",
                                        "sram_ofmap", "write")),
      sram_ofmap_reads_(stats_.counter("sram_ofmap_reads", "words",
                                       "partial sums read back to accumulate (ws/is, K folded)",
                                       "sram_ofmap", "read")),
      sram_ifmap_fills_(stats_.counter("sram_ifmap_fills", "words",
                                       "ifmap elements written into the SRAM from DRAM",
                                       "sram_ifmap", "write")),
      sram_filter_fills_(stats_.counter("sram_filter_fills", "words",
                                        "filter elements written into the SRAM from DRAM",
                                        "sram_filter", "write")),
      sram_ofmap_drains_(stats_.counter("sram_ofmap_drains", "words",
                                        "outputs and spilled partial sums read out to DRAM",
                                        "sram_ofmap", "read")),
      sram_ofmap_refills_(stats_.counter("sram_ofmap_refills", "words",
                                         "spilled partial sums written back from DRAM",
                                         "sram_ofmap", "write")),
      dram_read_bytes_(
          stats_.counter("dram_read_bytes", "bytes", "bytes read from DRAM", "dram", "read")),
      dram_write_bytes_(
          stats_.counter("dram_write_bytes", "bytes", "bytes written to DRAM", "dram", "write")),
      pe_operand_reg_writes_(stats_.counter(
          "pe_operand_reg_writes", "writes",
          "operand registers latching a valid operand (pipeline hops and stationary loads)",
          "pe_operand_regs", "write")),
      pe_psum_reg_writes_(stats_.counter("pe_psum_reg_writes", "writes",
                                         "partial-sum registers latching a sum on its way down",
                                         "pe_psum_regs", "write")),
      folds_(stats_.counter("folds", "folds", "array folds (tiles of at most R x C)")) {
  stats_.formula("mac_per_ifmap_read", "ratio", "MACs per ifmap SRAM read (ifmap reuse)", [this] {
    return sram_ifmap_reads_.value ? static_cast<double>(mac_ops_.value) / sram_ifmap_reads_.value
                                   : 0.0;
  });
}

int SystolicModel::operand_bits() const {
  if (p_.operand == "int8") return 8;
  if (p_.operand == "fp32") return 32;
  return 16;
}

bool SystolicModel::supports(const ir::v1::Op& op) const {
  return systolic::OpMapping::supports(op);
}

double SystolicModel::peak_macs_per_cycle() const { return static_cast<double>(p_.rows * p_.cols); }

YAML::Node SystolicModel::resolved_params() const { return Params::schema().dump(p_); }

std::vector<Component> SystolicModel::components() const {
  const int bits = operand_bits(), acc = acc_bits();
  const int64_t pes = p_.rows * p_.cols;
  const bool os = df_ == Dataflow::kOs;
  std::vector<Component> c;
  Component mac;
  mac.name = "pe_array";
  mac.klass = ComponentClass::kMac;
  mac.count = pes;
  mac.number = fp() ? "fp" : "int";
  mac.bits = bits;
  mac.acc_bits = acc;
  c.push_back(mac);
  // Operand pipeline registers: left and top per PE (os); left plus the ping-pong pair holding
  // the stationary operand (ws/is).
  Component regs;
  regs.name = "pe_operand_regs";
  regs.klass = ComponentClass::kRegister;
  regs.count = pes * (os ? 2 : 3);
  regs.bits = bits;
  c.push_back(regs);
  if (!os) {
    Component psum;
    psum.name = "pe_psum_regs";
    psum.klass = ComponentClass::kRegister;
    psum.count = pes;
    psum.bits = acc;
    c.push_back(psum);
  }
  // Port widths: one word per array lane feeding (or leaving) the SRAM.
  const int64_t ifmap_lanes = df_ == Dataflow::kIs ? p_.cols : p_.rows;
  const int64_t filter_lanes = df_ == Dataflow::kIs ? p_.rows : p_.cols;
  const auto sram = [&](const char* name, int64_t kib, int64_t lanes, int word) {
    Component s;
    s.name = name;
    s.klass = ComponentClass::kSram;
    s.bytes = kib * 1024;
    s.port_bits = static_cast<int>(lanes * word);
    s.word_bits = word;
    return s;
  };
  c.push_back(sram("sram_ifmap", p_.ifmap_sram_kib, ifmap_lanes, bits));
  c.push_back(sram("sram_filter", p_.filter_sram_kib, filter_lanes, bits));
  c.push_back(sram("sram_ofmap", p_.ofmap_sram_kib, p_.cols, acc));
  Component dram;
  dram.name = "dram";
  dram.klass = ComponentClass::kDram;
  c.push_back(dram);
  return c;
}

void SystolicModel::run_op(const sim::OpTask& task) {
  int_out_.clear();
  fp_out_.clear();
  const systolic::OpMapping mp(task.workload, task.op, df_, static_cast<int>(p_.rows),
                               static_cast<int>(p_.cols));
  const std::vector<systolic::Fold> folds =
      systolic::make_folds(mp, static_cast<int>(p_.rows), static_cast<int>(p_.cols));
  if (!task.functional)
    execute<int16_t, uint32_t>(task, mp, folds);
  else if (fp())
    execute<float, float>(task, mp, folds);
  else if (acc_bits() <= 32)
    execute<int16_t, uint32_t>(task, mp, folds);
  else
    execute<int16_t, int64_t>(task, mp, folds);
}

template <class V, class A>
void SystolicModel::execute(const sim::OpTask& task, const systolic::OpMapping& mp,
                            const std::vector<systolic::Fold>& folds) {
  const bool functional = task.functional;
  const int64_t elem_bytes = operand_bits() / 8;
  FoldMemoryConfig mem;
  mem.elem_bytes = elem_bytes;
  mem.acc_bytes = (acc_bits() + 7) / 8;
  mem.ofmap_bytes = p_.ofmap_sram_kib * 1024;
  systolic::FoldScheduler sched(mp, folds, mem, dram_, ifmap_buf_, filter_buf_);

  std::vector<V> a, b;
  std::vector<A> out;
  if (functional) {
    const std::string& name = task.op.name();
    if constexpr (std::is_floating_point_v<V>) {
      a = fp_values(mp.a_tensor(), mp.a_elements(), p_.operand == "fp16", name + "/a");
      b = fp_values(mp.b_tensor(), mp.b_elements(), p_.operand == "fp16", name + "/b");
    } else {
      a = int_values(mp.a_tensor(), mp.a_elements(), operand_bits(), name + "/a");
      b = int_values(mp.b_tensor(), mp.b_elements(), operand_bits(), name + "/b");
    }
    out.assign(static_cast<size_t>(mp.out_elements()), A(0));
  }

  systolic::EngineConfig cfg;
  cfg.rows = static_cast<int>(p_.rows);
  cfg.cols = static_cast<int>(p_.cols);
  cfg.overlap = p_.fold_overlap;
  cfg.cycle = task.fidelity == sim::Fidelity::kCycle;
  cfg.functional = functional;
  const auto sync = [this](uint64_t t) {
    const uint64_t now = cycle();
    if (t > now) wait_cycles(t - now);
  };
  const uint64_t op_start = cycle();
  const systolic::EngineResult r = systolic::run_folds<V, A>(
      mp, folds, sched, cfg, functional ? a.data() : nullptr, functional ? b.data() : nullptr,
      functional ? out.data() : nullptr, op_start, sync);
  sync(r.end_cycle);

  // Array lanes to SRAMs: the left lanes carry the ifmap except under is, where they carry the
  // filter and the stationary tile is the ifmap.
  const bool is = df_ == Dataflow::kIs;
  mac_ops_ += r.events.macs;
  sram_ifmap_reads_ += is ? r.events.top_reads : r.events.left_reads;
  sram_filter_reads_ += is ? r.events.left_reads : r.events.top_reads;
  sram_ofmap_writes_ += r.events.out_writes;
  sram_ofmap_reads_ += r.events.out_reads;
  pe_operand_reg_writes_ += r.events.operand_reg_writes;
  pe_psum_reg_writes_ += r.events.psum_reg_writes;
  const FoldTraffic& m = sched.traffic();
  dram_read_bytes_ += m.dram_read_bytes;
  dram_write_bytes_ += m.dram_write_bytes;
  sram_ifmap_fills_ += m.a_bytes / static_cast<uint64_t>(elem_bytes);
  sram_filter_fills_ += m.b_bytes / static_cast<uint64_t>(elem_bytes);
  sram_ofmap_drains_ += m.ofmap_drains;
  sram_ofmap_refills_ += m.ofmap_refills;
  folds_ += folds.size();

  sim::OpOutcome& o = task.outcome;
  o.stall_cycles = r.stall_cycles;
  o.phases = r.phases;
  std::vector<std::string> notes;
  const uint64_t span = r.end_cycle - op_start;
  if (span > 0 && 2 * r.stall_cycles > span) notes.push_back("memory-bound");
  if (sched.psum_spills()) notes.push_back("partial sums spill to DRAM");
  for (size_t i = 0; i < notes.size(); ++i) o.note += (i ? "; " : "") + notes[i];

  if (!functional) return;
  // Outputs in the output tensor's layout, compared with the plain reference.
  std::vector<int64_t> ints;
  std::vector<float> fps;
  const int64_t mn = mp.m() * mp.n();
  if constexpr (std::is_floating_point_v<V>)
    fps.assign(static_cast<size_t>(mp.out_elements()), 0.0f);
  else
    ints.assign(static_cast<size_t>(mp.out_elements()), 0);
  for (int64_t s = 0; s < mp.subs(); ++s)
    for (int64_t i = 0; i < mp.m(); ++i)
      for (int64_t j = 0; j < mp.n(); ++j) {
        const A v = out[s * mn + i * mp.n() + j];
        const int64_t at = mp.out_addr(s, i, j);
        if constexpr (std::is_floating_point_v<V>)
          fps[at] = v;
        else
          ints[at] = wrap_to_bits(as_int64(v), acc_bits());
      }
  if constexpr (std::is_floating_point_v<V>) {
    const FpReference ref = mp.is_conv() ? reference_conv2d(a, b, mp.conv_shape())
                                         : reference_gemm(a, b, mp.gemm_shape());
    o.functional_mismatches = count_mismatches(fps, ref, mp.k());
    fp_out_ = std::move(fps);
  } else {
    const std::vector<int32_t> a32(a.begin(), a.end()), b32(b.begin(), b.end());
    const std::vector<int64_t> ref = mp.is_conv()
                                         ? reference_conv2d(a32, b32, mp.conv_shape(), acc_bits())
                                         : reference_gemm(a32, b32, mp.gemm_shape(), acc_bits());
    o.functional_mismatches = count_mismatches(ints, ref);
    int_out_ = std::move(ints);
  }
}

CODESIM_REGISTER_ACCELERATOR("systolic", SystolicModel);

}  // namespace codesim::arch
