// `codesim eval`: accuracy, normalization sources and errors, through the binary.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "workloads/ir/ir.h"
#include "workloads/onnx/onnx_import.h"

namespace codesim::compress {
namespace {

using Catch::Matchers::Contains;

const std::string kMlp = test::source_path("workloads/models/fashion_mnist/mlp.onnx");

// The MLP as a .pb declared for batch 100, without the normalization metadata.
std::string mlp_pb_without_metadata() {
  workloads::OnnxImportOptions options;
  options.batch = 100;
  ir::v1::Workload w = workloads::import_onnx(kMlp, options);
  w.clear_metadata();
  const std::string path = test::temp_dir() + "/mlp.pb";
  ir::save_proto_file(w, path);
  return path;
}

TEST_CASE("codesim eval prints the mlp's torch accuracy on the 10,000 test images", "[golden]") {
  std::ifstream in(test::source_path("workloads/models/fashion_mnist/models.json"));
  const double torch = nlohmann::json::parse(in)["models"]["mlp"]["test_top1_percent"];
  const auto quiet = test::run_codesim("eval --workload " + kMlp + " --dataset fashion-mnist -q");
  INFO(quiet.err);
  REQUIRE(quiet.status == 0);
  REQUIRE(std::abs(std::stod(quiet.out) - torch) <= 0.3);
  const auto full = test::run_codesim("eval -w " + kMlp + " -d fashion-mnist --limit 500");
  REQUIRE(full.status == 0);
  REQUIRE_THAT(full.out, Contains("fashion-mnist test, 500 images"));
  REQUIRE_THAT(full.out, Contains("(x - 0.286) / 0.353 (workload metadata)"));
  REQUIRE_THAT(full.out, Contains("batch 250"));
}

TEST_CASE("codesim eval needs a normalization from metadata or --normalize", "[unit]") {
  const std::string pb = mlp_pb_without_metadata();
  const std::string base = "eval --workload " + pb + " --dataset fashion-mnist --limit 300 -q";
  const auto missing = test::run_codesim(base);
  REQUIRE(missing.status == 2);
  REQUIRE_THAT(missing.err, Contains("records no input normalization"));
  REQUIRE_THAT(missing.err, Contains("pass --normalize MEAN,STD"));
  // The same numbers as the metadata of the ONNX file give the same accuracy.
  const auto given = test::run_codesim(base + " --normalize 0.286,0.353");
  const auto onnx =
      test::run_codesim("eval --workload " + kMlp + " --dataset fashion-mnist --limit 300 -q");
  REQUIRE(given.status == 0);
  REQUIRE(onnx.status == 0);
  REQUIRE(given.out == onnx.out);
  const auto bad = test::run_codesim(base + " --normalize 0.286");
  REQUIRE(bad.status == 2);
  REQUIRE_THAT(bad.err, Contains("expected MEAN,STD"));
  const auto batch = test::run_codesim(base + " --normalize none --batch 10");
  REQUIRE(batch.status == 2);
  REQUIRE_THAT(batch.err, Contains("--batch needs an ONNX model"));
}

TEST_CASE("codesim eval reports unknown datasets and a missing dataset package", "[unit]") {
  const auto unknown = test::run_codesim("eval --workload " + kMlp + " --dataset fashion-mnst");
  REQUIRE(unknown.status == 2);
  REQUIRE_THAT(unknown.err, Contains("did you mean 'fashion-mnist'"));
  const auto missing = test::run_codesim("eval --workload " + kMlp +
                                         " --dataset fashion-mnist --data-dir /nonexistent");
  REQUIRE(missing.status == 2);
  REQUIRE_THAT(missing.err, Contains("apt-get install dataset-fashion-mnist"));
}

TEST_CASE("codesim eval --integer on a float model notes that nothing is quantized", "[unit]") {
  const std::string args = "eval --workload " + kMlp + " --dataset fashion-mnist --limit 200";
  const auto f = test::run_codesim(args + " -q");
  const auto i = test::run_codesim(args + " -q --integer");
  REQUIRE(i.status == 0);
  REQUIRE_THAT(i.err, Contains("no gemm/conv2d op has quantized weights and activations"));
  REQUIRE(i.out == f.out);
}

}  // namespace
}  // namespace codesim::compress
