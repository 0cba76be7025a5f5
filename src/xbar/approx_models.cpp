#include "xbar/approx_models.hpp"

#include <chrono>
#include <cmath>
#include <limits>

namespace cimlab::xbar {

using core::Dim;
using core::ParamSpec;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Resistance of two paths in parallel; an ideal (0 ohm) path shorts the other.
double parallel(double a, double b) { return a + b == 0.0 ? 0.0 : a * b / (a + b); }

}  // namespace

Eigen::MatrixXd path_resistance(const CircuitSpec& spec) {
  Eigen::MatrixXd p(spec.rows, spec.cols);
  for (int j = 0; j < spec.cols; ++j) {
    double row = spec.r_driver + spec.r_row * j;
    if (spec.two_sided_drive) row = parallel(row, spec.r_driver + spec.r_row * (spec.cols - 1 - j));
    for (int i = 0; i < spec.rows; ++i) {
      double col = spec.r_sense + spec.r_col * (spec.rows - 1 - i);
      if (spec.two_sided_sense) col = parallel(col, spec.r_sense + spec.r_col * i);
      p(i, j) = row + col;
    }
  }
  return p;
}

Eigen::MatrixXd comn_equivalent_conductance(const CircuitSpec& spec, const Eigen::MatrixXd& G) {
  // R_eq = R (1 + P / R_bar) = R (1 + P mean(G))  =>  G_eq = G / (1 + P mean(G)).
  const double g_mean = G.mean();
  return (G.array() / (1.0 + path_resistance(spec).array() * g_mean)).matrix();
}

Eigen::MatrixXd effective_conductance(ExactSolver& solver, const Eigen::MatrixXd& G, const Eigen::VectorXd& v) {
  const NodeVoltages n = solver.nodes(v);
  const Eigen::ArrayXXd cell_current = G.array() * (n.u - n.v).array();
  return (cell_current.colwise() / v.array()).matrix();
}

Eigen::MatrixXd FixedConductanceModel::currents(const Eigen::MatrixXd& V) {
  const auto t0 = Clock::now();
  Eigen::MatrixXd out = g_eq_.transpose() * V;
  report_.seconds = seconds_since(t0);
  return out;
}

void ComnModel::program(const Eigen::MatrixXd& G) {
  const auto t0 = Clock::now();
  g_eq_ = comn_equivalent_conductance(spec_, G);
  report_.seconds = seconds_since(t0);
}

void EffectiveConductanceModel::program(const Eigen::MatrixXd& G) {
  const auto t0 = Clock::now();
  ExactSolver solver(spec_);
  solver.program(G);
  g_eq_ = effective_conductance(solver, G, Eigen::VectorXd::Constant(spec_.rows, v_ref_));
  report_.iterations = solver.last_report().iterations;
  report_.residual = solver.last_report().residual;
  report_.converged = solver.last_report().converged;
  report_.seconds = seconds_since(t0);
}

const core::Schema& comn_model_schema() {
  static const core::Schema schema{
      "ir_drop.comn",
      "CoMN's closed-form equivalent-resistance IR-drop model (input-independent, approximate)",
      {}};
  return schema;
}

const core::Schema& effective_model_schema() {
  static const core::Schema schema{
      "ir_drop.effective",
      "fixed per-cell effective conductances from one exact solve at a reference input (approximate)",
      {
          ParamSpec::real("v_ref", Dim::kVoltage, "0.1 V", "reference input: every row driven at this voltage")
              .above(0)
              .at_most(100),
      }};
  return schema;
}

std::unique_ptr<IrDropModel> make_comn_model(const CircuitSpec& spec, const core::Params&) {
  return std::make_unique<ComnModel>(spec);
}

std::unique_ptr<IrDropModel> make_effective_model(const CircuitSpec& spec, const core::Params& params) {
  return std::make_unique<EffectiveConductanceModel>(spec, params.real("v_ref"));
}

OutputError output_error(const Eigen::MatrixXd& actual, const Eigen::MatrixXd& reference) {
  OutputError e;
  const Eigen::ArrayXXd diff = (actual - reference).array().abs();
  const double ref_norm = reference.norm();
  const double inf = std::numeric_limits<double>::infinity();
  e.rel_rms = ref_norm > 0.0 ? diff.matrix().norm() / ref_norm : (diff.maxCoeff() > 0.0 ? inf : 0.0);
  const Eigen::ArrayXXd ref = reference.array().abs();
  e.max_rel = (ref > 0.0).select(diff / ref.max(1e-300), 0.0).maxCoeff();
  const double full_scale = ref.size() > 0 ? ref.maxCoeff() : 0.0;
  const double max_diff = diff.size() > 0 ? diff.maxCoeff() : 0.0;
  e.max_full_scale = full_scale > 0.0 ? max_diff / full_scale : (max_diff > 0.0 ? inf : 0.0);
  return e;
}

ApproximationError approximation_error(IrDropModel& approx, const Eigen::MatrixXd& G, const Eigen::MatrixXd& V,
                                       const Eigen::MatrixXd& reference) {
  const auto t0 = Clock::now();
  approx.program(G);
  const Eigen::MatrixXd actual = approx.currents(V);
  return {approx.name(), output_error(actual, reference), seconds_since(t0)};
}

std::vector<ApproximationError> compare_approximations(const CircuitSpec& spec, const Eigen::MatrixXd& G,
                                                       const Eigen::MatrixXd& V, double v_ref) {
  ExactSolver exact(spec);
  exact.program(G);
  const Eigen::MatrixXd reference = exact.currents(V);
  ComnModel comn(spec);
  EffectiveConductanceModel effective(spec, v_ref);
  return {approximation_error(comn, G, V, reference), approximation_error(effective, G, V, reference)};
}

}  // namespace cimlab::xbar
