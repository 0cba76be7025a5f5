#pragma once
// IR-drop models: the column currents of a programmed crossbar for blocks of input vectors.
//
// Conventions: G is R x C (siemens, cell (i, j) joins row i to column j), V is R x K (volts, one input
// vector per column of V), results are C x K (amperes, current into column j's virtual ground(s)).
// A model is programmed once per array (program()), which may precompute work that depends on G only;
// then currents() may be called many times. Not thread-safe: use one model object per thread.
#include <Eigen/Dense>

#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "xbar/circuit.hpp"

namespace cimlab::xbar {

// What the last solve did, for logs and results.
struct SolveReport {
  std::string method;       // e.g. "schur-pcg", "sparse-lu", "closed-form"
  int iterations = 0;       // max over the block's input vectors (0 for direct methods)
  double residual = 0.0;    // max relative residual ||b - A x|| / ||b|| over the block
  bool converged = true;
  double seconds = 0.0;     // wall time of the call
};

// Node voltages of one solved input vector: u = row-wire nodes, v = column-wire nodes (both R x C).
struct NodeVoltages {
  Eigen::MatrixXd u;
  Eigen::MatrixXd v;
};

class IrDropModel {
 public:
  virtual ~IrDropModel() = default;
  virtual std::string name() const = 0;
  // Preconditions: G.rows() == spec.rows, G.cols() == spec.cols, every entry finite and > 0.
  virtual void program(const Eigen::MatrixXd& G) = 0;
  // Throws core::NumericalError (with residual and iterations in the message) if a method fails.
  virtual Eigen::MatrixXd currents(const Eigen::MatrixXd& V) = 0;
  virtual const SolveReport& last_report() const = 0;
};

// Ideal product I = G^T V (no wire or driver/sense resistance).
Eigen::MatrixXd ideal_currents(const Eigen::MatrixXd& G, const Eigen::MatrixXd& V);

// Registry: the `type:` key of the `ir_drop:` config section picks one of these.
struct IrDropEntry {
  std::string type;
  core::Schema schema;  // parameters of this implementation (name = "ir_drop.<type>")
  std::unique_ptr<IrDropModel> (*make)(const CircuitSpec&, const core::Params&);
};
const std::vector<IrDropEntry>& ir_drop_models();
std::unique_ptr<IrDropModel> make_ir_drop_model(const std::string& type, const CircuitSpec& spec,
                                                const core::Params& params);

}  // namespace cimlab::xbar
