#include "compress/transforms/tt/factorized_layer.h"

#include <cctype>
#include <cmath>
#include <set>

#include "compress/transforms/tt/tensor_algebra.h"
#include "sim/core/diagnostics.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {

bool parse_factor_list(const std::string& text, std::vector<int64_t>& out) {
  out.clear();
  std::string digits;
  const auto flush = [&]() {
    if (digits.empty()) return true;
    if (digits.size() > 12) return false;
    const int64_t v = std::stoll(digits);
    digits.clear();
    if (v < 1) return false;
    out.push_back(v);
    return true;
  };
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
    } else if (c == ',' || c == ' ' || c == 'x') {
      if (!flush()) return false;
    } else {
      return false;
    }
  }
  return flush();
}

TensorNetwork layer_network(const FactorizedMatrix& f, const std::vector<int64_t>& lead) {
  TensorNetwork net;
  net.sizes = f.sizes;
  std::string lead_letters;
  for (size_t i = 0; i < lead.size(); ++i) {
    const char c = index_letter(f.next_letter + static_cast<int>(i));
    lead_letters += c;
    net.sizes[c] = lead[i];
  }
  net.tensors.push_back({"X", lead_letters + f.col_letters});
  for (const auto& t : f.factors) net.tensors.push_back({t.role, t.indices});
  net.output = lead_letters + f.row_letters;
  return net;
}

namespace {

ir::v1::Tensor activation_tensor(const std::string& name, const std::vector<int64_t>& shape) {
  ir::v1::Tensor t;
  t.set_name(name);
  for (int64_t d : shape) t.add_shape(d);
  t.set_dtype(ir::v1::FLOAT32);
  t.set_bits(32);
  return t;
}

// Adds the plan's figures to `change` (summed over the matrices of an op) and a note.
void report_plan(const TensorNetwork& net, const ContractionPlan& plan, int64_t dense_macs,
                 const std::string& what, OpChange& change) {
  const ContractionPlan naive = plan_left_to_right(net);
  change.figures["planned_macs"] += static_cast<double>(plan.macs());
  change.figures["left_to_right_macs"] += static_cast<double>(naive.macs());
  change.figures["dense_macs"] += static_cast<double>(dense_macs);
  change.figures["contraction_stages"] += static_cast<double>(plan.steps.size());
  change.notes.push_back(what + ": contraction order (fewest MACs) " + plan.order_text(net) +
                         ", MACs per stage " + plan.stage_macs_text() + " (left to right " +
                         std::to_string(naive.macs()) + ")");
}

void report_error(double sq_error, double sq_norm, OpChange& change) {
  change.figures["relative_error"] = sq_norm > 0 ? std::sqrt(sq_error / sq_norm) : 0.0;
}

}  // namespace

void rewrite_gemm(ir::v1::Workload& w, int op_index, const Decomposer& decompose,
                  OpChange& change) {
  const ir::v1::Op op = w.ops(op_index);
  const std::string wname = matrix_weights(w, op).front();
  const ir::v1::Tensor& weight = *ir::find_tensor(w, wname);
  const Eigen::MatrixXd m = weight_matrix(weight, weight_layout(op, weight)).cast<double>();
  const Decomposed d = decompose(wname, m);
  const FactorizedMatrix& f = d.factors;
  report_error((m - d.reconstruction).squaredNorm(), m.squaredNorm(), change);
  change.figures["params"] = static_cast<double>(f.params);

  const std::string prefix = op.name() + "." + f.transform;
  const ir::v1::Tensor* x = ir::find_tensor(w, activation_input(w, op));
  std::vector<int64_t> lead;
  if (x && x->shape_size() >= 2) {
    lead.assign(x->shape().begin(), x->shape().end() - 1);
  } else {
    if (op.gemm().batch() > 1) lead.push_back(op.gemm().batch());
    lead.push_back(op.gemm().m());
  }
  const TensorNetwork net = layer_network(f, lead);
  const ContractionPlan plan = plan_min_macs(net);
  report_plan(net, plan, ir::op_macs(w, op), wname, change);

  std::vector<std::string> names;
  std::vector<int64_t> split_shape = lead;
  for (char c : f.col_letters) split_shape.push_back(f.sizes.at(c));
  names.push_back(unique_tensor_name(w, prefix + ".x"));
  add_tensor(w, activation_tensor(names.back(), split_shape));
  for (const auto& t : f.factors) {
    ir::v1::Tensor wt = activation_tensor(unique_tensor_name(w, prefix + "." + t.role), t.shape);
    wt.set_is_weight(true);
    *wt.mutable_structure() = f.structure;
    for (double v : t.data) wt.add_float_data(static_cast<float>(v));
    names.push_back(wt.name());
    add_tensor(w, std::move(wt));
  }

  std::vector<ir::v1::Op> ops(1);
  ops[0].set_name(prefix + ".split");
  ops[0].add_inputs(activation_input(w, op));
  ops[0].add_outputs(names[0]);
  ops[0].mutable_reshape();

  const std::string out = op.outputs(0);
  const std::string bias = bias_input(w, op);
  std::string einsum_out = out;
  const ir::v1::Tensor* out_t = ir::find_tensor(w, out);
  const std::vector<int64_t> out_shape =
      out_t ? std::vector<int64_t>(out_t->shape().begin(), out_t->shape().end())
            : std::vector<int64_t>{};
  if (!bias.empty()) {
    // The einsum result keeps the output's [.., N] shape (a view of its factor axes) so that
    // the bias broadcasts along N.
    einsum_out = unique_tensor_name(w, prefix + ".y");
    add_tensor(w, activation_tensor(einsum_out, out_shape));
  }
  for (auto& e : emit_einsum_ops(w, net, plan, names, einsum_out, prefix)) ops.push_back(e);
  if (!bias.empty()) {
    ir::v1::Op add;
    add.set_name(prefix + ".bias");
    add.add_inputs(einsum_out);
    add.add_inputs(bias);
    add.add_outputs(out);
    add.mutable_eltwise()->set_func(ir::v1::ADD);
    add.mutable_eltwise()->set_elements(product(out_shape));
    ops.push_back(std::move(add));
  }
  for (const auto& o : ops) change.new_ops.push_back(o.name());
  replace_op(w, op_index, std::move(ops));
}

void rewrite_lstm(ir::v1::Workload& w, int op_index, const std::string& which,
                  const Decomposer& decompose, OpChange& change) {
  const ir::v1::Op op = w.ops(op_index);
  const std::vector<std::string> mats = matrix_weights(w, op);
  std::vector<std::vector<std::string>> groups;
  if (which == "input" || mats.size() < 2)
    groups = {{mats.front()}};
  else if (which == "separate")
    groups = {{mats[0]}, {mats[1]}};
  else
    groups = {{mats[0], mats[1]}};

  const int64_t batch = std::max<int64_t>(op.lstm_cell().batch(), 1);
  double sq_error = 0, sq_norm = 0;
  int64_t params = 0;
  for (const auto& group : groups) {
    // [W_ih | W_hh] side by side: the gate pre-activations are W_ih x + W_hh h = [W_ih | W_hh]
    // [x; h].
    std::vector<Eigen::MatrixXd> parts;
    int64_t cols = 0;
    for (const auto& name : group) {
      const ir::v1::Tensor& t = *ir::find_tensor(w, name);
      parts.push_back(weight_matrix(t, weight_layout(op, t)).cast<double>());
      cols += parts.back().cols();
    }
    Eigen::MatrixXd m(parts.front().rows(), cols);
    for (size_t i = 0, at = 0; i < parts.size(); at += parts[i].cols(), ++i)
      m.middleCols(static_cast<long>(at), parts[i].cols()) = parts[i];
    std::string what = group.front();
    for (size_t i = 1; i < group.size(); ++i) what += " | " + group[i];
    const Decomposed d = decompose(what, m);
    sq_error += (m - d.reconstruction).squaredNorm();
    sq_norm += m.squaredNorm();
    params += d.factors.params;
    const TensorNetwork net = layer_network(d.factors, {batch});
    report_plan(net, plan_min_macs(net), batch * m.rows() * m.cols(), "[" + what + "] per step",
                change);
    for (size_t i = 0, at = 0; i < group.size(); at += parts[i].cols(), ++i) {
      ir::v1::Tensor& t = *ir::find_tensor(w, group[i]);
      set_weight_matrix(
          t, weight_layout(op, t),
          d.reconstruction.middleCols(static_cast<long>(at), parts[i].cols()).cast<float>());
      *t.mutable_structure() = d.factors.structure;
    }
  }
  report_error(sq_error, sq_norm, change);
  // params_after / bits_after come from the tensors like every op's: stored_params counts a
  // weight annotated with its factors as its share of them (transform.h).
  change.figures["params"] = static_cast<double>(params);
  change.notes.push_back(
      "lstm_cell kept as one op (the IR has no loop for a per-step einsum sequence): its "
      "weights hold the reconstruction, the structure annotation the factors");
}

void choose_factors(const std::string& where, const std::string& row_text,
                    const std::string& col_text, int cores, int64_t rows, int64_t cols,
                    std::vector<int64_t>& row_factors, std::vector<int64_t>& col_factors) {
  parse_factor_list(row_text, row_factors);
  parse_factor_list(col_text, col_factors);
  if (row_factors.empty())
    row_factors =
        balanced_factors(rows, col_factors.empty() ? cores : static_cast<int>(col_factors.size()));
  if (col_factors.empty())
    col_factors = balanced_factors(cols, static_cast<int>(row_factors.size()));
  const auto fail = [&](const std::string& param, const std::vector<int64_t>& f, int64_t dim,
                        const std::string& what) {
    throw sim::ConfigError(where + ": " + param + " " + dims_text(f) + " multiply to " +
                           std::to_string(product(f)) + ", but the weight has " +
                           std::to_string(dim) + " " + what);
  };
  if (product(row_factors) != rows) fail("row_factors", row_factors, rows, "outputs (rows)");
  if (product(col_factors) != cols) fail("col_factors", col_factors, cols, "reduction columns");
  if (row_factors.size() != col_factors.size())
    throw sim::ConfigError(where + ": row_factors " + dims_text(row_factors) + " and col_factors " +
                           dims_text(col_factors) + " need the same length");
}

}  // namespace codesim::compress
