#pragma once
// The exact nodal solution of the R x C crossbar (physics.md section 3): 2RC unknowns, solved with a
// method that exploits the structure (row and column line solves). Work that depends on G only is done
// once in program() and reused; blocks of input vectors are solved together.
// Handles zero wire / driver / sense resistances, non-square, 1 x N and N x 1 arrays, and extreme
// conductance ratios. If the iterative method fails to converge it throws core::NumericalError naming
// the residual and the iterations (never silent garbage). Not thread-safe.
#include <Eigen/Dense>

#include <memory>

#include "core/params.hpp"
#include "device/cell_iv.hpp"
#include "xbar/ir_drop.hpp"

namespace cimlab::xbar {

struct ExactSolverOptions {
  double tolerance = 1e-12;  // relative residual at which an iterative solve stops
  int max_iterations = 5000;
  device::CellIV iv{};       // nonlinear cells switch currents() to a per-input Newton solve
};

// Method: conjugate gradients on the Schur complement in the row-wire nodes, S = Ar - D Ac^-1 D^T,
// preconditioned by Ar^-1 (row-line Thomas sweeps); up to 8 input vectors in lockstep. A linear solve
// reports method "schur-pcg" and its PCG iterations; with zero wire, driver and sense resistance the
// result is ideal_currents(G, V) bit for bit (method "ideal"). Nonlinear cells: Newton's method per
// input on the full network ("newton-schur-pcg", iterations = Newton steps, each a warm-started PCG
// solve of the network linearised with device::CellIV::slope and matching current sources).

class ExactSolver final : public IrDropModel {
 public:
  ExactSolver(const CircuitSpec& spec, ExactSolverOptions options = {});
  ~ExactSolver() override;
  std::string name() const override { return "exact"; }
  void program(const Eigen::MatrixXd& G) override;
  // R x K -> C x K. With linear cells, a block of K >= min(R, C) inputs makes the solver compute the
  // array's exact linear response once (transfer_matrix()) and keep it until the next program():
  // this and every later block then cost one product (report method "linear-response").
  Eigen::MatrixXd currents(const Eigen::MatrixXd& V) override;
  const SolveReport& last_report() const override { return report_; }

  // Node voltages (volts) for one input vector v (R entries, volts): the IR-drop voltage map; the cell
  // (i, j) carries device current of u(i, j) - v(i, j).
  NodeVoltages nodes(const Eigen::VectorXd& v);
  // Linear cells only: the R x C matrix M with currents(V) == M^T V for every V (the array's exact
  // linear response). Costs min(R, C) solves, done as blocks; report in last_report().
  Eigen::MatrixXd transfer_matrix();

  const CircuitSpec& spec() const { return spec_; }
  const ExactSolverOptions& options() const { return options_; }

 private:
  struct Impl;
  CircuitSpec spec_;
  ExactSolverOptions options_;
  SolveReport report_;
  std::unique_ptr<Impl> impl_;
};

// Parameters of the `ir_drop:` section with type exact (tolerance, max_iterations) and its factory.
const core::Schema& exact_solver_schema();
std::unique_ptr<IrDropModel> make_exact_solver(const CircuitSpec& spec, const core::Params& params);

}  // namespace cimlab::xbar
