// ParamSchema: a text parameter's own syntax check reports at the value's place, together with
// every other problem of the map, and a valid value parses.

#include "sim/core/params.h"

#include <catch2/catch.hpp>

namespace {

struct Demo {
  std::string pattern;
  int64_t lanes = 0;

  static const codesim::sim::ParamSchema<Demo>& schema() {
    static const codesim::sim::ParamSchema<Demo> s = [] {
      codesim::sim::ParamSchema<Demo> p;
      p.text("pattern", &Demo::pattern, "N:M with N < M")
          .def("2:4")
          .check(
              [](const std::string& v) {
                const size_t colon = v.find(':');
                if (colon == std::string::npos) return std::string("'" + v + "' has no ':'");
                return std::stoi(v.substr(0, colon)) < std::stoi(v.substr(colon + 1))
                           ? std::string()
                           : "'" + v + "' needs N < M";
              },
              "write N:M, e.g. 2:4");
      p.integer("lanes", &Demo::lanes, "lanes").def(4).range(1, 64);
      return p;
    }();
    return s;
  }
};

}  // namespace

TEST_CASE("a text parameter's check reports at its place, with the other errors", "[unit]") {
  codesim::sim::Diagnostics d;
  const YAML::Node n = YAML::Load("{pattern: 4:2, lanes: 99}");
  Demo::schema().parse(n, "a.yaml", "accelerator", d);
  REQUIRE(d.size() == 2);
  const std::string all = d.str();
  CHECK_THAT(all, Catch::Contains("a.yaml:1:11: error: accelerator.pattern: '4:2' needs N < M"));
  CHECK_THAT(all, Catch::Contains("write N:M, e.g. 2:4"));
  CHECK_THAT(all, Catch::Contains("accelerator.lanes: 99 is out of range [1, 64]"));

  codesim::sim::Diagnostics ok;
  const Demo p = Demo::schema().parse(YAML::Load("{pattern: 1:8}"), "b.yaml", "accelerator", ok);
  CHECK(ok.size() == 0);
  CHECK(p.pattern == "1:8");
  CHECK(p.lanes == 4);
}
