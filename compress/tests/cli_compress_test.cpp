#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "workloads/ir/ir.h"

namespace codesim::compress {
namespace {

TEST_CASE("codesim compress: int8 mlp.onnx keeps top-1 within 1 point of torch", "[golden]") {
  const std::string dir = test::temp_dir();
  const std::string pipeline = test::write_file(
      dir, "int8.yaml",
      "pipeline:\n  - {transform: quantize, select: {kind: gemm}, bits: 8, activations: true}\n");
  const auto c = test::run_codesim(
      "compress --workload " + test::source_path("workloads/models/fashion_mnist/mlp.onnx") +
      " --pipeline " + pipeline + " --out " + dir + "/out --dataset fashion-mnist");
  INFO(c.err);
  REQUIRE(c.status == 0);
  CHECK(c.out.find("wrote " + dir + "/out/workload.pb") != std::string::npos);
  const auto j = nlohmann::json::parse(test::read_file(dir + "/out/compress_report.json"));
  REQUIRE(j["ops"].size() == 3);
  for (const auto& op : j["ops"]) {
    CHECK(op["bits_after"].get<int64_t>() < op["bits_before"].get<int64_t>() / 3);
    CHECK(op["output_error"].get<double>() < 1e-3);
  }
  const auto& acc = j["accuracy"];
  CHECK(acc["images"] == 10000);
  CHECK(acc["integer_ops"].size() == 3);
  const auto models = nlohmann::json::parse(
      test::read_file(test::source_path("workloads/models/fashion_mnist/models.json")));
  const double torch = models["models"]["mlp"]["test_top1_percent"];
  const double after = acc["top1_after"];
  CHECK(std::fabs(after - torch) <= 1.0);
  const ir::v1::Workload w = ir::load_proto_file(dir + "/out/workload.pb");
  int quantized = 0;
  for (const auto& t : w.tensors()) quantized += t.is_weight() && t.int_data_size() > 0;
  CHECK(quantized == 3);
}

TEST_CASE("codesim compress: pipeline errors exit 2 listing every problem", "[unit]") {
  const std::string dir = test::temp_dir();
  const std::string pipeline = test::write_file(
      dir, "bad.yaml", "pipeline:\n  - {transform: nm, n: 5, m: 4}\n  - {transform: lowrnk}\n");
  const auto c = test::run_codesim("compress --workload " +
                                   test::source_path("workloads/models/fashion_mnist/mlp.onnx") +
                                   " --pipeline " + pipeline + " --out " + dir + "/out");
  CHECK(c.status == 2);
  CHECK(c.err.find("bad.yaml:2:") != std::string::npos);
  CHECK(c.err.find("n (5) must be smaller than m (4)") != std::string::npos);
  CHECK(c.err.find("unknown transform 'lowrnk' (did you mean 'lowrank'?)") != std::string::npos);
  CHECK(!std::filesystem::exists(dir + "/out"));
}

}  // namespace
}  // namespace codesim::compress
