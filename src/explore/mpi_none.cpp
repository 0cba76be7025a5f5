// A build without MPI (see explore/mpi.hpp): searches run in one process.
#include <cstdlib>

#include "explore/mpi.hpp"

namespace cimlab::explore::mpi {

bool available() { return false; }

bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* s = std::getenv(v); s && std::atoi(s) > 1)
      throw core::InputError("started by mpirun / srun, but this cimlab was built without MPI (install libopenmpi-dev "
                             "and rebuild, or run without mpirun)");
  return false;
}

Session::Session() { throw core::InternalError("MPI session in a build without MPI"); }
Session::~Session() = default;

std::unique_ptr<BatchEvaluator> make_evaluator(BatchEvaluator&, const Session&) {
  throw core::InternalError("MPI evaluator in a build without MPI");
}
void serve(BatchEvaluator&) { throw core::InternalError("MPI worker in a build without MPI"); }

}  // namespace cimlab::explore::mpi
