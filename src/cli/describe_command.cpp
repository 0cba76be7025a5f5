// `cimlab describe [component]`: the parameters each component declares (name, type, unit, default,
// range, description), straight from the declarations that drive validation.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "flow/explore_experiment.hpp"
#include "flow/map_experiment.hpp"
#include "flow/ppa_experiment.hpp"
#include "xbar/experiment.hpp"
#ifdef CIMLAB_HAVE_TORCH
#include "nn/accuracy_run.hpp"
#include "nn/evaluate.hpp"
#include "nn/train.hpp"
#endif

namespace cimlab::cli {

namespace {

void print_schema(const core::Schema& s) {
  fmt::print("{}: {}\n", s.name, s.description);
  std::size_t w = 4;
  for (const auto& p : s.params) w = std::max(w, p.name.size());
  for (const auto& p : s.params) {
    const std::string def = p.required ? "(required)" : p.default_text.empty() ? "-" : p.default_text;
    fmt::print("  {:<{}}  {:<22}  {:<12}  {:<20}  {}\n", p.name, w, p.type_name(), def, p.range_text(),
               p.description);
  }
}

nlohmann::json schema_json(const core::Schema& s) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : s.params)
    params.push_back({{"name", p.name},
                      {"type", p.type_name()},
                      {"unit", std::string(core::unit_symbol(p.dim))},
                      {"default", p.default_text},
                      {"required", p.required},
                      {"range", p.range_text()},
                      {"choices", p.choices},
                      {"description", p.description}});
  return {{"name", s.name}, {"description", s.description}, {"params", params}};
}

}  // namespace

Action setup_describe(CLI::App& app) {
  auto* cmd = app.add_subcommand("describe", "List the configurable components and their parameters");
  auto component = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("component", *component, "component name (e.g. array, device, ir_drop.exact); omit for all");
  cmd->add_flag("--json", *json, "print as JSON");
  return [component, json]() {
    auto schemas = xbar::experiment_schemas();
    for (const auto* s : flow::ppa_schemas()) schemas.push_back(s);
    for (const auto* s : flow::map_schemas())
      if (std::find(schemas.begin(), schemas.end(), s) == schemas.end()) schemas.push_back(s);
    for (const auto* s : flow::explore_schemas()) schemas.push_back(s);
#ifdef CIMLAB_HAVE_TORCH
    for (const auto& extra : {nn::train_schemas(), nn::eval_schemas(), nn::run_schemas()})
      for (const auto* s : extra)
        if (std::find(schemas.begin(), schemas.end(), s) == schemas.end()) schemas.push_back(s);
#endif
    std::vector<const core::Schema*> chosen;
    for (const auto* s : schemas)
      if (component->empty() || s->name == *component || s->name.rfind(*component + ".", 0) == 0) chosen.push_back(s);
    if (chosen.empty()) {
      std::vector<std::string> names;
      for (const auto* s : schemas) names.push_back(s->name);
      const auto hint = core::closest(*component, names);
      throw core::ModelError(fmt::format("unknown component '{}'{}; components: {}", *component,
                                         hint ? fmt::format(" (did you mean '{}'?)", *hint) : "",
                                         fmt::join(names, ", ")));
    }
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto* s : chosen) out.push_back(schema_json(*s));
      std::cout << out.dump(2) << '\n';
      return 0;
    }
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      if (i) fmt::print("\n");
      print_schema(*chosen[i]);
    }
    return 0;
  };
}

}  // namespace cimlab::cli
