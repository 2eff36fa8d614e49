#pragma once
// A design space: one workload (and optionally a dataset for accuracy), one accelerator model
// with some of its parameters varied, compression choices per layer group, objectives and
// constraints. Every choice is a Dimension with a finite list of values, so a point is one
// index per dimension and the full grid is their product. Format: search/README.md.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/accelerator.h"
#include "sim/core/diagnostics.h"
#include "workload.pb.h"

namespace codesim::search {

// Figures a point can be judged by. Units: latency ms, energy uJ, edp uJ*ms, area mm^2,
// quality_loss = sum over compressed ops of ||WX - W'X||^2 / ||WX||^2, accuracy % top-1,
// accuracy_drop = baseline accuracy - accuracy (points), size = weight storage in KiB.
struct MetricInfo {
  const char* name;
  const char* unit;
  bool maximize;
  bool needs_dataset;
};
const std::vector<MetricInfo>& metric_infos();
const MetricInfo* find_metric(const std::string& name);
std::vector<std::string> metric_names();

// Compression knobs a group may vary, in the order their pipeline steps run.
const std::vector<std::string>& knob_names();

struct Dimension {
  enum class Kind { kHardware, kCompression };
  Kind kind = Kind::kHardware;
  std::string name;                 // "accelerator.rows" or "fc1.bits"
  std::vector<YAML::Node> values;   // hardware: the override value; compression: the option
  std::vector<std::string> labels;  // text of each value, for tables and plots
  // Compression only: group index, knob name, and for each value the pipeline step it adds
  // (a null node, IsNull, when the value means "leave as is").
  int group = -1;
  std::string knob;
  std::vector<YAML::Node> steps;
  int baseline = 0;  // the value that leaves the layers as they are (compression), else 0
  size_t size() const { return values.size(); }
};

struct Group {
  std::string name;
  std::string ops_regex;         // matched against the whole op name
  std::vector<std::string> ops;  // resolved on the workload (bind_workload)
  std::vector<int> dims;         // indices into Space::dims, in knob order
  std::string path;              // "compression[1]", for errors
  YAML::Mark ops_mark;           // where `ops` is written
};

struct Objective {
  std::string metric;
  bool maximize = false;
  std::optional<double> reference;  // hypervolume reference value (in the metric's own sign)
};

struct Constraint {
  std::string metric;
  std::optional<double> min, max;
};

struct Space {
  std::string file;
  std::string name;
  std::string workload;  // path (resolved against the space file's folder)
  int64_t batch = 1;     // ONNX models are imported for this batch; calibration uses one batch
                         // (dataset train images, else seeded N(0, 1) inputs)
  std::string dataset;   // "" or "fashion-mnist"
  int test_images = 0;   // 0 = the whole test split
  std::string arch;      // base arch file (resolved)
  std::vector<std::string> arch_overrides;  // fixed key=value settings applied to every point
  sim::Fidelity fidelity = sim::Fidelity::kFast;
  uint64_t seed = 0;  // compression seed (calibration inputs, synthesized weights)
  std::vector<Dimension> dims;
  std::vector<Group> groups;
  std::vector<Objective> objectives;
  std::vector<Constraint> constraints;
  std::string fingerprint;  // hash of everything that defines the points and their metrics
  // The workload as loaded by load_space (ONNX imported for `batch`), with the groups bound to
  // its ops; empty for a space built by parse_space alone.
  std::shared_ptr<const ir::v1::Workload> base;

  double grid_size() const;  // product of the dimension sizes (double: may be huge)
  std::vector<int> hardware_dims() const;
  std::vector<int> compression_dims() const;
};

// Parses and checks a space file, loads its workload and binds the groups to the workload's
// ops; every problem (of the space, the arch file, the workload, a group matching no op) at
// once as sim::ConfigError (exit 2). The fingerprint also covers the arch and workload files'
// contents, so that --resume refuses a study whose inputs changed.
Space load_space(const std::string& path);
// Parses and checks the space alone (no workload is loaded; groups are not bound).
Space parse_space(const YAML::Node& root, const std::string& file, const std::string& base_dir);

// Resolves each group's ops on the workload's op names; a group that matches no op is an error
// at the group's `ops` key.
void bind_workload(Space& space, const std::vector<std::string>& op_names, sim::Diagnostics& diags);

using Point = std::vector<int>;  // one value index per dimension

std::string point_key(const Point& p);  // "3.0.1"
Point point_from_key(const std::string& key);
// The point at grid position `index` (mixed radix, the last dimension fastest).
Point point_at(const Space& s, uint64_t index);
uint64_t point_index(const Space& s, const Point& p);
// {dimension name: label} of a point.
nlohmann::json point_params(const Space& s, const Point& p);
// The `key=value` arch overrides of a point (fixed ones first).
std::vector<std::string> point_overrides(const Space& s, const Point& p);
// The compression pipeline of a point as a pipeline document ({pipeline: [...]}), or a null
// node (IsNull) when the point compresses nothing.
YAML::Node point_pipeline(const Space& s, const Point& p);

// 128-bit FNV-1a of a string as 32 hex digits (cache keys, fingerprints).
std::string hash_hex(const std::string& text);

}  // namespace codesim::search
