#include "sim/core/accelerator.h"

#include <cmath>
#include <cstdlib>

namespace codesim::sim {

namespace {
// SystemC prints a copyright banner on stdout when its kernel starts unless this is set; it
// would corrupt tables and machine-readable output. Static initialization runs before sc_main.
const int kNoBanner = setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
}  // namespace

const char* fidelity_name(Fidelity f) { return f == Fidelity::kCycle ? "cycle" : "fast"; }

Accelerator::Accelerator(const sc_core::sc_module_name& name, double clock_mhz)
    : sc_core::sc_module(name),
      clock_mhz_(clock_mhz),
      // Periods are whole picoseconds (the kernel's resolution); 1e6 / MHz gives ps.
      period_(std::round(1e6 / clock_mhz), sc_core::SC_PS) {}

uint64_t Accelerator::cycle() const {
  return static_cast<uint64_t>(sc_core::sc_time_stamp().value() / period_.value());
}

void Accelerator::wait_cycles(uint64_t n) {
  if (n > 0) sc_core::wait(period_ * static_cast<double>(n));
}

}  // namespace codesim::sim
