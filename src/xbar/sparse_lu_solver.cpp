#include "xbar/sparse_lu_solver.hpp"

#include <fmt/format.h>

#include <chrono>

#include "core/errors.hpp"

namespace cimlab::xbar {
namespace {

using Triplets = std::vector<Eigen::Triplet<double>>;
using Kind = NetNode::Kind;

// Stamps one branch: between two free nodes into A; between a free node and a terminal into A's
// diagonal and B or E; between a row and a column terminal into `direct`.
void stamp(const NetBranch& b, Triplets& a, Triplets& bt, Triplets& et, Eigen::MatrixXd& direct) {
  const double g = b.conductance;
  for (const auto& [x, y] : {std::pair{b.a, b.b}, std::pair{b.b, b.a}}) {
    if (x.kind != Kind::kFree) continue;
    a.emplace_back(x.index, x.index, g);
    if (y.kind == Kind::kFree) a.emplace_back(x.index, y.index, -g);
    if (y.kind == Kind::kRowTerminal) bt.emplace_back(x.index, y.index, g);
    if (y.kind == Kind::kColTerminal) et.emplace_back(x.index, y.index, g);
  }
  if (b.a.kind == Kind::kRowTerminal && b.b.kind == Kind::kColTerminal) direct(b.a.index, b.b.index) += g;
  if (b.b.kind == Kind::kRowTerminal && b.a.kind == Kind::kColTerminal) direct(b.b.index, b.a.index) += g;
}

double voltage(const NetNode& n, const Eigen::VectorXd& x, const Eigen::VectorXd& v) {
  switch (n.kind) {
    case Kind::kFree: return x(n.index);
    case Kind::kRowTerminal: return v(n.index);
    case Kind::kColTerminal: return 0.0;
  }
  return 0.0;
}

}  // namespace

NodalSystem assemble_nodal_system(const CrossbarNetlist& net) {
  NodalSystem s;
  const int n = net.free_count;
  s.direct = Eigen::MatrixXd::Zero(net.rows, net.cols);
  Triplets a, bt, et;
  a.reserve(net.branches.size() * 4);
  for (const NetBranch& b : net.branches) stamp(b, a, bt, et, s.direct);
  s.A.resize(n, n);
  s.B.resize(n, net.rows);
  s.E.resize(n, net.cols);
  s.A.setFromTriplets(a.begin(), a.end());
  s.B.setFromTriplets(bt.begin(), bt.end());
  s.E.setFromTriplets(et.begin(), et.end());
  s.A.makeCompressed();
  return s;
}

SparseLuSolver::SparseLuSolver(const CircuitSpec& spec) : spec_(spec) { report_.method = "sparse-lu"; }

void SparseLuSolver::program(const Eigen::MatrixXd& G) {
  if (G.rows() != spec_.rows || G.cols() != spec_.cols)
    throw core::ModelError(
        fmt::format("sparse_lu: G is {} x {}, the array is {} x {}", G.rows(), G.cols(), spec_.rows, spec_.cols));
  if (!(G.array() > 0.0).all() || !G.allFinite())
    throw core::ModelError("sparse_lu: every conductance must be finite and > 0 S");
  net_ = build_netlist(spec_, G);
  system_ = assemble_nodal_system(net_);
  if (net_.free_count > 0) {
    lu_.compute(system_.A);
    if (lu_.info() != Eigen::Success)
      throw core::NumericalError(fmt::format("sparse_lu: factorisation failed: {}", lu_.lastErrorMessage()));
  }
  programmed_ = true;
}

Eigen::MatrixXd SparseLuSolver::solve_free(const Eigen::MatrixXd& V) {
  if (!programmed_) throw core::ModelError("sparse_lu: currents() before program()");
  if (V.rows() != spec_.rows)
    throw core::ModelError(fmt::format("sparse_lu: V has {} rows, the array has {}", V.rows(), spec_.rows));
  if (net_.free_count == 0) return Eigen::MatrixXd(0, V.cols());
  const Eigen::MatrixXd rhs = system_.B * V;
  Eigen::MatrixXd x = lu_.solve(rhs);
  if (lu_.info() != Eigen::Success) throw core::NumericalError("sparse_lu: solve failed");
  return x;
}

Eigen::MatrixXd SparseLuSolver::currents(const Eigen::MatrixXd& V) {
  const auto t0 = std::chrono::steady_clock::now();
  const Eigen::MatrixXd x = solve_free(V);
  Eigen::MatrixXd I = system_.direct.transpose() * V;
  if (net_.free_count > 0) I += system_.E.transpose() * x;
  report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return I;
}

NodeVoltages SparseLuSolver::nodes(const Eigen::VectorXd& v) {
  const Eigen::MatrixXd V = v;
  const Eigen::VectorXd x = net_.free_count > 0 ? Eigen::VectorXd(solve_free(V).col(0)) : Eigen::VectorXd();
  NodeVoltages out{Eigen::MatrixXd(spec_.rows, spec_.cols), Eigen::MatrixXd(spec_.rows, spec_.cols)};
  for (int i = 0; i < spec_.rows; ++i)
    for (int j = 0; j < spec_.cols; ++j) {
      out.u(i, j) = voltage(net_.u_nodes[i * spec_.cols + j], x, v);
      out.v(i, j) = voltage(net_.v_nodes[i * spec_.cols + j], x, v);
    }
  return out;
}

const core::Schema& sparse_lu_solver_schema() {
  static const core::Schema schema{
      "ir_drop.sparse_lu", "reference: full nodal matrix solved by Eigen's sparse LU (slow; for validation)", {}};
  return schema;
}

std::unique_ptr<IrDropModel> make_sparse_lu_solver(const CircuitSpec& spec, const core::Params&) {
  return std::make_unique<SparseLuSolver>(spec);
}

}  // namespace cimlab::xbar
