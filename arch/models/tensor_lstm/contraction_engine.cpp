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

bool StageEvents::operator==(const StageEvents& o) const {
  return cycles == o.cycles && macs == o.macs && groups == o.groups && work_reads == o.work_reads &&
         work_writes == o.work_writes && weight_reads == o.weight_reads &&
         bank_conflicts == o.bank_conflicts && conflict_stalls == o.conflict_stalls;
}

int64_t letters_product(const std::string& letters, const LetterSizes& sizes) {
  int64_t p = 1;
  for (char c : letters) p *= sizes.at(c);
  return p;
}

namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

Grouping make_grouping(int64_t M, int64_t N, int64_t pes, int64_t cols_per_group) {
  int64_t gamma = cols_per_group;
  if (gamma <= 0) gamma = M >= pes ? 1 : std::max<int64_t>(1, pes / M);
  gamma = std::max<int64_t>(1, std::min({gamma, N, pes}));
  Grouping g;
  g.cols = gamma;
  g.rows = std::min(M, std::max<int64_t>(1, pes / gamma));
  g.count = ceil_div(M, g.rows) * ceil_div(N, g.cols);
  return g;
}

std::map<char, int64_t> letter_strides(const std::string& letters, const LetterSizes& sizes) {
  std::map<char, int64_t> st;
  int64_t s = 1;
  for (auto it = letters.rbegin(); it != letters.rend(); ++it) {
    st[*it] = s;
    s *= sizes.at(*it);
  }
  return st;
}

std::vector<int64_t> contribution(const std::string& from, const std::string& to,
                                  const LetterSizes& sizes) {
  const std::map<char, int64_t> stride = letter_strides(to, sizes);
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

Addresser::Addresser(const std::string& row_letters, const std::string& col_letters,
                     const Layout& l, const LetterSizes& sizes, const EngineConfig& cfg)
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

Slot Addresser::at(int64_t i, int64_t j) const {
  const auto ui = static_cast<size_t>(i), uj = static_cast<size_t>(j);
  if (fdht_) {
    const int64_t r = row_r_[ui] + col_r_[uj];
    const int64_t c = row_c_[ui] + col_c_[uj];
    return {r % banks_, (r / banks_) * words_per_row_ + c / q_, c % q_};
  }
  const int64_t address = row_r_[ui] + col_r_[uj];
  const int64_t word = address / q_;
  return {word % banks_, word / banks_, address % q_};
}

void WorkBuffer::write(const Slot& s, float v) {
  auto& bank = banks_.at(static_cast<size_t>(s.bank));
  if (written_.size() != banks_.size()) written_.resize(banks_.size());
  auto& w = written_[static_cast<size_t>(s.bank)];
  const auto i = static_cast<size_t>(s.word * q_ + s.lane);
  if (bank.size() <= i) {
    bank.resize(i + 1, 0.0f);
    w.resize(i + 1, false);
  }
  bank[i] = v;
  w[i] = true;
}

float WorkBuffer::read(const Slot& s) const {
  const auto b = static_cast<size_t>(s.bank);
  const auto i = static_cast<size_t>(s.word * q_ + s.lane);
  if (b >= written_.size() || i >= written_[b].size() || !written_[b][i])
    throw std::logic_error("working SRAM: read of bank " + std::to_string(s.bank) + " word " +
                           std::to_string(s.word) + " lane " + std::to_string(s.lane) +
                           " that no stage wrote (inconsistent layouts)");
  return banks_[b][i];
}

namespace {

// Sorts and dedups `acc` (bank, word) pairs; returns the busiest bank's count and adds to
// `distinct` the words accessed and to `waiting` the accesses that found their bank busy.
int64_t bank_load(std::vector<std::pair<int64_t, int64_t>>& acc, uint64_t& distinct,
                  uint64_t& waiting) {
  std::sort(acc.begin(), acc.end());
  acc.erase(std::unique(acc.begin(), acc.end()), acc.end());
  distinct += acc.size();
  int64_t worst = 0;
  for (size_t i = 0; i < acc.size();) {
    size_t j = i;
    while (j < acc.size() && acc[j].first == acc[i].first) ++j;
    const auto n = static_cast<int64_t>(j - i);
    worst = std::max(worst, n);
    waiting += static_cast<uint64_t>(n - 1);
    i = j;
  }
  return worst;
}

// Calls f(rows begin, rows end, cols begin, cols end) for every group in execution order:
// column chunks outer, row chunks inner.
template <typename F>
void for_each_group(const StageGeometry& g, const Grouping& grp, F&& f) {
  for (int64_t n0 = 0; n0 < g.N; n0 += grp.cols)
    for (int64_t m0 = 0; m0 < g.M; m0 += grp.rows)
      f(m0, std::min(g.M, m0 + grp.rows), n0, std::min(g.N, n0 + grp.cols));
}

}  // namespace

int64_t write_conflicts(const StageGeometry& g, const LetterSizes& sizes, const EngineConfig& cfg,
                        int64_t limit, int64_t* visited) {
  // Addresses are formed digit by digit (no per-row tables): the planner calls this for many
  // candidate layouts and most fail within the first groups.
  const bool fdht = cfg.scheme == MemoryScheme::kFdht;
  const Layout& l = g.out_layout;
  const std::string row_part = fdht ? l.rows : l.rows + l.cols;
  const std::string col_part = fdht ? l.cols : std::string();
  struct Digit {
    int64_t size, row_stride, col_stride;
  };
  const auto rs = letter_strides(row_part, sizes), cs = letter_strides(col_part, sizes);
  const auto digits = [&](const std::string& letters) {
    std::vector<Digit> d;  // fastest first
    for (auto it = letters.rbegin(); it != letters.rend(); ++it) {
      const auto r = rs.find(*it), c = cs.find(*it);
      d.push_back({sizes.at(*it), r == rs.end() ? 0 : r->second, c == cs.end() ? 0 : c->second});
    }
    return d;
  };
  const std::vector<Digit> dm = digits(g.m), dn = digits(g.n);
  const auto offset = [](const std::vector<Digit>& d, int64_t i, int64_t& r, int64_t& c) {
    for (const Digit& x : d) {
      const int64_t v = i % x.size;
      i /= x.size;
      r += v * x.row_stride;
      c += v * x.col_stride;
    }
  };
  const int64_t q = cfg.macs_per_pe;
  const int64_t words_per_row = (letters_product(col_part, sizes) + q - 1) / q;
  const Grouping grp = make_grouping(g.M, g.N, cfg.pes, g.cols_per_group);
  std::vector<std::pair<int64_t, int64_t>> acc;
  uint64_t distinct = 0, waiting = 0;
  bool over = false;
  for_each_group(g, grp, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    if (over) return;
    acc.clear();
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t i = m0; i < m1; ++i) {
        int64_t r = 0, c = 0;
        offset(dm, i, r, c);
        offset(dn, n, r, c);
        if (fdht)
          acc.emplace_back(r % cfg.banks, ((r / cfg.banks) * words_per_row + c / q) * q + c % q);
        else
          acc.emplace_back((r / q) % cfg.banks, r);
      }
    if (visited) *visited += static_cast<int64_t>(acc.size());
    bank_load(acc, distinct, waiting);
    over = static_cast<int64_t>(waiting) > limit;
  });
  return static_cast<int64_t>(waiting);
}

StageEvents run_stage(const StageGeometry& g, const LetterSizes& sizes, const EngineConfig& cfg) {
  StageEvents e;
  const int64_t q = cfg.macs_per_pe;
  const int64_t kw = ceil_div(g.K, q);
  const Grouping grp = make_grouping(g.M, g.N, cfg.pes, g.cols_per_group);
  e.groups = static_cast<uint64_t>(grp.count);
  e.work_writes = g.out_to_sram ? static_cast<uint64_t>(g.M * g.N) : 0;
  // Weight-only stages read both operands from the weight SRAM (no banks); a planned FDHT stage
  // has no conflict by construction (verified by the planner). Closed forms: every group sweeps
  // K; each row chunk is read once per column chunk, each weight column once per row chunk.
  if (!g.out_to_sram || (!cfg.cycle && g.conflict_free)) {
    e.macs = static_cast<uint64_t>(g.M * g.N * g.K);
    e.cycles = static_cast<uint64_t>(grp.count * kw) + kStagePipelineDepth;
    e.work_reads = static_cast<uint64_t>(ceil_div(g.N, grp.cols) * g.M * kw);
    e.weight_reads = static_cast<uint64_t>(ceil_div(g.M, grp.rows) * g.N * g.K);
    return e;
  }

  const Addresser a(g.m, g.k, g.a_layout, sizes, cfg);
  const Addresser o(g.m, g.n, g.out_layout, sizes, cfg);
  std::vector<std::pair<int64_t, int64_t>> acc;
  uint64_t cycles = 0;
  int64_t pending_worst = 0;  // the previous group's busiest write queue
  const auto drain = [&](int64_t window) {
    if (pending_worst > window) {
      const auto extra = static_cast<uint64_t>(pending_worst - window);
      e.conflict_stalls += extra;
      cycles += extra;
    }
    pending_worst = 0;
  };
  for_each_group(g, grp, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const auto cols = static_cast<uint64_t>(n1 - n0), rows = static_cast<uint64_t>(m1 - m0);
    // Sweep K: every cycle each row of the group reads its word of q columns.
    for (int64_t kc = 0; kc < kw; ++kc) {
      const int64_t j0 = kc * q, j1 = std::min(g.K, j0 + q);
      acc.clear();
      for (int64_t r = m0; r < m1; ++r)
        for (int64_t j = j0; j < j1; ++j) {
          const Slot s = a.at(r, j);
          acc.emplace_back(s.bank, s.word);
        }
      const int64_t worst = bank_load(acc, e.work_reads, e.bank_conflicts);
      e.conflict_stalls += static_cast<uint64_t>(worst - 1);
      cycles += static_cast<uint64_t>(worst);
      const auto chunk = static_cast<uint64_t>(j1 - j0);
      e.weight_reads += cols * chunk;
      e.macs += rows * cols * chunk;
    }
    // The previous group's writes drained during this sweep.
    drain(kw);
    acc.clear();
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t r = m0; r < m1; ++r) {
        const Slot s = o.at(r, n);
        acc.emplace_back(s.bank, s.word * q + s.lane);
      }
    uint64_t written = 0;
    pending_worst = bank_load(acc, written, e.bank_conflicts);
  });
  // The last group's writes: one cycle is in the pipeline depth.
  drain(1);
  e.cycles = cycles + kStagePipelineDepth;
  return e;
}

void execute_stage(const StageGeometry& g, const LetterSizes& sizes, const EngineConfig& cfg,
                   const WorkBuffer& in, const std::vector<float>& b, const std::string& b_letters,
                   WorkBuffer& out) {
  const Addresser a(g.m, g.k, g.a_layout, sizes, cfg);
  const Addresser o(g.m, g.n, g.out_layout, sizes, cfg);
  const std::vector<int64_t> bk = contribution(g.k, b_letters, sizes);
  const std::vector<int64_t> bn = contribution(g.n, b_letters, sizes);
  std::vector<float> row(static_cast<size_t>(g.K));
  for (int64_t i = 0; i < g.M; ++i) {
    for (int64_t p = 0; p < g.K; ++p) row[static_cast<size_t>(p)] = in.read(a.at(i, p));
    for (int64_t j = 0; j < g.N; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < g.K; ++p)
        acc += row[static_cast<size_t>(p)] *
               b[static_cast<size_t>(bk[static_cast<size_t>(p)] + bn[static_cast<size_t>(j)])];
      out.write(o.at(i, j), acc);
    }
  }
}

}  // namespace codesim::arch::tensor_lstm
