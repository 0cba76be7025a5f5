#pragma once
// The circuit components of a CIM chip and what one action of each costs (issue 11; physics.md section
// 6). Each component declares its parameters once in the `circuits:` section (dotted keys, shown by
// `cimlab describe circuits`) and turns one action into energy and time, and reports its area and
// leakage, from those parameters and the technology (ppa/technology.hpp). The roll-up
// (ppa/estimate.hpp) multiplies action counts by these costs, so every total is a sum one can audit.
//
// Models (first order, each with its source in circuits.cpp):
//   array      read energy sum V^2 G t over the conducting cells; word-line charging C_wl V^2; bit-line
//              charging C_bl V_swing V_dd per conversion (charge-domain or precharged columns); cell
//              area in F^2
//   row driver NAND2-equivalent gates per driver, switching once per row activation
//   ADC        Walden figure of merit: E = FoM 2^ENOB per conversion (ramp: x 2^B / (B + 1)) plus the
//              sampling capacitor's C V^2; SAR: B + 1 bit decisions, area
//              fixed + per level (capacitor DAC); flash: one decision, 2^B - 1 comparators; ramp: 2^B
//              steps
//   shift-add  an adder and register as wide as the partial sum, per conversion
//   buffers    SRAM: bit-line energy of a square array of the buffer's bits, cell area / efficiency
//   H-tree/bus wire energy C V^2 / 2 per bit over the tile's side
//   NoC        per bit and hop: the link's wire (one tile pitch) and the router's gates
//   digital    NAND2-equivalent gates per operation, `lanes` operations per cycle
#include <yaml-cpp/yaml.h>

#include <string>

#include "core/params.hpp"
#include "ppa/technology.hpp"

namespace cimlab::ppa {

enum class AdcType { kSar, kFlash, kRamp };
// How an array's columns are read: a DC current through the cells (resistive cells, I V t energy),
// charge on per-cell capacitors (charge-domain SRAM macros: C V^2 per active cell, no DC current), or
// voltage-mode (columns settle on the sense capacitors: no DC current, only the lines' charging).
enum class Sensing { kCurrent, kCharge, kVoltage };
// How a row driver encodes an input digit of b bits: an amplitude from a DAC (level), up to 2^b - 1 unit
// pulses (count), or one pulse up to 2^b - 1 units long (width, PWM).
enum class InputCoding { kLevel, kCount, kWidth };

struct CircuitSpec {
  double cell_area_f2 = 12;            // one cell, in F^2
  double read_time = 10e-9;            // s, one input digit's read of an array
  double bitline_swing = 0;            // V, a column line's swing per read (0: clamped, current mode)
  double wordline_voltage = 0;         // V, the word line's (access gates') swing; 0 = the supply
  Sensing sensing = Sensing::kCurrent;
  double cell_capacitance = 10e-15;     // F, a compute capacitor per cell (charge sensing)
  AdcType adc_type = AdcType::kSar;
  double adc_fom = 9.3e-15;              // J per conversion step (Walden) at the nominal supply
  double adc_enob_loss = 0.5;          // bits: ENOB = bits - loss
  double adc_area_fixed = 300e-12;     // m2
  double adc_area_per_level = 2e-12;   // m2 per code level (2^B)
  double adc_decision_fo4 = 10;        // one comparator decision, in FO4 delays
  double adc_conversion_time = 0;      // s, one conversion when given (a published converter); 0 = derived
  double adc_sample_capacitance = 200e-15;  // F, charged once per conversion
  bool sample_hold = false;            // the next read overlaps the conversions (sample-and-hold per column)
  InputCoding coding = InputCoding::kLevel;
  double dac_gates_per_bit = 100;       // NAND2-equivalent switching per DAC bit per activation (level coding)
  double driver_gates = 10;            // NAND2 equivalents per row driver
  double adder_gates_per_bit = 10;     // NAND2 equivalents per bit of shift-and-add (adder + register)
  double sram_efficiency = 0.7;        // bit-cell area / buffer area
  double sram_swing = 0.2;             // V, bit-line swing of a read
  double router_gates_per_bit = 30;    // NAND2-equivalent switching per bit through a router
  double router_area_gates_per_bit = 60;  // NAND2 equivalents per bit of flit width and port
  double digital_gates_per_op = 100;   // NAND2-equivalent switching per digital operation (8-bit)
  int digital_lanes = 64;              // operations per cycle of the digital units
};

const core::Schema& circuits_schema();
CircuitSpec load_circuits(const YAML::Node& root, const core::Origin& origin, core::Diagnostics& diags,
                          YAML::Node& resolved);

// One component's cost of one action (energy, time) and its footprint.
struct ActionCost {
  double energy = 0;   // J per action
  double time = 0;     // s per action
};

// ADC of `bits` resolution: per conversion, and its area (m2) and leakage (W).
ActionCost adc_conversion(const CircuitSpec& c, const TechSpec& t, int bits);
double adc_area(const CircuitSpec& c, int bits);
double adc_leakage(const CircuitSpec& c, const TechSpec& t, int bits);

// One array cell's footprint (m2) and its pitch (m).
double cell_area(const CircuitSpec& c, const TechSpec& t);
double cell_pitch(const CircuitSpec& c, const TechSpec& t);

// Word-line charging of one row activation of a row of `cols` cells (J), at array.wordline_voltage.
double word_line_energy(const CircuitSpec& c, const TechSpec& t, int cols);
// How long a read takes at least for its lines to settle (s): the word line (driver resistance and
// `cols` segments of r_row, its wire and gates) and then the bit line (`rows` segments of r_col and the
// sense resistance, its wire and drains), each as an Elmore delay R_end C + R_wire C / 2 settled to half
// an LSB of a `bits` converter: ln(2^(bits + 1)) time constants. 0 for ideal wires.
double line_settling_time(const CircuitSpec& c, const TechSpec& t, int rows, int cols, double r_row, double r_col,
                          double r_driver, double r_sense, int bits);
// Bit-line charging of one read of a column of `rows` cells (J): 0 unless the column swings.
double bit_line_energy(const CircuitSpec& c, const TechSpec& t, int rows);
// One active cell's read (J): V^2 G t through it (current sensing), its compute capacitor charged to the
// supply (charge sensing), nothing of its own (voltage sensing).
double cell_read_energy(const CircuitSpec& c, const TechSpec& t, double v_read, double g, double t_read);
// One row driver activation (J) and a driver's area (m2).
double driver_energy(const CircuitSpec& c, const TechSpec& t);
double driver_area(const CircuitSpec& c, const TechSpec& t);

// One shift-and-add of a `width`-bit partial sum (J), and an adder's area (m2).
double adder_energy(const CircuitSpec& c, const TechSpec& t, int width);
double adder_area(const CircuitSpec& c, const TechSpec& t, int width);

// SRAM buffer of `bytes`: energy per bit read or written (J), area (m2), leakage (W); all 0 for 0 bytes.
double sram_energy_per_bit(const CircuitSpec& c, const TechSpec& t, double bytes);
double sram_area(const CircuitSpec& c, const TechSpec& t, double bytes);
double sram_leakage(const TechSpec& t, double bytes);

// Wire energy of one bit over `length` metres: C V^2 / 2 (a transition on half the bits).
double wire_energy_per_bit(const TechSpec& t, double length);

// One bit through one router (J), a router's area (m2) for `flit_bits` wide ports (5 ports).
double router_energy_per_bit(const CircuitSpec& c, const TechSpec& t);
double router_area(const CircuitSpec& c, const TechSpec& t, int flit_bits);

// Digital operations: energy per operation (J), area of the lanes (m2), leakage (W).
double digital_energy_per_op(const CircuitSpec& c, const TechSpec& t);
double digital_area(const CircuitSpec& c, const TechSpec& t);
double digital_leakage(const CircuitSpec& c, const TechSpec& t);

}  // namespace cimlab::ppa
