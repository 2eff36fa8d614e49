#include "arch/models/tensor_lstm/layer.h"

#include <Eigen/Dense>
#include <algorithm>
#include <set>
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

// Orders of `letters` to try: letters of size 1 first and fixed (they never change an address),
// the others in every order, the given order first. Past kMaxFreeLetters letters only the three
// fastest are permuted (the rest keep their order): bank and group patterns are decided by the
// fast letters, and 9! orders of an HT left-to-right stage would swamp the search.
constexpr size_t kMaxFreeLetters = 5;
std::vector<std::string> orders(const std::string& letters, const LetterSizes& sizes) {
  std::string fixed, free;
  for (char c : letters) (sizes.at(c) == 1 ? fixed : free) += c;
  std::vector<std::string> out;
  if (free.size() <= kMaxFreeLetters) {
    std::vector<int> idx(free.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int>(i);
    do {
      std::string o = fixed;
      for (int i : idx) o += free[static_cast<size_t>(i)];
      out.push_back(o);
    } while (std::next_permutation(idx.begin(), idx.end()));
    return out;
  }
  const size_t n = free.size();
  out.push_back(fixed + free);
  for (size_t a = 0; a < n; ++a)
    for (size_t b = 0; b < n; ++b)
      for (size_t c = 0; c < n; ++c) {
        if (a == b || a == c || b == c) continue;
        std::string o = fixed;
        for (size_t i = 0; i < n; ++i)
          if (i != a && i != b && i != c) o += free[i];
        o += {free[a], free[b], free[c]};
        if (o != out.front()) out.push_back(o);
      }
  return out;
}

// Depth-first search over the X-dependent stages (a chain: each consumes the previous one's
// result) for letter orders and group shapes with no bank conflict. A stage's reads are
// conflict-free when its rows per group do not exceed the banks (consecutive rows of its A view
// are in consecutive banks); its writes are checked by enumerating every group's results in the
// consumer's layout. Candidates are tried in order of the stage's cycles, so the first plan
// found keeps every stage as fast as its best group shape allows where that is conflict-free.
class FdhtPlanner {
 public:
  FdhtPlanner(std::vector<StageGeometry*> chain, const LetterSizes& sizes, const EngineConfig& cfg)
      : chain_(std::move(chain)), sizes_(sizes), cfg_(cfg) {}

  bool plan() {
    for (const std::string& rows : orders(chain_[0]->m, sizes_))
      if (search(0, rows)) {
        for (StageGeometry* g : chain_) g->conflict_free = true;
        return true;
      }
    return false;
  }

 private:
  struct Shape {
    int64_t gamma, cycles, reads;
  };

  std::vector<Shape> shapes(const StageGeometry& g) const {
    std::vector<Shape> out;
    const int64_t kw = (g.K + cfg_.macs_per_pe - 1) / cfg_.macs_per_pe;
    std::set<std::pair<int64_t, int64_t>> seen;
    for (int64_t gamma = 1; gamma <= std::min(g.N, cfg_.pes); ++gamma) {
      const Grouping grp = make_grouping(g.M, g.N, cfg_.pes, gamma);
      if (grp.rows > cfg_.banks || !seen.insert({grp.rows, grp.cols}).second) continue;
      const int64_t reads = ((g.N + grp.cols - 1) / grp.cols) * g.M * kw +
                            ((g.M + grp.rows - 1) / grp.rows) * g.N * g.K;
      out.push_back({grp.cols, grp.count * kw, reads});
    }
    std::stable_sort(out.begin(), out.end(), [](const Shape& a, const Shape& b) {
      return a.cycles != b.cycles ? a.cycles < b.cycles : a.reads < b.reads;
    });
    return out;
  }

  bool search(size_t s, const std::string& rows) {
    if (!failed_.insert({s, rows}).second) return false;  // explored before, without success
    StageGeometry& g = *chain_[s];
    const bool last = s + 1 == chain_.size();
    StageGeometry* next = last ? nullptr : chain_[s + 1];
    const std::vector<std::string> next_rows = orders(last ? g.m + g.n : next->m, sizes_);
    g.m = rows;
    g.a_layout = {rows, g.k};
    for (const Shape& shape : shapes(g)) {
      g.cols_per_group = shape.gamma;
      for (const std::string& cols : orders(g.n, sizes_)) {
        g.n = cols;
        // Necessary for any consumer order: a group's results fall in distinct consumer rows
        // (a row is one bank). With a bank per row, the check is exactly that.
        g.out_layout = last ? Layout{g.m + g.n, ""} : Layout{next->m, next->k};
        EngineConfig one_bank_per_row = cfg_;
        one_bank_per_row.banks = int64_t{1} << 40;
        if (write_conflicts(g, sizes_, one_bank_per_row, 0, &work_) != 0) continue;
        for (const std::string& out : next_rows) {
          if (work_ > kMaxWork) return false;
          ++work_;
          g.out_layout = last ? Layout{out, ""} : Layout{out, next->k};
          if (write_conflicts(g, sizes_, cfg_, 0, &work_) != 0) continue;
          if (last || search(s + 1, out)) return true;
        }
      }
    }
    return false;
  }

  // Bounds the search (candidates plus the results their checks looked at, about 0.1 s); beyond
  // it the natural orders are kept and the conflicts counted.
  static constexpr int64_t kMaxWork = 4000000;
  std::vector<StageGeometry*> chain_;
  const LetterSizes& sizes_;
  EngineConfig cfg_;
  std::set<std::pair<size_t, std::string>> failed_;
  int64_t work_ = 0;
};

}  // namespace

LayerSchedule schedule_layer(LayerNetwork l, bool min_macs, const EngineConfig& cfg) {
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

  std::vector<StageGeometry*> chain;
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
    // Naive: every tensor row-major in its einsum letter order (also the FDHT fallback's
    // starting point, replaced below).
    geo.a_layout = {a, ""};
    geo.out_layout = {st.out_indices, ""};
    const int64_t out_elems = letters_product(st.out_indices, net.sizes);
    if (g.weight_only) {
      geo.out_to_sram = false;
      s.weight_elements += out_elems;
    } else {
      s.work_elements = std::max(s.work_elements, out_elems);
    }
    s.stages.push_back(std::move(g));
  }
  for (auto& st : s.stages)
    if (!st.weight_only) chain.push_back(&st.geom);
  if (cfg.scheme == MemoryScheme::kNaive || chain.empty()) return s;

  s.conflict_free = FdhtPlanner(chain, net.sizes, cfg).plan();
  if (s.conflict_free) return s;
  // No conflict-free plan: the consumer's matrix views in the natural letter orders; run_stage
  // then enumerates the accesses and counts the conflicts in both fidelities.
  for (size_t i = 0; i < chain.size(); ++i) {
    StageGeometry& g = *chain[i];
    g.cols_per_group = 0;
    g.a_layout = {g.m, g.k};
    g.out_layout =
        i + 1 < chain.size() ? Layout{chain[i + 1]->m, chain[i + 1]->k} : Layout{g.m + g.n, ""};
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
  const auto sa = letter_strides(a_letters, sizes), sb = letter_strides(b_letters, sizes),
             so = letter_strides(out_letters, sizes);
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

std::vector<float> evaluate(const LayerSchedule& s, const EngineConfig& cfg,
                            const std::vector<float>& x,
                            std::vector<std::vector<float>>& precomputed) {
  const auto& net = s.layer.net;
  const size_t n = net.tensors.size();
  if (s.layer.values.size() + 1 != n)
    throw std::invalid_argument("the layer's factor values are not known");
  if (precomputed.size() != s.stages.size()) precomputed.assign(s.stages.size(), {});
  std::vector<const std::vector<float>*> operand(n + s.stages.size(), nullptr);
  for (size_t i = 1; i < n; ++i) operand[i] = &s.layer.values[i - 1];
  const auto letters_of = [&](int id) -> const std::string& {
    return id < static_cast<int>(n) ? net.tensors[static_cast<size_t>(id)].indices
                                    : s.stages[static_cast<size_t>(id) - n].step.out_indices;
  };
  // Ping-pong working buffers: a stage reads buf[cur] and writes buf[1 - cur].
  std::vector<WorkBuffer> buf(2, WorkBuffer(cfg.banks, cfg.macs_per_pe));
  int cur = 0;
  const StageGeometry* last = nullptr;
  for (size_t i = 0; i < s.stages.size(); ++i) {
    const Stage& st = s.stages[i];
    if (st.weight_only) {
      if (precomputed[i].empty())
        precomputed[i] = contract(*operand[static_cast<size_t>(st.a)], letters_of(st.a),
                                  *operand[static_cast<size_t>(st.b)], letters_of(st.b),
                                  st.step.out_indices, net.sizes);
      operand[n + i] = &precomputed[i];
      continue;
    }
    const StageGeometry& g = st.geom;
    if (!last) {
      // The input loader writes X in the first stage's layout.
      const Addresser a(g.m, g.k, g.a_layout, net.sizes, cfg);
      const std::string& xl = net.tensors[0].indices;
      const std::vector<int64_t> xm = contribution(g.m, xl, net.sizes);
      const std::vector<int64_t> xk = contribution(g.k, xl, net.sizes);
      for (int64_t r = 0; r < g.M; ++r)
        for (int64_t j = 0; j < g.K; ++j)
          buf[0].write(
              a.at(r, j),
              x[static_cast<size_t>(xm[static_cast<size_t>(r)] + xk[static_cast<size_t>(j)])]);
    }
    buf[static_cast<size_t>(1 - cur)] = WorkBuffer(cfg.banks, cfg.macs_per_pe);
    execute_stage(g, net.sizes, cfg, buf[static_cast<size_t>(cur)],
                  *operand[static_cast<size_t>(st.b)], letters_of(st.b),
                  buf[static_cast<size_t>(1 - cur)]);
    cur = 1 - cur;
    last = &g;
  }
  // The gate unit reads Y from the last stage's output layout.
  const Addresser o(last->m, last->n, last->out_layout, net.sizes, cfg);
  const std::vector<int64_t> ym = contribution(last->m, net.output, net.sizes);
  const std::vector<int64_t> yn = contribution(last->n, net.output, net.sizes);
  std::vector<float> y(static_cast<size_t>(letters_product(net.output, net.sizes)));
  for (int64_t r = 0; r < last->M; ++r)
    for (int64_t j = 0; j < last->N; ++j)
      y[static_cast<size_t>(ym[static_cast<size_t>(r)] + yn[static_cast<size_t>(j)])] =
          buf[static_cast<size_t>(cur)].read(o.at(r, j));
  return y;
}

}  // namespace codesim::arch::tensor_lstm
