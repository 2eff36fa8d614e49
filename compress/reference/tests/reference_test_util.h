#pragma once
// Hand-made workloads for the reference executor's tests.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "compress/reference/executor.h"
#include "workload.pb.h"

namespace codesim::compress::test {

class WorkloadMaker {
 public:
  // A tensor; `data` (may be empty) becomes float_data.
  ir::v1::Tensor* tensor(const std::string& name, const std::vector<int64_t>& shape,
                         bool is_weight = false, const std::vector<float>& data = {}) {
    ir::v1::Tensor* t = w.add_tensors();
    t->set_name(name);
    for (int64_t d : shape) t->add_shape(d);
    t->set_dtype(ir::v1::FLOAT32);
    t->set_bits(32);
    t->set_is_weight(is_weight);
    for (float v : data) t->add_float_data(v);
    return t;
  }
  ir::v1::Tensor* input(const std::string& name, const std::vector<int64_t>& shape) {
    w.add_inputs(name);
    return tensor(name, shape);
  }
  ir::v1::Op* op(const std::string& name, const std::vector<std::string>& inputs,
                 const std::vector<std::string>& outputs) {
    ir::v1::Op* o = w.add_ops();
    o->set_name(name);
    for (const auto& i : inputs) o->add_inputs(i);
    for (const auto& x : outputs) o->add_outputs(x);
    return o;
  }
  ir::v1::Workload w;
};

inline std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

inline Array array(std::vector<int64_t> shape, std::vector<float> data) {
  return Array{std::move(shape), std::move(data)};
}

// Runs the first op of `w` on `inputs` (nullptr: taken from the workload) and returns output j.
inline Array run_first_op(const ir::v1::Workload& w, const std::vector<const Array*>& inputs,
                          size_t j = 0, Arithmetic a = Arithmetic::kFloat32) {
  Executor e(w, a);
  return e.run_op(w.ops(0), inputs).at(j);
}

}  // namespace codesim::compress::test
