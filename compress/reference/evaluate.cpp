#include "compress/reference/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "sim/core/diagnostics.h"

namespace codesim::compress {

namespace {

constexpr const char* kMeanKey = "codesim.input_mean";
constexpr const char* kStdKey = "codesim.input_std";
constexpr const char* kScaleKey = "codesim.input_scale";

// The whole of `text` as a finite number, or nullopt.
std::optional<double> parse_number(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

Normalization make_normalization(std::optional<double> mean, std::optional<double> stdev,
                                 const std::string& source) {
  if (!mean || !stdev)
    throw sim::ConfigError(source + ": the mean and the standard deviation must be numbers");
  if (!(*stdev > 0)) throw sim::ConfigError(source + ": the standard deviation must be > 0");
  Normalization n;
  n.enabled = true;
  n.mean = static_cast<float>(*mean);
  n.std = static_cast<float>(*stdev);
  return n;
}

}  // namespace

std::optional<Normalization> normalization_from_metadata(const ir::v1::Workload& w) {
  const auto& meta = w.metadata();
  const bool has_mean = meta.count(kMeanKey) > 0, has_std = meta.count(kStdKey) > 0;
  if (!has_mean && !has_std) return std::nullopt;
  const std::string source = "workload '" + w.name() + "' metadata";
  if (!has_mean || !has_std)
    throw sim::ConfigError(source + ": has only one of " + kMeanKey + " and " + kStdKey);
  if (meta.count(kScaleKey)) {
    const auto scale = parse_number(meta.at(kScaleKey));
    if (!scale || std::abs(*scale * 255.0 - 1.0) > 1e-6)
      throw sim::ConfigError(source + ": " + kScaleKey + " = " + meta.at(kScaleKey) +
                             ", but the dataset readers scale pixels by 1/255");
  }
  return make_normalization(parse_number(meta.at(kMeanKey)), parse_number(meta.at(kStdKey)),
                            source + " (" + kMeanKey + ", " + kStdKey + ")");
}

Normalization parse_normalization(const std::string& text) {
  if (text == "none") return Normalization{};
  const size_t comma = text.find(',');
  if (comma == std::string::npos)
    throw sim::ConfigError("--normalize " + text +
                           ": expected MEAN,STD (e.g. 0.286,0.353) or none");
  return make_normalization(parse_number(text.substr(0, comma)),
                            parse_number(text.substr(comma + 1)), "--normalize " + text);
}

void normalize(const Normalization& n, float* values, int64_t count) {
  if (!n.enabled) return;
  for (int64_t i = 0; i < count; ++i) values[i] = (values[i] - n.mean) / n.std;
}

EvalResult evaluate_classifier(const Executor& executor, const Array& images,
                               const std::vector<int>& labels, const Normalization& norm,
                               const EvalProgress& progress) {
  const ir::v1::Workload& w = executor.workload();
  const ir::v1::Tensor* input = nullptr;
  for (const auto& t : w.tensors())
    if (w.inputs_size() > 0 && t.name() == w.inputs(0)) input = &t;
  if (!input || input->shape_size() == 0 || w.outputs_size() < 1)
    throw sim::ConfigError("workload '" + w.name() +
                           "' needs an input with a shape and an output "
                           "to be evaluated as a classifier");
  const int64_t count = images.shape.empty() ? 0 : images.shape[0];
  if (static_cast<int64_t>(labels.size()) != count)
    throw sim::ConfigError("evaluation: " + std::to_string(count) + " images but " +
                           std::to_string(labels.size()) + " labels");
  const int64_t per_image = count ? images.size() / count : 0;
  // The declared batch, so that every shape of the workload holds as declared.
  const int64_t batch = input->shape(0);
  EvalResult result;
  result.predictions.reserve(static_cast<size_t>(count));
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t n = std::min(batch, count - first);
    Array x{images.shape, std::vector<float>(static_cast<size_t>(batch * per_image), 0.0f)};
    x.shape[0] = batch;
    std::copy(images.data.begin() + first * per_image,
              images.data.begin() + (first + n) * per_image, x.data.begin());
    normalize(norm, x.data.data(), n * per_image);
    const auto values = executor.run({{w.inputs(0), std::move(x)}});
    const auto it = values.find(w.outputs(0));
    if (it == values.end())
      throw sim::ConfigError("workload output '" + w.outputs(0) + "' is computed by no op");
    const Array& logits = it->second;
    if (logits.size() % batch != 0 || logits.size() / batch < 2)
      throw sim::ConfigError("workload output '" + w.outputs(0) +
                             "': " + std::to_string(logits.size()) + " values for a batch of " +
                             std::to_string(batch) + " images are not per-image class logits");
    const int64_t classes = logits.size() / batch;
    for (int64_t i = 0; i < n; ++i) {
      const float* row = logits.data.data() + i * classes;
      const int predicted = static_cast<int>(std::max_element(row, row + classes) - row);
      result.predictions.push_back(predicted);
      result.correct += predicted == labels[static_cast<size_t>(first + i)];
    }
    result.images += n;
    if (progress) progress(result.images, count);
  }
  return result;
}

}  // namespace codesim::compress
