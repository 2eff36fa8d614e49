#pragma once
// The run loop: elaborates the accelerator named by an arch file, runs every op of a workload
// that the model supports from one SC_THREAD, and collects per-op cycles, counters, energy and
// the model's area. One run per process (SystemC elaborates once).

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "arch/tech/tech.h"
#include "sim/core/accelerator.h"
#include "sim/core/diagnostics.h"
#include "workload.pb.h"

namespace codesim::sim {

struct ArchConfig {
  std::string file;        // where it came from (for errors)
  YAML::Node root;         // the whole document after -p overrides
  std::string model;       // accelerator.model
  YAML::Node accelerator;  // the accelerator map
  std::string technology = "generic45";
  std::string dram_type;  // memory.dram_type: prices DRAM bytes; "" = the table's default
  std::vector<std::string> overridden;  // key paths set by -p (errors there point at the CLI)
};

// Loads an arch YAML file and applies `key.path=value` overrides. Errors: ConfigError.
ArchConfig load_arch(const std::string& path, const std::vector<std::string>& overrides = {});
// Applies one `a.b.c=value` override to a YAML tree (value parsed as YAML).
void apply_override(YAML::Node& root, const std::string& assignment, Diagnostics& diags);

struct RunOptions {
  Fidelity fidelity = Fidelity::kFast;
  bool functional = false;
  bool progress = false;  // print progress to stderr on long runs
};

struct CounterValue {
  std::string name, unit, component, action;
  uint64_t value = 0;
};

struct OpResult {
  std::string name;
  std::string kind;
  bool supported = true;
  uint64_t start_cycle = 0;
  uint64_t cycles = 0;
  uint64_t stall_cycles = 0;
  int64_t macs = 0;
  double utilization = 0;  // macs / (cycles · peak MACs per cycle)
  std::vector<CounterValue> counters;
  std::map<std::string, double> energy_pj;  // by component, dynamic + leakage over the op
  double total_energy_pj = 0;
  int64_t functional_mismatches = -1;
  std::vector<Phase> phases;
  std::string note;
};

struct RunResult {
  std::string workload;
  std::string model;
  std::string technology;
  std::string fidelity;
  double clock_mhz = 0;
  double peak_macs_per_cycle = 0;
  std::vector<OpResult> ops;
  uint64_t total_cycles = 0;
  int64_t total_macs = 0;
  double total_energy_pj = 0;
  double utilization = 0;
  std::map<std::string, double> energy_pj;  // by component, summed over ops
  std::map<std::string, double> area_um2;   // by component (instances × unit area)
  double total_area_um2 = 0;
  std::vector<arch::Component> components;
  std::map<std::string, double> derived;  // the model's formulas, evaluated over the whole run
  YAML::Node resolved;                    // config.resolved.yaml
  double wall_seconds = 0;
};

// Runs the workload. Errors in the arch file are ConfigError (nothing is simulated then).
RunResult run_workload(const ArchConfig& arch, const codesim::ir::v1::Workload& w,
                       const RunOptions& opt);

// Energy of one op's counters under a technology table (used by run_workload; exposed for tests).
std::map<std::string, double> price_counters(const std::vector<CounterValue>& counters,
                                             const std::vector<arch::Component>& components,
                                             const arch::TechTable& tech, uint64_t cycles,
                                             double clock_mhz);

}  // namespace codesim::sim
