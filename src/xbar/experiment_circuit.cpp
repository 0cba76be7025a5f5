// Circuit mode of `cimlab xbar`: exact column currents of given conductances and row voltages, the
// ideal product, and the error of each IR-drop approximation against the exact solution.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include "core/errors.hpp"
#include "core/matrix_io.hpp"
#include "xbar/approx_models.hpp"
#include "xbar/exact_solver.hpp"
#include "xbar/experiment.hpp"
#include "xbar/experiment_output.hpp"
#include "xbar/spice.hpp"

namespace cimlab::xbar {

namespace {

nlohmann::json circuit_json(const CircuitSpec& c) {
  return {{"rows", c.rows},           {"cols", c.cols},
          {"r_row_ohm", c.r_row},     {"r_col_ohm", c.r_col},
          {"r_driver_ohm", c.r_driver}, {"r_sense_ohm", c.r_sense},
          {"two_sided_drive", c.two_sided_drive}, {"two_sided_sense", c.two_sided_sense}};
}

nlohmann::json report_json(const SolveReport& r) {
  return {{"method", r.method}, {"iterations", r.iterations}, {"residual", r.residual},
          {"converged", r.converged}, {"seconds", r.seconds}};
}

std::vector<std::vector<double>> rows_of(const Eigen::MatrixXd& m) {
  std::vector<std::vector<double>> out(m.rows(), std::vector<double>(m.cols()));
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) out[i][j] = m(i, j);
  return out;
}

ExactSolverOptions exact_options(const XbarExperiment& exp) {
  ExactSolverOptions o;
  if (exp.ir_drop_type == "exact") {
    o.tolerance = exp.ir_drop_params.real("tolerance");
    o.max_iterations = static_cast<int>(exp.ir_drop_params.integer("max_iterations"));
  }
  return o;
}

// Each approximation (CoMN closed form, effective conductance) against the exact currents.
nlohmann::json approximations(const XbarExperiment& exp, const Eigen::MatrixXd& G, const Eigen::MatrixXd& V,
                              const Eigen::MatrixXd& exact) {
  nlohmann::json out = nlohmann::json::object();
  ComnModel comn(exp.circuit);
  const double v_typical = V.mean() > 0.0 ? V.mean() : 0.1;  // the typical input: every row at the mean drive
  EffectiveConductanceModel effective(exp.circuit, v_typical);
  for (IrDropModel* m : std::initializer_list<IrDropModel*>{&comn, &effective}) {
    const ApproximationError a = approximation_error(*m, G, V, exact);
    out[m->name()] = error_json(a.error);
    out[m->name()]["seconds"] = a.seconds;
  }
  return out;
}

}  // namespace

nlohmann::json error_json(const OutputError& e) {
  return {{"relative_rms_error", e.rel_rms}, {"max_relative_error", e.max_rel}, {"max_error_full_scale", e.max_full_scale}};
}

Eigen::MatrixXd write_cell_voltage(ExactSolver& solver, const Eigen::VectorXd& v, core::RunDir& run) {
  const NodeVoltages n = solver.nodes(v);
  const Eigen::MatrixXd cell = n.u - n.v;
  core::write_csv(run.file("cell_voltage.csv"), cell);
  return cell;
}

void write_spice(const std::string& path, const CircuitSpec& circuit, const Eigen::MatrixXd& G,
                 const Eigen::VectorXd& v) {
  std::ofstream out(path);
  if (!out) throw core::InputError(fmt::format("{}: cannot write netlist", path));
  write_spice_netlist(out, circuit, G, v);
  if (!out) throw core::InputError(fmt::format("{}: write failed", path));
}

void check_conductances(const XbarExperiment& exp, const std::string& path, const Eigen::MatrixXd& G) {
  if ((exp.rows_given && G.rows() != exp.circuit.rows) || (exp.cols_given && G.cols() != exp.circuit.cols))
    throw core::InputError(fmt::format("{} holds a {} x {} array but array.rows x array.cols is {} x {}", path,
                                       G.rows(), G.cols(), exp.circuit.rows, exp.circuit.cols));
  for (Eigen::Index j = 0; j < G.cols(); ++j)
    for (Eigen::Index i = 0; i < G.rows(); ++i)
      if (!(G(i, j) > 0.0))
        throw core::InputError(fmt::format("{}: conductance at row {}, column {} is {:g} S; conductances must be > 0",
                                           path, i + 1, j + 1, G(i, j)));
}

XbarRun run_circuit(const XbarExperiment& exp, const Eigen::MatrixXd& G, const Eigen::MatrixXd& V,
                    core::RunDir& run, const std::string& spice_path) {
  if (!spice_path.empty()) write_spice(spice_path, exp.circuit, G, V.col(0));
  ExactSolver solver(exp.circuit, exact_options(exp));
  const auto t0 = std::chrono::steady_clock::now();
  solver.program(G);
  const double program_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Eigen::MatrixXd I = solver.currents(V);
  const SolveReport report = solver.last_report();
  run.log().info("exact solve: {} input vectors, {} iterations, residual {:.3g}, {:.3f} s", V.cols(),
                 report.iterations, report.residual, report.seconds);
  core::write_csv(run.file("currents.csv"), I.transpose());
  const Eigen::MatrixXd ideal = ideal_currents(G, V);
  XbarRun out;
  if (exp.voltage_map) out.cell_voltage = write_cell_voltage(solver, V.col(0), run);
  const double ratio = ideal.sum() != 0.0 ? I.sum() / ideal.sum() : 1.0;
  nlohmann::json result = {
      {"provenance", run.provenance()},
      {"mode", "circuit"},
      {"circuit", circuit_json(exp.circuit)},
      {"inputs", V.cols()},
      {"solver", report_json(report)},
      {"program_seconds", program_seconds},
      {"current_ratio_to_ideal", ratio},
      {"ideal_error", error_json(output_error(ideal, I))},
      {"approximations", approximations(exp, G, V, I)},
      {"currents_A", rows_of(I.transpose())},
      {"ideal_currents_A", rows_of(ideal.transpose())},
  };
  result["summary"] = fmt::format("{} x {} array, {} inputs: exact column currents are {:.4f} of the ideal product "
                                  "({} iterations, residual {:.2g}, {:.3g} s)",
                                  exp.circuit.rows, exp.circuit.cols, V.cols(), ratio, report.iterations,
                                  report.residual, report.seconds);
  result["provenance"] = run.provenance();
  run.write_json("result.json", result);
  out.result = std::move(result);
  return out;
}

}  // namespace cimlab::xbar
