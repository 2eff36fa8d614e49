#pragma once
// Jobs on many shiftadd model instances, run in one simulation through tests/sim_harness.h
// (SystemC elaborates once per process, so a test builds every model first, then runs once).

#include <string>
#include <vector>

#include "arch/models/shiftadd/shiftadd.h"
#include "arch/models/shiftadd/tests/shiftadd_test_util.h"
#include "sim/core/diagnostics.h"
#include "tests/sim_harness.h"

namespace codesim::test::shiftadd {

// One op on one shiftadd model, with its functional outputs and the op's mapping.
struct Job : ModelJob<arch::ShiftAddModel> {
  std::vector<int64_t> out;
  const arch::shiftadd::Mapping* mapping = nullptr;
};

// Parameters of a config of this folder with overrides (`accelerator.key=value`).
inline arch::ShiftAddParams params(const std::string& config,
                                   const std::vector<std::string>& overrides = {}) {
  const sim::ArchConfig a = arch(config, overrides);
  sim::Diagnostics diags;
  arch::ShiftAddParams p =
      arch::ShiftAddParams::schema().parse(a.accelerator, a.file, "accelerator", diags, {"model"});
  diags.throw_if_any();
  return p;
}

// Owns the models of one test; all must be made before run() (SystemC elaborates once).
class Models : public test::Models {
 public:
  arch::ShiftAddModel& make(const arch::ShiftAddParams& p) {
    return add<arch::ShiftAddModel>("shiftadd", p);
  }
  // Every job, in order, in one simulation. Call once per process.
  static void run(std::vector<Job>& jobs) {
    run_jobs(jobs, [](Job& j) {
      j.out = j.model->last_outputs();
      j.mapping = j.model->mapping(j.workload->ops(j.op).name());
    });
  }
};

}  // namespace codesim::test::shiftadd
