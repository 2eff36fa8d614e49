#pragma once
// The fold loop of one op in either fidelity.
//
//   cycle  every fold is staged (its edge lanes and stationary tile, with real values in
//          functional mode) and handed to an arch::SystolicArray that is ticked every cycle,
//          counters come from the array's per-cycle events, fold completion from the array.
//   fast   the same folds in the same order with the same memory scheduler, each advanced in
//          one step; counters from closed forms per fold; in functional mode each fold's
//          outputs are computed by a tiled loop in the array's summation order.
//
// The loop itself and the fold timing are arch::run_folds_fast / run_folds_cycle
// (arch/common/fold_loop.h), with F = arch::systolic_fold_cycles and overlapping folds
// P = max(T, R) cycles apart: P >= T keeps one element per edge lane per cycle; P >= R keeps one
// output per column port per cycle (os) and leaves R cycles to load the next stationary tile
// (ws/is) into the idle register of each PE behind the current stream.

#include <cstdint>
#include <functional>
#include <vector>

#include "arch/common/fold_loop.h"
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

struct EngineResult : FoldTiming {
  SystolicEvents events;
};

SystolicMode array_mode(Dataflow df);

// Runs `folds` from cycle `start`. `a_vals`/`b_vals` hold the operand tensors' values and
// `out` the sub-GEMM outputs (subs × M × N, zeroed) in functional mode, else nullptr. `sync(t)`
// lets simulated time reach cycle t (temporal decoupling: called per fold or stall, not per
// cycle).
template <class V, class A>
EngineResult run_folds(const OpMapping& mp, const std::vector<Fold>& folds, FoldScheduler& sched,
                       const EngineConfig& cfg, const V* a_vals, const V* b_vals, A* out,
                       uint64_t start, const std::function<void(uint64_t)>& sync);

}  // namespace codesim::arch::systolic
