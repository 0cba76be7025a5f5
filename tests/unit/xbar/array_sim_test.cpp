#include "xbar/array_sim.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/errors.hpp"
#include "xbar/correction.hpp"
#include "xbar/exact_solver.hpp"

namespace cimlab::xbar {
namespace {

constexpr int kRows = 6, kOut = 3;

ArraySimSpec base_spec(SignedMode mode = SignedMode::kDifferential) {
  ArraySimSpec s;
  s.circuit.rows = 8;
  s.circuit.cols = 40;
  s.device.g_min = 1e-6;
  s.device.g_max = 100e-6;
  s.device.v_read = 0.2;
  s.device.max_cell_bits = 2;
  s.mapping.signed_mode = mode;
  s.mapping.weight_bits = 4;
  s.mapping.cell_bits = 2;
  s.mapping.input_bits = 4;
  s.adc.bits = 6;
  return s;
}

// Every device effect configured, so that each Effect switch has something to switch.
ArraySimSpec noisy_spec(SignedMode mode = SignedMode::kDifferential) {
  ArraySimSpec s = base_spec(mode);
  s.circuit.r_row = s.circuit.r_col = 20.0;
  s.device.programming = {device::VariationModel::kRelative, 0.05, {}};
  s.device.read_noise = {device::VariationModel::kRelative, 0.02, {}};
  s.device.drift = {0.05, 0.01, 1.0, 100.0, false};
  s.device.faults.p_stuck_on = 0.1;
  s.device.faults.p_stuck_off = 0.1;
  s.device.iv = {device::CellIV::Kind::kCubic, 0.5};
  return s;
}

Eigen::MatrixXd uniform(int rows, int cols, double lo, double hi, std::uint64_t seed) {
  core::Rng rng(seed);
  return Eigen::MatrixXd::NullaryExpr(rows, cols, [&]() { return rng.uniform(lo, hi); });
}

double rel_err(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a - b).norm() / b.norm(); }

TEST(ArraySim, AllEffectsOffIsTheIdealProduct) {
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 1);
  for (SignedMode mode : {SignedMode::kDifferential, SignedMode::kOffset})
    for (InputMode input : {InputMode::kBitSerial, InputMode::kMultilevel})
      for (double x_lo : {0.0, -1.0}) {  // unsigned and two-phase signed inputs
        ArraySimSpec s = noisy_spec(mode);
        s.mapping.input = input;
        const Eigen::MatrixXd X = uniform(kRows, 5, x_lo, 1, 2);
        core::Rng read(3);
        ArraySim sim(s, W, EffectSet::none(), core::Rng(4));
        EXPECT_LT(rel_err(sim.run(X, read), W.transpose() * X), 1e-12);
      }
}

// Each effect alone changes the output, by an amount that follows its cause: the error of an effect
// scales as its physics says when its strength is doubled (same chip and read streams). Programming
// variation and read noise are linear in sigma at these levels (x2), IR drop is first order in the wire
// resistance (x2), the cubic I-V's error is linear in its (V / v0)^2 term (x2), the stuck-cell error grows
// with the stuck share and drift with its exponent, and two more ADC bits cut the quantisation error (ADC step / 4, weight and input
// codes unchanged: less than x4). A switch that did nothing, or a sigma applied twice, fails.
// Mean relative error over `chips` chip instances (stuck cells are few per array: one chip is no statistic).
double effect_error(const ArraySimSpec& s, Effect e, int chips = 1) {
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 5);
  const Eigen::MatrixXd X = uniform(kRows, 16, 0, 1, 6);
  double sum = 0.0;
  for (int c = 0; c < chips; ++c) {
    core::Rng read(7);
    ArraySim sim(s, W, EffectSet::only(e), core::Rng(8 + static_cast<std::uint64_t>(c)));
    sum += rel_err(sim.run(X, read), W.transpose() * X);
  }
  return sum / chips;
}

TEST(ArraySim, EachEffectAloneChangesTheOutputAsItsCauseScales) {
  for (int e = 0; e < kEffectCount; ++e) {
    const Effect fx = static_cast<Effect>(e);
    ArraySimSpec base = noisy_spec();
    ArraySimSpec twice = base;
    twice.device.programming.sigma *= 2;
    twice.device.read_noise.sigma *= 2;
    twice.circuit.r_row *= 2;
    twice.circuit.r_col *= 2;
    twice.device.iv.v0 /= std::sqrt(2.0);  // cubic term (V / v0)^2 doubled
    twice.device.faults.p_stuck_on *= 2;
    twice.device.faults.p_stuck_off *= 2;
    twice.device.drift.nu_mean *= 2;
    twice.adc.bits += 2;
    const int chips = fx == Effect::kFaults ? 50 : 1;
    const double err = effect_error(base, fx, chips), err2 = effect_error(twice, fx, chips);
    EXPECT_GT(err, 1e-3) << effect_name(fx);
    switch (fx) {
      case Effect::kProgramming:
      case Effect::kReadNoise:
      case Effect::kIrDrop:
      case Effect::kNonlinearity:
        EXPECT_NEAR(err2 / err, 2.0, 0.3) << effect_name(fx);
        break;
      case Effect::kFaults:  // mean over 50 chips
      case Effect::kDrift:   // t^-nu: a doubled exponent more than doubles the decay, not the error
        EXPECT_GT(err2 / err, 1.2) << effect_name(fx);
        break;
      case Effect::kQuantisation:
        EXPECT_LT(err2 / err, 1.0) << effect_name(fx);
        EXPECT_GT(err2 / err, 0.25) << effect_name(fx);
        break;
      default:
        break;
    }
  }
}

TEST(ArraySim, EffectNamesRoundTrip) {
  for (int e = 0; e < kEffectCount; ++e)
    EXPECT_EQ(effect_from_name(effect_name(static_cast<Effect>(e))), static_cast<Effect>(e));
  EXPECT_FALSE(effect_from_name("ir-drop").has_value());
}

// A slow loop over inputs, phases, cycles and columns, written from physics.md section 1.
Eigen::MatrixXd reference_run(const ArraySimSpec& s, const ArraySim& sim, const Eigen::MatrixXd& X,
                              const Eigen::MatrixXd& W, ExactSolver* ir) {
  const Eigen::MatrixXd& G = sim.programmed_conductances();
  const Layout& L = sim.mapping().layout();
  const bool offset = s.mapping.signed_mode == SignedMode::kOffset;
  const int B_in = s.mapping.input_bits, b = s.mapping.cell_bits, levels_in = (1 << B_in) - 1;
  const double w_max = W.cwiseAbs().maxCoeff();
  const double step = (offset ? 2 * w_max : w_max) / ((1 << s.mapping.weight_bits) - 1);
  const double lsb = kRows * s.device.g_max * s.device.v_read / ((1 << s.adc.bits) - 1);
  const double scale = step * ((1 << b) - 1) / (s.device.g_max - s.device.g_min) / (s.device.v_read * levels_in);
  auto adc = [&](double I) {
    const double code = std::clamp(std::round(I / lsb), 0.0, double((1 << s.adc.bits) - 1));
    return (code + (s.adc.inl.empty() ? 0.0 : s.adc.inl[static_cast<std::size_t>(code)])) * lsb;
  };
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(kOut, X.cols());
  for (int k = 0; k < X.cols(); ++k)
    for (int phase = 0; phase < 2; ++phase)
      for (int c = 0; c < B_in; ++c) {
        Eigen::VectorXd v = Eigen::VectorXd::Zero(s.circuit.rows);
        for (int i = 0; i < kRows; ++i) {
          const double x = phase == 0 ? std::max(X(i, k), 0.0) : std::max(-X(i, k), 0.0);
          v(i) = ((static_cast<int>(std::round(x * levels_in)) >> c) & 1) * s.device.v_read;
        }
        Eigen::VectorXd I(s.circuit.cols);
        if (ir) I = ir->currents(v).col(0);
        for (int j = 0; j < L.cols_used() && !ir; ++j) {
          I(j) = 0;
          for (int i = 0; i < kRows; ++i) I(j) += s.device.iv.current(G(i, j), v(i));
        }
        const double sign = phase == 0 ? 1.0 : -1.0;
        for (int o = 0; o < kOut; ++o)
          for (int sl = 0; sl < L.slices; ++sl) {
            const double shift = std::ldexp(1.0, b * sl) * std::ldexp(1.0, c) * sign;
            const double minus = offset ? adc(I(L.reference_column())) : adc(I(L.column(o, sl, 1)));
            out(o, k) += shift * (adc(I(L.column(o, sl, 0))) - minus);
          }
      }
  return out * scale;
}

TEST(ArraySim, MatchesPerConversionReference) {
  const Eigen::MatrixXd W = uniform(kRows, kOut, -0.5, 0.5, 9);
  const Eigen::MatrixXd X = uniform(kRows, 3, -1, 1, 10);
  EffectSet fx = EffectSet::all();
  fx.set(Effect::kReadNoise, false).set(Effect::kIrDrop, false);
  for (SignedMode mode : {SignedMode::kDifferential, SignedMode::kOffset}) {
    ArraySimSpec s = noisy_spec(mode);
    s.adc.inl = std::vector<double>(1 << s.adc.bits, 0.0);
    for (std::size_t i = 0; i < s.adc.inl.size(); ++i) s.adc.inl[i] = 0.3 * std::sin(double(i));
    ArraySim sim(s, W, fx, core::Rng(11));
    core::Rng read(12);
    const Eigen::MatrixXd want = reference_run(s, sim, X, W, nullptr);
    EXPECT_LT(rel_err(sim.run(X, read), want), 1e-12);
  }
}

TEST(ArraySim, IrDropMatchesPerConversionExactSolves) {
  const Eigen::MatrixXd W = uniform(kRows, kOut, -0.5, 0.5, 13);
  const Eigen::MatrixXd X = uniform(kRows, 3, 0, 1, 14);
  ArraySimSpec s = noisy_spec();
  EffectSet fx = EffectSet::only(Effect::kIrDrop);
  fx.set(Effect::kQuantisation);
  ArraySim sim(s, W, fx, core::Rng(15));
  ExactSolver solver(s.circuit);
  solver.program(sim.programmed_conductances());
  core::Rng read(16);
  const Eigen::MatrixXd got = sim.run(X, read);
  EXPECT_LT(rel_err(got, reference_run(s, sim, X, W, &solver)), 1e-9);
  // Zero wire resistance: IR drop on changes nothing.
  s.circuit.r_row = s.circuit.r_col = 0.0;
  ArraySim ideal_wires(s, W, fx, core::Rng(15));
  ArraySim no_ir(s, W, EffectSet::only(Effect::kQuantisation), core::Rng(15));
  EXPECT_LT(rel_err(ideal_wires.run(X, read), no_ir.run(X, read)), 1e-12);
}

TEST(ArraySim, NonlinearCellsWithIrDropUseTheNewtonSolver) {
  const Eigen::MatrixXd W = uniform(kRows, kOut, -0.5, 0.5, 17);
  const Eigen::MatrixXd X = uniform(kRows, 2, 0, 1, 18);
  ArraySimSpec s = noisy_spec();
  s.circuit.r_row = s.circuit.r_col = 1e-3;  // nearly ideal wires: result ~ nonlinearity alone
  EffectSet both = EffectSet::only(Effect::kNonlinearity);
  both.set(Effect::kIrDrop);
  ArraySim a(s, W, both, core::Rng(19));
  ArraySim b(s, W, EffectSet::only(Effect::kNonlinearity), core::Rng(19));
  core::Rng read(20);
  EXPECT_LT(rel_err(a.run(X, read), b.run(X, read)), 1e-5);
}

TEST(ArraySim, ReadNoiseStatisticsAndResampling) {
  ArraySimSpec s = base_spec();
  s.device.read_noise = {device::VariationModel::kRelative, 0.05, {}};
  s.mapping.input = InputMode::kMultilevel;  // one cycle: V = x V_read
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 21);
  const Eigen::VectorXd x = uniform(kRows, 1, 0, 1, 22).col(0);
  const int n = 4000;
  ArraySim sim(s, W, EffectSet::only(Effect::kReadNoise), core::Rng(23));
  core::Rng read(24);
  const Eigen::MatrixXd Y = sim.run(x.replicate(1, n), read);
  const Eigen::MatrixXd& G = sim.programmed_conductances();
  const Layout& L = sim.mapping().layout();
  const double to_w = sim.mapping().weight_per_siemens() / sim.encoding().volts_per_unit();
  const Eigen::VectorXd v = x * s.device.v_read;
  for (int o = 0; o < kOut; ++o) {
    double var = 0;
    for (int j = 0; j < L.cols_used(); ++j)
      for (int i = 0; i < kRows; ++i)
        var += std::pow(sim.mapping().recombination()(o, j) * 0.05 * G(i, j) * v(i), 2);
    const double sd = std::sqrt(var) * to_w;
    const Eigen::ArrayXd y = Y.row(o).transpose().array();
    EXPECT_NEAR(y.mean(), (W.transpose() * x)(o), 4 * sd / std::sqrt(double(n)));
    EXPECT_NEAR(std::sqrt((y - y.mean()).square().sum() / (n - 1)), sd, 0.05 * sd);
  }
}

TEST(ArraySim, ReadNoiseWithIrDropReprogramsEveryConversion) {
  ArraySimSpec s = noisy_spec();
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 25);
  const Eigen::MatrixXd X = uniform(kRows, 2, 0, 1, 26);
  EffectSet fx = EffectSet::only(Effect::kReadNoise);
  fx.set(Effect::kIrDrop);
  ArraySim sim(s, W, fx, core::Rng(27));
  core::Rng read(28);
  const Eigen::MatrixXd a = sim.run(X, read), b = sim.run(X, read);
  EXPECT_NE(a, b);
  EXPECT_LT(rel_err(a, W.transpose() * X), 0.2);
}

TEST(ArraySim, SameSeedsSameOutputAndEffectsDoNotShiftEachOther) {
  const ArraySimSpec s = noisy_spec();
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 29);
  const Eigen::MatrixXd X = uniform(kRows, 3, 0, 1, 30);
  ArraySim a(s, W, EffectSet::all(), core::Rng(31)), b(s, W, EffectSet::all(), core::Rng(31));
  core::Rng ra(32), rb(32);
  EXPECT_EQ(a.run(X, ra), b.run(X, rb));
  // Programming draws are the same whether or not faults are also on (healthy cells agree).
  EffectSet pf = EffectSet::only(Effect::kProgramming);
  pf.set(Effect::kFaults);
  ArraySim p(s, W, EffectSet::only(Effect::kProgramming), core::Rng(31)), q(s, W, pf, core::Rng(31));
  const Eigen::ArrayXXi healthy = (q.fault_map().array() == device::kHealthy).cast<int>();
  EXPECT_EQ((healthy.cast<double>() * (p.programmed_conductances() - q.programmed_conductances()).array().abs()).maxCoeff(),
            0.0);
  EXPECT_GT((q.fault_map().array() != device::kHealthy).count(), 0);
}

TEST(ArraySim, GlobalDriftCompensationUndoesUniformDrift) {
  ArraySimSpec s = base_spec();
  s.device.drift = {0.05, 0.0, 1.0, 1e4, true};
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 33);
  const Eigen::MatrixXd X = uniform(kRows, 3, 0, 1, 34);
  core::Rng read(35);
  ArraySim sim(s, W, EffectSet::only(Effect::kDrift), core::Rng(36));
  EXPECT_NEAR(sim.drift_gain(), std::pow(1e4, -0.05), 1e-12);
  EXPECT_LT(rel_err(sim.run(X, read), W.transpose() * X), 1e-12);
  s.device.drift.compensation = false;
  ArraySim raw(s, W, EffectSet::only(Effect::kDrift), core::Rng(36));
  EXPECT_LT(rel_err(raw.run(X, read), std::pow(1e4, -0.05) * W.transpose() * X), 1e-12);
}

class ShrinkCorrection : public Correction {
 public:
  CorrectionOutcome apply(const CircuitSpec&, const Eigen::MatrixXd& g, double g_min, double,
                          const std::vector<int>&, const Eigen::MatrixXd&) const override {
    return {(g.array() - g_min).matrix() * 0.8 + Eigen::MatrixXd::Constant(g.rows(), g.cols(), g_min), 0.8};
  }
};

TEST(ArraySim, CorrectionReplacesTargetsAndDividesByGain) {
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 37);
  const Eigen::MatrixXd X = uniform(kRows, 3, 0, 1, 38);
  const ShrinkCorrection shrink;
  ArraySim sim(base_spec(), W, EffectSet::none(), core::Rng(39), &shrink);
  core::Rng read(40);
  EXPECT_DOUBLE_EQ(sim.correction_gain(), 0.8);
  EXPECT_LT(rel_err(sim.run(X, read), W.transpose() * X), 1e-12);
  EXPECT_LT(sim.programmed_conductances().maxCoeff(), sim.target_conductances().maxCoeff());
}

TEST(ArraySim, ResponseCorrectionRemovesIrDropFromDifferentialOutputs) {
  ArraySimSpec s = base_spec();
  s.circuit.r_row = s.circuit.r_col = 5.0;
  s.circuit.r_driver = s.circuit.r_sense = 200.0;
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 45);
  const Eigen::MatrixXd X = uniform(kRows, 6, 0, 1, 46);
  CorrectionOptions o;
  o.method = "response";
  const SchemeCorrection response(o);
  ArraySim plain(s, W, EffectSet::only(Effect::kIrDrop), core::Rng(47));
  ArraySim corrected(s, W, EffectSet::only(Effect::kIrDrop), core::Rng(47), &response);
  core::Rng read(48);
  const Eigen::MatrixXd ideal = W.transpose() * X;
  EXPECT_GT(rel_err(plain.run(X, read), ideal), 0.02);  // the wires cost a few percent uncorrected
  EXPECT_LT(rel_err(corrected.run(X, read), ideal), 1e-4);
  EXPECT_LT(corrected.correction_gain(), 1.0);
}

TEST(ArraySim, QuantisedRunApproachesQuantisedProductWithFineAdc) {
  ArraySimSpec s = base_spec();
  s.adc.bits = 16;
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 41);
  const Eigen::MatrixXd X = uniform(kRows, 4, 0, 1, 42);
  ArraySim sim(s, W, EffectSet::only(Effect::kQuantisation), core::Rng(43));
  core::Rng read(44);
  const Eigen::MatrixXd Xq = sim.encoding().quantised(X);
  EXPECT_LT(rel_err(sim.run(X, read), sim.effective_weights().transpose() * Xq), 2e-3);
}

TEST(ArraySim, CalibratedAdcNeedsCalibration) {
  ArraySimSpec s = base_spec();
  s.adc.range = AdcRange::kCalibrated;
  s.adc.percentile = 99.0;
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 45);
  const Eigen::MatrixXd X = uniform(kRows, 8, 0, 1, 46);
  ArraySim sim(s, W, EffectSet::only(Effect::kQuantisation), core::Rng(47));
  core::Rng read(48);
  EXPECT_THROW(sim.run(X, read), core::ModelError);
  sim.calibrate_adc(X, read);
  EXPECT_LT(sim.adc().hi(), kRows * s.device.g_max * s.device.v_read);
  EXPECT_LT(rel_err(sim.run(X, read), W.transpose() * X), 0.3);
}

TEST(ArraySim, BadInputsAreInputErrors) {
  const Eigen::MatrixXd W = uniform(kRows, kOut, -1, 1, 49);
  ArraySim sim(base_spec(), W, EffectSet::none(), core::Rng(50));
  core::Rng read(51);
  EXPECT_THROW(sim.run(Eigen::MatrixXd::Zero(kRows + 1, 2), read), core::InputError);
  EXPECT_THROW(sim.run(Eigen::MatrixXd::Constant(kRows, 2, 1.5), read), core::InputError);
  EXPECT_EQ(sim.run(Eigen::MatrixXd::Zero(kRows, 0), read).cols(), 0);
}

}  // namespace
}  // namespace cimlab::xbar
