#include "sim/core/runner.h"

#include <chrono>
#include <exception>
#include <iostream>
#include <stdexcept>

#include "sim/core/registry.h"
#include "workloads/ir/ir.h"

namespace codesim::sim {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

const std::string kOverrideFile = "<command line -p>";

}  // namespace

void apply_override(YAML::Node& root, const std::string& assignment, Diagnostics& diags) {
  const auto eq = assignment.find('=');
  Diagnostic d;
  d.file = kOverrideFile;
  if (eq == std::string::npos || eq == 0) {
    d.message = "'" + assignment + "' is not of the form key.path=value";
    d.hint = "e.g. -p accelerator.rows=64";
    diags.error(d);
    return;
  }
  const std::string path = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    d.path = path;
    d.message = "value is not valid YAML: " + e.msg;
    diags.error(d);
    return;
  }
  const auto keys = split(path, '.');
  // yaml-cpp nodes are handles: walking with operator[] on non-const nodes creates the path.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node next = chain.back()[keys[i]];
    if (next && !next.IsMap() && !next.IsNull()) {
      d.path = path;
      d.message = "'" + keys[i] + "' is not a map, cannot set '" + keys[i + 1] + "' in it";
      diags.error(d);
      return;
    }
    chain.push_back(next);
  }
  chain.back()[keys.back()] = value;
}

ArchConfig load_arch(const std::string& path, const std::vector<std::string>& overrides) {
  ArchConfig a;
  a.file = path;
  a.root = load_yaml_file(path);
  Diagnostics diags;
  if (!a.root.IsMap()) {
    diags.error_at(path, a.root, "", "an arch file is a map with key `accelerator:`",
                   "e.g. accelerator: {model: systolic, rows: 32, cols: 32}");
    diags.throw_if_any();
  }
  for (const auto& o : overrides) {
    apply_override(a.root, o, diags);
    a.overridden.push_back(o.substr(0, o.find('=')));
  }
  check_keys(a.root, path, "", {"name", "accelerator", "technology", "memory"}, diags);
  a.accelerator = a.root["accelerator"];
  if (!a.accelerator || !a.accelerator.IsMap()) {
    diags.error_at(path, a.accelerator ? a.accelerator : a.root, "accelerator",
                   a.accelerator ? "expected a map" : "missing required key",
                   "add `accelerator: {model: NAME, ...}`; models: " +
                       did_you_mean("", Registry::instance().accelerator_names()));
  } else if (!a.accelerator["model"]) {
    diags.error_at(path, a.accelerator, "accelerator.model", "missing required key",
                   did_you_mean("", Registry::instance().accelerator_names()));
  } else if (read_string(a.accelerator["model"], path, "accelerator.model", diags, a.model) &&
             !Registry::instance().accelerator(a.model)) {
    diags.error_at(path, a.accelerator["model"], "accelerator.model",
                   "unknown accelerator model '" + a.model + "'",
                   did_you_mean(a.model, Registry::instance().accelerator_names()));
  }
  if (const YAML::Node t = a.root["technology"])
    read_string(t, path, "technology", diags, a.technology);
  if (const YAML::Node m = a.root["memory"]) {
    if (!m.IsMap()) {
      diags.error_at(path, m, "memory", "expected a map", "e.g. memory: {dram_type: LPDDR4}");
    } else {
      check_keys(m, path, "memory", {"dram_type"}, diags);
      if (m["dram_type"]) read_string(m["dram_type"], path, "memory.dram_type", diags, a.dram_type);
    }
  }
  diags.throw_if_any();
  return a;
}

std::map<std::string, double> price_counters(const std::vector<CounterValue>& counters,
                                             const std::vector<arch::Component>& components,
                                             const arch::TechTable& tech, uint64_t cycles,
                                             double clock_mhz) {
  std::map<std::string, const arch::Component*> by_name;
  for (const auto& c : components) by_name[c.name] = &c;
  std::map<std::string, double> energy;
  for (const auto& cv : counters) {
    if (cv.component.empty() || cv.value == 0) continue;
    auto it = by_name.find(cv.component);
    if (it == by_name.end())
      throw std::logic_error("counter " + cv.name + " names unknown component " + cv.component);
    energy[cv.component] += static_cast<double>(cv.value) * tech.energy_pj(*it->second, cv.action);
  }
  // Leakage: mW × cycles / MHz gives nJ; × 1e3 gives pJ.
  for (const auto& c : components) {
    const double leak = tech.leakage_mw(c) * static_cast<double>(c.count);
    if (leak > 0) energy[c.name] += leak * static_cast<double>(cycles) * 1e3 / clock_mhz;
  }
  return energy;
}

namespace {

class Driver : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Driver);
  Driver(const sc_core::sc_module_name& name, Accelerator& acc, const ir::Workload& w,
         const RunOptions& opt, RunResult& result)
      : sc_core::sc_module(name), acc_(acc), w_(w), opt_(opt), result_(result) {
    SC_THREAD(run);
  }

  // A ConfigError thrown by run_op, rethrown by run_workload after the simulation stops.
  std::exception_ptr input_error;

 private:
  void run() {
    const auto& counters = acc_.stats().counters();
    const int n = w_.ops_size();
    for (int i = 0; i < n; ++i) {
      const ir::Op& op = w_.ops(i);
      if (opt_.progress)
        std::cerr << "\r[" << (i + 1) << "/" << n << "] " << op.name() << "\033[K" << std::flush;
      OpResult r;
      r.name = op.name();
      r.kind = ir::op_kind(op);
      r.macs = ir::op_macs(w_, op);
      r.start_cycle = acc_.cycle();
      if (!acc_.supports(op)) {
        r.supported = false;
        r.note = "not supported by " + result_.model + "; not simulated";
        result_.ops.push_back(std::move(r));
        continue;
      }
      const std::vector<uint64_t> before = acc_.stats().snapshot();
      OpOutcome out;
      try {
        acc_.run_op(OpTask{w_, op, opt_.fidelity, opt_.functional, out});
      } catch (const ConfigError&) {
        // Bad input a model finds while simulating (e.g. an annotation that does not fit its
        // weight): SystemC would wrap it as an internal error, so carry it out of the thread.
        input_error = std::current_exception();
        sc_core::sc_stop();
        return;
      }
      r.cycles = acc_.cycle() - r.start_cycle;
      for (size_t c = 0; c < counters.size(); ++c) {
        const Counter& k = *counters[c];
        r.counters.push_back(
            CounterValue{k.name, k.unit, k.component, k.action, k.value - before[c]});
      }
      r.stall_cycles = out.stall_cycles;
      if (out.macs >= 0) r.macs = out.macs;
      r.functional_mismatches = out.functional_mismatches;
      r.phases = std::move(out.phases);
      r.note = out.note;
      result_.ops.push_back(std::move(r));
    }
    // Returning ends the simulation: no events are left, so sc_start() returns.
    if (opt_.progress && n > 0) std::cerr << "\r\033[K" << std::flush;
  }

  Accelerator& acc_;
  const ir::Workload& w_;
  const RunOptions& opt_;
  RunResult& result_;
};

// Errors found in values that came from -p overrides point at the command line, not the file.
void relocate_override_errors(const std::vector<std::string>& overridden, Diagnostics& diags) {
  Diagnostics fixed;
  for (Diagnostic d : diags.list()) {
    for (const auto& p : overridden)
      if (d.path == p) {
        d.file = kOverrideFile;
        d.line = d.col = 0;
      }
    fixed.error(d);
  }
  diags = fixed;
}

}  // namespace

RunResult run_workload(const ArchConfig& arch, const ir::Workload& w, const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const arch::TechTable tech = arch::TechTable::load(arch.technology);
  const AcceleratorEntry* entry = Registry::instance().accelerator(arch.model);
  if (!entry) throw ConfigError("unknown accelerator model '" + arch.model + "'");
  Diagnostics diags;
  std::unique_ptr<Accelerator> acc = entry->create(arch.accelerator, arch.file, diags);
  if (!acc) {
    relocate_override_errors(arch.overridden, diags);
    diags.throw_if_any();
    throw ConfigError("cannot build accelerator '" + arch.model + "'");
  }

  RunResult result;
  result.workload = w.name();
  result.model = arch.model;
  result.technology = tech.name();
  result.fidelity = fidelity_name(opt.fidelity);
  result.clock_mhz = acc->clock_mhz();
  acc->bind_workload(w);
  result.peak_macs_per_cycle = acc->peak_macs_per_cycle();
  result.components = acc->components();
  // Every component must be priceable before anything is simulated.
  Diagnostics pricing;
  const std::string dram_type = arch.dram_type.empty() ? tech.default_dram_type() : arch.dram_type;
  for (auto& c : result.components) {
    if (c.klass == arch::ComponentClass::kDram) c.dram_type = dram_type;
    const std::string problem = tech.check(c);
    if (problem.empty()) continue;
    Diagnostic d;
    d.file = arch.file;
    d.path = c.klass == arch::ComponentClass::kDram ? "memory.dram_type" : "technology";
    d.message = "component " + c.name + ": " + problem;
    pricing.error(d);
  }
  pricing.throw_if_any();

  Driver driver("driver", *acc, w, opt, result);
  sc_core::sc_start();
  if (driver.input_error) std::rethrow_exception(driver.input_error);
  for (const auto& f : acc->stats().formulas()) result.derived[f.name] = f.eval();

  for (auto& r : result.ops) {
    if (!r.supported) continue;
    r.energy_pj = price_counters(r.counters, result.components, tech, r.cycles, result.clock_mhz);
    for (const auto& kv : r.energy_pj) {
      r.total_energy_pj += kv.second;
      result.energy_pj[kv.first] += kv.second;
    }
    if (r.cycles > 0 && result.peak_macs_per_cycle > 0)
      r.utilization = static_cast<double>(r.macs) /
                      (static_cast<double>(r.cycles) * result.peak_macs_per_cycle);
    result.total_cycles += r.cycles;
    result.total_macs += r.macs;
    result.total_energy_pj += r.total_energy_pj;
  }
  if (result.total_cycles > 0 && result.peak_macs_per_cycle > 0)
    result.utilization = static_cast<double>(result.total_macs) /
                         (static_cast<double>(result.total_cycles) * result.peak_macs_per_cycle);
  for (const auto& c : result.components) {
    const double a = tech.area_um2(c) * static_cast<double>(c.count);
    result.area_um2[c.name] += a;
    result.total_area_um2 += a;
  }

  YAML::Node accel = acc->resolved_params();
  YAML::Node resolved_accel(YAML::NodeType::Map);
  resolved_accel["model"] = arch.model;
  for (const auto& kv : accel) resolved_accel[kv.first] = kv.second;
  result.resolved["accelerator"] = resolved_accel;
  result.resolved["technology"] = tech.name();
  result.resolved["memory"]["dram_type"] = dram_type;
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace codesim::sim
