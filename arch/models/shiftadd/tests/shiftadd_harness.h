#pragma once
// Runs ops on many shiftadd model instances in one simulation (SystemC elaborates once per
// process, so a test that compares configurations builds every model first, then runs once).

#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "arch/models/shiftadd/shiftadd.h"
#include "arch/models/shiftadd/tests/shiftadd_test_util.h"
#include "sim/core/diagnostics.h"

namespace codesim::test::shiftadd {

struct Job {
  arch::ShiftAddModel* model = nullptr;
  const ir::v1::Workload* workload = nullptr;
  int op = 0;
  sim::Fidelity fidelity = sim::Fidelity::kFast;
  bool functional = false;
  // Results.
  uint64_t cycles = 0;
  sim::OpOutcome outcome;
  std::map<std::string, uint64_t> counters;
  std::vector<int64_t> out;
  const arch::shiftadd::Mapping* mapping = nullptr;
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
      const uint64_t start = j.model->cycle();
      const ir::v1::Op& op = j.workload->ops(j.op);
      j.model->run_op(sim::OpTask{*j.workload, op, j.fidelity, j.functional, j.outcome});
      j.cycles = j.model->cycle() - start;
      for (size_t c = 0; c < counters.size(); ++c)
        j.counters[counters[c]->name] = counters[c]->value - before[c];
      j.out = j.model->last_outputs();
      j.mapping = j.model->mapping(op.name());
    }
    sc_core::sc_stop();
  }
  std::vector<Job>& jobs_;
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

class Models {
 public:
  arch::ShiftAddModel& make(const arch::ShiftAddParams& p) {
    models_.push_back(std::make_unique<arch::ShiftAddModel>(
        sc_core::sc_module_name(("shiftadd" + std::to_string(models_.size())).c_str()), p));
    return *models_.back();
  }
  // Every job, in order, in one simulation. Call once per process.
  static void run(std::vector<Job>& jobs) {
    Harness h("harness", jobs);
    sc_core::sc_start();
  }

 private:
  std::vector<std::unique_ptr<arch::ShiftAddModel>> models_;
};

}  // namespace codesim::test::shiftadd
