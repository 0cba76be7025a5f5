#pragma once
// The config sections that describe one chip's arrays: array (circuit), device, mapping, adc,
// ir_drop, correction and effects. `cimlab xbar` reads them at the top level of its config; the
// accuracy commands (`cimlab eval`, `cimlab run`, HAT training) read the same sections, at the top
// level or once per entry of a list of chips, so one schema serves every command.
//
// Per-layer settings: the `layers:` section maps a layer name or a glob pattern (fnmatch: * ? [...]) to
// chip sections that replace the chip's own for the layers it matches, and `digital: true` keeps those
// layers off the crossbars, e.g.
//   layers: {conv1: {digital: true}, "fc*": {adc: {bits: 8}, mapping: {weight_bits: 8}}}
// Every entry that matches a layer applies, in the order written (a later entry wins a key both set).
// The arrays of a chip are all one size: array.rows and array.cols cannot be set per layer. The mapper,
// the PPA model and the accuracy engine resolve a layer's chip through chip_for_layer().
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/params.hpp"
#include "xbar/array_sim.hpp"

namespace cimlab::xbar {

// One entry of `layers:`: its pattern, its digital flag and the chip sections it sets (as written).
struct LayerRule {
  std::string pattern;
  bool digital = false;
  bool sets_digital = false;  // the entry says `digital:` (true or false)
  YAML::Node sections;        // the entry without `digital`
};

struct ChipConfig {
  ArraySimSpec array;        // circuit, device, mapping, adc, ir-drop model
  EffectSet effects;         // the non-ideality classes switched on
  core::Params correction;   // validated against correction_schema()
  bool correction_enabled = false;
  std::vector<LayerRule> layer_rules;  // the `layers:` section, in the order written
  YAML::Node sections;                 // the chip sections as written (for chip_for_layer)
  core::Origin origin;
  std::string prefix;                  // e.g. "chips.rram.", for messages
};

// The chip one layer sees: the chip with every matching rule applied (no rules of its own left).
struct LayerChip {
  ChipConfig chip;
  bool digital = false;               // kept off the crossbars (runs on digital units, in float)
  std::vector<std::string> patterns;  // the rules that matched, in order
};

// Section names in the order they are read.
const std::vector<std::string>& chip_section_names();
// Schemas of the chip sections (the ir_drop.<type> schemas included), for `cimlab describe`.
std::vector<const core::Schema*> chip_schemas();

// Reads the chip sections of the map `root` (a missing section takes its defaults; device defaults to
// the RRAM preset as in `cimlab xbar`). Every problem goes to diags (keys named with `prefix`, e.g.
// "chips[1]." for list entries); the resolved sections are written into `resolved`. The returned
// config is complete only when no diagnostic was added.
ChipConfig load_chip(const YAML::Node& root, const core::Origin& origin, const std::string& prefix,
                     core::Diagnostics& diags, YAML::Node& resolved);

// The chip of layer `layer` (a graph node / torch module name). A combination of rules that no single
// rule had (cross-field problems) throws core::ConfigError. Cheap when no rule matches (a copy).
LayerChip chip_for_layer(const ChipConfig& chip, const std::string& layer);
// Whether `pattern` matches `name` (fnmatch, no special meaning for '/' or '.').
bool layer_matches(const std::string& pattern, const std::string& name);
// Throws core::ConfigError naming each rule that matches none of `layers` (a typo would otherwise be
// silently ignored), listing the layer names.
void check_layer_rules(const ChipConfig& chip, const std::vector<std::string>& layers);

}  // namespace cimlab::xbar
