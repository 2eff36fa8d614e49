#include "sim/mem/sram.h"

#include <stdexcept>
#include <utility>

namespace codesim::sim {

OperandBuffer::OperandBuffer(std::string name, int64_t capacity_bytes)
    : name_(std::move(name)), capacity_(capacity_bytes) {}

void OperandBuffer::begin_op(int64_t operand_bytes, int64_t segment_space) {
  resident_ = operand_bytes <= capacity_;
  loaded_.assign(resident_ ? static_cast<size_t>(segment_space) : 0, 0);
  held_key_ = -1;
  held_bytes_ = 0;
}

OperandBuffer::Fetch OperandBuffer::next_tile(const TileFootprint& next) {
  Fetch f;
  if (resident_) {
    for (const Segment& s : next.segments) {
      if (s.id < 0 || static_cast<size_t>(s.id) >= loaded_.size())
        throw std::logic_error(name_ + ": segment id out of the declared space");
      if (!loaded_[s.id]) {
        loaded_[s.id] = 1;
        f.bytes += s.bytes;
      }
    }
  } else if (next.key != held_key_) {
    f.bytes = next.bytes;
    f.during_current = held_bytes_ + next.bytes <= capacity_;
  }
  held_key_ = next.key;
  held_bytes_ = next.bytes;
  return f;
}

}  // namespace codesim::sim
