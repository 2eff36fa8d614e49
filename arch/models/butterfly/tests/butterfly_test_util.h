#pragma once
// Shared by the butterfly model's tests: one-op workloads with data, and a list of (model, ops)
// jobs run in one simulation through tests/sim_harness.h (SystemC elaborates once per process, so
// a test builds every model first, then calls run_all once).

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <systemc>
#include <vector>

#include "arch/models/butterfly/butterfly.h"
#include "tests/sim_harness.h"
#include "workload.pb.h"

namespace codesim::arch::butterfly::testing {

namespace ir = codesim::ir::v1;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A workload of ops with float data on every input tensor.
struct OneOp {
  ir::Workload w;
  std::mt19937 rng{7};
  std::string tensor(const std::string& name, std::vector<int64_t> shape, bool weight,
                     bool data = true) {
    ir::Tensor* t = w.add_tensors();
    t->set_name(name);
    int64_t n = 1;
    for (int64_t d : shape) t->add_shape(d), n *= d;
    t->set_dtype(ir::FLOAT32);
    t->set_bits(32);
    t->set_is_weight(weight);
    std::uniform_real_distribution<float> u(-1, 1);
    if (data)
      for (int64_t i = 0; i < n; ++i) t->add_float_data(u(rng));
    return name;
  }
  void butterfly(int64_t rows, int64_t in, int64_t length, int64_t stacks, int64_t out) {
    ir::Op* op = w.add_ops();
    op->set_name("bfly");
    auto* b = op->mutable_butterfly();
    b->set_batch(rows);
    b->set_length(length);
    b->set_stages(static_cast<int64_t>(std::log2(length)));
    b->set_stacks(stacks);
    op->add_inputs(tensor("x", {rows, in}, false));
    op->add_inputs(tensor("t", {stacks, b->stages(), length / 2, 2, 2}, true));
    op->add_outputs(tensor("y", {rows, out}, false, false));
  }
  // A named butterfly linear of `x` (rows x in) to `rows x out`; returns the output tensor.
  std::string linear(const std::string& name, const std::string& x, int64_t rows, int64_t in,
                     int64_t out) {
    ir::Op* op = w.add_ops();
    op->set_name(name);
    auto* b = op->mutable_butterfly();
    int64_t length = 2;
    while (length < in) length *= 2;
    b->set_batch(rows);
    b->set_length(length);
    b->set_stages(static_cast<int64_t>(std::log2(length)));
    b->set_stacks((out + length - 1) / length);
    op->add_inputs(x);
    op->add_inputs(tensor(name + ".t", {b->stacks(), b->stages(), length / 2, 2, 2}, true, false));
    op->add_outputs(tensor(name + ".out", {rows, out}, false, false));
    return name + ".out";
  }
  void fft(int64_t rows, int64_t cols, std::vector<int64_t> lengths, bool real_in, bool real_out,
           bool inverse = false) {
    ir::Op* op = w.add_ops();
    op->set_name("fft");
    auto* f = op->mutable_fft();
    f->set_batch(1);
    for (int64_t l : lengths) f->add_lengths(l);
    f->set_real_input(real_in);
    f->set_real_output(real_out);
    f->set_inverse(inverse);
    std::vector<int64_t> in_shape{rows, cols}, out_shape{rows, cols};
    if (!real_in) in_shape.push_back(2);
    if (!real_out) out_shape.push_back(2);
    op->add_inputs(tensor("x", in_shape, false));
    op->add_outputs(tensor("y", out_shape, false, false));
  }
  // out = a . b (b a weight when `weight_b`), batched over `batch` independent products.
  void gemm(const std::string& name, int64_t batch, int64_t m, int64_t n, int64_t k, bool weight_b,
            const std::string& a = "", const std::string& b = "") {
    ir::Op* op = w.add_ops();
    op->set_name(name);
    auto* g = op->mutable_gemm();
    g->set_batch(batch);
    g->set_m(m);
    g->set_n(n);
    g->set_k(k);
    op->add_inputs(a.empty() ? tensor(name + ".a", {batch, m, k}, false, false) : a);
    op->add_inputs(b.empty() ? tensor(name + ".b",
                                      weight_b ? std::vector<int64_t>{k, n}
                                               : std::vector<int64_t>{batch, k, n},
                                      weight_b, false)
                             : b);
    op->add_outputs(tensor(name + ".out", {batch, m, n}, false, false));
  }
  // An element-wise add of `inputs` into a new `shape` tensor; returns the output tensor.
  std::string add(const std::string& name, const std::vector<std::string>& inputs,
                  std::vector<int64_t> shape) {
    ir::Op* op = w.add_ops();
    op->set_name(name);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    op->mutable_eltwise()->set_func(ir::ADD);
    op->mutable_eltwise()->set_elements(n);
    for (const auto& in : inputs) op->add_inputs(in);
    op->add_outputs(tensor(name + ".out", shape, false, false));
    return name + ".out";
  }
  void softmax(const std::string& name, const std::string& in, int64_t rows, int64_t length) {
    ir::Op* op = w.add_ops();
    op->set_name(name);
    op->mutable_softmax()->set_rows(rows);
    op->mutable_softmax()->set_length(length);
    op->add_inputs(in);
    op->add_outputs(tensor(name + ".out", {rows, length}, false, false));
  }
};

struct Job {
  ButterflyModel* model;
  const ir::Workload* w;
  std::vector<int> ops;  // run in this order on one model
  sim::Fidelity fidelity = sim::Fidelity::kFast;
  bool functional = false;
  uint64_t cycles = 0;
  std::vector<uint64_t> op_cycles{};
  sim::OpOutcome outcome{};
  std::map<std::string, uint64_t> counters{};
  std::vector<float> out{};
  std::vector<RunTimes> runs{};
};

inline ButterflyModel* make(const ButterflyParams& p) {
  static std::vector<std::unique_ptr<ButterflyModel>> models;
  models.push_back(std::make_unique<ButterflyModel>(
      sc_core::sc_module_name(("bfly" + std::to_string(models.size())).c_str()), p));
  return models.back().get();
}

inline void run_all(std::vector<Job>& jobs) {
  test::simulate([&] {
    for (Job& j : jobs) {
      const auto before = j.model->stats().snapshot();
      const uint64_t start = j.model->cycle();
      for (int op : j.ops) {
        const uint64_t t = j.model->cycle();
        j.model->run_op({*j.w, j.w->ops(op), j.fidelity, j.functional, j.outcome});
        j.op_cycles.push_back(j.model->cycle() - t);
      }
      j.cycles = j.model->cycle() - start;
      j.counters = test::counters_since(*j.model, before);
      j.out = j.model->last_outputs();
      j.runs = j.model->last_runs();
    }
  });
}

}  // namespace codesim::arch::butterfly::testing
