#pragma once
// Distribution of a search over MPI ranks (Open MPI; issue 12). Rank 0 runs the strategy and alone writes
// files; each batch of points is broadcast, every rank evaluates the points i with i % ranks == rank (on
// its own threads), and the outcomes are gathered on rank 0 as JSON (doubles round-trip exactly, so a
// distributed run gives the metrics of a single-process one). A point that throws on any rank is a failed
// point. Built only when CMake finds MPI (CIMLAB_HAVE_MPI); without it launched() is false and a
// Session cannot be made.
#include <memory>

#include "explore/search.hpp"

namespace cimlab::explore::mpi {

// Whether this build has MPI.
bool available();
// Whether this process was started by mpirun / mpiexec / srun (their environment variables), so that
// MPI is initialised only then. Throws core::InputError when so but the build has no MPI.
bool launched();

// MPI_Init on construction, MPI_Finalize on destruction. One per process.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

// Rank 0: evaluates batches over all ranks with `local` (this rank's threads). Its destructor tells the
// other ranks to stop.
std::unique_ptr<BatchEvaluator> make_evaluator(BatchEvaluator& local, const Session& session);
// Ranks > 0: evaluates their share of each batch with `local` until rank 0 says stop.
void serve(BatchEvaluator& local);

}  // namespace cimlab::explore::mpi
