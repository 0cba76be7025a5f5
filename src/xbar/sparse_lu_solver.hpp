#pragma once
// Reference IR-drop model: the crossbar's full nodal matrix (up to 2RC free nodes, physics.md section 3)
// assembled as an Eigen::SparseMatrix and solved directly with Eigen::SparseLU (COLAMD ordering).
// Slow (factor ~0.1 s at 128 x 128, ~1 s at 256 x 256) but simple and method-independent: the check for
// ExactSolver on arrays too large for ngspice. Linear cells only. Zero resistances merge nodes exactly
// (crossbar_netlist.hpp). Conventions as in ir_drop.hpp; not thread-safe.
#include <Eigen/Dense>
#include <Eigen/SparseCore>
#include <Eigen/SparseLU>

#include <memory>

#include "core/params.hpp"
#include "xbar/crossbar_netlist.hpp"
#include "xbar/ir_drop.hpp"

namespace cimlab::xbar {

// The nodal equations A x = B V of the free nodes x (volts) for row-terminal voltages V; column
// currents I = E^T x + direct^T V (amperes). A is symmetric positive definite.
struct NodalSystem {
  Eigen::SparseMatrix<double> A;  // free x free, S
  Eigen::SparseMatrix<double> B;  // free x rows: conductance from each node to each row terminal, S
  Eigen::SparseMatrix<double> E;  // free x cols: conductance from each node to each column terminal, S
  Eigen::MatrixXd direct;         // rows x cols: cells joining a row terminal to a column terminal, S
};

NodalSystem assemble_nodal_system(const CrossbarNetlist& net);

class SparseLuSolver final : public IrDropModel {
 public:
  explicit SparseLuSolver(const CircuitSpec& spec);
  std::string name() const override { return "sparse_lu"; }
  void program(const Eigen::MatrixXd& G) override;  // assembles and factors; throws NumericalError if singular
  Eigen::MatrixXd currents(const Eigen::MatrixXd& V) override;  // R x K -> C x K
  const SolveReport& last_report() const override { return report_; }

  // Node voltages for one input vector (volts), as ExactSolver::nodes().
  NodeVoltages nodes(const Eigen::VectorXd& v);

 private:
  Eigen::MatrixXd solve_free(const Eigen::MatrixXd& V);

  CircuitSpec spec_;
  CrossbarNetlist net_;
  NodalSystem system_;
  Eigen::SparseLU<Eigen::SparseMatrix<double>> lu_;
  bool programmed_ = false;
  SolveReport report_;
};

// Registry hooks: "sparse_lu" has no parameters.
const core::Schema& sparse_lu_solver_schema();
std::unique_ptr<IrDropModel> make_sparse_lu_solver(const CircuitSpec& spec, const core::Params& params);

}  // namespace cimlab::xbar
