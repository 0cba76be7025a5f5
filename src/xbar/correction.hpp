#pragma once
// Weight-mapping correction: IR-drop pre-compensation before programming (physics.md section 4).
//
// Given target conductances G_target (R x C, siemens, inside the window [g_min, g_max]), choose programmed
// conductances G, never outside [g_min, g_max], so that the array, solved exactly (ExactSolver), computes
// gain * G_target^T V; the gain (dimensionless) is divided out digitally. Schemes (`correction.method`):
//   comn           the seed paper's additive iteration as released in CoMN, on the exact solver's
//                  effective conductances at a reference input (every row at v_ref);
//   multiplicative the fixed point G <- G mu G_target / G_eff at the same reference input;
//   compensated    this project's scheme: an Anderson-accelerated fixed point in log-conductance on the
//                  same effective conductances, with mu the largest gain the window allows (no cell is
//                  clipped at g_max; mu > 1 where G_target does not reach g_max) and, per column, the
//                  overshoot of cells stuck at g_min taken from the column's other cells, so column sums
//                  stay exact; one solve per iteration;
//   response       the compensated scheme on the array's exact linear response M(G) (currents = M^T V)
//                  instead of the reference-input conductances: exact for every input wherever the window
//                  allows; by defect correction, a few transfer matrices (min(R, C) solves each).
// Thread-safety: the free functions are reentrant (each builds its own solver); Correction objects are
// immutable after construction, so apply() may run concurrently on one object.
#include <Eigen/Dense>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/params.hpp"
#include "xbar/approx_models.hpp"
#include "xbar/array_sim.hpp"
#include "xbar/circuit.hpp"

namespace cimlab::xbar {

// The validated `correction:` section.
struct CorrectionOptions {
  std::string method = "compensated";
  int max_iterations = 100;  // exact evaluations of the array (solves or transfer matrices), at most
  double tolerance = 1e-4;   // see correction_schema()
  double eta = 1.0;          // comn step size
  double v_ref = 0.1;        // volts on every row for the reference input (comn, multiplicative, compensated)
  bool known_faults = true;  // compensated, response: work around the chip's stuck cells (see below)
};

const core::Schema& correction_schema();
CorrectionOptions make_correction_options(const core::Params& params);

// What a scheme produced and what it cost.
struct CorrectionResult {
  std::string method;
  Eigen::MatrixXd g_program;    // R x C siemens, inside [g_min, g_max]
  double gain = 1.0;            // mu: the array computes ~ gain * G_target^T V
  int iterations = 0;           // exact evaluations of the array (solves or transfer matrices)
  bool converged = false;       // the stopping rule was met before max_iterations
  double seconds = 0.0;         // wall time
  std::vector<double> history;  // per iteration: std(E)/mean(E) (comn, multiplicative) or the largest
                                // conductance update relative to g_max (compensated, response)
};

// Preconditions (ModelError otherwise): g_target is spec.rows x spec.cols, 0 < g_min < g_max, every
// entry of g_target in [g_min, g_max]. Throws core::NumericalError if the exact solver fails.
CorrectionResult correct_comn(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                              double g_max, const CorrectionOptions& options);
CorrectionResult correct_multiplicative(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                                        double g_max, const CorrectionOptions& options);
// partners (compensated, response; comn and multiplicative ignore it): the differential column pairs of
// the array (Layout::partners; -1 or empty = unpaired). A pair (j, k) is corrected on its difference,
// row by row: the array is asked for effective conductances gain * max(+-(G_target_j - G_target_k), 0) + c
// with the common part c = g_min * max(A_j, A_k) (A = effective / programmed conductance), so that
// cells that should sit at g_min (zero digits) need no conductance below the window and the difference,
// which is all the digital subtraction keeps, is exact. Unpaired columns get gain * G_target.
// stuck (R x C, NaN = healthy; empty = none; used when options.known_faults): cells that keep the given
// conductance whatever is programmed. They do not limit the gain; in a pair, the healthy partner of a
// stuck cell is asked for the effective conductance that restores the pair's difference (a stuck-on
// cell is cancelled by raising its partner, as far as the window allows).
CorrectionResult correct_compensated(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                                     double g_max, const CorrectionOptions& options,
                                     const std::vector<int>& partners = {}, const Eigen::MatrixXd& stuck = {});
CorrectionResult correct_response(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min,
                                  double g_max, const CorrectionOptions& options,
                                  const std::vector<int>& partners = {}, const Eigen::MatrixXd& stuck = {});
// Dispatches on options.method.
CorrectionResult correct(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min, double g_max,
                         const CorrectionOptions& options, const std::vector<int>& partners = {},
                         const Eigen::MatrixXd& stuck = {});

// Output error against the ideal product, on inputs V (R x K volts), both with the exact solver:
// before = the uncorrected array (G = G_target) with its best global gain (least squares on V, the most
// favourable calibration it could get); after = the corrected array divided by its reported gain.
// Paired columns (partners) are compared on their differences (I_j - I_k, once per pair).
struct CorrectionError {
  OutputError before;
  OutputError after;
  double gain_before = 1.0;
};
CorrectionError correction_error(const CircuitSpec& spec, const Eigen::MatrixXd& g_target,
                                 const Eigen::MatrixXd& g_program, double gain, const Eigen::MatrixXd& V,
                                 const std::vector<int>& partners = {});

// The Correction interface for the scheme named by options.method (one of correction_schema()'s
// methods, else ModelError at construction); run() gives the full result, apply() the outcome.
// Immutable: apply() may run concurrently.
class SchemeCorrection final : public Correction {
 public:
  explicit SchemeCorrection(CorrectionOptions options);
  CorrectionOutcome apply(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min, double g_max,
                          const std::vector<int>& partners, const Eigen::MatrixXd& stuck) const override;
  CorrectionResult run(const CircuitSpec& spec, const Eigen::MatrixXd& g_target, double g_min, double g_max,
                       const std::vector<int>& partners = {}, const Eigen::MatrixXd& stuck = {}) const {
    return correct(spec, g_target, g_min, g_max, options_, partners, stuck);
  }
  const CorrectionOptions& options() const { return options_; }

 private:
  CorrectionOptions options_;
};

// The scheme named by params' `method` (params validated against correction_schema()).
std::unique_ptr<SchemeCorrection> make_correction(const core::Params& params);

}  // namespace cimlab::xbar
