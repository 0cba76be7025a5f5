#pragma once
// The `technology:` section (issue 11): a CMOS node's constants, SI units. `node: 22nm` takes
// configs/tech/22nm.yaml ($CIMLAB_CONFIG_DIR/tech when set; each value cites its source in that file), and
// any key below overrides it. Per-length values are per micrometre of wire or transistor width.
// The node's constants hold at its nominal supply `vdd`; `supply` runs the chip at another voltage
// (silicon macros report voltage sweeps): at_supply() rescales switching energies by (V / vdd)^2,
// leakage by V / vdd and delays by the alpha-power law (Sakurai and Newton, IEEE JSSC 25(2):584, 1990,
// alpha = 1.3 for short-channel devices) around the threshold `vth`.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/params.hpp"

namespace cimlab::ppa {

struct TechSpec {
  std::string node;                    // preset name, e.g. "22nm"; empty when none
  double feature_size = 22e-9;         // m
  double vdd = 0.8;                    // V, nominal supply (the constants below hold at it)
  double supply = 0.8;                 // V, operating supply (= vdd unless set)
  double energy_scale = 1;             // (supply / nominal vdd)^2, set by at_supply: for energies quoted at vdd
  double vth = 0.3;                    // V, threshold voltage (delay scaling with the supply)
  double fo4_delay = 10e-12;           // s
  double gate_capacitance_per_um = 1e-15;   // F per um of transistor width
  double wire_capacitance_per_um = 0.2e-15; // F per um
  double wire_resistance_per_um = 5.0;      // ohm per um
  double sram_cell_area = 0.1e-12;     // m2, one 6T bit cell
  double nand2_area = 0.2e-12;         // m2, one NAND2-equivalent gate
  double gate_energy = 0.1e-15;        // J per NAND2-equivalent switching event
  double leakage_per_gate = 1e-9;      // W per NAND2-equivalent gate
  double dff_energy = 1e-15;           // J per flip-flop toggle
};

const core::Schema& technology_schema();
std::string tech_presets_dir();
std::vector<std::string> tech_preset_names();

// Reads root["technology"] (preset merged under its own keys). Problems go to diags; the resolved section
// (preset values filled in) goes to resolved["technology"].
// The technology at its operating supply: energies, leakage and delays scaled from vdd to supply (see
// above); `vdd` becomes the supply. Identity when supply == vdd.
TechSpec at_supply(const TechSpec& t);

TechSpec load_technology(const YAML::Node& root, const core::Origin& origin, core::Diagnostics& diags,
                         YAML::Node& resolved);

}  // namespace cimlab::ppa
