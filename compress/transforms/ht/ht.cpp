// The ht transform: a gemm's weight, or an lstm_cell's concatenated gate matrices [W_ih | W_hh]
// as FDHT-LSTM does, becomes a hierarchical Tucker decomposition over a balanced dimension tree
// (ht_decomposition.h); a gemm runs as the einsum sequence of tt/contraction.h in the order with
// the fewest MACs. compress/README.md has the math and closed forms.

#include <limits>

#include "compress/transform.h"
#include "compress/transforms/ht/ht_decomposition.h"
#include "compress/transforms/tt/factorized_layer.h"

namespace codesim::compress {

class HierarchicalTuckerTransform : public Transform {
 public:
  struct Params {
    std::string row_factors;
    std::string col_factors;
    int64_t cores = 4;
    int64_t rank = 0;
    std::string ranks;
    std::string lstm_weights;

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .text("row_factors", &Params::row_factors,
                    "factors m_1..m_d of the outputs (gemm N, lstm 4H), e.g. \"4,4,8,8\"; empty: "
                    "the most balanced split into `cores` factors")
              .def(std::string())
              .text("col_factors", &Params::col_factors,
                    "factors n_1..n_d of the reduction (gemm K, lstm I or I+H), same count; "
                    "empty: automatic")
              .def(std::string())
              .integer("cores", &Params::cores,
                       "d, the number of leaves (factor pairs) when factors are automatic")
              .def(4)
              .range(2, 8)
              .integer("rank", &Params::rank,
                       "rank of every non-root node, capped at its full rank; 0: full rank (exact)")
              .def(0)
              .min(0)
              .text("ranks", &Params::ranks,
                    "one rank per tree node, breadth-first from the root (whose rank is 1), "
                    "2d-1 entries; overrides `rank`")
              .def(std::string())
              .choice("lstm_weights", &Params::lstm_weights, {"input", "separate", "concatenated"},
                      "lstm_cell: decompose W_ih only, W_ih and W_hh separately, or [W_ih | W_hh] "
                      "as one matrix (FDHT-LSTM)")
              .def(std::string("concatenated"));
      return s;
    }
  };
  static constexpr const char* kSummary =
      "hierarchical Tucker over a balanced dimension tree; a gemm becomes an einsum sequence";
  static std::vector<std::string> op_kinds() { return {"gemm", "lstm_cell"}; }

  static void check(const Params& p, const YAML::Node& step, const std::string& file,
                    const std::string& path, sim::Diagnostics& diags) {
    std::vector<int64_t> v;
    for (const auto& [key, text] :
         {std::pair<std::string, std::string>{"row_factors", p.row_factors},
          {"col_factors", p.col_factors},
          {"ranks", p.ranks}})
      if (!parse_factor_list(text, v))
        diags.error_at(file, step[key], path + "." + key,
                       "'" + text + "' is not a list of positive integers like \"4,8,8\"");
    std::vector<int64_t> r;
    if (parse_factor_list(p.ranks, r) && !r.empty() && r.front() != 1)
      diags.error_at(file, step["ranks"], path + ".ranks", "the root's rank (first entry) is 1");
  }

  explicit HierarchicalTuckerTransform(const Params& p) : p_(p) {}

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    const ir::v1::Op& op = w.ops(op_index);
    const std::string name = op.name();
    const Decomposer decompose = [&](const std::string& what, const Eigen::MatrixXd& m) {
      return decompose_ht("op '" + name + "', weight '" + what + "'", m);
    };
    if (op.kind_case() == ir::v1::Op::kGemm)
      rewrite_gemm(w, op_index, decompose, c);
    else
      rewrite_lstm(w, op_index, p_.lstm_weights, decompose, c);
    return c;
  }

 private:
  Decomposed decompose_ht(const std::string& where, const Eigen::MatrixXd& m) const {
    std::vector<int64_t> rows, cols;
    choose_factors(where, p_.row_factors, p_.col_factors, static_cast<int>(p_.cores), m.rows(),
                   m.cols(), rows, cols);
    const size_t d = rows.size();
    if (d < 2) throw sim::ConfigError(where + ": hierarchical Tucker needs at least 2 factors");
    const size_t nodes = 2 * d - 1;
    std::vector<int64_t> ranks;
    parse_factor_list(p_.ranks, ranks);
    if (ranks.empty()) {
      ranks.assign(nodes, p_.rank > 0 ? p_.rank : std::numeric_limits<int64_t>::max());
    } else if (ranks.size() != nodes) {
      throw sim::ConfigError(where + ": ranks " + dims_text(ranks) + " has " +
                             std::to_string(ranks.size()) + " entries; a tree over " +
                             std::to_string(d) + " leaves has " + std::to_string(nodes) + " nodes");
    }
    const HierarchicalTuckerMatrix ht = ht_decompose(m, rows, cols, ranks);

    Decomposed out;
    FactorizedMatrix& f = out.factors;
    f.transform = "ht";
    // Letters: m_k = k, n_k = d + k, the rank of node t = 2d + t.
    const auto letter = [&](size_t i) { return index_letter(static_cast<int>(i)); };
    for (size_t k = 0; k < d; ++k) {
      f.row_letters += letter(k);
      f.col_letters += letter(d + k);
      f.sizes[letter(k)] = rows[k];
      f.sizes[letter(d + k)] = cols[k];
    }
    for (size_t t = 0; t < nodes; ++t) f.sizes[letter(2 * d + t)] = ht.nodes[t].rank;
    f.next_letter = static_cast<int>(2 * d + nodes);
    auto* s = f.structure.mutable_hierarchical_tucker();
    for (size_t k = 0; k < d; ++k) {
      s->add_row_factors(static_cast<uint32_t>(rows[k]));
      s->add_col_factors(static_cast<uint32_t>(cols[k]));
    }
    std::vector<FactorTensor> leaves(d), internal;
    for (size_t t = 0; t < nodes; ++t) {
      const HtTreeNode& node = ht.nodes[t];
      auto* n = s->add_nodes();
      for (int k : node.modes) n->add_dims(static_cast<uint32_t>(k));
      n->set_rank(static_cast<uint32_t>(node.rank));
      n->set_left(node.left);
      n->set_right(node.right);
      FactorTensor ft;
      ft.data = ht.tensors[t].data;
      ft.shape = ht.tensors[t].shape;
      if (node.leaf()) {
        const size_t k = static_cast<size_t>(node.modes[0]);
        ft.role = "U" + std::to_string(t);
        ft.indices = {letter(k), letter(d + k), letter(2 * d + t)};
        leaves[k] = std::move(ft);
      } else {
        ft.role = "B" + std::to_string(t);
        ft.indices = {letter(2 * d + static_cast<size_t>(node.left)),
                      letter(2 * d + static_cast<size_t>(node.right))};
        // The root's rank axis has size 1; leaving it out keeps the root a matrix.
        if (t == 0)
          ft.shape.pop_back();
        else
          ft.indices += letter(2 * d + t);
        internal.push_back(std::move(ft));
      }
    }
    // Listed as §4.1 contracts them (leaves in mode order, then transfer tensors bottom-up, the
    // root last), so that the left-to-right baseline is that order, not an outer product.
    f.factors = std::move(leaves);
    for (auto it = internal.rbegin(); it != internal.rend(); ++it) f.factors.push_back(*it);
    f.params = ht.params();
    out.reconstruction = ht_to_matrix(ht);
    return out;
  }

  Params p_;
};

CODESIM_REGISTER_TRANSFORM("ht", HierarchicalTuckerTransform);

}  // namespace codesim::compress
