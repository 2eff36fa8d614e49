#pragma once
// One butterfly engine (BE) of the FABNet butterfly processor: 2U data banks (U = adaptable
// butterfly units), the conflict-free column skew of the S2P module, the per-cycle pairing done by
// the index-coalescing crossbar, and the adaptable unit's arithmetic in FP16.
//
// Layout: element i of a length-n vector sits in row r = i mod NB and column c = i / NB of an
// NB x (n/NB) array (NB = 2U banks). With the skew, row r of column c lives in bank
// (r + popcount(c)) mod NB; without it (plain layout) in bank r. Every bank has one read and one
// write port; stage results are written in place.
//
// Per-cycle pairing of stage s (stride d = 2^s): for d < NB the U pairs of one column (they
// partition its NB elements); for d >= NB the even rows, then the odd rows, of a column c and its
// partner c + d/NB (c and the partner differ in one bit, so their skews differ by one and the
// even rows of one land between the even rows of the other). Either way a stage takes
// ceil(n / 2U) issue cycles, and with the skew no cycle touches a bank twice.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace codesim::arch::butterfly {

struct BankLayout {
  int banks = 8;  // NB = 2U
  bool skew = true;
  int bank_of(int64_t i) const;
};

// Issue cycles of one stage on U units (closed form).
int64_t stage_issue_cycles(int64_t n, int units);

// Calls f(lo, count) for every issue cycle of stage s, where lo[0..count) are the lower indices
// of the pairs (i, i + 2^s) issued in that cycle.
template <class F>
void for_each_issue(int64_t n, int s, int units, F&& f) {
  const int64_t nb = 2 * static_cast<int64_t>(units);
  const int64_t d = int64_t{1} << s;
  std::vector<int64_t> lo;
  lo.reserve(static_cast<size_t>(units));
  if (d < nb || n <= nb) {
    // Walk the lower elements in order, U per cycle: they fill columns (or the short vector).
    for (int64_t i = 0; i < n; ++i) {
      if ((i & d) != 0) continue;
      lo.push_back(i);
      if (static_cast<int64_t>(lo.size()) == units) {
        f(lo.data(), units);
        lo.clear();
      }
    }
  } else {
    const int64_t cols = n / nb, step = d / nb;
    for (int64_t c = 0; c < cols; ++c) {
      if ((c & step) != 0) continue;
      for (int parity = 0; parity < 2; ++parity) {
        for (int64_t r = parity; r < nb; r += 2) lo.push_back(c * nb + r);
        f(lo.data(), static_cast<int>(lo.size()));
        lo.clear();
      }
    }
  }
  if (!lo.empty()) f(lo.data(), static_cast<int>(lo.size()));
}

// Result of stepping one stage cycle by cycle through the banks.
struct StageTrace {
  int64_t issue_cycles = 0;     // cycles with at least one pair issued
  int64_t conflict_cycles = 0;  // extra cycles: accesses to one bank in one cycle beyond the first
  int64_t reads = 0;            // element reads (= writes)
};
StageTrace trace_stage(const BankLayout& layout, int64_t n, int s, int units);

// One vector through all its stages, cycle by cycle, with a scoreboard: an issue waits until both
// operands were written by the previous stage (a pair issued at cycle t can be read again from
// cycle t + latency), and a cycle whose reads hit one bank k times takes k cycles. The stages run
// back to back: the index generator starts stage s + 1 right after stage s's last issue (RTL
// butterfly_indx_generator), so the only bubbles are real data hazards.
struct VectorTrace {
  int64_t cycles = 0;             // last issue cycle + latency (all results in the banks)
  int64_t issue_cycles = 0;       // stages x ceil(n / 2U)
  int64_t conflict_cycles = 0;    // extra cycles from bank conflicts
  int64_t dependency_stalls = 0;  // cycles an issue waited for an operand
  int64_t reads = 0;              // element reads from the banks (= writes)
};
VectorTrace trace_vector(const BankLayout& layout, int64_t n, int stages, int units, int latency);

// The same in closed form where it is exact: no dependency stalls when a stage is at least twice
// the unit latency (ceil(n / 2U) >= 2 latency; the tests check this against trace_vector for all
// lengths, unit counts and latencies), and the plain layout's conflicts cost one cycle per issue
// cycle of every stage with stride >= 2U. Returns false where it does not hold (short vectors).
bool vector_closed_form(const BankLayout& layout, int64_t n, int stages, int units, int latency,
                        VectorTrace* out);

// Binary16 helpers for the unit's datapath: every multiplier and adder output is rounded.
struct Cplx {
  float re = 0, im = 0;
};
// Butterfly-linear mode: (lo, hi) <- (t00 lo + t01 hi, t10 lo + t11 hi).
void bfly_pair(float& lo, float& hi, const float* t);
// FFT mode: (lo, hi) <- (lo + w hi, lo - w hi).
void fft_pair(Cplx& lo, Cplx& hi, Cplx w);

}  // namespace codesim::arch::butterfly
