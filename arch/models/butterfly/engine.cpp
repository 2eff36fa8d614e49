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
