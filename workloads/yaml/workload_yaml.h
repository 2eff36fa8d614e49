#pragma once
// Workloads from YAML: a zoo model by name (`workload: {zoo: bert, seq_len: 256}`) or a list of
// independent ops (`workload: {name: layers, ops: [{name: l0, gemm: {m: 64, n: 64, k: 64}}]}`).
// Every key is checked; errors carry file:line:col, the key path and a did-you-mean, and all of
// them are reported at once. The op keys are declared once, in workload_yaml.cpp, and documented
// from that declaration (op_keys_markdown, workloads/README.md).

#include <yaml-cpp/yaml.h>

#include <string>

#include "sim/core/diagnostics.h"
#include "workload.pb.h"

namespace codesim::workloads {

// Builds the workload described by `node`: either {zoo: NAME, ...params} or {name: N, ops: [...]}.
// `path` is the key path of `node` in its file (e.g. "workload"). Problems, including those
// ir::validate finds in the result, go to `diags`; the result is meaningful only when none was
// added.
ir::v1::Workload workload_from_yaml(const YAML::Node& node, const std::string& file,
                                    const std::string& path, sim::Diagnostics& diags);

// Loads a workload file by extension: .yaml / .yml (top-level key `workload:`), .pb (binary
// protobuf), .textproto / .pbtxt / .txtpb (text protobuf). The workload is validated; any
// problem throws sim::ConfigError listing all of them.
ir::v1::Workload load_workload(const std::string& path);

// Text table with the MACs and parameters of every op and the totals (`codesim workload stats`).
std::string workload_stats_table(const ir::v1::Workload& w);

// Markdown reference of the op keys accepted in `ops:` lists (kinds, keys, defaults, ranges).
std::string op_keys_markdown();

}  // namespace codesim::workloads
