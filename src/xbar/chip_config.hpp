#pragma once
// The config sections that describe one chip's arrays: array (circuit), device, mapping, adc,
// ir_drop, correction and effects. `cimlab xbar` reads them at the top level of its config; the
// accuracy commands (`cimlab eval`, `cimlab run`, HAT training) read the same sections, at the top
// level or once per entry of a list of chips, so one schema serves every command.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/params.hpp"
#include "xbar/array_sim.hpp"

namespace cimlab::xbar {

struct ChipConfig {
  ArraySimSpec array;        // circuit, device, mapping, adc, ir-drop model
  EffectSet effects;         // the non-ideality classes switched on
  core::Params correction;   // validated against correction_schema()
  bool correction_enabled = false;
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

}  // namespace cimlab::xbar
