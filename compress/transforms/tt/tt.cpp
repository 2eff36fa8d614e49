// The tt transform: a gemm's weight (or an lstm_cell's W_ih, as TT-LSTM and TIE do) becomes a
// tensor train by TT-SVD (tt_svd.h); a gemm runs as the einsum sequence of contraction.h in the
// order with the fewest MACs. compress/README.md has the math and closed forms.

#include <limits>

#include "compress/transform.h"
#include "compress/transforms/tt/factorized_layer.h"
#include "compress/transforms/tt/tt_svd.h"

namespace codesim::compress {

class TensorTrainTransform : public Transform {
 public:
  struct Params {
    std::string row_factors;
    std::string col_factors;
    int64_t cores = 3;
    int64_t rank = 0;
    std::string ranks;
    std::string lstm_weights;

    static const sim::ParamSchema<Params>& schema() {
      static const sim::ParamSchema<Params> s =
          sim::ParamSchema<Params>()
              .text("row_factors", &Params::row_factors,
                    "factors m_1..m_d of the outputs (gemm N, lstm 4H), e.g. \"8,8,12\"; empty: "
                    "the most balanced split into `cores` factors")
              .def(std::string())
              .text("col_factors", &Params::col_factors,
                    "factors n_1..n_d of the reduction (gemm K, lstm I), same count; empty: "
                    "automatic")
              .def(std::string())
              .integer("cores", &Params::cores, "d, the number of cores when factors are automatic")
              .def(3)
              .range(2, 8)
              .integer("rank", &Params::rank,
                       "every inner TT rank r_1..r_{d-1}, capped at its full rank; 0: full rank "
                       "(exact)")
              .def(0)
              .min(0)
              .text("ranks", &Params::ranks,
                    "all d+1 ranks r_0..r_d with r_0 = r_d = 1, e.g. \"1,16,16,1\"; overrides "
                    "`rank`")
              .def(std::string())
              .choice("lstm_weights", &Params::lstm_weights, {"input", "separate", "concatenated"},
                      "lstm_cell: decompose W_ih only (TT-LSTM), W_ih and W_hh separately, or "
                      "[W_ih | W_hh] as one matrix")
              .def(std::string("input"));
      return s;
    }
  };
  static constexpr const char* kSummary =
      "tensor train (TT-SVD); a gemm becomes an einsum sequence in the order of fewest MACs";
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
    if (parse_factor_list(p.ranks, r) && !r.empty() && (r.front() != 1 || r.back() != 1))
      diags.error_at(file, step["ranks"], path + ".ranks", "the first and last TT ranks are 1");
  }

  explicit TensorTrainTransform(const Params& p) : p_(p) {}

  OpChange apply(ir::v1::Workload& w, int op_index, const TransformContext&) override {
    OpChange c;
    const ir::v1::Op& op = w.ops(op_index);
    const std::string name = op.name();
    const Decomposer decompose = [&](const std::string& what, const Eigen::MatrixXd& m) {
      return decompose_tt("op '" + name + "', weight '" + what + "'", m);
    };
    if (op.kind_case() == ir::v1::Op::kGemm)
      rewrite_gemm(w, op_index, decompose, c);
    else
      rewrite_lstm(w, op_index, p_.lstm_weights, decompose, c);
    return c;
  }

 private:
  Decomposed decompose_tt(const std::string& where, const Eigen::MatrixXd& m) const {
    std::vector<int64_t> rows, cols;
    choose_factors(where, p_.row_factors, p_.col_factors, static_cast<int>(p_.cores), m.rows(),
                   m.cols(), rows, cols);
    const size_t d = rows.size();
    std::vector<int64_t> ranks;
    parse_factor_list(p_.ranks, ranks);
    if (ranks.empty()) {
      ranks.assign(d + 1, p_.rank > 0 ? p_.rank : std::numeric_limits<int64_t>::max());
      ranks.front() = ranks.back() = 1;
    } else if (ranks.size() != d + 1) {
      throw sim::ConfigError(where + ": ranks " + dims_text(ranks) + " has " +
                             std::to_string(ranks.size()) + " entries; " + std::to_string(d) +
                             " cores need " + std::to_string(d + 1));
    }
    const TensorTrain tt = tt_svd(m, rows, cols, ranks);

    Decomposed out;
    FactorizedMatrix& f = out.factors;
    f.transform = "tt";
    // Letters: m_k = k, n_k = d + k, r_k = 2d + k.
    const auto letter = [&](size_t i) { return index_letter(static_cast<int>(i)); };
    for (size_t k = 0; k < d; ++k) {
      f.row_letters += letter(k);
      f.col_letters += letter(d + k);
      f.sizes[letter(k)] = rows[k];
      f.sizes[letter(d + k)] = cols[k];
    }
    for (size_t k = 0; k <= d; ++k) f.sizes[letter(2 * d + k)] = tt.ranks[k];
    f.next_letter = static_cast<int>(3 * d + 1);
    auto* s = f.structure.mutable_tensor_train();
    for (size_t k = 0; k < d; ++k) {
      s->add_row_factors(static_cast<uint32_t>(rows[k]));
      s->add_col_factors(static_cast<uint32_t>(cols[k]));
      FactorTensor g;
      g.role = "G" + std::to_string(k + 1);
      g.indices = {letter(2 * d + k), letter(k), letter(d + k), letter(2 * d + k + 1)};
      g.shape = tt.cores[k].shape;
      g.data = tt.cores[k].data;
      f.factors.push_back(std::move(g));
    }
    for (int64_t r : tt.ranks) s->add_ranks(static_cast<uint32_t>(r));
    f.params = tt.params();
    out.reconstruction = tt_to_matrix(tt);
    return out;
  }

  Params p_;
};

CODESIM_REGISTER_TRANSFORM("tt", TensorTrainTransform);

}  // namespace codesim::compress
