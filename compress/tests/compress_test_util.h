#pragma once
// Small workloads with real weights and a pipeline runner, shared by the framework and the
// per-transform tests.

#include <random>
#include <string>
#include <vector>

#include "compress/pipeline.h"
#include "compress/quality.h"
#include "sim/core/diagnostics.h"
#include "workloads/ir/ir.h"

namespace codesim::compress::testing {

inline ir::v1::Tensor make_tensor(const std::string& name, std::vector<int64_t> shape,
                                  bool weight) {
  ir::v1::Tensor t;
  t.set_name(name);
  for (int64_t d : shape) t.add_shape(d);
  t.set_dtype(ir::v1::FLOAT32);
  t.set_is_weight(weight);
  return t;
}

inline std::vector<float> random_values(int64_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// y [m, n] = x [m, k] * W [k, n] + b [n], named `name`, with random weights (or shape-only).
inline void add_gemm(ir::v1::Workload& w, const std::string& name, const std::string& in,
                     const std::string& out, int64_t m, int64_t k, int64_t n, uint64_t seed,
                     bool with_values = true) {
  auto* op = w.add_ops();
  op->set_name(name);
  op->add_inputs(in);
  op->add_inputs(name + ".W");
  op->add_inputs(name + ".b");
  op->add_outputs(out);
  op->mutable_gemm()->set_batch(1);
  op->mutable_gemm()->set_m(m);
  op->mutable_gemm()->set_k(k);
  op->mutable_gemm()->set_n(n);
  ir::v1::Tensor wt = make_tensor(name + ".W", {k, n}, true);
  ir::v1::Tensor bt = make_tensor(name + ".b", {n}, true);
  if (with_values) {
    for (float v : random_values(k * n, seed, 0.1f)) wt.add_float_data(v);
    for (float v : random_values(n, seed + 1, 0.1f)) bt.add_float_data(v);
  }
  *w.add_tensors() = wt;
  *w.add_tensors() = bt;
  *w.add_tensors() = make_tensor(out, {m, n}, false);
}

// x [m, k] -> fc1 -> relu -> fc2 -> y [m, classes].
inline ir::v1::Workload mlp(int64_t m = 4, int64_t k = 64, int64_t hidden = 48,
                            int64_t classes = 10, bool with_values = true) {
  ir::v1::Workload w;
  w.set_name("mlp");
  *w.add_tensors() = make_tensor("x", {m, k}, false);
  w.add_inputs("x");
  add_gemm(w, "fc1", "x", "h", m, k, hidden, 1, with_values);
  auto* relu = w.add_ops();
  relu->set_name("relu");
  relu->add_inputs("h");
  relu->add_outputs("hr");
  relu->mutable_eltwise()->set_func(ir::v1::RELU);
  relu->mutable_eltwise()->set_elements(m * hidden);
  *w.add_tensors() = make_tensor("hr", {m, hidden}, false);
  add_gemm(w, "fc2", "hr", "y", m, hidden, classes, 7, with_values);
  w.add_outputs("y");
  return w;
}

// x [batch, c, h, w] -> conv (filters, 3x3, pad 1) -> y.
inline ir::v1::Workload conv(int64_t c = 8, int64_t filters = 16, int64_t hw = 6) {
  ir::v1::Workload w;
  w.set_name("conv");
  *w.add_tensors() = make_tensor("x", {2, c, hw, hw}, false);
  w.add_inputs("x");
  auto* op = w.add_ops();
  op->set_name("conv");
  op->add_inputs("x");
  op->add_inputs("conv.W");
  op->add_inputs("conv.b");
  op->add_outputs("y");
  auto* cv = op->mutable_conv2d();
  cv->set_batch(2);
  cv->set_h(hw);
  cv->set_w(hw);
  cv->set_c(c);
  cv->set_filters(filters);
  cv->set_kernel_h(3);
  cv->set_kernel_w(3);
  cv->set_stride_h(1);
  cv->set_stride_w(1);
  cv->set_pad_top(1);
  cv->set_pad_bottom(1);
  cv->set_pad_left(1);
  cv->set_pad_right(1);
  cv->set_dilation_h(1);
  cv->set_dilation_w(1);
  cv->set_groups(1);
  ir::v1::Tensor wt = make_tensor("conv.W", {filters, c, 3, 3}, true);
  for (float v : random_values(filters * c * 9, 3, 0.2f)) wt.add_float_data(v);
  ir::v1::Tensor bt = make_tensor("conv.b", {filters}, true);
  for (float v : random_values(filters, 4, 0.1f)) bt.add_float_data(v);
  *w.add_tensors() = wt;
  *w.add_tensors() = bt;
  *w.add_tensors() = make_tensor("y", {2, filters, hw, hw}, false);
  w.add_outputs("y");
  return w;
}

inline Pipeline pipeline(const std::string& yaml) {
  return parse_pipeline(sim::load_yaml_string(yaml, "test.yaml"), "test.yaml");
}

// Runs `yaml` on `w` with `samples` seeded random calibration inputs (0: none).
inline std::vector<StepResult> run(const std::string& yaml, ir::v1::Workload& w, int samples = 16) {
  RunOptions o;
  o.seed = 1;
  if (samples > 0) o.calibration = random_inputs(w, samples, 5);
  return run_pipeline(pipeline(yaml), w, o);
}

inline const ir::v1::Tensor& tensor(const ir::v1::Workload& w, const std::string& name) {
  const ir::v1::Tensor* t = ir::find_tensor(w, name);
  if (!t) throw std::runtime_error("no tensor " + name);
  return *t;
}

// The diagnostics of a pipeline that fails to parse ("" when it parses).
inline std::string parse_errors(const std::string& yaml) {
  try {
    pipeline(yaml);
  } catch (const sim::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace codesim::compress::testing
