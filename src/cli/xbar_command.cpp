// `cimlab xbar CONFIG`: simulate one crossbar array (see xbar/experiment.hpp).
//   --conductances G.csv --inputs V.csv : circuit mode, exact column currents to DIR/currents.csv
//   --spice out.cir                     : also write the array as an ngspice netlist
#include <fmt/format.h>


#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "core/matrix_io.hpp"
#include "core/run_dir.hpp"
#include "report/xbar_report.hpp"
#include "xbar/experiment.hpp"

namespace cimlab::cli {

namespace {

struct XbarArgs {
  std::string config;
  std::string out = "runs/xbar";
  std::string conductances;
  std::string inputs;
  std::string spice;
  std::vector<std::string> overrides;
};

int run(const XbarArgs& a) {
  xbar::XbarExperiment exp = xbar::load_xbar_experiment(a.config, a.overrides);
  if (a.conductances.empty() != a.inputs.empty())
    throw core::ConfigError("--conductances and --inputs go together (circuit mode needs both)");
  core::RunDir run(a.out, command_line(), exp.seed);
  run.write_yaml("config.resolved.yaml", exp.resolved);
  xbar::XbarRun result;
  if (!a.conductances.empty()) {
    const Eigen::MatrixXd G = core::read_matrix(a.conductances);
    xbar::check_conductances(exp, a.conductances, G);
    exp.circuit.rows = static_cast<int>(G.rows());
    exp.circuit.cols = static_cast<int>(G.cols());
    const Eigen::MatrixXd V = core::read_matrix(a.inputs).transpose();
    if (V.rows() != G.rows())
      throw core::InputError(fmt::format("{}: each line must hold {} row voltages (one per array row), found {}",
                                         a.inputs, G.rows(), V.rows()));
    result = xbar::run_circuit(exp, G, V, run, a.spice);
  } else {
    result = xbar::run_weights(exp, run, a.spice);
  }
  report::write_xbar_report(run.file("report.html"), result.result,
                            result.cell_voltage.size() ? &result.cell_voltage : nullptr);
  fmt::print("{}\n", result.result.value("summary", std::string()));
  fmt::print("results: {} (report.html, result.json)\n", run.path());
  return 0;
}

}  // namespace

Action setup_xbar(CLI::App& app) {
  auto* cmd = app.add_subcommand("xbar", "Simulate one crossbar array: non-idealities, IR drop, correction");
  auto a = std::make_shared<XbarArgs>();
  cmd->add_option("config", a->config, "experiment YAML")->required();
  cmd->add_option("--out", a->out, "output folder")->capture_default_str();
  cmd->add_option("--conductances", a->conductances, "CSV/NPY of R x C cell conductances (S): circuit mode");
  cmd->add_option("--inputs", a->inputs, "CSV/NPY, one vector of R row voltages (V) per line: circuit mode");
  cmd->add_option("--spice", a->spice, "also write the array as an ngspice netlist to this file");
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
