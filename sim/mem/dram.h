#pragma once
// One off-chip memory port, shared by reads and writes, served in the order requests are issued.
// A request occupies the port for bytes / bandwidth cycles and its data is complete `latency`
// cycles after its transfer ends; latencies of queued requests overlap (the port is pipelined),
// so a stream of requests is bandwidth-bound and a lone request is latency-bound.
//
// Port time is kept in fixed point (1/2^20 cycle) so that a fractional bandwidth such as
// 12.8 bytes/cycle accumulates without drift and every caller that issues the same requests in
// the same order sees the same completion cycles (fast and cycle fidelity rely on this).

#include <cstdint>

namespace codesim::sim {

class DramPort {
 public:
  // bytes_per_cycle <= 0 means unlimited bandwidth (transfers take no port time).
  explicit DramPort(double bytes_per_cycle = 0, uint64_t latency_cycles = 0);

  // Queues a transfer issued at `cycle`; returns the cycle at which it is complete. A transfer
  // of zero bytes is no request: it completes at `cycle`.
  uint64_t read(uint64_t cycle, uint64_t bytes);
  uint64_t write(uint64_t cycle, uint64_t bytes);

  // The first cycle from which no queued transfer occupies the port.
  uint64_t free_at() const;
  uint64_t read_bytes() const { return read_bytes_; }
  uint64_t write_bytes() const { return write_bytes_; }
  uint64_t requests() const { return requests_; }
  double bytes_per_cycle() const { return bytes_per_cycle_; }
  uint64_t latency() const { return latency_; }

 private:
  static constexpr uint64_t kTicksPerCycle = uint64_t{1} << 20;
  uint64_t transfer(uint64_t cycle, uint64_t bytes);

  double bytes_per_cycle_;
  uint64_t latency_;
  uint64_t free_tick_ = 0;  // port time at which the last queued transfer ends
  uint64_t read_bytes_ = 0;
  uint64_t write_bytes_ = 0;
  uint64_t requests_ = 0;
};

}  // namespace codesim::sim
