// The tucker2 transform: a conv2d kernel [F, C, kh, kw] becomes a Tucker-2 decomposition over its
// output and input channels (tucker2_hosvd.h), and the op three convolutions (Kim et al., ICLR
// 2016): 1x1 C -> R_in, kh x kw R_in -> R_out with the op's stride, padding and dilation, 1x1
// R_out -> F with the bias. The spatial core is a convolution, not an einsum, so the order is
// fixed: projecting X first is the only order that keeps the weights factored (contracting a
// projection into the core first rebuilds a dense kernel). README.md has the math and figures.

#include <algorithm>
#include <cmath>

#include "compress/transform.h"
#include "compress/transforms/tucker2/tucker2_hosvd.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

class Tucker2Transform : public Transform {
 public:
  struct Params {
    int64_t rank_out = 0;
    int64_t rank_in = 0;
    double rank_fraction = 0.5;

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .integer("rank_out", &Params::rank_out,
                       "R_out, capped at the filters F; 0: rank_fraction of F")
              .def(0)
              .min(0)
              .integer("rank_in", &Params::rank_in,
                       "R_in, capped at the input channels C; 0: rank_fraction of C")
              .def(0)
              .min(0)
              .real("rank_fraction", &Params::rank_fraction,
                    "ranks not given as a fraction of their dimension, rounded up")
              .def(0.5)
              .range(1e-6, 1);
      return s;
    }
  };
  static constexpr const char* kSummary =
      "Tucker-2 (HOSVD over output and input channels); a conv2d becomes 1x1, kxk, 1x1 convs";
  static std::vector<std::string> op_kinds() { return {"conv2d"}; }

  explicit Tucker2Transform(const Params& p) : p_(p) {}

  bool accepts(const ir::v1::Workload& w, const ir::v1::Op& op) const override {
    // Grouped convolutions have no channel mode spanning all inputs.
    return Transform::accepts(w, op) && op.conv2d().groups() <= 1;
  }

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    const ir::v1::Op op = w.ops(op_index);
    const ir::v1::Conv2d& cv = op.conv2d();
    const std::string wname = matrix_weights(w, op).front();
    const ir::v1::Tensor& weight = *ir::find_tensor(w, wname);
    weight_layout(op, weight);  // checks the [F, C, kh, kw] shape
    DenseTensor kernel;
    kernel.shape.assign(weight.shape().begin(), weight.shape().end());
    kernel.data.assign(weight.float_data().begin(), weight.float_data().end());
    const int64_t f = kernel.shape[0], ch = kernel.shape[1], kh = kernel.shape[2],
                  kw = kernel.shape[3];
    const auto rank = [&](int64_t given, int64_t dim) {
      if (given > 0) return std::min(given, dim);
      return std::clamp<int64_t>(
          static_cast<int64_t>(std::ceil(p_.rank_fraction * static_cast<double>(dim))), 1, dim);
    };
    const Tucker2 t = tucker2_hosvd(kernel, rank(p_.rank_out, f), rank(p_.rank_in, ch));
    const int64_t r_out = t.u_out.cols(), r_in = t.u_in.cols();

    const DenseTensor rebuilt = tucker2_to_kernel(t);
    double sq_err = 0, sq_norm = 0;
    for (size_t i = 0; i < kernel.data.size(); ++i) {
      sq_err += (kernel.data[i] - rebuilt.data[i]) * (kernel.data[i] - rebuilt.data[i]);
      sq_norm += kernel.data[i] * kernel.data[i];
    }
    c.figures["relative_error"] = sq_norm > 0 ? std::sqrt(sq_err / sq_norm) : 0.0;
    c.figures["rank_out"] = static_cast<double>(r_out);
    c.figures["rank_in"] = static_cast<double>(r_in);
    c.figures["energy_kept_out"] = t.energy_kept_out;
    c.figures["energy_kept_in"] = t.energy_kept_in;
    c.figures["params"] = static_cast<double>(t.params());

    // MACs per stage (closed form): B·H·W·C·R_in, B·H'·W'·R_out·R_in·kh·kw, B·H'·W'·F·R_out.
    const int64_t batch = std::max<int64_t>(cv.batch(), 1);
    const int64_t ho =
        ir::conv_out_dim(cv.h(), kh, std::max<int64_t>(cv.stride_h(), 1), cv.pad_top(),
                         cv.pad_bottom(), std::max<int64_t>(cv.dilation_h(), 1));
    const int64_t wo =
        ir::conv_out_dim(cv.w(), kw, std::max<int64_t>(cv.stride_w(), 1), cv.pad_left(),
                         cv.pad_right(), std::max<int64_t>(cv.dilation_w(), 1));
    const int64_t m1 = batch * cv.h() * cv.w() * ch * r_in;
    const int64_t m2 = batch * ho * wo * r_out * r_in * kh * kw;
    const int64_t m3 = batch * ho * wo * f * r_out;
    const int64_t dense = ir::op_macs(w, op);
    c.figures["planned_macs"] = static_cast<double>(m1 + m2 + m3);
    c.figures["dense_macs"] = static_cast<double>(dense);
    c.notes.push_back("order conv1x1(X, U_in) -> conv(core) -> conv1x1(U_out), MACs per stage " +
                      std::to_string(m1) + " + " + std::to_string(m2) + " + " + std::to_string(m3));
    if (m1 + m2 + m3 > dense)
      c.notes.push_back(
          "at these ranks the factored convolution costs more MACs than the dense "
          "one (" +
          std::to_string(dense) + ")");

    c.new_ops = rewrite(w, op_index, op, t, ho, wo);
    return c;
  }

 private:
  static ir::v1::Tensor float_tensor(const std::string& name, const std::vector<int64_t>& shape,
                                     bool weight) {
    ir::v1::Tensor t;
    t.set_name(name);
    for (int64_t d : shape) t.add_shape(d);
    t.set_dtype(ir::v1::FLOAT32);
    t.set_bits(32);
    t.set_is_weight(weight);
    return t;
  }

  static ir::v1::Conv2d pointwise(const ir::v1::Conv2d& base, int64_t h, int64_t w, int64_t c,
                                  int64_t filters) {
    ir::v1::Conv2d p;
    p.set_batch(base.batch());
    p.set_h(h);
    p.set_w(w);
    p.set_c(c);
    p.set_filters(filters);
    p.set_kernel_h(1);
    p.set_kernel_w(1);
    p.set_stride_h(1);
    p.set_stride_w(1);
    p.set_dilation_h(1);
    p.set_dilation_w(1);
    p.set_groups(1);
    return p;
  }

  std::vector<std::string> rewrite(ir::v1::Workload& w, int op_index, const ir::v1::Op& op,
                                   const Tucker2& t, int64_t ho, int64_t wo) const {
    const ir::v1::Conv2d& cv = op.conv2d();
    const std::string prefix = op.name() + ".tucker2";
    const int64_t f = t.u_out.rows(), ch = t.u_in.rows();
    const int64_t r_out = t.u_out.cols(), r_in = t.u_in.cols();
    const int64_t kh = t.core.shape[2], kw = t.core.shape[3];
    ir::v1::Structure s;
    s.mutable_tucker()->add_ranks(static_cast<uint32_t>(r_out));
    s.mutable_tucker()->add_ranks(static_cast<uint32_t>(r_in));

    ir::v1::Tensor u_in =
        float_tensor(unique_tensor_name(w, prefix + ".U_in"), {r_in, ch, 1, 1}, true);
    ir::v1::Tensor core =
        float_tensor(unique_tensor_name(w, prefix + ".core"), {r_out, r_in, kh, kw}, true);
    ir::v1::Tensor u_out =
        float_tensor(unique_tensor_name(w, prefix + ".U_out"), {f, r_out, 1, 1}, true);
    // U_in^T: filter r of the first conv is column r of U_in.
    for (int64_t r = 0; r < r_in; ++r)
      for (int64_t c = 0; c < ch; ++c) u_in.add_float_data(static_cast<float>(t.u_in(c, r)));
    for (double v : t.core.data) core.add_float_data(static_cast<float>(v));
    for (int64_t o = 0; o < f; ++o)
      for (int64_t r = 0; r < r_out; ++r) u_out.add_float_data(static_cast<float>(t.u_out(o, r)));
    for (ir::v1::Tensor* x : {&u_in, &core, &u_out}) *x->mutable_structure() = s;

    const ir::v1::Tensor* x = ir::find_tensor(w, activation_input(w, op));
    const ir::v1::Tensor* y = ir::find_tensor(w, op.outputs(0));
    const int64_t xb = x && x->shape_size() ? x->shape(0) : cv.batch();
    const int64_t yb = y && y->shape_size() ? y->shape(0) : cv.batch();
    const ir::v1::Tensor h1 =
        float_tensor(unique_tensor_name(w, prefix + ".h1"), {xb, r_in, cv.h(), cv.w()}, false);
    const ir::v1::Tensor h2 =
        float_tensor(unique_tensor_name(w, prefix + ".h2"), {yb, r_out, ho, wo}, false);

    std::vector<ir::v1::Op> ops(3);
    ops[0].set_name(prefix + ".in");
    ops[0].add_inputs(activation_input(w, op));
    ops[0].add_inputs(u_in.name());
    ops[0].add_outputs(h1.name());
    *ops[0].mutable_conv2d() = pointwise(cv, cv.h(), cv.w(), ch, r_in);

    ops[1].set_name(prefix + ".core");
    ops[1].add_inputs(h1.name());
    ops[1].add_inputs(core.name());
    ops[1].add_outputs(h2.name());
    *ops[1].mutable_conv2d() = cv;
    ops[1].mutable_conv2d()->set_c(r_in);
    ops[1].mutable_conv2d()->set_filters(r_out);

    ops[2].set_name(prefix + ".out");
    ops[2].add_inputs(h2.name());
    ops[2].add_inputs(u_out.name());
    const std::string bias = bias_input(w, op);
    if (!bias.empty()) ops[2].add_inputs(bias);
    ops[2].add_outputs(op.outputs(0));
    *ops[2].mutable_conv2d() = pointwise(cv, ho, wo, r_out, f);

    for (ir::v1::Tensor* tn : {&u_in, &core, &u_out}) add_tensor(w, std::move(*tn));
    add_tensor(w, h1);
    add_tensor(w, h2);
    std::vector<std::string> names;
    for (const auto& o : ops) names.push_back(o.name());
    replace_op(w, op_index, std::move(ops));
    return names;
  }

  Params p_;
};

CODESIM_REGISTER_TRANSFORM("tucker2", Tucker2Transform);

}  // namespace codesim::compress
