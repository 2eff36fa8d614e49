// Unstructured magnitude pruning to a target density: the weights of smallest magnitude become
// zero. `scope: layer` keeps round(density * n) weights of every matrix weight; `scope: global`
// ranks the weights of all ops the step selects together (one threshold), so sensitive layers can
// keep more. Biases are not pruned. The weight keeps dense-shaped float_data with zeros and an
// Unstructured annotation with the density reached; storage counts the non-zeros plus a bitmap
// of one bit per dense position.

#include <algorithm>
#include <cmath>

#include "compress/transform.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

class PruneTransform : public Transform {
 public:
  struct Params {
    double density = 0.5;
    std::string scope = "layer";

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .real("density", &Params::density, "fraction of weights kept (non-zero)")
              .required()
              .range(0, 1)
              .choice("scope", &Params::scope, {"layer", "global"},
                      "layer: the density in every weight; global: one magnitude threshold "
                      "over all selected ops")
              .def("layer");
      return s;
    }
  };
  static constexpr const char* kSummary =
      "unstructured magnitude pruning to a target density, per layer or global";
  static std::vector<std::string> op_kinds() { return {"gemm", "conv2d", "lstm_cell"}; }

  static void check(const Params& p, const YAML::Node& step, const std::string& file,
                    const std::string& path, sim::Diagnostics& diags) {
    if (p.density <= 0)
      diags.error_at(file, step["density"], sim::join_path(path, "density"),
                     "density must be > 0 (a layer with no weight left computes nothing)");
  }

  explicit PruneTransform(const Params& p) : p_(p) {}

  void prepare(ir::v1::Workload& w, const std::vector<int>& op_indices,
               const TransformContext&) override {
    if (p_.scope != "global") return;
    std::vector<float> mags;
    for (int i : op_indices)
      for (const auto& name : matrix_weights(w, w.ops(i)))
        for (float v : ir::find_tensor(w, name)->float_data()) mags.push_back(std::fabs(v));
    const int64_t keep = kept(static_cast<int64_t>(mags.size()));
    ties_left_ = 0;
    threshold_ = INFINITY;
    if (keep == 0) return;
    std::nth_element(mags.begin(), mags.begin() + (keep - 1), mags.end(), std::greater<float>());
    threshold_ = mags[static_cast<size_t>(keep - 1)];
    // Weights equal to the threshold are kept in visiting order until exactly `keep` remain.
    int64_t above = 0;
    for (float m : mags) above += m > threshold_;
    ties_left_ = keep - above;
  }

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    const ir::v1::Op op = w.ops(op_index);
    int64_t total = 0, nonzero = 0;
    for (const auto& name : matrix_weights(w, op)) {
      ir::v1::Tensor* t = ir::find_tensor(w, name);
      const int64_t n = t->float_data_size();
      const float* v = t->float_data().data();
      std::vector<int64_t> zeroed;
      if (p_.scope == "global") {
        for (int64_t i = 0; i < n; ++i) {
          const float m = std::fabs(v[i]);
          if (m > threshold_) continue;
          if (m == threshold_ && ties_left_ > 0) {
            --ties_left_;
            continue;
          }
          zeroed.push_back(i);
        }
      } else {
        std::vector<int64_t> order(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
        const int64_t keep = kept(n);
        // Ties keep the earlier position, so the result does not depend on the sort.
        std::nth_element(order.begin(), order.begin() + keep, order.end(),
                         [&](int64_t a, int64_t b) {
                           const float fa = std::fabs(v[a]), fb = std::fabs(v[b]);
                           return fa > fb || (fa == fb && a < b);
                         });
        zeroed.assign(order.begin() + keep, order.end());
      }
      zero_elements(*t, zeroed);
      int64_t nz = 0;
      for (float x : t->float_data()) nz += x != 0.0f;
      t->mutable_structure()->mutable_unstructured()->set_density(
          n ? static_cast<double>(nz) / static_cast<double>(n) : 1.0);
      total += n;
      nonzero += nz;
    }
    c.figures["density"] = total ? static_cast<double>(nonzero) / static_cast<double>(total) : 1.0;
    return c;
  }

 private:
  int64_t kept(int64_t n) const {
    return std::clamp<int64_t>(std::llround(p_.density * static_cast<double>(n)), 0, n);
  }

  Params p_;
  float threshold_ = INFINITY;
  int64_t ties_left_ = 0;
};

CODESIM_REGISTER_TRANSFORM("prune", PruneTransform);

}  // namespace codesim::compress
