// Properties every exact IR-drop model must have, checked with seeded generators on the registry's
// "exact" and "sparse_lu" entries: zero resistance gives the ideal product, more resistance never gives
// more current (where that holds, see below), superposition, determinism, transfer-matrix consistency.
// Project headers come before <gtest/gtest.h>, whose <signal.h> defines a macro named si_value.
#include "random_arrays.hpp"
#include "xbar/exact_solver.hpp"
#include "xbar/ir_drop.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace cimlab::xbar {
namespace {

using testing::max_relative_error;

std::unique_ptr<IrDropModel> make_model(const std::string& type, const CircuitSpec& spec) {
  for (const IrDropEntry& e : ir_drop_models()) {
    if (e.type != type) continue;
    core::Diagnostics diags;
    const core::Params params = core::validate(YAML::Node(), e.schema, "ir_drop.", core::Origin{"test"}, diags);
    return e.make(spec, params);
  }
  throw std::runtime_error("no IR-drop model " + type);
}

Eigen::MatrixXd solve(const std::string& type, const CircuitSpec& spec, const Eigen::MatrixXd& G,
                      const Eigen::MatrixXd& V) {
  const auto model = make_model(type, spec);
  model->program(G);
  return model->currents(V);
}

// A random shape between 1 x 1 and 40 x 40, biased towards small and degenerate ones.
std::pair<int, int> random_shape(core::Rng& rng) {
  const auto side = [&] { return rng.uniform() < 0.2 ? 1 : 1 + static_cast<int>(rng.uniform(0.0, 40.0)); };
  return {side(), side()};
}

class IrDropProperty : public ::testing::TestWithParam<std::string> {};

TEST_P(IrDropProperty, ZeroResistanceGivesTheIdealProduct) {
  core::Rng rng(101);
  for (int trial = 0; trial < 20; ++trial) {
    const auto [rows, cols] = random_shape(rng);
    CircuitSpec spec{rows, cols};
    spec.two_sided_drive = rng.uniform() < 0.5;
    spec.two_sided_sense = rng.uniform() < 0.5;
    const Eigen::MatrixXd G = testing::random_conductances(rng, rows, cols, 1e-9, 1e-2, true);
    const Eigen::MatrixXd V = testing::random_inputs(rng, rows, 3);
    const Eigen::MatrixXd I = solve(GetParam(), spec, G, V), ideal = ideal_currents(G, V);
    if (GetParam() == "exact") {
      EXPECT_TRUE((I.array() == ideal.array()).all()) << rows << " x " << cols;
    } else {
      EXPECT_LT(max_relative_error(I, ideal), 1e-14) << rows << " x " << cols;
    }
  }
}

// Per-column monotonicity holds with ideal drivers and sense amplifiers. With a driver resistance it
// does not: more row-wire resistance lowers the current drawn by far cells, the driver then drops less
// voltage and a near column gains current (a 2 x 2 array shows it); mixed inputs add sneak paths.
TEST_P(IrDropProperty, MoreWireResistanceNeverMoreColumnCurrent) {
  core::Rng rng(202);
  for (int trial = 0; trial < 12; ++trial) {
    const auto [rows, cols] = random_shape(rng);
    CircuitSpec spec{rows, cols, rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), 0.0, 0.0};
    const Eigen::MatrixXd G = testing::random_conductances(rng, rows, cols, 1e-6, 100e-6);
    const Eigen::MatrixXd V = testing::random_inputs(rng, rows, 2);
    Eigen::MatrixXd previous = ideal_currents(G, V);
    for (double scale : {1.0, 1.5, 2.5, 4.0}) {
      CircuitSpec more = spec;
      more.r_row *= scale;
      more.r_col *= scale;
      const Eigen::MatrixXd I = solve(GetParam(), more, G, V);
      EXPECT_TRUE((I.array() <= previous.array() * (1.0 + 1e-12)).all()) << rows << " x " << cols << " x" << scale;
      previous = I;
    }
  }
}

// Rayleigh monotonicity: with all inputs equal the array is a two-terminal network, so raising any
// resistance never raises the total current.
TEST_P(IrDropProperty, EqualInputsTotalCurrentNeverIncreases) {
  core::Rng rng(303);
  for (int trial = 0; trial < 12; ++trial) {
    const auto [rows, cols] = random_shape(rng);
    testing::ArrayCase c = testing::random_array(rng, rows, cols);
    c.G = testing::random_conductances(rng, rows, cols, 1e-9, 1e-2, true);
    const Eigen::MatrixXd V = Eigen::MatrixXd::Constant(rows, 1, 0.15);
    const double base = solve(GetParam(), c.spec, c.G, V).sum();
    for (double CircuitSpec::*r : {&CircuitSpec::r_row, &CircuitSpec::r_col, &CircuitSpec::r_driver, &CircuitSpec::r_sense}) {
      CircuitSpec more = c.spec;
      more.*r = 2.0 * more.*r + 1.0;
      EXPECT_LE(solve(GetParam(), more, c.G, V).sum(), base * (1.0 + 1e-12)) << rows << " x " << cols;
    }
  }
}

TEST_P(IrDropProperty, SuperpositionAndDeterminism) {
  core::Rng rng(404);
  for (int trial = 0; trial < 8; ++trial) {
    const auto [rows, cols] = random_shape(rng);
    const testing::ArrayCase c = testing::random_array(rng, rows, cols);
    const Eigen::MatrixXd V1 = testing::random_inputs(rng, rows, 2), V2 = testing::random_inputs(rng, rows, 2);
    const auto model = make_model(GetParam(), c.spec);
    model->program(c.G);
    const Eigen::MatrixXd I1 = model->currents(V1), I2 = model->currents(V2);
    EXPECT_LT(max_relative_error(model->currents(0.3 * V1 + 0.7 * V2), 0.3 * I1 + 0.7 * I2), 1e-9);
    EXPECT_TRUE((model->currents(V1).array() == I1.array()).all());
    EXPECT_TRUE((solve(GetParam(), c.spec, c.G, V1).array() == I1.array()).all());
  }
}

INSTANTIATE_TEST_SUITE_P(Models, IrDropProperty, ::testing::Values("exact", "sparse_lu"));

TEST(ExactSolverProperty, TransferMatrixTimesInputsIsTheCurrents) {
  core::Rng rng(505);
  for (int trial = 0; trial < 10; ++trial) {
    const auto [rows, cols] = random_shape(rng);
    const testing::ArrayCase c = testing::random_array(rng, rows, cols);
    const Eigen::MatrixXd V = testing::random_inputs(rng, rows, 3);
    ExactSolver solver(c.spec);
    solver.program(c.G);
    EXPECT_LT(max_relative_error(solver.transfer_matrix().transpose() * V, solver.currents(V)), 1e-10)
        << rows << " x " << cols;
  }
}

}  // namespace
}  // namespace cimlab::xbar
