#pragma once
// Cheaper IR-drop approximations (physics.md section 3), each validated against the exact solver:
//   ComnModel ("comn"): CoMN's closed-form equivalent-resistance model; ignores the inputs.
//   EffectiveConductanceModel ("effective"): per-cell effective conductances from one exact solve at a
//   reference input, applied as a fixed weight perturbation.
// Both reduce the array to one fixed R x C matrix G_eq (siemens) and return currents G_eq^T V (amperes).
// Conventions as in ir_drop.hpp. Models are not thread-safe (one object per thread); the free
// functions are pure and thread-safe unless they take a solver by reference.
#include <Eigen/Dense>

#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "xbar/exact_solver.hpp"
#include "xbar/ir_drop.hpp"

namespace cimlab::xbar {

// R x C wire resistance (ohm) on each cell's path: driver plus row segments from the driven end to the
// cell, plus column segments from the cell to the sensed end plus sense. Two-sided drive or sense puts
// the two paths of that wire in parallel.
Eigen::MatrixXd path_resistance(const CircuitSpec& spec);

// CoMN equivalent conductances G_eq = 1 / R_eq with R_eq,ij = R_ij + P_ij * R_ij / R_bar, P = path
// resistance, R_bar = 1 / mean(G) (CoMN, Peking Univ., IEEE TCAD 2024, IR-drop model; physics.md section 3).
// Preconditions: G is spec.rows x spec.cols, entries > 0.
Eigen::MatrixXd comn_equivalent_conductance(const CircuitSpec& spec, const Eigen::MatrixXd& G);

// Per-cell effective conductance G_eff,ij = I_cell,ij / v_i from one exact solve at input v (volts,
// R entries, all nonzero). `solver` must already be programmed with G (R x C, siemens).
Eigen::MatrixXd effective_conductance(ExactSolver& solver, const Eigen::MatrixXd& G, const Eigen::VectorXd& v);

// A model that is one fixed conductance matrix after program(); shared by the two approximations.
class FixedConductanceModel : public IrDropModel {
 public:
  Eigen::MatrixXd currents(const Eigen::MatrixXd& V) override;  // G_eq^T V; R x K -> C x K
  const SolveReport& last_report() const override { return report_; }
  // The R x C equivalent conductances (siemens) of the last program() call.
  const Eigen::MatrixXd& equivalent_conductance() const { return g_eq_; }

 protected:
  explicit FixedConductanceModel(std::string method) { report_.method = std::move(method); }
  Eigen::MatrixXd g_eq_;
  SolveReport report_;
};

class ComnModel final : public FixedConductanceModel {
 public:
  explicit ComnModel(const CircuitSpec& spec) : FixedConductanceModel("closed-form"), spec_(spec) {}
  std::string name() const override { return "comn"; }
  void program(const Eigen::MatrixXd& G) override;

 private:
  CircuitSpec spec_;
};

class EffectiveConductanceModel final : public FixedConductanceModel {
 public:
  // v_ref: the reference input, every row at v_ref volts (> 0).
  EffectiveConductanceModel(const CircuitSpec& spec, double v_ref)
      : FixedConductanceModel("effective-conductance"), spec_(spec), v_ref_(v_ref) {}
  std::string name() const override { return "effective"; }
  void program(const Eigen::MatrixXd& G) override;  // one exact solve

 private:
  CircuitSpec spec_;
  double v_ref_;
};

// Parameter declarations (`ir_drop:` section, type comn / effective) and registry factories.
const core::Schema& comn_model_schema();
const core::Schema& effective_model_schema();
std::unique_ptr<IrDropModel> make_comn_model(const CircuitSpec& spec, const core::Params& params);
std::unique_ptr<IrDropModel> make_effective_model(const CircuitSpec& spec, const core::Params& params);

// Error of `actual` against `reference` (same shape, e.g. C x K column currents):
// rel_rms = ||actual - reference||_F / ||reference||_F; max_rel = max over entries with a nonzero
// reference of |actual - reference| / |reference| (huge where a reference is near zero);
// max_full_scale = max |actual - reference| / max |reference|, the error relative to full scale. All 0
// when the matrices are equal.
struct OutputError {
  double rel_rms = 0.0;
  double max_rel = 0.0;
  double max_full_scale = 0.0;
};
OutputError output_error(const Eigen::MatrixXd& actual, const Eigen::MatrixXd& reference);

// How far an approximation is from the exact solver on given inputs.
struct ApproximationError {
  std::string model;    // the approximation's name()
  OutputError error;    // column currents vs the exact solver's
  double seconds = 0.0; // wall time of the approximation's program() + currents()
};
// Programs `approx` with G (R x C, siemens), evaluates it on V (R x K, volts) and compares with
// `reference`, the exact solver's C x K currents for the same G and V.
ApproximationError approximation_error(IrDropModel& approx, const Eigen::MatrixXd& G, const Eigen::MatrixXd& V,
                                       const Eigen::MatrixXd& reference);
// Both approximations (comn; effective at every row v_ref volts) against the exact solver.
std::vector<ApproximationError> compare_approximations(const CircuitSpec& spec, const Eigen::MatrixXd& G,
                                                       const Eigen::MatrixXd& V, double v_ref);

}  // namespace cimlab::xbar
