#include "arch/common/systolic_array.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "arch/common/vector_clones.h"

namespace codesim::arch {

namespace {

// A delay line is longer than the array by this many positions, so it is re-based (a copy of
// one row's window) once per this many cycles rather than shifted every cycle.
constexpr int64_t kLineSlack = 1024;

int64_t ring_size(int rows) {
  int64_t n = 1;
  while (n < rows) n <<= 1;
  return n;
}

inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Marks, per column, the PEs of a row slice where both operands are valid. Column tallies are
// summed once per cycle rather than reducing every row slice (a row holds at most a few dozen
// PEs, so a reduction per row would cost more than the marking).
CODESIM_ALWAYS_INLINE void tally_both(uint16_t* __restrict tally, const uint8_t* __restrict a,
                                      const uint8_t* __restrict b, int64_t lo, int64_t hi) {
  for (int64_t c = lo; c <= hi; ++c) tally[c] += a[c] & b[c];
}

// Sums and clears the column tallies.
CODESIM_ALWAYS_INLINE uint64_t drain_tally(uint16_t* __restrict tally, int64_t n) {
  uint32_t sum = 0;
  for (int64_t c = 0; c < n; ++c) sum += tally[c];
  std::memset(tally, 0, static_cast<size_t>(n) * sizeof(uint16_t));
  return sum;
}

// One pass over a row slice: tally the valid pairs and accumulate the products.
template <class V, class A>
CODESIM_ALWAYS_INLINE void tally_mac_row(uint16_t* __restrict tally, const uint8_t* __restrict a,
                                         const uint8_t* __restrict b, A* __restrict acc,
                                         const V* __restrict x, const V* __restrict y, int64_t lo,
                                         int64_t hi) {
  for (int64_t c = lo; c <= hi; ++c) {
    tally[c] += a[c] & b[c];
    acc[c] += systolic_product<A>(x[c], y[c]);
  }
}

template <class V, class A>
CODESIM_ALWAYS_INLINE void mac_row(A* __restrict acc, const V* __restrict x, const V* __restrict y,
                                   int64_t lo, int64_t hi) {
  for (int64_t c = lo; c <= hi; ++c) acc[c] += systolic_product<A>(x[c], y[c]);
}

template <class V, class A>
CODESIM_ALWAYS_INLINE void mul_row(A* __restrict out, const V* __restrict x, const V* __restrict y,
                                   int64_t lo, int64_t hi) {
  for (int64_t c = lo; c <= hi; ++c) out[c] = systolic_product<A>(x[c], y[c]);
}

}  // namespace

int64_t systolic_fold_cycles(SystolicMode mode, int rows, int cols, int64_t stream_len) {
  const int64_t stream = rows + cols + stream_len - 2;
  return mode == SystolicMode::kOutputStationary ? stream : stream + rows;
}

template <class V, class A>
SystolicArray<V, A>::SystolicArray(int rows, int cols, SystolicMode mode, bool functional)
    : rows_(rows),
      cols_(cols),
      mode_(mode),
      functional_(functional),
      line_len_(cols + kLineSlack),
      pos_(kLineSlack),
      ring_mask_(ring_size(rows) - 1) {
  if (rows < 1 || cols < 1 || rows > 4096)
    throw std::invalid_argument("SystolicArray: rows must be in [1, 4096] and cols >= 1");
  tally_.assign(cols, 0);
  const size_t cells = static_cast<size_t>(rows) * cols;
  const size_t ring = static_cast<size_t>(ring_mask_ + 1) * cols;
  left_ok_.assign(static_cast<size_t>(rows) * line_len_, 0);
  if (functional_) left_val_.assign(left_ok_.size(), V(0));
  if (mode_ == SystolicMode::kOutputStationary) {
    top_ok_.assign(ring, 0);
    if (functional_) {
      top_val_.assign(ring, V(0));
      acc_.assign(cells, A(0));
    }
  } else {
    for (int b = 0; b < 2; ++b) {
      bank_ok_[b].assign(cells, 0);
      if (functional_) bank_val_[b].assign(cells, V(0));
    }
    if (functional_) psum_.assign(ring, A(0));
  }
}

template <class V, class A>
void SystolicArray<V, A>::issue(SystolicFold<V, A> fold) {
  const bool os = mode_ == SystolicMode::kOutputStationary;
  const size_t lanes = static_cast<size_t>(rows_) * fold.stream_len;
  const size_t top =
      os ? static_cast<size_t>(cols_) * fold.stream_len : static_cast<size_t>(rows_) * cols_;
  if (fold.start < now_ || fold.stream_len < 1 || fold.rows_used < 1 || fold.rows_used > rows_ ||
      fold.cols_used < 1 || fold.cols_used > cols_ || fold.left_kind.size() != lanes ||
      fold.top_kind.size() != top ||
      (functional_ && (fold.left_val.size() != lanes || fold.top_val.size() != top)))
    throw std::logic_error("SystolicArray::issue: malformed fold");
  InFlight in;
  in.stream_start = static_cast<int64_t>(fold.start) + (os ? 0 : rows_);
  in.retire_at = static_cast<int64_t>(fold.start) +
                 systolic_fold_cycles(mode_, rows_, cols_, fold.stream_len) - 1;
  if (!folds_.empty() && in.retire_at < folds_.back().retire_at)
    throw std::logic_error("SystolicArray::issue: folds must retire in issue order");
  in.bank = next_bank_;
  next_bank_ ^= 1;
  in.f = std::move(fold);
  folds_.push_back(std::move(in));
}

template <class V, class A>
int SystolicArray<V, A>::tick() {
  const int64_t t = static_cast<int64_t>(now_);
  inject_left(t);
  if (mode_ == SystolicMode::kOutputStationary) {
    inject_top(t);
    evaluate_os(t);
    emit_os(t);
  } else {
    load_stationary(t);
    evaluate_stationary(t);
    emit_stationary(t);
  }
  int retired = 0;
  while (!folds_.empty() && folds_.front().retire_at == t) {
    check_retired(folds_.front());
    folds_.pop_front();
    ++retired;
  }
  shift_lines();
  ++now_;
  return retired;
}

template <class V, class A>
void SystolicArray<V, A>::check_retired(const InFlight& in) const {
  // Every output of the tile must have left before the fold's slot ends, and a tile that fills
  // the array must need the whole slot: the fold length is what the data takes, no more.
  const bool os = mode_ == SystolicMode::kOutputStationary;
  const int64_t expected =
      static_cast<int64_t>(in.f.cols_used) * (os ? in.f.rows_used : in.f.stream_len);
  const bool full = in.f.rows_used == rows_ && in.f.cols_used == cols_;
  if (in.outputs != expected || (full && in.last_output != in.retire_at))
    throw std::logic_error("SystolicArray: a fold's outputs do not fit its timing");
}

template <class V, class A>
void SystolicArray<V, A>::skip_to(uint64_t t) {
  if (!folds_.empty() || t < now_)
    throw std::logic_error("SystolicArray::skip_to: the array must be empty and time forward");
  now_ = t;
  clear_line_window();
}

template <class V, class A>
void SystolicArray<V, A>::clear_line_window() {
  // Entries a PE could read next were written long ago: make them empty.
  pos_ = line_len_ - cols_;
  for (int r = 0; r < rows_; ++r) {
    std::memset(left_ok_.data() + r * line_len_ + pos_, 0, cols_);
    if (functional_) std::fill_n(left_val_.data() + r * line_len_ + pos_, cols_, V(0));
  }
  std::fill(top_ok_.begin(), top_ok_.end(), 0);
  std::fill(top_val_.begin(), top_val_.end(), V(0));
}

template <class V, class A>
void SystolicArray<V, A>::shift_lines() {
  if (pos_ > 0) {
    --pos_;
    return;
  }
  const int64_t dst = line_len_ - cols_ + 1;
  for (int r = 0; r < rows_; ++r) {
    uint8_t* ok = left_ok_.data() + r * line_len_;
    std::memmove(ok + dst, ok, cols_ - 1);
    if (functional_) {
      V* val = left_val_.data() + r * line_len_;
      std::memmove(val + dst, val, (cols_ - 1) * sizeof(V));
    }
  }
  pos_ = line_len_ - cols_;
}

template <class V, class A>
void SystolicArray<V, A>::inject_left(int64_t t) {
  const int64_t len = line_len_;
  uint8_t* ok = left_ok_.data() + pos_;
  V* val = functional_ ? left_val_.data() + pos_ : nullptr;
  for (int r = 0; r < rows_; ++r) ok[r * len] = 0;
  if (val)
    for (int r = 0; r < rows_; ++r) val[r * len] = V(0);
  uint64_t valid = 0;
  for (const InFlight& in : folds_) {
    const int64_t n = in.f.stream_len;
    const int64_t d = t - in.stream_start;  // lane r carries element d - r
    if (d < 0 || d >= n + rows_ - 1) continue;
    const int64_t lo = max64(0, d - n + 1), hi = min64(in.f.rows_used - 1, d);
    for (int64_t r = lo; r <= hi; ++r) {
      const int64_t i = r * n + d - r;
      const uint8_t k = in.f.left_kind[i];
      if (k == kSlotEmpty) continue;
      ok[r * len] = 1;
      if (val) val[r * len] = in.f.left_val[i];
      ++valid;
      events_.left_reads += k == kSlotReal;
    }
  }
  // A valid operand is latched by every PE of its row on its way across.
  events_.operand_reg_writes += valid * static_cast<uint64_t>(cols_);
}

template <class V, class A>
void SystolicArray<V, A>::inject_top(int64_t t) {
  const int64_t slot = t & ring_mask_;
  uint8_t* ok = top_ok_.data() + slot * cols_;
  V* val = functional_ ? top_val_.data() + slot * cols_ : nullptr;
  std::memset(ok, 0, cols_);
  if (val) std::fill_n(val, cols_, V(0));
  uint64_t valid = 0;
  for (const InFlight& in : folds_) {
    const int64_t n = in.f.stream_len;
    const int64_t d = t - in.stream_start;
    if (d < 0 || d >= n + cols_ - 1) continue;
    const int64_t lo = max64(0, d - n + 1), hi = min64(in.f.cols_used - 1, d);
    for (int64_t c = lo; c <= hi; ++c) {
      const int64_t i = c * n + d - c;
      const uint8_t k = in.f.top_kind[i];
      if (k == kSlotEmpty) continue;
      ok[c] = 1;
      if (val) val[c] = in.f.top_val[i];
      ++valid;
      events_.top_reads += k == kSlotReal;
    }
  }
  events_.operand_reg_writes += valid * static_cast<uint64_t>(rows_);
}

template <class V, class A>
void SystolicArray<V, A>::load_stationary(int64_t t) {
  uint64_t valid = 0;
  for (const InFlight& in : folds_) {
    // PE (r, c) is loaded at start + r + c.
    const int64_t d = t - static_cast<int64_t>(in.f.start);
    if (d < 0 || d > rows_ + cols_ - 2) continue;
    const int64_t lo = max64(0, d - rows_ + 1), hi = min64(cols_ - 1, d);
    uint8_t* ok = bank_ok_[in.bank].data();
    V* val = functional_ ? bank_val_[in.bank].data() : nullptr;
    for (int64_t c = lo; c <= hi; ++c) {
      const int64_t i = (d - c) * cols_ + c;
      const uint8_t k = in.f.top_kind[i];
      ok[i] = k != kSlotEmpty;
      if (val) val[i] = in.f.top_val[i];
      valid += k != kSlotEmpty;
      events_.top_reads += k == kSlotReal;
    }
  }
  events_.operand_reg_writes += valid;
}

template <class V, class A>
CODESIM_VECTOR_CLONES void SystolicArray<V, A>::evaluate_os(int64_t t) {
  const int64_t len = line_len_;
  for (int r = 0; r < rows_; ++r) {
    const int64_t slot = (t - r) & ring_mask_;
    const uint8_t* hok = left_ok_.data() + r * len + pos_;
    const uint8_t* vok = top_ok_.data() + slot * cols_;
    for (const InFlight& in : folds_) {
      // PE (r, c) holds element t - r - c - stream_start of this fold.
      const int64_t e0 = t - r - in.stream_start;
      const int64_t lo = max64(0, e0 - in.f.stream_len + 1), hi = min64(cols_ - 1, e0);
      if (lo > hi) continue;
      if (functional_)
        tally_mac_row<V, A>(tally_.data(), hok, vok, acc_.data() + r * cols_,
                            left_val_.data() + r * len + pos_, top_val_.data() + slot * cols_, lo,
                            hi);
      else
        tally_both(tally_.data(), hok, vok, lo, hi);
    }
  }
  events_.macs += drain_tally(tally_.data(), cols_);
}

template <class V, class A>
CODESIM_VECTOR_CLONES void SystolicArray<V, A>::evaluate_stationary(int64_t t) {
  const int64_t len = line_len_;
  for (int r = 0; r < rows_; ++r) {
    const int64_t slot = (t - r) & ring_mask_;
    const uint8_t* hok = left_ok_.data() + r * len + pos_;
    for (const InFlight& in : folds_) {
      const int64_t e0 = t - r - in.stream_start;
      const int64_t lo = max64(0, e0 - in.f.stream_len + 1), hi = min64(cols_ - 1, e0);
      if (lo > hi) continue;
      tally_both(tally_.data(), hok, bank_ok_[in.bank].data() + r * cols_, lo, hi);
      if (!functional_) continue;
      A* ps = psum_.data() + slot * cols_;
      const V* x = left_val_.data() + r * len + pos_;
      const V* w = bank_val_[in.bank].data() + r * cols_;
      // Row 0 starts a new partial sum in the slot; the rows below add to it.
      if (r == 0)
        mul_row<V, A>(ps, x, w, lo, hi);
      else
        mac_row<V, A>(ps, x, w, lo, hi);
    }
  }
  events_.macs += drain_tally(tally_.data(), cols_);
}

template <class V, class A>
void SystolicArray<V, A>::emit_os(int64_t t) {
  for (InFlight& in : folds_) {
    // PE (r, c) makes its last product at stream_start + stream_len - 1 + r + c.
    const int64_t d = t - in.stream_start - (in.f.stream_len - 1);
    const int ru = in.f.rows_used, cu = in.f.cols_used;
    if (d < 0 || d > ru + cu - 2) continue;
    const int64_t lo = max64(0, d - (cu - 1)), hi = min64(ru - 1, d);
    events_.out_writes += static_cast<uint64_t>(hi - lo + 1);
    in.outputs += hi - lo + 1;
    in.last_output = t;
    if (!functional_) continue;
    for (int64_t r = lo; r <= hi; ++r) {
      const int64_t c = d - r;
      A& a = acc_[r * cols_ + c];
      if (in.f.out) in.f.out[r * in.f.out_stride_a + c * in.f.out_stride_c] = a;
      a = A(0);
    }
  }
}

template <class V, class A>
void SystolicArray<V, A>::emit_stationary(int64_t t) {
  const int64_t s = t - (rows_ - 1);  // the slot leaving the bottom row
  if (s < 0) return;
  const A* ps = functional_ ? psum_.data() + (s & ring_mask_) * cols_ : nullptr;
  for (InFlight& in : folds_) {
    const int64_t e0 = s - in.stream_start;
    const int64_t lo = max64(0, e0 - in.f.stream_len + 1), hi = min64(in.f.cols_used - 1, e0);
    if (lo > hi) continue;
    const uint64_t n = static_cast<uint64_t>(hi - lo + 1);
    events_.out_writes += n;
    in.outputs += hi - lo + 1;
    in.last_output = t;
    if (in.f.accumulate) events_.out_reads += n;
    events_.psum_reg_writes += n * static_cast<uint64_t>(rows_);
    if (!ps || !in.f.out) continue;
    for (int64_t c = lo; c <= hi; ++c) {
      A* o = in.f.out + (e0 - c) * in.f.out_stride_a + c * in.f.out_stride_c;
      if (in.f.accumulate)
        *o += ps[c];
      else
        *o = ps[c];
    }
  }
}

template class SystolicArray<int16_t, uint32_t>;
template class SystolicArray<int16_t, int64_t>;
template class SystolicArray<float, float>;

}  // namespace codesim::arch
