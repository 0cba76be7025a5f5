#pragma once
// Power, performance and area of a mapped network (issue 11): what happens (action counts from the
// mapping: array steps, conversions, row activations, buffer and network bits, digital operations) times
// what each action costs (ppa/circuits.hpp). Every total is the sum of its components, and of the
// layers plus one "shared" entry (the network on chip, global buffer, digital units, leakage, and tiles
// no layer uses).
//
// Time: a read lasts read_time, or longer when its lines need longer to settle (ppa::line_settling_time
// of the array's resistances); a layer's array step takes row_reads x that + conversion_cycles x max(ADC conversion,
// 1 / clock) (row_reads > 1 with a partial parallel read, macro.parallel_rows); its
// stage ceil(positions / copies) x input cycles x that. The pipeline's interval is the slowest of: any
// stage, any shared array of packed layers, the digital units (all digital operations / lanes / clock),
// the busiest mesh link (its bits / flit bits / clock). latency = the stages in sequence plus the digital
// work and the mesh's hops (3 cycles per hop). Throughput = 1 / interval; TOPS counts 2 operations per
// multiply-accumulate of the crossbar layers.
// Energy per inference: dynamic energy of every action plus leakage x interval.
// Present only where used: routers on a mesh of more than one tile, digital units where the network has
// digital operations, SRAM buffers of non-zero size (a macro measured alone: set them to 0 B).
// Activity: input_density is the fraction of input digits that drive a row (bit-serial: the share of 1
// bits; multilevel: the mean squared digit, as a fraction of full scale); weight_density places the mean
// cell conductance at G_min + weight_density (G_max - G_min). Both are stated defaults unless measured.
// Pulsed inputs (circuits driver.coding count | width): a b-bit digit takes (2^b - 1) read times;
// input_density is then the mean digit over full scale, the cells conduct for that share, and the lines
// and drivers switch per pulse (count) or once (width). Level-coded multi-bit digits pay a DAC per row.
// With adc.sample_hold a step takes the longer of its reads and its conversions.
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "mapper/mapper.hpp"
#include "xbar/chip_config.hpp"
#include "xbar/circuit.hpp"
#include "ppa/circuits.hpp"
#include "ppa/technology.hpp"

namespace cimlab::ppa {

struct Activity {
  double input_density = 0.5;
  double weight_density = 0.25;
};

struct PpaSpec {
  TechSpec tech;  // at its operating supply (ppa::at_supply)
  CircuitSpec circuits;
  Activity activity;
  double g_min = 1e-6, g_max = 1e-4, v_read = 0.2;  // the device's window and read voltage
  xbar::CircuitSpec lines;                          // the array's wire, driver and sense resistances
  int adc_bits = 8;                                 // the chip's ADCs (per-layer rules may use fewer bits)
};

struct Cost {
  double energy_j = 0, area_m2 = 0, latency_s = 0, leakage_w = 0;
  Cost& operator+=(const Cost& o);
};

struct PpaTotals {
  double area_m2 = 0, energy_per_inference_j = 0, latency_s = 0, interval_s = 0, throughput_inferences_per_s = 0;
  double tops = 0, tops_per_w = 0, tops_per_mm2 = 0, leakage_w = 0;
  double macs = 0;
  std::string limited_by;  // what sets the interval: a layer, "digital units" or "mesh link"
};

struct PpaResult {
  bool feasible = true;
  PpaTotals totals;
  std::vector<std::pair<std::string, Cost>> components;  // array, row_drivers, adc, shift_add, buffers, htree,
                                                         // noc, global_buffer, digital
  std::vector<std::pair<std::string, Cost>> layers;      // crossbar layers in order, then "shared"
};

// The chip's own figures the estimate needs: the device's window and read voltage, the ADC bits, the
// array's wire, driver and sense resistances.
void use_chip(PpaSpec& p, const xbar::ChipConfig& chip);

// The component names, in the order of PpaResult::components.
const std::vector<std::string>& component_names();

// The estimate of `m` (placed; an infeasible mapping gives feasible = false and zeros).
PpaResult estimate(const mapper::NetworkRequest& net, const mapper::MapSpec& spec, const mapper::Mapping& m,
                   const PpaSpec& ppa);

// {feasible, totals: {area_mm2, energy_per_inference_j, latency_s, throughput_inferences_per_s, tops,
// tops_per_w, tops_per_mm2, leakage_w, ...}, components: {name: {energy_j, area_mm2, latency_s,
// leakage_w}}, layers: [{name, energy_j, area_mm2, latency_s, leakage_w}]}.
nlohmann::json to_json(const PpaResult& r);

}  // namespace cimlab::ppa
