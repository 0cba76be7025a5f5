// The registry of IR-drop models (ir_drop.hpp): one line per implementation, each naming the schema and
// factory declared in that implementation's header.
#include <fmt/format.h>

#include "core/errors.hpp"
#include "xbar/approx_models.hpp"
#include "xbar/exact_solver.hpp"
#include "xbar/ir_drop.hpp"
#include "xbar/sparse_lu_solver.hpp"

namespace cimlab::xbar {

Eigen::MatrixXd ideal_currents(const Eigen::MatrixXd& G, const Eigen::MatrixXd& V) {
  if (G.rows() != V.rows())
    throw core::ModelError(fmt::format("ideal_currents: G has {} rows, V has {}", G.rows(), V.rows()));
  return G.transpose() * V;
}

const std::vector<IrDropEntry>& ir_drop_models() {
  static const std::vector<IrDropEntry> entries{
      {"exact", exact_solver_schema(), &make_exact_solver},
      {"sparse_lu", sparse_lu_solver_schema(), &make_sparse_lu_solver},
      {"comn", comn_model_schema(), &make_comn_model},
      {"effective", effective_model_schema(), &make_effective_model},
  };
  return entries;
}

std::unique_ptr<IrDropModel> make_ir_drop_model(const std::string& type, const CircuitSpec& spec,
                                                const core::Params& params) {
  std::vector<std::string> known;
  for (const IrDropEntry& e : ir_drop_models()) {
    if (e.type == type) return e.make(spec, params);
    known.push_back(e.type);
  }
  const auto guess = core::closest(type, known);
  throw core::ModelError(fmt::format("unknown ir_drop type '{}'{}; known: {}", type,
                                     guess ? fmt::format(" (did you mean '{}'?)", *guess) : "",
                                     fmt::join(known, ", ")));
}

}  // namespace cimlab::xbar
