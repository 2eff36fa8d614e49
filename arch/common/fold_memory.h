#pragma once
// The memory side of an op that a systolic array runs as a sequence of folds, shared by both
// fidelities so that they issue the same DRAM requests in the same order and see the same
// completion cycles. Operand A streams from the ifmap buffer, operand B (the filter or weight
// tile) from its own buffer; a model derives from FoldMemory and says, per fold, which tiles it
// reads and what it writes.
//
// Rules:
//   - fold 0's tiles are read when the op starts
//   - when fold f starts, fold f+1's tiles are read (prefetch into the second half of each
//     buffer) if the buffer can hold both tiles or keeps the operand resident; otherwise that
//     read waits until fold f has finished (issued the cycle after its last output)
//   - a fold starts only when all its reads are complete
//   - when the last K tile of an output tile finishes, its final outputs are written at operand
//     width (unless they stay on chip). Partial sums that do not fit the ofmap buffer are written
//     at accumulator width after every K tile but the last, and read back for the next K tile
//     (issued the cycle after, since they are the data just written).
// The op is over when its last fold has finished and every write has completed.

#include <cstdint>
#include <vector>

#include "sim/core/params.h"
#include "sim/mem/dram.h"
#include "sim/mem/sram.h"

namespace codesim::arch {

// The DRAM port parameters of a model whose ops run through FoldMemory: `dram_bandwidth` and
// `dram_latency`, declared on P's members of those names.
template <class P>
void declare_dram_port(sim::ParamSchema<P>& p) {
  p.real("dram_bandwidth", &P::dram_bandwidth,
         "DRAM port bandwidth shared by reads and writes; 0 = unlimited")
      .def(0.0)
      .range(0, 1e9)
      .unit("bytes/cycle");
  p.integer("dram_latency", &P::dram_latency, "latency of every DRAM request")
      .def(0)
      .range(0, 1000000)
      .unit("cycles");
}

struct FoldMemoryConfig {
  int64_t elem_bytes = 1;  // operand width
  int64_t acc_bytes = 4;   // partial-sum width
  int64_t ofmap_bytes = 64 * 1024;
};

// Traffic issued so far.
struct FoldTraffic {
  uint64_t dram_read_bytes = 0;
  uint64_t dram_write_bytes = 0;
  uint64_t a_bytes = 0;        // bytes read from DRAM into the A (ifmap) buffer
  uint64_t b_bytes = 0;        // bytes read from DRAM into the B (filter / weight) buffer
  uint64_t ofmap_drains = 0;   // words read out of the ofmap SRAM to DRAM
  uint64_t ofmap_refills = 0;  // spilled partial sums written back into the ofmap SRAM
};

class FoldMemory {
 public:
  // Where a fold stands in the reduction of its output tile, and how large that tile is.
  struct Output {
    bool first_k = true;   // nothing to accumulate onto (the first K tile)
    bool last_k = true;    // its outputs are final (the last K tile)
    int64_t words = 0;     // outputs or partial sums in the tile
    bool on_chip = false;  // final outputs stay on chip instead of going to DRAM
  };

  // A derived class declares the op's operands to `a_buffer` and `b_buffer` (begin_op) when it is
  // made, so make it just before running the op's folds.
  FoldMemory(size_t folds, const FoldMemoryConfig& cfg, sim::DramPort& dram,
             sim::OperandBuffer& a_buffer, sim::OperandBuffer& b_buffer);
  virtual ~FoldMemory() = default;

  void begin(uint64_t cycle);
  // Whether every read fold f needs has been issued (else it waits for the previous fold's end).
  bool reads_issued(size_t f) const { return issued_[f]; }
  // Whether some read of fold f waits for the previous fold's end (a tile that cannot be double
  // buffered, or partial sums coming back): then fold f cannot overlap the previous fold.
  // Known once fold f-1 has started.
  bool waits_for_previous(size_t f) const { return waits_[f]; }
  // Cycle at which fold f's data is on chip; meaningful once reads_issued(f).
  virtual uint64_t data_ready(size_t f) const { return ready_[f]; }
  void on_start(size_t f, uint64_t cycle);
  // `cycle` is the cycle of fold f's last output.
  void on_end(size_t f, uint64_t cycle);
  uint64_t writes_done() const { return writes_done_; }
  bool psum_spills() const { return spill_; }
  const FoldTraffic& traffic() const { return traffic_; }

 protected:
  virtual const sim::TileFootprint& a_tile(size_t f) = 0;
  virtual const sim::TileFootprint& b_tile(size_t f) = 0;
  virtual Output output(size_t f) const = 0;

 private:
  struct Pending {
    int64_t a = 0, b = 0, psum = 0;
  };
  uint64_t read(uint64_t cycle, const Pending& p);

  size_t folds_;
  FoldMemoryConfig cfg_;
  sim::DramPort& dram_;
  sim::OperandBuffer& a_buffer_;
  sim::OperandBuffer& b_buffer_;
  bool spill_ = false;
  std::vector<uint8_t> issued_;
  std::vector<uint8_t> waits_;
  std::vector<uint64_t> ready_;
  Pending deferred_;  // reads of the next fold that wait for the current one to finish
  uint64_t writes_done_ = 0;
  FoldTraffic traffic_;
};

}  // namespace codesim::arch
