#pragma once
// Shared by the nm_sparse tests: small workloads, and models (nm_sparse and, for comparisons, the
// dense systolic array) whose jobs run in one simulation through tests/sim_harness.h.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "arch/models/nm_sparse/nm_sparse.h"
#include "arch/models/systolic/systolic.h"
#include "arch/models/systolic/tests/systolic_test_util.h"
#include "sim/core/accelerator.h"
#include "tests/sim_harness.h"
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

// One op on an nm_sparse or systolic model, with its functional outputs.
using systolic::Job;

// Owns the models of one test; all must be made before run() (SystemC elaborates once).
class Models : public test::Models {
 public:
  arch::NmSparseModel& make(const arch::NmSparseParams& p) {
    return add<arch::NmSparseModel>("nm", p);
  }
  arch::SystolicModel& make_systolic(const arch::SystolicParams& p) {
    return add<arch::SystolicModel>("sys", p);
  }
  // Runs every job, in order, in one simulation. Call once per process.
  static void run(std::vector<Job>& jobs) {
    run_jobs(jobs, [](Job& j) {
      if (auto* s = dynamic_cast<arch::NmSparseModel*>(j.model)) {
        j.int_out = s->last_int_outputs();
        j.fp_out = s->last_fp_outputs();
      } else {
        systolic::collect_outputs(j);
      }
    });
  }
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
