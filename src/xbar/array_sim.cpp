#include "xbar/array_sim.hpp"

#include <fmt/format.h>

#include <limits>

#include <utility>

#include "core/errors.hpp"
#include "xbar/exact_solver.hpp"

namespace cimlab::xbar {

namespace {
constexpr std::array<std::string_view, kEffectCount> kEffectNames = {
    "quantisation", "programming", "read_noise", "drift", "faults", "nonlinearity", "ir_drop"};
}  // namespace

std::string_view effect_name(Effect e) { return kEffectNames[static_cast<std::size_t>(e)]; }

std::optional<Effect> effect_from_name(std::string_view name) {
  for (int i = 0; i < kEffectCount; ++i)
    if (kEffectNames[static_cast<std::size_t>(i)] == name) return static_cast<Effect>(i);
  return std::nullopt;
}

EffectSet EffectSet::all() {
  EffectSet s;
  s.on.fill(true);
  return s;
}

EffectSet EffectSet::only(Effect e) { return EffectSet{}.set(e); }

EffectSet& EffectSet::set(Effect e, bool value) {
  on[static_cast<std::size_t>(e)] = value;
  return *this;
}

ArraySim::ArraySim(const ArraySimSpec& spec, const Eigen::MatrixXd& W, EffectSet effects, const core::Rng& chip_rng,
                   const Correction* correction)
    : spec_(spec),
      effects_(effects),
      device_(spec.device),
      mapping_(spec.mapping, spec.device.g_min, spec.device.g_max, spec.circuit, W),
      encoding_(spec.mapping, spec.device.v_read),
      adc_(spec.adc, static_cast<double>(W.rows()) * spec.device.g_max * spec.device.v_read) {
  target_ = mapping_.conductances(effects_.has(Effect::kQuantisation));
  Eigen::MatrixXd g = target_;
  // Stuck cells are drawn before the correction (from their own stream: the draw does not depend on
  // when), so that a correction can work around them, as a write-verify controller finds them.
  if (effects_.has(Effect::kFaults)) faults_ = device_.sample_faults(spec_.circuit.rows, spec_.circuit.cols, chip_rng);
  if (correction != nullptr) {
    const Eigen::MatrixXd stuck =
        faults_.size() > 0 ? device_.apply_faults(Eigen::MatrixXd::Constant(faults_.rows(), faults_.cols(),
                                                                            std::numeric_limits<double>::quiet_NaN()),
                                                  faults_)
                           : Eigen::MatrixXd();
    CorrectionOutcome out = correction->apply(spec_.circuit, target_, spec_.device.g_min, spec_.device.g_max,
                                               mapping_.layout().partners(spec_.circuit.cols), stuck);
    if (out.g_program.rows() != target_.rows() || out.g_program.cols() != target_.cols() ||
        !out.g_program.allFinite() || !(out.gain > 0.0))
      throw core::ModelError(fmt::format("ArraySim: correction returned a {} x {} conductance matrix and gain {} "
                                         "(want {} x {}, finite, gain > 0)",
                                         out.g_program.rows(), out.g_program.cols(), out.gain, target_.rows(),
                                         target_.cols()));
    g = std::move(out.g_program);
    correction_gain_ = out.gain;
  }
  programmed_ = program_chip(g, chip_rng);
  if (effects_.has(Effect::kIrDrop)) {
    ir_ = make_ir_model();
    if (!effects_.has(Effect::kReadNoise)) ir_->program(programmed_);
  }
}

// Programming variation, then drift of the programmed state, then stuck cells (which do not drift).
Eigen::MatrixXd ArraySim::program_chip(const Eigen::MatrixXd& g_in, const core::Rng& chip_rng) {
  const int R = spec_.circuit.rows, C = spec_.circuit.cols;
  Eigen::MatrixXd g = effects_.has(Effect::kProgramming) ? device_.program(g_in, chip_rng)
                                                         : Eigen::MatrixXd(g_in.cwiseMax(device_.floor()));
  auto stick = [this](const Eigen::MatrixXd& m) {
    return faults_.size() > 0 ? device_.apply_faults(m, faults_) : m;
  };
  if (!effects_.has(Effect::kDrift) || !spec_.device.drift.active()) return stick(g);
  const Eigen::MatrixXd g0 = stick(g);
  Eigen::MatrixXd gt = stick(device_.apply_drift(g, device_.drift_exponents(R, C, chip_rng)));
  if (spec_.device.drift.compensation) {
    const Layout& L = mapping_.layout();
    drift_gain_ = device::DeviceModel::drift_gain(g0.topLeftCorner(L.rows, L.cols_used()),
                                                  gt.topLeftCorner(L.rows, L.cols_used()));
  }
  return gt;
}

// Nonlinear cells need the exact solver's Newton iteration; linear cells use the configured model.
// Empty ir_drop_params take the model's declared defaults.
std::unique_ptr<IrDropModel> ArraySim::make_ir_model() const {
  core::Params params = spec_.ir_drop_params;
  if (params.values().empty())
    for (const IrDropEntry& e : ir_drop_models())
      if (e.type == spec_.ir_drop_type) {
        core::Diagnostics unused;
        params = core::validate(YAML::Node(), e.schema, "ir_drop.", {"defaults"}, unused);
      }
  if (!effects_.has(Effect::kNonlinearity) || spec_.device.iv.linear())
    return make_ir_drop_model(spec_.ir_drop_type, spec_.circuit, params);
  ExactSolverOptions options;
  options.iv = spec_.device.iv;
  if (spec_.ir_drop_type == "exact") {
    options.tolerance = params.real("tolerance");
    options.max_iterations = static_cast<int>(params.integer("max_iterations"));
  }
  return std::make_unique<ExactSolver>(spec_.circuit, options);
}

void ArraySim::check_inputs(const Eigen::MatrixXd& X) const {
  if (X.rows() != mapping_.layout().rows)
    throw core::InputError(fmt::format("ArraySim: inputs have {} rows, the weights {}", X.rows(),
                                       mapping_.layout().rows));
  if (!X.allFinite()) throw core::InputError("ArraySim: inputs hold NaN or Inf");
  if (X.size() > 0 && X.cwiseAbs().maxCoeff() > 1.0)
    throw core::InputError(fmt::format("ArraySim: inputs must be activations in [-1, 1], found {}",
                                       X.cwiseAbs().maxCoeff()));
}

// Phase 0 drives the positive part of X, phase 1 (only when X has negative entries) the negative part.
Eigen::MatrixXd ArraySim::row_voltages(const Eigen::MatrixXd& X) const {
  const bool quantise = effects_.has(Effect::kQuantisation);
  const int phases = X.size() > 0 && X.minCoeff() < 0.0 ? 2 : 1;
  const Eigen::Index block = encoding_.cycles() * X.cols();
  Eigen::MatrixXd V(X.rows(), phases * block);
  V.leftCols(block) = encoding_.voltages(X.cwiseMax(0.0), quantise);
  if (phases == 2) V.rightCols(block) = encoding_.voltages((-X).cwiseMax(0.0), quantise);
  return V;
}

// Every cell I-V is linear in g (I = g h(V)), so the columns read G^T h(V) in one product.
Eigen::MatrixXd ArraySim::ideal_path_currents(const Eigen::MatrixXd& V, core::Rng& read_rng) const {
  const Layout& L = mapping_.layout();
  const Eigen::MatrixXd G = programmed_.topLeftCorner(L.rows, L.cols_used());
  Eigen::MatrixXd H = V;
  if (effects_.has(Effect::kNonlinearity)) {
    const device::CellIV iv = spec_.device.iv;
    H = V.unaryExpr([iv](double v) { return iv.current(1.0, v); });
  }
  Eigen::MatrixXd I = G.transpose() * H;
  if (effects_.has(Effect::kReadNoise)) {
    // Sum over the column's cells of independent N(0, sigma_ij^2 h(V_i)^2) terms (the floor clip of a
    // noisy cell is neglected here; it matters only for sigma_r approaching G).
    const Eigen::MatrixXd var = device_.read_noise_sigma(G).array().square().matrix();
    const Eigen::ArrayXXd sd = (var.transpose() * H.array().square().matrix()).array().sqrt();
    I.array() += sd * device::standard_normal(static_cast<int>(I.rows()), static_cast<int>(I.cols()), read_rng).array();
  }
  return I;
}

Eigen::MatrixXd ArraySim::ir_path_currents(const Eigen::MatrixXd& V, core::Rng& read_rng) {
  const int used = mapping_.layout().cols_used();
  Eigen::MatrixXd full = Eigen::MatrixXd::Zero(spec_.circuit.rows, V.cols());
  full.topRows(V.rows()) = V;
  if (!effects_.has(Effect::kReadNoise)) return ir_->currents(full).topRows(used);
  Eigen::MatrixXd I(used, V.cols());
  for (Eigen::Index b = 0; b < V.cols(); ++b) {
    ir_->program(device_.read(programmed_, read_rng));
    I.col(b) = ir_->currents(full.col(b)).topRows(used);
  }
  return I;
}

Eigen::MatrixXd ArraySim::analog_currents(const Eigen::MatrixXd& X, core::Rng& read_rng) {
  check_inputs(X);
  const Eigen::MatrixXd V = row_voltages(X);
  return ir_ ? ir_path_currents(V, read_rng) : ideal_path_currents(V, read_rng);
}

void ArraySim::calibrate_adc(const Eigen::MatrixXd& X, core::Rng& read_rng) {
  adc_.calibrate(analog_currents(X, read_rng));
}

// Shift-and-add over phases and cycles, then over slices, polarities and the reference column.
Eigen::MatrixXd ArraySim::combine(const Eigen::MatrixXd& D, Eigen::Index K, int phases) const {
  const int cycles = encoding_.cycles();
  Eigen::MatrixXd Y = Eigen::MatrixXd::Zero(D.rows(), K);
  for (int p = 0; p < phases; ++p)
    for (int c = 0; c < cycles; ++c)
      Y += (p == 0 ? 1.0 : -1.0) * encoding_.cycle_weight(c) * D.middleCols((p * cycles + c) * K, K);
  const double scale =
      mapping_.weight_per_siemens() / encoding_.volts_per_unit() / (correction_gain_ * drift_gain_);
  return scale * (mapping_.recombination() * Y);
}

Eigen::MatrixXd ArraySim::run(const Eigen::MatrixXd& X, core::Rng& read_rng) {
  const Eigen::MatrixXd I = analog_currents(X, read_rng);
  if (X.cols() == 0) return Eigen::MatrixXd::Zero(mapping_.layout().n_out, 0);
  const int phases = X.minCoeff() < 0.0 ? 2 : 1;
  if (!effects_.has(Effect::kQuantisation)) return combine(I, X.cols(), phases);
  return combine(adc_.convert(I, effects_.has(Effect::kNonlinearity)), X.cols(), phases);
}

Eigen::MatrixXd ArraySim::effective_weights() const {
  return effects_.has(Effect::kQuantisation) ? mapping_.quantised_weights() : mapping_.recombine(target_);
}

}  // namespace cimlab::xbar
