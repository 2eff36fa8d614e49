#pragma once
// The fold loop of one op in either fidelity.
//
//   cycle  every fold is staged (its edge lanes and stationary tile, with real values in
//          functional mode) and handed to an arch::SystolicArray that is ticked every cycle;
//          counters come from the array's per-cycle events, fold completion from the array.
//   fast   the same folds in the same order with the same memory scheduler, each advanced in
//          one step; counters from closed forms per fold; in functional mode each fold's
//          outputs are computed by a tiled loop in the array's summation order.
//
// Fold timing (F = fold length, see arch::systolic_fold_cycles; P = max(T, R)):
//   fold_overlap false  fold f+1 may start the cycle after fold f's last output (F later);
//   fold_overlap true   fold f+1 may start P cycles after fold f: the next fold's fill overlaps
//                       the current fold's drain and, for ws/is, the next stationary tile is
//                       loaded into the idle register of each PE behind the current stream.
//                       P >= T keeps one element per edge lane per cycle; P >= R keeps one
//                       output per column port per cycle (os) and leaves R cycles for a load.
//                       A fold whose reads wait for the previous fold's end (no room to double
//                       buffer, or partial sums coming back from DRAM) does not overlap.
// A fold starts at max(that cycle, the cycle its data is on chip); the difference is a stall.
// The op ends at its last output or when its last DRAM write completes, whichever is later.

#include <cstdint>
#include <functional>
#include <vector>

#include "arch/common/systolic_array.h"
#include "arch/models/systolic/mapping.h"
#include "arch/models/systolic/schedule.h"
#include "sim/core/accelerator.h"

namespace codesim::arch::systolic {

struct EngineConfig {
  int rows = 32;
  int cols = 32;
  bool overlap = false;
  bool cycle = false;       // cycle fidelity
  bool functional = false;  // move real values
};

struct EngineResult {
  uint64_t end_cycle = 0;
  uint64_t stall_cycles = 0;
  std::vector<sim::Phase> phases;
  SystolicEvents events;
};

SystolicMode array_mode(Dataflow df);
// Cycles between the starts of consecutive folds when they overlap.
int64_t overlap_interval(int rows, int64_t stream_len);

// Runs `folds` from cycle `start`. `a_vals`/`b_vals` hold the operand tensors' values and
// `out` the sub-GEMM outputs (subs × M × N, zeroed) in functional mode, else nullptr. `sync(t)`
// lets simulated time reach cycle t (temporal decoupling: called per fold or stall, not per
// cycle).
template <class V, class A>
EngineResult run_folds(const OpMapping& mp, const std::vector<Fold>& folds, FoldScheduler& sched,
                       const EngineConfig& cfg, const V* a_vals, const V* b_vals, A* out,
                       uint64_t start, const std::function<void(uint64_t)>& sync);

}  // namespace codesim::arch::systolic
