#include "arch/models/tensor_lstm/layer.h"

#include <Eigen/Dense>
#include <algorithm>
#include <stdexcept>

#include "compress/transforms/ht/ht_decomposition.h"
#include "compress/transforms/tt/factorized_layer.h"
#include "compress/transforms/tt/tt_svd.h"

namespace codesim::arch::tensor_lstm {

using compress::index_letter;

const char* layer_kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::kTensorTrain:
      return "tt";
    case LayerKind::kHierarchicalTucker:
      return "ht";
    default:
      return "dense";
  }
}

namespace {

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

// The FactorizedMatrix skeleton (letters, shapes, roles) of an annotation, with the letter
// conventions of compress/transforms/tt/tt.cpp and ht/ht.cpp, so that compress::layer_network
// builds the same network the transforms planned.
compress::FactorizedMatrix skeleton(const ir::v1::Structure& s, LayerKind& kind) {
  compress::FactorizedMatrix f;
  const auto L = [](size_t i) { return index_letter(static_cast<int>(i)); };
  if (s.has_tensor_train()) {
    kind = LayerKind::kTensorTrain;
    const auto& tt = s.tensor_train();
    const size_t d = static_cast<size_t>(tt.row_factors_size());
    if (d < 1 || static_cast<size_t>(tt.col_factors_size()) != d ||
        static_cast<size_t>(tt.ranks_size()) != d + 1)
      throw std::invalid_argument("tensor_train annotation: factor and rank counts disagree");
    f.transform = "tt";
    for (size_t k = 0; k < d; ++k) {
      f.row_letters += L(k);
      f.col_letters += L(d + k);
      f.sizes[L(k)] = tt.row_factors(static_cast<int>(k));
      f.sizes[L(d + k)] = tt.col_factors(static_cast<int>(k));
    }
    for (size_t k = 0; k <= d; ++k) f.sizes[L(2 * d + k)] = tt.ranks(static_cast<int>(k));
    f.next_letter = static_cast<int>(3 * d + 1);
    for (size_t k = 0; k < d; ++k) {
      compress::FactorTensor g;
      g.role = "G" + std::to_string(k + 1);
      g.indices = {L(2 * d + k), L(k), L(d + k), L(2 * d + k + 1)};
      for (char c : g.indices) g.shape.push_back(f.sizes[c]);
      f.params += compress::product(g.shape);
      f.factors.push_back(std::move(g));
    }
    return f;
  }
  kind = LayerKind::kHierarchicalTucker;
  const auto& ht = s.hierarchical_tucker();
  const size_t d = static_cast<size_t>(ht.row_factors_size());
  const size_t nodes = static_cast<size_t>(ht.nodes_size());
  if (d < 2 || static_cast<size_t>(ht.col_factors_size()) != d || nodes != 2 * d - 1)
    throw std::invalid_argument("hierarchical_tucker annotation: factor and node counts disagree");
  f.transform = "ht";
  for (size_t k = 0; k < d; ++k) {
    f.row_letters += L(k);
    f.col_letters += L(d + k);
    f.sizes[L(k)] = ht.row_factors(static_cast<int>(k));
    f.sizes[L(d + k)] = ht.col_factors(static_cast<int>(k));
  }
  for (size_t t = 0; t < nodes; ++t) f.sizes[L(2 * d + t)] = ht.nodes(static_cast<int>(t)).rank();
  f.next_letter = static_cast<int>(2 * d + nodes);
  std::vector<compress::FactorTensor> leaves(d), internal;
  for (size_t t = 0; t < nodes; ++t) {
    const auto& node = ht.nodes(static_cast<int>(t));
    compress::FactorTensor ft;
    if (node.left() < 0) {
      const size_t k = node.dims(0);
      ft.role = "U" + std::to_string(t);
      ft.indices = {L(k), L(d + k), L(2 * d + t)};
      for (char c : ft.indices) ft.shape.push_back(f.sizes[c]);
      f.params += compress::product(ft.shape);
      leaves[k] = std::move(ft);
    } else {
      ft.role = "B" + std::to_string(t);
      ft.indices = {L(2 * d + static_cast<size_t>(node.left())),
                    L(2 * d + static_cast<size_t>(node.right()))};
      if (t != 0) ft.indices += L(2 * d + t);
      for (char c : ft.indices) ft.shape.push_back(f.sizes[c]);
      f.params += compress::product(ft.shape);
      internal.push_back(std::move(ft));
    }
  }
  f.factors = std::move(leaves);
  for (auto it = internal.rbegin(); it != internal.rend(); ++it) f.factors.push_back(*it);
  return f;
}

}  // namespace

LayerNetwork network_from_structure(const ir::v1::Structure& s, int64_t rows, int64_t cols,
                                    const std::vector<int64_t>& lead) {
  LayerNetwork l;
  l.rows = rows;
  l.cols = cols;
  if (!s.has_tensor_train() && !s.has_hierarchical_tucker()) {
    // Dense: X [lead.., a] W [b, a] -> Y [lead.., b] (W as stored, [outputs x reduction]).
    l.kind = LayerKind::kDense;
    l.net.sizes['a'] = cols;
    l.net.sizes['b'] = rows;
    for (size_t i = 0; i < lead.size(); ++i) {
      const char c = index_letter(static_cast<int>(2 + i));
      l.lead_letters += c;
      l.net.sizes[c] = lead[i];
    }
    l.col_letters = "a";
    l.row_letters = "b";
    l.net.tensors.push_back({"X", l.lead_letters + "a"});
    l.net.tensors.push_back({"W", "ba"});
    l.net.output = l.lead_letters + "b";
    l.params = rows * cols;
    return l;
  }
  const compress::FactorizedMatrix f = skeleton(s, l.kind);
  int64_t r = 1, c = 1;
  for (char ch : f.row_letters) r *= f.sizes.at(ch);
  for (char ch : f.col_letters) c *= f.sizes.at(ch);
  if (r != rows || c != cols)
    throw std::invalid_argument("the structure describes a " + std::to_string(r) + " x " +
                                std::to_string(c) + " matrix, the weight is " +
                                std::to_string(rows) + " x " + std::to_string(cols));
  l.net = compress::layer_network(f, lead);
  l.lead_letters = l.net.tensors[0].indices.substr(0, lead.size());
  l.col_letters = f.col_letters;
  l.row_letters = f.row_letters;
  l.params = f.params;
  return l;
}

void set_values_from_matrix(LayerNetwork& l, const std::vector<float>& w) {
  l.values.clear();
  if (l.kind == LayerKind::kDense) {
    l.values.push_back(w);
    return;
  }
  Eigen::MatrixXd m(l.rows, l.cols);
  for (int64_t i = 0; i < l.rows; ++i)
    for (int64_t j = 0; j < l.cols; ++j)
      m(i, j) = static_cast<double>(w[static_cast<size_t>(i * l.cols + j)]);
  std::vector<int64_t> rows, cols;
  for (char c : l.row_letters) rows.push_back(l.net.sizes.at(c));
  for (char c : l.col_letters) cols.push_back(l.net.sizes.at(c));
  const size_t d = rows.size();
  const auto to_float = [](const std::vector<double>& v) {
    return std::vector<float>(v.begin(), v.end());
  };
  if (l.kind == LayerKind::kTensorTrain) {
    std::vector<int64_t> ranks;
    for (size_t k = 0; k <= d; ++k) ranks.push_back(l.net.sizes.at(index_letter(2 * d + k)));
    const compress::TensorTrain tt = compress::tt_svd(m, rows, cols, ranks);
    for (const auto& core : tt.cores) l.values.push_back(to_float(core.data));
    return;
  }
  const size_t nodes = 2 * d - 1;
  std::vector<int64_t> ranks;
  for (size_t t = 0; t < nodes; ++t) ranks.push_back(l.net.sizes.at(index_letter(2 * d + t)));
  const compress::HierarchicalTuckerMatrix ht = compress::ht_decompose(m, rows, cols, ranks);
  // Factor order of the network: leaves by mode, then the internal nodes deepest first.
  std::vector<std::vector<float>> leaves(d), internal;
  for (size_t t = 0; t < nodes; ++t) {
    if (ht.nodes[t].leaf())
      leaves[static_cast<size_t>(ht.nodes[t].modes[0])] = to_float(ht.tensors[t].data);
    else
      internal.push_back(to_float(ht.tensors[t].data));
  }
  l.values = std::move(leaves);
  for (auto it = internal.rbegin(); it != internal.rend(); ++it) l.values.push_back(*it);
}

namespace {

// Letters of a stage split into M (free in A), K (contracted) and N (free in B), each in the
// order of its operand; letters summed inside one operand must have size 1.
void split_letters(const std::string& a, const std::string& b, const std::string& out,
                   const LetterSizes& sizes, std::string& m, std::string& k, std::string& n) {
  for (char c : a) {
    if (has(b, c)) {
      if (has(out, c) && sizes.at(c) > 1)
        throw std::invalid_argument(std::string("index '") + c +
                                    "' is shared and kept (a batched contraction)");
      if (!has(out, c)) k += c;
    } else if (has(out, c)) {
      m += c;
    } else if (sizes.at(c) > 1) {
      throw std::invalid_argument(std::string("index '") + c + "' is summed inside one operand");
    }
  }
  for (char c : b) {
    if (!has(a, c) && has(out, c)) n += c;
    if (!has(a, c) && !has(out, c) && sizes.at(c) > 1)
      throw std::invalid_argument(std::string("index '") + c + "' is summed inside one operand");
  }
}

std::string without(const std::string& s, const std::string& drop) {
  std::string r;
  for (char c : s)
    if (!has(drop, c)) r += c;
  return r;
}

}  // namespace

LayerSchedule schedule_layer(LayerNetwork l, bool min_macs, MemoryScheme scheme) {
  LayerSchedule s;
  s.layer = std::move(l);
  const compress::TensorNetwork& net = s.layer.net;
  s.plan = min_macs ? compress::plan_min_macs(net) : compress::plan_left_to_right(net);
  const int n = static_cast<int>(net.tensors.size());
  std::vector<bool> from_x(static_cast<size_t>(n + static_cast<int>(s.plan.steps.size())), false);
  from_x[0] = true;
  for (int i = 1; i < n; ++i)
    s.weight_elements += letters_product(net.tensors[static_cast<size_t>(i)].indices, net.sizes);
  s.work_elements = letters_product(net.tensors[0].indices, net.sizes);

  std::vector<int> x_stages;
  for (size_t i = 0; i < s.plan.steps.size(); ++i) {
    const auto& st = s.plan.steps[i];
    Stage g;
    g.step = st;
    g.weight_only = !from_x[static_cast<size_t>(st.lhs)] && !from_x[static_cast<size_t>(st.rhs)];
    const bool swap = !g.weight_only && !from_x[static_cast<size_t>(st.lhs)];
    g.a = swap ? st.rhs : st.lhs;
    g.b = swap ? st.lhs : st.rhs;
    from_x[static_cast<size_t>(n) + i] = !g.weight_only;
    const std::string& a = swap ? st.rhs_indices : st.lhs_indices;
    const std::string& b = swap ? st.lhs_indices : st.rhs_indices;
    StageGeometry& geo = g.geom;
    split_letters(a, b, st.out_indices, net.sizes, geo.m, geo.k, geo.n);
    geo.M = letters_product(geo.m, net.sizes);
    geo.K = letters_product(geo.k, net.sizes);
    geo.N = letters_product(geo.n, net.sizes);
    const int64_t out_elems = letters_product(st.out_indices, net.sizes);
    if (g.weight_only) {
      geo.out_to_sram = false;
      s.weight_elements += out_elems;
    } else {
      s.work_elements = std::max(s.work_elements, out_elems);
      x_stages.push_back(static_cast<int>(i));
    }
    s.stages.push_back(std::move(g));
  }

  // Layouts. Naive: every tensor row-major in its einsum letter order. FDHT: each X-dependent
  // tensor in its consumer's [M x K] view, the consumer's row order chosen by the producer:
  // letters the stage after the consumer contracts slowest (so a group never spreads over
  // them), then the producer's new letters (N), then the producer's rows in their order, so that
  // a group's consecutive rows land on consecutive rows (distinct banks) of the consumer.
  const auto contracted_by = [&](size_t xi) -> std::string {
    return xi < x_stages.size() ? s.stages[static_cast<size_t>(x_stages[xi])].geom.k
                                : std::string();
  };
  for (size_t xi = 0; xi < x_stages.size(); ++xi) {
    StageGeometry& geo = s.stages[static_cast<size_t>(x_stages[xi])].geom;
    if (scheme == MemoryScheme::kNaive) {
      const auto& st = s.stages[static_cast<size_t>(x_stages[xi])];
      geo.a_layout = {st.a == st.step.lhs ? st.step.lhs_indices : st.step.rhs_indices, ""};
      geo.out_layout = {st.step.out_indices, ""};
      continue;
    }
    if (xi == 0) {
      const std::string next = contracted_by(1);
      std::string rows;
      for (char c : geo.m)
        if (has(next, c)) rows += c;
      rows += without(geo.m, next);
      geo.m = rows;
      geo.a_layout = {geo.m, geo.k};
    }
    if (xi + 1 == x_stages.size()) {
      geo.out_layout = {geo.n + geo.m, ""};
      continue;
    }
    StageGeometry& cons = s.stages[static_cast<size_t>(x_stages[xi + 1])].geom;
    const std::string after = contracted_by(xi + 2);
    std::string rows;
    for (char c : geo.m + geo.n)
      if (has(cons.m, c) && has(after, c) && !has(rows, c)) rows += c;
    for (char c : geo.n)
      if (has(cons.m, c) && !has(rows, c)) rows += c;
    for (char c : geo.m)
      if (has(cons.m, c) && !has(rows, c)) rows += c;
    cons.m = rows;
    cons.a_layout = {cons.m, cons.k};
    geo.out_layout = cons.a_layout;
  }
  return s;
}

std::vector<float> contract(const std::vector<float>& a, const std::string& a_letters,
                            const std::vector<float>& b, const std::string& b_letters,
                            const std::string& out_letters, const LetterSizes& sizes) {
  std::string m, k, n;
  split_letters(a_letters, b_letters, out_letters, sizes, m, k, n);
  const int64_t M = letters_product(m, sizes), K = letters_product(k, sizes),
                N = letters_product(n, sizes);
  // Strides of every letter in each operand.
  const auto strides = [&](const std::string& letters) {
    std::map<char, int64_t> st;
    int64_t s = 1;
    for (auto it = letters.rbegin(); it != letters.rend(); ++it) {
      st[*it] = s;
      s *= sizes.at(*it);
    }
    return st;
  };
  const auto sa = strides(a_letters), sb = strides(b_letters), so = strides(out_letters);
  const auto offsets = [&](const std::string& letters, const std::map<char, int64_t>& st) {
    std::vector<int64_t> off(static_cast<size_t>(letters_product(letters, sizes)), 0);
    for (size_t i = 0; i < off.size(); ++i) {
      int64_t rest = static_cast<int64_t>(i), v = 0;
      for (auto it = letters.rbegin(); it != letters.rend(); ++it) {
        const int64_t size = sizes.at(*it);
        const auto f = st.find(*it);
        if (f != st.end()) v += (rest % size) * f->second;
        rest /= size;
      }
      off[i] = v;
    }
    return off;
  };
  const auto am = offsets(m, sa), ak = offsets(k, sa), bk = offsets(k, sb), bn = offsets(n, sb),
             om = offsets(m, so), on = offsets(n, so);
  std::vector<float> out(static_cast<size_t>(letters_product(out_letters, sizes)), 0.0f);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < K; ++p)
        acc += a[static_cast<size_t>(am[static_cast<size_t>(i)] + ak[static_cast<size_t>(p)])] *
               b[static_cast<size_t>(bk[static_cast<size_t>(p)] + bn[static_cast<size_t>(j)])];
      out[static_cast<size_t>(om[static_cast<size_t>(i)] + on[static_cast<size_t>(j)])] = acc;
    }
  return out;
}

std::vector<float> evaluate(const LayerSchedule& s, const std::vector<float>& x,
                            std::vector<std::vector<float>>& precomputed) {
  const auto& net = s.layer.net;
  const size_t n = net.tensors.size();
  if (s.layer.values.size() + 1 != n)
    throw std::invalid_argument("the layer's factor values are not known");
  if (precomputed.size() != s.stages.size()) precomputed.assign(s.stages.size(), {});
  std::vector<const std::vector<float>*> operand(n + s.stages.size(), nullptr);
  operand[0] = &x;
  for (size_t i = 1; i < n; ++i) operand[i] = &s.layer.values[i - 1];
  std::vector<std::vector<float>> results(s.stages.size());
  const auto letters_of = [&](int id) -> const std::string& {
    return id < static_cast<int>(n) ? net.tensors[static_cast<size_t>(id)].indices
                                    : s.stages[static_cast<size_t>(id) - n].step.out_indices;
  };
  for (size_t i = 0; i < s.stages.size(); ++i) {
    const Stage& st = s.stages[i];
    if (st.weight_only && !precomputed[i].empty()) {
      operand[n + i] = &precomputed[i];
      continue;
    }
    std::vector<float> r = contract(*operand[static_cast<size_t>(st.a)], letters_of(st.a),
                                    *operand[static_cast<size_t>(st.b)], letters_of(st.b),
                                    st.step.out_indices, net.sizes);
    if (st.weight_only) {
      precomputed[i] = std::move(r);
      operand[n + i] = &precomputed[i];
    } else {
      results[i] = std::move(r);
      operand[n + i] = &results[i];
    }
  }
  // The last step writes the network output, in net.output order.
  return *operand[n + s.stages.size() - 1];
}

}  // namespace codesim::arch::tensor_lstm
