#pragma once
// Runs ops on accelerator models the way the runner does, for the models' tests. SystemC
// elaborates once per process, so a test makes every model first and then runs all of its jobs
// in one simulation, from one SC_THREAD.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <utility>
#include <vector>

#include "sim/core/accelerator.h"
#include "workload.pb.h"

namespace codesim::test {

// One op run on one model: what the runner would record. A model's tests derive from it to keep
// what their model exposes about its last op (functional outputs, a mapping); M is the model
// class the tests call.
template <class M = sim::Accelerator>
struct ModelJob {
  M* model = nullptr;
  const ir::v1::Workload* workload = nullptr;
  int op = 0;
  sim::Fidelity fidelity = sim::Fidelity::kFast;
  bool functional = false;
  // Results.
  uint64_t start = 0;  // the model's cycle when the op started
  uint64_t cycles = 0;
  sim::OpOutcome outcome{};
  std::map<std::string, uint64_t> counters{};  // what the op added to each counter
};
using Job = ModelJob<>;

// What each counter of `m` gained since `before`, an earlier m.stats().snapshot().
inline std::map<std::string, uint64_t> counters_since(const sim::Accelerator& m,
                                                      const std::vector<uint64_t>& before) {
  std::map<std::string, uint64_t> gained;
  const auto& counters = m.stats().counters();
  for (size_t c = 0; c < counters.size(); ++c)
    gained[counters[c]->name] = counters[c]->value - before[c];
  return gained;
}

// The one SC_THREAD of a test's simulation.
class SimThread : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(SimThread);
  SimThread(const sc_core::sc_module_name& name, std::function<void()> body)
      : sc_core::sc_module(name), body_(std::move(body)) {
    SC_THREAD(run);
  }

 private:
  void run() {
    body_();
    sc_core::sc_stop();
  }
  std::function<void()> body_;
};

// Runs `body` in one simulation and returns when it is done. Once per process, after every model
// is made.
inline void simulate(std::function<void()> body) {
  SimThread thread("harness", std::move(body));
  sc_core::sc_start();
}

// Runs j.op on j.model and records the results; call from inside simulate().
template <class M>
void run_op(ModelJob<M>& j) {
  const std::vector<uint64_t> before = j.model->stats().snapshot();
  j.start = j.model->cycle();
  j.model->run_op(
      sim::OpTask{*j.workload, j.workload->ops(j.op), j.fidelity, j.functional, j.outcome});
  j.cycles = j.model->cycle() - j.start;
  j.counters = counters_since(*j.model, before);
}

// Runs every job, in order, in one simulation; after each, `collect(job)` reads what the model
// keeps of that op. Once per process.
template <class J, class Collect>
void run_jobs(std::vector<J>& jobs, Collect collect) {
  simulate([&] {
    for (J& j : jobs) {
      run_op(j);
      collect(j);
    }
  });
}

inline void run_jobs(std::vector<Job>& jobs) {
  run_jobs(jobs, [](Job&) {});
}

// Owns the models of one test; all must be made before the simulation starts.
class Models {
 public:
  // A model M named `<prefix><number of models made so far>`.
  template <class M, class P>
  M& add(const std::string& prefix, const P& params) {
    auto m = std::make_unique<M>(
        sc_core::sc_module_name((prefix + std::to_string(models_.size())).c_str()), params);
    M& made = *m;
    models_.push_back(std::move(m));
    return made;
  }

 private:
  std::vector<std::unique_ptr<sim::Accelerator>> models_;
};

}  // namespace codesim::test
