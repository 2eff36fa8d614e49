#include "arch/models/butterfly/engine.h"

#include <algorithm>

#include "arch/common/fp16.h"

namespace codesim::arch::butterfly {

int BankLayout::bank_of(int64_t i) const {
  const int64_t r = i % banks, c = i / banks;
  if (!skew) return static_cast<int>(r);
  return static_cast<int>((r + __builtin_popcountll(static_cast<uint64_t>(c))) % banks);
}

int64_t stage_issue_cycles(int64_t n, int units) { return (n / 2 + units - 1) / units; }

StageTrace trace_stage(const BankLayout& layout, int64_t n, int s, int units) {
  StageTrace t;
  const int64_t d = int64_t{1} << s;
  std::vector<int> hits(static_cast<size_t>(layout.banks), 0);
  for_each_issue(n, s, units, [&](const int64_t* lo, int count) {
    std::fill(hits.begin(), hits.end(), 0);
    for (int k = 0; k < count; ++k) {
      ++hits[static_cast<size_t>(layout.bank_of(lo[k]))];
      ++hits[static_cast<size_t>(layout.bank_of(lo[k] + d))];
    }
    const int worst = *std::max_element(hits.begin(), hits.end());
    ++t.issue_cycles;
    t.conflict_cycles += worst - 1;  // reads of one cycle to one bank are serialized
    t.reads += 2 * count;
  });
  return t;
}

VectorTrace trace_vector(const BankLayout& layout, int64_t n, int stages, int units, int latency) {
  VectorTrace v;
  std::vector<int64_t> ready(static_cast<size_t>(n), 0);
  std::vector<int> hits(static_cast<size_t>(layout.banks), 0);
  int64_t t = 0, last = -1;
  for (int s = 0; s < stages; ++s) {
    const int64_t d = int64_t{1} << s;
    for_each_issue(n, s, units, [&](const int64_t* lo, int count) {
      int64_t need = t;
      std::fill(hits.begin(), hits.end(), 0);
      for (int k = 0; k < count; ++k) {
        need = std::max(
            {need, ready[static_cast<size_t>(lo[k])], ready[static_cast<size_t>(lo[k] + d)]});
        ++hits[static_cast<size_t>(layout.bank_of(lo[k]))];
        ++hits[static_cast<size_t>(layout.bank_of(lo[k] + d))];
      }
      v.dependency_stalls += need - t;
      const int worst = *std::max_element(hits.begin(), hits.end());
      // Reads to one bank are serialized; the pair's results follow its last read.
      const int64_t issued = need + worst - 1;
      for (int k = 0; k < count; ++k)
        ready[static_cast<size_t>(lo[k])] = ready[static_cast<size_t>(lo[k] + d)] =
            issued + latency;
      ++v.issue_cycles;
      v.conflict_cycles += worst - 1;
      v.reads += 2 * count;
      last = issued;
      t = issued + 1;
    });
  }
  v.cycles = last + latency;
  return v;
}

bool vector_closed_form(const BankLayout& layout, int64_t n, int stages, int units, int latency,
                        VectorTrace* out) {
  const int64_t issue = stage_issue_cycles(n, units);
  if (issue < 2 * static_cast<int64_t>(latency)) return false;
  VectorTrace v;
  v.issue_cycles = stages * issue;
  if (!layout.skew)
    for (int s = 0; s < stages; ++s)
      if ((int64_t{1} << s) >= layout.banks) v.conflict_cycles += issue;
  v.reads = stages * n;
  v.cycles = v.issue_cycles + v.conflict_cycles - 1 + latency;
  *out = v;
  return true;
}

void bfly_pair(float& lo, float& hi, const float* t) {
  const float a = lo, b = hi;
  lo = round_to_fp16(round_to_fp16(t[0] * a) + round_to_fp16(t[1] * b));
  hi = round_to_fp16(round_to_fp16(t[2] * a) + round_to_fp16(t[3] * b));
}

void fft_pair(Cplx& lo, Cplx& hi, Cplx w) {
  // One complex multiply on the four multipliers and two real adders, then the complex add/sub.
  const float re = round_to_fp16(round_to_fp16(w.re * hi.re) - round_to_fp16(w.im * hi.im));
  const float im = round_to_fp16(round_to_fp16(w.re * hi.im) + round_to_fp16(w.im * hi.re));
  const Cplx a = lo;
  lo = {round_to_fp16(a.re + re), round_to_fp16(a.im + im)};
  hi = {round_to_fp16(a.re - re), round_to_fp16(a.im - im)};
}

}  // namespace codesim::arch::butterfly
