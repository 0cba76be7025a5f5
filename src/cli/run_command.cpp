// `cimlab run CONFIG [--out DIR] [--set k=v ...] [--resume]`: the default experiment (make demo):
// float -> analog -> hat -> hat_wmc on each configured chip (see nn/accuracy_run.hpp). The run folder
// receives accuracy.json, accuracy.csv, result.json, report.html, log.txt, config.resolved.yaml and
// the training folders. Built only with LibTorch.
#ifdef CIMLAB_HAVE_TORCH
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "core/run_dir.hpp"
#include "nn/accuracy_run.hpp"
#include "report/accuracy_report.hpp"

namespace cimlab::cli {

namespace {

struct RunArgs {
  std::string config;
  std::string out = "runs/run";
  std::vector<std::string> overrides;
  bool resume = false;
};

int run(const RunArgs& a) {
  const nn::RunConfig cfg = nn::load_run_config(a.config, a.overrides);
  core::RunDir run(a.out, command_line(), cfg.float_spec.seed, a.resume);
  run.write_yaml("config.resolved.yaml", cfg.resolved);
  fmt::print("{} on {}: float -> analog -> hat -> hat_wmc on {} chip(s), {} chip instances each ({} fidelity)\n",
             cfg.float_spec.model.name, cfg.float_spec.dataset.name, cfg.chips.size(), cfg.eval.chips, cfg.fidelity);
  std::fflush(stdout);
  nn::RunOptions options;
  options.resume = a.resume;
  options.log = &run.log();
  options.on_row = [](const nn::AccuracyRow& r) {
    fmt::print("  {:<12} {:<8} mean {:6.2f}% (95% CI {:.2f} to {:.2f}%; {} images, {} chips)  std {:5.2f}%  "
               "p5 {:6.2f}%  ratio to float {:.4f}\n",
               r.device, r.stage, 100 * r.mean, 100 * r.ci95_low, 100 * r.ci95_high, r.images, r.chips, 100 * r.std,
               100 * r.p5, r.ratio_to_float);
    std::fflush(stdout);
  };
  const nn::RunResult r = nn::run_accuracy(cfg, run.path(), options);
  nlohmann::json rows = nlohmann::json::array(), full = nlohmann::json::array();
  std::string csv =
      "model,dataset,device,stage,mean,std,p5,ratio_to_float,ci95_low,ci95_high,images,chips,float_of_stage_model\n";
  for (const nn::AccuracyRow& row : r.rows) {
    rows.push_back(nn::to_json(row));
    nlohmann::json j = nn::to_json(row);
    j["per_chip"] = row.per_chip;
    full.push_back(j);
    csv += fmt::format("{},{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{},{},{:.6f}\n", row.model, row.dataset,
                       row.device, row.stage, row.mean, row.std, row.p5, row.ratio_to_float, row.ci95_low,
                       row.ci95_high, row.images, row.chips, row.float_of_stage_model);
  }
  run.write_json("accuracy.json", rows);
  run.write_text("accuracy.csv", csv);
  const nlohmann::json result{{"rows", full}, {"details", r.details}, {"seconds", r.seconds},
                              {"provenance", run.provenance()}};
  run.write_json("result.json", result);
  run.write_text("report.html", report::accuracy_report(result));
  fmt::print("\n{}", nn::accuracy_table(r.rows));
  fmt::print("results: {} (accuracy.json, report.html) in {:.0f} s\n", run.path(), r.seconds);
  return 0;
}

}  // namespace

Action setup_run(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "run", "The default experiment: float -> analog -> HAT -> HAT+WMC accuracy of a zoo model on each chip");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("config", a->config, "experiment YAML (e.g. configs/examples/demo.yaml)")->required();
  cmd->add_option("--out", a->out, "output folder")->capture_default_str();
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  cmd->add_flag("--resume", a->resume, "continue a killed run in OUT: finished stages are kept");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
#endif  // CIMLAB_HAVE_TORCH
