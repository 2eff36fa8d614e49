#pragma once
// What compression cost in quality, measured the way post-training compression does (OBC's
// "squared" measure, see /work/shared/reference/search_and_quality.md §3.1):
//
//   output_error = ||W X - W' X||^2 / ||W X||^2
//
// per transformed op, where X are the op's float32 inputs on the calibration data (the float
// executor's activations of the workload as it stands before the step), W X is the op before the
// step (float32) and W' X the op or ops that replace it, run by the reference executor in
// integer mode (so quantized weights and activations take the integer path). With a dataset,
// `codesim compress` adds top-1 accuracy on its test split before and after the whole pipeline
// (compress/reference/evaluate.h; float32 before, integer arithmetic where annotated after).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compress/pipeline.h"
#include "compress/reference/executor.h"
#include "workload.pb.h"

namespace codesim::compress {

// The ops named `ops` with the tensors they use, as a workload of their own. Its inputs are the
// tensors the ops read that neither carry data nor are produced by one of them.
ir::v1::Workload sub_workload(const ir::v1::Workload& w, const std::vector<std::string>& ops);

// The float executor's value of every tensor of `w` on `inputs`, inputs included.
std::map<std::string, Array> calibration_activations(const ir::v1::Workload& w,
                                                     const std::map<std::string, Array>& inputs);

// ||Y - Y'||^2 / ||Y||^2 over all outputs of `op` (a name in `before`), Y from `before` in
// float32 and Y' from the ops `after_ops` of `after` in integer mode, both on `activations`.
// Returns 0 when ||Y|| is 0 and Y' equals it.
double output_error(const ir::v1::Workload& before, const std::string& op,
                    const ir::v1::Workload& after, const std::vector<std::string>& after_ops,
                    const std::map<std::string, Array>& activations);

// Seeded N(0, 1) inputs for every workload input, with the leading (batch) axis set to
// `samples`; used as calibration data when no dataset is given.
std::map<std::string, Array> random_inputs(const ir::v1::Workload& w, int samples, uint64_t seed);

struct AccuracyResult {
  std::string dataset;  // e.g. "fashion-mnist test"
  int images = 0;
  double top1_before = 0;
  std::optional<double> top1_after;      // empty when an op needs retraining
  std::string after_note;                // why top1_after is empty
  std::vector<std::string> integer_ops;  // ops that ran in integer arithmetic after
};

struct CompressReport {
  std::string workload;
  std::string pipeline;
  std::string calibration;  // what the calibration data were, e.g. "256 fashion-mnist train images"
  int calibration_samples = 0;
  uint64_t seed = 0;
  std::vector<StepResult> steps;
  int64_t params_before = 0, params_after = 0;  // whole workload (stored_params)
  int64_t bits_before = 0, bits_after = 0;      // whole workload (storage_bits)
  std::optional<AccuracyResult> accuracy;
  std::vector<std::string> notes;  // run-level facts, e.g. the batch an ONNX model was imported for
};

// Whole-workload totals over every weight tensor.
int64_t workload_stored_params(const ir::v1::Workload& w);
int64_t workload_storage_bits(const ir::v1::Workload& w);

// compress_report.json (pretty-printed) and the human table `codesim compress` prints.
std::string report_json(const CompressReport& r);
std::string report_table(const CompressReport& r);

}  // namespace codesim::compress
