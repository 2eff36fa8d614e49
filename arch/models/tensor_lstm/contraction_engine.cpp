#include "arch/models/tensor_lstm/contraction_engine.h"

#include <algorithm>
#include <stdexcept>

namespace codesim::arch::tensor_lstm {

StageEvents& StageEvents::operator+=(const StageEvents& o) {
  cycles += o.cycles;
  macs += o.macs;
  groups += o.groups;
  work_reads += o.work_reads;
  work_writes += o.work_writes;
  weight_reads += o.weight_reads;
  bank_conflicts += o.bank_conflicts;
  conflict_stalls += o.conflict_stalls;
  return *this;
}

int64_t letters_product(const std::string& letters, const LetterSizes& sizes) {
  int64_t p = 1;
  for (char c : letters) p *= sizes.at(c);
  return p;
}

int64_t mixed_index(const std::string& letters, const LetterSizes& sizes,
                    const std::map<char, int64_t>& v) {
  int64_t i = 0;
  for (char c : letters) {
    auto it = v.find(c);
    i = i * sizes.at(c) + (it == v.end() ? 0 : it->second);
  }
  return i;
}

Grouping make_grouping(int64_t M, int64_t N, int64_t pes) {
  Grouping g;
  if (M >= pes) {
    g.rows = pes;
    g.cols = 1;
    g.count = N * ((M + pes - 1) / pes);
  } else {
    g.rows = M;
    g.cols = std::min<int64_t>(N, pes / M);
    g.count = (N + g.cols - 1) / g.cols;
  }
  return g;
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Contribution of an index over `from` (mixed radix, first slowest) to the mixed-radix index over
// `to`: letters of `from` absent from `to` contribute nothing. Mixed-radix indices are sums of
// per-letter terms, so a row and a column of an operand can be mapped separately and added.
std::vector<int64_t> contribution(const std::string& from, const std::string& to,
                                  const LetterSizes& sizes) {
  std::map<char, int64_t> stride;
  int64_t s = 1;
  for (auto it = to.rbegin(); it != to.rend(); ++it) {
    stride[*it] = s;
    s *= sizes.at(*it);
  }
  const int64_t n = letters_product(from, sizes);
  std::vector<int64_t> out(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, v = 0;
    for (auto it = from.rbegin(); it != from.rend(); ++it) {
      const int64_t size = sizes.at(*it);
      const auto st = stride.find(*it);
      if (st != stride.end()) v += (rest % size) * st->second;
      rest /= size;
    }
    out[static_cast<size_t>(i)] = v;
  }
  return out;
}

// Addresses of one operand's elements as (bank, word) given its layout.
class Addresser {
 public:
  Addresser(const std::string& row_letters, const std::string& col_letters, const Layout& l,
            const LetterSizes& sizes, const EngineConfig& cfg)
      : fdht_(cfg.scheme == MemoryScheme::kFdht), q_(cfg.macs_per_pe), banks_(cfg.banks) {
    if (fdht_) {
      row_r_ = contribution(row_letters, l.rows, sizes);
      row_c_ = contribution(row_letters, l.cols, sizes);
      col_r_ = contribution(col_letters, l.rows, sizes);
      col_c_ = contribution(col_letters, l.cols, sizes);
      words_per_row_ = ceil_div(letters_product(l.cols, sizes), q_);
    } else {
      const std::string stored = l.rows + l.cols;
      row_r_ = contribution(row_letters, stored, sizes);
      col_r_ = contribution(col_letters, stored, sizes);
    }
  }
  // (bank, word-within-bank) of element (i, j).
  std::pair<int64_t, int64_t> at(int64_t i, int64_t j) const {
    if (fdht_) {
      const int64_t r = row_r_[static_cast<size_t>(i)] + col_r_[static_cast<size_t>(j)];
      const int64_t c = row_c_[static_cast<size_t>(i)] + col_c_[static_cast<size_t>(j)];
      return {r % banks_, (r / banks_) * words_per_row_ + c / q_};
    }
    const int64_t word = (row_r_[static_cast<size_t>(i)] + col_r_[static_cast<size_t>(j)]) / q_;
    return {word % banks_, word / banks_};
  }

 private:
  bool fdht_;
  int64_t q_, banks_, words_per_row_ = 1;
  std::vector<int64_t> row_r_, row_c_, col_r_, col_c_;
};

// Per-bank count of distinct words among `acc` (sorted in place): the cycles the accesses take
// and the accesses that had to wait for a busy bank.
void bank_load(std::vector<std::pair<int64_t, int64_t>>& acc, int64_t& distinct, int64_t& worst,
               int64_t& waiting) {
  std::sort(acc.begin(), acc.end());
  acc.erase(std::unique(acc.begin(), acc.end()), acc.end());
  distinct = static_cast<int64_t>(acc.size());
  worst = 0;
  waiting = 0;
  for (size_t i = 0; i < acc.size();) {
    size_t j = i;
    while (j < acc.size() && acc[j].first == acc[i].first) ++j;
    const int64_t n = static_cast<int64_t>(j - i);
    worst = std::max(worst, n);
    waiting += n - 1;
    i = j;
  }
}

}  // namespace

StageEvents run_stage(const StageGeometry& g, const LetterSizes& sizes, const EngineConfig& cfg) {
  StageEvents e;
  const int64_t q = cfg.macs_per_pe;
  const int64_t kw = ceil_div(g.K, q);
  const Grouping grp = make_grouping(g.M, g.N, cfg.pes);
  e.macs = static_cast<uint64_t>(g.M * g.N * g.K);
  e.groups = static_cast<uint64_t>(grp.count);
  e.work_writes = g.out_to_sram ? static_cast<uint64_t>(g.M * g.N) : 0;
  // Closed forms of a conflict-free stage: every group sweeps K; it reads one word per distinct
  // row per cycle and one weight element per distinct column and column of K.
  const int64_t full_row_groups = g.M >= cfg.pes ? g.N * (g.M / cfg.pes) : 0;
  const int64_t tail_rows = g.M >= cfg.pes ? g.M % cfg.pes : g.M;
  uint64_t row_words = 0, weight_elems = 0;
  if (g.M >= cfg.pes) {
    row_words = static_cast<uint64_t>((full_row_groups * cfg.pes + (tail_rows ? g.N * tail_rows : 0)) * kw);
    weight_elems = static_cast<uint64_t>(grp.count * g.K);
  } else {
    row_words = static_cast<uint64_t>(grp.count * g.M * kw);
    weight_elems = static_cast<uint64_t>(g.N * g.K);
  }
  if (!cfg.cycle) {
    e.cycles = static_cast<uint64_t>(grp.count * kw) + kStagePipelineDepth;
    e.work_reads = row_words;
    e.weight_reads = weight_elems;
    return e;
  }

  const Addresser a(g.m, g.k, g.a_layout, sizes, cfg);
  const Addresser o(g.m, g.n, g.out_layout, sizes, cfg);
  std::vector<std::pair<int64_t, int64_t>> acc;
  std::vector<int64_t> rows, cols;
  uint64_t cycles = 0;
  int64_t pending_worst = 0;  // the previous group's busiest write queue
  const auto drain = [&](int64_t window) {
    if (pending_worst > window) {
      const uint64_t extra = static_cast<uint64_t>(pending_worst - window);
      e.conflict_stalls += extra;
      e.bank_conflicts += extra;
      cycles += extra;
    }
    pending_worst = 0;
  };
  const auto run_group = [&]() {
    // Sweep K: every cycle each distinct row reads its q-column word.
    for (int64_t kc = 0; kc < kw; ++kc) {
      acc.clear();
      for (int64_t r : rows)
        for (int64_t j = kc * q; j < std::min(g.K, kc * q + q); ++j) acc.push_back(a.at(r, j));
      int64_t distinct, worst, waiting;
      bank_load(acc, distinct, worst, waiting);
      e.work_reads += static_cast<uint64_t>(distinct);
      e.bank_conflicts += static_cast<uint64_t>(waiting);
      e.conflict_stalls += static_cast<uint64_t>(worst - 1);
      cycles += static_cast<uint64_t>(worst);
      e.weight_reads += static_cast<uint64_t>(cols.size() * (std::min(g.K, kc * q + q) - kc * q));
    }
    // The previous group's writes drained during this sweep.
    drain(kw);
    if (!g.out_to_sram) return;
    acc.clear();
    for (int64_t n : cols)
      for (int64_t r : rows) acc.push_back(o.at(r, n));
    int64_t distinct, worst, waiting;
    bank_load(acc, distinct, worst, waiting);
    pending_worst = worst;
  };
  if (g.M >= cfg.pes) {
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t m0 = 0; m0 < g.M; m0 += cfg.pes) {
        rows.clear();
        cols.assign(1, n);
        for (int64_t m = m0; m < std::min(g.M, m0 + cfg.pes); ++m) rows.push_back(m);
        run_group();
      }
  } else {
    rows.clear();
    for (int64_t m = 0; m < g.M; ++m) rows.push_back(m);
    for (int64_t n0 = 0; n0 < g.N; n0 += grp.cols) {
      cols.clear();
      for (int64_t n = n0; n < std::min(g.N, n0 + grp.cols); ++n) cols.push_back(n);
      run_group();
    }
  }
  // The last group's writes: one cycle is in the pipeline depth.
  drain(1);
  e.cycles = cycles + kStagePipelineDepth;
  return e;
}

}  // namespace codesim::arch::tensor_lstm
