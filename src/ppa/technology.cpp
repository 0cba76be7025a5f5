// The technology section and its node presets (see ppa/technology.hpp).
#include "ppa/technology.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
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
       ParamSpec::real("vdd", Dim::kVoltage, "", "nominal supply (the node's constants hold at it)").above(0).at_most(5).mandatory(),
       ParamSpec::real("supply", Dim::kVoltage, "", "operating supply (default vdd): energies scale with its square, delays by the alpha-power law")
           .above(0).at_most(5),
       ParamSpec::real("vth", Dim::kVoltage, "0.3 V", "threshold voltage, for the delay's dependence on the supply").at_least(0).below(5),
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
       ParamSpec::real("off_current_per_um", Dim::kCurrent, "1 nA",
                       "off-state leakage current per um of transistor width (at vdd); a gate leaks through two devices of "
                       "width 3F (calibrated: docs/validation.md)")
           .at_least(0).at_most(1e-3),
       ParamSpec::real("leakage_per_gate", Dim::kPower, "", "leakage of one NAND2-equivalent gate (default: from off_current_per_um)")
           .at_least(0).at_most(1e-3),
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
  t.supply = p.has("supply") ? p.real("supply") : t.vdd;
  t.vth = p.real("vth");
  if (t.supply <= t.vth)
    diags.add(core::at(root["technology"], origin,
                       fmt::format("technology.supply {} must exceed the threshold vth {}", core::format_quantity(t.supply, Dim::kVoltage),
                                   core::format_quantity(t.vth, Dim::kVoltage))));
  t.fo4_delay = p.real("fo4_delay");
  t.gate_capacitance_per_um = p.real("gate_capacitance_per_um");
  t.wire_capacitance_per_um = p.real("wire_capacitance_per_um");
  t.wire_resistance_per_um = p.real("wire_resistance_per_um");
  t.sram_cell_area = p.real("sram_cell_area");
  t.nand2_area = p.real("nand2_area");
  t.gate_energy = p.real("gate_energy");
  // Two devices of width 3F off at vdd (the rule the node files used to state per node).
  t.leakage_per_gate = p.has("leakage_per_gate") ? p.real("leakage_per_gate")
                                                 : p.real("off_current_per_um") * 2.0 * 3.0 * t.feature_size * 1e6 * t.vdd;
  t.dff_energy = p.real("dff_energy");
  return t;
}

// Alpha-power law (Sakurai and Newton 1990): delay ~ V / (V - Vth)^1.3.
TechSpec at_supply(const TechSpec& t) {
  if (t.supply == t.vdd) return t;
  constexpr double kAlpha = 1.3;
  const double v = t.supply / t.vdd;
  const auto delay = [&](double supply) { return supply / std::pow(supply - t.vth, kAlpha); };
  TechSpec s = t;
  s.vdd = t.supply;
  s.energy_scale = v * v;
  s.gate_energy *= v * v;
  s.dff_energy *= v * v;
  s.leakage_per_gate *= v;
  s.fo4_delay *= delay(t.supply) / delay(t.vdd);
  return s;
}

}  // namespace cimlab::ppa
