#pragma once
// `cimlab ppa CONFIG` (issue 11): energy, latency and area of a network mapped by `cimlab map` (the same
// config, plus `technology`, `circuits` and `workload`), or of one macro on repeated matrix-vector
// products (`workload: {type: mvm, rows, cols, input_bits, weight_bits, input_density}`, no model), as
// silicon macros are reported.
// Result JSON (the contract): {model, chip, feasible, totals, components, layers, provenance}; see
// ppa/estimate.hpp for the keys of totals, components and layers. `mapping` holds the mapping as
// `cimlab map` reports it; `silicon` the published figures and the model's signed errors when the
// config has a `silicon:` section (flow/silicon.hpp).
// mvm workload: `vectors` independent products per inference (default 1); with pipeline.mode latency
// the layer is copied onto that many arrays, as a multi-core chip runs all its cores at once.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "flow/map_experiment.hpp"
#include "flow/silicon.hpp"
#include "ppa/estimate.hpp"

namespace cimlab::flow {

struct PpaExperiment {
  MapExperiment map;                // chip, hierarchy, network (empty graph for an mvm workload)
  ppa::PpaSpec ppa;
  bool mvm = false;                 // workload type mvm: one macro on repeated matrix-vector products
  mapper::NetworkRequest mvm_net;   // the mvm workload as a one-layer network
  bool has_silicon = false;         // the config has a `silicon:` section (published figures)
  SiliconReference silicon;
};

std::vector<const core::Schema*> ppa_schemas();  // technology, circuits, workload, silicon

// The PPA sections of a config, validated (problems to diags, resolved values into resolved): the
// technology at its operating supply, the circuits, the workload's values and the silicon reference.
// One reading for `cimlab ppa` and every point of `cimlab explore`.
struct PpaSections {
  ppa::TechSpec tech;
  ppa::CircuitSpec circuits;
  core::Params workload;
  SiliconReference silicon;
  bool has_silicon = false;
};
PpaSections load_ppa_sections(const core::ConfigFile& cfg, core::Diagnostics& diags, YAML::Node& resolved);

// Loads and validates a ppa config with `--set` overrides. Throws ConfigError listing every problem.
PpaExperiment load_ppa_experiment(const std::string& path, const std::vector<std::string>& overrides);

struct PpaRun {
  mapper::NetworkRequest net;
  mapper::Mapping mapping;
  ppa::PpaResult result;
};

PpaRun run_ppa(const PpaExperiment& exp);

// {model, chip, feasible, totals, components, layers, mapping} (provenance added by the caller).
nlohmann::json ppa_json(const PpaExperiment& exp, const PpaRun& run);
std::string ppa_text(const PpaExperiment& exp, const PpaRun& run);

}  // namespace cimlab::flow
