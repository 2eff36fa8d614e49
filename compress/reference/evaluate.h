#pragma once
// Top-1 accuracy of an image classifier workload with the reference executor (`codesim eval`).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compress/reference/executor.h"

namespace codesim::compress {

// The input normalization a trained model expects, x = (v - mean) / std in float32, for pixel
// values v already scaled to [0, 1]. Disabled, the pixels are fed as they are.
struct Normalization {
  bool enabled = false;
  float mean = 0;
  float std = 1;
};

// From the workload's metadata keys codesim.input_mean and codesim.input_std (which
// scripts/train_fashion_mnist.py writes into its ONNX files); nullopt when neither is present.
// Only one of them, a value that is not a number, std <= 0, or a codesim.input_scale other than
// 1/255 (the scaling of the dataset readers) is a sim::ConfigError.
std::optional<Normalization> normalization_from_metadata(const ir::v1::Workload& w);
// "MEAN,STD" or "none"; anything else is a sim::ConfigError.
Normalization parse_normalization(const std::string& text);
// x = (x - mean) / std for `count` values in place, in float32 (subtraction, then division: the
// rounding of torch's (x - mean) / std, so that inputs match the training script's bit for bit).
void normalize(const Normalization& n, float* values, int64_t count);

struct EvalResult {
  int64_t images = 0;
  int64_t correct = 0;
  std::vector<int> predictions;  // arg max of each image's logits (first on ties)
  double top1_percent() const { return images ? 100.0 * correct / images : 0.0; }
};

// Called after every batch with the images done so far and the total.
using EvalProgress = std::function<void(int64_t done, int64_t total)>;

// Feeds `images` [count, ...], normalized, to the workload's first input in batches of its
// declared batch (the input's leading dimension; the last batch is padded with zero images) and
// compares the arg max of its first output, logits [batch, classes], with `labels`.
EvalResult evaluate_classifier(const Executor& executor, const Array& images,
                               const std::vector<int>& labels, const Normalization& norm,
                               const EvalProgress& progress = {});

}  // namespace codesim::compress
