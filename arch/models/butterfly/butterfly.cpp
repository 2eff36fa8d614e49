#include "arch/models/butterfly/butterfly.h"

#include <algorithm>
#include <cmath>
#include <complex>

#include "arch/common/fp16.h"
#include "arch/common/operand_values.h"
#include "sim/core/registry.h"
#include "workloads/ir/ir.h"

namespace codesim::arch {

using butterfly::PassSpec;
using butterfly::RunTimes;

const sim::ParamSchema<ButterflyParams>& ButterflyParams::schema() {
  static const sim::ParamSchema<ButterflyParams> s = [] {
    sim::ParamSchema<ButterflyParams> p;
    using P = ButterflyParams;
    p.integer("engines", &P::engines,
              "butterfly engines P_be (one vector each per run); 0 = no butterfly processor "
              "(dense baseline: butterfly and fft ops run as dense products)")
        .def(120)
        .range(0, 4096)
        .unit("engines");
    p.integer("units_per_engine", &P::units_per_engine,
              "adaptable butterfly units per engine P_bu (4 FP16 multipliers each); the engine "
              "has 2 P_bu data banks")
        .def(4)
        .range(1, 64)
        .unit("units");
    p.real("clock_mhz", &P::clock_mhz, "clock frequency").def(200.0).range(1, 10000).unit("MHz");
    p.integer("input_port_bits", &P::input_port_bits, "off-chip input (activation) port width")
        .def(2048)
        .range(16, 1 << 20)
        .unit("bits/cycle");
    p.integer("coef_port_bits", &P::coef_port_bits,
              "off-chip coefficient (weights, twiddles) port width")
        .def(256)
        .range(16, 1 << 20)
        .unit("bits/cycle");
    p.integer("output_port_bits", &P::output_port_bits, "off-chip output port width")
        .def(2048)
        .range(16, 1 << 20)
        .unit("bits/cycle");
    p.integer("unit_latency", &P::unit_latency,
              "cycles from a pair's issue until the next stage can read its results, "
              "butterfly-linear mode (RTL delay_recover_stage = 1 + mul 2 + (add 1 + 1) + 1 + 1); "
              "FFT mode adds the complex add/sub stage (+1)")
        .def(7)
        .range(1, 64)
        .unit("cycles");
    p.integer("max_length", &P::max_length,
              "longest vector an engine's buffers hold: buffers A and B of max_length 16-bit words "
              "each (ping-pong for real vectors; a complex FFT vector takes the same half of both, "
              "so FFTs longer than max_length / 2 run without overlap)")
        .def(4096)
        .range(2, 1 << 20)
        .unit("elements");
    p.integer("weight_buffer_depth", &P::weight_buffer_depth,
              "entries per half of the shared ping-pong weight buffer; an entry is the 4 P_bu "
              "16-bit coefficients the units take in one cycle (RTL weight_buffer: 1024)")
        .def(1024)
        .range(1, 1 << 24)
        .unit("entries");
    p.integer("shortcut_depth", &P::shortcut_depth,
              "16-bit words of each engine's shortcut FIFO, filled from the engine's input "
              "stream and drained by the post-processor's residual add (RTL sif_fifo: 1024, one "
              "row of D_hid <= 1024)")
        .def(1024)
        .range(1, 1 << 24)
        .unit("words");
    p.boolean("skew", &P::skew,
              "conflict-free column skew (bank = (row + popcount(column)) mod 2 P_bu); false = "
              "plain layout, whose stages with stride >= 2 P_bu conflict")
        .def(true);
    p.integer("heads", &P::heads, "attention processor heads P_head (0 = no attention processor)")
        .def(0)
        .range(0, 1024)
        .unit("heads");
    p.integer("qk_macs", &P::qk_macs, "multipliers of each head's QK unit P_qk")
        .def(0)
        .range(0, 4096)
        .unit("multipliers");
    p.integer("sv_macs", &P::sv_macs, "multipliers of each head's SV unit P_sv")
        .def(0)
        .range(0, 4096)
        .unit("multipliers");
    p.integer("dense_multipliers", &P::dense_multipliers,
              "dense linear engine (multiplier array + adder tree) for weight GEMMs; 0 = none")
        .def(0)
        .range(0, 1 << 20)
        .unit("multipliers");
    p.integer("postp_lanes", &P::postp_lanes,
              "post-processor lanes for element-wise ops and LayerNorm that are not fused into a "
              "write-back")
        .def(16)
        .range(1, 1 << 16)
        .unit("elements/cycle");
    return p;
  }();
  return s;
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int log2i(int64_t n) { return 63 - __builtin_clzll(static_cast<uint64_t>(n)); }

int64_t elements_of(const ir::v1::Workload& w, const std::string& name) {
  const ir::v1::Tensor* t = ir::find_tensor(w, name);
  return t ? ir::tensor_elements(*t) : 0;
}
int64_t last_dim(const ir::v1::Workload& w, const std::string& name) {
  const ir::v1::Tensor* t = ir::find_tensor(w, name);
  return t && t->shape_size() > 0 ? t->shape(t->shape_size() - 1) : 1;
}
// Signal width of an fft input: the last axis, or the one before the (re, im) axis.
int64_t fft_width(const ir::v1::Workload& w, const ir::v1::Op& op) {
  const ir::v1::Tensor* t = op.inputs_size() ? ir::find_tensor(w, op.inputs(0)) : nullptr;
  const int skip = op.fft().real_input() ? 1 : 2;
  if (!t || t->shape_size() < skip) return op.fft().lengths(op.fft().lengths_size() - 1);
  return t->shape(t->shape_size() - skip);
}

// Tensor values (arch/common/operand_values.h, seeded by name), rounded to FP16.
std::vector<float> values(const ir::v1::Workload& w, const std::string& name, int64_t n) {
  std::vector<float> v = float_operands(ir::find_tensor(w, name), n, name);
  for (auto& x : v) x = round_to_fp16(x);
  return v;
}

int64_t bit_reverse(int64_t i, int bits) {
  int64_t r = 0;
  for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
  return r;
}

// Radix-2 FFT of one vector on the engine's units in FP16 (S2P writes in bit-reversed order).
void engine_fft(std::vector<butterfly::Cplx>& v, int units, bool inverse) {
  const int64_t n = static_cast<int64_t>(v.size());
  const int bits = log2i(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = bit_reverse(i, bits);
    if (j > i) std::swap(v[i], v[j]);
  }
  const double sign = inverse ? 1.0 : -1.0;
  for (int s = 0; s < bits; ++s) {
    const int64_t d = int64_t{1} << s;
    butterfly::for_each_issue(n, s, units, [&](const int64_t* lo, int count) {
      for (int k = 0; k < count; ++k) {
        const double a = sign * M_PI * static_cast<double>(lo[k] % d) / static_cast<double>(d);
        const butterfly::Cplx w{round_to_fp16(static_cast<float>(std::cos(a))),
                                round_to_fp16(static_cast<float>(std::sin(a)))};
        butterfly::fft_pair(v[lo[k]], v[lo[k] + d], w);
      }
    });
  }
}

void reference_fft(std::vector<std::complex<double>>& v, bool inverse) {
  const int64_t n = static_cast<int64_t>(v.size());
  // Recursive-free Stockham-like naive split: decimation in frequency, independent of the engine.
  for (int64_t len = n; len >= 2; len /= 2) {
    const double ang = (inverse ? 2 : -2) * M_PI / static_cast<double>(len);
    for (int64_t b = 0; b < n; b += len)
      for (int64_t j = 0; j < len / 2; ++j) {
        const std::complex<double> a = v[b + j], c = v[b + j + len / 2];
        v[b + j] = a + c;
        v[b + j + len / 2] = (a - c) * std::polar(1.0, ang * static_cast<double>(j));
      }
  }
  const int bits = log2i(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = bit_reverse(i, bits);
    if (j > i) std::swap(v[i], v[j]);
  }
}

}  // namespace

ButterflyModel::ButterflyModel(const sc_core::sc_module_name& name, const Params& p)
    : sim::Accelerator(name, p.clock_mhz),
      p_(p),
      layout_{static_cast<int>(2 * p.units_per_engine), p.skew},
      pipe_(butterfly::PortConfig{p.input_port_bits, p.coef_port_bits, p.output_port_bits,
                                  static_cast<int>(p.units_per_engine), p.weight_buffer_depth,
                                  p.shortcut_depth},
            std::max<int64_t>(1, p.engines)),
      bu_muls_(stats_.counter("bu_muls", "ops", "FP16 multiplies in the butterfly units",
                              "bu_multipliers", "mul")),
      bu_adds_(stats_.counter("bu_adds", "ops", "FP16 adds/subtracts in the butterfly units",
                              "bu_adders", "add")),
      bank_reads_(stats_.counter("bank_reads", "words",
                                 "data bank reads (stage operands and P2S write-back)",
                                 "data_banks", "read")),
      bank_writes_(stats_.counter("bank_writes", "words",
                                  "data bank writes (S2P loads and stage results)", "data_banks",
                                  "write")),
      coef_reads_(stats_.counter("coef_reads", "words",
                                 "weight buffer reads (16-bit coefficient slots, broadcast to all "
                                 "engines)",
                                 "weight_buffer", "read")),
      coef_writes_(stats_.counter("coef_writes", "words", "weight buffer fills from DRAM",
                                  "weight_buffer", "write")),
      shortcut_accesses_(stats_.counter("shortcut_accesses", "words",
                                        "shortcut buffer writes and reads (fused residual adds)",
                                        "shortcut_buffer", "read")),
      postp_ops_(stats_.counter("postp_ops", "ops",
                                "post-processor operations (adds, LayerNorm, activations, softmax)",
                                "postp_units", "mac")),
      ap_macs_(stats_.counter("ap_macs", "ops", "attention processor MACs (QK and SV units)",
                              "ap_macs", "mac")),
      dense_macs_(
          stats_.counter("dense_macs", "ops", "dense linear engine MACs", "dense_engine", "mac")),
      dram_read_bytes_(stats_.counter("dram_read_bytes", "bytes",
                                      "bytes read on the input and coefficient ports", "dram",
                                      "read")),
      dram_write_bytes_(stats_.counter("dram_write_bytes", "bytes",
                                       "bytes written on the output port", "dram", "write")),
      bank_conflict_cycles_(stats_.counter(
          "bank_conflict_cycles", "cycles",
          "extra compute cycles from two accesses to one data bank in one cycle, summed over runs "
          "(0 with the skew)")),
      dependency_stalls_(stats_.counter(
          "dependency_stall_cycles", "cycles",
          "issue cycles lost waiting for the previous stage's results, summed over runs (0 when a "
          "stage lasts at least twice the unit latency)")),
      runs_(stats_.counter("bp_runs", "runs", "butterfly processor runs (row groups x stacks)")),
      bp_busy_cycles_(
          stats_.counter("bp_compute_cycles", "cycles", "cycles the engines spend computing")) {
  stats_.formula("bp_compute_share", "ratio", "engine compute cycles / total cycles", [this] {
    const uint64_t c = cycle();
    return c ? static_cast<double>(bp_busy_cycles_.value) / static_cast<double>(c) : 0.0;
  });
  const FpgaEstimate fpga = estimate_fpga(p_);
  stats_.formula("fpga_multipliers", "DSP",
                 "FP16 multipliers (the paper's DSP = 4 P_be P_bu + "
                 "P_head (P_qk + P_sv), plus a dense engine)",
                 [fpga] { return static_cast<double>(fpga.multipliers); });
  stats_.formula("fpga_bram36", "BRAM36", "engine banks, weight buffer and query/key buffers",
                 [fpga] { return static_cast<double>(fpga.bram36); });
  stats_.formula("fpga_postp_bram36", "BRAM36", "post-processor shortcut buffers",
                 [fpga] { return static_cast<double>(fpga.postp_bram36); });
  stats_.formula("fpga_luts", "LUT", "LUTs, linear in P_be P_bu (calibrated on BE-40 and BE-120)",
                 [fpga] { return static_cast<double>(fpga.luts); });
}

double ButterflyModel::peak_macs_per_cycle() const {
  return static_cast<double>(estimate_fpga(p_).multipliers);
}

YAML::Node ButterflyModel::resolved_params() const { return Params::schema().dump(p_); }

FpgaEstimate ButterflyModel::estimate_fpga(const Params& p) {
  FpgaEstimate e;
  e.multipliers =
      p.engines * p.units_per_engine * 4 + p.heads * (p.qk_macs + p.sv_macs) + p.dense_multipliers;
  // A BRAM36 is two 18 Kib halves; a memory of `lanes` parallel 16-bit columns of `depth` words
  // takes at least one half per column.
  const auto bram18 = [](int64_t lanes, int64_t depth) {
    return lanes * ceil_div(16 * depth, 18 * 1024);
  };
  const int64_t u = p.units_per_engine;
  // Per engine: buffers A and B, each 2 P_bu 16-bit sub-banks of max_length / (2 P_bu) words.
  const int64_t banks = 2 * bram18(2 * u, ceil_div(p.max_length, 2 * u));
  // The shared ping-pong weight buffer: 4 P_bu 16-bit columns per half (RTL weight_buffer).
  const int64_t weights = p.engines > 0 ? 2 * bram18(4 * u, p.weight_buffer_depth) : 0;
  // Attention processor: a query and a key buffer per head, P_qk columns 1024 deep.
  const int64_t qk = 2 * p.heads * bram18(p.qk_macs, 1024);
  e.bram36 = ceil_div(p.engines * banks + weights + qk, 2);
  // Post-processor: per engine a shortcut FIFO of one 16-bit column.
  e.postp_bram36 = ceil_div(p.engines * bram18(1, p.shortcut_depth), 2);
  // LUTs: linear in the butterfly units through the paper's two VCU128 builds (Table VII: 160
  // units 358,609 LUTs, 480 units 1,034,610), so it reproduces those two by construction.
  constexpr int64_t kLut160 = 358609, kLut480 = 1034610;
  if (p.engines > 0) e.luts = kLut160 + (p.engines * u - 160) * (kLut480 - kLut160) / 320;
  return e;
}

std::vector<Component> ButterflyModel::components() const {
  std::vector<Component> c;
  const auto add_unit = [&](const char* name, ComponentClass k, int64_t count, int bits) {
    if (count <= 0) return;
    Component u;
    u.name = name;
    u.klass = k;
    u.count = count;
    u.number = "fp";
    u.bits = bits;
    u.acc_bits = bits;
    c.push_back(u);
  };
  const int64_t units = p_.engines * p_.units_per_engine;
  add_unit("bu_multipliers", ComponentClass::kMultiplier, units * 4, 16);
  // 2 real adders + 2 complex adders/subtractors (4 real) per unit.
  add_unit("bu_adders", ComponentClass::kAdder, units * 6, 16);
  add_unit("postp_units", ComponentClass::kMac, p_.postp_lanes, 16);
  add_unit("ap_macs", ComponentClass::kMac, p_.heads * (p_.qk_macs + p_.sv_macs), 16);
  add_unit("dense_engine", ComponentClass::kMac, p_.dense_multipliers, 16);
  const auto sram = [&](const char* name, int64_t count, int64_t bytes, int port) {
    if (count <= 0 || bytes <= 0) return;
    Component s;
    s.name = name;
    s.klass = ComponentClass::kSram;
    s.count = count;
    s.bytes = bytes;
    s.port_bits = port;
    s.word_bits = 16;
    c.push_back(s);
  };
  // Per engine: banks A and B of max_length 16-bit words each.
  sram("data_banks", p_.engines, 2 * p_.max_length * 2,
       static_cast<int>(2 * p_.units_per_engine * 16));
  // Shared ping-pong weight buffer: two halves of weight_buffer_depth entries of 4 P_bu words.
  sram("weight_buffer", p_.engines > 0 ? 1 : 0,
       2 * p_.weight_buffer_depth * 4 * p_.units_per_engine * 2,
       static_cast<int>(4 * p_.units_per_engine * 16));
  // Per engine: the post-processor's shortcut FIFO.
  sram("shortcut_buffer", p_.engines, p_.shortcut_depth * 2, 16);
  Component dram;
  dram.name = "dram";
  dram.klass = ComponentClass::kDram;
  c.push_back(dram);
  return c;
}

bool ButterflyModel::supports(const ir::v1::Op& op) const {
  const bool bp = p_.engines > 0 || p_.dense_multipliers > 0;
  switch (op.kind_case()) {
    case ir::v1::Op::kButterfly:
      return bp && op.butterfly().length() >= 2 &&
             (p_.engines == 0 || op.butterfly().length() <= p_.max_length);
    case ir::v1::Op::kFft: {
      if (!bp || op.fft().lengths_size() < 1 || op.fft().lengths_size() > 2) return false;
      for (int64_t l : op.fft().lengths())
        if (l < 2 || (p_.engines > 0 && l > p_.max_length)) return false;
      return true;
    }
    case ir::v1::Op::kGemm:
      return peak_macs_per_cycle() > 0;
    case ir::v1::Op::kSoftmax:
    case ir::v1::Op::kLayernorm:
    case ir::v1::Op::kEltwise:
      return true;
    default:
      return false;
  }
}

int ButterflyModel::op_index(const sim::OpTask& task) const {
  for (int i = 0; i < task.workload.ops_size(); ++i)
    if (&task.workload.ops(i) == &task.op) return i;
  return -1;
}

bool ButterflyModel::is_last_op(const ir::v1::Workload& w, int index) const {
  for (int i = index + 1; i < w.ops_size(); ++i)
    if (i > fused_until_ && supports(w.ops(i))) return false;
  return true;
}

std::vector<PassSpec> ButterflyModel::passes(const ir::v1::Workload& w,
                                             const ir::v1::Op& op) const {
  std::vector<PassSpec> out;
  if (op.has_butterfly()) {
    const auto& b = op.butterfly();
    PassSpec p;
    p.name = op.name();
    p.length = b.length();
    p.stages = static_cast<int>(b.stages() > 0 ? b.stages() : log2i(b.length()));
    p.stacks = std::max<int64_t>(1, b.stacks());
    const int64_t in = op.inputs_size() ? last_dim(w, op.inputs(0)) : b.length();
    p.in_elems = std::min(in, p.length);
    p.vectors = b.batch() > 0 ? b.batch() : elements_of(w, op.inputs(0)) / std::max<int64_t>(1, in);
    const int64_t out_w = op.outputs_size() ? last_dim(w, op.outputs(0)) : p.stacks * p.length;
    p.out_total = std::min(out_w, p.stacks * p.length);
    p.out_elems = std::min(p.length, p.out_total);
    p.latency = static_cast<int>(p_.unit_latency);
    p.pingpong = p.length <= p_.max_length;
    out.push_back(p);
    return out;
  }
  const auto& f = op.fft();
  const int dims = f.lengths_size();
  const int64_t n1 = fft_width(w, op);
  const int64_t values = op.inputs_size() ? elements_of(w, op.inputs(0)) / (f.real_input() ? 1 : 2)
                                          : f.lengths(dims - 1);
  const int64_t l1 = f.lengths(dims - 1);
  const int64_t width = std::min(n1, l1);
  const int64_t rows = values / std::max<int64_t>(1, n1);
  const auto twiddle = [&](PassSpec& p) {
    p.fft = true;
    p.stages = log2i(p.length);
    p.latency = static_cast<int>(p_.unit_latency) + 1;
    p.pingpong = 2 * p.length <= p_.max_length;
  };
  if (dims == 2) {
    const int64_t signals = std::max<int64_t>(1, f.batch());
    const int64_t n0 = rows / signals;
    PassSpec c;  // along the sequence axis: one column of each signal per engine
    c.name = op.name() + ".axis0";
    c.length = f.lengths(0);
    twiddle(c);
    c.vectors = signals * width;
    c.in_elems = std::min(n0, c.length);
    c.in_elem_bits = f.real_input() ? 16 : 32;
    c.out_elems = c.in_elems;  // rows the output keeps
    c.out_elem_bits = 32;
    c.row_wise = false;
    c.produces_rows = false;
    out.push_back(c);
    PassSpec r;
    r.name = op.name() + ".axis1";
    r.length = l1;
    twiddle(r);
    r.vectors = rows;
    r.in_elems = width;
    r.in_elem_bits = 32;
    r.out_elems = width;
    r.out_elem_bits = f.real_output() ? 16 : 32;
    r.row_wise = false;  // reads the columns' results: waits for the whole first pass
    out.push_back(r);
  } else {
    PassSpec r;
    r.name = op.name();
    r.length = l1;
    twiddle(r);
    r.vectors = rows;
    r.in_elems = width;
    r.in_elem_bits = f.real_input() ? 16 : 32;
    r.out_elems = width;
    r.out_elem_bits = f.real_output() ? 16 : 32;
    out.push_back(r);
  }
  return out;
}

ButterflyModel::Fusion ButterflyModel::plan_fusion(const ir::v1::Workload& w, int index) {
  Fusion f;
  const ir::v1::Op& producer = w.ops(index);
  if (producer.outputs_size() == 0) return f;
  const bool split_rows = producer.has_butterfly() && producer.butterfly().stacks() > 1;
  std::string cur = producer.outputs(0);
  const int64_t rows =
      std::max<int64_t>(1, elements_of(w, cur) / std::max<int64_t>(1, last_dim(w, cur)));
  f.rows = rows;
  for (int j = index + 1; j < w.ops_size(); ++j) {
    const ir::v1::Op& op = w.ops(j);
    if (!op.has_eltwise() && !op.has_layernorm()) break;
    if (op.has_layernorm() && split_rows) break;  // a row is spread over stack runs
    bool reads_cur = false;
    for (const auto& in : op.inputs()) reads_cur |= in == cur;
    if (!reads_cur || op.outputs_size() == 0) break;
    const int64_t width = last_dim(w, op.outputs(0));
    if (op.has_eltwise()) {
      int64_t operand_bits = 0;
      for (const auto& in : op.inputs()) {
        const ir::v1::Tensor* t = ir::find_tensor(w, in);
        if (in != cur && t && !t->is_weight()) operand_bits += elements_of(w, in) / rows * 16;
      }
      if (operand_bits > 0 && split_rows) break;  // the shortcut buffer holds whole rows
      f.shortcut_bits_per_row += operand_bits;
      for (const auto& in : op.inputs()) {
        const ir::v1::Tensor* t = ir::find_tensor(w, in);
        if (in != cur && t && !t->is_weight()) f.shortcut_operands.push_back(in);
      }
      f.postp_ops_per_row += width;
    } else {
      f.postp_ops_per_row += 5 * width;  // mean, variance, normalize, scale, shift
      f.layernorm_width = width;
    }
    fused_until_ = j;
    cur = op.outputs(0);
  }
  return f;
}

butterfly::VectorTrace ButterflyModel::vector_timing(const PassSpec& p, bool trace) {
  const int units = static_cast<int>(p_.units_per_engine);
  if (trace) return butterfly::trace_vector(layout_, p.length, p.stages, units, p.latency);
  const auto key = std::make_pair(p.length, p.stages * 64 + p.latency);
  auto it = timing_cache_.find(key);
  if (it != timing_cache_.end()) return it->second;
  butterfly::VectorTrace v;
  if (!butterfly::vector_closed_form(layout_, p.length, p.stages, units, p.latency, &v))
    v = butterfly::trace_vector(layout_, p.length, p.stages, units, p.latency);
  timing_cache_[key] = v;
  return v;
}

uint64_t ButterflyModel::run_bp(const sim::OpTask& task, int index) {
  const bool cyc = task.fidelity == sim::Fidelity::kCycle;
  std::vector<PassSpec> ps = passes(task.workload, task.op);
  const Fusion fu = plan_fusion(task.workload, index);
  PassSpec& last = ps.back();
  // The post-processor adds the shortcut and normalizes on the write-back of whole rows. A
  // residual that the previous op loaded in a single row group is still in the shortcut FIFOs
  // (row v on engine v in both ops); other residual rows come over the input port.
  if (last.stacks == 1 && last.produces_rows) {
    int64_t read_bits = fu.shortcut_bits_per_row;
    for (const std::string& t : fu.shortcut_operands)
      if (t == cached_rows_tensor_ && cached_rows_ == last.vectors)
        read_bits -= last_dim(task.workload, t) * 16;
    last.shortcut_bits_per_vector = read_bits;
    last.layernorm_width = fu.layernorm_width;
  }
  last_runs_.clear();
  uint64_t end = cycle();
  for (const PassSpec& p : ps) {
    // Cycle fidelity steps every run's engines through the banks; fast uses one timing per shape.
    const std::vector<RunTimes> runs = pipe_.plan(p, [&](int64_t, int64_t) {
      const butterfly::VectorTrace v = vector_timing(p, cyc);
      bank_conflict_cycles_ += static_cast<uint64_t>(v.conflict_cycles);
      dependency_stalls_ += static_cast<uint64_t>(v.dependency_stalls);
      return static_cast<uint64_t>(v.cycles);
    });
    const int64_t pairs = p.stages * (p.length / 2);
    int64_t k = 0;
    for (const RunTimes& r : runs) {
      // The run's stages on the trace, one row per resource (they overlap across runs).
      const std::string run = p.name + " run " + std::to_string(k++);
      const auto phase = [&task, &run](const char* what, uint64_t b, uint64_t e, const char* on) {
        if (e > b) task.outcome.phases.push_back({run + " " + what, b, e, on});
      };
      phase("load", r.load_start, r.load_end, "BP load (S2P)");
      phase("shortcut", r.shortcut_start, r.shortcut_end, "BP shortcut rows");
      phase("coefficients", r.coef_start, r.coef_end, "BP coefficient port");
      phase("compute", r.comp_start, r.comp_end, "BP engines");
      phase("store", r.store_start, r.store_end, "BP store (P2S)");
      // Cycle fidelity advances simulated time run by run (the engines' compute windows).
      if (cyc && r.comp_end > cycle()) wait_cycles(r.comp_end - cycle());
      const int64_t v = r.vectors;
      bu_muls_ += static_cast<uint64_t>(v * pairs * 4);
      bu_adds_ += static_cast<uint64_t>(v * pairs * (p.fft ? 6 : 2));
      bank_reads_ += static_cast<uint64_t>(v * (2 * pairs + butterfly::run_out_elems(p, r.stack)));
      bank_writes_ += static_cast<uint64_t>(v * (2 * pairs + p.length));
      coef_reads_ += static_cast<uint64_t>(pairs * 4);
      coef_writes_ += static_cast<uint64_t>(r.coef_bits / 16);
      dram_read_bytes_ += static_cast<uint64_t>((r.in_bits + r.coef_bits) / 8);
      dram_write_bytes_ += static_cast<uint64_t>(r.out_bits / 8);
      bp_busy_cycles_ += r.comp_end - r.comp_start;
      ++runs_;
      end = std::max(end, r.comp_end);
      last_runs_.push_back(r);
    }
    if (&p == &last) {
      postp_ops_ += static_cast<uint64_t>(p.vectors * fu.postp_ops_per_row);
      shortcut_accesses_ += static_cast<uint64_t>(2 * p.vectors * fu.shortcut_bits_per_row / 16);
    }
  }
  // Whether this op leaves its input rows in the shortcut FIFOs: a row-wise first pass that loads
  // whole 16-bit rows, one per engine, each fitting the FIFO (the RTL caches the real part of
  // the input stream while is_sc_cache is set), in an op whose own write-back does not use the
  // FIFO. With more row groups than one, an engine would need a row per group in its FIFO until
  // the consumer's write-back.
  const PassSpec& first = ps.front();
  const std::string in = task.op.inputs_size() ? task.op.inputs(0) : std::string();
  cached_rows_tensor_.clear();
  if (!in.empty() && fu.shortcut_operands.empty() && first.row_wise && first.in_elem_bits == 16 &&
      first.vectors <= p_.engines && first.in_elems == last_dim(task.workload, in) &&
      first.in_elems <= p_.shortcut_depth) {
    cached_rows_tensor_ = in;
    cached_rows_ = first.vectors;
  }
  // The last op of the workload also waits for its write-back.
  if (is_last_op(task.workload, index)) end = std::max(end, pipe_.last_store_end());
  return end;
}

uint64_t ButterflyModel::run_dense(const sim::OpTask& task, uint64_t start, DenseRole role) {
  const ir::v1::Workload& w = task.workload;
  const ir::v1::Op& op = task.op;
  int64_t macs = 0, a_bits = 0, b_bits = 0, out_bits = 0;
  bool weight = true;
  if (op.has_gemm()) {
    const auto& g = op.gemm();
    const int64_t batch = std::max<int64_t>(1, g.batch());
    macs = batch * g.m() * g.n() * g.k();
    const ir::v1::Tensor* b = op.inputs_size() > 1 ? ir::find_tensor(w, op.inputs(1)) : nullptr;
    weight = !b || b->is_weight();
    a_bits = batch * g.m() * g.k() * 16;
    b_bits = (weight ? 1 : batch) * g.k() * g.n() * 16;
    out_bits = batch * g.m() * g.n() * 16;
  } else if (op.has_butterfly()) {
    // No butterfly processor: the butterfly is multiplied as the dense matrix it equals.
    const auto& b = op.butterfly();
    const int64_t in = last_dim(w, op.inputs(0)), outw = last_dim(w, op.outputs(0));
    const int64_t rows = b.batch();
    macs = rows * in * outw;
    a_bits = rows * in * 16;
    b_bits = in * outw * 16;
    out_bits = rows * outw * 16;
  } else {
    // FFT as DFT-matrix products (real x complex: 2 real MACs, complex x complex: 4).
    const auto& f = op.fft();
    const int64_t n1 = fft_width(w, op);
    const int64_t values = elements_of(w, op.inputs(0)) / (f.real_input() ? 1 : 2);
    const int64_t rows = values / std::max<int64_t>(1, n1);
    macs = rows * n1 * n1 * (f.real_input() ? 2 : 4);
    b_bits = n1 * n1 * 32;
    if (f.lengths_size() == 2) {
      const int64_t signals = std::max<int64_t>(1, f.batch());
      const int64_t n0 = rows / signals;
      macs += signals * n1 * n0 * n0 * (f.real_output() ? 2 : 4);
      b_bits += n0 * n0 * 32;
    }
    a_bits = values * 16;
    out_bits = values * 16;
  }
  // The attention pipeline keeps scores and probabilities on chip.
  if (role == DenseRole::kScores) out_bits = 0;
  if (role == DenseRole::kContext) a_bits = 0;
  const int64_t bp_mults = p_.engines * p_.units_per_engine * 4;
  const int64_t qk = p_.heads * p_.qk_macs, sv = p_.heads * p_.sv_macs;
  int64_t rate = 0;
  // Rounds of `batch` independent products on the units: the attention processor gives each head
  // (one batch entry of Q.K^T or S.V) to one head unit, so 12 heads on 8 units take two rounds.
  int64_t rounds = 1, batch = 1;
  sim::Counter* counter = nullptr;
  if (weight) {
    // Weight GEMMs run on the dense linear engine; the attention units only take Q.K^T and S.V
    // from their query/key buffers.
    if (p_.dense_multipliers > 0)
      rate = p_.dense_multipliers, counter = &dense_macs_;
    else if (bp_mults > 0)
      rate = bp_mults, counter = &bu_muls_;
    else
      rate = qk + sv, counter = &ap_macs_;
  } else {
    const int64_t ap = role == DenseRole::kContext ? sv : qk;
    if (ap > 0) {
      rate = ap / p_.heads, counter = &ap_macs_;
      batch = op.has_gemm() ? std::max<int64_t>(1, op.gemm().batch()) : 1;
      rounds = ceil_div(batch, p_.heads);
    } else if (p_.dense_multipliers > 0)
      rate = p_.dense_multipliers, counter = &dense_macs_;
    else
      rate = bp_mults, counter = &bu_muls_;
  }
  // A product on the butterfly units streams its operands through the engines.
  if (counter == &bu_muls_) cached_rows_tensor_.clear();
  const int64_t k = op.has_gemm() ? std::max<int64_t>(1, op.gemm().k()) : 2;
  // Multiplier latency 2, adder tree log2 depth (2 cycles a level), accumulate and register.
  const int64_t fill = 2 + 2 * log2i(std::min<int64_t>(std::max<int64_t>(2, k), 1024)) + 4;
  const int64_t compute = rounds * ceil_div(macs / batch, rate) + fill;
  const int64_t weight_port = weight ? p_.coef_port_bits : p_.input_port_bits;
  const int64_t t = std::max({compute, ceil_div(a_bits + (weight ? 0 : b_bits), p_.input_port_bits),
                              weight ? ceil_div(b_bits, weight_port) : 0,
                              ceil_div(out_bits, p_.output_port_bits)});
  *counter += static_cast<uint64_t>(macs);
  dram_read_bytes_ += static_cast<uint64_t>((a_bits + b_bits) / 8);
  dram_write_bytes_ += static_cast<uint64_t>(out_bits / 8);
  return start + static_cast<uint64_t>(t);
}

uint64_t ButterflyModel::run_postp(const sim::OpTask& task, uint64_t start) {
  const ir::v1::Workload& w = task.workload;
  const ir::v1::Op& op = task.op;
  const int64_t n = op.outputs_size() ? elements_of(w, op.outputs(0)) : 0;
  int64_t in_bits = 0;
  for (const auto& in : op.inputs()) {
    const ir::v1::Tensor* t = ir::find_tensor(w, in);
    if (t && !t->is_weight()) in_bits += ir::tensor_elements(*t) * 16;
  }
  int64_t passes = 1, lanes = p_.postp_lanes;
  if (op.has_layernorm()) passes = 3;  // mean, variance, normalize (scale and shift fused)
  if (op.has_softmax()) {
    passes = 3;                          // max, exp and sum, scale
    if (p_.heads > 0) lanes = p_.heads;  // one softmax lane per attention head
  }
  const int64_t t = std::max({ceil_div(n * passes, lanes), ceil_div(in_bits, p_.input_port_bits),
                              ceil_div(n * 16, p_.output_port_bits)});
  postp_ops_ += static_cast<uint64_t>(n * passes);
  dram_read_bytes_ += static_cast<uint64_t>(in_bits / 8);
  dram_write_bytes_ += static_cast<uint64_t>(n * 2);
  return start + static_cast<uint64_t>(t);
}

bool ButterflyModel::attention_start(const ir::v1::Workload& w, int index) const {
  if (index < 0 || p_.heads == 0 || index + 2 >= w.ops_size()) return false;
  const ir::v1::Op& qk = w.ops(index);
  const ir::v1::Op& sm = w.ops(index + 1);
  const ir::v1::Op& sv = w.ops(index + 2);
  if (!qk.has_gemm() || qk.inputs_size() < 2 || qk.outputs_size() == 0) return false;
  const ir::v1::Tensor* k = ir::find_tensor(w, qk.inputs(1));
  return k && !k->is_weight() && sm.has_softmax() && sv.has_gemm() && sm.inputs_size() > 0 &&
         sm.inputs(0) == qk.outputs(0) && sm.outputs_size() > 0 && sv.inputs_size() > 0 &&
         sv.inputs(0) == sm.outputs(0);
}

uint64_t ButterflyModel::attention_pipeline(const sim::OpTask& task, int index, uint64_t start) {
  // Q.K^T -> softmax -> S.V on the attention processor, row-pipelined (the paper's fine-grained
  // pipeline): softmax of score row i runs while row i+1 is multiplied, and S.V of row i starts
  // when its probabilities exist; scores never leave the chip. Alone, that takes the slowest of
  // the three plus one row of the others. Against the butterfly processor: Q.K^T starts when K is
  // stored and Q's first row group is (the rows of Q stream in as the engines store them), and
  // S.V needs all of V.
  const ir::v1::Workload& w = task.workload;
  const ir::v1::Op& sm = w.ops(index + 1);
  const ir::v1::Op& sv = w.ops(index + 2);
  const sim::OpTask sv_task{w, sv, task.fidelity, false, task.outcome};
  const auto ready = [&](const std::string& t) {
    auto it = ready_.find(t);
    return it == ready_.end() ? start : it->second;
  };
  const std::string& q = task.op.inputs(0);
  uint64_t q_first = ready(q), q_last = q_first;
  double q_last_share = 1.0;  // share of Q's rows in its last row group
  if (q == last_bp_output_ && !last_bp_rows_.empty()) {
    q_first = last_bp_rows_.front().second;
    q_last = last_bp_rows_.back().second;
    const int64_t rows = last_bp_rows_.back().first;
    const int64_t before =
        last_bp_rows_.size() > 1 ? last_bp_rows_[last_bp_rows_.size() - 2].first : 0;
    q_last_share = static_cast<double>(rows - before) / static_cast<double>(rows);
  }
  const uint64_t begin = std::max({ap_free_, ready(task.op.inputs(1)), q_first});
  const uint64_t t_qk = run_dense(task, begin, DenseRole::kScores) - begin;
  // Each head's softmax streams one score per cycle (max, exponent-sum and scale are pipelined
  // across rows), so it only limits the rate when a row's scores come faster than that.
  const int64_t scores = elements_of(w, sm.outputs(0));
  postp_ops_ += static_cast<uint64_t>(3 * scores);
  const uint64_t t_sm = static_cast<uint64_t>(ceil_div(scores, p_.heads));
  const uint64_t t_sv = run_dense(sv_task, begin, DenseRole::kContext) - begin;
  const uint64_t rows = static_cast<uint64_t>(
      std::max<int64_t>(1, std::max<int64_t>(1, task.op.gemm().batch()) * task.op.gemm().m()));
  const uint64_t slowest = std::max({t_qk, t_sm, t_sv});
  const uint64_t alone = slowest + (t_qk + t_sm + t_sv - slowest) / rows;
  const uint64_t v_ready = sv.inputs_size() > 1 ? ready(sv.inputs(1)) : begin;
  const uint64_t end = std::max({begin + alone, v_ready + t_sv,
                                 q_last + static_cast<uint64_t>(std::ceil(q_last_share * alone))});
  fused_until_ = index + 2;
  ap_free_ = end;
  task.outcome.note = "pipelined with the softmax and S.V that follow";
  return end;
}

void ButterflyModel::run_op(const sim::OpTask& task) {
  const int index = op_index(task);
  out_.clear();
  if (!started_) {
    // The run pipeline keeps its own cycle count; it starts at the model's first op.
    pipe_.sync_to(cycle());
    started_ = true;
  }
  if (index >= 0 && index <= fused_until_) {
    // Fused into the producer's write-back: the post-processor handled it there.
    task.outcome.note = "fused into the write-back of the previous op";
    return;
  }
  const bool bp_op = task.op.has_butterfly() || task.op.has_fft();
  uint64_t end;
  if (bp_op && p_.engines > 0) {
    end = run_bp(task, index);
    last_bp_rows_ = pipe_.rows_done();
    for (int i = index; i <= std::max(index, fused_until_) && i >= 0; ++i)
      for (const auto& out : task.workload.ops(i).outputs()) {
        ready_[out] = pipe_.last_store_end();
        last_bp_output_ = out;
      }
  } else {
    // Other units start after the butterfly processor's results are stored.
    const uint64_t start = std::max(cycle(), pipe_.last_store_end());
    if (bp_op || task.op.has_gemm()) {
      end = attention_start(task.workload, index) ? attention_pipeline(task, index, start)
                                                  : run_dense(task, start, DenseRole::kAny);
      if (index >= 0) {
        // The post-processor on the engine's output path (bias, activation, shortcut, norm).
        const Fusion fu = plan_fusion(task.workload, std::max(index, fused_until_));
        postp_ops_ += static_cast<uint64_t>(fu.rows * fu.postp_ops_per_row);
        dram_read_bytes_ += static_cast<uint64_t>(fu.rows * fu.shortcut_bits_per_row / 8);
      }
    } else {
      end = run_postp(task, start);
    }
    for (int i = index; i <= std::max(index, fused_until_) && i >= 0; ++i)
      for (const auto& out : task.workload.ops(i).outputs()) ready_[out] = end;
    pipe_.sync_to(end);
  }
  if (end > cycle()) wait_cycles(end - cycle());
  if (task.functional && bp_op) functional(task);
}

void ButterflyModel::functional(const sim::OpTask& task) {
  const ir::v1::Workload& w = task.workload;
  const ir::v1::Op& op = task.op;
  const int units = static_cast<int>(p_.units_per_engine);
  int64_t bad = 0;
  if (op.has_butterfly()) {
    const auto& b = op.butterfly();
    const int64_t n = b.length(), stages = b.stages(), stacks = std::max<int64_t>(1, b.stacks());
    const int64_t in = last_dim(w, op.inputs(0)), width = last_dim(w, op.outputs(0));
    const int64_t rows = elements_of(w, op.inputs(0)) / in;
    const std::vector<float> x = values(w, op.inputs(0), rows * in);
    const std::vector<float> tw = values(w, op.inputs(1), stacks * stages * n * 2);
    out_.assign(static_cast<size_t>(rows * width), 0.0f);
    std::vector<float> v(static_cast<size_t>(n));
    std::vector<double> ref(static_cast<size_t>(n));
    double peak = 0;
    std::vector<double> refs(out_.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < stacks && k * n < width; ++k) {
        std::fill(v.begin(), v.end(), 0.0f);
        std::fill(ref.begin(), ref.end(), 0.0);
        for (int64_t i = 0; i < in; ++i) v[i] = x[r * in + i], ref[i] = x[r * in + i];
        for (int s = 0; s < stages; ++s) {
          const int64_t d = int64_t{1} << s;
          const float* t = tw.data() + (k * stages + s) * (n / 2) * 4;
          butterfly::for_each_issue(n, s, units, [&](const int64_t* lo, int count) {
            for (int q = 0; q < count; ++q) {
              const int64_t i = lo[q];
              butterfly::bfly_pair(v[i], v[i + d], t + ((i / (2 * d)) * d + i % d) * 4);
            }
          });
          for (int64_t i = 0; i < n; ++i) {
            if (i & d) continue;
            const float* m = t + ((i / (2 * d)) * d + i % d) * 4;
            const double a = ref[i], c = ref[i + d];
            ref[i] = m[0] * a + m[1] * c;
            ref[i + d] = m[2] * a + m[3] * c;
          }
        }
        for (int64_t i = 0; i < std::min(n, width - k * n); ++i) {
          out_[r * width + k * n + i] = v[i];
          refs[r * width + k * n + i] = ref[i];
          peak = std::max(peak, std::fabs(ref[i]));
        }
      }
    const double tol = std::ldexp(1.0, -10) * static_cast<double>(stages + 1) * peak;
    for (size_t i = 0; i < out_.size(); ++i) bad += std::fabs(out_[i] - refs[i]) > tol;
  } else {
    const auto& f = op.fft();
    const int dims = f.lengths_size();
    const int64_t l1 = f.lengths(dims - 1), l0 = dims == 2 ? f.lengths(0) : 1;
    const bool cin = !f.real_input();
    const int64_t n1 = fft_width(w, op);
    const int64_t vals = elements_of(w, op.inputs(0)) / (cin ? 2 : 1);
    const int64_t rows = vals / n1;
    const int64_t signals = dims == 2 ? std::max<int64_t>(1, f.batch()) : rows;
    const int64_t n0 = dims == 2 ? rows / signals : 1;
    const std::vector<float> x = values(w, op.inputs(0), vals * (cin ? 2 : 1));
    const size_t per = static_cast<size_t>(l0 * l1);
    std::vector<butterfly::Cplx> buf(per), line;
    std::vector<std::complex<double>> rbuf(per), rline;
    out_.assign(static_cast<size_t>(vals * (f.real_output() ? 1 : 2)), 0.0f);
    std::vector<double> refs(out_.size());
    double peak = 0;
    const float scale = f.inverse() ? round_to_fp16(1.0f / static_cast<float>(l0 * l1)) : 1.0f;
    for (int64_t s = 0; s < signals; ++s) {
      std::fill(buf.begin(), buf.end(), butterfly::Cplx{});
      std::fill(rbuf.begin(), rbuf.end(), std::complex<double>());
      for (int64_t i = 0; i < n0; ++i)
        for (int64_t j = 0; j < n1; ++j) {
          const int64_t e = (s * n0 + i) * n1 + j;
          const butterfly::Cplx c =
              cin ? butterfly::Cplx{x[2 * e], x[2 * e + 1]} : butterfly::Cplx{x[e], 0.0f};
          buf[i * l1 + j] = c;
          rbuf[i * l1 + j] = {c.re, c.im};
        }
      if (dims == 2)  // sequence axis first (columns), as the engines run it
        for (int64_t j = 0; j < n1; ++j) {
          line.resize(static_cast<size_t>(l0));
          rline.resize(static_cast<size_t>(l0));
          for (int64_t i = 0; i < l0; ++i) line[i] = buf[i * l1 + j], rline[i] = rbuf[i * l1 + j];
          engine_fft(line, units, f.inverse());
          reference_fft(rline, f.inverse());
          for (int64_t i = 0; i < l0; ++i) buf[i * l1 + j] = line[i], rbuf[i * l1 + j] = rline[i];
        }
      for (int64_t i = 0; i < n0; ++i) {
        line.assign(buf.begin() + i * l1, buf.begin() + (i + 1) * l1);
        rline.assign(rbuf.begin() + i * l1, rbuf.begin() + (i + 1) * l1);
        engine_fft(line, units, f.inverse());
        reference_fft(rline, f.inverse());
        for (int64_t j = 0; j < n1; ++j) {
          const int64_t e = (s * n0 + i) * n1 + j;
          const butterfly::Cplx c{round_to_fp16(line[j].re * scale),
                                  round_to_fp16(line[j].im * scale)};
          const std::complex<double> rc = rline[j] * (f.inverse() ? 1.0 / (l0 * l1) : 1.0);
          if (f.real_output()) {
            out_[e] = c.re, refs[e] = rc.real();
          } else {
            out_[2 * e] = c.re, out_[2 * e + 1] = c.im;
            refs[2 * e] = rc.real(), refs[2 * e + 1] = rc.imag();
          }
          peak = std::max(peak, std::abs(rc));
        }
      }
    }
    const int stages = log2i(l1) + (dims == 2 ? log2i(l0) : 0);
    const double tol = std::ldexp(1.0, -10) * static_cast<double>(stages + 1) * peak;
    for (size_t i = 0; i < out_.size(); ++i) bad += std::fabs(out_[i] - refs[i]) > tol;
  }
  task.outcome.functional_mismatches = bad;
}

CODESIM_REGISTER_ACCELERATOR("butterfly", ButterflyModel);

}  // namespace codesim::arch
