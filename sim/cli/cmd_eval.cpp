#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "compress/reference/evaluate.h"
#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "sim/core/diagnostics.h"
#include "workloads/data/fashion_mnist.h"
#include "workloads/ir/ir.h"
#include "workloads/onnx/onnx_import.h"
#include "workloads/yaml/workload_yaml.h"

namespace codesim::cli {

namespace {

constexpr int64_t kMaxBatch = 256;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int64_t parse_count(const std::string& option, const std::string& text) {
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < 1)
    throw UsageError("codesim eval: --" + option + " must be a whole number >= 1, not '" + text +
                     "'");
  return v;
}

// The fewest batches of at most kMaxBatch images, evenly filled, so that the padding of the
// last batch stays below one image per batch.
int64_t even_batch(int64_t images) {
  const int64_t batches = (images + kMaxBatch - 1) / kMaxBatch;
  return (images + batches - 1) / batches;
}

std::string describe(const compress::Normalization& n) {
  if (!n.enabled) return "none (pixels in [0, 1])";
  std::ostringstream os;
  os << "(x - " << n.mean << ") / " << n.std;
  return os.str();
}

}  // namespace

int cmd_eval(const std::vector<std::string>& argv) {
  Args args(
      "eval", "eval --workload M.onnx --dataset fashion-mnist [options]",
      "Top-1 accuracy of a classifier workload on a dataset, computed by the reference\n"
      "executor (compress/reference). The input normalization comes from the workload's\n"
      "metadata (codesim.input_mean, codesim.input_std), or from --normalize. An ONNX model\n"
      "is imported for the evaluation batch; other workloads run at their declared batch.",
      {{"workload", "w", "FILE", "classifier: .onnx (with weights), .pb or .textproto"},
       {"dataset", "d", "NAME", "fashion-mnist (Debian package dataset-fashion-mnist)"},
       {"split", "", "SPLIT", "test (default) or train"},
       {"limit", "n", "N", "evaluate the first N images only"},
       {"normalize", "", "MEAN,STD", "x = (pixel/255 - MEAN) / STD, or none; overrides metadata"},
       {"integer", "", "", "quantized gemm/conv2d in integer arithmetic (see compress/reference)"},
       {"batch", "b", "N", "images per executor run for ONNX models (default: at most 256)"},
       {"data-dir", "", "DIR",
        std::string("dataset folder (default ") + workloads::kFashionMnistDir + ")"},
       {"quiet", "q", "", "print only the accuracy, no progress"}});
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  if (!args.has("workload") || !args.has("dataset"))
    throw UsageError(
        "codesim eval: --workload and --dataset are required; see `codesim eval "
        "--help`");
  const std::string dataset = args.get("dataset");
  if (dataset != "fashion-mnist") {
    const std::string hint = sim::did_you_mean(dataset, {"fashion-mnist"});
    throw UsageError("codesim eval: unknown dataset '" + dataset + "'" +
                     (hint.empty() ? "" : " (" + hint + ")"));
  }
  const std::string path = args.get("workload");
  const bool onnx = std::filesystem::path(path).extension() == ".onnx";
  if (args.has("batch") && !onnx)
    throw UsageError("codesim eval: --batch needs an ONNX model; " + path +
                     " runs at the batch it declares");
  const int64_t limit = args.has("limit") ? parse_count("limit", args.get("limit")) : 0;
  const auto start = std::chrono::steady_clock::now();

  const workloads::ImageDataset data = workloads::load_fashion_mnist(
      args.get("split", "test"), limit, args.get("data-dir", workloads::kFashionMnistDir));
  workloads::OnnxImportOptions import;
  import.batch =
      args.has("batch") ? parse_count("batch", args.get("batch")) : even_batch(data.count());
  const ir::v1::Workload w =
      onnx ? workloads::import_onnx(path, import) : workloads::load_workload(path);

  compress::Normalization norm;
  std::string norm_source = "--normalize";
  if (args.has("normalize")) {
    norm = compress::parse_normalization(args.get("normalize"));
  } else if (const auto meta = compress::normalization_from_metadata(w)) {
    norm = *meta;
    norm_source = "workload metadata";
  } else {
    throw UsageError("codesim eval: " + path +
                     " records no input normalization (metadata "
                     "codesim.input_mean, codesim.input_std); pass --normalize MEAN,STD, or "
                     "--normalize none for pixels in [0, 1]");
  }

  const compress::Executor executor(
      w, args.has("integer") ? compress::Arithmetic::kInteger : compress::Arithmetic::kFloat32);
  const bool quiet = args.has("quiet");
  if (args.has("integer") && executor.integer_ops().empty())
    std::cerr << "codesim eval: note: no gemm/conv2d op has quantized weights and activations; "
                 "--integer changes nothing\n";
  const double setup_seconds = seconds_since(start);
  const bool tty = !quiet && isatty(STDERR_FILENO);
  const compress::Array images{data.shape, data.images};
  const auto eval_start = std::chrono::steady_clock::now();
  const compress::EvalResult r = compress::evaluate_classifier(
      executor, images, data.labels, norm, [&](int64_t done, int64_t total) {
        // One redrawn terminal line; in a log file it would be noise.
        if (tty) std::cerr << "\reval: " << done << " / " << total << " images" << std::flush;
      });
  const double eval_seconds = seconds_since(eval_start);
  const int64_t batch = ir::find_tensor(w, w.inputs(0))->shape(0);
  if (tty) std::cerr << "\r\033[K" << std::flush;

  std::cout << std::fixed << std::setprecision(2);
  if (quiet) {
    std::cout << r.top1_percent() << "\n";
    return 0;
  }
  std::cout << "workload    " << w.name() << " (" << path << ")\n"
            << "dataset     fashion-mnist " << args.get("split", "test") << ", " << r.images
            << " images\n"
            << "normalize   " << describe(norm) << " (" << norm_source << ")\n"
            << "arithmetic  "
            << (args.has("integer") ? "integer (" + std::to_string(executor.integer_ops().size()) +
                                          " ops quantized, the rest float32)"
                                    : std::string("float32"))
            << "\n"
            << "top-1       " << r.top1_percent() << " % (" << r.correct << " / " << r.images
            << ")\n"
            << "time        " << eval_seconds << " s evaluating (" << std::setprecision(0)
            << r.images / std::max(eval_seconds, 1e-9) << " images/s, batch " << batch << "), "
            << std::setprecision(2) << setup_seconds << " s loading\n";
  return 0;
}

}  // namespace codesim::cli
