// Weights mode of `cimlab xbar`: a logical weight matrix mapped onto one array of a device, its
// outputs ideal vs with each non-ideality alone, each of the five error classes, and all together,
// with and without weight-mapping correction of the IR drop.
#include <fmt/format.h>

#include <cmath>

#include "core/errors.hpp"
#include "core/matrix_io.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "xbar/correction.hpp"
#include "xbar/exact_solver.hpp"
#include "xbar/experiment.hpp"
#include "xbar/experiment_output.hpp"

namespace cimlab::xbar {

namespace {

// The five error classes of the seed paper's taxonomy (physics.md section 2).
struct ErrorClass {
  const char* name;
  std::vector<Effect> effects;
};
const std::vector<ErrorClass>& error_classes() {
  static const std::vector<ErrorClass> classes{
      {"quantisation", {Effect::kQuantisation}},
      {"fluctuation", {Effect::kProgramming, Effect::kReadNoise, Effect::kDrift}},
      {"defects", {Effect::kFaults}},
      {"nonlinearity", {Effect::kNonlinearity}},
      {"interconnect", {Effect::kIrDrop}},
  };
  return classes;
}

int outputs_that_fit(const XbarExperiment& exp) { return max_outputs(exp.mapping, exp.circuit.cols); }

Eigen::MatrixXd draw_weights(const XbarExperiment& exp, core::Rng rng) {
  const int n_out = exp.weights.cols > 0 ? exp.weights.cols : outputs_that_fit(exp);
  if (n_out < 1)
    throw core::ConfigError(fmt::format("array.cols = {} is too few columns for one {}-bit weight on {}-bit cells",
                                        exp.circuit.cols, exp.mapping.weight_bits, exp.mapping.cell_bits));
  Eigen::MatrixXd W(exp.circuit.rows, n_out);
  for (Eigen::Index j = 0; j < W.cols(); ++j)
    for (Eigen::Index i = 0; i < W.rows(); ++i)
      W(i, j) = exp.weights.distribution == "uniform" ? rng.uniform(-exp.weights.scale, exp.weights.scale)
                                                      : rng.normal(0.0, exp.weights.scale);
  return W;
}

Eigen::MatrixXd load_weights(const XbarExperiment& exp, core::Rng rng) {
  if (exp.weights.file.empty()) return draw_weights(exp, rng);
  const Eigen::MatrixXd W = core::read_matrix(exp.weights.file);
  if (W.rows() > exp.circuit.rows || W.cols() > outputs_that_fit(exp))
    throw core::InputError(fmt::format("{}: {} x {} weights do not fit a {} x {} array ({} rows, {} outputs at most "
                                       "with this mapping)",
                                       exp.weights.file, W.rows(), W.cols(), exp.circuit.rows, exp.circuit.cols,
                                       exp.circuit.rows, outputs_that_fit(exp)));
  return W;
}

// Input vectors (rows x K) from `file`, or `count` drawn from the configured distribution.
Eigen::MatrixXd load_inputs(const XbarExperiment& exp, const std::string& file, int count, Eigen::Index rows,
                            core::Rng rng) {
  if (!file.empty()) {
    const Eigen::MatrixXd X = core::read_matrix(file).transpose();
    if (X.rows() != rows)
      throw core::InputError(
          fmt::format("{}: each line must hold {} activations (one per weight row), found {}", file, rows, X.rows()));
    if (X.minCoeff() < 0.0 || X.maxCoeff() > 1.0)
      throw core::InputError(fmt::format("{}: activations must lie in [0, 1]", file));
    return X;
  }
  Eigen::MatrixXd X(rows, count);
  for (Eigen::Index k = 0; k < X.cols(); ++k)
    for (Eigen::Index i = 0; i < X.rows(); ++i) X(i, k) = rng.bernoulli(exp.inputs.density) ? rng.uniform() : 0.0;
  return X;
}

// The scored inputs and the separate ADC calibration inputs (InputsSpec).
struct Inputs {
  Eigen::MatrixXd scored, calibration;
};

struct CaseResult {
  Eigen::MatrixXd outputs;
  nlohmann::json json;
};

ArraySimSpec sim_spec(const XbarExperiment& exp) {
  return {exp.circuit, exp.device, exp.mapping, exp.adc, exp.ir_drop_type, exp.ir_drop_params};
}

// One chip instance with `effects` on: outputs for the scored inputs (the ADC range calibrated on the
// calibration inputs) and their error against the ideal product.
CaseResult run_case(const XbarExperiment& exp, const Eigen::MatrixXd& W, const Inputs& in, const Eigen::MatrixXd& ideal,
                    EffectSet effects, const Correction* correction) {
  const core::Rng root(exp.seed);
  ArraySim sim(sim_spec(exp), W, effects, core::fork(root, core::Stream::kProgramming), correction);
  core::Rng read_rng = core::fork(root, core::Stream::kReadNoise);
  if (exp.adc.range == AdcRange::kCalibrated && effects.has(Effect::kQuantisation))
    sim.calibrate_adc(in.calibration, read_rng);
  CaseResult r{sim.run(in.scored, read_rng), {}};
  const OutputError e = output_error(r.outputs, ideal);
  // Outputs near zero make per-entry relative errors meaningless; the largest error is given as a
  // fraction of the largest ideal output (full scale) instead.
  const double full_scale = ideal.cwiseAbs().maxCoeff();
  const double max_error = (r.outputs - ideal).cwiseAbs().maxCoeff();
  r.json = {{"relative_rms_error", e.rel_rms}, {"max_error_full_scale", full_scale > 0 ? max_error / full_scale : max_error}};
  if (correction) r.json["correction_gain"] = sim.correction_gain();
  return r;
}

nlohmann::json effect_list(EffectSet s) {
  nlohmann::json out = nlohmann::json::array();
  for (int e = 0; e < kEffectCount; ++e)
    if (s.has(static_cast<Effect>(e))) out.push_back(std::string(effect_name(static_cast<Effect>(e))));
  return out;
}

// One correction scheme on the array's target conductances: gain, iterations, time and the column-current
// error against the ideal product for the row pulses the array really sees.
nlohmann::json scheme_report(const XbarExperiment& exp, const Eigen::MatrixXd& g_target, const std::vector<int>& partners,
                             const Eigen::MatrixXd& V, const CorrectionOptions& options, Eigen::MatrixXd* g_program) {
  const CorrectionResult c = correct(exp.circuit, g_target, exp.device.g_min, exp.device.g_max, options, partners);
  const CorrectionError err = correction_error(exp.circuit, g_target, c.g_program, c.gain, V, partners);
  if (g_program) *g_program = c.g_program;
  return {{"method", c.method},
          {"iterations", c.iterations},
          {"converged", c.converged},
          {"gain", c.gain},
          {"seconds", c.seconds},
          {"current_error_before", error_json(err.before)},
          {"current_error_after", error_json(err.after)}};
}

// The configured scheme in full, plus the other fast schemes side by side (the seed paper's CoMN
// iteration is always among them, as the baseline).
nlohmann::json correction_report(const XbarExperiment& exp, const Eigen::MatrixXd& W, const Eigen::MatrixXd& X,
                                 core::RunDir& run) {
  const ArraySim plain(sim_spec(exp), W, EffectSet::none(), core::Rng(exp.seed));
  const Eigen::MatrixXd V = InputEncoding(exp.mapping, exp.device.v_read).voltages(X, true);
  const CorrectionOptions options = make_correction_options(exp.correction_params);
  Eigen::MatrixXd g_program;
  const std::vector<int> partners = plain.mapping().layout().partners(exp.circuit.cols);
  nlohmann::json report = scheme_report(exp, plain.target_conductances(), partners, V, options, &g_program);
  core::write_csv(run.file("corrected_conductances.csv"), g_program);
  run.log().info("correction {}: {}", options.method, report.dump());
  nlohmann::json compared = nlohmann::json::array();
  for (const char* method : {"comn", "multiplicative", "compensated"}) {
    if (method == options.method) continue;
    CorrectionOptions other = options;
    other.method = method;
    compared.push_back(scheme_report(exp, plain.target_conductances(), partners, V, other, nullptr));
  }
  report["compared"] = compared;
  return report;
}

// A table of the relative RMS output error of each effect, class and case, in that order.
std::string summary_table(const nlohmann::json& effects, const nlohmann::json& classes, const nlohmann::json& cases) {
  std::string s = "relative RMS output error vs the ideal product W^T x:";
  auto row = [&](const std::string& name, const nlohmann::json& c) {
    s += fmt::format("\n  {:<26} {:9.4f} %", name, 100.0 * c.at("relative_rms_error").get<double>());
  };
  for (int i = 0; i < kEffectCount; ++i) {
    const std::string name(effect_name(static_cast<Effect>(i)));
    row(name + " alone", effects.at(name));
  }
  for (const auto& c : error_classes()) row(std::string("class ") + c.name, classes.at(c.name));
  for (const char* name : {"all", "ir_drop_only_corrected", "all_corrected"})
    if (cases.contains(name)) row(name, cases.at(name));
  return s;
}

// Each effect alone and each of the five classes: the error budget.
nlohmann::json error_budget(const XbarExperiment& e, const Eigen::MatrixXd& W, const Inputs& X,
                            const Eigen::MatrixXd& ideal, core::Progress& progress) {
  nlohmann::json effects = nlohmann::json::object(), classes = nlohmann::json::object();
  for (int i = 0; i < kEffectCount; ++i) {
    const Effect fx = static_cast<Effect>(i);
    effects[std::string(effect_name(fx))] = run_case(e, W, X, ideal, EffectSet::only(fx), nullptr).json;
    progress.advance();
  }
  for (const auto& c : error_classes()) {
    EffectSet s;
    for (Effect fx : c.effects) s.set(fx);
    classes[c.name] = run_case(e, W, X, ideal, s, nullptr).json;
    classes[c.name]["effects"] = effect_list(s);
    progress.advance();
  }
  return {{"effects", effects}, {"classes", classes}};
}

// All effects together, and with weight-mapping correction when enabled (then also IR drop alone).
nlohmann::json all_together(const XbarExperiment& e, const Eigen::MatrixXd& W, const Inputs& X,
                            const Eigen::MatrixXd& ideal, core::RunDir& run, nlohmann::json& correction,
                            core::Progress& progress) {
  nlohmann::json cases = nlohmann::json::object();
  CaseResult all = run_case(e, W, X, ideal, e.effects, nullptr);
  core::write_csv(run.file("outputs_all.csv"), all.outputs.transpose());
  cases["all"] = all.json;
  progress.advance();
  if (!e.correction_enabled) return cases;
  const auto scheme = make_correction(e.correction_params);
  correction = correction_report(e, W, X.scored, run);
  cases["ir_drop_only_corrected"] = run_case(e, W, X, ideal, EffectSet::only(Effect::kIrDrop), scheme.get()).json;
  CaseResult corrected = run_case(e, W, X, ideal, e.effects, scheme.get());
  core::write_csv(run.file("outputs_all_corrected.csv"), corrected.outputs.transpose());
  cases["all_corrected"] = corrected.json;
  progress.advance();
  return cases;
}

}  // namespace

XbarRun run_weights(const XbarExperiment& e, core::RunDir& run, const std::string& spice_path) {
  const core::Rng root(e.seed);
  const Eigen::MatrixXd W = load_weights(e, core::fork(root, core::Stream::kWeights));
  const core::Rng input_rng = core::fork(root, core::Stream::kInputs);
  const Inputs inputs{load_inputs(e, e.inputs.file, e.inputs.count, W.rows(), input_rng),
                      load_inputs(e, e.inputs.calibration_file, e.inputs.calibration_count, W.rows(), input_rng.fork(1))};
  const Eigen::MatrixXd& X = inputs.scored;
  const Eigen::MatrixXd ideal = W.transpose() * X;
  core::write_csv(run.file("outputs_ideal.csv"), ideal.transpose());

  core::Progress progress("xbar", kEffectCount + static_cast<int>(error_classes().size()) + 2);
  const nlohmann::json budget = error_budget(e, W, inputs, ideal, progress);
  nlohmann::json correction = nullptr;
  const nlohmann::json cases = all_together(e, W, inputs, ideal, run, correction, progress);
  progress.finish();

  const ArraySim plain(sim_spec(e), W, EffectSet::none(), root);
  // The IR-drop map and netlist use the analog-equivalent drive of the first input (rows beyond the
  // weights' stay at 0 V).
  Eigen::VectorXd v0 = Eigen::VectorXd::Zero(e.circuit.rows);
  v0.head(W.rows()) = e.device.v_read * X.col(0);
  XbarRun out;
  if (e.voltage_map) {
    ExactSolver solver(e.circuit);
    solver.program(plain.target_conductances());
    out.cell_voltage = write_cell_voltage(solver, v0, run);
  }
  if (!spice_path.empty()) write_spice(spice_path, e.circuit, plain.target_conductances(), v0);
  nlohmann::json result = {{"mode", "weights"},
                           {"weights", {{"rows", W.rows()}, {"outputs", W.cols()}}},
                           {"inputs", X.cols()},
                           {"adc_calibration_inputs",
                            e.adc.range == AdcRange::kCalibrated ? nlohmann::json(inputs.calibration.cols()) : nullptr},
                           {"array", {{"rows", e.circuit.rows}, {"cols", e.circuit.cols},
                                      {"cols_used", plain.mapping().layout().cols_used()}}},
                           {"effects", budget.at("effects")},
                           {"classes", budget.at("classes")},
                           {"cases", cases},
                           {"all_effects", effect_list(e.effects)},
                           {"correction", correction}};
  result["summary"] = summary_table(budget.at("effects"), budget.at("classes"), cases);
  result["provenance"] = run.provenance();
  run.write_json("result.json", result);
  out.result = std::move(result);
  return out;
}

}  // namespace cimlab::xbar
