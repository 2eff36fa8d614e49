#pragma once
// Memory side of a fold sequence, shared by both fidelities so that they issue the same DRAM
// requests in the same order and see the same completion cycles.
//
// Rules (see README.md, "DRAM and stalls"):
//   - fold 0's tiles are read when the op starts;
//   - when fold f starts, fold f+1's tiles are read (prefetch into the second half of each
//     buffer) if the buffer can hold both tiles or keeps the operand resident; otherwise that
//     read waits until fold f has finished (issued the cycle after its last output);
//   - a fold starts only when all its reads are complete;
//   - when fold f finishes, its final outputs are written at operand width (os: every fold;
//     ws/is: the last K tile of an output tile). ws/is partial sums that do not fit the ofmap
//     buffer are written at accumulator width after every K tile but the last, and read back
//     for the next K tile (issued the cycle after, since they are the data just written).
// The op is over when its last fold has finished and every write has completed.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "arch/models/systolic/mapping.h"
#include "sim/mem/dram.h"
#include "sim/mem/sram.h"

namespace codesim::arch::systolic {

struct MemoryConfig {
  int64_t elem_bytes = 1;  // operand width
  int64_t acc_bytes = 4;   // partial-sum width
  int64_t ofmap_bytes = 64 * 1024;
};

// Traffic issued so far (elements are operand or partial-sum words).
struct MemoryTraffic {
  uint64_t dram_read_bytes = 0;
  uint64_t dram_write_bytes = 0;
  uint64_t ifmap_fills = 0;    // elements written into the ifmap SRAM from DRAM
  uint64_t filter_fills = 0;   // elements written into the filter SRAM from DRAM
  uint64_t ofmap_drains = 0;   // words read out of the ofmap SRAM to DRAM
  uint64_t ofmap_refills = 0;  // spilled partial sums written back into the ofmap SRAM
};

class FoldScheduler {
 public:
  FoldScheduler(const OpMapping& mp, const std::vector<Fold>& folds, const MemoryConfig& cfg,
                sim::DramPort& dram, sim::OperandBuffer& ifmap, sim::OperandBuffer& filter);

  void begin(uint64_t cycle);
  // Whether every read fold f needs has been issued (else it waits for the previous fold's end).
  bool reads_issued(size_t f) const { return issued_[f]; }
  // Whether some read of fold f waits for the previous fold's end (a tile that cannot be double
  // buffered, or partial sums coming back): then fold f cannot overlap the previous fold.
  // Known once fold f-1 has started.
  bool waits_for_previous(size_t f) const { return waits_[f]; }
  // Cycle at which fold f's data is on chip; meaningful once reads_issued(f).
  uint64_t data_ready(size_t f) const { return ready_[f]; }
  void on_start(size_t f, uint64_t cycle);
  // `cycle` is the cycle of fold f's last output.
  void on_end(size_t f, uint64_t cycle);
  uint64_t writes_done() const { return writes_done_; }
  bool psum_spills() const { return spill_; }
  const MemoryTraffic& traffic() const { return traffic_; }

 private:
  struct Pending {
    int64_t ifmap_bytes = 0, filter_bytes = 0, psum_bytes = 0;
  };
  const sim::TileFootprint& a_tile(size_t f);
  const sim::TileFootprint& b_tile(size_t f);
  int64_t psum_elements(size_t f) const;
  uint64_t read(uint64_t cycle, const Pending& p);

  const OpMapping& mp_;
  const std::vector<Fold>& folds_;
  MemoryConfig cfg_;
  sim::DramPort& dram_;
  sim::OperandBuffer& ifmap_;
  sim::OperandBuffer& filter_;
  bool spill_ = false;
  std::vector<uint8_t> issued_;
  std::vector<uint8_t> waits_;
  std::vector<uint64_t> ready_;
  Pending deferred_;  // reads of the next fold that wait for the current one to finish
  uint64_t writes_done_ = 0;
  MemoryTraffic traffic_;
  std::unordered_map<int64_t, sim::TileFootprint> a_cache_, b_cache_;
};

}  // namespace codesim::arch::systolic
