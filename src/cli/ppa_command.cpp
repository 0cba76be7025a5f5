// `cimlab ppa CONFIG [--out DIR] [--json] [--set key=value ...]`: energy, latency and area of a mapped
// network or of one macro (see flow/ppa_experiment.hpp). --json prints only the JSON on stdout; --out
// writes DIR/ppa.json, DIR/components.csv and DIR/layers.csv beside DIR/config.resolved.yaml.
#include <cimlab/version.hpp>
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "core/run_dir.hpp"
#include "flow/ppa_experiment.hpp"

namespace cimlab::cli {

namespace {

struct PpaArgs {
  std::string config;
  std::string out;
  bool json = false;
  std::vector<std::string> overrides;
};

std::string csv(const std::vector<std::pair<std::string, ppa::Cost>>& rows) {
  std::string s = "name,energy_j,area_mm2,latency_s,leakage_w\n";
  for (const auto& [name, c] : rows)
    s += fmt::format("{},{:.10g},{:.10g},{:.10g},{:.10g}\n", name, c.energy_j, c.area_m2 * 1e6, c.latency_s, c.leakage_w);
  return s;
}

int run(const PpaArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  const flow::PpaExperiment exp = flow::load_ppa_experiment(a.config, a.overrides);
  const flow::PpaRun result = flow::run_ppa(exp);
  nlohmann::json out = flow::ppa_json(exp, result);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out["provenance"] = {{"cimlab_version", kVersion}, {"git_commit", kGitCommit}, {"command", command_line()},
                       {"seed", exp.map.seed},       {"wall_seconds", seconds}};
  if (!a.out.empty()) {
    core::RunDir dir(a.out, command_line(), exp.map.seed);
    dir.write_yaml("config.resolved.yaml", exp.map.resolved);
    out["provenance"] = dir.provenance();
    dir.write_json("ppa.json", out);
    dir.write_text("components.csv", csv(result.result.components));
    dir.write_text("layers.csv", csv(result.result.layers));
  }
  if (a.json) {
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  fmt::print("{}", flow::ppa_text(exp, result));
  if (!a.out.empty()) fmt::print("results: {} (ppa.json, components.csv, layers.csv)\n", a.out);
  return 0;
}

}  // namespace

Action setup_ppa(CLI::App& app) {
  auto* cmd = app.add_subcommand("ppa", "Energy, latency and area of a mapped network or of one macro");
  auto a = std::make_shared<PpaArgs>();
  cmd->add_option("config", a->config, "experiment YAML (what cimlab map reads, plus technology, circuits, workload)")->required();
  cmd->add_option("--out", a->out, "output folder (ppa.json, components.csv, layers.csv, config.resolved.yaml)");
  cmd->add_flag("--json", a->json, "print the estimate as JSON on stdout");
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
