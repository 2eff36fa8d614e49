#include "arch/models/nm_sparse/nm_sparse.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "arch/common/fold_memory.h"
#include "arch/common/fp16.h"
#include "arch/common/operand_values.h"
#include "arch/common/reference_ops.h"
#include "sim/core/diagnostics.h"
#include "sim/core/registry.h"
#include "workloads/ir/ir.h"

namespace codesim::arch {

using nm_sparse::IndexFormat;
using nm_sparse::NmPattern;

const sim::ParamSchema<NmSparseParams>& NmSparseParams::schema() {
  static const sim::ParamSchema<NmSparseParams> s = [] {
    sim::ParamSchema<NmSparseParams> p;
    using P = NmSparseParams;
    p.integer("rows", &P::rows, "PE rows of the matrix engine (R)")
        .def(16)
        .range(1, 1024)
        .unit("PEs");
    p.integer("cols", &P::cols, "PE columns of the matrix engine (C)")
        .def(32)
        .range(1, 1024)
        .unit("PEs");
    p.integer("mults_per_pe", &P::mults_per_pe,
              "multipliers per PE (P), each behind an M:1 selector, summed by an adder tree")
        .def(4)
        .range(1, 64)
        .unit("multipliers");
    p.text("supported_nm", &P::supported_nm,
           "N:M patterns the selectors and index decoders support, e.g. \"2:4,1:4,2:8\"; dense "
           "mode is always available. Selector width = the largest M")
        .def("1:4,2:4,1:8,2:8,4:8,4:16,8:16")
        .check(
            [](const std::string& v) {
              std::vector<NmPattern> out;
              return nm_sparse::parse_pattern_list(v, out);
            },
            "a list of N:M patterns with 1 <= N < M, e.g. \"1:4,2:4,2:8\"");
    p.choice("operand", &P::operand, {"int8", "int16", "fp16"},
             "operand type of the multipliers and of weights/activations in SRAM and DRAM")
        .def("int8");
    p.integer("ifmap_sram_kib", &P::ifmap_sram_kib, "activation (streamed operand) SRAM")
        .def(512)
        .range(1, 1 << 20)
        .unit("KiB");
    p.integer("weight_sram_kib", &P::weight_sram_kib,
              "weight SRAM, holding compressed values and indices")
        .def(512)
        .range(1, 1 << 20)
        .unit("KiB");
    p.integer("ofmap_sram_kib", &P::ofmap_sram_kib, "output and partial-sum SRAM")
        .def(256)
        .range(1, 1 << 20)
        .unit("KiB");
    p.integer("attn_sram_kib", &P::attn_sram_kib,
              "attention buffer: holds Q·Kᵀ scores / softmax probabilities of all heads so that "
              "they never leave the chip")
        .def(256)
        .range(0, 1 << 20)
        .unit("KiB");
    declare_dram_port(p);
    p.real("clock_mhz", &P::clock_mhz, "clock frequency").def(200.0).range(1, 100000).unit("MHz");
    p.boolean("fold_overlap", &P::fold_overlap,
              "ping-pong weight registers: the next fold starts max(T, R) cycles after the "
              "current one (false: SCALE-Sim, every fold fills and drains alone)")
        .def(true);
    p.integer("softmax_lanes", &P::softmax_lanes,
              "softmax unit elements per cycle per pass (max, exp+sum, scale)")
        .def(16)
        .range(1, 4096)
        .unit("elements/cycle");
    p.integer("softmax_latency", &P::softmax_latency,
              "extra pipeline depth of a row through exp and reciprocal")
        .def(24)
        .range(0, 100000)
        .unit("cycles");
    p.integer("vector_lanes", &P::vector_lanes, "LayerNorm / element-wise unit lanes")
        .def(32)
        .range(1, 4096)
        .unit("elements/cycle");
    p.integer("vector_latency", &P::vector_latency, "vector unit pipeline depth")
        .def(8)
        .range(0, 100000)
        .unit("cycles");
    p.text("nm_rules", &P::nm_rules,
           "per-layer N:M for weights without a structure annotation (shape-only workloads): "
           "\"REGEX=N:M; REGEX=dense; N:M\", first whole-name match wins, a bare pattern "
           "matches every op; \"\" = dense")
        .def("")
        .check(
            [](const std::string& v) {
              std::vector<nm_sparse::NmRule> out;
              return nm_sparse::parse_rules(v, out);
            },
            "rules \"REGEX=N:M\" or \"REGEX=dense\" separated by ';', e.g. "
            "\"ffn\\\\..*=2:4; 4:8\"");
    p.choice("index_format", &P::index_format, {"indices", "bitmap"},
             "metadata of weights sparsified by nm_rules: ceil(log2 M) bits per kept value, or "
             "M bits per group (annotated weights keep their own)")
        .def("indices");
    return p;
  }();
  return s;
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Operand values in the data's order: integer codes (saturated), float data quantized with the
// tensor's scale (else max|x| to the largest code), else codes seeded from `seed`.
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
    // A quantized activation enters as q - z with q = clamp(round_half_even(x / s) + z) to its
    // code range (ONNX QuantizeLinear: the float32 quotient), as the reference executor does.
    const auto& q = t->quantization();
    float scale = q.scale_size() > 0 ? q.scale(0) : 0.0f;
    const int32_t zero = q.zero_point_size() > 0 ? q.zero_point(0) : 0;
    double qlo = lo, qhi = hi;
    if (scale > 0 && t->bits() > 0 && t->bits() <= 16) {
      const int b = static_cast<int>(t->bits());
      qlo = t->dtype() == ir::v1::UINT ? 0.0 : -std::ldexp(1.0, b - 1);
      qhi = t->dtype() == ir::v1::UINT ? std::ldexp(1.0, b) - 1 : std::ldexp(1.0, b - 1) - 1;
    }
    if (scale <= 0) {
      double peak = 0;
      for (float x : t->float_data()) peak = std::max(peak, std::fabs(static_cast<double>(x)));
      scale = peak > 0 ? static_cast<float>(peak / hi) : 1.0f;
    }
    for (int64_t i = 0; i < n; ++i) {
      double c =
          static_cast<double>(std::nearbyint(t->float_data(static_cast<int>(i)) / scale)) + zero;
      c = std::min(qhi, std::max(qlo, c));
      v[i] = static_cast<int16_t>(c - zero);
    }
  } else {
    uint64_t state = seed_from(seed);
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    for (auto& x : v)
      x = static_cast<int16_t>(lo + static_cast<int64_t>(next_random(state) % span));
  }
  return v;
}

std::vector<float> fp_values(const ir::v1::Tensor* t, int64_t n, const std::string& seed) {
  std::vector<float> v = float_operands(t, n, seed);
  for (auto& x : v) x = round_to_fp16(x);
  return v;
}

// Seeded weights have no N:M structure: they are pruned to the pattern the way the nm transform
// prunes (the n largest magnitudes of every group kept, earlier position on ties).
template <class V>
void prune_seeded(std::vector<V>& b, int64_t k, int64_t n, NmPattern p) {
  if (p.dense()) return;
  std::vector<int64_t> idx;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t g0 = 0; g0 < k; g0 += p.m) {
      idx.clear();
      for (int64_t r = g0; r < std::min(k, g0 + p.m); ++r) idx.push_back(r);
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t x, int64_t y) {
        return std::fabs(static_cast<double>(b[x * n + j])) >
               std::fabs(static_cast<double>(b[y * n + j]));
      });
      for (size_t q = static_cast<size_t>(p.n); q < idx.size(); ++q) b[idx[q] * n + j] = V(0);
    }
}

// A patch convolution's input as GEMM rows: row (b, oh, ow), column (c, i, j). The patches do
// not overlap, so this is a permutation of the NCHW input.
template <class V>
std::vector<V> patch_rows(const std::vector<V>& x, const Conv2dShape& s) {
  const int64_t oh = s.out_h(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w;
  const int64_t k = s.c * kh * kw;
  std::vector<V> a(static_cast<size_t>(s.batch * oh * ow * k));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t z = 0; z < ow; ++z)
        for (int64_t c = 0; c < s.c; ++c)
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j)
              a[static_cast<size_t>(((b * oh + y) * ow + z) * k + (c * kh + i) * kw + j)] =
                  x[static_cast<size_t>(((b * s.c + c) * s.h + y * kh + i) * s.w + z * kw + j)];
  return a;
}

// Row-major [rows, cols] -> [cols, rows] (a conv weight [F, K] as the engine's B [K, F], and back).
template <class V>
std::vector<V> transposed(const std::vector<V>& v, int64_t rows, int64_t cols) {
  std::vector<V> t(v.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      t[static_cast<size_t>(c * rows + r)] = v[static_cast<size_t>(r * cols + c)];
  return t;
}

// GEMM outputs [batch·OH·OW, F] of a patch convolution in the reference's NCHW order.
template <class T>
std::vector<T> to_nchw(const std::vector<T>& y, const Conv2dShape& s) {
  const int64_t px = s.out_h() * s.out_w();
  std::vector<T> out(y.size());
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t p = 0; p < px; ++p)
      for (int64_t f = 0; f < s.filters; ++f)
        out[static_cast<size_t>((b * s.filters + f) * px + p)] =
            y[static_cast<size_t>((b * px + p) * s.filters + f)];
  return out;
}

// The stored form: for every column, each group's non-zeros in position order, padded with empty
// slots; non-zeros beyond n are dropped and counted (weights that break their annotation).
template <class V>
nm_sparse::CompressedB<V> compress(const std::vector<V>& b, int64_t mats, int64_t k, int64_t n,
                                   const nm_sparse::ColumnLayout& l) {
  nm_sparse::CompressedB<V> c;
  const NmPattern p = l.pattern();
  for (int64_t s = 0; s < mats; ++s) {
    std::vector<V> val(static_cast<size_t>(l.rows() * n), V(0));
    std::vector<int32_t> pos(static_cast<size_t>(l.rows() * n), -1);
    const V* src = b.data() + s * k * n;
    if (p.dense()) {
      for (int64_t r = 0; r < k; ++r)
        for (int64_t j = 0; j < n; ++j) {
          val[r * n + j] = src[r * n + j];
          pos[r * n + j] = static_cast<int32_t>(r);
        }
    } else {
      for (int64_t j = 0; j < n; ++j)
        for (int64_t g = 0; g * p.m < k; ++g) {
          int64_t slot = 0;
          const int64_t keep = std::min<int64_t>(p.n, k - g * p.m);
          bool broke = false;
          for (int64_t q = g * p.m; q < std::min(k, (g + 1) * p.m); ++q) {
            if (src[q * n + j] == V(0)) continue;
            if (slot >= keep) {
              broke = true;
              continue;
            }
            const int64_t r = g * p.n + slot++;
            val[r * n + j] = src[q * n + j];
            pos[r * n + j] = static_cast<int32_t>(q);
          }
          c.violations += broke;
        }
    }
    c.val.push_back(std::move(val));
    c.pos.push_back(std::move(pos));
  }
  return c;
}

}  // namespace

NmSparseModel::NmSparseModel(const sc_core::sc_module_name& name, const Params& p)
    : sim::Accelerator(name, p.clock_mhz),
      p_(p),
      dram_(p.dram_bandwidth, static_cast<uint64_t>(p.dram_latency)),
      ifmap_buf_("sram_ifmap", p.ifmap_sram_kib * 1024),
      weight_buf_("sram_weight", p.weight_sram_kib * 1024),
      mac_ops_(stats_.counter("mac_ops", "ops",
                              "multiplications of the matrix engine (kept value "
                              "slots x streamed rows)",
                              "pe_multipliers", "mac")),
      selector_ops_(stats_.counter("selector_ops", "shifter-equivalents",
                                   "M:1 selections driven by an index (each priced as the 2:1 "
                                   "mux count of its shifter equivalents)",
                                   "selectors", "shift")),
      sram_ifmap_reads_(stats_.counter("sram_ifmap_reads", "words",
                                       "activations read into the array (group windows)",
                                       "sram_ifmap", "read")),
      sram_weight_reads_(stats_.counter("sram_weight_reads", "bytes",
                                        "compressed weights (values + indices) loaded into PEs",
                                        "sram_weight", "read")),
      sram_ofmap_writes_(stats_.counter("sram_ofmap_writes", "words",
                                        "outputs and partial sums written by the array",
                                        "sram_ofmap", "write")),
      sram_ofmap_reads_(stats_.counter("sram_ofmap_reads", "words",
                                       "partial sums read back to accumulate", "sram_ofmap",
                                       "read")),
      sram_ifmap_fills_(stats_.counter("sram_ifmap_fills", "words",
                                       "activations written into the SRAM from DRAM", "sram_ifmap",
                                       "write")),
      sram_weight_fills_(stats_.counter("sram_weight_fills", "bytes",
                                        "compressed weight bytes written into the SRAM from DRAM",
                                        "sram_weight", "write")),
      sram_ofmap_drains_(stats_.counter("sram_ofmap_drains", "words",
                                        "outputs and spilled partial sums read out to DRAM",
                                        "sram_ofmap", "read")),
      sram_ofmap_refills_(stats_.counter("sram_ofmap_refills", "words",
                                         "spilled partial sums written back from DRAM",
                                         "sram_ofmap", "write")),
      sram_attn_reads_(stats_.counter("sram_attn_reads", "words",
                                      "attention scores/probabilities read (softmax, S·V)",
                                      "sram_attn", "read")),
      sram_attn_writes_(stats_.counter("sram_attn_writes", "words",
                                       "attention scores/probabilities written (Q·Kᵀ, softmax)",
                                       "sram_attn", "write")),
      dram_read_bytes_(
          stats_.counter("dram_read_bytes", "bytes", "bytes read from DRAM", "dram", "read")),
      dram_write_bytes_(
          stats_.counter("dram_write_bytes", "bytes", "bytes written to DRAM", "dram", "write")),
      dram_weight_bytes_(stats_.counter("dram_weight_bytes", "bytes",
                                        "compressed weight bytes (values + metadata) read from "
                                        "DRAM (part of dram_read_bytes)")),
      weight_reg_writes_(stats_.counter("weight_reg_writes", "writes",
                                        "stationary weight registers loaded", "pe_weight_regs",
                                        "write")),
      index_reg_writes_(stats_.counter("index_reg_writes", "writes",
                                       "stationary index registers loaded (sparse mode)",
                                       "pe_index_regs", "write")),
      psum_reg_writes_(stats_.counter("psum_reg_writes", "writes",
                                      "partial-sum registers latching a sum on its way down",
                                      "pe_psum_regs", "write")),
      softmax_adds_(stats_.counter("softmax_adds", "ops", "softmax unit additions/comparisons",
                                   "softmax_add", "add")),
      softmax_mults_(stats_.counter("softmax_mults", "ops", "softmax unit multiplications",
                                    "softmax_mul", "mul")),
      vector_adds_(
          stats_.counter("vector_adds", "ops", "vector unit additions", "vector_add", "add")),
      vector_mults_(stats_.counter("vector_mults", "ops", "vector unit multiplications",
                                   "vector_mul", "mul")),
      folds_(stats_.counter("folds", "folds", "matrix engine folds")),
      sparse_macs_saved_(stats_.counter("sparse_macs_skipped", "ops",
                                        "dense MACs not performed thanks to N:M sparsity")) {
  if (const std::string e = nm_sparse::parse_pattern_list(p.supported_nm, supported_); !e.empty())
    throw sim::ConfigError("accelerator.supported_nm: " + e);
  if (const std::string e = nm_sparse::parse_rules(p.nm_rules, rules_); !e.empty())
    throw sim::ConfigError("accelerator.nm_rules: " + e);
  stats_.formula("dense_equivalent_macs_per_cycle", "MACs/cycle",
                 "dense MACs retired per matrix-engine multiplication slot", [this] {
                   return mac_ops_.value
                              ? static_cast<double>(mac_ops_.value + sparse_macs_saved_.value) /
                                    static_cast<double>(mac_ops_.value)
                              : 0.0;
                 });
}

int NmSparseModel::max_m() const {
  int m = 1;
  for (const NmPattern& q : supported_) m = std::max(m, q.m);
  return m;
}

// A b-bit barrel shifter is ceil(log2 b) rows of b 2:1 muxes; an M:1 selector of b-bit operands
// is (M-1)·b 2:1 muxes: (M-1)/ceil(log2 b) shifter equivalents, rounded up.
int NmSparseModel::selector_shifters() const {
  const int mm = max_m();
  if (mm <= 1) return 0;
  const int lg = nm_sparse::index_bits(operand_bits());
  return (mm - 1 + lg - 1) / lg;
}

bool NmSparseModel::supports(const ir::v1::Op& op) const {
  switch (op.kind_case()) {
    case ir::v1::Op::kGemm:
    case ir::v1::Op::kSoftmax:
    case ir::v1::Op::kLayernorm:
    case ir::v1::Op::kEltwise:
    case ir::v1::Op::kReduce:
    case ir::v1::Op::kReshape:
    case ir::v1::Op::kTranspose:
    case ir::v1::Op::kSlice:
    case ir::v1::Op::kConcat:
    case ir::v1::Op::kGeneric:
      return true;
    case ir::v1::Op::kConv2D:
      return nm_sparse::is_patch_conv(op);
    default:
      return false;
  }
}

double NmSparseModel::peak_macs_per_cycle() const {
  return static_cast<double>(p_.rows * p_.cols * p_.mults_per_pe);
}

YAML::Node NmSparseModel::resolved_params() const { return Params::schema().dump(p_); }

std::vector<Component> NmSparseModel::components() const {
  const int bits = operand_bits();
  const int64_t mults = p_.rows * p_.cols * p_.mults_per_pe;
  std::vector<Component> c;
  Component mac;
  mac.name = "pe_multipliers";
  mac.klass = ComponentClass::kMac;
  mac.count = mults;
  mac.number = fp() ? "fp" : "int";
  mac.bits = bits;
  mac.acc_bits = 32;
  c.push_back(mac);
  Component sel;
  sel.name = "selectors";
  sel.klass = ComponentClass::kShifter;
  sel.count = std::max<int64_t>(1, mults * selector_shifters());
  sel.bits = bits;
  c.push_back(sel);
  Component wreg;
  wreg.name = "pe_weight_regs";
  wreg.klass = ComponentClass::kRegister;
  wreg.count = 2 * mults;  // ping-pong
  wreg.bits = bits;
  c.push_back(wreg);
  Component ireg;
  ireg.name = "pe_index_regs";
  ireg.klass = ComponentClass::kRegister;
  ireg.count = 2 * mults;
  ireg.bits = std::max(1, nm_sparse::index_bits(max_m()));
  c.push_back(ireg);
  Component preg;
  preg.name = "pe_psum_regs";
  preg.klass = ComponentClass::kRegister;
  preg.count = p_.rows * p_.cols;
  preg.bits = 32;
  c.push_back(preg);
  const auto sram = [&](const char* name, int64_t kib, int64_t port_bits, int word) {
    Component s;
    s.name = name;
    s.klass = ComponentClass::kSram;
    s.bytes = std::max<int64_t>(1, kib) * 1024;
    s.port_bits = static_cast<int>(port_bits);
    s.word_bits = word;
    return s;
  };
  // Ports: every PE row reads the windows of its P slots each cycle, P·M/N activations for the
  // widest window of the supported patterns (dense: P); weights one tile row per cycle.
  int64_t window = 1;
  for (const NmPattern& q : supported_) window = std::max<int64_t>(window, ceil_div(q.m, q.n));
  c.push_back(
      sram("sram_ifmap", p_.ifmap_sram_kib, p_.rows * p_.mults_per_pe * window * bits, bits));
  c.push_back(sram("sram_weight", p_.weight_sram_kib, p_.cols * p_.mults_per_pe * bits, 8));
  c.push_back(sram("sram_ofmap", p_.ofmap_sram_kib, p_.cols * 32, 32));
  c.push_back(sram("sram_attn", p_.attn_sram_kib, p_.softmax_lanes * bits, bits));
  // Nonlinear units in fp16: 3 pipeline stages (max / exp+sum / scale) of `lanes` adders and
  // multipliers for the softmax, one adder and one multiplier per lane for the vector unit.
  const auto unit = [](const char* name, ComponentClass k, int64_t count) {
    Component u;
    u.name = name;
    u.klass = k;
    u.count = count;
    u.number = "fp";
    u.bits = 16;
    return u;
  };
  c.push_back(unit("softmax_add", ComponentClass::kAdder, 3 * p_.softmax_lanes));
  c.push_back(unit("softmax_mul", ComponentClass::kMultiplier, 3 * p_.softmax_lanes));
  c.push_back(unit("vector_add", ComponentClass::kAdder, p_.vector_lanes));
  c.push_back(unit("vector_mul", ComponentClass::kMultiplier, p_.vector_lanes));
  Component dram;
  dram.name = "dram";
  dram.klass = ComponentClass::kDram;
  c.push_back(dram);
  return c;
}

NmSparseModel::WeightChoice NmSparseModel::choose(const ir::v1::Workload& w,
                                                  const ir::v1::Op& op) const {
  WeightChoice wc;
  wc.format = p_.index_format == "bitmap" ? IndexFormat::kBitmap : IndexFormat::kIndices;
  const ir::v1::Tensor* b = op.inputs_size() > 1 ? ir::find_tensor(w, op.inputs(1)) : nullptr;
  wc.weight = !b || b->is_weight();
  if (!wc.weight) return wc;  // dense–dense
  if (b && b->structure().has_nm()) {
    const auto& a = b->structure().nm();
    if (a.n() >= 1 && a.m() >= 2 && a.n() < a.m())
      wc.declared = NmPattern{static_cast<int>(a.n()), static_cast<int>(a.m())};
    wc.format = a.index_format() == ir::v1::BITMAP ? IndexFormat::kBitmap : IndexFormat::kIndices;
    wc.source = "annotation";
  } else if (!b || b->structure().kind_case() == ir::v1::Structure::KIND_NOT_SET) {
    for (const auto& r : rules_)
      if (std::regex_match(op.name(), r.regex)) {
        wc.declared = r.pattern;
        wc.source = "rule " + r.regex_text;
        break;
      }
  }
  wc.run = nm_sparse::best_supported(wc.declared, supported_);
  return wc;
}

namespace {

// An attention scale: the scores times (or divided by) a constant scalar, e.g. 1/sqrt(d) of an
// exported torch model.
bool is_scalar_scale(const ir::v1::Workload& w, const ir::v1::Op& op, const std::string& scores) {
  if (op.kind_case() != ir::v1::Op::kEltwise || op.inputs_size() != 2 || op.outputs_size() != 1)
    return false;
  const auto f = op.eltwise().func();
  const bool mul = f == ir::v1::MUL;
  if (!mul && f != ir::v1::DIV) return false;
  for (int i = 0; i < 2; ++i) {
    if (op.inputs(i) != scores || (!mul && i != 0)) continue;
    const ir::v1::Tensor* c = ir::find_tensor(w, op.inputs(1 - i));
    return c && c->is_weight() && ir::tensor_elements(*c) == 1;
  }
  return false;
}

}  // namespace

NmSparseModel::Chain NmSparseModel::attention_chain(const ir::v1::Workload& w,
                                                    const ir::v1::Op& op) const {
  Chain c;
  if (op.outputs_size() != 1) return c;
  // The scores feed exactly one softmax (optionally through a scalar scale, which the softmax
  // unit applies on the way into exp), whose probabilities feed exactly one gemm as its A.
  const auto consumers = [&](const std::string& t) {
    std::vector<int> out;
    for (int i = 0; i < w.ops_size(); ++i)
      for (const auto& in : w.ops(i).inputs())
        if (in == t) {
          out.push_back(i);
          break;
        }
    return out;
  };
  std::vector<int> s = consumers(op.outputs(0));
  int scale = -1;
  if (s.size() == 1 && is_scalar_scale(w, w.ops(s[0]), op.outputs(0))) {
    scale = s[0];
    s = consumers(w.ops(scale).outputs(0));
  }
  if (s.size() != 1 || w.ops(s[0]).kind_case() != ir::v1::Op::kSoftmax ||
      w.ops(s[0]).outputs_size() != 1)
    return c;
  const std::vector<int> v = consumers(w.ops(s[0]).outputs(0));
  if (v.size() != 1 || w.ops(v[0]).kind_case() != ir::v1::Op::kGemm ||
      w.ops(v[0]).inputs(0) != w.ops(s[0]).outputs(0))
    return c;
  c.scale = scale;
  c.softmax = s[0];
  c.sv = v[0];
  return c;
}

void NmSparseModel::run_op(const sim::OpTask& task) {
  switch (task.op.kind_case()) {
    case ir::v1::Op::kGemm:
    case ir::v1::Op::kConv2D:
      run_gemm(task);
      break;
    case ir::v1::Op::kReshape:
    case ir::v1::Op::kTranspose:
    case ir::v1::Op::kSlice:
    case ir::v1::Op::kConcat:
      // Head split/merge, Kᵀ, the class token: the DMA reads the consumer's tiles with these
      // strides and offsets (the engine loads B tiles in any order), so no data moves here.
      task.outcome.note = "layout: folded into the consumer's DMA addressing";
      break;
    default:
      run_vector(task);
  }
}

void NmSparseModel::run_gemm(const sim::OpTask& task) {
  int_out_.clear();
  fp_out_.clear();
  const WeightChoice wc = choose(task.workload, task.op);
  const nm_sparse::GemmMap mp(task.workload, task.op, wc.run, wc.format);
  last_pattern_ = wc.run;
  if (task.functional && fp())
    execute<float, float>(task, wc, mp);
  else
    execute<int16_t, uint32_t>(task, wc, mp);
}

template <class V, class A>
void NmSparseModel::execute(const sim::OpTask& task, const WeightChoice& wc,
                            const nm_sparse::GemmMap& mp) {
  const int R = static_cast<int>(p_.rows), C = static_cast<int>(p_.cols);
  const int P = static_cast<int>(p_.mults_per_pe);
  const int64_t eb = operand_bits() / 8;
  const std::vector<nm_sparse::Fold> folds = nm_sparse::make_folds(mp, R, P, C);
  sim::OpOutcome& o = task.outcome;

  nm_sparse::MemConfig mc;
  mc.elem_bytes = eb;
  mc.acc_bytes = 4;
  mc.ofmap_bytes = p_.ofmap_sram_kib * 1024;
  const std::string& name = task.op.name();
  // Attention: Q·Kᵀ keeps its scores in the attention buffer when all heads fit; its softmax
  // and S·V then read them there.
  Chain chain;
  const int64_t out_bytes = mp.subs() * mp.m() * mp.n() * eb;
  if (!wc.weight) {
    chain = attention_chain(task.workload, task.op);
    if (chain.softmax >= 0 && out_bytes <= p_.attn_sram_kib * 1024) {
      mc.out_on_chip = true;
    } else {
      chain = Chain{};
    }
  }
  auto sv = sv_pending_.find(name);
  if (sv != sv_pending_.end()) {
    mc.a_on_chip = true;
    mc.a_rows_ready = sv->second;
    sv_pending_.erase(sv);
  }
  nm_sparse::FoldScheduler mem(mp, folds, mc, dram_, ifmap_buf_, weight_buf_);

  std::vector<V> a, bdense, x;
  std::vector<A> out;
  nm_sparse::CompressedB<V> cb;
  const int64_t a_elems = mp.subs() * mp.m() * mp.k();
  const int64_t b_elems = mp.b_matrices() * mp.k() * mp.n();
  if (task.functional) {
    const ir::v1::Tensor* bt = mp.b_tensor();
    const bool seeded_b =
        !(bt && (bt->int_data_size() == b_elems || bt->float_data_size() == b_elems));
    const auto values = [&](const ir::v1::Tensor* t, int64_t n, const std::string& seed) {
      if constexpr (std::is_floating_point_v<V>)
        return fp_values(t, n, seed);
      else
        return int_values(t, n, operand_bits(), seed);
    };
    if (mp.is_conv()) {
      // The same elements as a gemm, in the input's NCHW order and the weight's [F, K] order.
      const Conv2dShape& cs = mp.conv_shape();
      x = values(mp.a_tensor(), cs.batch * cs.c * cs.h * cs.w, name + "/a");
      a = patch_rows(x, mp.conv_shape());
      bdense = transposed(values(bt, b_elems, name + "/b"), mp.n(), mp.k());
    } else {
      a = values(mp.a_tensor(), a_elems, name + "/a");
      bdense = values(bt, b_elems, name + "/b");
    }
    if (seeded_b)
      for (int64_t s = 0; s < mp.b_matrices(); ++s) {
        std::vector<V> one(bdense.begin() + s * mp.k() * mp.n(),
                           bdense.begin() + (s + 1) * mp.k() * mp.n());
        prune_seeded(one, mp.k(), mp.n(), wc.run);
        std::copy(one.begin(), one.end(), bdense.begin() + s * mp.k() * mp.n());
      }
    cb = compress(bdense, mp.b_matrices(), mp.k(), mp.n(), mp.layout());
    out.assign(static_cast<size_t>(mp.subs() * mp.m() * mp.n()), A(0));
  }

  nm_sparse::EngineConfig cfg;
  cfg.rows = R;
  cfg.cols = C;
  cfg.mults = P;
  cfg.overlap = p_.fold_overlap;
  cfg.cycle = task.fidelity == sim::Fidelity::kCycle;
  cfg.functional = task.functional;
  const auto sync = [this](uint64_t t) {
    const uint64_t now = cycle();
    if (t > now) wait_cycles(t - now);
  };
  const uint64_t op_start = cycle();
  const nm_sparse::EngineResult r = nm_sparse::run_folds<V, A>(
      mp, folds, mem, cfg, task.functional ? &cb : nullptr, task.functional ? a.data() : nullptr,
      task.functional ? out.data() : nullptr, op_start, sync);
  sync(r.end_cycle);

  mac_ops_ += r.events.macs;
  selector_ops_ += r.events.selects * static_cast<uint64_t>(selector_shifters());
  const uint64_t dense_macs = static_cast<uint64_t>(mp.subs() * mp.m() * mp.n() * mp.k());
  if (dense_macs > r.events.macs) sparse_macs_saved_ += dense_macs - r.events.macs;
  (mc.a_on_chip ? sram_attn_reads_ : sram_ifmap_reads_) += r.events.ifmap_reads;
  sram_weight_reads_ += r.events.weight_reads;
  weight_reg_writes_ += r.events.weight_reg_writes;
  if (mp.sparse()) index_reg_writes_ += r.events.weight_reg_writes;
  sram_ofmap_writes_ += r.events.out_writes;
  sram_ofmap_reads_ += r.events.out_reads;
  psum_reg_writes_ += r.events.psum_reg_writes;
  if (mc.out_on_chip) sram_attn_writes_ += static_cast<uint64_t>(mp.subs() * mp.m() * mp.n());
  const FoldTraffic& m = mem.traffic();
  dram_read_bytes_ += m.dram_read_bytes;
  dram_write_bytes_ += m.dram_write_bytes;
  if (wc.weight) dram_weight_bytes_ += m.b_bytes;  // not K or V of attention
  sram_ifmap_fills_ += m.a_bytes / static_cast<uint64_t>(eb);
  sram_weight_fills_ += m.b_bytes;
  sram_ofmap_drains_ += m.ofmap_drains;
  sram_ofmap_refills_ += m.ofmap_refills;
  folds_ += folds.size();

  if (mc.out_on_chip) {
    if (chain.scale >= 0) scale_pending_.insert(task.workload.ops(chain.scale).name());
    QkRows q;
    q.row0 = r.sub_rows_out;
    q.rows = mp.m();
    q.sv = task.workload.ops(chain.sv).name();
    softmax_pending_[task.workload.ops(chain.softmax).name()] = q;
    sv_pending_[task.workload.ops(chain.sv).name()] = {};
  }

  o.stall_cycles = r.stall_cycles;
  o.phases = r.phases;
  const uint64_t span = r.end_cycle - op_start;
  std::string mode = !wc.weight       ? "dense-dense"
                     : wc.run.dense() ? "dense"
                                      : "sparse " + wc.run.str();
  if (wc.weight && !wc.declared.dense() && !(wc.declared == wc.run))
    mode += " (" + wc.declared.str() + " not supported; runs as " + wc.run.str() + ")";
  if (!wc.source.empty() && !wc.declared.dense()) mode += " from " + wc.source;
  o.note = mode + "; " + (span > 0 && 2 * r.stall_cycles > span ? "memory-bound" : "compute-bound");
  if (mc.a_on_chip) o.note += "; A from the attention buffer";
  if (mc.out_on_chip) o.note += "; scores stay on chip";
  if (mem.psum_spills()) o.note += "; partial sums spill to DRAM";

  if (!task.functional) return;
  if (cb.violations > 0)
    o.note +=
        "; weights break " + wc.run.str() + " in " + std::to_string(cb.violations) + " groups";
  GemmShape gs;
  gs.batch = mp.subs();
  gs.m = mp.m();
  gs.n = mp.n();
  gs.k = mp.k();
  gs.b_batched = mp.b_batched();
  // A patch convolution is checked against the direct convolution of the NCHW input with the
  // weight as the engine stored it (seeded weights pruned), so the im2col mapping is checked too.
  const Conv2dShape& cs = mp.conv_shape();
  if constexpr (std::is_floating_point_v<V>) {
    fp_out_.assign(out.begin(), out.end());
    o.functional_mismatches =
        mp.is_conv()
            ? count_mismatches(to_nchw(fp_out_, cs),
                               reference_conv2d(x, transposed(bdense, mp.k(), mp.n()), cs), mp.k())
            : count_mismatches(fp_out_, reference_gemm(a, bdense, gs), mp.k());
  } else {
    int_out_.resize(out.size());
    for (size_t i = 0; i < out.size(); ++i) int_out_[i] = static_cast<int32_t>(out[i]);
    const std::vector<int32_t> b32(bdense.begin(), bdense.end());
    if (mp.is_conv()) {
      const std::vector<int32_t> x32(x.begin(), x.end());
      o.functional_mismatches = count_mismatches(
          to_nchw(int_out_, cs), reference_conv2d(x32, transposed(b32, mp.k(), mp.n()), cs, 32));
    } else {
      const std::vector<int32_t> a32(a.begin(), a.end());
      o.functional_mismatches = count_mismatches(int_out_, reference_gemm(a32, b32, gs, 32));
    }
  }
}

void NmSparseModel::run_vector(const sim::OpTask& task) {
  const ir::v1::Op& op = task.op;
  sim::OpOutcome& o = task.outcome;
  const int64_t eb = operand_bits() / 8;
  const uint64_t start = cycle();
  int64_t elements = 0, adds = 0, mults = 0, read_bytes = 0, write_bytes = 0;
  uint64_t compute = 0;
  std::string prefix;
  const auto tensor_bytes = [&](const std::string& t) {
    const ir::v1::Tensor* x = ir::find_tensor(task.workload, t);
    return x ? ir::tensor_elements(*x) * eb : 0;
  };

  if (op.kind_case() == ir::v1::Op::kSoftmax) {
    const int64_t rows = op.softmax().rows(), len = op.softmax().length();
    elements = rows * len;
    const uint64_t pass = static_cast<uint64_t>(ceil_div(len, p_.softmax_lanes));
    const uint64_t depth = 3 * pass + static_cast<uint64_t>(p_.softmax_latency);
    // Per element: max compare, exp range reduction, sum (adds); exp (2 mults), scale (mults),
    // per row a reciprocal by Newton iteration (4 mults).
    softmax_adds_ += static_cast<uint64_t>(3 * elements);
    softmax_mults_ += static_cast<uint64_t>(3 * elements + 4 * rows);
    auto it = softmax_pending_.find(op.name());
    if (it != softmax_pending_.end()) {
      // Pipelined with Q·Kᵀ: rows enter as they leave the array, one per `pass` cycles; S·V
      // streams row e of a head once it is done. Nothing waits here: the array moves on.
      const QkRows q = it->second;
      softmax_pending_.erase(it);
      std::vector<uint64_t> ready(q.row0.size(), 0);
      uint64_t prev = 0, last_done = start;
      bool first = true;
      const uint64_t R = static_cast<uint64_t>(p_.rows);
      for (size_t h = 0; h < q.row0.size(); ++h)
        for (int64_t e = 0; e < q.rows; ++e) {
          const uint64_t avail = q.row0[h] + static_cast<uint64_t>(e);
          const uint64_t s = first ? avail : std::max(avail, prev + pass);
          first = false;
          prev = s;
          const uint64_t done = s + depth;
          last_done = std::max(last_done, done);
          // Row e enters the S·V array R + e cycles after its fold starts.
          const uint64_t need = done > R + static_cast<uint64_t>(e) ? done - R - e : 0;
          ready[h] = std::max(ready[h], need);
        }
      sv_pending_[q.sv] = ready;
      sram_attn_reads_ += static_cast<uint64_t>(elements);
      sram_attn_writes_ += static_cast<uint64_t>(elements);
      o.note = "pipelined with Q·Kᵀ and S·V (attention on chip); last row done at cycle " +
               std::to_string(last_done) + ", " +
               std::to_string(last_done > start ? last_done - start : 0) +
               " cycles after this op's start";
      return;
    }
    compute =
        static_cast<uint64_t>(rows) * pass + 2 * pass + static_cast<uint64_t>(p_.softmax_latency);
    read_bytes = elements * eb;
    write_bytes = elements * eb;
  } else if (op.kind_case() == ir::v1::Op::kEltwise && scale_pending_.erase(op.name())) {
    // The attention scale of a fused chain: one multiply per score in the softmax unit's first
    // stage, on data that never leaves the chip.
    const int64_t n = op.outputs_size() > 0 ? tensor_bytes(op.outputs(0)) / eb : 0;
    softmax_mults_ += static_cast<uint64_t>(n);
    o.note = "attention scale: fused into the softmax unit";
    return;
  } else if (op.kind_case() == ir::v1::Op::kGeneric) {
    // An op the importer could not map: only its traffic is known.
    read_bytes = op.generic().bytes_read();
    write_bytes = op.generic().bytes_written();
    prefix = "generic '" + op.generic().op_type() + "': DRAM traffic only; ";
  } else {
    int64_t passes = 1;
    if (op.kind_case() == ir::v1::Op::kLayernorm) {
      elements = op.layernorm().rows() * op.layernorm().length();
      passes = 2;  // statistics, then normalize
      adds = 4 * elements;
      mults = 3 * elements + 4 * op.layernorm().rows();
      read_bytes = elements * eb + 2 * op.layernorm().length() * eb;
      write_bytes = elements * eb;
    } else if (op.kind_case() == ir::v1::Op::kReduce) {
      // Sum, mean or max over some axes: one add (or compare) per input element, one multiply
      // per output for a mean.
      elements = op.inputs_size() > 0 ? tensor_bytes(op.inputs(0)) / eb : 0;
      const int64_t outs = op.outputs_size() > 0 ? tensor_bytes(op.outputs(0)) / eb : 0;
      adds = elements;
      mults = op.reduce().kind() == ir::v1::REDUCE_MEAN ? outs : 0;
      read_bytes = elements * eb;
      write_bytes = outs * eb;
    } else {
      const auto& e = op.eltwise();
      elements = e.elements();
      if (elements <= 0 && op.outputs_size() > 0) elements = tensor_bytes(op.outputs(0)) / eb;
      switch (e.func()) {
        case ir::v1::MUL:
        case ir::v1::DIV:
          mults = elements;
          break;
        case ir::v1::GELU:
        case ir::v1::SIGMOID:
        case ir::v1::TANH:
        case ir::v1::HARDSWISH:
          // Polynomial / LUT-assisted approximations: 5 multiplies, 2 adds.
          mults = 5 * elements;
          adds = 2 * elements;
          break;
        default:
          adds = elements;
      }
      for (const auto& in : op.inputs()) read_bytes += tensor_bytes(in);
      write_bytes = elements * eb;
    }
    compute = static_cast<uint64_t>(passes * ceil_div(elements, p_.vector_lanes)) +
              static_cast<uint64_t>(p_.vector_latency);
    vector_adds_ += static_cast<uint64_t>(adds);
    vector_mults_ += static_cast<uint64_t>(mults);
  }
  // The unit streams through small FIFOs: reads and writes share the port from the start.
  const uint64_t r_done = dram_.read(start, static_cast<uint64_t>(read_bytes));
  const uint64_t w_done = dram_.write(start, static_cast<uint64_t>(write_bytes));
  dram_read_bytes_ += static_cast<uint64_t>(read_bytes);
  dram_write_bytes_ += static_cast<uint64_t>(write_bytes);
  const uint64_t end = std::max({start + compute, r_done, w_done});
  wait_cycles(end - start);
  o.stall_cycles = end - (start + compute);
  if (compute > 0) o.phases.push_back({"compute", start, start + compute});
  if (end > start + compute) o.phases.push_back({"drain", start + compute, end});
  o.note = prefix + (2 * o.stall_cycles > end - start ? "memory-bound" : "compute-bound");
}

CODESIM_REGISTER_ACCELERATOR("nm_sparse", NmSparseModel);

}  // namespace codesim::arch
