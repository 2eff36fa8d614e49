#include "arch/models/systolic/schedule.h"

#include <algorithm>

namespace codesim::arch::systolic {

FoldScheduler::FoldScheduler(const OpMapping& mp, const std::vector<Fold>& folds,
                             const MemoryConfig& cfg, sim::DramPort& dram,
                             sim::OperandBuffer& ifmap, sim::OperandBuffer& filter)
    : mp_(mp),
      folds_(folds),
      cfg_(cfg),
      dram_(dram),
      ifmap_(ifmap),
      filter_(filter),
      issued_(folds.size(), 0),
      waits_(folds.size(), 0),
      ready_(folds.size(), 0) {
  if (mp.dataflow() != Dataflow::kOs && !folds.empty()) {
    // The largest output tile that accumulates over K tiles: T × (columns of a full fold).
    const bool k_folded =
        std::any_of(folds.begin(), folds.end(), [](const Fold& f) { return !f.last_k; });
    int cols = 0;
    for (const Fold& f : folds) cols = std::max(cols, f.cols_used);
    spill_ = k_folded && mp.stream() * cols * cfg_.acc_bytes > cfg_.ofmap_bytes;
  }
}

const sim::TileFootprint& FoldScheduler::a_tile(size_t f) {
  const Fold& d = folds_[f];
  const int64_t key = mp_.a_tile_key(d.sub, d.m0, d.k0);
  auto it = a_cache_.find(key);
  if (it == a_cache_.end())
    it = a_cache_.emplace(key, mp_.a_footprint(d.sub, d.m0, d.m1, d.k0, d.k1, cfg_.elem_bytes))
             .first;
  return it->second;
}

const sim::TileFootprint& FoldScheduler::b_tile(size_t f) {
  const Fold& d = folds_[f];
  const int64_t key = mp_.b_tile_key(d.sub, d.k0, d.n0);
  auto it = b_cache_.find(key);
  if (it == b_cache_.end())
    it = b_cache_.emplace(key, mp_.b_footprint(d.sub, d.k0, d.k1, d.n0, d.n1, cfg_.elem_bytes))
             .first;
  return it->second;
}

int64_t FoldScheduler::psum_elements(size_t f) const { return mp_.stream() * folds_[f].cols_used; }

uint64_t FoldScheduler::read(uint64_t cycle, const Pending& p) {
  uint64_t done = cycle;
  done = std::max(done, dram_.read(cycle, p.ifmap_bytes));
  done = std::max(done, dram_.read(cycle, p.filter_bytes));
  done = std::max(done, dram_.read(cycle, p.psum_bytes));
  traffic_.dram_read_bytes += p.ifmap_bytes + p.filter_bytes + p.psum_bytes;
  traffic_.ifmap_fills += p.ifmap_bytes / cfg_.elem_bytes;
  traffic_.filter_fills += p.filter_bytes / cfg_.elem_bytes;
  traffic_.ofmap_refills += p.psum_bytes / cfg_.acc_bytes;
  return done;
}

void FoldScheduler::begin(uint64_t cycle) {
  const OpMapping& mp = mp_;
  ifmap_.begin_op(mp.a_elements() * cfg_.elem_bytes, mp.a_segment_space());
  filter_.begin_op(mp.b_elements() * cfg_.elem_bytes, mp.b_segment_space());
  writes_done_ = cycle;
  deferred_ = Pending{};
  if (folds_.empty()) return;
  Pending p;
  p.ifmap_bytes = ifmap_.next_tile(a_tile(0)).bytes;
  p.filter_bytes = filter_.next_tile(b_tile(0)).bytes;
  ready_[0] = read(cycle, p);
  issued_[0] = 1;
}

void FoldScheduler::on_start(size_t f, uint64_t cycle) {
  const size_t next = f + 1;
  if (next >= folds_.size()) return;
  Pending now, later;
  const sim::OperandBuffer::Fetch a = ifmap_.next_tile(a_tile(next));
  (a.during_current ? now : later).ifmap_bytes = a.bytes;
  const sim::OperandBuffer::Fetch b = filter_.next_tile(b_tile(next));
  (b.during_current ? now : later).filter_bytes = b.bytes;
  if (spill_ && !folds_[next].first_k) later.psum_bytes = psum_elements(next) * cfg_.acc_bytes;
  ready_[next] = read(cycle, now);
  deferred_ = later;
  waits_[next] = later.ifmap_bytes != 0 || later.filter_bytes != 0 || later.psum_bytes != 0;
  issued_[next] = !waits_[next];
}

void FoldScheduler::on_end(size_t f, uint64_t cycle) {
  const Fold& d = folds_[f];
  int64_t words = 0, bytes = 0;
  if (mp_.dataflow() == Dataflow::kOs) {
    words = static_cast<int64_t>(d.rows_used) * d.cols_used;
    bytes = words * cfg_.elem_bytes;
  } else if (d.last_k) {
    words = psum_elements(f);
    bytes = words * cfg_.elem_bytes;
  } else if (spill_) {
    words = psum_elements(f);
    bytes = words * cfg_.acc_bytes;
  }
  if (bytes > 0) {
    writes_done_ = std::max(writes_done_, dram_.write(cycle, bytes));
    traffic_.dram_write_bytes += bytes;
    traffic_.ofmap_drains += words;
  }
  const size_t next = f + 1;
  if (next < folds_.size() && !issued_[next]) {
    ready_[next] = std::max(ready_[next], read(cycle + 1, deferred_));
    deferred_ = Pending{};
    issued_[next] = 1;
  }
}

}  // namespace codesim::arch::systolic
