#pragma once
// ONNX -> codesim IR. The model's shapes come from ONNX shape inference, its initializers become
// weight data, and every op is mapped faithfully enough for the reference executor to reproduce
// the source framework's outputs (BatchNormalization after a Conv is folded into the conv's
// weights and bias, LSTM gates are reordered to the IR's i, f, g, o, ...). Subgraphs that only
// compute constants (Constant, Shape -> Gather -> Unsqueeze -> Concat feeding a Reshape, ...) are
// evaluated at import time instead of being imported. The mapping of every ONNX op type is listed
// in workloads/README.md.

#include <cstdint>
#include <string>

#include "workload.pb.h"

namespace codesim::workloads {

struct OnnxImportOptions {
  // Keep an op the importer cannot map as a `generic` op carrying its byte traffic (from the
  // inferred shapes) instead of failing.
  bool allow_unknown = false;
  // Value given to every symbolic (dynamic) dimension of the graph inputs.
  int64_t batch = 1;
};

// Imports the ONNX model at `path`. A missing or malformed file, an op that cannot be mapped
// (without allow_unknown) or a result that fails ir::validate is a sim::ConfigError naming the
// file; all problems of the model are reported at once.
ir::v1::Workload import_onnx(const std::string& path, const OnnxImportOptions& options = {});

}  // namespace codesim::workloads
