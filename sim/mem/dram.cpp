#include "sim/mem/dram.h"

#include <algorithm>
#include <cmath>

namespace codesim::sim {

DramPort::DramPort(double bytes_per_cycle, uint64_t latency_cycles)
    : bytes_per_cycle_(bytes_per_cycle > 0 ? bytes_per_cycle : 0), latency_(latency_cycles) {}

uint64_t DramPort::transfer(uint64_t cycle, uint64_t bytes) {
  if (bytes == 0) return cycle;
  ++requests_;
  const uint64_t begin = std::max(cycle * kTicksPerCycle, free_tick_);
  uint64_t duration = 0;
  if (bytes_per_cycle_ > 0)
    duration = static_cast<uint64_t>(std::ceil(
        static_cast<double>(bytes) * static_cast<double>(kTicksPerCycle) / bytes_per_cycle_));
  free_tick_ = begin + duration;
  // The data is usable from the first whole cycle after its last byte moved.
  return (free_tick_ + kTicksPerCycle - 1) / kTicksPerCycle + latency_;
}

uint64_t DramPort::read(uint64_t cycle, uint64_t bytes) {
  read_bytes_ += bytes;
  return transfer(cycle, bytes);
}

uint64_t DramPort::write(uint64_t cycle, uint64_t bytes) {
  write_bytes_ += bytes;
  return transfer(cycle, bytes);
}

uint64_t DramPort::free_at() const { return (free_tick_ + kTicksPerCycle - 1) / kTicksPerCycle; }

}  // namespace codesim::sim
