#pragma once
// `cimlab explore CONFIG` (issue 12): a design-space search over any keys of a `cimlab ppa` experiment.
// CONFIG is a ppa config (model, chip sections, hierarchy, technology, circuits, workload) plus an
// `explore` section (explore/search.hpp: strategy, objectives, constraints, space). Each design point is
// the config with the point's keys set, validated by the same schemas as a hand-written config (an
// invalid combination is a rejected point with the validator's messages), mapped and estimated in
// process: no process launches and no files per point. The network graph is built once and shared.
//
// Metrics (PpaObjective): the PPA totals (area_mm2, energy_per_inference_j, latency_s,
// throughput_inferences_per_s, tops, tops_per_w, tops_per_mm2, leakage_w), edp_j_s (energy x latency),
// and the mapping's arrays, tiles and utilisation. A design the mapper cannot fit is rejected
// ("infeasible: ..."). The placement is the config's own (`placement.method`), so that a point's metrics
// are what `cimlab ppa` reports for its config; `placement: {method: snake}` is the fast choice.
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "explore/objective.hpp"
#include "explore/search.hpp"

namespace cimlab::flow {

struct ExploreExperiment {
  core::ConfigFile base;          // the config as written, overrides applied, without `explore`
  explore::SearchSpec search;
  std::uint64_t seed = 1;
  std::string fingerprint;        // of the config and overrides: a resumed search must have the same
  YAML::Node resolved;            // the base config resolved, plus the resolved `explore` section
};

// Loads CONFIG with `--set` overrides; validates the explore section, the base config, and the space's keys
// (a key no schema declares, found on the first point). Throws core::ConfigError listing every problem.
ExploreExperiment load_explore_experiment(const std::string& path, const std::vector<std::string>& overrides);

// The PPA roll-up as the search's objective. Thread-safe (each worker makes its own Evaluator).
std::unique_ptr<explore::Objective> make_ppa_objective(const ExploreExperiment& exp);
std::vector<explore::MetricInfo> ppa_metrics();
// The `explore` section's schema and each strategy's (for `cimlab describe`).
std::vector<const core::Schema*> explore_schemas();

// A point's complete experiment config (the base with its keys set; relative model paths made absolute),
// as `cimlab ppa` reads it.
YAML::Node point_config(const ExploreExperiment& exp, const explore::Point& point);

}  // namespace cimlab::flow
