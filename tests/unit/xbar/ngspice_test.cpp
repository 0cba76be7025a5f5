// The exact solver against ngspice (.op on netlists from xbar/spice.hpp, run in a temporary directory):
// column currents within 1e-6 relative error on seeded random arrays, zero resistances, two-sided
// drive and sense, and nonlinear cells (B-sources). ngspice needs ~5 s at 64 x 64: one such case only.
// Project headers come before <gtest/gtest.h>, whose <signal.h> defines a macro named si_value.
#include "ngspice_runner.hpp"
#include "random_arrays.hpp"
#include "xbar/exact_solver.hpp"
#include "xbar/spice.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace cimlab::xbar {
namespace {

using testing::max_relative_error;

constexpr double kSpiceTolerance = 1e-6;  // relative, per column current (physics.md section 3)

class Ngspice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ngspice_available()) GTEST_SKIP() << "ngspice is not installed";
  }

  static void expect_match(const CircuitSpec& spec, const Eigen::MatrixXd& G, const Eigen::VectorXd& v,
                           const device::CellIV& iv = {}) {
    ExactSolverOptions options;
    options.iv = iv;
    ExactSolver solver(spec, options);
    solver.program(G);
    SpiceOptions spice;
    spice.iv = iv;
    const Eigen::VectorXd reference = testing::ngspice_currents(spec, G, v, spice);
    EXPECT_LT(max_relative_error(solver.currents(v), reference), kSpiceTolerance)
        << spec.rows << " x " << spec.cols << ", r_driver " << spec.r_driver << ", r_sense " << spec.r_sense;
  }
};

TEST_F(Ngspice, RandomArraysIncludingNonSquareAndTwoSided) {
  core::Rng rng(42);
  const int shapes[][2] = {{17, 40}, {64, 9}, {1, 30}, {30, 1}, {12, 12}, {64, 64}};
  for (const auto& s : shapes) {
    testing::ArrayCase c = testing::random_array(rng, s[0], s[1]);
    if (s[0] == 12) c.spec.two_sided_drive = c.spec.two_sided_sense = true;
    expect_match(c.spec, c.G, testing::random_inputs(rng, s[0], 1));
  }
}

TEST_F(Ngspice, ZeroResistancesAreMergedNodes) {
  core::Rng rng(43);
  const double zero_sets[][4] = {{0, 2, 10, 20}, {3, 0, 10, 20}, {3, 2, 0, 0}, {0, 0, 10, 20}, {0, 2, 0, 20}};
  for (const auto& z : zero_sets) {
    const CircuitSpec spec{9, 7, z[0], z[1], z[2], z[3], true, false};
    expect_match(spec, testing::random_conductances(rng, 9, 7, 1e-6, 1e-4), testing::random_inputs(rng, 9, 1));
  }
}

TEST_F(Ngspice, NonlinearCellsMatchBSourceNetlist) {
  core::Rng rng(44);
  const CircuitSpec spec{8, 6, 2.0, 3.0, 20.0, 10.0};
  const Eigen::MatrixXd G = testing::random_conductances(rng, 8, 6, 1e-5, 1e-3);
  const Eigen::VectorXd v = testing::random_inputs(rng, 8, 1, 0.5);
  expect_match(spec, G, v, {device::CellIV::Kind::kSinh, 0.15});
  expect_match(spec, G, v, {device::CellIV::Kind::kCubic, 0.2});
}

TEST(SpiceNetlist, HasSourcesControlBlockAndNoZeroOhmElements) {
  const CircuitSpec spec{2, 3, 0.0, 1.5, 0.0, 10.0};
  std::ostringstream os;
  write_spice_netlist(os, spec, Eigen::MatrixXd::Constant(2, 3, 1e-5), Eigen::VectorXd::Constant(2, 0.1));
  const std::string text = os.str();
  for (const char* needle : {"vin0 in0 0 dc 0.10000000000000001", "vcol2 out2 0 dc 0", "set filetype=ascii", "\nop\n",
                             "i(vcol0) i(vcol1) i(vcol2)", "quit 0\n.endc\n.end\n"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  std::istringstream lines(text);
  std::string line;
  int resistors = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != 'r') continue;
    ++resistors;
    EXPECT_GT(std::stod(line.substr(line.rfind(' ') + 1)), 0.0) << line;
  }
  EXPECT_EQ(resistors, 6 + 3 + 3);  // cells, column segments, senses (rows and drivers are merged)
  EXPECT_EQ(spice_column_current(7), "i(vcol7)");
}

}  // namespace
}  // namespace cimlab::xbar
