#pragma once
// `cimlab map CONFIG` (issue 10): a network (zoo or ONNX) mapped onto a chip described by the chip
// sections (array, device, mapping, adc, ..., layers) and the hierarchy (macro, tile, chip, partition,
// pipeline, placement); `chip: {preset: NAME}` takes a chip from configs/chips/.
//
// Config: seed, model {name | onnx, input_shape "CxHxW" for zoo models}, and the sections above at the
// top level. Result JSON (the contract): {model, chip, feasible, totals, layers, placement, provenance}
// plus digital (the nodes on digital units) and, when infeasible, reason and shortfall_arrays.
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/params.hpp"
#include "graph/graph.hpp"
#include "mapper/mapper.hpp"
#include "xbar/chip_config.hpp"

namespace cimlab::flow {

struct MapExperiment {
  std::string model;        // zoo name, or the ONNX file's name
  graph::Graph graph;       // shapes inferred
  xbar::ChipConfig chip;
  mapper::MapSpec spec;
  std::string chip_preset;  // empty when the config names none
  std::uint64_t seed = 1;
  YAML::Node resolved;      // the config with every default filled in
};

// Schemas `cimlab map` reads besides the chip sections (model, run settings, the hierarchy).
std::vector<const core::Schema*> map_schemas();

// The parts of a map config other than the network: sections checked (plus `extra_sections`), chip,
// hierarchy and seed read into exp. Problems go to diags (a missing file or bad --set throws). Returns the
// config with its chip preset applied, for the caller's own sections.
core::ConfigFile read_chip_config(const std::string& path, const std::vector<std::string>& overrides,
                                  const std::vector<std::string>& extra_sections, MapExperiment& exp,
                                  core::Diagnostics& diags);
// The same for a config already parsed (overrides applied), e.g. one design point of a search. `load_chip`,
// when given, replaces xbar::load_chip (a search memoises the chip sections of the points it has seen).
using ChipLoader = std::function<xbar::ChipConfig(const core::ConfigFile& cfg, core::Diagnostics& diags, YAML::Node& resolved)>;
core::ConfigFile read_chip_sections(core::ConfigFile cfg, const std::vector<std::string>& extra_sections,
                                    MapExperiment& exp, core::Diagnostics& diags, const ChipLoader& load_chip = {});
// Validates the `model` section of cfg and builds the network graph into exp (throws as below).
void load_network(const core::ConfigFile& cfg, MapExperiment& exp);

// Loads and validates a map config with `--set` overrides, builds the network graph. Throws
// core::ConfigError listing every problem at once, InputError / ModelError for a bad model file.
MapExperiment load_map_experiment(const std::string& path, const std::vector<std::string>& overrides);

// The chip as the mapping JSON describes it (preset, array, macro, tile, mesh, arrays available).
nlohmann::json chip_json(const MapExperiment& exp);

// The mapping result without provenance: {model, chip, feasible, totals, layers, digital, placement}.
nlohmann::json map_json(const MapExperiment& exp, const mapper::NetworkRequest& net, const mapper::Mapping& m);

// A terminal table: one line per crossbar layer, then the totals.
std::string map_text(const MapExperiment& exp, const mapper::NetworkRequest& net, const mapper::Mapping& m);

}  // namespace cimlab::flow
