// `cimlab eval CONFIG [--out DIR] [--set k=v ...]`: Monte-Carlo accuracy of a trained model over analog
// chip instances, with an error budget (see nn/evaluate.hpp). The run folder receives
// config.resolved.yaml, result.json, accuracy.csv (effect,chip,accuracy) and log.txt; a table goes to
// stdout. Built only with LibTorch.
#ifdef CIMLAB_HAVE_TORCH
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "core/run_dir.hpp"
#include "nn/evaluate.hpp"

namespace cimlab::cli {

namespace {

struct EvalArgs {
  std::string config;
  std::string out = "runs/eval";
  std::vector<std::string> overrides;
};

// effect,chip,accuracy: the "all" rows always, each effect alone when the budget was run.
std::string accuracy_csv(const nn::EvalResult& r) {
  std::string csv = "effect,chip,accuracy\n";
  auto rows = [&](const std::string& effect, const nn::ChipStats& s) {
    for (std::size_t i = 0; i < s.per_chip.size(); ++i) csv += fmt::format("{},{},{:.6f}\n", effect, i, s.per_chip[i]);
  };
  if (r.budget.empty()) rows("all", r.analog);
  for (const nn::BudgetRow& row : r.budget) rows(row.effect, row.stats);
  return csv;
}

void print_table(const nn::EvalResult& r, std::size_t chips) {
  fmt::print("float accuracy  {:.2f}% on {} test images\n", 100 * r.float_accuracy, r.images);
  fmt::print("analog ({} chips): mean {:.2f}% (95% CI {:.2f} to {:.2f}%)  std {:.2f}%  p5 {:.2f}%  ratio to float "
             "{:.4f}\n",
             chips, 100 * r.analog.mean, 100 * r.analog.ci95_low, 100 * r.analog.ci95_high, 100 * r.analog.std,
             100 * r.analog.p5, r.float_accuracy > 0 ? r.analog.mean / r.float_accuracy : 0.0);
  if (r.budget.empty()) return;
  fmt::print("\nerror budget (each effect alone; all = every configured effect)\n");
  fmt::print("  {:<14} {:>8} {:>8} {:>8} {:>10}\n", "effect", "mean", "std", "p5", "drop");
  for (const nn::BudgetRow& row : r.budget)
    fmt::print("  {:<14} {:>7.2f}% {:>7.2f}% {:>7.2f}% {:>9.2f}%\n", row.effect, 100 * row.stats.mean,
               100 * row.stats.std, 100 * row.stats.p5, 100 * (r.float_accuracy - row.stats.mean));
}

int run(const EvalArgs& a) {
  const nn::EvalConfig cfg = nn::load_eval_config(a.config, a.overrides);
  core::RunDir run(a.out, command_line(), cfg.seed);
  run.write_yaml("config.resolved.yaml", cfg.resolved);
  fmt::print("evaluating {} ({}) on {}: {} chips, {} fidelity\n", cfg.model.name,
             cfg.checkpoint.empty() ? cfg.model.onnx : cfg.checkpoint, cfg.dataset.name, cfg.eval.chips, cfg.fidelity);
  std::fflush(stdout);
  nn::EvalOptions options;
  options.log = &run.log();
  const nn::EvalResult r = nn::evaluate(cfg, options);
  nlohmann::json result = nn::to_json(r);
  result["model"] = cfg.model.name;
  result["dataset"] = cfg.dataset.name;
  result["provenance"] = run.provenance();
  run.write_json("result.json", result);
  run.write_text("accuracy.csv", accuracy_csv(r));
  print_table(r, r.analog.per_chip.size());
  fmt::print("\n{:.1f} s; results: {} (result.json, accuracy.csv)\n", r.seconds, run.path());
  return 0;
}

}  // namespace

Action setup_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Accuracy of a trained model over Monte-Carlo chip instances, with an error budget");
  auto a = std::make_shared<EvalArgs>();
  cmd->add_option("config", a->config, "evaluation YAML")->required();
  cmd->add_option("--out", a->out, "output folder")->capture_default_str();
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
#endif  // CIMLAB_HAVE_TORCH
