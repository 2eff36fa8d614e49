#include "arch/models/systolic/engine.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace codesim::arch::systolic {

SystolicMode array_mode(Dataflow df) {
  return df == Dataflow::kOs ? SystolicMode::kOutputStationary : SystolicMode::kStationaryOperand;
}

namespace {

FoldLoopConfig loop_config(const OpMapping& mp, const EngineConfig& cfg) {
  FoldLoopConfig c;
  c.fold_cycles = static_cast<uint64_t>(
      systolic_fold_cycles(array_mode(mp.dataflow()), cfg.rows, cfg.cols, mp.stream()));
  c.interval = fold_overlap_interval(cfg.rows, mp.stream());
  c.overlap = cfg.overlap;
  return c;
}

void add(SystolicEvents& a, const SystolicEvents& b) {
  a.macs += b.macs;
  a.left_reads += b.left_reads;
  a.top_reads += b.top_reads;
  a.out_writes += b.out_writes;
  a.out_reads += b.out_reads;
  a.operand_reg_writes += b.operand_reg_writes;
  a.psum_reg_writes += b.psum_reg_writes;
}

// Real (non-padding) ifmap elements per tile, cached: a tile recurs across the inner loop.
class RealCount {
 public:
  explicit RealCount(const OpMapping& mp) : mp_(mp) {}
  int64_t operator()(int64_t m0, int64_t m1, int64_t k0, int64_t k1) {
    if (!mp_.has_padding()) return (m1 - m0) * (k1 - k0);
    const int64_t key = m0 * (mp_.k() + 1) + k0;
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, mp_.a_real(m0, m1, k0, k1)).first;
    return it->second;
  }

 private:
  const OpMapping& mp_;
  std::unordered_map<int64_t, int64_t> cache_;
};

// What the array does during one fold, in closed form (fast fidelity). It must equal what the
// cycle fidelity counts; the tests check that it does.
SystolicEvents fold_events(const OpMapping& mp, const Fold& f, int rows, int cols,
                           RealCount& real) {
  SystolicEvents e;
  const uint64_t t = static_cast<uint64_t>(mp.stream());
  const uint64_t ru = static_cast<uint64_t>(f.rows_used), cu = static_cast<uint64_t>(f.cols_used);
  const uint64_t r = static_cast<uint64_t>(rows), c = static_cast<uint64_t>(cols);
  e.macs = ru * cu * t;
  switch (mp.dataflow()) {
    case Dataflow::kOs:
      e.left_reads = static_cast<uint64_t>(real(f.m0, f.m1, 0, mp.k()));
      e.top_reads = cu * t;
      e.operand_reg_writes = ru * t * c + cu * t * r;
      e.out_writes = ru * cu;
      return e;
    case Dataflow::kWs:
      e.left_reads = static_cast<uint64_t>(real(0, mp.m(), f.k0, f.k1));
      e.top_reads = ru * cu;
      break;
    case Dataflow::kIs:
      e.left_reads = ru * t;
      e.top_reads = static_cast<uint64_t>(real(f.m0, f.m1, f.k0, f.k1));
      break;
  }
  e.operand_reg_writes = ru * t * c + ru * cu;
  e.out_writes = t * cu;
  e.out_reads = f.first_k ? 0 : t * cu;
  e.psum_reg_writes = t * cu * r;
  return e;
}

// Fills `lanes` lanes of a lane-major stream or tile whose lanes are `stride` long and hold
// `len` elements; `addr(i, e)` gives the tensor address of lane i, element e (-1: padding).
// kAcrossLanes walks lanes in the inner loop, for operands stored contiguously across lanes
// (a GEMM operand read along its other dimension), so the tensor is read in order.
template <bool kAcrossLanes, class V, class Addr>
void fill(std::vector<uint8_t>& kind, std::vector<V>& val, const V* src, int64_t lanes,
          int64_t stride, int64_t len, bool may_pad, Addr&& addr) {
  V* vals = val.empty() ? nullptr : val.data();
  if (!may_pad) {
    // Every element is real: no per-element test, and no values at all in timing-only runs.
    for (int64_t i = 0; i < lanes; ++i)
      std::memset(kind.data() + i * stride, kSlotReal, static_cast<size_t>(len));
    if (!vals) return;
    if (kAcrossLanes) {
      for (int64_t e = 0; e < len; ++e)
        for (int64_t i = 0; i < lanes; ++i) vals[i * stride + e] = src[addr(i, e)];
    } else {
      for (int64_t i = 0; i < lanes; ++i) {
        V* v = vals + i * stride;
        for (int64_t e = 0; e < len; ++e) v[e] = src[addr(i, e)];
      }
    }
    return;
  }
  const auto put = [&](int64_t i, int64_t e) {
    const int64_t a = addr(i, e);
    kind[i * stride + e] = a < 0 ? kSlotPad : kSlotReal;
    if (vals) vals[i * stride + e] = a < 0 ? V(0) : src[a];
  };
  if (kAcrossLanes) {
    for (int64_t e = 0; e < len; ++e)
      for (int64_t i = 0; i < lanes; ++i) put(i, e);
  } else {
    for (int64_t i = 0; i < lanes; ++i)
      for (int64_t e = 0; e < len; ++e) put(i, e);
  }
}

// The edge lanes and stationary tile of one fold, as the array's SRAM ports deliver them.
template <class V, class A>
SystolicFold<V, A> stage(const OpMapping& mp, const Fold& f, const EngineConfig& cfg,
                         const V* a_vals, const V* b_vals, A* out, uint64_t start) {
  const int64_t rows = cfg.rows, cols = cfg.cols, t = mp.stream(), n = mp.n();
  const int64_t s = f.sub;
  const bool pads = mp.has_padding();
  SystolicFold<V, A> sf;
  sf.start = start;
  sf.stream_len = t;
  sf.rows_used = f.rows_used;
  sf.cols_used = f.cols_used;
  sf.accumulate = !f.first_k;
  const bool os = mp.dataflow() == Dataflow::kOs;
  const size_t top = static_cast<size_t>(os ? cols * t : rows * cols);
  sf.left_kind.assign(static_cast<size_t>(rows * t), kSlotEmpty);
  sf.top_kind.assign(top, kSlotEmpty);
  if (cfg.functional) {
    sf.left_val.assign(sf.left_kind.size(), V(0));
    sf.top_val.assign(top, V(0));
  }
  A* sub_out = out ? out + s * mp.m() * n : nullptr;
  switch (mp.dataflow()) {
    case Dataflow::kOs:
      fill<false>(sf.left_kind, sf.left_val, a_vals, f.rows_used, t, t, pads,
                  [&](int64_t r, int64_t e) { return mp.a_addr(s, f.m0 + r, e); });
      fill<true>(sf.top_kind, sf.top_val, b_vals, f.cols_used, t, t, false,
                 [&](int64_t c, int64_t e) { return mp.b_addr(s, e, f.n0 + c); });
      sf.out = sub_out ? sub_out + f.m0 * n + f.n0 : nullptr;
      sf.out_stride_a = n;
      sf.out_stride_c = 1;
      break;
    case Dataflow::kWs:
      fill<true>(sf.left_kind, sf.left_val, a_vals, f.rows_used, t, t, pads,
                 [&](int64_t r, int64_t e) { return mp.a_addr(s, e, f.k0 + r); });
      fill<false>(sf.top_kind, sf.top_val, b_vals, f.rows_used, cols, f.cols_used, false,
                  [&](int64_t r, int64_t c) { return mp.b_addr(s, f.k0 + r, f.n0 + c); });
      sf.out = sub_out ? sub_out + f.n0 : nullptr;
      sf.out_stride_a = n;
      sf.out_stride_c = 1;
      break;
    case Dataflow::kIs:
      fill<false>(sf.left_kind, sf.left_val, b_vals, f.rows_used, t, t, false,
                  [&](int64_t r, int64_t e) { return mp.b_addr(s, f.k0 + r, e); });
      fill<true>(sf.top_kind, sf.top_val, a_vals, f.rows_used, cols, f.cols_used, pads,
                 [&](int64_t r, int64_t c) { return mp.a_addr(s, f.m0 + c, f.k0 + r); });
      sf.out = sub_out ? sub_out + f.m0 * n : nullptr;
      sf.out_stride_a = 1;
      sf.out_stride_c = n;
      break;
  }
  return sf;
}

// Functional fast fidelity: the fold's outputs with the array's summation order, so both
// fidelities produce the same values.
template <class V, class A>
void compute_fold(const SystolicFold<V, A>& sf, bool os, int cols) {
  const int64_t t = sf.stream_len;
  if (os) {
    for (int r = 0; r < sf.rows_used; ++r)
      for (int c = 0; c < sf.cols_used; ++c) {
        const V* x = sf.left_val.data() + r * t;
        const V* y = sf.top_val.data() + c * t;
        A acc = A(0);
        for (int64_t e = 0; e < t; ++e) acc += systolic_product<A>(x[e], y[e]);
        sf.out[r * sf.out_stride_a + c * sf.out_stride_c] = acc;
      }
    return;
  }
  for (int64_t e = 0; e < t; ++e)
    for (int c = 0; c < sf.cols_used; ++c) {
      A ps = systolic_product<A>(sf.left_val[e], sf.top_val[c]);
      for (int r = 1; r < sf.rows_used; ++r)
        ps += systolic_product<A>(sf.left_val[r * t + e], sf.top_val[r * cols + c]);
      A& o = sf.out[e * sf.out_stride_a + c * sf.out_stride_c];
      if (sf.accumulate)
        o += ps;
      else
        o = ps;
    }
}

template <class V, class A>
EngineResult run_fast(const OpMapping& mp, const std::vector<Fold>& folds, FoldScheduler& sched,
                      const EngineConfig& cfg, const V* a_vals, const V* b_vals, A* out,
                      uint64_t start, const std::function<void(uint64_t)>& sync) {
  const SystolicMode mode = array_mode(mp.dataflow());
  EngineResult res;
  RealCount real(mp);
  static_cast<FoldTiming&>(res) = run_folds_fast(
      folds.size(), sched, loop_config(mp, cfg), start, sync, [&](size_t f, uint64_t t) {
        add(res.events, fold_events(mp, folds[f], cfg.rows, cfg.cols, real));
        if (cfg.functional)
          compute_fold(stage<V, A>(mp, folds[f], cfg, a_vals, b_vals, out, t),
                       mode == SystolicMode::kOutputStationary, cfg.cols);
      });
  return res;
}

template <class V, class A>
EngineResult run_cycle(const OpMapping& mp, const std::vector<Fold>& folds, FoldScheduler& sched,
                       const EngineConfig& cfg, const V* a_vals, const V* b_vals, A* out,
                       uint64_t start, const std::function<void(uint64_t)>& sync) {
  SystolicArray<V, A> array(cfg.rows, cfg.cols, array_mode(mp.dataflow()), cfg.functional);
  EngineResult res;
  static_cast<FoldTiming&>(res) = run_folds_cycle(
      folds.size(), sched, array, loop_config(mp, cfg), start, sync, [&](size_t f, uint64_t t) {
        array.issue(stage<V, A>(mp, folds[f], cfg, a_vals, b_vals, out, t));
      });
  res.events = array.events();
  return res;
}

}  // namespace

template <class V, class A>
EngineResult run_folds(const OpMapping& mp, const std::vector<Fold>& folds, FoldScheduler& sched,
                       const EngineConfig& cfg, const V* a_vals, const V* b_vals, A* out,
                       uint64_t start, const std::function<void(uint64_t)>& sync) {
  if (cfg.cycle) return run_cycle<V, A>(mp, folds, sched, cfg, a_vals, b_vals, out, start, sync);
  return run_fast<V, A>(mp, folds, sched, cfg, a_vals, b_vals, out, start, sync);
}

#define CODESIM_SYSTOLIC_ENGINE(V, A)                                                            \
  template EngineResult run_folds<V, A>(const OpMapping&, const std::vector<Fold>&,              \
                                        FoldScheduler&, const EngineConfig&, const V*, const V*, \
                                        A*, uint64_t, const std::function<void(uint64_t)>&);
CODESIM_SYSTOLIC_ENGINE(int16_t, uint32_t)
CODESIM_SYSTOLIC_ENGINE(int16_t, int64_t)
CODESIM_SYSTOLIC_ENGINE(float, float)
#undef CODESIM_SYSTOLIC_ENGINE

}  // namespace codesim::arch::systolic
