// Circuit components and their costs per action (see ppa/circuits.hpp).
#include "ppa/circuits.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/config.hpp"

namespace cimlab::ppa {

using core::Dim;
using core::ParamSpec;

const core::Schema& circuits_schema() {
  static const core::Schema s{
      "circuits", "the circuit components' parameters (PPA); defaults are modelling choices stated in ppa/circuits.cpp, four of them calibrated on silicon (docs/validation.md)",
      {ParamSpec::real("cell.area_f2", Dim::kNone, "12", "one cell's footprint in F^2 (1T1R ~6-12, crossbar 4)").at_least(1).at_most(1e4),
       ParamSpec::real("array.read_time", Dim::kTime, "10 ns", "one input digit's read of an array (row pulse)").above(0).at_most(1e-3),
       ParamSpec::real("array.bitline_swing", Dim::kVoltage, "0 V",
                       "a column line's voltage swing per read (0: clamped at virtual ground, current-mode sensing; "
                       "precharged or charge-domain columns swing)").at_least(0).at_most(5),
       ParamSpec::real("array.wordline_voltage", Dim::kVoltage, "0 V",
                       "swing of a word line (the access devices' gates); 0 = the supply").at_least(0).at_most(10),
       ParamSpec::choice("array.sensing", {"current", "charge", "voltage"}, "current",
                         "current: DC read current through the cells (V^2 G t); charge: per-cell compute capacitors "
                         "(charge-domain SRAM macros, C V^2 per active cell); voltage: the columns settle on the "
                         "sense capacitors (no DC current; only the lines' charging, array.bitline_swing)"),
       ParamSpec::real("cell.capacitance", Dim::kCapacitance, "10 fF", "effective compute capacitance per cell, its wiring included (charge sensing; calibrated: docs/validation.md)")
           .at_least(0).at_most(1e-12),
       ParamSpec::choice("adc.type", {"sar", "flash", "ramp"}, "sar", "ADC architecture"),
       ParamSpec::real("adc.fom", Dim::kEnergy, "9.3 fJ",
                       "Walden figure of merit of a SAR conversion step at the node's nominal supply (calibrated: docs/validation.md)").above(0).at_most(1e-9),
       ParamSpec::real("adc.enob_loss", Dim::kNone, "0.5", "bits lost to noise and distortion: ENOB = bits - loss").at_least(0).below(4),
       ParamSpec::real("adc.area_fixed", Dim::kArea, "300 um2", "ADC area independent of resolution").at_least(0).at_most(1e-6),
       ParamSpec::real("adc.area_per_level", Dim::kArea, "2 um2", "ADC area per code level (capacitor DAC unit, comparator)").at_least(0).at_most(1e-6),
       ParamSpec::real("adc.decision_fo4", Dim::kNone, "10", "one comparator decision, in FO4 delays").above(0).at_most(1e4),
       ParamSpec::real("adc.sample_capacitance", Dim::kCapacitance, "200 fF",
                       "the sample-and-hold (or integrating) capacitor charged once per conversion, C V_dd^2 whatever "
                       "the resolution (calibrated: docs/validation.md)").at_least(0).at_most(1e-9),
       ParamSpec::real("adc.conversion_time", Dim::kTime, "0 s",
                       "one conversion, when the converter's published time is known (0: decisions x FO4 delays)").at_least(0).at_most(1e-3),
       ParamSpec::boolean("adc.sample_hold", "false",
                          "a sample-and-hold per column: the next read overlaps the conversions (an array step takes the "
                          "longer of the two instead of their sum)"),
       ParamSpec::choice("driver.coding", {"level", "count", "width"}, "level",
                         "an input digit as an amplitude from a DAC (level), up to 2^b - 1 unit pulses of array.read_time "
                         "(count) or one pulse up to 2^b - 1 of them long (width, PWM); count and width read "
                         "workload.input_density as the mean digit over full scale"),
       ParamSpec::real("driver.dac_gates_per_bit", Dim::kNone, "100",
                       "level coding of multi-bit digits: NAND2-equivalent switching per DAC bit per activation (calibrated: "
                       "docs/validation.md)")
           .at_least(0).at_most(1e6),
       ParamSpec::real("driver.gates", Dim::kNone, "10", "NAND2 equivalents per row driver (level shifter and buffer)").at_least(0).at_most(1e5),
       ParamSpec::real("shift_add.gates_per_bit", Dim::kNone, "10", "NAND2 equivalents per bit of shift-and-add (adder and register)").at_least(0).at_most(1e4),
       ParamSpec::real("sram.efficiency", Dim::kNone, "0.7", "bit-cell area / buffer area").above(0).at_most(1),
       ParamSpec::real("sram.bitline_swing", Dim::kVoltage, "0.2 V", "bit-line voltage swing of a read").above(0).at_most(5),
       ParamSpec::real("noc.router_gates_per_bit", Dim::kNone, "30", "NAND2-equivalent switching per bit through a router").at_least(0).at_most(1e5),
       ParamSpec::real("noc.router_area_gates_per_bit", Dim::kNone, "60", "router NAND2 equivalents per bit of flit width and port").at_least(0).at_most(1e5),
       ParamSpec::real("digital.gates_per_op", Dim::kNone, "100", "NAND2-equivalent switching per digital operation (8-bit)").at_least(0).at_most(1e6),
       ParamSpec::integer("digital.lanes", "64", "digital operations per clock cycle (the chip's digital units)").at_least(1).at_most(1 << 20)}};
  return s;
}

CircuitSpec load_circuits(const YAML::Node& root, const core::Origin& origin, core::Diagnostics& diags,
                          YAML::Node& resolved) {
  const std::size_t before = diags.items().size();
  const core::Params p = core::validate_section(root, "circuits", circuits_schema(), origin, "", diags, resolved);
  CircuitSpec c;
  if (diags.items().size() != before) return c;
  c.cell_area_f2 = p.real("cell.area_f2");
  c.read_time = p.real("array.read_time");
  c.bitline_swing = p.real("array.bitline_swing");
  c.wordline_voltage = p.real("array.wordline_voltage");
  const std::string& sensing = p.str("array.sensing");
  c.sensing = sensing == "charge" ? Sensing::kCharge : sensing == "voltage" ? Sensing::kVoltage : Sensing::kCurrent;
  c.cell_capacitance = p.real("cell.capacitance");
  const std::string& type = p.str("adc.type");
  c.adc_type = type == "flash" ? AdcType::kFlash : type == "ramp" ? AdcType::kRamp : AdcType::kSar;
  c.adc_fom = p.real("adc.fom");
  c.adc_enob_loss = p.real("adc.enob_loss");
  c.adc_area_fixed = p.real("adc.area_fixed");
  c.adc_area_per_level = p.real("adc.area_per_level");
  c.adc_decision_fo4 = p.real("adc.decision_fo4");
  c.adc_conversion_time = p.real("adc.conversion_time");
  c.adc_sample_capacitance = p.real("adc.sample_capacitance");
  c.sample_hold = p.boolean("adc.sample_hold");
  const std::string& coding = p.str("driver.coding");
  c.coding = coding == "count" ? InputCoding::kCount : coding == "width" ? InputCoding::kWidth : InputCoding::kLevel;
  c.dac_gates_per_bit = p.real("driver.dac_gates_per_bit");
  c.driver_gates = p.real("driver.gates");
  c.adder_gates_per_bit = p.real("shift_add.gates_per_bit");
  c.sram_efficiency = p.real("sram.efficiency");
  c.sram_swing = p.real("sram.bitline_swing");
  c.router_gates_per_bit = p.real("noc.router_gates_per_bit");
  c.router_area_gates_per_bit = p.real("noc.router_area_gates_per_bit");
  c.digital_gates_per_op = p.real("digital.gates_per_op");
  c.digital_lanes = static_cast<int>(p.integer("digital.lanes"));
  return c;
}

namespace {
double levels(int bits) { return std::ldexp(1.0, bits); }
}  // namespace

// Walden, IEEE JSAC 17(4):539, 1999: P = FoM 2^ENOB f_s, so one conversion costs FoM 2^ENOB, for a SAR
// (its capacitor DAC switches 2^B unit capacitors) as for a flash converter (2^B - 1 comparators fire
// once). A ramp (or counting, CCO-based) converter runs its comparator and counter through 2^B steps:
// 2^B / (B + 1) times a SAR's B + 1 decisions (a first-order rule, cimlab's). The figure of merit is taken
// as node-independent (converters' capacitors are sized by noise and matching, not by the node) and holds
// at the node's nominal supply (C V^2: scaled by (supply / vdd)^2). Time: SAR B + 1 decisions, flash one,
// ramp 2^B. Plus the sampling capacitor's C V_dd^2, the same at any resolution.
ActionCost adc_conversion(const CircuitSpec& c, const TechSpec& t, int bits) {
  const double enob = std::max(1.0, bits - c.adc_enob_loss);
  const double decision = c.adc_decision_fo4 * t.fo4_delay;
  const double sar_steps = bits + 1.0;
  double steps = sar_steps, operations = sar_steps;
  if (c.adc_type == AdcType::kFlash) steps = 1.0;
  if (c.adc_type == AdcType::kRamp) steps = operations = levels(bits);
  const double sample = c.adc_sample_capacitance * t.vdd * t.vdd;
  return {c.adc_fom * t.energy_scale * std::exp2(enob) * operations / sar_steps + sample,
          c.adc_conversion_time > 0 ? c.adc_conversion_time : steps * decision};
}

// SAR and ramp: a capacitor DAC / counter of 2^B unit elements; flash: 2^B - 1 comparators, each taken as
// 8 unit elements (a modelling choice).
double adc_area(const CircuitSpec& c, int bits) {
  const double per_level = c.adc_type == AdcType::kFlash ? 8.0 * c.adc_area_per_level : c.adc_area_per_level;
  return c.adc_area_fixed + per_level * levels(bits);
}

// Leakage of the ADC's logic: NAND2 equivalents filling a tenth of its area (modelling choice).
double adc_leakage(const CircuitSpec& c, const TechSpec& t, int bits) {
  return 0.1 * adc_area(c, bits) / t.nand2_area * t.leakage_per_gate;
}

double cell_area(const CircuitSpec& c, const TechSpec& t) { return c.cell_area_f2 * t.feature_size * t.feature_size; }
double cell_pitch(const CircuitSpec& c, const TechSpec& t) { return std::sqrt(cell_area(c, t)); }

// A word line: its wire (cols cell pitches) and the access transistors' gates (one F-wide gate per cell),
// charged to its swing: C V^2.
double word_line_energy(const CircuitSpec& c, const TechSpec& t, int cols) {
  const double um = 1e6;
  const double v = c.wordline_voltage > 0 ? c.wordline_voltage : t.vdd;
  const double wire = t.wire_capacitance_per_um * cols * cell_pitch(c, t) * um;
  const double gates = t.gate_capacitance_per_um * cols * t.feature_size * um;
  return (wire + gates) * v * v;
}

double cell_read_energy(const CircuitSpec& c, const TechSpec& t, double v_read, double g, double t_read) {
  if (c.sensing == Sensing::kVoltage) return 0.0;
  if (c.sensing == Sensing::kCharge) return c.cell_capacitance * t.vdd * t.vdd;
  return v_read * v_read * g * t_read;
}

double line_settling_time(const CircuitSpec& c, const TechSpec& t, int rows, int cols, double r_row, double r_col,
                          double r_driver, double r_sense, int bits) {
  const double um = 1e6;
  const double c_row = (t.wire_capacitance_per_um * cell_pitch(c, t) + t.gate_capacitance_per_um * t.feature_size) * um * cols;
  const double c_col = (t.wire_capacitance_per_um * cell_pitch(c, t) + t.gate_capacitance_per_um * 3.0 * t.feature_size) * um * rows;
  const double tau = r_driver * c_row + 0.5 * cols * r_row * c_row + r_sense * c_col + 0.5 * rows * r_col * c_col;
  return tau * (bits + 1) * std::numbers::ln2;  // ln(2^(bits + 1))
}

// A column line: its wire (rows cell pitches) and one access device's drain per cell (taken as the gate
// capacitance of a 3F-wide device), charged by the swing from the supply: C V_swing V_dd.
double bit_line_energy(const CircuitSpec& c, const TechSpec& t, int rows) {
  const double um = 1e6;
  const double wire = t.wire_capacitance_per_um * rows * cell_pitch(c, t) * um;
  const double drains = t.gate_capacitance_per_um * rows * 3.0 * t.feature_size * um;
  return (wire + drains) * c.bitline_swing * t.vdd;
}

double driver_energy(const CircuitSpec& c, const TechSpec& t) { return c.driver_gates * t.gate_energy; }
double driver_area(const CircuitSpec& c, const TechSpec& t) { return c.driver_gates * t.nand2_area; }

double adder_energy(const CircuitSpec& c, const TechSpec& t, int width) {
  return c.adder_gates_per_bit * width * t.gate_energy;
}
double adder_area(const CircuitSpec& c, const TechSpec& t, int width) { return c.adder_gates_per_bit * width * t.nand2_area; }

// CACTI-style bit line (Thoziyoor et al., CACTI 5.1, HP Labs 2008): the buffer as a square of bit cells;
// a read swings one bit line of sqrt(bits) cells by the bit-line swing from V_dd: C_bl V_dd V_swing.
double sram_energy_per_bit(const CircuitSpec& c, const TechSpec& t, double bytes) {
  if (bytes <= 0) return 0.0;  // no buffer: the data stream in and out directly
  const double bits = std::max(1.0, 8.0 * bytes);
  const double length_um = std::sqrt(bits) * std::sqrt(t.sram_cell_area) * 1e6;
  return t.wire_capacitance_per_um * length_um * t.vdd * c.sram_swing;
}
double sram_area(const CircuitSpec& c, const TechSpec& t, double bytes) { return 8.0 * bytes * t.sram_cell_area / c.sram_efficiency; }
// A 6T cell leaks about as much as one NAND2 equivalent (modelling choice).
double sram_leakage(const TechSpec& t, double bytes) { return 8.0 * bytes * t.leakage_per_gate; }

// A full-swing wire: C V^2 / 2 per bit (a transition on half the bits).
double wire_energy_per_bit(const TechSpec& t, double length) {
  return 0.5 * t.wire_capacitance_per_um * length * 1e6 * t.vdd * t.vdd;
}

// Router: input buffer write and read, crossbar and arbitration per bit as NAND2-equivalent switching
// (a modelling choice in the spirit of ORION 2.0, Kahng et al., DATE 2009); 5 ports (4 mesh + local).
double router_energy_per_bit(const CircuitSpec& c, const TechSpec& t) { return c.router_gates_per_bit * t.gate_energy; }
double router_area(const CircuitSpec& c, const TechSpec& t, int flit_bits) {
  return c.router_area_gates_per_bit * flit_bits * 5.0 * t.nand2_area;
}

double digital_energy_per_op(const CircuitSpec& c, const TechSpec& t) { return c.digital_gates_per_op * t.gate_energy; }
double digital_area(const CircuitSpec& c, const TechSpec& t) {
  return c.digital_gates_per_op * c.digital_lanes * t.nand2_area;
}
double digital_leakage(const CircuitSpec& c, const TechSpec& t) {
  return c.digital_gates_per_op * c.digital_lanes * t.leakage_per_gate;
}

}  // namespace cimlab::ppa
