#pragma once
// Shared by the nm_sparse tests: small workloads and a harness that elaborates several models
// (nm_sparse and, for comparisons, the dense systolic array) and runs ops on them from one
// SC_THREAD (SystemC elaborates once per process).

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <systemc>
#include <vector>

#include "arch/models/nm_sparse/nm_sparse.h"
#include "arch/models/systolic/systolic.h"
#include "sim/core/accelerator.h"
#include "workload.pb.h"

namespace codesim::test::nm_sparse {

inline ir::v1::Tensor* add_tensor(ir::v1::Workload& w, const std::string& name,
                                  const std::vector<int64_t>& shape, bool weight) {
  ir::v1::Tensor* t = w.add_tensors();
  t->set_name(name);
  for (int64_t d : shape) t->add_shape(d);
  t->set_dtype(ir::v1::INT);
  t->set_bits(8);
  t->set_is_weight(weight);
  return t;
}

// A gemm A [batch, m, k] · B. B is a shape-only weight [k, n] (optionally annotated N:M, no
// data) or, with `b_activation`, an activation [batch, k, n].
inline ir::v1::Op* add_gemm(ir::v1::Workload& w, const std::string& name, int64_t m, int64_t n,
                            int64_t k, int64_t batch = 1, bool b_activation = false, int nm_n = 0,
                            int nm_m = 0, bool bitmap = false) {
  ir::v1::Op* op = w.add_ops();
  op->set_name(name);
  auto* g = op->mutable_gemm();
  g->set_batch(batch);
  g->set_m(m);
  g->set_n(n);
  g->set_k(k);
  add_tensor(w, name + ".a", {batch, m, k}, false);
  ir::v1::Tensor* b = b_activation ? add_tensor(w, name + ".b", {batch, k, n}, false)
                                   : add_tensor(w, name + ".b", {k, n}, true);
  if (nm_n > 0) {
    auto* a = b->mutable_structure()->mutable_nm();
    a->set_n(static_cast<uint32_t>(nm_n));
    a->set_m(static_cast<uint32_t>(nm_m));
    a->set_index_format(bitmap ? ir::v1::BITMAP : ir::v1::INDICES);
  }
  add_tensor(w, name + ".out", {batch, m, n}, false);
  op->add_inputs(name + ".a");
  op->add_inputs(name + ".b");
  op->add_outputs(name + ".out");
  return op;
}

struct Job {
  sim::Accelerator* model = nullptr;
  const ir::v1::Workload* workload = nullptr;
  int op = 0;
  sim::Fidelity fidelity = sim::Fidelity::kFast;
  bool functional = false;
  uint64_t start = 0;
  uint64_t cycles = 0;
  sim::OpOutcome outcome;
  std::map<std::string, uint64_t> counters;
  std::vector<int64_t> int_out;
  std::vector<float> fp_out;
};

class Harness : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Harness);
  Harness(const sc_core::sc_module_name& name, std::vector<Job>& jobs)
      : sc_core::sc_module(name), jobs_(jobs) {
    SC_THREAD(run);
  }

 private:
  void run() {
    for (Job& j : jobs_) {
      const auto& counters = j.model->stats().counters();
      const std::vector<uint64_t> before = j.model->stats().snapshot();
      j.start = j.model->cycle();
      j.model->run_op(
          sim::OpTask{*j.workload, j.workload->ops(j.op), j.fidelity, j.functional, j.outcome});
      j.cycles = j.model->cycle() - j.start;
      for (size_t c = 0; c < counters.size(); ++c)
        j.counters[counters[c]->name] = counters[c]->value - before[c];
      if (auto* s = dynamic_cast<arch::NmSparseModel*>(j.model)) {
        j.int_out = s->last_int_outputs();
        j.fp_out = s->last_fp_outputs();
      } else if (auto* y = dynamic_cast<arch::SystolicModel*>(j.model)) {
        j.int_out = y->last_int_outputs();
      }
    }
    sc_core::sc_stop();
  }
  std::vector<Job>& jobs_;
};

class Models {
 public:
  arch::NmSparseModel& make(const arch::NmSparseParams& p) {
    nm_.push_back(std::make_unique<arch::NmSparseModel>(
        sc_core::sc_module_name(("nm" + std::to_string(nm_.size())).c_str()), p));
    return *nm_.back();
  }
  arch::SystolicModel& make_systolic(const arch::SystolicParams& p) {
    sys_.push_back(std::make_unique<arch::SystolicModel>(
        sc_core::sc_module_name(("sys" + std::to_string(sys_.size())).c_str()), p));
    return *sys_.back();
  }
  static void run(std::vector<Job>& jobs) {
    Harness h("harness", jobs);
    sc_core::sc_start();
  }

 private:
  std::vector<std::unique_ptr<arch::NmSparseModel>> nm_;
  std::vector<std::unique_ptr<arch::SystolicModel>> sys_;
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline Job job(sim::Accelerator& m, const ir::v1::Workload& w, int op,
               sim::Fidelity f = sim::Fidelity::kFast, bool functional = false) {
  Job j;
  j.model = &m;
  j.workload = &w;
  j.op = op;
  j.fidelity = f;
  j.functional = functional;
  return j;
}

// The SCALE-Sim v3 setup: 32 × 32, one multiplier per PE, folds that fill and drain alone,
// unlimited bandwidth.
inline arch::NmSparseParams scalesim_params() {
  arch::NmSparseParams p;
  p.rows = 32;
  p.cols = 32;
  p.mults_per_pe = 1;
  p.fold_overlap = false;
  p.supported_nm = "1:4,2:4,1:8,2:8,4:8";
  return p;
}

}  // namespace codesim::test::nm_sparse
