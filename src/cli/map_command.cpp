// `cimlab map CONFIG [--out DIR] [--json] [--set key=value ...]`: a network mapped onto a chip (see
// flow/map_experiment.hpp). --json prints only the mapping JSON on stdout; --out writes DIR/mapping.json
// beside DIR/config.resolved.yaml. A design that does not fit is a result (feasible: false), exit 0.
#include <cimlab/version.hpp>
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/commands.hpp"
#include "core/run_dir.hpp"
#include "flow/map_experiment.hpp"

namespace cimlab::cli {

namespace {

struct MapArgs {
  std::string config;
  std::string out;
  bool json = false;
  std::vector<std::string> overrides;
};

int run(const MapArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  const flow::MapExperiment exp = flow::load_map_experiment(a.config, a.overrides);
  const mapper::NetworkRequest net = mapper::network_request(exp.graph, exp.chip);
  const mapper::Mapping m = mapper::map_network(net, exp.spec);
  nlohmann::json out = flow::map_json(exp, net, m);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out["provenance"] = {{"cimlab_version", kVersion}, {"git_commit", kGitCommit}, {"command", command_line()},
                       {"seed", exp.seed},           {"wall_seconds", seconds}};
  if (!a.out.empty()) {
    core::RunDir dir(a.out, command_line(), exp.seed);
    dir.write_yaml("config.resolved.yaml", exp.resolved);
    out["provenance"] = dir.provenance();
    dir.write_json("mapping.json", out);
  }
  if (a.json) {
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  fmt::print("{}", flow::map_text(exp, net, m));
  if (!a.out.empty()) fmt::print("results: {} (mapping.json)\n", a.out);
  return 0;
}

}  // namespace

Action setup_map(CLI::App& app) {
  auto* cmd = app.add_subcommand("map", "Map a network onto a chip: arrays, tiles, pipeline, placement");
  auto a = std::make_shared<MapArgs>();
  cmd->add_option("config", a->config, "experiment YAML (model and chip sections)")->required();
  cmd->add_option("--out", a->out, "output folder (mapping.json, config.resolved.yaml)");
  cmd->add_flag("--json", a->json, "print the mapping as JSON on stdout");
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
