// `codesim sweep` / `codesim search` end to end on the real simulator: space errors, results
// equal to `codesim run`, the per-op cache, resume after kill -9, dp, and MPI with two ranks.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "search/pareto.h"
#include "search/store.h"
#include "tests/test_util.h"

using codesim::test::read_file;
using codesim::test::run_codesim;
using codesim::test::source_path;
using codesim::test::temp_dir;
using codesim::test::write_file;
using nlohmann::json;

namespace {

// The trained Fashion-MNIST MLP on rows in {8, 16} of the edge systolic array, accuracy on 200
// test images, with the given compression groups.
std::string mlp_space(const std::string& dir, const std::string& compression) {
  return write_file(dir, "space.yaml",
                    "workload: {file: " + source_path("workloads/models/fashion_mnist/mlp.onnx") +
                        ", batch: 16}\n"
                        "dataset: {name: fashion-mnist, test_images: 200}\n"
                        "arch: " +
                        source_path("arch/models/systolic/configs/edge_16x16_os.yaml") +
                        "\nhardware:\n  accelerator.rows: [8, 16]\ncompression:\n" + compression +
                        "objectives: [latency, accuracy]\n");
}

// 2 hardware x 9 compression points.
std::string mlp_space(const std::string& dir) {
  return mlp_space(dir,
                   "  - {group: fc1, ops: /net/net.1/Gemm, rank: [1, 0.5, 0.25], bits: [none, 8, "
                   "4]}\n");
}

json points_by_key(const std::string& out) {
  json m = json::object();
  for (const auto& p : json::parse(read_file(out + "/points.json")))
    m[p["key"].get<std::string>()] = p;
  return m;
}

}  // namespace

TEST_CASE("space errors are located, all at once, exit 2", "[unit]") {
  const std::string dir = temp_dir();
  const std::string space =
      write_file(dir, "bad.yaml",
                 "workload: " + source_path("workloads/models/fashion_mnist/mlp.onnx") +
                     "\n"
                     "arch: " +
                     source_path("arch/models/systolic/configs/edge_16x16_os.yaml") +
                     "\n"
                     "hardware:\n"
                     "  accelerator.rowz: [8, 16]\n"
                     "  accelerator.cols: {log2: [8, 8192]}\n"
                     "compression:\n"
                     "  - {group: g, ops: \".*Gemm\", bits: [none, 1], nm: [dense, \"2-4\"]}\n"
                     "  - {group: h, ops: \"fc9\", rank: [1, 0.5]}\n"
                     "objectives: [latency, acuracy, {metric: energy, referense: 3}]\n"
                     "constraints: {accuracy_drop: {max: 1}}\n");
  const auto c = run_codesim("sweep " + space + " --out " + dir + "/o");
  CHECK(c.status == 2);
  CHECK(c.err.find("bad.yaml:4:3: error: hardware.accelerator.rowz") != std::string::npos);
  CHECK(c.err.find("did you mean 'accelerator.rows'") != std::string::npos);
  CHECK(c.err.find("hardware.accelerator.cols: 8192 is out of range [1, 4096]") !=
        std::string::npos);
  CHECK(c.err.find("bad.yaml:7:44: error: compression[0].bits[1]") != std::string::npos);
  CHECK(c.err.find("'2-4' is not dense or N:M") != std::string::npos);
  CHECK(c.err.find("bad.yaml:9:23: error: objectives[1]: unknown metric 'acuracy'") !=
        std::string::npos);
  CHECK(c.err.find("did you mean 'accuracy'") != std::string::npos);
  CHECK(c.err.find("objectives[2].referense: unknown key (did you mean 'reference'?)") !=
        std::string::npos);
  CHECK(c.err.find("constraints.accuracy_drop: metric 'accuracy_drop' needs a dataset") !=
        std::string::npos);
  // Binding the groups to the workload's ops is part of the same report.
  CHECK(c.err.find("bad.yaml:8:21: error: compression[1].ops: 'fc9' matches no op") !=
        std::string::npos);
  CHECK(c.err.find("/net/net.1/Gemm") != std::string::npos);
  CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 8);
  CHECK(c.out.empty());
}

TEST_CASE("a sweep point equals codesim run, and repeated layers are simulated once", "[sim]") {
  const std::string dir = temp_dir();
  const std::string arch = source_path("arch/models/systolic/configs/edge_16x16_os.yaml");
  const std::string space = write_file(
      dir, "bert.yaml",
      "workload: " + source_path("workloads/examples/bert_base.yaml") + "\narch: " + arch +
          "\nhardware:\n  accelerator.rows: [8, 16]\n  accelerator.dataflow: [os, ws]\n"
          "objectives: [latency, energy]\n");
  const auto c = run_codesim("sweep " + space + " -q -j 2 --out " + dir + "/o");
  REQUIRE(c.status == 0);
  const json points = points_by_key(dir + "/o");
  REQUIRE(points.size() == 4);
  for (const auto& [key, p] : points.items()) {
    INFO(key);
    const std::string run_dir = dir + "/run" + key;
    const auto r = run_codesim(
        "run -q --arch " + arch + " --workload " +
        source_path("workloads/examples/bert_base.yaml") +
        " -p accelerator.rows=" + p["params"]["accelerator.rows"].get<std::string>() +
        " -p accelerator.dataflow=" + p["params"]["accelerator.dataflow"].get<std::string>() +
        " --out " + run_dir);
    REQUIRE(r.status == 0);
    const json report = json::parse(read_file(run_dir + "/report.json"));
    CHECK(p["metrics"]["cycles"].get<double>() == report["totals"]["cycles"].get<double>());
    CHECK(p["metrics"]["energy"].get<double>() ==
          Approx(report["totals"]["energy_pj"].get<double>() * 1e-6).epsilon(1e-9));
    CHECK(p["metrics"]["area"].get<double>() ==
          Approx(report["totals"]["area_um2"].get<double>() * 1e-6).epsilon(1e-9));
    // BERT-base repeats its 12 layers: only the first layer's ops (and the head) are simulated.
    const int ops =
        p["metrics"]["ops_simulated"].get<int>() + p["metrics"]["ops_cached"].get<int>();
    CHECK(ops == static_cast<int>(report["ops"].size()));
    CHECK(p["metrics"]["ops_simulated"].get<int>() * 6 < ops);
  }
}

TEST_CASE("a sweep point equals codesim run on a model whose ops overlap their neighbours",
          "[sim]") {
  // The butterfly processor streams rows from one op into the next, so an op's cycles depend on
  // the op before it: its results must not be reused outside their own workload.
  const std::string dir = temp_dir();
  const std::string arch = source_path("arch/models/butterfly/configs/vcu128_be40.yaml");
  const std::string workload =
      write_file(dir, "fabnet.yaml", "workload: {zoo: fabnet, variant: base, seq_len: 128}\n");
  const std::string space = write_file(dir, "space.yaml",
                                       "workload: " + workload + "\narch: " + arch +
                                           "\nhardware:\n  accelerator.engines: [20, 40]\n"
                                           "objectives: [latency, energy]\n");
  const auto c = run_codesim("sweep " + space + " -q -j 2 --out " + dir + "/o");
  REQUIRE(c.status == 0);
  const json points = points_by_key(dir + "/o");
  REQUIRE(points.size() == 2);
  for (const auto& [key, p] : points.items()) {
    INFO(key);
    const std::string run_dir = dir + "/run" + key;
    const auto r = run_codesim(
        "run -q --arch " + arch + " --workload " + workload + " -p accelerator.engines=" +
        p["params"]["accelerator.engines"].get<std::string>() + " --out " + run_dir);
    REQUIRE(r.status == 0);
    const json report = json::parse(read_file(run_dir + "/report.json"));
    CHECK(p["metrics"]["cycles"].get<double>() == report["totals"]["cycles"].get<double>());
    CHECK(p["metrics"]["energy"].get<double>() ==
          Approx(report["totals"]["energy_pj"].get<double>() * 1e-6).epsilon(1e-9));
  }
}

TEST_CASE("a study killed with kill -9 resumes without duplicates or recomputation", "[sim]") {
  const std::string dir = temp_dir();
  const std::string space = mlp_space(dir);
  const std::string out = dir + "/o";
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const std::string bin = CODESIM_BINARY;
    freopen("/dev/null", "w", stdout);
    execl(bin.c_str(), bin.c_str(), "sweep", space.c_str(), "-q", "-j", "1", "--out", out.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  // Kill the study (and its worker) as soon as a few points are stored.
  size_t before = 0;
  for (int i = 0; i < 2000 && before < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    try {
      if (access((out + "/study.sqlite").c_str(), F_OK) == 0)
        before = codesim::search::Store(out + "/study.sqlite").points().size();
    } catch (const std::exception&) {
    }
  }
  kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  before = codesim::search::Store(out + "/study.sqlite").points().size();
  INFO("rows before the resume: " << before);
  REQUIRE(before >= 4);
  REQUIRE(before < 18);

  // Without --resume the store is not overwritten.
  CHECK(run_codesim("sweep " + space + " -q --out " + out).status == 2);
  const auto c = run_codesim("sweep " + space + " -q -j 2 --resume --out " + out);
  REQUIRE(c.status == 0);
  const json summary = json::parse(read_file(out + "/study.json"));
  CHECK(summary["points"] == 18);
  CHECK(summary["resumed"] == before);
  CHECK(summary["evaluated"].get<size_t>() + summary["from_cache"].get<size_t>() == 18 - before);
  const auto rows = codesim::search::Store(out + "/study.sqlite").points();
  std::set<std::string> keys;
  for (const auto& r : rows) {
    keys.insert(r.key);
    CHECK(r.status == "ok");
  }
  CHECK(rows.size() == 18);
  CHECK(keys.size() == 18);

  // The resumed study equals an uninterrupted one, point for point.
  REQUIRE(run_codesim("sweep " + space + " -q -j 2 --out " + dir + "/fresh").status == 0);
  const json a = points_by_key(out), b = points_by_key(dir + "/fresh");
  for (const auto& [key, p] : b.items()) {
    INFO(key);
    REQUIRE(a.contains(key));
    CHECK(a[key]["metrics"]["cycles"] == p["metrics"]["cycles"]);
    CHECK(a[key]["metrics"]["accuracy"] == p["metrics"]["accuracy"]);
    CHECK(a[key]["metrics"]["quality_loss"] == p["metrics"]["quality_loss"]);
  }
  CHECK(read_file(out + "/pareto.csv").size() > 0);
}

namespace {

// Two hardware points, two groups (fc1: 3 ranks x 2 bit widths, fc2: 2 ranks) of the MLP.
std::string two_group_space(const std::string& dir) {
  return mlp_space(dir,
                   "  - {group: fc1, ops: /net/net.1/Gemm, rank: [1, 0.5, 0.25], bits: [none, 8]}\n"
                   "  - {group: fc2, ops: /net/net.3/Gemm, rank: [1, 0.5]}\n");
}

struct Combo {
  double cycles, error;
  std::string key;
};

// Every combination of one choice per group on hardware `rows`, with the group cycles and
// quality losses measured on the grid's single-group points (the others at their baseline),
// summed: the separable model the dp solves, by brute force. Keys are rows.fc1rank.fc1bits.fc2rank.
std::vector<Combo> brute_force(const json& grid, const std::string& rows) {
  const std::string r = rows == "8" ? "0" : "1";
  auto single = [&](const std::string& key, const char* group) {
    const json& g = grid[key]["metrics"]["groups"][group];
    return std::make_pair(g["cycles"].get<double>(), g["quality_loss"].get<double>());
  };
  std::vector<Combo> out;
  for (int rank1 = 0; rank1 < 3; ++rank1)
    for (int bits1 = 0; bits1 < 2; ++bits1)
      for (int rank2 = 0; rank2 < 2; ++rank2) {
        const auto a =
            single(r + "." + std::to_string(rank1) + "." + std::to_string(bits1) + ".0", "fc1");
        const auto b = single(r + ".0.0." + std::to_string(rank2), "fc2");
        out.push_back({a.first + b.first, a.second + b.second,
                       r + "." + std::to_string(rank1) + "." + std::to_string(bits1) + "." +
                           std::to_string(rank2)});
      }
  return out;
}

}  // namespace

TEST_CASE("dp equals brute force over the measured group costs, under every outer search",
          "[sim]") {
  const std::string dir = temp_dir();
  const std::string space = two_group_space(dir);
  // The ground truth: every point of the 24-point grid.
  REQUIRE(run_codesim("sweep " + space + " -q -j 2 --out " + dir + "/grid").status == 0);
  const json grid = points_by_key(dir + "/grid");
  REQUIRE(grid.size() == 24);

  // Without a budget: the dp's front for each hardware point is the brute-force Pareto set of
  // (summed group cycles, summed quality loss), and a pick's predicted cycles are exactly what
  // its full simulation spends in the groups (cycles of separate ops add up).
  REQUIRE(run_codesim("search " + space + " -q -j 2 --algorithm dp --dp-points 3 --out " + dir +
                      "/front")
              .status == 0);
  const json front = json::parse(read_file(dir + "/front/study.json"))["algorithm_output"];
  REQUIRE(front.size() == 2);
  for (const auto& h : front) {
    const std::string rows = h["hardware"]["accelerator.rows"];
    INFO("rows " << rows);
    const std::vector<Combo> combos = brute_force(grid, rows);
    std::vector<codesim::search::Objectives> objs;
    for (const auto& c : combos) objs.push_back({c.cycles, c.error});
    const auto pareto = codesim::search::pareto_front(objs);
    CHECK(h["front_size"].get<size_t>() == pareto.size());
    REQUIRE(h["chosen"].size() == std::min<size_t>(3, pareto.size()));
    for (const auto& pick : h["chosen"]) {
      const std::string key = pick["key"];
      INFO(key);
      const double cycles = pick["predicted_group_latency"].get<double>();
      bool on_front = false;
      for (size_t i : pareto)
        on_front |= objs[i][0] == cycles &&
                    objs[i][1] == Approx(pick["predicted_quality_loss"].get<double>());
      CHECK(on_front);
      const json& groups = grid[key]["metrics"]["groups"];
      CHECK(groups["fc1"]["cycles"].get<double>() + groups["fc2"]["cycles"].get<double>() ==
            cycles);
    }
  }

  // Under a latency budget, whichever outer search visits the hardware points, each point's pick
  // has the least summed quality loss among the combinations that fit (brute force).
  double lo = 1e30, hi = 0;
  for (const auto& [k, p] : grid.items())
    if (p["params"]["accelerator.rows"] == "8") {
      lo = std::min(lo, p["metrics"]["latency"].get<double>());
      hi = std::max(hi, p["metrics"]["latency"].get<double>());
    }
  const double budget_ms = (lo + hi) / 2;
  for (const char* outer : {"grid", "random", "nsga2"}) {
    INFO("outer " << outer);
    const std::string out = dir + "/budget_" + outer;
    REQUIRE(run_codesim("search " + space + " -q -j 2 --algorithm dp --outer " + outer +
                        " --dp-budget " + std::to_string(budget_ms) + " --out " + out)
                .status == 0);
    const json hws = json::parse(read_file(out + "/study.json"))["algorithm_output"];
    CHECK(hws.size() == 2);  // each hardware point solved once
    for (const auto& h : hws) {
      const std::string rows = h["hardware"]["accelerator.rows"];
      INFO("rows " << rows);
      const json& b = grid[(rows == "8" ? "0" : "1") + std::string(".0.0.0")]["metrics"];
      const double per_ms = b["cycles"].get<double>() / b["latency"].get<double>();
      const double ungrouped = b["cycles"].get<double>() -
                               b["groups"]["fc1"]["cycles"].get<double>() -
                               b["groups"]["fc2"]["cycles"].get<double>();
      const double room = std::stod(std::to_string(budget_ms)) * per_ms - ungrouped;
      double best = INFINITY;
      for (const auto& c : brute_force(grid, rows))
        if (c.cycles <= room) best = std::min(best, c.error);
      if (std::isinf(best)) {
        CHECK(h["chosen"].empty());
        continue;
      }
      REQUIRE(h["chosen"].size() == 1);
      const std::string key = h["chosen"][0]["key"];
      CHECK(h["chosen"][0]["predicted_quality_loss"].get<double>() == Approx(best));
      CHECK(grid[key]["metrics"]["latency"].get<double>() <= budget_ms * (1 + 1e-9));
    }
  }
}

TEST_CASE("two MPI ranks share the points and gather them into one store", "[sim]") {
  // scripts/setup installs openmpi-bin. As root (CI containers) OpenMPI refuses to start unless
  // allowed; --oversubscribe lets 2 ranks start on a 1-core machine; single-copy (CMA) transfers
  // need ptrace rights that containers often deny, so shared memory copies twice instead; a
  // launch that hangs fails after 300 s instead of stalling the suite.
  REQUIRE(std::system("command -v mpirun >/dev/null 2>&1") == 0);
  const std::string dir = temp_dir();
  const std::string space = mlp_space(dir);
  const std::string cmd =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_btl_vader_single_copy_mechanism=none timeout 300 mpirun -np 2 --oversubscribe " +
      std::string(CODESIM_BINARY) + " search " + space +
      " -q -j 1 --algorithm random --budget 12 --seed 3 --out " + dir + "/mpi >" + dir +
      "/mpi.log 2>&1";
  const int status = std::system(cmd.c_str());
  INFO(read_file(dir + "/mpi.log"));
  REQUIRE(status == 0);
  const auto rows = codesim::search::Store(dir + "/mpi/study.sqlite").points();
  std::set<std::string> keys;
  std::map<int, int> by_rank;
  for (const auto& r : rows) {
    keys.insert(r.key);
    ++by_rank[r.rank];
  }
  CHECK(rows.size() == 12);
  CHECK(keys.size() == 12);
  CHECK(by_rank[0] > 0);
  CHECK(by_rank[1] > 0);
  // The same search on one rank evaluates the same points with the same results.
  REQUIRE(run_codesim("search " + space +
                      " -q -j 2 --algorithm random --budget 12 --seed 3 --out " + dir + "/one")
              .status == 0);
  const json a = points_by_key(dir + "/mpi"), b = points_by_key(dir + "/one");
  CHECK(a.size() == b.size());
  for (const auto& [key, p] : b.items()) {
    INFO(key);
    REQUIRE(a.contains(key));
    CHECK(a[key]["metrics"]["latency"] == p["metrics"]["latency"]);
    CHECK(a[key]["metrics"]["accuracy"] == p["metrics"]["accuracy"]);
  }
}
