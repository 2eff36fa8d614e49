#include "sim/core/report.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "sim/core/diagnostics.h"

namespace codesim::sim {

using nlohmann::json;

namespace {

json op_json(const OpResult& o) {
  json j;
  j["name"] = o.name;
  j["kind"] = o.kind;
  j["supported"] = o.supported;
  j["start_cycle"] = o.start_cycle;
  j["cycles"] = o.cycles;
  j["stall_cycles"] = o.stall_cycles;
  j["macs"] = o.macs;
  j["utilization"] = o.utilization;
  json counters = json::object();
  for (const auto& c : o.counters) counters[c.name] = c.value;
  j["counters"] = counters;
  json energy = json::object();
  for (const auto& kv : o.energy_pj) energy[kv.first] = kv.second;
  j["energy_pj"] = energy;
  j["total_energy_pj"] = o.total_energy_pj;
  if (o.functional_mismatches >= 0) j["functional_mismatches"] = o.functional_mismatches;
  if (!o.note.empty()) j["note"] = o.note;
  return j;
}

std::string human(double v) {
  std::ostringstream os;
  const char* suffix[] = {"", "k", "M", "G", "T", "P"};
  int i = 0;
  while (std::abs(v) >= 1000 && i < 5) {
    v /= 1000;
    ++i;
  }
  os << std::setprecision(i == 0 ? 4 : 3) << v << suffix[i];
  return os.str();
}

// Energy in the unit that keeps the mantissa readable: 1.94e9 pJ prints as "1.94 mJ".
std::string energy_text(double pj) {
  const char* unit[] = {"pJ", "nJ", "uJ", "mJ", "J"};
  int i = 0;
  while (std::abs(pj) >= 1000 && i < 4) {
    pj /= 1000;
    ++i;
  }
  std::ostringstream os;
  os << std::setprecision(3) << pj << " " << unit[i];
  return os.str();
}

}  // namespace

json report_json(const RunResult& r) {
  json j;
  j["workload"] = r.workload;
  j["model"] = r.model;
  j["technology"] = r.technology;
  j["fidelity"] = r.fidelity;
  j["clock_mhz"] = r.clock_mhz;
  j["peak_macs_per_cycle"] = r.peak_macs_per_cycle;
  const double seconds =
      r.clock_mhz > 0 ? static_cast<double>(r.total_cycles) / (r.clock_mhz * 1e6) : 0;
  j["totals"] = {{"cycles", r.total_cycles},       {"stall_cycles", 0},
                 {"latency_ms", seconds * 1e3},    {"macs", r.total_macs},
                 {"energy_pj", r.total_energy_pj}, {"area_um2", r.total_area_um2},
                 {"utilization", r.utilization}};
  uint64_t stalls = 0;
  for (const auto& o : r.ops) stalls += o.stall_cycles;
  j["totals"]["stall_cycles"] = stalls;
  json energy = json::object(), area = json::object();
  for (const auto& kv : r.energy_pj) energy[kv.first] = kv.second;
  for (const auto& kv : r.area_um2) area[kv.first] = kv.second;
  j["energy_pj"] = energy;
  j["area_um2"] = area;
  json derived = json::object();
  for (const auto& kv : r.derived) derived[kv.first] = kv.second;
  j["derived"] = derived;
  json info = json::object();
  for (const auto& o : r.ops)
    for (const auto& c : o.counters)
      info[c.name] = {{"unit", c.unit}, {"component", c.component}, {"action", c.action}};
  j["counter_info"] = info;
  json ops = json::array();
  for (const auto& o : r.ops) ops.push_back(op_json(o));
  j["ops"] = ops;
  j["wall_seconds"] = r.wall_seconds;
  return j;
}

std::string report_csv(const RunResult& r) {
  // Counter columns: the union over ops, in first-seen order, so every row has the same columns.
  std::vector<std::string> counter_names, components;
  for (const auto& o : r.ops)
    for (const auto& c : o.counters)
      if (std::find(counter_names.begin(), counter_names.end(), c.name) == counter_names.end())
        counter_names.push_back(c.name);
  for (const auto& kv : r.energy_pj) components.push_back(kv.first);
  std::ostringstream os;
  os << "name,kind,supported,start_cycle,cycles,stall_cycles,macs,utilization,energy_pj";
  for (const auto& n : counter_names) os << ',' << n;
  for (const auto& c : components) os << ",energy_pj_" << c;
  os << ",functional_mismatches\n";
  os << std::setprecision(10);
  for (const auto& o : r.ops) {
    os << o.name << ',' << o.kind << ',' << (o.supported ? 1 : 0) << ',' << o.start_cycle << ','
       << o.cycles << ',' << o.stall_cycles << ',' << o.macs << ',' << o.utilization << ','
       << o.total_energy_pj;
    for (const auto& n : counter_names) {
      uint64_t v = 0;
      for (const auto& c : o.counters)
        if (c.name == n) v = c.value;
      os << ',' << v;
    }
    for (const auto& c : components) {
      auto it = o.energy_pj.find(c);
      os << ',' << (it == o.energy_pj.end() ? 0.0 : it->second);
    }
    os << ',';
    if (o.functional_mismatches >= 0) os << o.functional_mismatches;
    os << '\n';
  }
  return os.str();
}

std::string report_table(const RunResult& r) {
  std::ostringstream os;
  size_t wname = 4;
  for (const auto& o : r.ops) wname = std::max(wname, o.name.size());
  wname = std::min<size_t>(wname, 40);
  const bool functional = std::any_of(
      r.ops.begin(), r.ops.end(), [](const OpResult& o) { return o.functional_mismatches >= 0; });
  os << std::left << std::setw(static_cast<int>(wname) + 2) << "op" << std::setw(10) << "kind"
     << std::right << std::setw(12) << "cycles" << std::setw(10) << "stall" << std::setw(10)
     << "MACs" << std::setw(7) << "util" << std::setw(11) << "energy";
  if (functional) os << std::setw(11) << "mismatch";
  os << "\n";
  int unsupported = 0;
  for (const auto& o : r.ops) {
    std::string name = o.name.size() > wname ? o.name.substr(0, wname - 1) + "~" : o.name;
    os << std::left << std::setw(static_cast<int>(wname) + 2) << name << std::setw(10) << o.kind
       << std::right;
    if (!o.supported) {
      os << std::setw(12) << "-"
         << "  (not simulated)\n";
      ++unsupported;
      continue;
    }
    std::ostringstream util;
    util << std::fixed << std::setprecision(0) << o.utilization * 100 << "%";
    os << std::setw(12) << o.cycles << std::setw(10) << o.stall_cycles << std::setw(10)
       << human(static_cast<double>(o.macs)) << std::setw(7) << util.str() << std::setw(11)
       << energy_text(o.total_energy_pj);
    if (functional && o.functional_mismatches >= 0) os << std::setw(11) << o.functional_mismatches;
    os << "\n";
  }
  const double ms = r.clock_mhz > 0 ? static_cast<double>(r.total_cycles) / (r.clock_mhz * 1e3) : 0;
  os << "\n"
     << r.workload << " on " << r.model << " (" << r.fidelity << " fidelity, " << r.technology
     << ", " << r.clock_mhz << " MHz)\n";
  os << "  cycles       " << r.total_cycles << "  (" << std::setprecision(4) << ms << " ms)\n";
  os << "  MACs         " << human(static_cast<double>(r.total_macs)) << "\n";
  os << "  utilization  " << std::fixed << std::setprecision(1) << r.utilization * 100 << "%\n";
  os.unsetf(std::ios::fixed);
  os << "  energy       " << energy_text(r.total_energy_pj) << "  (";
  bool first = true;
  for (const auto& kv : r.energy_pj) {
    os << (first ? "" : ", ") << kv.first << " " << std::setprecision(3)
       << (r.total_energy_pj > 0 ? 100 * kv.second / r.total_energy_pj : 0) << "%";
    first = false;
  }
  os << ")\n";
  os << "  area         " << std::setprecision(4) << r.total_area_um2 * 1e-6 << " mm2\n";
  if (unsupported > 0)
    os << "  note         " << unsupported << " op(s) not supported by " << r.model
       << " were not simulated and are not in the totals\n";
  return os.str();
}

json trace_json(const RunResult& r) {
  // Chrome trace events: timestamps in microseconds of simulated time.
  const double us_per_cycle = r.clock_mhz > 0 ? 1.0 / r.clock_mhz : 1.0;
  json events = json::array();
  events.push_back({{"name", "process_name"},
                    {"ph", "M"},
                    {"pid", 1},
                    {"args", {{"name", r.model + ": " + r.workload}}}});
  events.push_back(
      {{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 1}, {"args", {{"name", "ops"}}}});
  // One trace row per phase track, in order of first appearance; untracked phases share one.
  std::map<std::string, int> tids;
  for (const auto& o : r.ops)
    for (const auto& p : o.phases) {
      const std::string track = p.track.empty() ? "phases" : p.track;
      if (tids.count(track)) continue;
      const int tid = static_cast<int>(tids.size()) + 2;
      tids[track] = tid;
      events.push_back({{"name", "thread_name"},
                        {"ph", "M"},
                        {"pid", 1},
                        {"tid", tid},
                        {"args", {{"name", track}}}});
    }
  for (const auto& o : r.ops) {
    if (!o.supported) continue;
    events.push_back({{"name", o.name},
                      {"cat", o.kind},
                      {"ph", "X"},
                      {"pid", 1},
                      {"tid", 1},
                      {"ts", static_cast<double>(o.start_cycle) * us_per_cycle},
                      {"dur", static_cast<double>(o.cycles) * us_per_cycle},
                      {"args",
                       {{"cycles", o.cycles},
                        {"stall_cycles", o.stall_cycles},
                        {"macs", o.macs},
                        {"utilization", o.utilization}}}});
    for (const auto& p : o.phases)
      events.push_back({{"name", p.name},
                        {"cat", o.name},
                        {"ph", "X"},
                        {"pid", 1},
                        {"tid", tids.at(p.track.empty() ? "phases" : p.track)},
                        {"ts", static_cast<double>(p.begin_cycle) * us_per_cycle},
                        {"dur", static_cast<double>(p.end_cycle - p.begin_cycle) * us_per_cycle}});
  }
  return {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
}

namespace {
void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw ConfigError(path + ": cannot write file (check that the folder is writable)");
  out << text;
}
}  // namespace

std::vector<std::string> write_reports(const RunResult& r, const std::string& dir, bool trace) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw ConfigError(dir + ": cannot create output folder: " + ec.message());
  std::vector<std::string> files;
  const auto put = [&](const std::string& name, const std::string& text) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    write_file(path, text);
    files.push_back(path);
  };
  put("report.json", report_json(r).dump(2) + "\n");
  put("report.csv", report_csv(r));
  YAML::Emitter em;
  em << r.resolved;
  put("config.resolved.yaml", std::string(em.c_str()) + "\n");
  if (trace) put("trace.json", trace_json(r).dump() + "\n");
  return files;
}

}  // namespace codesim::sim
