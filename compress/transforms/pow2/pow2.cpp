// Power-of-two weights (DeepShift-Q, Elhoushi et al. 2021): every weight becomes sign * 2^p, so a
// multiply becomes a shift (and a sign flip). As in DeepShift-Q, p = round(log2 |w|) (rounding in
// the log domain) clamped to [min_exponent, max_exponent]; a weight whose rounded exponent is
// below the range becomes 0, which costs one of the 2^(bits-1) exponent codes. A weight is stored
// in `bits` bits: a sign bit and the exponent code, so the range holds 2^(bits-1) - 1 exponents.
// The IR has no shift op kind: the op keeps its kind and its weight carries a Pow2Shift
// annotation, which is what simulators read as "this op runs on shifters". float_data holds the
// exact values sign * 2^p, so the reference executor runs the op unchanged.

#include <algorithm>
#include <cmath>

#include "compress/transform.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

class Pow2Transform : public Transform {
 public:
  struct Params {
    int64_t bits = 5;
    std::string range = "auto";
    int64_t max_exponent = 0;

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .integer("bits", &Params::bits,
                       "bits per weight: a sign and a (bits-1)-bit exponent code, one code for 0")
              .def(5)
              .range(2, 9)
              .unit("bit")
              .choice("range", &Params::range, {"auto", "fixed"},
                      "auto: max_exponent = round(log2 of the largest magnitude) per tensor; "
                      "fixed: max_exponent")
              .def("auto")
              .integer(
                  "max_exponent", &Params::max_exponent,
                  "largest exponent when range is fixed (DeepShift uses 0: weights in [-1, 1])")
              .def(0)
              .range(-126, 127);
      return s;
    }
  };
  static constexpr const char* kSummary =
      "power-of-two weights sign*2^p in a bounded exponent range (DeepShift-Q); a shift op";
  static std::vector<std::string> op_kinds() { return {"gemm", "conv2d", "lstm_cell"}; }

  explicit Pow2Transform(const Params& p) : p_(p) {}

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    const ir::v1::Op op = w.ops(op_index);
    const int levels = (1 << (p_.bits - 1)) - 1;
    int64_t zeros = 0, total = 0;
    for (const auto& name : matrix_weights(w, op)) {
      ir::v1::Tensor* t = ir::find_tensor(w, name);
      float max_abs = 0;
      for (float v : t->float_data()) max_abs = std::max(max_abs, std::fabs(v));
      const int pmax = p_.range == "fixed" || max_abs == 0
                           ? static_cast<int>(p_.max_exponent)
                           : static_cast<int>(std::lround(std::log2(max_abs)));
      const int pmin = pmax - levels + 1;
      // The codes are the values; drop integer codes an earlier quantization left.
      t->clear_int_data();
      t->clear_quantization();
      t->set_dtype(ir::v1::FLOAT32);
      float* v = t->mutable_float_data()->mutable_data();
      const int64_t n = t->float_data_size();
      for (int64_t i = 0; i < n; ++i) {
        if (v[i] == 0.0f) {
          ++zeros;
          continue;
        }
        const int p = static_cast<int>(std::lround(std::log2(std::fabs(v[i]))));
        if (p < pmin) {
          v[i] = 0.0f;
          ++zeros;
          continue;
        }
        v[i] = std::copysign(std::ldexp(1.0f, std::min(p, pmax)), v[i]);
      }
      total += n;
      auto* s = t->mutable_structure()->mutable_pow2();
      s->set_min_exponent(pmin);
      s->set_max_exponent(pmax);
      t->set_bits(static_cast<uint32_t>(p_.bits));
      c.figures["min_exponent"] = pmin;
      c.figures["max_exponent"] = pmax;
    }
    c.figures["zero_fraction"] =
        total ? static_cast<double>(zeros) / static_cast<double>(total) : 0;
    c.notes.push_back("multiplies become shifts (Pow2Shift weight annotation)");
    return c;
  }

 private:
  Params p_;
};

CODESIM_REGISTER_TRANSFORM("pow2", Pow2Transform);

}  // namespace codesim::compress
