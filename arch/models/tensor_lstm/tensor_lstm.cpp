#include "arch/models/tensor_lstm/tensor_lstm.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "arch/common/operand_values.h"
#include "compress/reference/executor.h"
#include "sim/core/diagnostics.h"
#include "sim/core/registry.h"
#include "workloads/ir/ir.h"

namespace codesim::arch {

using tensor_lstm::EngineConfig;
using tensor_lstm::LayerNetwork;
using tensor_lstm::LayerSchedule;
using tensor_lstm::LetterSizes;
using tensor_lstm::MemoryScheme;
using tensor_lstm::Stage;
using tensor_lstm::StageEvents;

const sim::ParamSchema<TensorLstmParams>& TensorLstmParams::schema() {
  static const sim::ParamSchema<TensorLstmParams> s = [] {
    sim::ParamSchema<TensorLstmParams> p;
    using P = TensorLstmParams;
    p.integer("pes", &P::pes, "processing elements of the contraction engine (P)")
        .def(16)
        .range(1, 4096)
        .unit("PEs");
    p.integer("macs_per_pe", &P::macs_per_pe,
              "MAC units per PE (q): a PE reduces q columns of K per cycle; also the word width "
              "of the working-SRAM banks")
        .def(1)
        .range(1, 64)
        .unit("MACs");
    p.integer("banks", &P::banks, "banks of each working SRAM buffer; 0 = pes")
        .def(0)
        .range(0, 4096)
        .unit("banks");
    p.choice("precision", &P::precision, {"int8", "int16", "fp16", "fp32"},
             "operand type of the MACs and the SRAM words (prices energy and area; functional "
             "mode computes in float32)")
        .def("int16");
    p.real("clock_mhz", &P::clock_mhz, "clock frequency").def(1000.0).range(1, 100000).unit("MHz");
    p.integer("weight_sram_kib", &P::weight_sram_kib,
              "weight SRAM holding every factor (and weight-only intermediate products)")
        .def(64)
        .range(1, 1 << 20)
        .unit("KiB");
    p.integer("work_sram_kib", &P::work_sram_kib,
              "capacity of EACH of the two ping-pong working SRAMs (intermediates)")
        .def(256)
        .range(1, 1 << 20)
        .unit("KiB");
    p.integer("state_sram_kib", &P::state_sram_kib, "cell-state SRAM of the gate unit")
        .def(4)
        .range(1, 1 << 20)
        .unit("KiB");
    p.choice("memory_scheme", &P::memory_scheme, {"fdht", "naive"},
             "fdht: every intermediate is written in its consumer's matrix layout (row r in bank r "
             "mod banks), letter orders and group shapes planned so that no group's reads or "
             "writes share a bank; naive: row-major in einsum letter order, words interleaved "
             "over the banks, read through strided addresses")
        .def("fdht");
    p.choice("contraction_order", &P::contraction_order, {"min_macs", "left_to_right"},
             "stage order: fewest MACs (compress plan_min_macs) or X with factor 1, then 2, ...")
        .def("min_macs");
    p.integer("gate_lanes", &P::gate_lanes,
              "gate-unit lanes, each one MAC unit and one activation-table port")
        .def(16)
        .range(1, 4096)
        .unit("lanes");
    p.integer("act_segments", &P::act_segments,
              "segments of the piecewise-linear tanh table (sigmoid reuses it)")
        .def(256)
        .range(2, 1 << 20);
    p.real("act_range", &P::act_range, "the table covers [-act_range, act_range]; clamped beyond")
        .def(8.0)
        .range(0.5, 64);
    p.real("dram_bandwidth", &P::dram_bandwidth,
           "DRAM bandwidth for inputs, outputs and weights that do not fit; 0 = unlimited")
        .def(0.0)
        .range(0, 1e9)
        .unit("bytes/cycle");
    p.real("functional_tolerance", &P::functional_tolerance,
           "functional mode: an output further than this from the reference is a mismatch")
        .def(1e-3)
        .range(0, 1);
    return p;
  }();
  return s;
}

PiecewiseLinearTanh::PiecewiseLinearTanh(int64_t segments, double range)
    : range_(range), step_(2 * range / static_cast<double>(segments)) {
  table_.resize(static_cast<size_t>(segments + 1));
  for (int64_t i = 0; i <= segments; ++i)
    table_[static_cast<size_t>(i)] = static_cast<float>(std::tanh(-range + step_ * i));
}

float PiecewiseLinearTanh::tanh(float x) const {
  if (x <= -range_) return -1.0f;
  if (x >= range_) return 1.0f;
  const double u = (x + range_) / step_;
  const size_t i = std::min(static_cast<size_t>(u), table_.size() - 2);
  const float f = static_cast<float>(u - static_cast<double>(i));
  return table_[i] + (table_[i + 1] - table_[i]) * f;
}

double PiecewiseLinearTanh::tanh_error_bound() const {
  // max |tanh''| = 4 / (3 sqrt 3) at tanh(x) = 1 / sqrt 3.
  const double d2 = 4.0 / (3.0 * std::sqrt(3.0));
  return std::max(d2 * step_ * step_ / 8.0, 1.0 - std::tanh(range_));
}

TensorLstmModel::TensorLstmModel(const sc_core::sc_module_name& name, const Params& p)
    : sim::Accelerator(name, p.clock_mhz),
      p_(p),
      act_(p.act_segments, p.act_range),
      mac_ops_(stats_.counter("mac_ops", "ops", "contraction MACs (both operands valid)",
                              "pe_array", "mac")),
      work_reads_(stats_.counter("work_sram_reads", "words",
                                 "working-SRAM bank reads (stage operands, gate pre-activations)",
                                 "sram_work", "read")),
      work_writes_(stats_.counter("work_sram_writes", "words",
                                  "working-SRAM writes (stage results, inputs, hidden state)",
                                  "sram_work", "write")),
      weight_reads_(stats_.counter("weight_sram_reads", "words",
                                   "weight-SRAM element reads (one per distinct element per cycle)",
                                   "sram_weight", "read")),
      weight_writes_(stats_.counter("weight_sram_writes", "words",
                                    "weight-SRAM writes (factors loaded, weight-only products)",
                                    "sram_weight", "write")),
      gate_ops_(stats_.counter("gate_ops", "ops",
                               "gate-unit MAC-unit operations (adds, interpolations, products)",
                               "gate_unit", "mac")),
      lut_reads_(stats_.counter("act_lut_reads", "words",
                                "activation-table reads (value and slope of one segment)",
                                "act_lut", "read")),
      state_reads_(
          stats_.counter("state_sram_reads", "words", "cell-state reads", "sram_state", "read")),
      state_writes_(
          stats_.counter("state_sram_writes", "words", "cell-state writes", "sram_state", "write")),
      dram_read_bytes_(
          stats_.counter("dram_read_bytes", "bytes", "bytes read from DRAM", "dram", "read")),
      dram_write_bytes_(
          stats_.counter("dram_write_bytes", "bytes", "bytes written to DRAM", "dram", "write")),
      bank_conflicts_(
          stats_.counter("bank_conflicts", "accesses",
                         "working-SRAM accesses delayed by a busy bank (cycle fidelity only)")),
      conflict_stalls_(stats_.counter("conflict_stall_cycles", "cycles",
                                      "cycles lost to bank conflicts (cycle fidelity only)")),
      dram_stalls_(stats_.counter("dram_stall_cycles", "cycles",
                                  "cycles waiting for DRAM (inputs, weights, spills)")),
      stages_(stats_.counter("stages", "stages", "contraction stages executed")),
      weights_off_chip_(stats_.counter(
          "ops_weights_off_chip", "ops",
          "ops whose compressed weights do not fit the weight SRAM (streamed every step)")) {
  stats_.formula("macs_per_stage", "MACs", "average MACs of a contraction stage", [this] {
    return stages_.value ? static_cast<double>(mac_ops_.value) / stages_.value : 0.0;
  });
}

int TensorLstmModel::bits() const {
  if (p_.precision == "int8") return 8;
  if (p_.precision == "fp32") return 32;
  return 16;
}

namespace {

// A two-operand einsum is one stage when no letter is shared by both operands and kept (a
// batched contraction, which the engine does not run) and every letter has a size.
bool einsum_is_stage(const ir::v1::Einsum& e) {
  const std::string& eq = e.equation();
  const auto comma = eq.find(','), arrow = eq.find("->");
  if (comma == std::string::npos || arrow == std::string::npos || arrow < comma) return false;
  const std::string a = eq.substr(0, comma), b = eq.substr(comma + 1, arrow - comma - 1),
                    out = eq.substr(arrow + 2);
  std::map<char, int64_t> sizes;
  for (const auto& i : e.indices())
    if (!i.name().empty()) sizes[i.name()[0]] = i.size();
  for (char c : a + b + out)
    if (!sizes.count(c)) return false;
  for (char c : a)
    if (b.find(c) != std::string::npos && out.find(c) != std::string::npos && sizes[c] > 1)
      return false;
  return true;
}

}  // namespace

bool TensorLstmModel::supports(const ir::v1::Op& op) const {
  switch (op.kind_case()) {
    case ir::v1::Op::kEinsum:
      return op.inputs_size() == 2 && einsum_is_stage(op.einsum());
    case ir::v1::Op::kLstmCell:
    case ir::v1::Op::kGemm:
    case ir::v1::Op::kReshape:
    case ir::v1::Op::kEltwise:
      return true;
    default:
      return false;
  }
}

double TensorLstmModel::peak_macs_per_cycle() const {
  return static_cast<double>(p_.pes * p_.macs_per_pe);
}

YAML::Node TensorLstmModel::resolved_params() const { return Params::schema().dump(p_); }

std::vector<Component> TensorLstmModel::components() const {
  const int b = bits();
  const int64_t banks = p_.banks > 0 ? p_.banks : p_.pes;
  std::vector<Component> c;
  Component mac;
  mac.name = "pe_array";
  mac.klass = ComponentClass::kMac;
  mac.count = p_.pes * p_.macs_per_pe;
  mac.number = fp() ? "fp" : "int";
  mac.bits = b;
  mac.acc_bits = fp() ? 32 : 2 * b;
  c.push_back(mac);
  Component gate = mac;
  gate.name = "gate_unit";
  gate.count = p_.gate_lanes;
  c.push_back(gate);
  const auto sram = [&](const char* name, int64_t bytes, int port, int word, int64_t count) {
    Component s;
    s.name = name;
    s.klass = ComponentClass::kSram;
    s.bytes = bytes;
    s.port_bits = port;
    s.word_bits = word;
    s.count = count;
    return s;
  };
  // Two buffers of `banks` banks; one counted access is one bank word of q elements.
  const int work_word = static_cast<int>(p_.macs_per_pe * b);
  c.push_back(sram("sram_work", std::max<int64_t>(64, p_.work_sram_kib * 1024 / banks), work_word,
                   work_word, 2 * banks));
  c.push_back(sram("sram_weight", p_.weight_sram_kib * 1024, static_cast<int>(p_.pes * b), b, 1));
  c.push_back(sram("sram_state", p_.state_sram_kib * 1024, b, b, 1));
  c.push_back(sram("act_lut", std::max<int64_t>(64, (p_.act_segments + 1) * 2 * b / 8), 2 * b,
                   2 * b, p_.gate_lanes));
  Component dram;
  dram.name = "dram";
  dram.klass = ComponentClass::kDram;
  c.push_back(dram);
  return c;
}

EngineConfig TensorLstmModel::engine(const sim::OpTask& task) const {
  EngineConfig cfg;
  cfg.pes = p_.pes;
  cfg.macs_per_pe = p_.macs_per_pe;
  cfg.banks = p_.banks > 0 ? p_.banks : p_.pes;
  cfg.scheme = p_.memory_scheme == "naive" ? MemoryScheme::kNaive : MemoryScheme::kFdht;
  cfg.cycle = task.fidelity == sim::Fidelity::kCycle;
  return cfg;
}

uint64_t TensorLstmModel::dram_cycles(int64_t bytes) const {
  if (p_.dram_bandwidth <= 0 || bytes <= 0) return 0;
  return static_cast<uint64_t>(std::ceil(static_cast<double>(bytes) / p_.dram_bandwidth));
}

void TensorLstmModel::time_stage(const Stage& s, const StageEvents& e) {
  mac_ops_ += e.macs;
  if (s.weight_only) {
    // Both operands and the result are in the weight SRAM.
    weight_reads_ += e.work_reads + e.weight_reads;
    weight_writes_ += static_cast<uint64_t>(s.geom.M * s.geom.N);
  } else {
    work_reads_ += e.work_reads;
    work_writes_ += e.work_writes;
    weight_reads_ += e.weight_reads;
  }
  bank_conflicts_ += e.bank_conflicts;
  conflict_stalls_ += e.conflict_stalls;
  ++stages_;
  wait_cycles(e.cycles);
}

namespace {

bool weight_data(const ir::v1::Tensor* t, int64_t n) {
  return t && (t->float_data_size() == n || t->int_data_size() == n);
}

bool decomposed(const ir::v1::Tensor* t) {
  return t && (t->structure().has_tensor_train() || t->structure().has_hierarchical_tucker());
}

int64_t col_product(const ir::v1::Structure& s) {
  int64_t p = 1;
  if (s.has_tensor_train())
    for (auto f : s.tensor_train().col_factors()) p *= f;
  else
    for (auto f : s.hierarchical_tucker().col_factors()) p *= f;
  return p;
}

}  // namespace

void TensorLstmModel::run_op(const sim::OpTask& task) {
  out_.clear();
  max_error_ = 0;
  layers_.clear();
  switch (task.op.kind_case()) {
    case ir::v1::Op::kLstmCell:
      run_lstm(task);
      break;
    case ir::v1::Op::kEinsum:
    case ir::v1::Op::kGemm:
      run_linear(task);
      break;
    default:
      run_vector(task);
  }
}

void TensorLstmModel::run_lstm(const sim::OpTask& task) {
  const ir::v1::Workload& w = task.workload;
  const ir::v1::Op& op = task.op;
  const auto& lc = op.lstm_cell();
  const int64_t batch = std::max<int64_t>(1, lc.batch());
  const int64_t in = lc.input_size(), hid = lc.hidden_size(), gates = 4 * hid;
  const int64_t steps = std::max<int64_t>(1, lc.steps());
  const int64_t bytes = bits() / 8;
  const ir::v1::Tensor* w_ih = op.inputs_size() > 1 ? ir::find_tensor(w, op.inputs(1)) : nullptr;
  const ir::v1::Tensor* w_hh = op.inputs_size() > 2 ? ir::find_tensor(w, op.inputs(2)) : nullptr;
  const ir::v1::Tensor* bias = op.inputs_size() > 3 ? ir::find_tensor(w, op.inputs(3)) : nullptr;
  const ir::v1::Structure none;
  const ir::v1::Structure& s_ih = w_ih ? w_ih->structure() : none;
  const ir::v1::Structure& s_hh = w_hh ? w_hh->structure() : none;
  // [W_ih | W_hh] decomposed as one matrix (FDHT-LSTM): one chain on [x_t; h_(t-1)].
  const bool concatenated = decomposed(w_ih) && col_product(s_ih) == in + hid;
  const bool min_macs = p_.contraction_order == "min_macs";
  const EngineConfig cfg = engine(task);
  const std::vector<int64_t> lead = {batch};
  // An annotation that does not describe its weight is bad input (a hand-edited or foreign IR).
  const auto layer = [&](const ir::v1::Structure& s, int64_t cols, const ir::v1::Tensor* t) {
    try {
      return tensor_lstm::schedule_layer(tensor_lstm::network_from_structure(s, gates, cols, lead),
                                         min_macs, cfg);
    } catch (const std::invalid_argument& e) {
      throw sim::ConfigError("op '" + op.name() + "', weight '" + (t ? t->name() : "") +
                             "': " + e.what() +
                             "; rerun the tt / ht transform (codesim compress) on the workload");
    }
  };
  if (concatenated) {
    layers_.push_back(layer(s_ih, in + hid, w_ih));
  } else {
    layers_.push_back(layer(s_ih, in, w_ih));
    layers_.push_back(layer(s_hh, hid, w_hh));
  }

  // What must be on chip: every factor, weight-only product and the bias in the weight SRAM,
  // the largest X-dependent tensor in each working buffer. Only the factors and the bias
  // (`params`) come from DRAM: the products are formed on chip.
  int64_t weight_elems = bias ? gates : 0, work_elems = 0, params = bias ? gates : 0;
  for (const auto& l : layers_) {
    weight_elems += l.weight_elements;
    work_elems = std::max(work_elems, l.work_elements);
    params += l.layer.params;
  }
  const int64_t weight_bytes = weight_elems * bytes;
  const bool weights_fit = weight_bytes <= p_.weight_sram_kib * 1024;
  const bool work_fits = work_elems * bytes <= p_.work_sram_kib * 1024;
  // Intermediates larger than a working buffer go to DRAM and back.
  int64_t spill_bytes = 0;
  if (!work_fits)
    for (const auto& l : layers_)
      for (const auto& s : l.stages)
        if (!s.weight_only && s.geom.M * s.geom.N * bytes > p_.work_sram_kib * 1024)
          spill_bytes += 2 * s.geom.M * s.geom.N * bytes;

  std::vector<sim::Phase> phases;
  const uint64_t t0 = cycle();
  const uint64_t macs_before = mac_ops_.value;
  const uint64_t stalls_before = conflict_stalls_.value + dram_stalls_.value;
  // Every time step repeats the same stages with the same accesses: fast fidelity times each
  // stage once (closed form, or an enumeration where the layout is not conflict-free) and reuses
  // it; cycle fidelity enumerates every cycle of every step.
  std::vector<std::vector<StageEvents>> once(layers_.size());
  for (size_t li = 0; li < layers_.size(); ++li)
    for (const auto& s : layers_[li].stages)
      once[li].push_back(tensor_lstm::run_stage(s.geom, layers_[li].layer.net.sizes, cfg));
  const auto weight_products = [&]() {
    for (size_t li = 0; li < layers_.size(); ++li)
      for (size_t si = 0; si < layers_[li].stages.size(); ++si)
        if (layers_[li].stages[si].weight_only) time_stage(layers_[li].stages[si], once[li][si]);
  };
  const int64_t param_bytes = params * bytes;
  if (weights_fit) {
    // Loaded once; the weight-only products formed once and kept.
    dram_read_bytes_ += static_cast<uint64_t>(param_bytes);
    weight_writes_ += static_cast<uint64_t>(params);
    const uint64_t c = dram_cycles(param_bytes);
    dram_stalls_ += c;
    wait_cycles(c);
    weight_products();
  } else {
    ++weights_off_chip_;
  }
  if (cycle() > t0) phases.push_back({"weights", t0, cycle()});

  const int chains = static_cast<int>(layers_.size());
  const int64_t adds_per_gate = chains - 1 + (bias ? 1 : 0);
  // Per hidden unit: the partial sums of its 4 gates, 5 activations (4 gates, tanh(c)), c =
  // f c + i g (2), h = o tanh(c) (1).
  const int64_t ops_per_unit = 4 * adds_per_gate + 5 + 3;
  uint64_t prev_compute = 0;
  for (int64_t t = 0; t < steps; ++t) {
    const uint64_t step_start = cycle();
    // Weights that do not fit stream through the weight SRAM every step, products and all.
    const int64_t step_bytes = batch * in * bytes + (weights_fit ? 0 : param_bytes) + spill_bytes;
    dram_read_bytes_ += static_cast<uint64_t>(step_bytes);
    if (!weights_fit) weight_writes_ += static_cast<uint64_t>(params);
    if (spill_bytes) dram_write_bytes_ += static_cast<uint64_t>(spill_bytes / 2);
    const uint64_t load = dram_cycles(step_bytes);
    const uint64_t stall = t == 0 ? load : (load > prev_compute ? load - prev_compute : 0);
    dram_stalls_ += stall;
    wait_cycles(stall);
    const uint64_t compute_start = cycle();
    if (!weights_fit) weight_products();
    work_writes_ += static_cast<uint64_t>(batch * in);
    for (size_t li = 0; li < layers_.size(); ++li)
      for (size_t si = 0; si < layers_[li].stages.size(); ++si) {
        const Stage& s = layers_[li].stages[si];
        if (s.weight_only) continue;
        time_stage(s, cfg.cycle && t > 0
                          ? tensor_lstm::run_stage(s.geom, layers_[li].layer.net.sizes, cfg)
                          : once[li][si]);
      }
    // Gate unit: lanes of one MAC unit and one table port each.
    const int64_t units = batch * hid;
    gate_ops_ += static_cast<uint64_t>(units * ops_per_unit);
    lut_reads_ += static_cast<uint64_t>(units * 5);
    work_reads_ += static_cast<uint64_t>(units * 4 * chains);
    state_reads_ += static_cast<uint64_t>(units);
    state_writes_ += static_cast<uint64_t>(units);
    work_writes_ += static_cast<uint64_t>(units);  // h for the next step's chain
    dram_write_bytes_ += static_cast<uint64_t>(units * bytes);
    wait_cycles(
        static_cast<uint64_t>(((units + p_.gate_lanes - 1) / p_.gate_lanes) * ops_per_unit) +
        tensor_lstm::kStagePipelineDepth);
    prev_compute = cycle() - compute_start;
    phases.push_back({"step " + std::to_string(t), step_start, cycle()});
  }

  sim::OpOutcome& o = task.outcome;
  o.macs = static_cast<int64_t>(mac_ops_.value - macs_before);
  o.phases = std::move(phases);
  o.stall_cycles = conflict_stalls_.value + dram_stalls_.value - stalls_before;
  std::string mode = concatenated
                         ? std::string("[W_ih | W_hh] ") + layer_kind_name(layers_[0].layer.kind)
                         : std::string("W_ih ") + layer_kind_name(layers_[0].layer.kind) +
                               ", W_hh " + layer_kind_name(layers_[1].layer.kind);
  o.note = mode + "; " + std::to_string(params) + " weight params; weights " +
           (weights_fit ? "fit" : "do NOT fit") + " on chip (" + std::to_string(weight_bytes) +
           " B)";
  if (!work_fits) o.note += "; intermediates spill to DRAM";

  if (!task.functional) return;
  // Functional: the stages on real values (float32), the PWL gate unit, against the reference
  // executor running the same op.
  const bool have = weight_data(w_ih, gates * in) && weight_data(w_hh, gates * hid);
  if (!have) {
    o.note += "; functional: the weights carry no data";
    return;
  }
  const std::vector<float> wih = float_operands(w_ih, gates * in, "");
  const std::vector<float> whh = float_operands(w_hh, gates * hid, "");
  const std::vector<float> b =
      bias ? float_operands(bias, gates, "") : std::vector<float>(gates, 0.0f);
  if (concatenated) {
    std::vector<float> cat(static_cast<size_t>(gates * (in + hid)));
    for (int64_t r = 0; r < gates; ++r) {
      std::copy_n(wih.begin() + r * in, in, cat.begin() + r * (in + hid));
      std::copy_n(whh.begin() + r * hid, hid, cat.begin() + r * (in + hid) + in);
    }
    tensor_lstm::set_values_from_matrix(layers_[0].layer, cat);
  } else {
    tensor_lstm::set_values_from_matrix(layers_[0].layer, wih);
    tensor_lstm::set_values_from_matrix(layers_[1].layer, whh);
  }
  const ir::v1::Tensor* xt = ir::find_tensor(w, op.inputs(0));
  const std::vector<float> x = float_operands(xt, steps * batch * in, op.name() + "/x");
  std::vector<std::vector<std::vector<float>>> pre(layers_.size());
  std::vector<float> h(static_cast<size_t>(batch * hid), 0.0f), c(h);
  out_.assign(static_cast<size_t>(steps * batch * hid), 0.0f);
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<float> acc(static_cast<size_t>(batch * gates), 0.0f);
    for (int64_t r = 0; r < batch; ++r)
      for (int64_t g = 0; g < gates; ++g)
        acc[static_cast<size_t>(r * gates + g)] = b[static_cast<size_t>(g)];
    const auto add = [&](const std::vector<float>& y) {
      for (size_t i = 0; i < acc.size(); ++i) acc[i] += y[i];
    };
    const float* xs = x.data() + t * batch * in;
    if (concatenated) {
      std::vector<float> xh(static_cast<size_t>(batch * (in + hid)));
      for (int64_t r = 0; r < batch; ++r) {
        std::copy_n(xs + r * in, in, xh.begin() + r * (in + hid));
        std::copy_n(h.begin() + r * hid, hid, xh.begin() + r * (in + hid) + in);
      }
      add(tensor_lstm::evaluate(layers_[0], cfg, xh, pre[0]));
    } else {
      add(tensor_lstm::evaluate(layers_[0], cfg, std::vector<float>(xs, xs + batch * in), pre[0]));
      add(tensor_lstm::evaluate(layers_[1], cfg, h, pre[1]));
    }
    for (int64_t r = 0; r < batch; ++r)
      for (int64_t j = 0; j < hid; ++j) {
        const float* a = acc.data() + r * gates;
        const size_t u = static_cast<size_t>(r * hid + j);
        const float ig = act_.sigmoid(a[j]), fg = act_.sigmoid(a[hid + j]);
        const float gg = act_.tanh(a[2 * hid + j]), og = act_.sigmoid(a[3 * hid + j]);
        c[u] = fg * c[u] + ig * gg;
        h[u] = og * act_.tanh(c[u]);
        out_[static_cast<size_t>(t * batch * hid) + u] = h[u];
      }
  }
  const compress::Executor ex(w);
  compress::Array xa{{steps, batch, in}, x};
  const std::vector<compress::Array> ref = ex.run_op(op, {&xa});
  int64_t bad = 0;
  for (size_t i = 0; i < out_.size(); ++i) {
    const double d = std::fabs(static_cast<double>(out_[i]) - ref[0].data[i]);
    max_error_ = std::max(max_error_, d);
    if (d > p_.functional_tolerance) ++bad;
  }
  o.functional_mismatches = bad;
  o.note += "; functional max |error| " + std::to_string(max_error_);
}

void TensorLstmModel::run_linear(const sim::OpTask& task) {
  const ir::v1::Workload& w = task.workload;
  const ir::v1::Op& op = task.op;
  const int64_t bytes = bits() / 8;
  LayerNetwork l;
  l.kind = tensor_lstm::LayerKind::kDense;
  std::vector<const ir::v1::Tensor*> t = {ir::find_tensor(w, op.inputs(0)),
                                          ir::find_tensor(w, op.inputs(1))};
  std::string la, lb;
  // A gemm whose B is an activation with a batch axis runs as `repeats` GEMMs one after another.
  int64_t repeats = 1;
  if (op.has_gemm()) {
    const auto& g = op.gemm();
    const int64_t batch = std::max<int64_t>(1, g.batch());
    const bool batched_b = t[1] && !t[1]->is_weight() && t[1]->shape_size() == 3;
    if (batched_b) repeats = batch;
    l.net.sizes = {{'a', g.k()}, {'b', g.n()}, {'c', g.m()}, {'d', batched_b ? 1 : batch}};
    la = "dca";
    lb = batched_b ? "dab" : "ab";
    l.net.output = "dcb";
  } else {
    const std::string& eq = op.einsum().equation();
    const auto comma = eq.find(','), arrow = eq.find("->");
    if (comma == std::string::npos || arrow == std::string::npos)
      throw std::invalid_argument("einsum '" + eq + "' is not of the form ab,bc->ac");
    la = eq.substr(0, comma);
    lb = eq.substr(comma + 1, arrow - comma - 1);
    l.net.output = eq.substr(arrow + 2);
    for (const auto& i : op.einsum().indices()) l.net.sizes[i.name()[0]] = i.size();
  }
  // The activation is the operand that is not a weight (the first one when both or neither are).
  const bool swap = t[0] && t[0]->is_weight() && t[1] && !t[1]->is_weight();
  if (swap) {
    std::swap(la, lb);
    std::swap(t[0], t[1]);
  }
  l.net.tensors = {{"X", la}, {"W", lb}};
  const bool weight_only = t[0] && t[0]->is_weight();
  const EngineConfig cfg = engine(task);
  layers_.push_back(tensor_lstm::schedule_layer(l, true, cfg));
  LayerSchedule& s = layers_.back();
  const LetterSizes& sizes = s.layer.net.sizes;
  const int64_t w_elems = tensor_lstm::letters_product(lb, sizes);
  const int64_t x_elems = tensor_lstm::letters_product(la, sizes);
  const int64_t y_elems = tensor_lstm::letters_product(l.net.output, sizes);
  // Weights come from DRAM once per op; activations live on chip except the workload's own
  // inputs and outputs.
  const auto is_io = [&](const std::string& name,
                         const google::protobuf::RepeatedPtrField<std::string>& io) {
    return std::find(io.begin(), io.end(), name) != io.end();
  };
  // A gemm's bias [N] initializes the accumulators: one weight-SRAM read per output.
  const ir::v1::Tensor* bias =
      op.has_gemm() && op.inputs_size() > 2 ? ir::find_tensor(w, op.inputs(2)) : nullptr;
  const int64_t bias_elems = bias ? tensor_lstm::letters_product("b", sizes) : 0;
  int64_t rd = ((t[1] && t[1]->is_weight() ? w_elems : 0) + bias_elems) * bytes;
  if (weight_only) rd += x_elems * bytes;
  if (!weight_only && is_io(op.inputs(swap ? 1 : 0), w.inputs())) rd += repeats * x_elems * bytes;
  if (t[1] && !t[1]->is_weight() && is_io(op.inputs(swap ? 0 : 1), w.inputs()))
    rd += repeats * w_elems * bytes;
  dram_read_bytes_ += static_cast<uint64_t>(rd);
  weight_writes_ += static_cast<uint64_t>((t[1] && t[1]->is_weight() ? w_elems : 0) + bias_elems);
  weight_reads_ += static_cast<uint64_t>(bias ? repeats * y_elems : 0);
  const uint64_t load = dram_cycles(rd);
  dram_stalls_ += load;
  wait_cycles(load);
  const uint64_t macs_before = mac_ops_.value;
  const StageEvents e = tensor_lstm::run_stage(s.stages[0].geom, sizes, cfg);
  for (int64_t r = 0; r < repeats; ++r) time_stage(s.stages[0], e);
  task.outcome.macs = static_cast<int64_t>(mac_ops_.value - macs_before);
  if (op.outputs_size() > 0 && is_io(op.outputs(0), w.outputs())) {
    dram_write_bytes_ += static_cast<uint64_t>(repeats * y_elems * bytes);
    const uint64_t c = dram_cycles(repeats * y_elems * bytes);
    dram_stalls_ += c;
    wait_cycles(c);
  }
  if (!task.functional) return;
  const std::vector<float> a = float_operands(t[0], repeats * x_elems, op.name() + "/a");
  const std::vector<float> b = float_operands(t[1], repeats * w_elems, op.name() + "/b");
  if (weight_only) {
    out_ = tensor_lstm::contract(a, la, b, lb, l.net.output, sizes);
  } else {
    for (int64_t r = 0; r < repeats; ++r) {
      s.layer.values = {std::vector<float>(b.begin() + r * w_elems, b.begin() + (r + 1) * w_elems)};
      std::vector<std::vector<float>> unused;
      const std::vector<float> y = tensor_lstm::evaluate(
          s, cfg, std::vector<float>(a.begin() + r * x_elems, a.begin() + (r + 1) * x_elems),
          unused);
      out_.insert(out_.end(), y.begin(), y.end());
    }
  }
  if (bias) {
    const std::vector<float> bv = float_operands(bias, bias_elems, op.name() + "/bias");
    for (size_t i = 0; i < out_.size(); ++i) out_[i] += bv[i % bv.size()];
  }
  const compress::Executor ex(w);
  compress::Array aa{{}, a}, ba{{}, b};
  for (char c : la) aa.shape.push_back(c == 'd' ? repeats * sizes.at(c) : sizes.at(c));
  for (char c : lb) ba.shape.push_back(c == 'd' ? repeats * sizes.at(c) : sizes.at(c));
  if (op.has_gemm() && lb == "ab") ba.shape = {sizes.at('a'), sizes.at('b')};
  std::vector<const compress::Array*> ins = {swap ? &ba : &aa, swap ? &aa : &ba};
  compress::Array bias_array;
  if (bias) {
    bias_array = {{bias_elems}, float_operands(bias, bias_elems, op.name() + "/bias")};
    ins.push_back(&bias_array);
  }
  const std::vector<compress::Array> ref = ex.run_op(op, ins);
  int64_t bad = 0;
  for (size_t i = 0; i < out_.size() && i < ref[0].data.size(); ++i) {
    const double d = std::fabs(static_cast<double>(out_[i]) - ref[0].data[i]);
    max_error_ = std::max(max_error_, d);
    if (d > p_.functional_tolerance * std::max(1.0, std::fabs(static_cast<double>(ref[0].data[i]))))
      ++bad;
  }
  task.outcome.functional_mismatches = bad;
}

void TensorLstmModel::run_vector(const sim::OpTask& task) {
  const ir::v1::Op& op = task.op;
  if (op.has_reshape()) {
    task.outcome.note = "reshape: a view, done by the address generators (0 cycles)";
    return;
  }
  const int64_t n = std::max<int64_t>(1, op.eltwise().elements());
  const int64_t operands = std::max(1, op.inputs_size());
  gate_ops_ += static_cast<uint64_t>(n);
  work_reads_ += static_cast<uint64_t>(n * operands);
  work_writes_ += static_cast<uint64_t>(n);
  wait_cycles(static_cast<uint64_t>((n + p_.gate_lanes - 1) / p_.gate_lanes) +
              tensor_lstm::kStagePipelineDepth);
}

CODESIM_REGISTER_ACCELERATOR("tensor_lstm", TensorLstmModel);

}  // namespace codesim::arch
