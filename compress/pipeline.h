#pragma once
// A compression pipeline: transforms applied in order to the ops a selector picks.
//
//   pipeline:
//     - transform: nm                    # a registered transform (compress/transforms/<name>)
//       select: {kind: gemm}             # optional; kind and name (a regex matched against the
//       n: 2                             #   whole op name) are AND-ed; no select = every op
//       m: 4                             # the transform's own parameters (declared once, in its
//     - transform: quantize              #   ParamSchema)
//       select: {name: "fc.*"}
//       bits: 8
//
// Ops a step selects but its transform does not accept (no weight, another kind) are skipped and
// listed; a step that leaves no op is an error. Mixed precision per layer is several steps with
// different selects. Every problem of the file (unknown keys and transforms, bad types, values
// out of range, invalid regexes, kinds that do not exist, steps that select nothing) is reported
// at once with file:line:col, the key path and a did-you-mean, as sim::ConfigError.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "compress/reference/executor.h"
#include "compress/transform.h"
#include "sim/core/diagnostics.h"
#include "workload.pb.h"

namespace codesim::compress {

struct Selector {
  std::string kind;  // "" = any kind
  std::string name;  // regex source; "" = any name
  std::regex name_re;

  bool matches(const ir::v1::Op& op) const;
  std::string str() const;  // "kind=gemm name=fc.*" or "all ops"
};

struct PipelineStep {
  int index = 0;
  std::string transform;
  Selector select;
  YAML::Node params;  // every parameter of the transform, defaults filled in
  std::string where;  // "file:line:col" of the step, for errors found while running
  int line = 0, col = 0;
  std::unique_ptr<Transform> impl;
};

struct Pipeline {
  std::string file;
  std::vector<PipelineStep> steps;
};

// Parses a pipeline document (top-level key `pipeline:`). Throws sim::ConfigError listing every
// problem.
Pipeline parse_pipeline(const YAML::Node& root, const std::string& file);
Pipeline load_pipeline(const std::string& path);

// Adds an error for every step that selects no op of `w` its transform accepts. Steps are
// checked against `w` as given, so a step that relies on ops created by an earlier step (a
// name only low-rank creates) is checked again when it runs.
void check_selection(const Pipeline& p, const ir::v1::Workload& w, sim::Diagnostics& diags);

struct RunOptions {
  // Calibration inputs by workload input name (the leading axis is the calibration batch). Empty:
  // no calibration; transforms get no activations and output errors are not measured.
  std::map<std::string, Array> calibration;
  uint64_t seed = 0;
};

struct StepResult {
  int index = 0;
  std::string transform;
  std::string select;                // Selector::str()
  YAML::Node params;                 // resolved parameters
  std::vector<OpChange> changes;     // one per accepted op, in workload order
  std::vector<std::string> skipped;  // selected ops the transform does not accept
  double transform_seconds = 0;      // apply (and prepare) only
  double quality_seconds = 0;        // calibration runs and output-error measurement
};

// Applies every step to `w` in order; fills OpChange params/bits and output_error. Unused
// tensors (weights replaced by factors) are removed at the end. Throws sim::ConfigError when a
// step selects nothing or a transform rejects an op's shape.
std::vector<StepResult> run_pipeline(const Pipeline& p, ir::v1::Workload& w,
                                     const RunOptions& options);

// Every op kind the IR defines (the names `select: {kind: ...}` accepts).
std::vector<std::string> ir_op_kinds();

}  // namespace codesim::compress
