#pragma once
// What a user gets from one run: report.json (machine-readable), report.csv (a row per op),
// a readable table, config.resolved.yaml and, on request, trace.json (Chrome trace events,
// opens in Perfetto).

#include <nlohmann/json.hpp>
#include <string>

#include "sim/core/runner.h"

namespace codesim::sim {

nlohmann::json report_json(const RunResult& r);
std::string report_csv(const RunResult& r);
std::string report_table(const RunResult& r);
nlohmann::json trace_json(const RunResult& r);

// Writes report.json, report.csv, config.resolved.yaml and (if `trace`) trace.json into `dir`,
// creating it. Returns the list of files written.
std::vector<std::string> write_reports(const RunResult& r, const std::string& dir, bool trace);

}  // namespace codesim::sim
