// `cimlab silicon [DIR] [--fit KEY,...] [--json] [--out DIR] [--set key=value ...]`: the PPA model against
// published silicon (see flow/silicon.hpp). Runs every config of DIR (default configs/silicon), prints each
// published figure beside the model's and the signed error; --fit first fits the named shared constants on
// the calibration macros and applies them to all. --out writes silicon.json and silicon.csv.
#include <cimlab/version.hpp>
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "core/run_dir.hpp"
#include "flow/silicon.hpp"

namespace cimlab::cli {

namespace {

struct SiliconArgs {
  std::string dir = std::string(CIMLAB_CONFIG_DIR) + "/silicon";
  std::vector<std::string> fit;
  std::string out;
  bool json = false;
  std::vector<std::string> overrides;
};

std::string csv(const std::vector<flow::MacroCheck>& checks) {
  std::string s = "macro,role,kind,figure,published,model,error\n";
  for (const auto& c : checks)
    for (const auto& [name, e] : c.error)
      s += fmt::format("{},{},{},{},{:.8g},{:.8g},{:.6f}\n", c.name, c.ref.role, c.ref.kind, name, c.ref.figures.at(name),
                       c.model.at(name), e);
  return s;
}

int run(const SiliconArgs& a) {
  const std::vector<std::string> paths = flow::silicon_configs(a.dir);
  std::vector<std::string> overrides = a.overrides;
  nlohmann::json fit_json;
  std::string fit_text;
  if (!a.fit.empty()) {
    const flow::FitResult fit = flow::fit_silicon(paths, a.fit, a.overrides);
    overrides.insert(overrides.end(), fit.overrides.begin(), fit.overrides.end());
    fit_json = {{"keys", a.fit}, {"set", fit.overrides}, {"at_bound", fit.at_bound}, {"loss_before", fit.loss_before}, {"loss_after", fit.loss_after},
                {"evaluations", fit.evaluations}};
    fit_text = fmt::format("fit on the calibration macros ({} evaluations): sum of ln(model/published)^2 {:.4g} -> {:.4g}\n",
                           fit.evaluations, fit.loss_before, fit.loss_after);
    for (std::size_t i = 0; i < fit.overrides.size(); ++i)
      fit_text += fmt::format("  --set '{}'{}\n", fit.overrides[i], fit.at_bound[i] ? "   (at the edge of its decade: the model lacks something here)" : "");
  }
  const std::vector<flow::MacroCheck> checks = flow::check_silicon(paths, overrides);
  nlohmann::json out = flow::silicon_json(checks);
  if (!fit_json.is_null()) out["fit"] = fit_json;
  out["provenance"] = {{"cimlab_version", kVersion}, {"git_commit", kGitCommit}, {"command", command_line()}};
  if (!a.out.empty()) {
    core::RunDir dir(a.out, command_line(), 0);
    out["provenance"] = dir.provenance();
    dir.write_json("silicon.json", out);
    dir.write_text("silicon.csv", csv(checks));
  }
  if (a.json) {
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  fmt::print("{}{}", fit_text, flow::silicon_text(checks));
  if (!a.out.empty()) fmt::print("results: {} (silicon.json, silicon.csv)\n", a.out);
  return 0;
}

}  // namespace

Action setup_silicon(CLI::App& app) {
  auto* cmd = app.add_subcommand("silicon", "The PPA model against published silicon macros (configs/silicon)");
  auto a = std::make_shared<SiliconArgs>();
  cmd->add_option("dir", a->dir, "folder of ppa configs with a silicon: section (default configs/silicon)");
  cmd->add_option("--fit", a->fit, "fit these shared constants on the calibration macros first (e.g. circuits.adc.fom)")
      ->delimiter(',');
  cmd->add_option("--out", a->out, "output folder (silicon.json, silicon.csv)");
  cmd->add_flag("--json", a->json, "print the comparison as JSON on stdout");
  cmd->add_option("--set", a->overrides, "override a value in every config: key.path=value (repeatable)");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
