#include "workloads/yaml/workload_yaml.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "workloads/ir/ir.h"
#include "workloads/zoo/zoo.h"

namespace codesim::workloads {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("codesim_workload_test_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// The message of the ConfigError that loading `text` as a workload file throws ("" if none).
std::string load_error(const TempDir& dir, const std::string& text, size_t* count = nullptr) {
  const std::string path = dir.write("w.yaml", text);
  try {
    load_workload(path);
  } catch (const sim::ConfigError& e) {
    if (count) *count = e.diagnostics().size();
    return e.what();
  }
  return "";
}

// "<file>:<line>:<col>" of the first occurrence of `needle` on 1-based line `line` of `text`.
std::string location(const TempDir& dir, const std::string& text, int line,
                     const std::string& needle) {
  std::istringstream in(text);
  std::string l;
  for (int i = 0; i < line; ++i) std::getline(in, l);
  const size_t col = l.find(needle);
  REQUIRE(col != std::string::npos);
  return dir.file("w.yaml") + ":" + std::to_string(line) + ":" + std::to_string(col + 1);
}

int64_t total_macs(const ir::v1::Workload& w) {
  int64_t macs = 0;
  for (const auto& op : w.ops()) macs += ir::op_macs(w, op);
  return macs;
}

}  // namespace

TEST_CASE("an ops list builds one op per entry with the MACs of its keys", "[unit]") {
  TempDir dir;
  const ir::v1::Workload w = load_workload(dir.write("w.yaml", R"(workload:
  name: layers
  ops:
    - {name: l0, gemm: {m: 64, n: 64, k: 64}}
    - {name: c1, conv2d: {h: 56, w: 56, c: 64, filters: 64, kernel: [3, 3], stride: 1, padding: 1}}
    - {name: dw, conv2d: {h: 56, w: 56, c: 64, filters: 64, kernel: 3, stride: [2, 2], groups: 64, padding: [0, 1, 0, 1]}}
    - {name: att, gemm: {batch: 12, m: 128, n: 128, k: 64, weight: false}}
    - {name: bf, butterfly: {length: 1024, batch: 4}}
    - {name: f, fft: {lengths: [128, 1024]}}
    - {name: e, einsum: {equation: "ab,bc->ac", sizes: {a: 4, b: 8, c: 16}}}
    - {name: s, softmax: {rows: 12, length: 128}}
    - {name: p, pool: {kind: max, h: 112, w: 112, c: 64, kernel: 3, stride: 2, padding: 1}}
    - {name: r, lstm_cell: {input_size: 100, hidden_size: 50, steps: 3}}
)"));
  REQUIRE(w.ops_size() == 10);
  CHECK(w.name() == "layers");
  const int64_t expected[] = {
      64 * 64 * 64,
      56 * 56 * 64 * 64 * 9,
      28 * 28 * 64 * 9,  // depthwise, pads top/bottom 0/1 and left/right 0/1: 57 -> 28
      12 * 128 * 128 * 64,
      4 * 10 * 2 * 1024,                                     // stages default to log2 1024
      128 * (1024 / 2) * 10 * 4 + 1024 * (128 / 2) * 7 * 4,  // radix-2 along both axes
      4 * 8 * 16,
      0,
      0,
      3 * 4 * 50 * (100 + 50)};
  for (int i = 0; i < w.ops_size(); ++i) {
    INFO(w.ops(i).name());
    CHECK(ir::op_macs(w, w.ops(i)) == expected[i]);
  }
  CHECK(ir::find_tensor(w, "att.in1") != nullptr);  // B an activation
  CHECK(ir::find_tensor(w, "l0.weight")->is_weight());
  CHECK(ir::find_tensor(w, "e.weight")->shape_size() == 2);
  CHECK(ir::validate(w).empty());
}

TEST_CASE("an unknown op key is reported with its location and a did-you-mean", "[unit]") {
  TempDir dir;
  const std::string text = R"(workload:
  name: layers
  ops:
    - name: c1
      conv2d:
        h: 8
        w: 8
        c: 3
        filters: 4
        kernel: 3
        strid: 2
)";
  const std::string msg = load_error(dir, text);
  CHECK_THAT(msg, Catch::Contains(location(dir, text, 11, "strid") +
                                  ": error: workload.ops[0].conv2d.strid: unknown key "
                                  "(did you mean 'stride'?)"));
}

TEST_CASE("a value of the wrong type is reported at the value", "[unit]") {
  TempDir dir;
  const std::string text = R"(workload:
  ops:
    - name: l0
      gemm: {m: sixty, n: 64, k: 64}
)";
  CHECK_THAT(load_error(dir, text),
             Catch::Contains(location(dir, text, 4, "sixty") +
                             ": error: workload.ops[0].gemm.m: expected an integer, got 'sixty'"));
}

TEST_CASE("an out-of-range value names its key path", "[unit]") {
  TempDir dir;
  const std::string text = R"(workload:
  name: layers
  ops:
    - {name: a, gemm: {m: 1, n: 1, k: 1}}
    - {name: b, softmax: {rows: 1, length: 8}}
    - {name: c, eltwise: {func: relu, elements: 8}}
    - name: d
      conv2d: {h: 8, w: 8, c: 3, filters: 4, kernel: 3, stride: 0}
)";
  CHECK_THAT(load_error(dir, text),
             Catch::Contains(location(dir, text, 8, "0}") +
                             ": error: workload.ops[3].conv2d.stride: must be >= 1"));
}

TEST_CASE("a missing required key is reported at its map with a hint", "[unit]") {
  TempDir dir;
  const std::string text = R"(workload:
  ops:
    - name: l0
      gemm: {m: 64, n: 64}
)";
  CHECK_THAT(load_error(dir, text),
             Catch::Contains(location(dir, text, 4, "{m") +
                             ": error: workload.ops[0].gemm.k: missing required key (add `k:`"));
}

TEST_CASE("malformed YAML is an error with a location, not a crash", "[unit]") {
  TempDir dir;
  const std::string msg = load_error(dir, "workload: {zoo: bert, seq_len: 128\n");
  CHECK_THAT(msg, Catch::Contains(dir.file("w.yaml") + ":"));
  CHECK_THAT(msg, Catch::Contains("malformed YAML"));
  CHECK_THAT(msg, Catch::Matches("[\\s\\S]*w\\.yaml:[0-9]+:[0-9]+: error: [\\s\\S]*"));
}

TEST_CASE("every error of a file is reported at once", "[unit]") {
  TempDir dir;
  const std::string text = R"(workload:
  ops:
    - {name: a, gemm: {m: 0, n: 1, k: 1, bathc: 2}}
    - {name: a, softmax: {rows: 1, length: 8}}
    - {name: c, eltwise: {func: relux, elements: 8}}
    - {name: d}
    - {name: e, gemm: {m: 1, n: 1, k: 1}, softmax: {rows: 1, length: 1}}
    - {nam: f, layernorm: {rows: 1, length: 1}}
)";
  size_t count = 0;
  const std::string msg = load_error(dir, text, &count);
  CHECK(count == 7);
  CHECK_THAT(msg, Catch::Contains("workload.ops[0].gemm.m: must be >= 1 (is 0)"));
  CHECK_THAT(msg,
             Catch::Contains("workload.ops[0].gemm.bathc: unknown key (did you mean 'batch'?)"));
  CHECK_THAT(msg, Catch::Contains("workload.ops[1].name: duplicate op name 'a'"));
  CHECK_THAT(msg, Catch::Contains("workload.ops[2].eltwise.func: 'relux' is not one of"));
  CHECK_THAT(msg, Catch::Contains("did you mean 'relu'?"));
  CHECK_THAT(msg, Catch::Contains("workload.ops[3]: op has no kind"));
  CHECK_THAT(msg,
             Catch::Contains("workload.ops[4].softmax: op has two kinds ('gemm' and 'softmax')"));
  CHECK_THAT(msg, Catch::Contains("workload.ops[5].nam: unknown key (did you mean 'name'?)"));
}

TEST_CASE("shape rules of an op are checked at the offending key", "[unit]") {
  TempDir dir;
  const std::string text = R"(workload:
  ops:
    - {name: a, butterfly: {length: 100}}
    - {name: b, conv2d: {h: 4, w: 4, c: 3, filters: 4, kernel: 7}}
    - {name: c, conv2d: {h: 8, w: 8, c: 6, filters: 4, kernel: 3, groups: 4}}
    - {name: d, einsum: {equation: "ab,bc->ac", sizes: {a: 2, b: 3}}}
    - {name: e, fft: {lengths: [128, 96]}}
    - {name: f, butterfly: {length: 16, stages: 5}}
)";
  const std::string msg = load_error(dir, text);
  CHECK_THAT(msg, Catch::Contains(location(dir, text, 3, "100") +
                                  ": error: workload.ops[0].butterfly.length: must be a power of "
                                  "two (is 100) (pad the vectors to 128)"));
  CHECK_THAT(msg, Catch::Contains(location(dir, text, 4, "7}") +
                                  ": error: workload.ops[1].conv2d.kernel"));
  CHECK_THAT(msg,
             Catch::Contains("workload.ops[2].conv2d.groups: must divide c (6) and filters (4)"));
  CHECK_THAT(
      msg, Catch::Contains("workload.ops[3].einsum.sizes: index 'c' of the equation has no size"));
  CHECK_THAT(msg,
             Catch::Contains("workload.ops[4].fft.lengths: every length must be a power of two"));
  CHECK_THAT(msg, Catch::Contains("workload.ops[5].butterfly.stages: must be <= log2(length) = 4"));
}

TEST_CASE("zoo names and zoo parameters are checked like op keys", "[unit]") {
  TempDir dir;
  std::string text = "workload: {zoo: bertt}\n";
  CHECK_THAT(load_error(dir, text),
             Catch::Contains(location(dir, text, 1, "bertt") +
                             ": error: workload.zoo: unknown zoo model 'bertt' (did you mean "
                             "'bert'?)"));
  text = "workload:\n  zoo: bert\n  seq_length: 256\n";
  CHECK_THAT(load_error(dir, text),
             Catch::Contains(location(dir, text, 3, "seq_length") +
                             ": error: workload.seq_length: unknown key (did you mean "
                             "'seq_len'?)"));
  text = "workload: {zoo: bert, seq_len: 0}\n";
  CHECK_THAT(load_error(dir, text), Catch::Contains("workload.seq_len: 0 is out of range"));
  text = "workload: {zoo: vit, patch: 15}\n";
  CHECK_THAT(load_error(dir, text),
             Catch::Contains(location(dir, text, 1, "15") +
                             ": error: workload.patch: must divide image (224)"));
  text = "workload: {zoo: fabnet, abfly_layers: 13}\n";
  CHECK_THAT(load_error(dir, text), Catch::Contains("workload.abfly_layers: must be <= 12"));
  text = "workload: {zoo: lstm, hidden: 64}\n";
  CHECK_THAT(load_error(dir, text), Catch::Contains("workload.input: missing required parameter"));
  text = "workload: {zoo: mlp, sizes: [784, x]}\n";
  CHECK_THAT(load_error(dir, text),
             Catch::Contains("workload.sizes[1]: expected an integer, got 'x'"));
  text = "workload: {zoo: bert, ops: []}\n";
  CHECK_THAT(load_error(dir, text), Catch::Contains("either a zoo model or a list of ops"));
  text = "wrkload: {zoo: bert}\n";
  CHECK_THAT(load_error(dir, text),
             Catch::Contains("wrkload: unknown key (did you mean 'workload'?)"));
}

TEST_CASE("YAML -> .pb / .textproto -> load keeps the MACs", "[unit]") {
  TempDir dir;
  for (const std::string text :
       {"workload: {zoo: bert, seq_len: 64}\n",
        "workload:\n  ops:\n    - {name: l0, gemm: {m: 64, n: 32, k: 16, bias: true}}\n"
        "    - {name: c1, conv2d: {h: 9, w: 9, c: 4, filters: 8, kernel: 3}}\n"}) {
    const ir::v1::Workload w = load_workload(dir.write("w.yaml", text));
    REQUIRE(total_macs(w) > 0);
    for (const std::string ext : {".pb", ".textproto"}) {
      const std::string path = dir.file("w" + ext);
      ir::save_proto_file(w, path);
      const ir::v1::Workload back = load_workload(path);
      CHECK(total_macs(back) == total_macs(w));
      CHECK(back.ops_size() == w.ops_size());
      CHECK(back.tensors_size() == w.tensors_size());
    }
  }
  CHECK(total_macs(load_workload(dir.file("w.pb"))) == 64 * 32 * 16 + 7 * 7 * 8 * 9 * 4);
}

TEST_CASE("unknown file types and invalid protobuf workloads are errors", "[unit]") {
  TempDir dir;
  const std::string csv = dir.write("w.csv", "a,b\n");
  CHECK_THROWS_WITH(load_workload(csv), Catch::Contains("unknown workload file type '.csv'"));
  ir::v1::Workload bad;
  auto* op = bad.add_ops();
  op->set_name("g");
  op->mutable_gemm()->set_m(0);
  const std::string pb = dir.file("bad.pb");
  ir::save_proto_file(bad, pb);
  CHECK_THROWS_WITH(load_workload(pb), Catch::Contains("ops[0].gemm.m: must be >= 1"));
}

TEST_CASE("stats table lists every op and the totals", "[unit]") {
  TempDir dir;
  const ir::v1::Workload w = load_workload(dir.write(
      "w.yaml",
      "workload:\n  name: two\n  ops:\n    - {name: l0, gemm: {m: 64, n: 64, k: 64, bias: true}}\n"
      "    - {name: r, eltwise: {func: relu, elements: 4096}}\n"));
  const std::string table = workload_stats_table(w);
  CHECK_THAT(table, Catch::Contains("workload two: 2 ops"));
  CHECK_THAT(table,
             Catch::Matches("[\\s\\S]*l0 +gemm +m 64, n 64, k 64 +262,144 +4,160\n[\\s\\S]*"));
  CHECK_THAT(table, Catch::Matches("[\\s\\S]*total +262,144 +4,160\n"));
}

TEST_CASE("workloads/README.md holds the generated op-key and zoo parameter tables", "[unit]") {
  std::ifstream in(std::string(CODESIM_SOURCE_DIR) + "/workloads/README.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  // On failure, paste the printed text into the README.
  const std::string ops = op_keys_markdown();
  INFO(ops);
  CHECK(readme.find(ops) != std::string::npos);
  for (const auto& model : zoo_models()) {
    const std::string table = sim::format_params_markdown(model.params);
    INFO(model.name << ":\n" << table);
    CHECK(readme.find(table) != std::string::npos);
  }
}

}  // namespace codesim::workloads
