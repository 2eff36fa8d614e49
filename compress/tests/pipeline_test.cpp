#include "compress/pipeline.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compress/quality.h"
#include "compress/tests/compress_test_util.h"
#include "compress/transform.h"

namespace codesim::compress {
namespace {

using namespace testing;

TEST_CASE("registered transforms are exactly the folders under compress/transforms", "[unit]") {
  std::set<std::string> folders;
  for (const auto& e : std::filesystem::directory_iterator(std::string(CODESIM_SOURCE_DIR) +
                                                           "/compress/transforms"))
    if (e.is_directory()) folders.insert(e.path().filename().string());
  const auto names = TransformRegistry::instance().names();
  CHECK(std::set<std::string>(names.begin(), names.end()) == folders);
}

TEST_CASE("every registered transform documents its parameters and kinds", "[unit]") {
  for (const auto& name : TransformRegistry::instance().names()) {
    const TransformEntry* e = TransformRegistry::instance().find(name);
    INFO(name);
    CHECK(!e->summary.empty());
    CHECK(!e->kinds().empty());
    for (const auto& p : e->params()) CHECK(!p.doc.empty());
  }
}

TEST_CASE("pipeline errors are all reported at once with locations and hints", "[unit]") {
  const std::string text = parse_errors(R"(pipeline:
  - transform: quantise
    bits: 8
  - transform: nm
    select: {kind: gem, nmae: "fc.*"}
    n: 4
    m: 4
  - transform: quantize
    bits: 40
    sheme: symmetric
  - transform: prune
    select: {name: "fc[("}
)");
  CHECK(text.find("test.yaml:2:16: error: pipeline[0].transform: unknown transform 'quantise' "
                  "(did you mean 'quantize'?)") != std::string::npos);
  CHECK(text.find("pipeline[1].select.kind: unknown op kind 'gem' (did you mean 'gemm'?)") !=
        std::string::npos);
  CHECK(text.find("pipeline[1].select.nmae") != std::string::npos);
  CHECK(text.find("did you mean 'name'?") != std::string::npos);
  CHECK(text.find("test.yaml:6:8: error: pipeline[1].n: n (4) must be smaller than m (4)") !=
        std::string::npos);
  CHECK(text.find("test.yaml:9:11: error: pipeline[2].bits: 40 is out of range [2, 16]") !=
        std::string::npos);
  CHECK(text.find("pipeline[2].sheme") != std::string::npos);
  CHECK(text.find("did you mean 'scheme'?") != std::string::npos);
  CHECK(text.find("pipeline[3].select.name: invalid regular expression") != std::string::npos);
  CHECK(text.find("pipeline[3].density: missing required parameter") != std::string::npos);
}

TEST_CASE("pipeline structure errors", "[unit]") {
  CHECK(parse_errors("steps: []\n").find("missing `pipeline:`") != std::string::npos);
  CHECK(parse_errors("pipeline: []\n").find("the pipeline has no steps") != std::string::npos);
  CHECK(parse_errors("pipeline: [quantize]\n").find("expected a map") != std::string::npos);
  CHECK(parse_errors("pipeline: [{bits: 8}]\n").find("missing `transform:`") != std::string::npos);
  CHECK(parse_errors("pipeline: [{transform: lowrank}]\n")
            .find("needs one of rank, rank_fraction or energy") != std::string::npos);
  CHECK(parse_errors("pipeline: [{transform: quantize, bits: 4}]\n").empty());
}

TEST_CASE("selectors AND kind and a full-name regex, unaccepted ops are skipped", "[unit]") {
  ir::v1::Workload w = mlp();
  const auto results =
      run("pipeline: [{transform: quantize, select: {name: \"fc.\"}, bits: 8},"
          " {transform: pow2, select: {kind: gemm, name: fc2}}]",
          w);
  REQUIRE(results.size() == 2);
  REQUIRE(results[0].changes.size() == 2);
  CHECK(results[0].changes[0].op == "fc1");
  CHECK(results[0].changes[1].op == "fc2");
  REQUIRE(results[1].changes.size() == 1);
  CHECK(results[1].changes[0].op == "fc2");

  ir::v1::Workload w2 = mlp();
  const auto all = run("pipeline: [{transform: nm}]", w2);
  CHECK(all[0].changes.size() == 2);
  CHECK(all[0].skipped == std::vector<std::string>{"relu"});
}

TEST_CASE("a step that selects no accepted op is an error naming the step", "[unit]") {
  ir::v1::Workload w = mlp();
  const Pipeline p = pipeline(
      "pipeline:\n  - {transform: nm}\n  - {transform: quantize, select: {kind: eltwise}}\n"
      "  - {transform: prune, density: 0.5, select: {name: conv.*}}\n");
  sim::Diagnostics d;
  check_selection(p, w, d);
  REQUIRE(d.size() == 2);
  CHECK(d.list()[0].str().find("test.yaml:3:5: error: pipeline[1].select: step selects no op "
                               "that 'quantize' accepts (kind=eltwise") != std::string::npos);
  CHECK(d.list()[0].str().find("selected but not accepted: 1 ops, e.g. 'relu'") !=
        std::string::npos);
  CHECK(d.list()[1].path == "pipeline[2].select");
  CHECK_THROWS_AS(run_pipeline(p, w, {}), sim::ConfigError);
}

TEST_CASE("params and bits before/after are measured from the tensors", "[unit]") {
  ir::v1::Workload w = mlp(4, 64, 48, 10);
  const auto r =
      run("pipeline: [{transform: nm, select: {name: fc1}, n: 2, m: 4},"
          " {transform: quantize, select: {name: fc1}, bits: 8,"
          " granularity: per_tensor}]",
          w);
  const OpChange& nm = r[0].changes[0];
  CHECK(nm.params_before == 64 * 48 + 48);
  CHECK(nm.params_after == 64 * 48 / 2 + 48);
  CHECK(nm.bits_before == (64 * 48 + 48) * 32);
  // Two 2-bit indices per group of 4.
  CHECK(nm.figures.at("metadata_bits") == 64 * 48 / 2 * 2);
  CHECK(nm.bits_after == (64 * 48 / 2 + 48) * 32 + 64 * 48 / 2 * 2);
  const OpChange& q = r[1].changes[0];
  CHECK(q.params_before == nm.params_after);
  CHECK(q.params_after == nm.params_after);
  // int8 values, index metadata, one float32 scale; the bias stays float32.
  CHECK(q.bits_after == 64 * 48 / 2 * 8 + 64 * 48 / 2 * 2 + 32 + 48 * 32);
}

TEST_CASE("shape-only weights are synthesized reproducibly and the change says so", "[unit]") {
  ir::v1::Workload a = mlp(4, 64, 48, 10, false), b = mlp(4, 64, 48, 10, false);
  const auto ra = run("pipeline: [{transform: prune, density: 0.5}]", a, 0);
  run("pipeline: [{transform: prune, density: 0.5}]", b, 0);
  CHECK(ra[0].changes[0].synthesized_weights);
  const auto& wa = tensor(a, "fc1.W");
  const auto& wb = tensor(b, "fc1.W");
  REQUIRE(wa.float_data_size() == 64 * 48);
  CHECK(std::equal(wa.float_data().begin(), wa.float_data().end(), wb.float_data().begin()));
  const float bound = 1.0f / 8.0f;  // 1/sqrt(fan_in = 64)
  for (float v : wa.float_data()) CHECK(std::fabs(v) <= bound);
  CHECK(ra[0].changes[0].output_error < 0);  // no calibration data
}

TEST_CASE("output error is the normalized layer-output error, 0 for an exact rewrite", "[unit]") {
  ir::v1::Workload w = mlp(4, 64, 48, 10);
  // Full rank reproduces the op up to float rounding.
  auto full = run("pipeline: [{transform: lowrank, select: {name: fc1}, rank_fraction: 1}]", w);
  CHECK(full[0].changes[0].output_error < 1e-9);
  ir::v1::Workload w2 = mlp(4, 64, 48, 10);
  auto half = run("pipeline: [{transform: lowrank, select: {name: fc1}, rank: 8}]", w2);
  const double e = half[0].changes[0].output_error;
  CHECK(e > 0.05);
  CHECK(e < 1.0);
}

TEST_CASE("the report JSON carries every field the issue lists", "[unit]") {
  ir::v1::Workload w = mlp();
  CompressReport r;
  r.workload = "mlp";
  r.pipeline = "p.yaml";
  r.calibration = "16 random";
  r.params_before = workload_stored_params(w);
  r.bits_before = workload_storage_bits(w);
  r.steps =
      run("pipeline: [{transform: quantize, bits: 4}, {transform: adder, select: {name: "
          "fc2}}]",
          w);
  r.params_after = workload_stored_params(w);
  r.bits_after = workload_storage_bits(w);
  const std::string j = report_json(r);
  for (const char* key :
       {"\"params_before\"", "\"params_after\"", "\"bits_before\"", "\"bits_after\"",
        "\"output_error\"", "\"totals\"", "\"needs retraining\"", "\"compression_ratio\""})
    CHECK(j.find(key) != std::string::npos);
  CHECK(r.bits_after < r.bits_before);
}

TEST_CASE("compress/README.md shows every documented transform's current parameters", "[unit]") {
  std::ifstream in(std::string(CODESIM_SOURCE_DIR) + "/compress/README.md");
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string text = readme.str();
  for (const auto& name : TransformRegistry::instance().names()) {
    const bool documented = text.find("\n### " + name + "\n") != std::string::npos;
    const auto params = TransformRegistry::instance().find(name)->params();
    const std::string table =
        params.empty() ? "No parameters.\n" : sim::format_params_markdown(params);
    INFO("### " << name << " needs:\n" << table);
    CHECK(documented);
    CHECK(text.find(table) != std::string::npos);
  }
}

}  // namespace
}  // namespace codesim::compress
