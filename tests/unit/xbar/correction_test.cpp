#include "xbar/correction.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/rng.hpp"

namespace cimlab::xbar {
namespace {

constexpr double kGMin = 1e-6;    // S
constexpr double kGMax = 100e-6;  // S

// A seeded random 64 x 64 problem: 1-2 ohm wires, 0-100 ohm driver and sense, G in [1, 100] uS,
// inputs uniform in [0, 0.2] V.
struct Problem {
  CircuitSpec circuit;
  Eigen::MatrixXd g_target, V;

  explicit Problem(std::uint64_t seed, int n = 64) {
    core::Rng rng(seed);
    core::Rng w = core::fork(rng, core::Stream::kWeights), in = core::fork(rng, core::Stream::kInputs);
    circuit = CircuitSpec{n, n, rng.uniform(1, 2), rng.uniform(1, 2), rng.uniform(0, 100), rng.uniform(0, 100)};
    g_target.resize(n, n);
    for (Eigen::Index k = 0; k < g_target.size(); ++k) g_target(k) = w.uniform(kGMin, kGMax);
    V.resize(n, 32);
    for (Eigen::Index k = 0; k < V.size(); ++k) V(k) = in.uniform(0.0, 0.2);
  }
};

CorrectionOptions options_for(const std::string& method) {
  CorrectionOptions o;
  o.method = method;
  return o;
}

class EveryScheme : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryScheme, ReducesOutputErrorAndStaysInTheWindow) {
  for (std::uint64_t seed : {11u, 12u}) {
    const Problem p(seed);
    const CorrectionResult r = correct(p.circuit, p.g_target, kGMin, kGMax, options_for(GetParam()));
    EXPECT_EQ(r.method, GetParam());
    EXPECT_GE(r.g_program.minCoeff(), kGMin);
    EXPECT_LE(r.g_program.maxCoeff(), kGMax);
    EXPECT_GT(r.gain, 0.0);
    EXPECT_GT(r.iterations, 0);
    EXPECT_EQ(r.history.size(), static_cast<std::size_t>(r.iterations));
    const CorrectionError e = correction_error(p.circuit, p.g_target, r.g_program, r.gain, p.V);
    EXPECT_LT(e.after.rel_rms, e.before.rel_rms) << "seed " << seed;
    EXPECT_LT(e.after.max_rel, e.before.max_rel) << "seed " << seed;
  }
}

TEST_P(EveryScheme, SameSeedSameResult) {
  const Problem a(21, 32), b(21, 32);
  const CorrectionResult ra = correct(a.circuit, a.g_target, kGMin, kGMax, options_for(GetParam()));
  const CorrectionResult rb = correct(b.circuit, b.g_target, kGMin, kGMax, options_for(GetParam()));
  EXPECT_EQ(ra.g_program, rb.g_program);
  EXPECT_EQ(ra.gain, rb.gain);
  EXPECT_EQ(ra.history, rb.history);
}

TEST_P(EveryScheme, FactoryBuildsTheNamedScheme) {
  YAML::Node node;
  node["method"] = GetParam();
  node["max_iterations"] = 7;
  core::Diagnostics diags;
  const core::Params params = core::validate(node, correction_schema(), "correction.", {"test"}, diags);
  ASSERT_TRUE(diags.empty());
  const auto correction = make_correction(params);
  EXPECT_EQ(correction->options().max_iterations, 7);
  const Problem p(31, 16);
  const CorrectionResult r = correction->run(p.circuit, p.g_target, kGMin, kGMax);
  EXPECT_EQ(r.method, GetParam());
  EXPECT_LE(r.iterations, 7);
  const CorrectionOutcome o = correction->apply(p.circuit, p.g_target, kGMin, kGMax, {}, {});
  EXPECT_EQ(o.g_program, r.g_program);
  EXPECT_EQ(o.gain, r.gain);
}

TEST(Correction, UnknownMethodIsRejectedAtConstruction) {
  CorrectionOptions o;
  o.method = "newton";
  EXPECT_THROW(SchemeCorrection{o}, core::ModelError);
}

INSTANTIATE_TEST_SUITE_P(Correction, EveryScheme,
                         ::testing::Values("comn", "multiplicative", "compensated", "response"));

TEST(Correction, OwnSchemesBeatTheComnBaseline) {
  for (std::uint64_t seed : {41u, 42u, 43u}) {
    const Problem p(seed);
    auto error_of = [&](const std::string& method) {
      const CorrectionResult r = correct(p.circuit, p.g_target, kGMin, kGMax, options_for(method));
      return correction_error(p.circuit, p.g_target, r.g_program, r.gain, p.V).after;
    };
    const OutputError comn = error_of("comn"), multiplicative = error_of("multiplicative");
    const OutputError compensated = error_of("compensated"), response = error_of("response");
    EXPECT_LT(compensated.rel_rms, comn.rel_rms) << "seed " << seed;
    EXPECT_LT(compensated.rel_rms, multiplicative.rel_rms) << "seed " << seed;
    EXPECT_LT(response.rel_rms, compensated.rel_rms) << "seed " << seed;
    EXPECT_LT(response.max_rel, comn.max_rel) << "seed " << seed;
  }
}

TEST(Correction, CompensatedKeepsColumnSumsExactAtTheReferenceInput) {
  const Problem p(51);
  const CorrectionResult r = correct(p.circuit, p.g_target, kGMin, kGMax, options_for("compensated"));
  ASSERT_TRUE(r.converged);
  const Eigen::MatrixXd v_ref = Eigen::MatrixXd::Constant(p.circuit.rows, 1, 0.1);
  const CorrectionError e = correction_error(p.circuit, p.g_target, r.g_program, r.gain, v_ref);
  EXPECT_LT(e.after.max_rel, 1e-3);
}

TEST(Correction, IdealCircuitNeedsNoCorrection) {
  Problem p(61, 16);
  p.circuit = CircuitSpec{16, 16};
  for (const char* method : {"comn", "multiplicative", "compensated", "response"}) {
    const CorrectionResult r = correct(p.circuit, p.g_target, kGMin, kGMax, options_for(method));
    const CorrectionError e = correction_error(p.circuit, p.g_target, r.g_program, r.gain, p.V);
    EXPECT_LT(e.after.max_rel, 1e-9) << method;
  }
}

TEST(Correction, RejectsTargetsOutsideTheWindow) {
  Problem p(71, 8);
  p.g_target(3, 4) = 2 * kGMax;
  EXPECT_THROW(correct(p.circuit, p.g_target, kGMin, kGMax, options_for("comn")), core::ModelError);
  EXPECT_THROW(correct(p.circuit, p.g_target.topRows(4), kGMin, 4 * kGMax, options_for("comn")), core::ModelError);
  EXPECT_THROW(correct(p.circuit, p.g_target, 0.0, 4 * kGMax, options_for("response")), core::ModelError);
}

// Differential pairs as a mapping makes them (columns 2q and 2q + 1): per row one cell at g_min and the
// other anywhere in the window (a quarter of the rows both at g_min: zero digits), read by sparse 0/0.2 V
// pulses, not the reference input.
struct PairProblem {
  CircuitSpec circuit{48, 48, 4.0, 4.0, 150.0, 150.0};
  Eigen::MatrixXd g_target = Eigen::MatrixXd::Constant(48, 48, kGMin), V;
  std::vector<int> partners = std::vector<int>(48);

  explicit PairProblem(std::uint64_t seed) {
    core::Rng rng(seed);
    for (int j = 0; j < 48; ++j) partners[static_cast<std::size_t>(j)] = j ^ 1;
    for (int i = 0; i < 48; ++i)
      for (int q = 0; q < 24; ++q) {
        const double u = rng.uniform(0.0, 1.0);
        if (u < 0.25) continue;
        g_target(i, 2 * q + (u < 0.625 ? 0 : 1)) = rng.uniform(kGMin, kGMax);
      }
    V = Eigen::MatrixXd::NullaryExpr(48, 40, [&]() { return rng.uniform(0.0, 1.0) < 0.3 ? 0.2 : 0.0; });
  }
};

TEST(Correction, DifferentialPairsAreCorrectedOnTheirDifference) {
  const PairProblem p(81);
  for (const char* method : {"compensated", "response"}) {
    const CorrectionResult single = correct(p.circuit, p.g_target, kGMin, kGMax, options_for(method));
    const CorrectionResult paired = correct(p.circuit, p.g_target, kGMin, kGMax, options_for(method), p.partners);
    ASSERT_TRUE(paired.converged) << method;
    EXPECT_GE(paired.g_program.minCoeff(), kGMin) << method;
    EXPECT_LE(paired.g_program.maxCoeff(), kGMax) << method;
    const CorrectionError e_single =
        correction_error(p.circuit, p.g_target, single.g_program, single.gain, p.V, p.partners);
    const CorrectionError e_paired =
        correction_error(p.circuit, p.g_target, paired.g_program, paired.gain, p.V, p.partners);
    // Uncorrected, the wires cost tens of percent of the differences; per-cell correction leaves the
    // cells that cannot go below g_min; correcting the difference removes that floor
    EXPECT_GT(e_paired.before.rel_rms, 0.05) << method;
    // (compensated keeps the error of reading other inputs than its reference; response does not).
    const bool response = std::string(method) == "response";
    EXPECT_LT(e_paired.after.rel_rms, (response ? 0.3 : 0.8) * e_single.after.rel_rms) << method;
    EXPECT_LT(e_paired.after.rel_rms, response ? 1e-3 : 0.05) << method;
  }
}

TEST(Correction, PairedCellsCarryTheCommonPartOnlyOnce) {
  // With an ideal circuit every effective conductance is the programmed one: each pair is programmed
  // as gain * the positive part of its difference plus g_min, so one cell of every pair sits at g_min.
  PairProblem p(82);
  p.circuit = CircuitSpec{48, 48};
  const CorrectionResult r = correct(p.circuit, p.g_target, kGMin, kGMax, options_for("compensated"), p.partners);
  EXPECT_GE(r.gain, 1.0);  // the largest difference is below g_max - g_min: the gain fills the window
  for (int i = 0; i < 48; ++i)
    for (int q = 0; q < 24; ++q)
      EXPECT_NEAR(std::min(r.g_program(i, 2 * q), r.g_program(i, 2 * q + 1)), kGMin, 1e-15);
  const CorrectionError e = correction_error(p.circuit, p.g_target, r.g_program, r.gain, p.V, p.partners);
  EXPECT_LT(e.after.max_rel, 1e-9);
}

TEST(Correction, KnownStuckOnCellsAreCancelledByTheirPartners) {
  // 3 % of the cells stuck at g_max (a stuck-at-g_min cell whose pair needs it cannot be helped). A
  // stuck cell on the side of a pair that should carry nothing, whose partner carries the weight, cannot
  // be cancelled in full either: the partner would need more than g_max. About a third remains.
  const PairProblem p(83);
  core::Rng rng(84);
  Eigen::MatrixXd stuck = Eigen::MatrixXd::Constant(48, 48, std::numeric_limits<double>::quiet_NaN());
  for (Eigen::Index k = 0; k < stuck.size(); ++k)
    if (rng.uniform(0.0, 1.0) < 0.03) stuck(k) = kGMax;
  const auto on_chip = [&](const Eigen::MatrixXd& g) { return Eigen::MatrixXd(stuck.array().isNaN().select(g, stuck)); };
  for (const char* method : {"compensated", "response"}) {
    CorrectionOptions known = options_for(method), unknown = known;
    unknown.known_faults = false;
    const CorrectionResult a = correct(p.circuit, p.g_target, kGMin, kGMax, known, p.partners, stuck);
    const CorrectionResult b = correct(p.circuit, p.g_target, kGMin, kGMax, unknown, p.partners, stuck);
    EXPECT_LT((a.g_program - on_chip(a.g_program)).cwiseAbs().maxCoeff(), 1e-12 * kGMax)
        << method << ": the result keeps the stuck cells' values";
    EXPECT_GE(a.g_program.minCoeff(), kGMin) << method;
    EXPECT_LE(a.g_program.maxCoeff(), kGMax) << method;
    const double e_known = correction_error(p.circuit, p.g_target, a.g_program, a.gain, p.V, p.partners).after.rel_rms;
    const double e_unknown =
        correction_error(p.circuit, p.g_target, on_chip(b.g_program), b.gain, p.V, p.partners).after.rel_rms;
    EXPECT_GT(e_unknown, 0.1) << method;
    EXPECT_LT(e_known, 0.5 * e_unknown) << method;
  }
}

}  // namespace
}  // namespace cimlab::xbar
