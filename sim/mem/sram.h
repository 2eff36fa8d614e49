#pragma once
// Bookkeeping of one operand's on-chip SRAM buffer at tile granularity: which tile it holds and
// what the next fold must fetch from DRAM. No data is stored here; the model moves values.
//
// Policy, chosen per op:
//   resident  the whole operand fits the buffer: every storage segment is fetched the first time
//             a tile needs it and never again (an operand that fits is loaded once);
//   streamed  it does not fit: a fold's tile is fetched whole unless it is the tile of the
//             previous fold (reuse across the inner loop). The buffer is split in two halves
//             (double buffering): the next tile is fetched while the current one is in use when
//             both fit together; otherwise the fetch waits until the current fold has finished.

#include <cstdint>
#include <string>
#include <vector>

namespace codesim::sim {

// A part of an operand that is fetched as a unit (a tile, or a row of an input feature map).
struct Segment {
  int64_t id = 0;  // unique within the operand, < the segment space given to begin_op
  int64_t bytes = 0;
};

struct TileFootprint {
  int64_t key = -1;  // identity of the tile within its operand
  std::vector<Segment> segments;
  int64_t bytes = 0;  // sum of the segments' bytes
};

class OperandBuffer {
 public:
  OperandBuffer(std::string name, int64_t capacity_bytes);

  // Starts an op whose operand holds `operand_bytes` unique bytes stored as segments with ids
  // below `segment_space`. Forgets what the previous op left.
  void begin_op(int64_t operand_bytes, int64_t segment_space);

  struct Fetch {
    int64_t bytes = 0;
    // True when the fetch may run while the current fold uses the buffer (double buffering or a
    // resident operand); false when it must wait until the current fold has finished.
    bool during_current = true;
  };
  // Makes `next` the tile of the next fold and tells what that takes.
  Fetch next_tile(const TileFootprint& next);

  bool resident() const { return resident_; }
  int64_t capacity() const { return capacity_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  int64_t capacity_;
  bool resident_ = false;
  std::vector<uint8_t> loaded_;  // per segment, resident policy only
  int64_t held_key_ = -1;
  int64_t held_bytes_ = 0;
};

}  // namespace codesim::sim
