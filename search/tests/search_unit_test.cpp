// Pareto filter, hypervolume and the DP against hand-computed and brute-force answers; the
// forked pool and whole studies on a synthetic evaluator (no simulator): failures, seeds.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <set>

#include "search/dp.h"
#include "search/fork_pool.h"
#include "search/pareto.h"
#include "search/study.h"
#include "tests/test_util.h"

using namespace codesim::search;
using nlohmann::json;

TEST_CASE("pareto_front keeps exactly the non-dominated points", "[unit]") {
  const std::vector<Objectives> pts = {{1, 5}, {2, 3}, {3, 4}, {4, 1}, {2, 3}, {5, 5}, {1, 6}};
  // {3,4} is dominated by {2,3}; {5,5} by all; {1,6} by {1,5}; the second {2,3} is a duplicate.
  CHECK(pareto_front(pts) == std::vector<size_t>{0, 1, 3});
  CHECK(dominates({1, 2}, {1, 3}));
  CHECK_FALSE(dominates({1, 3}, {1, 3}));
  CHECK_FALSE(dominates({0, 4}, {1, 3}));
}

TEST_CASE("hypervolume matches hand-computed areas and volumes", "[unit]") {
  // 2-D: staircase of (1,3), (2,2), (3,1) under reference (4,4): 3*1 + 2*1 + 1*1 ... by columns:
  // x in [1,2): height 4-3=1; [2,3): 4-2=2; [3,4): 4-1=3 -> 6.
  CHECK(hypervolume({{1, 3}, {2, 2}, {3, 1}}, {4, 4}) == Approx(6.0));
  // A dominated point and a point outside the reference add nothing.
  CHECK(hypervolume({{1, 3}, {2, 2}, {3, 1}, {3, 3}, {5, 0}}, {4, 4}) == Approx(6.0));
  CHECK(hypervolume({}, {1, 1}) == 0.0);
  // 3-D: two boxes from (0,0,0)-like corners under (2,2,2): (1,1,0) covers 1*1*2 = 2,
  // (0,0,1) covers 2*2*1 = 4, overlap 1*1*1 = 1 -> 5.
  CHECK(hypervolume({{1, 1, 0}, {0, 0, 1}}, {2, 2, 2}) == Approx(5.0));
  // 3-D: three unit-offset points under (3,3,3): union of boxes [x,3]x[y,3]x[z,3] for
  // (0,1,1), (1,0,1), (1,1,0): each 3*2*2 = 12, pairwise overlaps 2*2*2 = 8... by inclusion-
  // exclusion: 3*12 - 3*8 + 8 = 20.
  CHECK(hypervolume({{0, 1, 1}, {1, 0, 1}, {1, 1, 0}}, {3, 3, 3}) == Approx(20.0));
}

TEST_CASE("hypervolume agrees with Monte Carlo-free grid counting in 3-D", "[unit]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> u(0, 9);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<Objectives> pts;
    for (int i = 0; i < 6; ++i) pts.push_back({double(u(rng)), double(u(rng)), double(u(rng))});
    // Integer coordinates: count the unit cells of [0,10)^3 that some point dominates.
    int cells = 0;
    for (int x = 0; x < 10; ++x)
      for (int y = 0; y < 10; ++y)
        for (int z = 0; z < 10; ++z) {
          bool covered = false;
          for (const auto& p : pts)
            if (p[0] <= x && p[1] <= y && p[2] <= z) covered = true;
          cells += covered;
        }
    CHECK(hypervolume(pts, {10, 10, 10}) == Approx(double(cells)));
  }
}

TEST_CASE("dp finds the brute-force optimum under every budget", "[unit]") {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const int groups = 1 + trial % 4;
    std::vector<std::vector<DpOption>> opts(groups);
    for (auto& g : opts) {
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int c = 0; c < n; ++c) g.push_back({double(rng() % 20), double(rng() % 1000) / 100.0});
    }
    // Brute force over all combinations.
    std::vector<std::pair<double, double>> all;
    std::vector<int> idx(groups, 0);
    while (true) {
      double cost = 0, err = 0;
      for (int g = 0; g < groups; ++g) {
        cost += opts[g][idx[g]].cost;
        err += opts[g][idx[g]].error;
      }
      all.emplace_back(cost, err);
      int g = groups - 1;
      while (g >= 0 && ++idx[g] == static_cast<int>(opts[g].size())) idx[g--] = 0;
      if (g < 0) break;
    }
    for (double budget = 0; budget <= 80; budget += 3) {
      double best = INFINITY;
      for (const auto& [c, e] : all)
        if (c <= budget) best = std::min(best, e);
      const auto sol = dp_best(opts, budget);
      if (std::isinf(best)) {
        CHECK_FALSE(sol.has_value());
        continue;
      }
      REQUIRE(sol.has_value());
      CHECK(sol->error == Approx(best));
      CHECK(sol->cost <= budget);
      // The returned choice really has that cost and error.
      double cost = 0, err = 0;
      for (int g = 0; g < groups; ++g) {
        cost += opts[g][sol->choice[g]].cost;
        err += opts[g][sol->choice[g]].error;
      }
      CHECK(cost == Approx(sol->cost));
      CHECK(err == Approx(sol->error));
    }
    // The front is exactly the brute-force Pareto set of (cost, error).
    std::vector<Objectives> pts;
    for (const auto& [c, e] : all) pts.push_back({c, e});
    std::set<std::pair<double, double>> expected;
    for (size_t i : pareto_front(pts)) expected.insert({pts[i][0], pts[i][1]});
    std::set<std::pair<double, double>> got;
    for (const auto& s : dp_front(opts)) got.insert({s.cost, s.error});
    CHECK(got.size() == expected.size());
  }
}

TEST_CASE("forked tasks that crash, hang or throw fail with their reason", "[unit]") {
  std::vector<TaskOutcome> out(5);
  PoolOptions opt;
  opt.workers = 2;
  opt.timeout_seconds = 1.0;
  run_forked(
      5,
      [](size_t i) -> std::string {
        if (i == 1) raise(SIGSEGV);
        if (i == 2) sleep(30);
        if (i == 3) throw std::runtime_error("bad point");
        return "result " + std::to_string(i);
      },
      opt, [&](size_t i, const TaskOutcome& o) { out[i] = o; });
  CHECK(out[0].ok);
  CHECK(out[0].payload == "result 0");
  CHECK_FALSE(out[1].ok);
  CHECK(out[1].error.find("signal 11") != std::string::npos);
  CHECK_FALSE(out[2].ok);
  CHECK(out[2].error.find("timeout") != std::string::npos);
  CHECK(out[2].seconds < 5);
  CHECK_FALSE(out[3].ok);
  CHECK(out[3].error == "bad point");
  CHECK(out[4].payload == "result 4");
}

namespace {

// Two objectives with a known trade-off: a = x0 + x1, b = (7 - x0) + (7 - x1) * (1 + x2 % 2).
// Point 3.3.0 crashes its worker and point 5.5.1 hangs.
class SyntheticEvaluator : public Evaluator {
 public:
  void absorb_cache(const std::map<std::string, std::string>&) override {}
  std::optional<json> from_cache(const Point&) override { return std::nullopt; }
  json evaluate(const Point& p) override {
    if (point_key(p) == "3.3.0") raise(SIGSEGV);
    if (point_key(p) == "5.5.1") sleep(60);
    const double a = p[0] + p[1], b = (7 - p[0]) + (7 - p[1]) * (1 + p[2] % 2);
    return json{{"metrics", {{"latency", a}, {"energy", b}}}, {"cache", json::object()}};
  }
};

Space synthetic_space() {
  Space s;
  s.file = "synthetic";
  s.name = "synthetic";
  for (const char* n : {"x0", "x1", "x2"}) {
    Dimension d;
    d.name = n;
    const int size = std::string(n) == "x2" ? 2 : 8;
    for (int v = 0; v < size; ++v) {
      d.values.push_back(YAML::Node(v));
      d.labels.push_back(std::to_string(v));
    }
    s.dims.push_back(d);
  }
  s.objectives = {{"latency", false, {}}, {"energy", false, {}}};
  s.fingerprint = "synthetic-1";
  return s;
}

StudyResult run(const std::string& algorithm, uint64_t seed, const std::string& out,
                uint64_t budget = 0) {
  const Space s = synthetic_space();
  SyntheticEvaluator ev;
  Comm comm;
  StudyOptions o;
  o.algorithm = algorithm;
  o.seed = seed;
  o.budget = budget;
  o.workers = 2;
  o.timeout_seconds = 2;
  o.out = out;
  return run_study(s, ev, o, comm);
}

std::vector<std::string> keys(const std::string& out) {
  std::vector<std::string> k;
  for (const auto& p : json::parse(codesim::test::read_file(out + "/points.json")))
    k.push_back(p["key"]);
  return k;
}

}  // namespace

TEST_CASE("a crashing and a hanging point are recorded failed and the sweep goes on", "[sim]") {
  const std::string dir = codesim::test::temp_dir();
  const StudyResult r = run("grid", 0, dir);
  CHECK(r.summary["points"] == 128);
  CHECK(r.summary["failed"] == 2);
  Store store(dir + "/study.sqlite");
  const auto rows = store.points();
  REQUIRE(rows.size() == 128);
  for (const auto& p : rows) {
    if (p.key == "3.3.0") {
      CHECK(p.status == "failed");
      CHECK(p.error.find("signal 11") != std::string::npos);
    } else if (p.key == "5.5.1") {
      CHECK(p.status == "failed");
      CHECK(p.error.find("timeout") != std::string::npos);
    } else {
      CHECK(p.status == "ok");
    }
  }
  // The true front: x2 = 0 gives b = 14 - a for every a = x0 + x1 in 0..14 (the crashed 3.3.0
  // has twins such as 2.4.0), so 15 points. The automatic reference is the worst feasible value
  // plus 10% of the range: a in [0, 14] -> 15.4; b in [0, 21] (0.0.1 has b = 7 + 14) -> 23.1.
  // Columns x in [a, a + 1) have height 23.1 - (14 - a) for a = 0..13; [14, 15.4) has 23.1.
  CHECK(r.summary["pareto_size"] == 15);
  double hv = 1.4 * 23.1;
  for (int a = 0; a <= 13; ++a) hv += 23.1 - (14 - a);
  CHECK(r.summary["hypervolume"].get<double>() == Approx(hv).epsilon(1e-9));
}

TEST_CASE("searches are reproducible: same seed gives the same points, another seed others",
          "[sim]") {
  for (const char* algo : {"random", "nsga2", "moead"}) {
    INFO(algo);
    const std::string a = codesim::test::temp_dir(), b = codesim::test::temp_dir(),
                      c = codesim::test::temp_dir();
    run(algo, 1, a, 40);
    run(algo, 1, b, 40);
    run(algo, 2, c, 40);
    CHECK(keys(a).size() == 40);
    CHECK(keys(a) == keys(b));
    CHECK(keys(a) != keys(c));
  }
}
