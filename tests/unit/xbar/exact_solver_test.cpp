// ExactSolver against the sparse LU reference, and its own contracts: zero resistances, shapes, input
// blocks, node voltages, transfer matrix, Newton for nonlinear cells, errors, registry entries.
#include "xbar/exact_solver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/errors.hpp"
#include "random_arrays.hpp"
#include "xbar/sparse_lu_solver.hpp"

namespace cimlab::xbar {
namespace {

using testing::max_relative_error;

Eigen::MatrixXd exact_currents(const CircuitSpec& spec, const Eigen::MatrixXd& G, const Eigen::MatrixXd& V,
                               ExactSolverOptions options = {}) {
  ExactSolver solver(spec, options);
  solver.program(G);
  return solver.currents(V);
}

Eigen::MatrixXd reference_currents(const CircuitSpec& spec, const Eigen::MatrixXd& G, const Eigen::MatrixXd& V) {
  SparseLuSolver lu(spec);
  lu.program(G);
  return lu.currents(V);
}

TEST(ExactSolver, MatchesSparseLuOnRandomArrays) {
  core::Rng rng(2024);
  const int shapes[][2] = {{1, 1}, {1, 30}, {30, 1}, {2, 2}, {17, 40}, {64, 9}, {9, 64}, {100, 37}, {128, 128}};
  for (const auto& s : shapes) {
    const testing::ArrayCase c = testing::random_array(rng, s[0], s[1]);
    const Eigen::MatrixXd V = testing::random_inputs(rng, s[0], 3);
    EXPECT_LT(max_relative_error(exact_currents(c.spec, c.G, V), reference_currents(c.spec, c.G, V)), 1e-9)
        << s[0] << " x " << s[1];
  }
}

// Every combination of zero wire / driver / sense resistances and one- or two-sided ends, with
// conductances spanning 1e-9 .. 1e-2 S.
TEST(ExactSolver, MatchesSparseLuWithZeroResistancesAndExtremeConductances) {
  core::Rng rng(7);
  for (int mask = 0; mask < 64; ++mask) {
    CircuitSpec spec{7, 5, 2.0, 3.0, 40.0, 25.0, (mask & 16) != 0, (mask & 32) != 0};
    if (mask & 1) spec.r_row = 0.0;
    if (mask & 2) spec.r_col = 0.0;
    if (mask & 4) spec.r_driver = 0.0;
    if (mask & 8) spec.r_sense = 0.0;
    const Eigen::MatrixXd G = testing::random_conductances(rng, 7, 5, 1e-9, 1e-2, true);
    const Eigen::MatrixXd V = testing::random_inputs(rng, 7, 2);
    EXPECT_LT(max_relative_error(exact_currents(spec, G, V), reference_currents(spec, G, V)), 1e-9) << "mask " << mask;
  }
}

TEST(ExactSolver, ExtremeConductanceRangeOnLargeArray) {
  core::Rng rng(11);
  const CircuitSpec spec{64, 64, 5.0, 5.0, 10.0, 10.0};
  const Eigen::MatrixXd G = testing::random_conductances(rng, 64, 64, 1e-9, 1e-2, true);
  const Eigen::MatrixXd V = testing::random_inputs(rng, 64, 2);
  EXPECT_LT(max_relative_error(exact_currents(spec, G, V), reference_currents(spec, G, V)), 1e-9);
}

TEST(ExactSolver, IdealCircuitIsBitwiseTheIdealProduct) {
  core::Rng rng(3);
  const CircuitSpec spec{13, 21};
  const Eigen::MatrixXd G = testing::random_conductances(rng, 13, 21, 1e-6, 1e-4);
  const Eigen::MatrixXd V = testing::random_inputs(rng, 13, 9);
  ExactSolver solver(spec);
  solver.program(G);
  EXPECT_TRUE((solver.currents(V).array() == ideal_currents(G, V).array()).all());
  EXPECT_EQ(solver.last_report().method, "ideal");
  EXPECT_TRUE((solver.transfer_matrix().array() == G.array()).all());
  const NodeVoltages n = solver.nodes(V.col(0));
  EXPECT_TRUE((n.u.array() == V.col(0).replicate(1, 21).array()).all());
  EXPECT_TRUE((n.v.array() == 0.0).all());
}

TEST(ExactSolver, InputBlocksAgreeWithSingleSolvesAndAreDeterministic) {
  core::Rng rng(5);
  const testing::ArrayCase c = testing::random_array(rng, 24, 31);
  const Eigen::MatrixXd V = testing::random_inputs(rng, 24, 13);
  ExactSolver solver(c.spec);
  solver.program(c.G);
  const Eigen::MatrixXd block = solver.currents(V);
  for (int k = 0; k < V.cols(); ++k)
    EXPECT_LT(max_relative_error(block.col(k), solver.currents(V.col(k))), 1e-11) << "input " << k;
  EXPECT_TRUE((solver.currents(V).array() == block.array()).all());
  EXPECT_TRUE((exact_currents(c.spec, c.G, V).array() == block.array()).all());
}

TEST(ExactSolver, WideBlocksUseTheLinearResponseUntilReprogrammed) {
  core::Rng rng(8);
  const testing::ArrayCase c = testing::random_array(rng, 20, 33);
  const Eigen::MatrixXd V = testing::random_inputs(rng, 20, 25);  // 25 inputs >= min(R, C) = 20
  ExactSolver solver(c.spec);
  solver.program(c.G);
  const Eigen::MatrixXd wide = solver.currents(V);
  EXPECT_EQ(solver.last_report().method, "linear-response");
  EXPECT_LT(max_relative_error(wide, reference_currents(c.spec, c.G, V)), 1e-9);
  const Eigen::MatrixXd one = solver.currents(V.col(3));  // later blocks reuse the response
  EXPECT_EQ(solver.last_report().method, "linear-response");
  EXPECT_LT(max_relative_error(one, wide.col(3)), 1e-14);
  const Eigen::MatrixXd G2 = 2.0 * c.G;
  solver.program(G2);  // a new array forgets the old response
  const Eigen::MatrixXd narrow = solver.currents(V.leftCols(4));
  EXPECT_EQ(solver.last_report().method, "schur-pcg");
  EXPECT_LT(max_relative_error(narrow, reference_currents(c.spec, G2, V.leftCols(4))), 1e-9);
}

TEST(ExactSolver, TransferMatrixReproducesCurrents) {
  core::Rng rng(13);
  const int shapes[][2] = {{20, 50}, {50, 20}, {32, 32}, {1, 17}, {17, 1}};
  for (const auto& s : shapes) {
    const testing::ArrayCase c = testing::random_array(rng, s[0], s[1]);
    const Eigen::MatrixXd V = testing::random_inputs(rng, s[0], 4);
    ExactSolver solver(c.spec);
    solver.program(c.G);
    const Eigen::MatrixXd M = solver.transfer_matrix();
    ASSERT_EQ(M.rows(), s[0]);
    ASSERT_EQ(M.cols(), s[1]);
    EXPECT_LT(max_relative_error(M.transpose() * V, solver.currents(V)), 1e-10) << s[0] << " x " << s[1];
  }
}

TEST(ExactSolver, NodeVoltagesMatchSparseLu) {
  core::Rng rng(17);
  for (int trial = 0; trial < 4; ++trial) {
    testing::ArrayCase c = testing::random_array(rng, 12, 15);
    if (trial == 1) c.spec.r_row = 0.0;
    if (trial == 2) c.spec.r_col = 0.0;
    const Eigen::VectorXd v = testing::random_inputs(rng, 12, 1);
    ExactSolver solver(c.spec);
    solver.program(c.G);
    SparseLuSolver lu(c.spec);
    lu.program(c.G);
    const NodeVoltages a = solver.nodes(v), b = lu.nodes(v);
    EXPECT_LT((a.u - b.u).cwiseAbs().maxCoeff(), 1e-12) << "trial " << trial;
    EXPECT_LT((a.v - b.v).cwiseAbs().maxCoeff(), 1e-12) << "trial " << trial;
  }
}

TEST(ExactSolver, NonConvergenceIsReported) {
  core::Rng rng(19);
  const testing::ArrayCase c = testing::random_array(rng, 32, 32);
  ExactSolverOptions options;
  options.tolerance = 1e-14;
  options.max_iterations = 1;
  ExactSolver solver(c.spec, options);
  solver.program(c.G);
  try {
    solver.currents(testing::random_inputs(rng, 32, 2));
    FAIL() << "expected NumericalError";
  } catch (const core::NumericalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("residual"), std::string::npos) << what;
    EXPECT_NE(what.find("1 iterations"), std::string::npos) << what;
  }
}

// Kirchhoff's current law at every node of a solved network with nonlinear cells (all resistances > 0).
double max_kcl_violation(const CircuitSpec& s, const Eigen::MatrixXd& G, const Eigen::VectorXd& v,
                         const NodeVoltages& n, const device::CellIV& iv) {
  const double gr = 1.0 / s.r_row, gc = 1.0 / s.r_col, gd = 1.0 / s.r_driver, gs = 1.0 / s.r_sense;
  double worst = 0.0;
  for (int i = 0; i < s.rows; ++i)
    for (int j = 0; j < s.cols; ++j) {
      const double cell = iv.current(G(i, j), n.u(i, j) - n.v(i, j));
      double row = -cell, col = cell;
      if (j > 0) row += gr * (n.u(i, j - 1) - n.u(i, j));
      if (j + 1 < s.cols) row += gr * (n.u(i, j + 1) - n.u(i, j));
      if (j == 0) row += gd * (v(i) - n.u(i, j));
      if (i > 0) col += gc * (n.v(i - 1, j) - n.v(i, j));
      if (i + 1 < s.rows) col += gc * (n.v(i + 1, j) - n.v(i, j));
      if (i == s.rows - 1) col -= gs * n.v(i, j);
      worst = std::max({worst, std::abs(row), std::abs(col)});
    }
  return worst;
}

TEST(ExactSolver, NewtonSatisfiesKirchhoffWithNonlinearCells) {
  core::Rng rng(23);
  const CircuitSpec spec{16, 12, 2.0, 3.0, 20.0, 15.0};
  const Eigen::MatrixXd G = testing::random_conductances(rng, 16, 12, 1e-5, 1e-3);
  const Eigen::VectorXd v = testing::random_inputs(rng, 16, 1, 0.4);
  for (const auto kind : {device::CellIV::Kind::kSinh, device::CellIV::Kind::kCubic}) {
    ExactSolverOptions options;
    options.iv = {kind, 0.1};
    ExactSolver solver(spec, options);
    solver.program(G);
    const NodeVoltages n = solver.nodes(v);
    EXPECT_GT(solver.last_report().iterations, 1);
    EXPECT_LT(max_kcl_violation(spec, G, v, n, options.iv), 1e-12 * G.sum() * v.maxCoeff());
    const Eigen::VectorXd I = solver.currents(v);
    Eigen::VectorXd expected = Eigen::VectorXd::Zero(12);
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 12; ++j) expected(j) += options.iv.current(G(i, j), n.u(i, j) - n.v(i, j));
    EXPECT_LT(max_relative_error(I, expected), 1e-12);
  }
}

TEST(ExactSolver, NonlinearIdealCircuitIsTheCellLaw) {
  core::Rng rng(27);
  const CircuitSpec spec{9, 4};
  const Eigen::MatrixXd G = testing::random_conductances(rng, 9, 4, 1e-6, 1e-4);
  const Eigen::VectorXd v = testing::random_inputs(rng, 9, 1, 0.5);
  ExactSolverOptions options;
  options.iv = {device::CellIV::Kind::kSinh, 0.1};
  Eigen::VectorXd expected = Eigen::VectorXd::Zero(4);
  for (int i = 0; i < 9; ++i)
    for (int j = 0; j < 4; ++j) expected(j) += options.iv.current(G(i, j), v(i));
  EXPECT_LT(max_relative_error(exact_currents(spec, G, v, options), expected), 1e-15);
}

TEST(ExactSolver, NearlyLinearCellsMatchTheLinearSolution) {
  core::Rng rng(29);
  const testing::ArrayCase c = testing::random_array(rng, 20, 10);
  const Eigen::MatrixXd V = testing::random_inputs(rng, 20, 3);
  ExactSolverOptions options;
  options.iv = {device::CellIV::Kind::kSinh, 1e4};
  EXPECT_LT(max_relative_error(exact_currents(c.spec, c.G, V, options), exact_currents(c.spec, c.G, V)), 1e-9);
}

TEST(ExactSolver, RejectsBadUse) {
  const CircuitSpec spec{4, 3, 1.0, 1.0, 0.0, 0.0};
  ExactSolver solver(spec);
  EXPECT_THROW(solver.currents(Eigen::MatrixXd::Ones(4, 1)), core::ModelError);
  EXPECT_THROW(solver.program(Eigen::MatrixXd::Ones(3, 4)), core::ModelError);
  EXPECT_THROW(solver.program(Eigen::MatrixXd::Zero(4, 3)), core::ModelError);
  solver.program(Eigen::MatrixXd::Constant(4, 3, 1e-5));
  EXPECT_THROW(solver.currents(Eigen::MatrixXd::Ones(3, 1)), core::ModelError);
  EXPECT_THROW(ExactSolver(CircuitSpec{4, 3, -1.0}), core::ModelError);
  EXPECT_THROW(ExactSolver(CircuitSpec{0, 3}), core::ModelError);
  ExactSolverOptions nonlinear;
  nonlinear.iv = {device::CellIV::Kind::kSinh, 0.2};
  ExactSolver newton(spec, nonlinear);
  newton.program(Eigen::MatrixXd::Constant(4, 3, 1e-5));
  EXPECT_THROW(newton.transfer_matrix(), core::ModelError);
}

core::Params default_params(const core::Schema& schema) {
  core::Diagnostics diags;
  const core::Params p = core::validate(YAML::Node(), schema, "ir_drop.", core::Origin{"test"}, diags);
  diags.throw_if_any();
  return p;
}

TEST(IrDropRegistry, BuildsExactAndSparseLuModels) {
  const CircuitSpec spec{6, 5, 1.0, 1.0, 10.0, 10.0};
  for (const std::string type : {"exact", "sparse_lu"}) {
    const auto& entries = ir_drop_models();
    const auto it = std::find_if(entries.begin(), entries.end(), [&](const IrDropEntry& e) { return e.type == type; });
    ASSERT_NE(it, entries.end()) << type;
    EXPECT_EQ(it->schema.name, "ir_drop." + type);
    const auto model = make_ir_drop_model(type, spec, default_params(it->schema));
    EXPECT_EQ(model->name(), type);
    model->program(Eigen::MatrixXd::Constant(6, 5, 5e-5));
    EXPECT_EQ(model->currents(Eigen::MatrixXd::Constant(6, 2, 0.1)).rows(), 5);
  }
  const core::Params exact = default_params(exact_solver_schema());
  EXPECT_EQ(exact.real("tolerance"), 1e-12);
  EXPECT_EQ(exact.integer("max_iterations"), 5000);
  try {
    make_ir_drop_model("exakt", spec, core::Params{});
    FAIL() << "expected ModelError";
  } catch (const core::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'exact'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cimlab::xbar
