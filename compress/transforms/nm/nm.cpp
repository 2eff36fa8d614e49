// N:M structured sparsity (NVIDIA Ampere's 2:4, generalized to any N < M): in every group of M
// consecutive weights along the reduction dimension the N of largest magnitude are kept. The
// weight keeps its dense-shaped float_data with zeros plus an NM annotation; the storage the
// report counts is N value slots per group plus the index metadata (a bitmap of M bits per
// group, or ceil(log2 M) bits per kept value).

#include <algorithm>
#include <cmath>

#include "compress/transform.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

class NmTransform : public Transform {
 public:
  struct Params {
    int64_t n = 2;
    int64_t m = 4;
    std::string index_format = "indices";

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .integer("n", &Params::n, "non-zeros kept in every group of m")
              .def(2)
              .range(1, 255)
              .integer("m", &Params::m, "group size along the reduction dimension")
              .def(4)
              .range(2, 256)
              .choice("index_format", &Params::index_format, {"indices", "bitmap"},
                      "metadata: ceil(log2 m) bits per kept value, or m bits per group")
              .def("indices");
      return s;
    }
  };
  static constexpr const char* kSummary =
      "N:M sparsity along the reduction dimension (keep the n largest of every m)";
  static std::vector<std::string> op_kinds() { return {"gemm", "conv2d", "lstm_cell"}; }

  static void check(const Params& p, const YAML::Node& step, const std::string& file,
                    const std::string& path, sim::Diagnostics& diags) {
    if (p.n >= p.m)
      diags.error_at(
          file, step["n"] ? step["n"] : step, sim::join_path(path, "n"),
          "n (" + std::to_string(p.n) + ") must be smaller than m (" + std::to_string(p.m) + ")");
  }

  explicit NmTransform(const Params& p) : p_(p) {}

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    const ir::v1::Op op = w.ops(op_index);
    const int64_t index_bits =
        static_cast<int64_t>(std::ceil(std::log2(static_cast<double>(p_.m))));
    int64_t slots_exact = 0, slots_approx = 0, bits_fix = 0, metadata_total = 0;
    for (const auto& name : matrix_weights(w, op)) {
      ir::v1::Tensor* t = ir::find_tensor(w, name);
      const WeightLayout l = weight_layout(op, *t);
      int64_t slots = 0, metadata = 0;
      sparsify(*t, l, slots, metadata, index_bits);
      auto* nm = t->mutable_structure()->mutable_nm();
      nm->set_n(static_cast<uint32_t>(p_.n));
      nm->set_m(static_cast<uint32_t>(p_.m));
      nm->set_index_format(p_.index_format == "bitmap" ? ir::v1::BITMAP : ir::v1::INDICES);
      nm->set_metadata_bits(metadata);
      slots_exact += slots;
      const int64_t approx = stored_params(*t);
      slots_approx += approx;
      bits_fix += (slots - approx) * element_bits(*t);
      metadata_total += metadata;
    }
    // storage_bits counts n/m of the elements, which is off for a partial last group; the exact
    // slot count is known here.
    c.params_after = ops_stored_params(w, {op.name()}) + slots_exact - slots_approx;
    c.bits_after = ops_storage_bits(w, {op.name()}) + bits_fix;
    c.figures["n"] = static_cast<double>(p_.n);
    c.figures["m"] = static_cast<double>(p_.m);
    c.figures["metadata_bits"] = static_cast<double>(metadata_total);
    return c;
  }

 private:
  // Keeps the n largest-magnitude weights of every group of m along the reduction dimension and
  // zeroes the others. A partial last group of s < m keeps min(n, s).
  void sparsify(ir::v1::Tensor& t, const WeightLayout& l, int64_t& slots, int64_t& metadata,
                int64_t index_bits) const {
    float* v = t.mutable_float_data()->mutable_data();
    // Quantized codes are zeroed by zero_elements at the end; plain floats in place, which
    // avoids a list as long as the tensor.
    const bool has_codes = t.int_data_size() > 0;
    std::vector<int64_t> zeroed;
    const auto at = [&](int64_t o, int64_t r) {
      return l.reduction_major ? r * l.outputs + o : o * l.reduction + r;
    };
    std::vector<int64_t> idx(static_cast<size_t>(p_.m));
    std::vector<float> mags(static_cast<size_t>(p_.m));
    const auto group = [&](int64_t o, int64_t r0) {
      const int64_t size = std::min(p_.m, l.reduction - r0);
      const int64_t keep = std::min(p_.n, size);
      // Insertion sort by decreasing magnitude: groups are small, and a stable sort keeps the
      // earlier position on ties, so the result is reproducible.
      for (int64_t j = 0; j < size; ++j) {
        const int64_t i = at(o, r0 + j);
        const float mag = std::fabs(v[i]);
        int64_t p = j;
        for (; p > 0 && mags[static_cast<size_t>(p - 1)] < mag; --p) {
          mags[static_cast<size_t>(p)] = mags[static_cast<size_t>(p - 1)];
          idx[static_cast<size_t>(p)] = idx[static_cast<size_t>(p - 1)];
        }
        mags[static_cast<size_t>(p)] = mag;
        idx[static_cast<size_t>(p)] = i;
      }
      for (int64_t j = keep; j < size; ++j) {
        if (has_codes)
          zeroed.push_back(idx[static_cast<size_t>(j)]);
        else
          v[idx[static_cast<size_t>(j)]] = 0.0f;
      }
      slots += keep;
      metadata += p_.index_format == "bitmap" ? size : keep * index_bits;
    };
    // Visit in storage order (outputs innermost for [K, N] gemm weights) to stay in cache.
    if (l.reduction_major) {
      for (int64_t r0 = 0; r0 < l.reduction; r0 += p_.m)
        for (int64_t o = 0; o < l.outputs; ++o) group(o, r0);
    } else {
      for (int64_t o = 0; o < l.outputs; ++o)
        for (int64_t r0 = 0; r0 < l.reduction; r0 += p_.m) group(o, r0);
    }
    if (has_codes) zero_elements(t, zeroed);
  }

  Params p_;
};

CODESIM_REGISTER_TRANSFORM("nm", NmTransform);

}  // namespace codesim::compress
