// Truncated SVD: the weight matrix W [outputs x reduction] becomes A B with A = U_k S_k^(1/2)
// [outputs x k] and B = S_k^(1/2) V_k^T [k x reduction], the best rank-k approximation
// (Eckart-Young), so ||W - A B||_F^2 is the sum of the discarded squared singular values. The
// square root of S goes to both factors so that their ranges match, which helps a later
// quantization step. One op becomes two:
//   gemm   x [.., K] -> gemm (k outputs, weight B^T [K, k]) -> gemm (N outputs, A^T [k, N], bias)
//   conv2d x -> conv2d (k filters, same kernel/stride/padding) -> 1x1 conv2d (F filters, bias)
// The rank is given directly, as a fraction of min(outputs, reduction), or as the smallest rank
// keeping a fraction of the energy (sum of squared singular values).
//
// The SVD is computed from the eigen-decomposition of the Gram matrix of the smaller side: for
// the shapes of DNN weights (one side a few thousand) this is several times faster than a
// bidiagonal SVD (rank 128 of 768 x 3072 within the 1 s target, scripts/bench_compress).

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "compress/transform.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

class LowRankTransform : public Transform {
 public:
  struct Params {
    int64_t rank = 0;
    double rank_fraction = 0;
    double energy = 0;

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .integer("rank", &Params::rank, "rank k kept (capped at min(outputs, reduction))")
              .def(0)
              .min(0)
              .real("rank_fraction", &Params::rank_fraction,
                    "rank as a fraction of min(outputs, reduction), rounded, at least 1")
              .def(0.0)
              .range(0, 1)
              .real("energy", &Params::energy,
                    "smallest rank whose squared singular values keep this fraction of the sum")
              .def(0.0)
              .range(0, 1);
      return s;
    }
  };
  static constexpr const char* kSummary =
      "truncated SVD at a rank or kept-energy fraction; one gemm/conv2d becomes two";
  static std::vector<std::string> op_kinds() { return {"gemm", "conv2d"}; }

  static void check(const Params& p, const YAML::Node& step, const std::string& file,
                    const std::string& path, sim::Diagnostics& diags) {
    const int set = (p.rank > 0) + (p.rank_fraction > 0) + (p.energy > 0);
    if (set != 1)
      diags.error_at(file, step, path,
                     set == 0 ? "low-rank needs one of rank, rank_fraction or energy"
                              : "give only one of rank, rank_fraction and energy");
  }

  explicit LowRankTransform(const Params& p) : p_(p) {}

  bool accepts(const ir::v1::Workload& w, const ir::v1::Op& op) const override {
    if (!Transform::accepts(w, op)) return false;
    // A grouped convolution is a block-diagonal matrix; factoring it as one matrix would mix the
    // groups.
    return op.kind_case() != ir::v1::Op::kConv2D || op.conv2d().groups() <= 1;
  }

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    const ir::v1::Op op = w.ops(op_index);
    const std::string wname = matrix_weights(w, op).front();
    const ir::v1::Tensor weight = *ir::find_tensor(w, wname);
    const WeightLayout l = weight_layout(op, weight);
    const Eigen::MatrixXf mf = weight_matrix(weight, l);
    const Eigen::MatrixXd m = mf.cast<double>();

    // The leading singular subspace: eigenvectors of the Gram matrix of the smaller side.
    const bool rows_small = m.rows() <= m.cols();
    const int64_t full = rows_small ? m.rows() : m.cols();
    // A symmetric rank update computes one triangle (half the work of a product); the solver
    // reads only that triangle.
    Eigen::MatrixXf gram = Eigen::MatrixXf::Zero(full, full);
    if (rows_small)
      gram.selfadjointView<Eigen::Lower>().rankUpdate(mf);
    else
      gram.selfadjointView<Eigen::Lower>().rankUpdate(mf.transpose());
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXf> eig(gram);
    // Eigenvalues ascend; clamp tiny negative round-off. Used only to choose the rank.
    std::vector<double> sq(static_cast<size_t>(full));
    for (int64_t i = 0; i < full; ++i)
      sq[static_cast<size_t>(i)] = std::max(0.0f, eig.eigenvalues()(full - 1 - i));
    double sq_total = 0;
    for (double v : sq) sq_total += v;

    int64_t k = choose_rank(sq, sq_total, full);
    if (p_.rank > full)
      c.notes.push_back("rank " + std::to_string(p_.rank) + " capped at " + std::to_string(full));
    // Only directions with non-zero singular values can be normalized.
    while (k > 1 && sq[static_cast<size_t>(k - 1)] <= 0) --k;

    // The projection of W onto the subspace, formed in double: with basis Q (orthonormal),
    // W' = Q Q^T W (or W Q Q^T), so ||W - W'||^2 = ||W||^2 - ||Q^T W||^2 holds for the factors
    // actually stored. The float eigensolver (twice as fast as double; it dominates the time)
    // only perturbs the subspace, which changes the error in second order.
    const Eigen::MatrixXd basis =
        eig.eigenvectors().rightCols(k).rowwise().reverse().cast<double>();
    Eigen::MatrixXd other =
        rows_small ? Eigen::MatrixXd(m.transpose() * basis) : Eigen::MatrixXd(m * basis);
    Eigen::VectorXd sigma(k);
    for (int64_t i = 0; i < k; ++i) {
      sigma(i) = other.col(i).norm();
      other.col(i) /= sigma(i) > 0 ? sigma(i) : 1.0;
    }
    const Eigen::MatrixXd& u = rows_small ? basis : other;  // outputs x k
    const Eigen::MatrixXd& v = rows_small ? other : basis;  // reduction x k
    const Eigen::VectorXd root = sigma.cwiseSqrt();
    const Eigen::MatrixXf a = (u * root.asDiagonal()).cast<float>();              // outputs x k
    const Eigen::MatrixXf b = (root.asDiagonal() * v.transpose()).cast<float>();  // k x reduction

    const double total = m.squaredNorm(), kept = sigma.squaredNorm();
    c.figures["rank"] = static_cast<double>(k);
    c.figures["full_rank"] = static_cast<double>(full);
    c.figures["energy_kept"] = total > 0 ? kept / total : 1.0;
    c.figures["discarded_sq_singular_values"] = std::max(0.0, total - kept);

    c.new_ops = rewrite(w, op_index, op, weight, k, a, b);
    return c;
  }

 private:
  int64_t choose_rank(const std::vector<double>& sq, double total, int64_t full) const {
    if (p_.rank > 0) return std::min(p_.rank, full);
    if (p_.rank_fraction > 0)
      return std::clamp<int64_t>(std::llround(p_.rank_fraction * static_cast<double>(full)), 1,
                                 full);
    double acc = 0;
    for (int64_t k = 1; k <= full; ++k) {
      acc += sq[static_cast<size_t>(k - 1)];
      if (acc >= p_.energy * total) return k;
    }
    return full;
  }

  // Replaces the op by the two factor ops; returns their names.
  std::vector<std::string> rewrite(ir::v1::Workload& w, int op_index, const ir::v1::Op& op,
                                   const ir::v1::Tensor& weight, int64_t k,
                                   const Eigen::MatrixXf& a, const Eigen::MatrixXf& b) const {
    const bool is_gemm = op.kind_case() == ir::v1::Op::kGemm;
    const std::string base = op.name() + ".lowrank";

    ir::v1::Tensor first_w, second_w, hidden;
    first_w.set_name(unique_tensor_name(w, base + ".B"));
    second_w.set_name(unique_tensor_name(w, base + ".A"));
    hidden.set_name(unique_tensor_name(w, base + ".hidden"));
    for (ir::v1::Tensor* t : {&first_w, &second_w}) {
      t->set_dtype(ir::v1::FLOAT32);
      t->set_is_weight(true);
    }
    const ir::v1::Tensor* out = ir::find_tensor(w, op.outputs(0));
    hidden.set_dtype(ir::v1::FLOAT32);
    if (out) *hidden.mutable_shape() = out->shape();

    ir::v1::Op first = op, second = op;
    first.set_name(base + "0");
    second.set_name(base + "1");
    first.clear_outputs();
    first.add_outputs(hidden.name());
    *first.mutable_inputs(1) = first_w.name();
    while (first.inputs_size() > 2) first.mutable_inputs()->RemoveLast();
    *second.mutable_inputs(0) = hidden.name();
    *second.mutable_inputs(1) = second_w.name();

    WeightLayout l1, l2;
    if (is_gemm) {
      first_w.add_shape(weight.shape(0));
      first_w.add_shape(k);
      second_w.add_shape(k);
      second_w.add_shape(weight.shape(1));
      first.mutable_gemm()->set_n(k);
      second.mutable_gemm()->set_k(k);
      if (hidden.shape_size() > 0) hidden.set_shape(hidden.shape_size() - 1, k);
      l1 = {k, weight.shape(0), true, 1};
      l2 = {weight.shape(1), k, true, 1};
    } else {
      const auto& cv = op.conv2d();
      first_w.add_shape(k);
      for (int i = 1; i < 4; ++i) first_w.add_shape(weight.shape(i));
      for (int64_t d : {cv.filters(), k, int64_t{1}, int64_t{1}}) second_w.add_shape(d);
      first.mutable_conv2d()->set_filters(k);
      const int64_t dil_h = std::max<int64_t>(cv.dilation_h(), 1);
      const int64_t dil_w = std::max<int64_t>(cv.dilation_w(), 1);
      auto* c2 = second.mutable_conv2d();
      c2->set_h(ir::conv_out_dim(cv.h(), cv.kernel_h(), std::max<int64_t>(cv.stride_h(), 1),
                                 cv.pad_top(), cv.pad_bottom(), dil_h));
      c2->set_w(ir::conv_out_dim(cv.w(), cv.kernel_w(), std::max<int64_t>(cv.stride_w(), 1),
                                 cv.pad_left(), cv.pad_right(), dil_w));
      c2->set_c(k);
      c2->set_kernel_h(1);
      c2->set_kernel_w(1);
      c2->set_stride_h(1);
      c2->set_stride_w(1);
      c2->set_pad_top(0);
      c2->set_pad_bottom(0);
      c2->set_pad_left(0);
      c2->set_pad_right(0);
      c2->set_dilation_h(1);
      c2->set_dilation_w(1);
      if (hidden.shape_size() > 1) hidden.set_shape(1, k);
      l1 = {k, b.cols(), false, 0};
      l2 = {cv.filters(), k, false, 0};
    }
    set_weight_matrix(first_w, l1, b);
    set_weight_matrix(second_w, l2, a);
    add_tensor(w, std::move(first_w));
    add_tensor(w, std::move(second_w));
    add_tensor(w, std::move(hidden));
    std::vector<std::string> names = {first.name(), second.name()};
    replace_op(w, op_index, {std::move(first), std::move(second)});
    return names;
  }

  Params p_;
};

CODESIM_REGISTER_TRANSFORM("lowrank", LowRankTransform);

}  // namespace codesim::compress
