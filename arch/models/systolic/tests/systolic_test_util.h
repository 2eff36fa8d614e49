#pragma once
// Shared by the systolic model tests: workload builders, and jobs run on many model instances in
// one simulation through tests/sim_harness.h.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "arch/models/systolic/systolic.h"
#include "sim/core/accelerator.h"
#include "tests/sim_harness.h"
#include "workload.pb.h"

namespace codesim::test::systolic {

struct ConvSpec {
  int64_t batch = 1, h = 8, w = 8, c = 4, filters = 4, kernel = 3, stride = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0, dilation = 1, groups = 1;
};

// Builds a workload op by op; every op gets its own tensors. With `data_bits` > 0 the inputs
// carry deterministic integer data in that signed range.
class WorkloadBuilder {
 public:
  explicit WorkloadBuilder(std::string name = "test", int data_bits = 0, uint32_t seed = 1)
      : data_bits_(data_bits), rng_(seed) {
    w_.set_name(std::move(name));
  }

  WorkloadBuilder& gemm(const std::string& name, int64_t m, int64_t n, int64_t k, int64_t batch = 1,
                        bool b_batched = false) {
    ir::v1::Op* op = w_.add_ops();
    op->set_name(name);
    auto* g = op->mutable_gemm();
    g->set_batch(batch);
    g->set_m(m);
    g->set_n(n);
    g->set_k(k);
    op->add_inputs(tensor(name + ".a", {batch, m, k}, false));
    op->add_inputs(b_batched ? tensor(name + ".b", {batch, k, n}, false)
                             : tensor(name + ".b", {k, n}, true));
    op->add_outputs(tensor(name + ".out", {batch, m, n}, false, false));
    return *this;
  }

  WorkloadBuilder& conv(const std::string& name, const ConvSpec& s) {
    ir::v1::Op* op = w_.add_ops();
    op->set_name(name);
    auto* c = op->mutable_conv2d();
    c->set_batch(s.batch);
    c->set_h(s.h);
    c->set_w(s.w);
    c->set_c(s.c);
    c->set_filters(s.filters);
    c->set_kernel_h(s.kernel);
    c->set_kernel_w(s.kernel);
    c->set_stride_h(s.stride);
    c->set_stride_w(s.stride);
    c->set_pad_top(s.pad_top);
    c->set_pad_bottom(s.pad_bottom);
    c->set_pad_left(s.pad_left);
    c->set_pad_right(s.pad_right);
    c->set_dilation_h(s.dilation);
    c->set_dilation_w(s.dilation);
    c->set_groups(s.groups);
    op->add_inputs(tensor(name + ".x", {s.batch, s.c, s.h, s.w}, false));
    op->add_inputs(tensor(name + ".w", {s.filters, s.c / s.groups, s.kernel, s.kernel}, true));
    const auto out = [](int64_t in, int64_t pb, int64_t pe, int64_t k, int64_t d, int64_t st) {
      return (in + pb + pe - (d * (k - 1) + 1)) / st + 1;
    };
    op->add_outputs(tensor(
        name + ".y",
        {s.batch, s.filters, out(s.h, s.pad_top, s.pad_bottom, s.kernel, s.dilation, s.stride),
         out(s.w, s.pad_left, s.pad_right, s.kernel, s.dilation, s.stride)},
        false, false));
    return *this;
  }

  const ir::v1::Workload& workload() const { return w_; }

 private:
  std::string tensor(const std::string& name, std::vector<int64_t> shape, bool weight,
                     bool data = true) {
    ir::v1::Tensor* t = w_.add_tensors();
    t->set_name(name);
    int64_t n = 1;
    for (int64_t d : shape) {
      t->add_shape(d);
      n *= d;
    }
    t->set_dtype(ir::v1::INT);
    t->set_bits(data_bits_ > 0 ? data_bits_ : 8);
    t->set_is_weight(weight);
    if (data && data_bits_ > 0) {
      const int32_t hi = (1 << (data_bits_ - 1)) - 1;
      std::uniform_int_distribution<int32_t> d(-hi - 1, hi);
      for (int64_t i = 0; i < n; ++i) t->add_int_data(d(rng_));
    }
    return name;
  }

  ir::v1::Workload w_;
  int data_bits_;
  std::mt19937 rng_;
};

// One op run on one model, with the systolic model's functional outputs.
struct Job : test::Job {
  std::vector<int64_t> int_out;
  std::vector<float> fp_out;
};

// After j's op: the functional outputs, when j.model is a systolic model.
inline void collect_outputs(Job& j) {
  if (auto* s = dynamic_cast<arch::SystolicModel*>(j.model)) {
    j.int_out = s->last_int_outputs();
    j.fp_out = s->last_fp_outputs();
  }
}

// Owns the models of one test; all must be made before run() (SystemC elaboration).
class Models : public test::Models {
 public:
  arch::SystolicModel& make(const arch::SystolicParams& p) {
    return add<arch::SystolicModel>("systolic", p);
  }
  // Runs every job, in order, in one simulation. Call once per process.
  static void run(std::vector<Job>& jobs) { run_jobs(jobs, collect_outputs); }
};

}  // namespace codesim::test::systolic
