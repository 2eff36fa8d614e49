#include "arch/models/systolic/schedule.h"

namespace codesim::arch::systolic {

FoldScheduler::FoldScheduler(const OpMapping& mp, const std::vector<Fold>& folds,
                             const FoldMemoryConfig& cfg, sim::DramPort& dram,
                             sim::OperandBuffer& ifmap, sim::OperandBuffer& filter)
    : FoldMemory(folds.size(), cfg, dram, ifmap, filter),
      mp_(mp),
      folds_(folds),
      elem_bytes_(cfg.elem_bytes) {
  ifmap.begin_op(mp.a_elements() * cfg.elem_bytes, mp.a_segment_space());
  filter.begin_op(mp.b_elements() * cfg.elem_bytes, mp.b_segment_space());
}

const sim::TileFootprint& FoldScheduler::a_tile(size_t f) {
  const Fold& d = folds_[f];
  const int64_t key = mp_.a_tile_key(d.sub, d.m0, d.k0);
  auto it = a_cache_.find(key);
  if (it == a_cache_.end())
    it = a_cache_.emplace(key, mp_.a_footprint(d.sub, d.m0, d.m1, d.k0, d.k1, elem_bytes_)).first;
  return it->second;
}

const sim::TileFootprint& FoldScheduler::b_tile(size_t f) {
  const Fold& d = folds_[f];
  const int64_t key = mp_.b_tile_key(d.sub, d.k0, d.n0);
  auto it = b_cache_.find(key);
  if (it == b_cache_.end())
    it = b_cache_.emplace(key, mp_.b_footprint(d.sub, d.k0, d.k1, d.n0, d.n1, elem_bytes_)).first;
  return it->second;
}

FoldMemory::Output FoldScheduler::output(size_t f) const {
  const Fold& d = folds_[f];
  Output o;
  o.first_k = d.first_k;
  o.last_k = d.last_k;
  o.words = mp_.dataflow() == Dataflow::kOs ? static_cast<int64_t>(d.rows_used) * d.cols_used
                                            : mp_.stream() * d.cols_used;
  return o;
}

}  // namespace codesim::arch::systolic
