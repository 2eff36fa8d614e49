#pragma once
// Runs tasks in forked child processes, at most `workers` at a time. SystemC elaborates once per
// process, so every simulated point gets a fresh child; the parent never elaborates. A child
// that throws, crashes (a signal) or outlives the timeout (it is killed) is a failed task with
// the reason; the other tasks go on. The parent must not hold threads that the child needs.

#include <functional>
#include <string>
#include <vector>

namespace codesim::search {

struct TaskOutcome {
  bool ok = false;
  std::string payload;  // what the task returned (ok)
  std::string error;    // why it failed (exception text, signal, timeout, exit status)
  double seconds = 0;   // wall time of the child
};

struct PoolOptions {
  int workers = 1;
  double timeout_seconds = 0;  // 0 = none
};

// Runs task(i) for i in [0, count) in children and calls done(i, outcome) in the parent as each
// child finishes (in completion order).
void run_forked(size_t count, const std::function<std::string(size_t)>& task,
                const PoolOptions& options,
                const std::function<void(size_t, const TaskOutcome&)>& done);

}  // namespace codesim::search
