#pragma once
// Base of every accelerator model. A model is one SystemC module whose timing advances in one
// SC_THREAD per clock domain (the runner's); there is no SystemC process per PE. run_op() is
// called from that thread for every op the model supports and consumes simulated time with
// wait_cycles(). Fidelity `cycle` ticks plain C++ objects every cycle; `fast` waits whole
// tile-level phases at once. Both must report the same cycles on the cases the tests check.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <systemc>
#include <vector>

#include "arch/common/component.h"
#include "sim/core/stats.h"
#include "workload.pb.h"

namespace codesim::sim {

enum class Fidelity { kCycle, kFast };
const char* fidelity_name(Fidelity f);

// A named interval of an op, shown on the trace timeline (load, compute, drain, ...). Phases of
// one track must not overlap; a model whose stages overlap puts each resource on its own track.
struct Phase {
  std::string name;
  uint64_t begin_cycle = 0;
  uint64_t end_cycle = 0;
  std::string track;  // the trace row, e.g. "engines"; empty = "phases"
};

// What a model reports about one op besides its counters.
struct OpOutcome {
  uint64_t stall_cycles = 0;           // cycles the compute units waited on memory
  int64_t functional_mismatches = -1;  // output elements unlike the reference; -1 = not checked
  // MACs the model executed when they differ from ir::op_macs (a decomposed layer's contraction
  // stages); -1 = ir::op_macs.
  int64_t macs = -1;
  std::vector<Phase> phases;
  std::string note;  // e.g. "memory-bound"
};

struct OpTask {
  const codesim::ir::v1::Workload& workload;
  const codesim::ir::v1::Op& op;
  Fidelity fidelity = Fidelity::kFast;
  bool functional = false;
  OpOutcome& outcome;
};

class Accelerator : public sc_core::sc_module {
 public:
  Accelerator(const sc_core::sc_module_name& name, double clock_mhz);

  virtual bool supports(const codesim::ir::v1::Op& op) const = 0;
  // Runs one op; consumes simulated time with wait_cycles(). Called from an SC_THREAD.
  virtual void run_op(const OpTask& task) = 0;
  // The component inventory (priced by the technology table for area, leakage and energy).
  virtual std::vector<arch::Component> components() const = 0;
  // MACs the model can complete per cycle at full utilization.
  virtual double peak_macs_per_cycle() const = 0;
  // Every parameter with defaults filled in (for config.resolved.yaml).
  virtual YAML::Node resolved_params() const = 0;
  // Called once with the whole workload before components() and the first run_op(), for models
  // whose hardware is sized from the workload (NASA allocates PEs by the workload's op counts).
  virtual void bind_workload(const codesim::ir::v1::Workload&) {}

  StatGroup& stats() { return stats_; }
  const StatGroup& stats() const { return stats_; }
  double clock_mhz() const { return clock_mhz_; }
  // The current cycle of this model's clock domain.
  uint64_t cycle() const;
  void wait_cycles(uint64_t n);

 protected:
  StatGroup stats_;

 private:
  double clock_mhz_;
  sc_core::sc_time period_;
};

}  // namespace codesim::sim
