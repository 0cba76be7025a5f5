#include "xbar/correction.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>

#include "core/errors.hpp"
#include "xbar/exact_solver.hpp"

namespace cimlab::xbar {

using core::ParamSpec;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kAndersonDepth = 5;  // past iterates mixed by Anderson acceleration

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void check_inputs(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min, double g_max) {
  if (g_target.rows() != spec.rows || g_target.cols() != spec.cols)
    throw core::ModelError(fmt::format("correction: G_target is {}x{}, the array is {}x{}", g_target.rows(),
                                       g_target.cols(), spec.rows, spec.cols));
  if (!(g_min > 0.0 && g_min < g_max && std::isfinite(g_max)))
    throw core::ModelError(fmt::format("correction: need 0 < g_min < g_max, got [{}, {}] S", g_min, g_max));
  if (!g_target.allFinite() || g_target.minCoeff() < g_min || g_target.maxCoeff() > g_max)
    throw core::ModelError(fmt::format("correction: G_target spans [{}, {}] S, outside the window [{}, {}] S",
                                       g_target.minCoeff(), g_target.maxCoeff(), g_min, g_max));
}

// Column j's differential partner, or -1 (partners shorter than the array: the rest unpaired).
Eigen::Index partner_of(const std::vector<int>& partners, Eigen::Index j) {
  return j < static_cast<Eigen::Index>(partners.size()) ? partners[static_cast<std::size_t>(j)] : -1;
}

// The stuck cells a scheme works around: none unless options.known_faults; checked against the array.
const Eigen::MatrixXd& known_stuck(const CircuitSpec& spec, const Eigen::MatrixXd& stuck, const CorrectionOptions& options) {
  static const Eigen::MatrixXd none;
  if (!options.known_faults || stuck.size() == 0) return none;
  if (stuck.rows() != spec.rows || stuck.cols() != spec.cols)
    throw core::ModelError(fmt::format("correction: the stuck-cell map is {}x{}, the array is {}x{}", stuck.rows(),
                                       stuck.cols(), spec.rows, spec.cols));
  return stuck;
}

core::ModelError unknown_method(const std::string& method) {
  return core::ModelError(
      fmt::format("correction: unknown method '{}' (comn|multiplicative|compensated|response)", method));
}

// Effective conductances at the reference input and their ratio to the target, E = G_eff / G_target.
struct ReferenceFit {
  Eigen::MatrixXd g_eff;
  double mu = 0.0;   // mean(E)
  double cv = 0.0;   // std(E) / mean(E)
};

ReferenceFit fit_at_reference(ExactSolver& solver, const Eigen::MatrixXd& G, const Eigen::MatrixXd& g_target,
                              const Eigen::VectorXd& v_ref) {
  solver.program(G);
  ReferenceFit fit;
  fit.g_eff = effective_conductance(solver, G, v_ref);
  const Eigen::ArrayXXd e = fit.g_eff.array() / g_target.array();
  fit.mu = e.mean();
  fit.cv = std::sqrt((e - fit.mu).square().mean()) / fit.mu;
  return fit;
}

Eigen::MatrixXd clip(const Eigen::MatrixXd& G, double lo, double hi) {
  return G.array().max(lo).min(hi).matrix();
}

// The smallest affine contraction that brings G back into [lo, hi]: it maps
// [min(min G, lo), max(max G, hi)] onto [lo, hi], so a G already inside is left unchanged. The final
// clip only removes rounding at the bounds.
Eigen::MatrixXd rescale_into(const Eigen::MatrixXd& G, double lo, double hi) {
  const double a = std::min(G.minCoeff(), lo), b = std::max(G.maxCoeff(), hi);
  return clip(((G.array() - a) * ((hi - lo) / (b - a)) + lo).matrix(), lo, hi);
}

// The loop shared by comn and multiplicative: evaluate at the reference input, keep the best G
// (lowest std(E)/mean(E)), stop when that stops improving or falls below the tolerance.
template <class Update>
CorrectionResult reference_iteration(const char* method, const CircuitSpec& spec, const Eigen::MatrixXd& g_target,
                                     double g_min, double g_max, const CorrectionOptions& options,
                                     Update update) {
  const auto t0 = Clock::now();
  check_inputs(spec, g_target, g_min, g_max);
  ExactSolver solver(spec);
  const Eigen::VectorXd v_ref = Eigen::VectorXd::Constant(spec.rows, options.v_ref);
  CorrectionResult r{method, g_target, 1.0, 0, false, 0.0, {}};
  double best_cv = std::numeric_limits<double>::infinity();
  Eigen::MatrixXd G = g_target;
  for (int k = 0; k < options.max_iterations; ++k) {
    const ReferenceFit fit = fit_at_reference(solver, G, g_target, v_ref);
    r.history.push_back(fit.cv);
    r.iterations = k + 1;
    if (!(fit.cv < best_cv)) {  // stopped improving: keep the previous, better G
      r.converged = true;
      break;
    }
    best_cv = fit.cv;
    r.g_program = G;
    r.gain = fit.mu;
    if (fit.cv < options.tolerance) {
      r.converged = true;
      break;
    }
    G = update(G, fit);
  }
  r.seconds = seconds_since(t0);
  return r;
}

// Anderson acceleration (type II, Walker & Ni, SIAM J. Numer. Anal. 2011) of a fixed point x = x + f(x):
// x_next = x + f - (dX + dF) gamma, gamma = argmin ||f - dF gamma||. History restarts when ||f|| grows.
class Anderson {
 public:
  explicit Anderson(int depth) : depth_(depth) {}

  Eigen::VectorXd next(const Eigen::VectorXd& x, const Eigen::VectorXd& f) {
    if (has_last_ && f.norm() > last_f_.norm()) {
      dx_.clear();
      df_.clear();
    } else if (has_last_) {
      dx_.push_back(x - last_x_);
      df_.push_back(f - last_f_);
      if (static_cast<int>(dx_.size()) > depth_) {
        dx_.erase(dx_.begin());
        df_.erase(df_.begin());
      }
    }
    last_x_ = x;
    last_f_ = f;
    has_last_ = true;
    Eigen::VectorXd step = x + f;
    if (dx_.empty()) return step;
    Eigen::MatrixXd DF(f.size(), df_.size()), DX(x.size(), dx_.size());
    for (std::size_t c = 0; c < df_.size(); ++c) {
      DF.col(c) = df_[c];
      DX.col(c) = dx_[c];
    }
    const Eigen::VectorXd gamma = DF.completeOrthogonalDecomposition().solve(f);
    return step - (DX + DF) * gamma;
  }

 private:
  int depth_;
  bool has_last_ = false;
  Eigen::VectorXd last_x_, last_f_;
  std::vector<Eigen::VectorXd> dx_, df_;
};

// One application of the compensated fixed-point map (this project's scheme). Y is the per-cell response
// of G: the effective conductances at the reference input, or the transfer matrix M. With A = Y / G the
// per-cell attenuation, every unpaired cell is asked for mu G_target / A and every cell of a differential
// pair (j, k) for (mu max(+-(G_target_j - G_target_k), 0) + c) / A, c = g_min max(A_j, A_k) the common
// part both cells can carry (see correct_compensated); mu is the largest gain that keeps every demand
// <= g_max. Unpaired cells whose demand falls below g_min stay at g_min and overshoot their target; that
// excess is taken, per column, from the column's other cells in proportion to their targets, so column
// sums (the output at a uniform input) stay exact. Returns clipped log-conductances and mu.
struct CompensatedStep {
  Eigen::ArrayXXd next_log_g;
  double gain = 0.0;
};

CompensatedStep compensated_step(const Eigen::MatrixXd& G, const Eigen::MatrixXd& Y, const Eigen::MatrixXd& g_target,
                                 double g_min, double g_max, const std::vector<int>& partners,
                                 const Eigen::MatrixXd& stuck) {
  const Eigen::ArrayXXd a = Y.array() / G.array();
  if (!(a > 0.0).all() || !a.isFinite().all())
    throw core::NumericalError("correction: a cell's response is not positive and finite; cannot compensate");
  const Eigen::Index C = g_target.cols();
  auto partner = [&](Eigen::Index j) { return partner_of(partners, j); };
  // want = gain * demand + fixed: demand per unit gain, fixed the common part of paired cells.
  Eigen::ArrayXXd demand = g_target.array() / a;
  Eigen::ArrayXXd fixed = Eigen::ArrayXXd::Zero(a.rows(), a.cols());
  for (Eigen::Index j = 0; j < C; ++j) {
    const Eigen::Index k = partner(j);
    if (k < 0) continue;
    const Eigen::ArrayXd diff = g_target.col(j).array() - g_target.col(k).array();
    demand.col(j) = diff.max(0.0) / a.col(j);
    fixed.col(j) = g_min * a.col(j).max(a.col(k)) / a.col(j);
  }
  const bool has_stuck = stuck.size() > 0;
  auto is_stuck = [&](Eigen::Index i, Eigen::Index j) { return has_stuck && !std::isnan(stuck(i, j)); };
  auto pair_stuck = [&](Eigen::Index i, Eigen::Index j) {
    const Eigen::Index k = partner(j);
    return is_stuck(i, j) || (k >= 0 && is_stuck(i, k));
  };
  CompensatedStep s;
  s.gain = std::numeric_limits<double>::infinity();
  for (Eigen::Index j = 0; j < C; ++j)
    for (Eigen::Index i = 0; i < a.rows(); ++i)
      if (demand(i, j) > 0.0 && !pair_stuck(i, j)) s.gain = std::min(s.gain, (g_max - fixed(i, j)) / demand(i, j));
  if (std::isinf(s.gain)) s.gain = 1.0;  // nothing to carry (every pair balanced): any gain
  if (!(s.gain > 0.0))
    throw core::NumericalError("correction: a differential pair's common part exceeds g_max; cannot compensate");
  Eigen::ArrayXXd want = s.gain * demand + fixed;
  const Eigen::ArrayXXd target = s.gain * g_target.array();
  for (Eigen::Index j = 0; j < C; ++j) {
    if (partner(j) >= 0) continue;  // pairs never ask for less than g_min
    const auto low = want.col(j) < g_min;
    const double excess = low.select(a.col(j) * g_min - target.col(j), 0.0).sum();
    const double rest = low.select(0.0, target.col(j)).sum();
    if (rest > 0.0) want.col(j) = low.select(want.col(j), want.col(j) * std::max(1.0 - excess / rest, 0.0));
  }
  if (has_stuck)  // stuck cells keep their value; a healthy partner restores the pair's difference
    for (Eigen::Index j = 0; j < C; ++j)
      for (Eigen::Index i = 0; i < a.rows(); ++i) {
        if (!is_stuck(i, j)) continue;
        want(i, j) = stuck(i, j);
        const Eigen::Index k = partner(j);
        if (k < 0 || is_stuck(i, k)) continue;
        const double t = g_target(i, j) - g_target(i, k);  // wanted: A_j G_j - A_k G_k = gain t
        want(i, k) = (a(i, j) * stuck(i, j) - s.gain * t) / a(i, k);
      }
  s.next_log_g = want.max(g_min).min(g_max).log();
  return s;
}

// Anderson-accelerated compensated fixed point in x = log G, from G = r.g_program, for at most `budget`
// evaluations of `response` (the per-cell response Y of a G). Leaves in r the iterate with the smallest
// update (largest |G_next - G| over cells, relative to g_max) and its gain; appends to r.history.
void fixed_point(const std::function<Eigen::MatrixXd(const Eigen::MatrixXd&)>& response,
                 const Eigen::MatrixXd& g_target, double g_min, double g_max, const std::vector<int>& partners,
                 const Eigen::MatrixXd& stuck, double tolerance, int budget, CorrectionResult& r) {
  double best = std::numeric_limits<double>::infinity();
  Anderson anderson(kAndersonDepth);
  const Eigen::Index n = g_target.size();
  Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(r.g_program.data(), n).array().log();
  r.converged = false;
  for (int k = 0; k < budget; ++k) {
    const Eigen::MatrixXd G =
        Eigen::Map<const Eigen::MatrixXd>(x.data(), g_target.rows(), g_target.cols()).array().exp();
    const CompensatedStep s = compensated_step(G, response(G), g_target, g_min, g_max, partners, stuck);
    const double update = (s.next_log_g.exp() - G.array()).abs().maxCoeff() / g_max;
    r.history.push_back(update);
    ++r.iterations;
    if (update < best) {
      best = update;
      r.g_program = G.cwiseMax(g_min).cwiseMin(g_max);  // exp(log g) may miss a bound by one ulp
      r.gain = s.gain;
    }
    if (update < tolerance) {
      r.converged = true;
      return;
    }
    x = anderson.next(x, Eigen::Map<const Eigen::VectorXd>(s.next_log_g.data(), n) - x)
            .cwiseMax(std::log(g_min))
            .cwiseMin(std::log(g_max));
  }
}

}  // namespace

const core::Schema& correction_schema() {
  static const core::Schema schema{
      "correction",
      "weight-mapping correction: pre-compensate IR drop in the programmed conductances (physics.md section 4)",
      {
          ParamSpec::boolean("enabled", "false",
                             "apply the correction before programming (cimlab xbar reports both)"),
          ParamSpec::choice("method", {"comn", "multiplicative", "compensated", "response"}, "compensated",
                            "comn: the seed paper's additive iteration; multiplicative: G <- G mu G_t / G_eff; "
                            "compensated: feasible gain and column-sum compensation at the reference input; "
                            "response: the same on the exact linear response "
                            "(every input, min(R, C) solves per iteration)"),
          ParamSpec::integer("max_iterations", "100",
                             "exact evaluations of the array (solves or transfer matrices), at most")
              .at_least(1)
              .at_most(10000),
          ParamSpec::real("tolerance", core::Dim::kNone, "1e-4",
                          "stop below this: std/mean of G_eff/G_target (comn, multiplicative); "
                          "largest conductance update relative to g_max (compensated, response)")
              .above(0)
              .below(1),
          ParamSpec::real("eta", core::Dim::kNone, "1", "comn step size").above(0).at_most(10),
          ParamSpec::real("v_ref", core::Dim::kVoltage, "0.1 V",
                          "reference input of comn, multiplicative and compensated: every row at this voltage")
              .above(0)
              .at_most(100),
          ParamSpec::boolean("known_faults", "true",
                             "compensated, response: the chip's stuck cells are known before programming (write-verify "
                             "finds them); the healthy partner of a stuck cell in a differential pair restores "
                             "the pair's difference"),
      }};
  return schema;
}

CorrectionOptions make_correction_options(const core::Params& p) {
  CorrectionOptions o;
  o.method = p.str("method");
  o.max_iterations = static_cast<int>(p.integer("max_iterations"));
  o.tolerance = p.real("tolerance");
  o.eta = p.real("eta");
  o.v_ref = p.real("v_ref");
  o.known_faults = p.boolean("known_faults");
  return o;
}

// Han et al., Sci. China Inf. Sci. (seed paper), weight-mapping correction as released in CoMN.
CorrectionResult correct_comn(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                              double g_max, const CorrectionOptions& options) {
  return reference_iteration("comn", spec, g_target, g_min, g_max, options,
                             [&](const Eigen::MatrixXd& G, const ReferenceFit& fit) {
                               const Eigen::MatrixXd step = G + options.eta * (fit.mu * g_target - fit.g_eff);
                               return rescale_into(step, g_min, g_max);
                             });
}

// Multiplicative fixed point G <- G mu G_target / G_eff (physics.md section 4), clipped to the window.
CorrectionResult correct_multiplicative(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                                        double g_max, const CorrectionOptions& options) {
  return reference_iteration("multiplicative", spec, g_target, g_min, g_max, options,
                             [&](const Eigen::MatrixXd& G, const ReferenceFit& fit) {
                               const Eigen::MatrixXd step =
                                   (G.array() * fit.mu * g_target.array() / fit.g_eff.array()).matrix();
                               return clip(step, g_min, g_max);
                             });
}

// This project's scheme at the reference input (see compensated_step): one solve per iteration.
CorrectionResult correct_compensated(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                                     double g_max, const CorrectionOptions& options, const std::vector<int>& partners,
                                     const Eigen::MatrixXd& stuck_cells) {
  const auto t0 = Clock::now();
  check_inputs(spec, g_target, g_min, g_max);
  ExactSolver solver(spec);
  const Eigen::VectorXd v = Eigen::VectorXd::Constant(spec.rows, options.v_ref);
  CorrectionResult r{"compensated", g_target, 1.0, 0, false, 0.0, {}};
  const auto response = [&](const Eigen::MatrixXd& G) -> Eigen::MatrixXd {
    solver.program(G);
    return effective_conductance(solver, G, v);
  };
  const Eigen::MatrixXd& stuck = known_stuck(spec, stuck_cells, options);
  if (stuck.size() > 0) r.g_program = stuck.array().isNaN().select(g_target, stuck);
  fixed_point(response, g_target, g_min, g_max, partners, stuck, options.tolerance, options.max_iterations, r);
  r.seconds = seconds_since(t0);
  return r;
}

// This project's scheme on the exact linear response M (exact for every input where the window allows),
// by defect correction: from the compensated solution, repeat { D = M(G) - G_eff(G) (one transfer matrix,
// min(R, C) solves); stop if the compensated step on M moves G by < tolerance; else rerun the cheap
// compensated fixed point on G_eff + D }. D changes little with G, so few transfer matrices are needed.
CorrectionResult correct_response(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                                  double g_max, const CorrectionOptions& options, const std::vector<int>& partners,
                                  const Eigen::MatrixXd& stuck_cells) {
  const auto t0 = Clock::now();
  CorrectionResult r = correct_compensated(spec, g_target, g_min, g_max, options, partners, stuck_cells);
  const Eigen::MatrixXd& stuck = known_stuck(spec, stuck_cells, options);
  r.method = "response";
  ExactSolver solver(spec);
  const Eigen::VectorXd v = Eigen::VectorXd::Constant(spec.rows, options.v_ref);
  while (r.iterations < options.max_iterations) {
    solver.program(r.g_program);
    const Eigen::MatrixXd M = solver.transfer_matrix();
    const Eigen::MatrixXd defect = M - effective_conductance(solver, r.g_program, v);
    const CompensatedStep s = compensated_step(r.g_program, M, g_target, g_min, g_max, partners, stuck);
    r.history.push_back((s.next_log_g.exp() - r.g_program.array()).abs().maxCoeff() / g_max);
    ++r.iterations;
    r.gain = s.gain;
    r.converged = r.history.back() < options.tolerance;
    if (r.converged) break;
    const auto corrected_response = [&](const Eigen::MatrixXd& G) -> Eigen::MatrixXd {
      solver.program(G);
      return effective_conductance(solver, G, v) + defect;
    };
    fixed_point(corrected_response, g_target, g_min, g_max, partners, stuck, options.tolerance,
                options.max_iterations - r.iterations, r);
  }
  r.seconds = seconds_since(t0);
  return r;
}

CorrectionResult correct(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min, double g_max,
                         const CorrectionOptions& options, const std::vector<int>& partners,
                         const Eigen::MatrixXd& stuck) {
  if (options.method == "comn") return correct_comn(spec, g_target, g_min, g_max, options);
  if (options.method == "multiplicative") return correct_multiplicative(spec, g_target, g_min, g_max, options);
  if (options.method == "compensated")
    return correct_compensated(spec, g_target, g_min, g_max, options, partners, stuck);
  if (options.method == "response") return correct_response(spec, g_target, g_min, g_max, options, partners, stuck);
  throw unknown_method(options.method);
}

namespace {

// Column currents (C x K) -> outputs: unpaired columns as they are, each differential pair once as
// I_j - I_k (j the lower column).
Eigen::MatrixXd pair_outputs(const Eigen::MatrixXd& I, const std::vector<int>& partners) {
  std::vector<Eigen::Index> keep;
  for (Eigen::Index j = 0; j < I.rows(); ++j) {
    const Eigen::Index k = partner_of(partners, j);
    if (k < 0 || k > j) keep.push_back(j);
  }
  Eigen::MatrixXd out(static_cast<Eigen::Index>(keep.size()), I.cols());
  for (std::size_t n = 0; n < keep.size(); ++n) {
    const Eigen::Index j = keep[n], k = partner_of(partners, j);
    out.row(static_cast<Eigen::Index>(n)) = k < 0 ? Eigen::MatrixXd(I.row(j)) : Eigen::MatrixXd(I.row(j) - I.row(k));
  }
  return out;
}

}  // namespace

CorrectionError correction_error(const CircuitSpec& spec, const Eigen::MatrixXd& g_target,
                                 const Eigen::MatrixXd& g_program, double gain, const Eigen::MatrixXd& V,
                                 const std::vector<int>& partners) {
  ExactSolver solver(spec);
  const Eigen::MatrixXd ideal = pair_outputs(ideal_currents(g_target, V), partners);
  solver.program(g_target);
  const Eigen::MatrixXd raw = pair_outputs(solver.currents(V), partners);
  CorrectionError e;
  e.gain_before = raw.cwiseProduct(ideal).sum() / ideal.squaredNorm();
  e.before = output_error(raw / e.gain_before, ideal);
  solver.program(g_program);
  e.after = output_error(pair_outputs(solver.currents(V), partners) / gain, ideal);
  return e;
}

SchemeCorrection::SchemeCorrection(CorrectionOptions options) : options_(std::move(options)) {
  const std::string& m = options_.method;
  if (m != "comn" && m != "multiplicative" && m != "compensated" && m != "response") throw unknown_method(m);
}

CorrectionOutcome SchemeCorrection::apply(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                                          double g_max, const std::vector<int>& partners,
                                          const Eigen::MatrixXd& stuck) const {
  CorrectionResult r = run(spec, g_target, g_min, g_max, partners, stuck);
  return {std::move(r.g_program), r.gain};
}

std::unique_ptr<SchemeCorrection> make_correction(const core::Params& params) {
  return std::make_unique<SchemeCorrection>(make_correction_options(params));
}

}  // namespace cimlab::xbar
