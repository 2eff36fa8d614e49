// The reference executor against torch on the committed Fashion-MNIST models
// (workloads/models/fashion_mnist): logits on 16 images and top-1 accuracy on the 10,000 test
// images, after the ONNX importer.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "compress/reference/evaluate.h"
#include "sim/core/diagnostics.h"
#include "tests/test_util.h"
#include "workloads/data/fashion_mnist.h"
#include "workloads/onnx/onnx_import.h"

namespace codesim::compress {
namespace {

using Catch::Matchers::Contains;

std::string model_dir() { return test::source_path("workloads/models/fashion_mnist/"); }

std::vector<float> read_f32(const std::string& name, size_t count) {
  std::vector<float> v(count);
  std::ifstream in(model_dir() + name, std::ios::binary);
  REQUIRE(in);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(float)));
  REQUIRE(in.gcount() == static_cast<std::streamsize>(count * sizeof(float)));
  return v;
}

nlohmann::json models_json() {
  std::ifstream in(model_dir() + "models.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

ir::v1::Workload import(const std::string& file, int64_t batch) {
  workloads::OnnxImportOptions options;
  options.batch = batch;
  return workloads::import_onnx(model_dir() + file, options);
}

// The first output of `w` run on the 16 reference inputs.
Array logits_16(const ir::v1::Workload& w) {
  const Executor e(w);
  const Array x{{16, 1, 28, 28}, read_f32("ref_inputs_16.f32", 16 * 784)};
  return e.run({{w.inputs(0), x}}).at(w.outputs(0));
}

// Largest |ours - torch| over the 16 x 10 logits, relative to the largest |torch logit|.
double relative_logit_error(const Array& ours, const std::string& reference) {
  const std::vector<float> torch = read_f32(reference, 160);
  REQUIRE(ours.shape == std::vector<int64_t>{16, 10});
  double err = 0, peak = 0;
  for (size_t i = 0; i < torch.size(); ++i) {
    err = std::max(err, double(std::abs(ours.data[i] - torch[i])));
    peak = std::max(peak, double(std::abs(torch[i])));
  }
  return err / peak;
}

// Measured: 4e-7 (mlp), 9e-7 (cnn), 2e-7 (vit, both opsets), 2e-7 (lstm); float32 sums in
// another order than torch's reference BLAS and oneDNN account for them.
constexpr double kLogitTolerance = 1e-5;

void check_logits(const std::string& file, const std::string& reference) {
  const double err = relative_logit_error(logits_16(import(file, 16)), reference);
  INFO(file << ": max |logit error| / max |logit| = " << err);
  REQUIRE(err <= kLogitTolerance);
}

TEST_CASE("mlp logits match torch's on the 16 reference images", "[golden]") {
  check_logits("mlp.onnx", "ref_mlp_logits_16.f32");
}
TEST_CASE("cnn logits (with BatchNorm folded by the importer) match torch's", "[golden]") {
  check_logits("cnn.onnx", "ref_cnn_logits_16.f32");
}
TEST_CASE("vit logits match torch's", "[golden]") {
  check_logits("vit.onnx", "ref_vit_logits_16.f32");
}
TEST_CASE("vit logits from the opset 13 export (decomposed LayerNorm) match torch's", "[golden]") {
  check_logits("vit_opset13.onnx", "ref_vit_logits_16.f32");
}
TEST_CASE("lstm logits match torch's", "[golden]") {
  check_logits("lstm.onnx", "ref_lstm_logits_16.f32");
}

TEST_CASE("models imported for batch 1 run 16 images, or say why they cannot", "[golden]") {
  for (const std::string m : {"mlp", "cnn", "vit"}) {
    INFO(m);
    REQUIRE(relative_logit_error(logits_16(import(m + ".onnx", 1)),
                                 "ref_" + m + "_logits_16.f32") <= kLogitTolerance);
  }
  // The LSTM reshapes its last hidden state to [num_directions = 1, batch = 1, 128]: two axes of
  // the declared batch size, so the batch axis is unknown.
  REQUIRE_THROWS_WITH(logits_16(import("lstm.onnx", 1)),
                      Contains("no single axis of the declared batch (1) to resize"));
}

TEST_CASE("normalized test images equal the training script's inputs bit for bit", "[golden]") {
  const ir::v1::Workload w = import("mlp.onnx", 1);
  const auto norm = normalization_from_metadata(w);
  REQUIRE(norm);
  workloads::ImageDataset d = workloads::load_fashion_mnist("test", 16);
  normalize(*norm, d.images.data(), static_cast<int64_t>(d.images.size()));
  REQUIRE(d.images == read_f32("ref_inputs_16.f32", 16 * 784));
}

// Top-1 accuracy on all 10,000 test images, within 0.3 points of torch's (models.json).
void check_accuracy(const std::string& model, const std::string& file) {
  const double torch = models_json()["models"][model]["test_top1_percent"].get<double>();
  const ir::v1::Workload w = import(file, 250);
  const workloads::ImageDataset d = workloads::load_fashion_mnist("test");
  const EvalResult r = evaluate_classifier(Executor(w), Array{d.shape, d.images}, d.labels,
                                           *normalization_from_metadata(w));
  REQUIRE(r.images == 10000);
  INFO(file << ": " << r.top1_percent() << " % here, " << torch << " % in torch");
  REQUIRE(std::abs(r.top1_percent() - torch) <= 0.3);
}

TEST_CASE("mlp top-1 accuracy on the test set matches torch's", "[golden]") {
  check_accuracy("mlp", "mlp.onnx");
}
TEST_CASE("cnn top-1 accuracy on the test set matches torch's", "[golden]") {
  check_accuracy("cnn", "cnn.onnx");
}
TEST_CASE("vit top-1 accuracy on the test set matches torch's", "[golden]") {
  check_accuracy("vit", "vit.onnx");
}
TEST_CASE("vit (opset 13) top-1 accuracy on the test set matches torch's", "[golden]") {
  check_accuracy("vit", "vit_opset13.onnx");
}
TEST_CASE("lstm top-1 accuracy on the test set matches torch's", "[golden]") {
  check_accuracy("lstm", "lstm.onnx");
}

// Symmetric int8 quantization of every gemm: weights per output channel, activations per tensor
// with the largest |value| seen on `calibration` images (float run).
void quantize_gemms(ir::v1::Workload& w, const Array& calibration) {
  const auto values = Executor(w).run({{w.inputs(0), calibration}});
  for (const auto& op : w.ops()) {
    if (op.kind_case() != ir::v1::Op::kGemm) continue;
    ir::v1::Tensor* x = nullptr;
    ir::v1::Tensor* weight = nullptr;
    for (auto& t : *w.mutable_tensors()) {
      if (t.name() == op.inputs(0)) x = &t;
      if (t.name() == op.inputs(1)) weight = &t;
    }
    const auto it = values.find(op.inputs(0));
    const std::vector<float>& seen = it != values.end() ? it->second.data : calibration.data;
    float peak = 0;
    for (float v : seen) peak = std::max(peak, std::abs(v));
    x->set_dtype(ir::v1::INT);
    x->set_bits(8);
    x->mutable_quantization()->add_scale(peak / 127);
    const int64_t k = weight->shape(0), n = weight->shape(1);
    std::vector<float> scale(static_cast<size_t>(n), 0.0f);
    for (int64_t i = 0; i < k * n; ++i)
      scale[i % n] =
          std::max(scale[i % n], std::abs(weight->float_data(static_cast<int>(i))) / 127);
    for (int64_t i = 0; i < k * n; ++i)
      weight->add_int_data(static_cast<int32_t>(
          std::nearbyint(weight->float_data(static_cast<int>(i)) / scale[i % n])));
    weight->clear_float_data();
    weight->set_dtype(ir::v1::INT);
    weight->set_bits(8);
    for (float s : scale) weight->mutable_quantization()->add_scale(s);
    weight->mutable_quantization()->set_axis(1);
  }
}

TEST_CASE("an int8 mlp in integer arithmetic keeps the float accuracy within a point", "[golden]") {
  ir::v1::Workload w = import("mlp.onnx", 250);
  const auto norm = *normalization_from_metadata(w);
  workloads::ImageDataset calib = workloads::load_fashion_mnist("train", 250);
  normalize(norm, calib.images.data(), static_cast<int64_t>(calib.images.size()));
  const ir::v1::Workload float_model = w;
  quantize_gemms(w, Array{calib.shape, calib.images});
  const Executor integer(w, Arithmetic::kInteger);
  REQUIRE(integer.integer_ops().size() == 3);
  const workloads::ImageDataset d = workloads::load_fashion_mnist("test", 1000);
  const Array images{d.shape, d.images};
  const EvalResult q = evaluate_classifier(integer, images, d.labels, norm);
  const EvalResult f = evaluate_classifier(Executor(float_model), images, d.labels, norm);
  INFO("int8 " << q.top1_percent() << " %, float " << f.top1_percent() << " %");
  REQUIRE(std::abs(q.top1_percent() - f.top1_percent()) <= 1.0);
  // The integer path really ran: quantized activations move every logit a little.
  const Array x{{16, 1, 28, 28}, read_f32("ref_inputs_16.f32", 16 * 784)};
  const Array yq = integer.run({{w.inputs(0), x}}).at(w.outputs(0));
  const Array yf = Executor(float_model).run({{w.inputs(0), x}}).at(w.outputs(0));
  double err = 0, peak = 0;
  for (size_t i = 0; i < yf.data.size(); ++i) {
    err = std::max(err, double(std::abs(yq.data[i] - yf.data[i])));
    peak = std::max(peak, double(std::abs(yf.data[i])));
  }
  INFO("int8 logits differ from float by up to " << err / peak << " of the largest");
  REQUIRE(err > 0);
  REQUIRE(err <= 0.05 * peak);
}

}  // namespace
}  // namespace codesim::compress
