// The `explore` section (see explore/search.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "explore/search.hpp"
#include "explore/strategy.hpp"

namespace cimlab::explore {

using core::ParamSpec;

namespace {

const std::vector<std::string> kStructured{"strategy", "objectives", "constraints", "space"};

std::vector<std::string> metric_names(const std::vector<MetricInfo>& metrics) {
  std::vector<std::string> out;
  for (const auto& m : metrics) out.push_back(m.name);
  return out;
}

std::string list_text(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::optional<ObjectiveSpec> read_objective(const YAML::Node& item, const core::Origin& origin,
                                            const std::vector<MetricInfo>& metrics, core::Diagnostics& diags) {
  const YAML::Node name = item.IsMap() ? item["name"] : item;
  if (!name || !name.IsScalar()) {
    diags.add(core::at(item, origin, "'explore.objectives' entries are a metric name or {name, sense}"));
    return std::nullopt;
  }
  const auto it = std::find_if(metrics.begin(), metrics.end(), [&](const MetricInfo& m) { return m.name == name.Scalar(); });
  if (it == metrics.end()) {
    const auto hint = core::closest(name.Scalar(), metric_names(metrics));
    diags.add(core::at(name, origin,
                       fmt::format("'explore.objectives': unknown metric '{}'{}; metrics: {}", name.Scalar(),
                                   hint ? fmt::format(" (did you mean '{}'?)", *hint) : "", list_text(metric_names(metrics)))));
    return std::nullopt;
  }
  ObjectiveSpec o{it->name, it->sense};
  if (item.IsMap()) {
    for (const auto& kv : item)
      if (const std::string k = kv.first.as<std::string>(); k != "name" && k != "sense")
        diags.add(core::at(kv.first, origin, fmt::format("'explore.objectives': unknown key '{}' (name, sense)", k)));
    if (const YAML::Node s = item["sense"]) {
      if (!s.IsScalar() || (s.Scalar() != "min" && s.Scalar() != "max")) {
        diags.add(core::at(s, origin, "'explore.objectives': sense must be min or max"));
        return std::nullopt;
      }
      o.sense = s.Scalar() == "min" ? Sense::kMin : Sense::kMax;
    }
  }
  return o;
}

std::vector<ObjectiveSpec> read_objectives(const YAML::Node& node, const core::Origin& origin,
                                           const std::vector<MetricInfo>& metrics, core::Diagnostics& diags) {
  std::vector<ObjectiveSpec> out;
  if (!node || !node.IsSequence() || node.size() == 0) {
    diags.add(core::at(node, origin,
                       fmt::format("'explore.objectives' must list one or more metrics: {}", list_text(metric_names(metrics)))));
    return out;
  }
  for (const auto& item : node) {
    auto o = read_objective(item, origin, metrics, diags);
    if (!o) continue;
    if (std::any_of(out.begin(), out.end(), [&](const ObjectiveSpec& x) { return x.name == o->name; }))
      diags.add(core::at(item, origin, fmt::format("'explore.objectives': '{}' is listed twice", o->name)));
    else
      out.push_back(*o);
  }
  return out;
}

std::vector<Constraint> read_constraints(const YAML::Node& node, const core::Origin& origin,
                                         const std::vector<MetricInfo>& metrics, core::Diagnostics& diags) {
  std::vector<Constraint> out;
  if (!node) return out;
  if (!node.IsSequence()) {
    diags.add(core::at(node, origin, "'explore.constraints' must be a list of comparisons, e.g. [\"area_mm2 <= 100\"]"));
    return out;
  }
  for (const auto& item : node) {
    if (!item.IsScalar()) {
      diags.add(core::at(item, origin, "'explore.constraints' entries are comparisons written as text"));
      continue;
    }
    try {
      out.emplace_back(item.Scalar(), metric_names(metrics));
    } catch (const core::ConfigError& e) {
      diags.add(core::at(item, origin, e.what()));
    }
  }
  return out;
}

void read_strategy(const YAML::Node& node, const core::Origin& origin, core::Diagnostics& diags, SearchSpec& spec) {
  const YAML::Node type = node && node.IsMap() ? node["type"] : YAML::Node();
  if (!type || !type.IsScalar()) {
    diags.add(core::at(node, origin, fmt::format("'explore.strategy' needs a type: {}", list_text(strategy_names()))));
    return;
  }
  const StrategyEntry* entry = find_strategy(type.Scalar());
  if (!entry) {
    const auto hint = core::closest(type.Scalar(), strategy_names());
    diags.add(core::at(type, origin,
                       fmt::format("'explore.strategy.type': unknown strategy '{}'{}; strategies: {}", type.Scalar(),
                                   hint ? fmt::format(" (did you mean '{}'?)", *hint) : "", list_text(strategy_names()))));
    return;
  }
  spec.strategy = entry->type;
  spec.strategy_params = core::validate(node, entry->schema, "explore.strategy.", origin, diags, {"type"});
  spec.resolved["strategy"] = core::to_yaml(spec.strategy_params, entry->schema);
  spec.resolved["strategy"]["type"] = entry->type;
}

}  // namespace

const core::Schema& explore_schema() {
  static const core::Schema s{
      "explore", "design-space search: strategy, objectives, constraints and the space (cimlab explore)",
      {ParamSpec::integer("seed", "", "seed of the strategy's random draws (default: the experiment's seed)").at_least(0),
       ParamSpec::integer("threads", "0", "worker threads per process; 0 = one per core").at_least(0).at_most(4096)}};
  return s;
}

SearchSpec load_search(const YAML::Node& section, const core::Origin& origin, const std::vector<MetricInfo>& metrics,
                       std::uint64_t default_seed, core::Diagnostics& diags) {
  SearchSpec spec;
  spec.resolved = YAML::Node(YAML::NodeType::Map);
  if (!section || !section.IsMap()) {
    diags.add(core::at(section, origin, "the experiment needs an 'explore' section: strategy, objectives, space"));
    return spec;
  }
  const core::Params top = core::validate(section, explore_schema(), "explore.", origin, diags, kStructured);
  spec.seed = top.has("seed") ? static_cast<std::uint64_t>(top.integer("seed")) : default_seed;
  spec.threads = top.has("threads") ? static_cast<int>(top.integer("threads")) : 0;
  spec.resolved["seed"] = spec.seed;
  spec.resolved["threads"] = spec.threads;
  read_strategy(section["strategy"], origin, diags, spec);
  spec.objectives = read_objectives(section["objectives"], origin, metrics, diags);
  spec.constraints = read_constraints(section["constraints"], origin, metrics, diags);
  spec.space = parse_space(section["space"], origin, "explore.space.", diags);
  for (const char* k : {"objectives", "constraints", "space"})
    if (section[k]) spec.resolved[k] = section[k];
  if (diags.empty()) {  // a strategy that does not fit the space (a grid over a continuous range)
    try {
      find_strategy(spec.strategy)->make(StrategyContext{&spec.space, spec.objectives.size(), spec.seed, spec.strategy_params});
    } catch (const core::ConfigError& e) {
      diags.add(core::at(section["strategy"], origin, e.what()));
    }
  }
  return spec;
}

}  // namespace cimlab::explore
