#pragma once
// Internal to the `cimlab xbar` experiment: output pieces shared by its circuit and weights modes.
#include <nlohmann/json.hpp>

#include "core/run_dir.hpp"
#include "xbar/approx_models.hpp"
#include "xbar/exact_solver.hpp"

namespace cimlab::xbar {

// {"relative_rms_error", "max_relative_error", "max_error_full_scale"} of an error measurement.
nlohmann::json error_json(const OutputError& e);

// The voltage across every cell (R x C, volts) for input v on the programmed solver, also written to
// the run folder as cell_voltage.csv.
Eigen::MatrixXd write_cell_voltage(ExactSolver& solver, const Eigen::VectorXd& v, core::RunDir& run);

}  // namespace cimlab::xbar
