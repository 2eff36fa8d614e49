// Uniform integer quantization (int-k, k in 2..16) of weights and, optionally, of the op's input
// activation (per tensor, range calibrated as min/max over the calibration activations).
//
// Weights: symmetric uses the narrow signed range [-(2^(k-1)-1), 2^(k-1)-1] with zero point 0;
// asymmetric uses [-2^(k-1), 2^(k-1)-1] with a zero point. Either way the range is widened to
// contain 0 so that zero is exact (pruned and N:M zeros stay zeros), and every value in the range
// dequantizes within half a step: |w - s (q - z)| <= s/2. Rounding is half to even, as in the
// executor. The weight keeps float_data = s (q - z) next to int_data so that float consumers and
// later transforms see the quantized values.
//
// Activations (activations: true): unsigned codes (UINT) for asymmetric, signed (INT) for
// symmetric; the executor's integer mode then runs gemm/conv2d on the integer codes.

#include <algorithm>
#include <cmath>

#include "compress/transform.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

class QuantizeTransform : public Transform {
 public:
  struct Params {
    int64_t bits = 8;
    std::string scheme = "symmetric";
    std::string granularity = "per_channel";
    bool activations = false;
    int64_t activation_bits = 0;
    std::string activation_scheme = "asymmetric";

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .integer("bits", &Params::bits, "weight bits")
              .def(8)
              .range(2, 16)
              .unit("bit")
              .choice("scheme", &Params::scheme, {"symmetric", "asymmetric"},
                      "weight grid: symmetric (zero point 0) or asymmetric (with zero point)")
              .def("symmetric")
              .choice("granularity", &Params::granularity, {"per_channel", "per_tensor"},
                      "one scale per output channel, or one for the tensor")
              .def("per_channel")
              .boolean("activations", &Params::activations,
                       "also quantize the op's input activation (per tensor, calibrated "
                       "min/max); needs calibration data")
              .def(false)
              .integer("activation_bits", &Params::activation_bits,
                       "activation bits; 0 = the same as bits")
              .def(0)
              .range(0, 16)
              .unit("bit")
              .choice("activation_scheme", &Params::activation_scheme, {"asymmetric", "symmetric"},
                      "activation grid: asymmetric (unsigned codes) or symmetric (signed)")
              .def("asymmetric");
      return s;
    }
  };
  static constexpr const char* kSummary =
      "int-k quantization of weights (and activations), symmetric or asymmetric, per channel "
      "or per tensor";
  static std::vector<std::string> op_kinds() { return {"gemm", "conv2d", "lstm_cell"}; }

  static void check(const Params& p, const YAML::Node& step, const std::string& file,
                    const std::string& path, sim::Diagnostics& diags) {
    if (p.activation_bits == 1)
      diags.error_at(file, step["activation_bits"], sim::join_path(path, "activation_bits"),
                     "activation_bits must be 0 (same as bits) or 2..16");
  }

  explicit QuantizeTransform(const Params& p) : p_(p) {}

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext& ctx) override {
    OpChange c;
    const ir::v1::Op op = w.ops(op_index);
    for (const auto& name : matrix_weights(w, op))
      quantize_weight(*ir::find_tensor(w, name), weight_layout(op, *ir::find_tensor(w, name)));
    c.figures["bits"] = static_cast<double>(p_.bits);
    if (p_.activations) {
      if (op.kind_case() == ir::v1::Op::kLstmCell) {
        c.notes.push_back("activations not quantized: the executor runs lstm_cell in float32");
      } else {
        const int bits = static_cast<int>(p_.activation_bits ? p_.activation_bits : p_.bits);
        quantize_activation(w, op, bits, ctx);
        c.figures["activation_bits"] = bits;
      }
    }
    return c;
  }

 private:
  void quantize_weight(ir::v1::Tensor& t, const WeightLayout& l) const {
    const bool symmetric = p_.scheme == "symmetric";
    const int64_t qmax = (int64_t{1} << (p_.bits - 1)) - 1;
    const int64_t qmin = symmetric ? -qmax : -qmax - 1;
    const bool per_channel = p_.granularity == "per_channel";
    const int64_t channels = per_channel ? l.outputs : 1;
    // Storage is [rows, cols]; the channel is the column for [K, N] gemm weights and the row
    // otherwise. Plain nested loops (no per-element division) keep BERT-sized weights fast.
    const int64_t rows = l.reduction_major ? l.reduction : l.outputs;
    const int64_t cols = l.reduction_major ? l.outputs : l.reduction;
    const auto channel = [&](int64_t r, int64_t c) -> size_t {
      return per_channel ? static_cast<size_t>(l.reduction_major ? c : r) : 0;
    };
    const float* v = t.float_data().data();

    std::vector<float> lo(static_cast<size_t>(channels), 0.0f), hi(lo);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const size_t ch = channel(r, c);
        lo[ch] = std::min(lo[ch], v[r * cols + c]);
        hi[ch] = std::max(hi[ch], v[r * cols + c]);
      }
    std::vector<float> scale(static_cast<size_t>(channels));
    std::vector<double> inverse(scale.size());
    std::vector<int32_t> zero(static_cast<size_t>(channels), 0);
    for (size_t ch = 0; ch < scale.size(); ++ch) {
      const double s =
          symmetric ? std::max(-lo[ch], hi[ch]) / static_cast<double>(qmax)
                    : (static_cast<double>(hi[ch]) - lo[ch]) / static_cast<double>(qmax - qmin);
      // An all-zero channel: any scale represents it exactly.
      scale[ch] = s > 0 ? static_cast<float>(s) : 1.0f;
      inverse[ch] = 1.0 / static_cast<double>(scale[ch]);
      if (!symmetric)
        zero[ch] = static_cast<int32_t>(
            std::clamp<int64_t>(qmin - round_half_even(lo[ch] * inverse[ch]), qmin, qmax));
    }

    const int64_t n = rows * cols;
    t.mutable_int_data()->Resize(static_cast<int>(n), 0);
    int32_t* q = t.mutable_int_data()->mutable_data();
    float* out = t.mutable_float_data()->mutable_data();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const size_t ch = channel(r, c);
        const int64_t i = r * cols + c;
        const int64_t code =
            std::clamp<int64_t>(round_half_even(v[i] * inverse[ch]) + zero[ch], qmin, qmax);
        q[i] = static_cast<int32_t>(code);
        out[i] = static_cast<float>(static_cast<double>(scale[ch]) *
                                    static_cast<double>(code - zero[ch]));
      }

    auto* quant = t.mutable_quantization();
    quant->Clear();
    quant->set_axis(l.output_axis);
    for (size_t ch = 0; ch < scale.size(); ++ch) {
      quant->add_scale(scale[ch]);
      quant->add_zero_point(zero[ch]);
    }
    t.set_dtype(ir::v1::INT);
    t.set_bits(static_cast<uint32_t>(p_.bits));
  }

  // Round half to even (the executor's rounding) for |x| < 2^51: adding 1.5 * 2^52 leaves no
  // fraction bits, so the FPU's default rounding does the work (IEEE semantics forbid the
  // compiler from folding the sum away). Several times faster than std::nearbyint, which is a
  // library call without SSE4.1.
  static int64_t round_half_even(double x) {
    constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
    return static_cast<int64_t>((x + kMagic) - kMagic);
  }

  void quantize_activation(ir::v1::Workload& w, const ir::v1::Op& op, int bits,
                           const TransformContext& ctx) const {
    const std::string name = activation_input(w, op);
    const Array* a = ctx.activation(name);
    if (!a)
      throw sim::ConfigError("op '" + op.name() +
                             "': quantizing activations needs calibration "
                             "data for tensor '" +
                             name + "' (run with --calibration N > 0)");
    float lo = 0, hi = 0;
    for (float x : a->data) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    const bool symmetric = p_.activation_scheme == "symmetric";
    double s;
    int32_t z = 0;
    if (symmetric) {
      s = std::max(-lo, hi) / static_cast<double>((int64_t{1} << (bits - 1)) - 1);
    } else {
      const int64_t qmax = (int64_t{1} << bits) - 1;
      s = (static_cast<double>(hi) - lo) / static_cast<double>(qmax);
      if (s > 0) z = static_cast<int32_t>(std::clamp<int64_t>(round_half_even(-lo / s), 0, qmax));
    }
    ir::v1::Tensor* t = ir::find_tensor(w, name);
    auto* quant = t->mutable_quantization();
    quant->Clear();
    quant->add_scale(s > 0 ? static_cast<float>(s) : 1.0f);
    quant->add_zero_point(z);
    t->set_dtype(symmetric ? ir::v1::INT : ir::v1::UINT);
    t->set_bits(static_cast<uint32_t>(bits));
  }

  Params p_;
};

CODESIM_REGISTER_TRANSFORM("quantize", QuantizeTransform);

}  // namespace codesim::compress
