#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "compress/pipeline.h"
#include "compress/quality.h"
#include "compress/reference/evaluate.h"
#include "sim/cli/args.h"
#include "sim/cli/commands.h"
#include "workloads/data/fashion_mnist.h"
#include "workloads/ir/ir.h"
#include "workloads/onnx/onnx_import.h"
#include "workloads/yaml/workload_yaml.h"

namespace codesim::cli {

namespace {

int parse_count(const Args& args, const std::string& name, int fallback) {
  if (!args.has(name)) return fallback;
  const std::string v = args.get(name);
  try {
    size_t used = 0;
    const long n = std::stol(v, &used);
    if (used == v.size() && n >= 0 && n <= 1000000) return static_cast<int>(n);
  } catch (const std::exception&) {
  }
  throw UsageError("codesim compress: --" + name + " expects a count >= 0, not '" + v + "'");
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// The model's normalization (metadata), or pixels in [0, 1] when it records none.
compress::Normalization normalization(const ir::v1::Workload& w) {
  const auto n = compress::normalization_from_metadata(w);
  return n ? *n : compress::Normalization{};
}

// Dataset images, normalized and shaped as the workload's single input with `count` samples.
compress::Array model_inputs(const ir::v1::Workload& w, const workloads::ImageDataset& d) {
  if (w.inputs_size() != 1)
    throw sim::ConfigError("--dataset needs a workload with one input; '" + w.name() + "' has " +
                           std::to_string(w.inputs_size()));
  const ir::v1::Tensor* in = ir::find_tensor(w, w.inputs(0));
  compress::Array a;
  a.shape.assign(in->shape().begin(), in->shape().end());
  int64_t per_sample = 1;
  for (size_t i = 1; i < a.shape.size(); ++i) per_sample *= a.shape[i];
  if (a.shape.empty() || per_sample != d.image_size())
    throw sim::ConfigError("workload input '" + in->name() + "' has shape " + shape_text(a.shape) +
                           ", which does not hold one " + std::to_string(d.image_size()) +
                           "-pixel image per sample");
  a.shape[0] = d.count();
  a.data = d.images;
  compress::normalize(normalization(w), a.data.data(), a.size());
  return a;
}

}  // namespace

int cmd_compress(const std::vector<std::string>& argv) {
  Args args(
      "compress", "compress --workload W --pipeline P.yaml --out DIR [options]",
      "Applies the transforms of pipeline P.yaml to the weights of workload W (.yaml, .pb,\n"
      ".textproto, .onnx) and writes DIR/workload.pb (weights, structure and quantization\n"
      "annotations) and DIR/compress_report.json: per transformed op the parameters and\n"
      "storage bits before and after and the output error ||WX - W'X||^2 / ||WX||^2 on\n"
      "calibration inputs; totals; and with --dataset, top-1 accuracy before and after.\n"
      "Calibration inputs: the first N training images of the dataset, or seeded N(0, 1)\n"
      "inputs of the workload's input shape. An ONNX model is imported for the calibration\n"
      "batch, so that the calibration runs at the batch the workload declares. Shape-only\n"
      "weights (zoo) are synthesized (seeded Kaiming-uniform), which the report states.\n"
      "Pipeline format and transform parameters: compress/README.md.",
      {{"workload", "w", "FILE", "workload: .yaml, .pb, .textproto or .onnx"},
       {"pipeline", "p", "FILE", "pipeline YAML: pipeline: [{transform: NAME, select: ..., ...}]"},
       {"out", "o", "DIR", "output folder (default: compress-out)"},
       {"dataset", "", "NAME", "fashion-mnist: calibrate on its train split, score its test split"},
       {"calibration", "", "N",
        "calibration samples (default 256 with a dataset; without one, the workload's own "
        "batch); 0 = no calibration, output errors not measured"},
       {"limit", "", "N", "score only the first N test images (default: all 10,000)"},
       {"batch", "", "N",
        "batch an ONNX model is imported for (default: the calibration samples, else 1)"},
       {"seed", "", "N", "seed of synthesized weights and random inputs (default 0)"},
       {"no-workload", "", "", "write only the report, not DIR/workload.pb (e.g. for searches)"},
       {"quiet", "q", "", "no table on stdout"}});
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  if (!args.has("workload") || !args.has("pipeline"))
    throw UsageError(
        "codesim compress: --workload and --pipeline are required; see `codesim compress --help`");
  const std::string dataset = args.get("dataset");
  if (!dataset.empty() && dataset != "fashion-mnist")
    throw UsageError("codesim compress: --dataset must be fashion-mnist, not '" + dataset + "'");
  const int limit = parse_count(args, "limit", 0);
  const uint64_t seed = static_cast<uint64_t>(parse_count(args, "seed", 0));

  // Parse the pipeline before the (possibly slow) workload load so its errors come first.
  const compress::Pipeline pipeline = compress::load_pipeline(args.get("pipeline"));
  const std::string path = args.get("workload");
  const bool onnx = std::filesystem::path(path).extension() == ".onnx";
  if (args.has("batch") && !onnx)
    throw UsageError("codesim compress: --batch needs an ONNX model; " + path +
                     " runs at the batch it declares");
  const int requested = parse_count(args, "calibration", dataset.empty() ? -1 : 256);
  workloads::OnnxImportOptions import;
  import.batch = parse_count(args, "batch", requested > 0 ? requested : 1);
  if (import.batch < 1) throw UsageError("codesim compress: --batch must be >= 1");
  ir::v1::Workload w = onnx ? workloads::import_onnx(path, import) : workloads::load_workload(path);
  {
    sim::Diagnostics diags;
    compress::check_selection(pipeline, w, diags);
    diags.throw_if_any();
  }

  compress::CompressReport report;
  report.workload = path;
  report.pipeline = args.get("pipeline");
  report.seed = seed;
  if (onnx)
    report.notes.push_back("the ONNX model was imported for batch " + std::to_string(import.batch) +
                           " (--batch)");

  compress::RunOptions options;
  options.seed = seed;
  const ir::v1::Tensor* input = w.inputs_size() ? ir::find_tensor(w, w.inputs(0)) : nullptr;
  const int declared_batch = input && input->shape_size() ? static_cast<int>(input->shape(0)) : 1;
  const int calibration = requested >= 0 ? requested : declared_batch;
  report.calibration_samples = calibration;
  if (calibration > 0) {
    compress::TransformContext ctx;
    ctx.seed = seed;
    const auto synthesized = compress::ensure_all_values(w, ctx);
    if (dataset.empty()) {
      options.calibration = compress::random_inputs(w, calibration, seed);
      report.calibration = std::to_string(calibration) + " seeded N(0, 1) random inputs (seed " +
                           std::to_string(seed) + ")";
    } else {
      options.calibration = {
          {w.inputs(0), model_inputs(w, workloads::load_fashion_mnist("train", calibration))}};
      report.calibration =
          "the first " + std::to_string(calibration) + " fashion-mnist train images";
    }
    if (!synthesized.empty())
      report.calibration += "; " + std::to_string(synthesized.size()) +
                            " shape-only weights synthesized (seeded Kaiming-uniform) to run them";
  } else {
    report.calibration = "none (--calibration 0): output errors not measured";
  }

  const ir::v1::Workload original = w;
  report.params_before = compress::workload_stored_params(w);
  report.bits_before = compress::workload_storage_bits(w);
  report.steps = compress::run_pipeline(pipeline, w, options);
  report.params_after = compress::workload_stored_params(w);
  report.bits_after = compress::workload_storage_bits(w);

  if (!dataset.empty()) {
    const workloads::ImageDataset test = workloads::load_fashion_mnist("test", limit);
    const compress::Array images{test.shape, test.images};
    compress::AccuracyResult acc;
    acc.dataset = dataset + " test";
    acc.images = static_cast<int>(test.count());
    acc.top1_before = compress::evaluate_classifier(compress::Executor(original), images,
                                                    test.labels, normalization(original))
                          .top1_percent();
    std::string retrain;
    for (const auto& s : report.steps)
      for (const auto& c : s.changes)
        if (c.needs_retraining && retrain.empty()) retrain = c.op;
    if (retrain.empty()) {
      const compress::Executor after(w, compress::Arithmetic::kInteger);
      acc.top1_after = compress::evaluate_classifier(after, images, test.labels, normalization(w))
                           .top1_percent();
      acc.integer_ops = after.integer_ops();
    } else {
      acc.after_note = "needs retraining (op '" + retrain + "' became an adder op)";
    }
    report.accuracy = acc;
  }

  const std::filesystem::path out = args.get("out", "compress-out");
  std::filesystem::create_directories(out);
  const std::string pb = (out / "workload.pb").string();
  const std::string json = (out / "compress_report.json").string();
  if (!args.has("no-workload")) ir::save_proto_file(w, pb);
  std::ofstream(json) << compress::report_json(report);
  if (!args.has("quiet")) std::cout << compress::report_table(report);
  std::cout << "wrote " << (args.has("no-workload") ? "" : pb + " ") << json << "\n";
  return 0;
}

}  // namespace codesim::cli
