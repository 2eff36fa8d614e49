#include "arch/models/systolic/engine.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace codesim::arch::systolic {

SystolicMode array_mode(Dataflow df) {
  return df == Dataflow::kOs ? SystolicMode::kOutputStationary : SystolicMode::kStationaryOperand;
}

int64_t overlap_interval(int rows, int64_t stream_len) {
  return std::max<int64_t>(stream_len, rows);
}

namespace {

// The trace shows merged compute intervals, the gaps between them (load before the first fold,
// stall after) and the tail spent on DRAM writes. Memory-bound ops alternate compute and stall
// at every fold, so past kMaxPhases neighbours are coalesced into windows named by what they
// contain.
class PhaseLog {
 public:
  explicit PhaseLog(uint64_t begin) : begin_(begin), cursor_(begin) {}

  void compute(uint64_t begin, uint64_t end) {
    if (!phases_.empty() && phases_.back().name == "compute" && begin <= cursor_) {
      phases_.back().end_cycle = std::max(phases_.back().end_cycle, end);
    } else {
      if (begin > cursor_) phases_.push_back({phases_.empty() ? "load" : "stall", cursor_, begin});
      phases_.push_back({"compute", begin, end});
    }
    cursor_ = std::max(cursor_, end);
  }

  std::vector<sim::Phase> finish(uint64_t end) {
    std::vector<sim::Phase> clipped;
    for (sim::Phase p : phases_) {
      p.end_cycle = std::min(p.end_cycle, end);
      if (p.end_cycle > p.begin_cycle) clipped.push_back(p);
    }
    if (end > cursor_) clipped.push_back({"drain", cursor_, end});
    if (clipped.size() <= kMaxPhases) return clipped;
    const uint64_t window = (end - begin_) / kMaxPhases + 1;
    std::vector<sim::Phase> out;
    for (const sim::Phase& p : clipped) {
      if (!out.empty() && out.back().end_cycle - out.back().begin_cycle < window) {
        sim::Phase& last = out.back();
        if (("+" + last.name + "+").find("+" + p.name + "+") == std::string::npos)
          last.name += "+" + p.name;
        last.end_cycle = p.end_cycle;
      } else {
        out.push_back(p);
      }
    }
    return out;
  }

 private:
  static constexpr size_t kMaxPhases = 64;
  uint64_t begin_, cursor_;
  std::vector<sim::Phase> phases_;
};

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
  const uint64_t fold_len =
      static_cast<uint64_t>(systolic_fold_cycles(mode, cfg.rows, cfg.cols, mp.stream()));
  const uint64_t interval = static_cast<uint64_t>(overlap_interval(cfg.rows, mp.stream()));
  EngineResult res;
  PhaseLog log(start);
  RealCount real(mp);
  std::deque<std::pair<uint64_t, size_t>> ends;  // (cycle of the last output, fold)
  const auto finish_front = [&] {
    sched.on_end(ends.front().second, ends.front().first);
    ends.pop_front();
  };
  sched.begin(start);
  uint64_t earliest = start, last_begin = start, last_end = start;
  for (size_t f = 0; f < folds.size(); ++f) {
    while (!sched.reads_issued(f)) finish_front();
    if (f > 0)
      earliest = cfg.overlap && !sched.waits_for_previous(f) ? last_begin + interval : last_end + 1;
    const uint64_t begin = std::max(earliest, sched.data_ready(f));
    // Events in cycle order: a fold that finishes before this one starts is handled first.
    while (!ends.empty() && ends.front().first < begin) finish_front();
    if (begin > earliest) {
      res.stall_cycles += begin - earliest;
      sync(begin);
    }
    sched.on_start(f, begin);
    add(res.events, fold_events(mp, folds[f], cfg.rows, cfg.cols, real));
    if (cfg.functional)
      compute_fold(stage<V, A>(mp, folds[f], cfg, a_vals, b_vals, out, begin),
                   mode == SystolicMode::kOutputStationary, cfg.cols);
    last_begin = begin;
    last_end = begin + fold_len - 1;
    ends.emplace_back(last_end, f);
    log.compute(begin, last_end + 1);
  }
  while (!ends.empty()) finish_front();
  res.end_cycle = std::max(last_end, sched.writes_done());
  res.stall_cycles += res.end_cycle - last_end;
  res.phases = log.finish(res.end_cycle);
  return res;
}

template <class V, class A>
EngineResult run_cycle(const OpMapping& mp, const std::vector<Fold>& folds, FoldScheduler& sched,
                       const EngineConfig& cfg, const V* a_vals, const V* b_vals, A* out,
                       uint64_t start, const std::function<void(uint64_t)>& sync) {
  const uint64_t interval = static_cast<uint64_t>(overlap_interval(cfg.rows, mp.stream()));
  SystolicArray<V, A> array(cfg.rows, cfg.cols, array_mode(mp.dataflow()), cfg.functional);
  array.skip_to(start);
  EngineResult res;
  PhaseLog log(start);
  std::vector<uint64_t> fold_start(folds.size(), 0);
  size_t next = 0, retired = 0;
  uint64_t earliest = start, last_end = start, start_at = 0;
  bool earliest_known = true, planned = false;
  // The next fold's start is known once the pipeline allows it and its reads are issued.
  const auto plan = [&] {
    if (planned || next >= folds.size() || !earliest_known || !sched.reads_issued(next)) return;
    start_at = std::max(earliest, sched.data_ready(next));
    planned = true;
  };
  sched.begin(start);
  plan();
  uint64_t t = start;
  while (retired < folds.size()) {
    if (planned && start_at == t) {
      res.stall_cycles += t - earliest;
      sync(t);
      sched.on_start(next, t);
      array.issue(stage<V, A>(mp, folds[next], cfg, a_vals, b_vals, out, t));
      fold_start[next] = t;
      ++next;
      // Overlapping starts P cycles later unless the next fold waits for this one's end.
      earliest = t + interval;
      earliest_known = cfg.overlap && next < folds.size() && !sched.waits_for_previous(next);
      planned = false;
      plan();
    }
    if (array.empty()) {
      // Nothing moves until the next fold's data arrives: skip the idle cycles.
      if (!planned) throw std::logic_error("systolic: no fold in flight and none can start");
      array.skip_to(start_at);
      t = start_at;
      continue;
    }
    const int done = array.tick();
    for (int i = 0; i < done; ++i, ++retired) {
      sched.on_end(retired, t);
      log.compute(fold_start[retired], t + 1);
      last_end = t;
      if (retired + 1 == next && !earliest_known) {
        earliest = t + 1;
        earliest_known = true;
      }
    }
    plan();
    ++t;
  }
  res.events = array.events();
  res.end_cycle = std::max(last_end, sched.writes_done());
  res.stall_cycles += res.end_cycle - last_end;
  res.phases = log.finish(res.end_cycle);
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
