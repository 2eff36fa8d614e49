#pragma once
// The MPI side of a study. Under `mpirun -np K` every rank runs the same deterministic algorithm
// (same seed, same batches); each rank evaluates every K-th point of a batch in its own forked
// workers, the results are all-gathered so that every rank continues identically, and rank 0
// alone writes the store. Without mpirun (no OMPI_COMM_WORLD_SIZE in the environment) MPI is
// never initialized and this is a single rank.

#include <string>
#include <vector>

namespace codesim::search {

class Comm {
 public:
  // Initializes MPI when the process was started by mpirun; finalizes at destruction.
  Comm();
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool active() const { return active_; }
  // Every rank's string, in rank order (each rank passes its own).
  std::vector<std::string> allgather(const std::string& mine) const;
  // Rank 0's string on every rank.
  std::string broadcast(const std::string& from_root) const;

 private:
  bool active_ = false;
  int rank_ = 0;
  int size_ = 1;
};

// Whether this process was started by mpirun (OpenMPI) with more than one rank.
bool launched_by_mpirun();

}  // namespace codesim::search
