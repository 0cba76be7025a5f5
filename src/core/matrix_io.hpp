#pragma once
// Reading and writing numeric matrices: CSV (one matrix row per line, comma-separated, '#' comments)
// and NumPy .npy (little-endian float64/float32/int, C or Fortran order, 1-D or 2-D).
#include <Eigen/Dense>

#include <string>

namespace cimlab::core {

// Reads a matrix from `path` (format by extension: .npy, else CSV). Throws InputError naming the file
// (and line/column for CSV) when it is missing, malformed, ragged, empty or holds NaN/Inf.
Eigen::MatrixXd read_matrix(const std::string& path);

// Writes CSV with 17 significant digits (round-trips doubles exactly). Throws InputError on I/O failure.
void write_csv(const std::string& path, const Eigen::MatrixXd& m);

}  // namespace cimlab::core
