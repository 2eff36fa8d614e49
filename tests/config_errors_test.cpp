// Configuration errors, end to end through the codesim binary: every problem of a file is
// reported at once, each with file:line:col, the key path and a hint, and the exit status is 2.

#include <catch2/catch.hpp>

#include "tests/test_util.h"

using codesim::test::run_codesim;
using codesim::test::temp_dir;
using codesim::test::write_file;

namespace {

std::string workload(const std::string& dir) {
  return write_file(dir, "w.yaml",
                    "workload: {name: one, ops: [{name: g, gemm: {m: 8, n: 8, k: 8}}]}\n");
}

}  // namespace

TEST_CASE("arch file errors are all reported with file:line:col, path and hint", "[unit]") {
  const std::string dir = temp_dir();
  const std::string arch = write_file(dir, "arch.yaml",
                                      "accelerator:\n"
                                      "  model: systolic\n"
                                      "  rowz: 32\n"
                                      "  cols: wide\n"
                                      "  dataflow: xs\n"
                                      "  clock_mhz: -5\n");
  const auto c = run_codesim("run --arch " + arch + " --workload " + workload(dir) + " -q");
  CHECK(c.status == 2);
  // Unknown key, with did-you-mean.
  CHECK_THAT(c.err, Catch::Contains(arch + ":3:3: error: accelerator.rowz: unknown key"));
  CHECK_THAT(c.err, Catch::Contains("did you mean 'rows'?"));
  // Wrong type.
  CHECK_THAT(c.err, Catch::Contains(arch + ":4:9: error: accelerator.cols: expected an integer"));
  // Not one of the choices.
  CHECK_THAT(c.err, Catch::Contains(arch + ":5:13: error: accelerator.dataflow: 'xs' is not one"));
  // Out of range.
  CHECK_THAT(c.err,
             Catch::Contains(arch + ":6:14: error: accelerator.clock_mhz: -5 is out of range"));
  // Nothing was simulated, nothing written.
  CHECK(c.out.empty());
}

TEST_CASE("a missing required key is named with its place", "[unit]") {
  const std::string dir = temp_dir();
  const std::string arch =
      write_file(dir, "arch.yaml", "technology: generic45\naccelerator: {rows: 4}\n");
  const auto c = run_codesim("run --arch " + arch + " --workload " + workload(dir) + " -q");
  CHECK(c.status == 2);
  CHECK_THAT(c.err,
             Catch::Contains(arch + ":2:14: error: accelerator.model: missing required key"));
  CHECK_THAT(c.err, Catch::Contains("systolic"));  // the hint lists the registered models
}

TEST_CASE("malformed YAML is an error with its location, not a crash", "[unit]") {
  const std::string dir = temp_dir();
  const std::string arch =
      write_file(dir, "arch.yaml", "accelerator: {model: systolic, rows: [1, 2\n");
  const auto c = run_codesim("run --arch " + arch + " --workload " + workload(dir) + " -q");
  CHECK(c.status == 2);
  CHECK_THAT(c.err, Catch::Contains(arch + ":"));
  CHECK_THAT(c.err, Catch::Contains("malformed YAML"));
}

TEST_CASE("a -p override with a bad value points at the command line", "[unit]") {
  const std::string dir = temp_dir();
  const std::string arch = write_file(dir, "arch.yaml", "accelerator: {model: systolic}\n");
  const auto c = run_codesim("run --arch " + arch + " --workload " + workload(dir) +
                             " -q -p accelerator.rows=0");
  CHECK(c.status == 2);
  CHECK_THAT(c.err,
             Catch::Contains("<command line -p>: error: accelerator.rows: 0 is out of range"));
}

TEST_CASE("an unknown model and an unknown option get did-you-mean hints", "[unit]") {
  const std::string dir = temp_dir();
  const std::string arch = write_file(dir, "arch.yaml", "accelerator: {model: systolik}\n");
  auto c = run_codesim("run --arch " + arch + " --workload " + workload(dir) + " -q");
  CHECK(c.status == 2);
  CHECK_THAT(c.err, Catch::Contains("unknown accelerator model 'systolik'"));
  CHECK_THAT(c.err, Catch::Contains("did you mean 'systolic'?"));
  c = run_codesim("run --arhc " + arch);
  CHECK(c.status == 2);
  CHECK_THAT(c.err, Catch::Contains("did you mean '--arch'?"));
}
