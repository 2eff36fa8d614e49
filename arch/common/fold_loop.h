#pragma once
// The fold loop of one op on a systolic array, in either fidelity, around a FoldMemory.
//
//   cycle  every fold is handed to an array object that is ticked every cycle, and fold
//          completion comes from the array
//   fast   the same folds in the same order with the same memory, each advanced in one step of
//          the fold length F
//
// Fold timing:
//   overlap false  fold f+1 may start the cycle after fold f's last output (F later)
//   overlap true   fold f+1 may start `interval` cycles after fold f (the next fold's fill
//                  overlaps the current fold's drain), unless some read of fold f+1 waits for
//                  fold f's end (no room to double buffer, or partial sums coming back).
// A fold starts at max(that cycle, the cycle its data is on chip); the difference is a stall.
// The op ends at its last output or when its last DRAM write completes, whichever is later.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "arch/common/fold_memory.h"
#include "sim/core/accelerator.h"

namespace codesim::arch {

// Cycles between the starts of consecutive folds when they overlap: the stream of T elements
// keeps one element per edge lane per cycle, and R cycles leave room to load the next stationary
// tile (or to drain one output per column port per cycle).
inline uint64_t fold_overlap_interval(int rows, int64_t stream_len) {
  return static_cast<uint64_t>(std::max<int64_t>(stream_len, rows));
}

// The trace shows merged compute intervals, the gaps between them (load before the first fold,
// stall after) and the tail spent on DRAM writes. Memory-bound ops alternate compute and stall
// at every fold, so past kMaxPhases neighbours are coalesced into windows named by what they
// contain.
class PhaseLog {
 public:
  explicit PhaseLog(uint64_t begin) : begin_(begin), cursor_(begin) {}
  void compute(uint64_t begin, uint64_t end);
  std::vector<sim::Phase> finish(uint64_t end);

 private:
  static constexpr size_t kMaxPhases = 64;
  uint64_t begin_, cursor_;
  std::vector<sim::Phase> phases_;
};

struct FoldLoopConfig {
  uint64_t fold_cycles = 0;  // F: cycles from a fold's start to its last output, inclusive
  uint64_t interval = 0;     // start-to-start distance of overlapping folds
  bool overlap = false;
};

struct FoldTiming {
  uint64_t end_cycle = 0;
  uint64_t stall_cycles = 0;
  std::vector<sim::Phase> phases;
};

using SyncFn = std::function<void(uint64_t)>;

// Fast fidelity: runs `folds` folds from cycle `start`; `start_fold(f, cycle)` is what the model
// does when fold f starts (count its events, compute its outputs). `sync(t)` lets simulated time
// reach cycle t (temporal decoupling: called per stall, not per cycle).
template <class StartFold>
FoldTiming run_folds_fast(size_t folds, FoldMemory& mem, const FoldLoopConfig& cfg, uint64_t start,
                          const SyncFn& sync, StartFold&& start_fold) {
  FoldTiming res;
  PhaseLog log(start);
  std::deque<std::pair<uint64_t, size_t>> ends;  // (cycle of the last output, fold)
  const auto finish_front = [&] {
    mem.on_end(ends.front().second, ends.front().first);
    ends.pop_front();
  };
  mem.begin(start);
  uint64_t earliest = start, last_begin = start, last_end = start;
  for (size_t f = 0; f < folds; ++f) {
    while (!mem.reads_issued(f)) finish_front();
    if (f > 0)
      earliest =
          cfg.overlap && !mem.waits_for_previous(f) ? last_begin + cfg.interval : last_end + 1;
    const uint64_t begin = std::max(earliest, mem.data_ready(f));
    // Events in cycle order: a fold that finishes before this one starts is handled first.
    while (!ends.empty() && ends.front().first < begin) finish_front();
    if (begin > earliest) {
      res.stall_cycles += begin - earliest;
      sync(begin);
    }
    mem.on_start(f, begin);
    start_fold(f, begin);
    last_begin = begin;
    last_end = begin + cfg.fold_cycles - 1;
    ends.emplace_back(last_end, f);
    log.compute(begin, last_end + 1);
  }
  while (!ends.empty()) finish_front();
  res.end_cycle = std::max(last_end, mem.writes_done());
  res.stall_cycles += res.end_cycle - last_end;
  res.phases = log.finish(res.end_cycle);
  return res;
}

// Cycle fidelity: `array` has empty(), skip_to(t) (jump an empty array to cycle t) and tick()
// (one cycle; returns how many folds made their last output in it); `issue(f, cycle)` hands fold
// f to it, starting at `cycle`. Folds retire in the order issued.
template <class Array, class Issue>
FoldTiming run_folds_cycle(size_t folds, FoldMemory& mem, Array& array, const FoldLoopConfig& cfg,
                           uint64_t start, const SyncFn& sync, Issue&& issue) {
  array.skip_to(start);
  FoldTiming res;
  PhaseLog log(start);
  std::vector<uint64_t> fold_start(folds, 0);
  size_t next = 0, retired = 0;
  uint64_t earliest = start, last_end = start, start_at = 0;
  bool earliest_known = true, planned = false;
  // The next fold's start is known once the pipeline allows it and its reads are issued.
  const auto plan = [&] {
    if (planned || next >= folds || !earliest_known || !mem.reads_issued(next)) return;
    start_at = std::max(earliest, mem.data_ready(next));
    planned = true;
  };
  mem.begin(start);
  plan();
  uint64_t t = start;
  while (retired < folds) {
    if (planned && start_at == t) {
      res.stall_cycles += t - earliest;
      sync(t);
      mem.on_start(next, t);
      issue(next, t);
      fold_start[next] = t;
      ++next;
      // Overlapping starts `interval` cycles later unless the next fold waits for this one's end.
      earliest = t + cfg.interval;
      earliest_known = cfg.overlap && next < folds && !mem.waits_for_previous(next);
      planned = false;
      plan();
    }
    if (array.empty()) {
      // Nothing moves until the next fold's data arrives: skip the idle cycles.
      if (!planned) throw std::logic_error("fold loop: no fold in flight and none can start");
      array.skip_to(start_at);
      t = start_at;
      continue;
    }
    const int done = array.tick();
    for (int i = 0; i < done; ++i, ++retired) {
      mem.on_end(retired, t);
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
  res.end_cycle = std::max(last_end, mem.writes_done());
  res.stall_cycles += res.end_cycle - last_end;
  res.phases = log.finish(res.end_cycle);
  return res;
}

}  // namespace codesim::arch
