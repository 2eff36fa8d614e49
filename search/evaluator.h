#pragma once
// Evaluating a point: compress the workload's weights as the point says (transform pipeline,
// quality and accuracy), then simulate the compressed workload on the point's hardware. Runs in a
// forked worker (SystemC elaborates once per process); the parent keeps two caches and skips
// the worker when they already hold everything a point needs:
//   compress:<choices>  quality, accuracy, size and the compressed workload without weight
//                       values (shapes and annotations, all the simulator reads),
//   op:<hash>           one op's cycles, energy and MACs, keyed by a hash of (the op and its
//                       tensors' shapes and annotations without names or values, the hardware
//                       parameters, technology, fidelity and the codesim build), so repeated
//                       layers and repeated points are simulated once,
//   area:<hash>         the hardware's area and clock.

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "search/space.h"

namespace codesim::search {

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Parent: adds cache entries (from the store on --resume, from workers, from other ranks).
  virtual void absorb_cache(const std::map<std::string, std::string>& entries) = 0;
  // Parent: the point's metrics from the caches alone, or nothing when it needs a worker.
  virtual std::optional<nlohmann::json> from_cache(const Point& p) = 0;
  // Worker: evaluates the point. Returns {"metrics": {...}, "cache": {key: value}}; throws on
  // failure (the message is recorded with the point).
  virtual nlohmann::json evaluate(const Point& p) = 0;
};

// The simulator-backed evaluator for a space from load_space. Construction prepares the workload
// (weights, calibration inputs) and loads the dataset once in the parent, so that every forked
// worker shares them.
std::unique_ptr<Evaluator> make_sim_evaluator(const Space& space);

}  // namespace codesim::search
