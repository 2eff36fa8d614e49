// The codesim command line: describe, validate, help, and the registry's promise that every
// model folder registers exactly one accelerator under the folder's name.

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "compress/transform.h"
#include "sim/core/registry.h"
#include "tests/test_util.h"

using codesim::test::run_codesim;
using codesim::test::source_path;
using codesim::test::temp_dir;
using codesim::test::write_file;

TEST_CASE("registered accelerator names equal the model folder names", "[unit]") {
  std::vector<std::string> folders;
  for (const auto& e : std::filesystem::directory_iterator(source_path("arch/models")))
    if (e.is_directory()) folders.push_back(e.path().filename().string());
  std::sort(folders.begin(), folders.end());
  CHECK(codesim::sim::Registry::instance().accelerator_names() == folders);
}

TEST_CASE("describe prints every declared parameter of a model", "[unit]") {
  const auto c = run_codesim("describe systolic");
  REQUIRE(c.status == 0);
  const auto* e = codesim::sim::Registry::instance().accelerator("systolic");
  REQUIRE(e);
  for (const auto& p : e->params()) {
    CHECK_THAT(c.out, Catch::Contains(p.name));
    CHECK_THAT(c.out, Catch::Contains(p.doc));
  }
  const auto list = run_codesim("describe");
  CHECK(list.status == 0);
  CHECK_THAT(list.out, Catch::Contains("systolic"));
}

TEST_CASE("describe --transform prints a transform's parameters and op kinds", "[unit]") {
  const auto& reg = codesim::compress::TransformRegistry::instance();
  const auto* nm = reg.find("nm");
  REQUIRE(nm);
  const auto c = run_codesim("describe --transform nm");
  REQUIRE(c.status == 0);
  for (const auto& p : nm->params()) {
    CHECK_THAT(c.out, Catch::Contains(p.name));
    CHECK_THAT(c.out, Catch::Contains(p.doc));
  }
  for (const auto& k : nm->kinds()) CHECK_THAT(c.out, Catch::Contains(k));
  const auto md = run_codesim("describe --transform nm --markdown");
  CHECK(md.out == codesim::sim::format_params_markdown(nm->params()));
  const auto list = run_codesim("describe");
  for (const auto& n : reg.names()) CHECK_THAT(list.out, Catch::Contains(n));
  const auto typo = run_codesim("describe --transform lowrnak");
  CHECK(typo.status == 2);
  CHECK_THAT(typo.err, Catch::Contains("lowrank"));
}

TEST_CASE("validate lists every problem of a workload with its path", "[unit]") {
  const std::string dir = temp_dir();
  const std::string bad = write_file(dir, "bad.textproto", R"(name: "bad"
ops { name: "c0" conv2d { batch: 1 h: 8 w: 8 c: 4 filters: 4 kernel_h: 3 kernel_w: 3
      stride_h: 0 stride_w: 1 } }
ops { name: "g0" gemm { m: 4 n: 0 k: 4 } }
)");
  const auto c = run_codesim("validate " + bad);
  CHECK(c.status == 2);
  CHECK_THAT(c.err, Catch::Contains("ops[0].conv2d.stride_h: must be >= 1"));
  CHECK_THAT(c.err, Catch::Contains("ops[1].gemm.n: must be >= 1"));

  const std::string good = write_file(dir, "good.textproto",
                                      "name: \"good\" ops { name: \"g\" gemm { m: 4 n: 4 k: 4 } }");
  const auto ok = run_codesim("validate " + good);
  CHECK(ok.status == 0);
  CHECK_THAT(ok.out, Catch::Contains("ok"));

  const std::string garbage = write_file(dir, "garbage.pb", "\x01\x02 not a protobuf \xff\xff");
  const auto g = run_codesim("validate " + garbage);
  CHECK(g.status == 2);
  CHECK_THAT(g.err, Catch::Contains(garbage));
}

TEST_CASE("every command explains itself with --help", "[unit]") {
  for (const std::string cmd : {"run", "describe", "validate", "workload"}) {
    const auto c = run_codesim(cmd + " --help");
    CHECK(c.status == 0);
    CHECK_THAT(c.out, Catch::StartsWith("usage: codesim " + cmd));
  }
  const auto top = run_codesim("--help");
  CHECK(top.status == 0);
  CHECK_THAT(top.out, Catch::Contains("run"));
  CHECK(run_codesim("frobnicate").status == 2);
}
