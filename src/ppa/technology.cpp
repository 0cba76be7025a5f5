// The technology section and its node presets (see ppa/technology.hpp).
#include "ppa/technology.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "core/config.hpp"
#include "core/presets.hpp"

namespace cimlab::ppa {

namespace fs = std::filesystem;
using core::Dim;
using core::ParamSpec;

const core::Schema& technology_schema() {
  static const core::Schema s{
      "technology", "the CMOS node: supply, delays, capacitances, areas ('node' takes configs/tech/<node>.yaml)",
      {ParamSpec::string("node", "", "a node preset (e.g. 22nm); its values sit under the keys given here"),
       ParamSpec::real("feature_size", Dim::kLength, "", "feature size F").above(0).at_most(1e-5).mandatory(),
       ParamSpec::real("vdd", Dim::kVoltage, "", "nominal supply").above(0).at_most(5).mandatory(),
       ParamSpec::real("fo4_delay", Dim::kTime, "", "fan-out-of-4 inverter delay").above(0).at_most(1e-8).mandatory(),
       ParamSpec::real("gate_capacitance_per_um", Dim::kCapacitance, "", "gate capacitance per um of transistor width")
           .above(0).at_most(1e-12).mandatory(),
       ParamSpec::real("wire_capacitance_per_um", Dim::kCapacitance, "", "wire capacitance per um of length")
           .above(0).at_most(1e-12).mandatory(),
       ParamSpec::real("wire_resistance_per_um", Dim::kResistance, "", "wire resistance per um of length")
           .above(0).at_most(1e6).mandatory(),
       ParamSpec::real("sram_cell_area", Dim::kArea, "", "6T SRAM bit cell").above(0).at_most(1e-9).mandatory(),
       ParamSpec::real("nand2_area", Dim::kArea, "", "one NAND2-equivalent gate").above(0).at_most(1e-9).mandatory(),
       ParamSpec::real("gate_energy", Dim::kEnergy, "", "energy of one NAND2-equivalent switching event")
           .above(0).at_most(1e-12).mandatory(),
       ParamSpec::real("leakage_per_gate", Dim::kPower, "", "leakage of one NAND2-equivalent gate")
           .at_least(0).at_most(1e-3).mandatory(),
       ParamSpec::real("dff_energy", Dim::kEnergy, "", "energy of one flip-flop toggle").above(0).at_most(1e-12).mandatory()}};
  return s;
}

std::string tech_presets_dir() { return core::presets_dir("tech"); }
std::vector<std::string> tech_preset_names() { return core::preset_names("tech"); }

namespace {

// The section with its node preset underneath (the preset's own problems reported against its file).
YAML::Node with_preset(const YAML::Node& section, const core::Origin& origin, core::Diagnostics& diags) {
  if (!section || !section.IsMap() || !section["node"]) return section;
  const YAML::Node node = section["node"];
  const std::string name = node.IsScalar() ? node.Scalar() : "";
  const fs::path path = fs::path(tech_presets_dir()) / (name + ".yaml");
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    const auto hint = core::closest(name, tech_preset_names());
    diags.add(core::at(node, origin,
                       fmt::format("unknown technology node '{}'{}; nodes: {}", name,
                                   hint ? fmt::format(" (did you mean '{}'?)", *hint) : "",
                                   fmt::join(tech_preset_names(), ", "))));
    return section;
  }
  try {
    const core::ConfigFile preset = core::load_config(path.string());
    core::Diagnostics own;
    core::validate(preset.root, technology_schema(), "technology.", preset.origin, own, {"node"});
    for (const auto& d : own.items()) diags.add(d);
    return core::merge(preset.root, section);
  } catch (const core::ConfigError& e) {
    for (const auto& d : e.diagnostics()) diags.add(d);
    return section;
  }
}

}  // namespace

TechSpec load_technology(const YAML::Node& root, const core::Origin& origin, core::Diagnostics& diags,
                         YAML::Node& resolved) {
  const std::size_t before = diags.items().size();
  const YAML::Node section = with_preset(root["technology"], origin, diags);
  if (diags.items().size() != before) return {};
  if (!section || !section.IsMap()) {
    diags.add(core::at(root["technology"] ? root["technology"] : root, origin,
                       fmt::format("'technology' must name a node, e.g. technology: {{node: 22nm}} (nodes: {})",
                                   fmt::join(tech_preset_names(), ", "))));
    return {};
  }
  const core::Params p = core::validate(section, technology_schema(), "technology.", origin, diags);
  if (diags.items().size() != before) return {};
  resolved["technology"] = core::to_yaml(p, technology_schema());
  TechSpec t;
  if (p.has("node")) t.node = p.str("node");
  t.feature_size = p.real("feature_size");
  t.vdd = p.real("vdd");
  t.fo4_delay = p.real("fo4_delay");
  t.gate_capacitance_per_um = p.real("gate_capacitance_per_um");
  t.wire_capacitance_per_um = p.real("wire_capacitance_per_um");
  t.wire_resistance_per_um = p.real("wire_resistance_per_um");
  t.sram_cell_area = p.real("sram_cell_area");
  t.nand2_area = p.real("nand2_area");
  t.gate_energy = p.real("gate_energy");
  t.leakage_per_gate = p.real("leakage_per_gate");
  t.dff_energy = p.real("dff_energy");
  return t;
}

}  // namespace cimlab::ppa
