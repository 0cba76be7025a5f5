#include "xbar/approx_models.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.hpp"

namespace cimlab::xbar {
namespace {

Eigen::MatrixXd random_matrix(core::Rng& rng, int rows, int cols, double lo, double hi) {
  Eigen::MatrixXd m(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) m(i, j) = rng.uniform(lo, hi);
  return m;
}

CircuitSpec scaled_circuit(int n, double scale) {
  CircuitSpec c{n, n, 1.5 * scale, 1.0 * scale, 50.0 * scale, 100.0 * scale};
  return c;
}

struct Fixture {
  Eigen::MatrixXd G, V;
  explicit Fixture(std::uint64_t seed, int n = 64) {
    core::Rng rng(seed);
    core::Rng g_rng = core::fork(rng, core::Stream::kWeights), v_rng = core::fork(rng, core::Stream::kInputs);
    G = random_matrix(g_rng, n, n, 1e-6, 100e-6);
    V = random_matrix(v_rng, n, 16, 0.0, 0.2);
  }
};

TEST(ApproxModels, PathResistanceCountsSegmentsDriverAndSense) {
  const CircuitSpec c{3, 4, 1.0, 2.0, 10.0, 20.0};
  const Eigen::MatrixXd p = path_resistance(c);
  EXPECT_DOUBLE_EQ(p(2, 0), 10.0 + 20.0);                    // next to driver and sense
  EXPECT_DOUBLE_EQ(p(0, 3), 10.0 + 3 * 1.0 + 20.0 + 2 * 2.0);  // far corner
  CircuitSpec two = c;
  two.two_sided_drive = two.two_sided_sense = true;
  EXPECT_DOUBLE_EQ(path_resistance(two)(0, 0), (10.0 * 13.0 / 23.0) + (20.0 * 24.0 / 44.0));
}

TEST(ApproxModels, IdealCircuitGivesTheIdealProduct) {
  const Fixture f(1, 16);
  const CircuitSpec c = scaled_circuit(16, 0.0);
  for (const auto& e : compare_approximations(c, f.G, f.V, 0.1)) {
    EXPECT_LT(e.error.rel_rms, 1e-12) << e.model;
    EXPECT_LT(e.error.max_rel, 1e-12) << e.model;
  }
}

TEST(ApproxModels, ConvergeToExactAsResistanceVanishes) {
  const Fixture f(2);
  double last_comn = INFINITY, last_effective = INFINITY;
  for (double scale : {1.0, 1e-2, 1e-4, 1e-6}) {
    const auto errors = compare_approximations(scaled_circuit(64, scale), f.G, f.V, 0.1);
    ASSERT_EQ(errors.size(), 2u);
    for (const auto& e : errors) {
      EXPECT_TRUE(std::isfinite(e.error.rel_rms) && std::isfinite(e.error.max_rel)) << e.model;
      EXPECT_LE(e.error.rel_rms, e.error.max_rel) << e.model;
    }
    EXPECT_LT(errors[0].error.rel_rms, last_comn);
    EXPECT_LT(errors[1].error.rel_rms, last_effective);
    last_comn = errors[0].error.rel_rms;
    last_effective = errors[1].error.rel_rms;
  }
  EXPECT_LT(last_comn, 1e-6);
  EXPECT_LT(last_effective, 1e-6);
}

TEST(ApproxModels, EffectiveModelIsExactAtItsReferenceInput) {
  const Fixture f(3, 32);
  const CircuitSpec c = scaled_circuit(32, 1.0);
  const Eigen::MatrixXd v_ref = Eigen::MatrixXd::Constant(32, 1, 0.1);
  ExactSolver exact(c);
  exact.program(f.G);
  EffectiveConductanceModel effective(c, 0.1);
  const ApproximationError e = approximation_error(effective, f.G, v_ref, exact.currents(v_ref));
  EXPECT_LT(e.error.max_rel, 1e-9);
}

TEST(ApproxModels, EffectiveModelIsFarCloserThanClosedForm) {
  const Fixture f(4);
  const auto errors = compare_approximations(scaled_circuit(64, 1.0), f.G, f.V, 0.1);
  EXPECT_EQ(errors[0].model, "comn");
  EXPECT_EQ(errors[1].model, "effective");
  EXPECT_LT(errors[1].error.rel_rms, 0.1 * errors[0].error.rel_rms);
}

TEST(ApproxModels, SameSeedSameResult) {
  const auto a = compare_approximations(scaled_circuit(32, 1.0), Fixture(5, 32).G, Fixture(5, 32).V, 0.1);
  const auto b = compare_approximations(scaled_circuit(32, 1.0), Fixture(5, 32).G, Fixture(5, 32).V, 0.1);
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].error.rel_rms, b[k].error.rel_rms);
    EXPECT_EQ(a[k].error.max_rel, b[k].error.max_rel);
  }
}

TEST(ApproxModels, RegisteredWithDefaults) {
  core::Diagnostics diags;
  const core::Params p = core::validate(YAML::Node(), effective_model_schema(), "ir_drop.", {"test"}, diags);
  EXPECT_TRUE(diags.empty());
  EXPECT_DOUBLE_EQ(p.real("v_ref"), 0.1);
  const CircuitSpec c = scaled_circuit(8, 1.0);
  EXPECT_EQ(make_ir_drop_model("comn", c, core::Params())->name(), "comn");
  EXPECT_EQ(make_ir_drop_model("effective", c, p)->name(), "effective");
}

TEST(ApproxModels, OutputErrorDefinition) {
  Eigen::MatrixXd ref(2, 1), act(2, 1);
  ref << 1.0, 2.0;
  act << 1.1, 2.0;
  const OutputError e = output_error(act, ref);
  EXPECT_NEAR(e.rel_rms, 0.1 / std::sqrt(5.0), 1e-15);
  EXPECT_NEAR(e.max_rel, 0.1, 1e-15);
  EXPECT_NEAR(e.max_full_scale, 0.05, 1e-15);  // 0.1 over the largest reference, 2
  // A near-zero reference: the relative maximum explodes, the full-scale one does not.
  ref << 1e-18, 2.0;
  act << 1e-3, 2.0;
  const OutputError z = output_error(act, ref);
  EXPECT_GT(z.max_rel, 1e14);
  EXPECT_NEAR(z.max_full_scale, 5e-4, 1e-15);
}

}  // namespace
}  // namespace cimlab::xbar
