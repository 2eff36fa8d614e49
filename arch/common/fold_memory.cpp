#include "arch/common/fold_memory.h"

#include <algorithm>

namespace codesim::arch {

FoldMemory::FoldMemory(size_t folds, const FoldMemoryConfig& cfg, sim::DramPort& dram,
                       sim::OperandBuffer& a_buffer, sim::OperandBuffer& b_buffer)
    : folds_(folds),
      cfg_(cfg),
      dram_(dram),
      a_buffer_(a_buffer),
      b_buffer_(b_buffer),
      issued_(folds, 0),
      waits_(folds, 0),
      ready_(folds, 0) {}

uint64_t FoldMemory::read(uint64_t cycle, const Pending& p) {
  uint64_t done = cycle;
  done = std::max(done, dram_.read(cycle, p.a));
  done = std::max(done, dram_.read(cycle, p.b));
  done = std::max(done, dram_.read(cycle, p.psum));
  traffic_.dram_read_bytes += p.a + p.b + p.psum;
  traffic_.a_bytes += p.a;
  traffic_.b_bytes += p.b;
  traffic_.ofmap_refills += p.psum / cfg_.acc_bytes;
  return done;
}

void FoldMemory::begin(uint64_t cycle) {
  // Partial sums spill when an output tile accumulates over K tiles and the largest one does not
  // fit the ofmap buffer at accumulator width.
  bool k_folded = false;
  int64_t words = 0;
  for (size_t f = 0; f < folds_; ++f) {
    const Output o = output(f);
    k_folded = k_folded || !o.last_k;
    words = std::max(words, o.words);
  }
  spill_ = k_folded && words * cfg_.acc_bytes > cfg_.ofmap_bytes;
  writes_done_ = cycle;
  deferred_ = Pending{};
  if (folds_ == 0) return;
  Pending p;
  p.a = a_buffer_.next_tile(a_tile(0)).bytes;
  p.b = b_buffer_.next_tile(b_tile(0)).bytes;
  ready_[0] = read(cycle, p);
  issued_[0] = 1;
}

void FoldMemory::on_start(size_t f, uint64_t cycle) {
  const size_t next = f + 1;
  if (next >= folds_) return;
  Pending now, later;
  const sim::OperandBuffer::Fetch a = a_buffer_.next_tile(a_tile(next));
  (a.during_current ? now : later).a = a.bytes;
  const sim::OperandBuffer::Fetch b = b_buffer_.next_tile(b_tile(next));
  (b.during_current ? now : later).b = b.bytes;
  if (spill_) {
    const Output o = output(next);
    if (!o.first_k) later.psum = o.words * cfg_.acc_bytes;
  }
  ready_[next] = read(cycle, now);
  deferred_ = later;
  waits_[next] = later.a != 0 || later.b != 0 || later.psum != 0;
  issued_[next] = !waits_[next];
}

void FoldMemory::on_end(size_t f, uint64_t cycle) {
  const Output o = output(f);
  int64_t bytes = 0;
  if (o.last_k && !o.on_chip)
    bytes = o.words * cfg_.elem_bytes;
  else if (!o.last_k && spill_)
    bytes = o.words * cfg_.acc_bytes;
  if (bytes > 0) {
    writes_done_ = std::max(writes_done_, dram_.write(cycle, static_cast<uint64_t>(bytes)));
    traffic_.dram_write_bytes += bytes;
    traffic_.ofmap_drains += o.words;
  }
  const size_t next = f + 1;
  if (next < folds_ && !issued_[next]) {
    ready_[next] = std::max(ready_[next], read(cycle + 1, deferred_));
    deferred_ = Pending{};
    issued_[next] = 1;
  }
}

}  // namespace codesim::arch
