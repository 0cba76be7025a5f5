#pragma once
// The exact nodal solution of the R x C crossbar (physics.md section 3): 2RC unknowns, solved with a
// method that exploits the structure (row and column line solves). Work that depends on G only is done
// once in program() and reused; blocks of input vectors are solved together.
// Handles zero wire / driver / sense resistances, non-square, 1 x N and N x 1 arrays, and extreme
// conductance ratios. If the iterative method fails to converge it throws core::NumericalError naming
// the residual and the iterations (never silent garbage). Not thread-safe.
#include <Eigen/Dense>

#include "device/cell_iv.hpp"
#include "xbar/ir_drop.hpp"

namespace cimlab::xbar {

struct ExactSolverOptions {
  double tolerance = 1e-12;  // relative residual at which an iterative solve stops
  int max_iterations = 5000;
  device::CellIV iv{};       // nonlinear cells switch currents() to a per-input Newton solve
};

class ExactSolver final : public IrDropModel {
 public:
  ExactSolver(const CircuitSpec& spec, ExactSolverOptions options = {});
  ~ExactSolver() override;
  std::string name() const override { return "exact"; }
  void program(const Eigen::MatrixXd& G) override;
  Eigen::MatrixXd currents(const Eigen::MatrixXd& V) override;  // R x K -> C x K
  const SolveReport& last_report() const override { return report_; }

  // Node voltages for one input vector (IR-drop voltage map, per-cell currents).
  NodeVoltages nodes(const Eigen::VectorXd& v);
  // Linear cells only: the R x C matrix M with currents(V) == M^T V for every V (the array's exact
  // linear response). Costs min(R, C) solves, done as blocks; report in last_report().
  Eigen::MatrixXd transfer_matrix();

  const CircuitSpec& spec() const { return spec_; }

 private:
  struct Impl;
  CircuitSpec spec_;
  ExactSolverOptions options_;
  SolveReport report_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cimlab::xbar
