// The butterfly transform: a gemm's weight is fitted by a (stacked) butterfly matrix
// (butterfly_fit.h) and the op becomes a butterfly op with the fitted twiddles, as FABNet uses
// Butterfly(in, out) in place of nn.Linear. compress/README.md has the math.

#include <cmath>

#include "compress/transform.h"
#include "compress/transforms/butterfly/butterfly_fit.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

class ButterflyTransform : public Transform {
 public:
  struct Params {
    int64_t steps = 1000;
    double learning_rate = 0.01;
    int64_t random_starts = 1;

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .integer("steps", &Params::steps,
                       "Adam iterations per start (0: the recursive factorization only)")
              .def(1000)
              .range(0, 1000000)
              .real("learning_rate", &Params::learning_rate,
                    "peak Adam step (cosine schedule), for the target scaled to unit-norm columns")
              .def(0.01)
              .range(1e-6, 1)
              .integer("random_starts", &Params::random_starts,
                       "seeded random initialisations tried besides the recursive factorization")
              .def(1)
              .range(0, 100);
      return s;
    }
  };
  static constexpr const char* kSummary =
      "fits log2(n) stages of 2x2 twiddles to a gemm weight; the op becomes a butterfly op";
  static std::vector<std::string> op_kinds() { return {"gemm"}; }

  explicit ButterflyTransform(const Params& p) : p_(p) {}

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext& ctx) override {
    OpChange c;
    const ir::v1::Op op = w.ops(op_index);
    const std::string wname = matrix_weights(w, op).front();
    const ir::v1::Tensor& weight = *ir::find_tensor(w, wname);
    // [outputs x reduction] is the map from an input row to an output row, the butterfly's T.
    const Eigen::MatrixXd m = weight_matrix(weight, weight_layout(op, weight)).cast<double>();

    ButterflyFitOptions o;
    o.steps = static_cast<int>(p_.steps);
    o.learning_rate = p_.learning_rate;
    o.random_starts = static_cast<int>(p_.random_starts);
    o.seed = ctx.rng(op.name())();
    const ButterflyFit fit = fit_butterfly(m, o);
    const ButterflyFactors<double>& b = fit.factors;

    const ir::v1::Tensor* x = ir::find_tensor(w, activation_input(w, op));
    int64_t rows = 1;
    if (x && x->shape_size() >= 2)
      for (int i = 0; i + 1 < x->shape_size(); ++i) rows *= x->shape(i);
    else
      rows = std::max<int64_t>(op.gemm().batch(), 1) * op.gemm().m();
    c.figures["relative_error"] = fit.relative_error;
    c.figures["recursive_error"] = fit.recursive_error;
    c.figures["fit_seconds"] = fit.seconds;
    c.figures["adam_steps"] = fit.steps_run;
    c.figures["length"] = static_cast<double>(b.length);
    c.figures["stacks"] = static_cast<double>(b.stacks);
    c.figures["params"] = static_cast<double>(b.params());
    c.figures["planned_macs"] = static_cast<double>(rows * b.stacks * b.stages * 2 * b.length);
    c.figures["dense_macs"] = static_cast<double>(ir::op_macs(w, op));
    if (fit.relative_error > 0.1)
      c.notes.push_back("the weight is far from a butterfly matrix (relative error " +
                        std::to_string(fit.relative_error) +
                        "); butterfly layers are normally trained as such (FABNet), so expect "
                        "to retrain");

    const std::string prefix = op.name() + ".butterfly";
    ir::v1::Tensor tw;
    tw.set_name(unique_tensor_name(w, prefix + ".twiddles"));
    for (int64_t d : {b.stacks, b.stages, b.length / 2, int64_t{2}, int64_t{2}}) tw.add_shape(d);
    tw.set_dtype(ir::v1::FLOAT32);
    tw.set_bits(32);
    tw.set_is_weight(true);
    auto* s = tw.mutable_structure()->mutable_butterfly();
    s->set_length(static_cast<uint32_t>(b.length));
    s->set_stages(static_cast<uint32_t>(b.stages));
    s->set_stacks(static_cast<uint32_t>(b.stacks));
    for (double v : b.twiddles) tw.add_float_data(static_cast<float>(v));

    const std::string out = op.outputs(0);
    const std::string bias = bias_input(w, op);
    std::string bfly_out = out;
    std::vector<ir::v1::Op> ops(1);
    if (!bias.empty()) {
      ir::v1::Tensor y = *ir::find_tensor(w, out);
      y.set_name(unique_tensor_name(w, prefix + ".y"));
      y.clear_float_data();
      bfly_out = y.name();
      ir::v1::Op add;
      add.set_name(prefix + ".bias");
      add.add_inputs(bfly_out);
      add.add_inputs(bias);
      add.add_outputs(out);
      add.mutable_eltwise()->set_func(ir::v1::ADD);
      add.mutable_eltwise()->set_elements(ir::tensor_elements(y));
      add_tensor(w, std::move(y));
      ops.push_back(std::move(add));
    }
    ops[0].set_name(prefix);
    ops[0].add_inputs(activation_input(w, op));
    ops[0].add_inputs(tw.name());
    ops[0].add_outputs(bfly_out);
    auto* bo = ops[0].mutable_butterfly();
    bo->set_batch(rows);
    bo->set_length(b.length);
    bo->set_stages(b.stages);
    bo->set_stacks(b.stacks);
    add_tensor(w, std::move(tw));
    for (const auto& o2 : ops) c.new_ops.push_back(o2.name());
    replace_op(w, op_index, std::move(ops));
    return c;
  }

 private:
  Params p_;
};

CODESIM_REGISTER_TRANSFORM("butterfly", ButterflyTransform);

}  // namespace codesim::compress
