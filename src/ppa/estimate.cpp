// The roll-up of a mapped network: counts x costs per action (see ppa/estimate.hpp).
#include "ppa/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace cimlab::ppa {

Cost& Cost::operator+=(const Cost& o) {
  energy_j += o.energy_j;
  area_m2 += o.area_m2;
  latency_s += o.latency_s;
  leakage_w += o.leakage_w;
  return *this;
}

namespace {

constexpr double kHopCycles = 3;  // router pipeline per hop (modelling choice)

// The components of one tile and their areas and leakage (every tile is built alike).
struct Tile {
  Cost array, drivers, adc, shift_add, buffers, router;
  double area() const { return array.area_m2 + drivers.area_m2 + adc.area_m2 + shift_add.area_m2 + buffers.area_m2 + router.area_m2; }
};

int accumulator_width(const mapper::LayerRequest& l, int adc_bits) {
  return adc_bits + l.mapping.input_bits + l.mapping.weight_bits;
}

Tile tile_of(const mapper::MapSpec& spec, const PpaSpec& p) {
  const auto& h = spec.hierarchy;
  const TechSpec& t = p.tech;
  const CircuitSpec& c = p.circuits;
  const double macros = h.tile.macros;
  const double arrays = h.arrays_per_tile();
  const double drivers = macros * (h.macro.row_drivers > 0 ? h.macro.row_drivers : h.macro.arrays * spec.array_rows);
  const double adcs = macros * h.macro.adcs;
  const int width = p.adc_bits + 16;
  const double buffer_bytes = h.tile.input_buffer + h.tile.output_buffer + h.tile.accumulation_buffer;
  Tile tile;
  tile.array.area_m2 = arrays * spec.array_rows * spec.array_cols * cell_area(c, t);
  tile.drivers = {0, drivers * driver_area(c, t), 0, drivers * c.driver_gates * t.leakage_per_gate};
  tile.adc = {0, adcs * adc_area(c, p.adc_bits), 0, adcs * adc_leakage(c, t, p.adc_bits)};
  tile.shift_add = {0, adcs * adder_area(c, t, width), 0, adcs * c.adder_gates_per_bit * width * t.leakage_per_gate};
  tile.buffers = {0, sram_area(c, t, buffer_bytes), 0, sram_leakage(t, buffer_bytes)};
  if (h.tiles() > 1)  // a mesh of one tile has no links
    tile.router = {0, router_area(c, t, h.mesh.flit_bits), 0,
                   c.router_area_gates_per_bit * h.mesh.flit_bits * 5.0 * t.leakage_per_gate};
  return tile;
}

// One crossbar layer's dynamic energy by component and its stage's time split (array read / conversions).
struct LayerCost {
  std::map<std::string, double> energy;
  double read_time = 0, convert_time = 0;  // along the pipeline's fill
  double stage_time = 0;
};

LayerCost layer_cost(const mapper::LayerRequest& l, const mapper::LayerMapping& m, const mapper::MapSpec& spec,
                     const PpaSpec& p, double tile_side) {
  const TechSpec& t = p.tech;
  const CircuitSpec& c = p.circuits;
  const auto& h = spec.hierarchy;
  const double steps = static_cast<double>(l.positions) * m.input_cycles;  // over all copies
  // A digit of b bits as up to 2^b - 1 unit pulses (count) or one pulse that long (width): its read lasts
  // that many read times, its cells conduct for the mean digit's share of them; pulse counting switches
  // the lines at every pulse, a width-coded or level-coded digit once.
  const int digit_bits = l.mapping.input_digit_bits();
  const bool pulsed = c.coding != InputCoding::kLevel;
  const double units = pulsed ? std::exp2(digit_bits) - 1.0 : 1.0;
  const double input = p.activity.input_density;
  const double conducting = input * units;
  const double switching = c.coding == InputCoding::kCount ? input * units
                           : c.coding == InputCoding::kWidth ? std::min(1.0, input * units) : input;
  const double g_mean = p.g_min + p.activity.weight_density * (p.g_max - p.g_min);
  const ActionCost conversion = adc_conversion(c, t, l.adc_bits);
  const auto& w = p.lines;
  const double t_read = std::max(c.read_time, line_settling_time(c, t, spec.array_rows, spec.array_cols, w.r_row, w.r_col,
                                                                 w.r_driver, w.r_sense, l.adc_bits));
  LayerCost out;
  const int line_rows = static_cast<int>(std::min<std::int64_t>(l.rows, spec.array_rows));
  const double line_reads = c.coding == InputCoding::kCount ? units : 1.0;  // precharges of a column per digit
  out.energy["array"] = steps * (static_cast<double>(m.cells_read) * conducting * cell_read_energy(c, t, p.v_read, g_mean, t_read) +
                                 static_cast<double>(m.rows_driven) * switching * word_line_energy(c, t, spec.array_cols) +
                                 static_cast<double>(m.columns_read) * line_reads * bit_line_energy(c, t, line_rows));
  // A driver switches once per activation; a level-coded multi-bit digit also drives a DAC.
  const bool dac = !pulsed && l.mapping.input == xbar::InputMode::kMultilevel;
  const double driver = driver_energy(c, t) + (dac ? digit_bits * c.dac_gates_per_bit * t.gate_energy : 0.0);
  out.energy["row_drivers"] = steps * static_cast<double>(m.rows_driven) * switching * driver;
  const double conversions = steps * static_cast<double>(m.columns_converted);
  out.energy["adc"] = conversions * conversion.energy;
  out.energy["shift_add"] = conversions * adder_energy(c, t, accumulator_width(l, l.adc_bits));
  const double in_bits = static_cast<double>(l.positions) * l.rows * l.groups * l.mapping.input_bits;
  const double out_bits = static_cast<double>(l.output_elements) * l.mapping.input_bits;
  out.energy["buffers"] = in_bits * sram_energy_per_bit(c, t, h.tile.input_buffer) +
                          out_bits * sram_energy_per_bit(c, t, h.tile.output_buffer);
  out.energy["htree"] = (in_bits + out_bits) * wire_energy_per_bit(t, tile_side);
  const double slot = std::max(conversion.time, 1.0 / h.mesh.clock);
  const double per_copy_steps =
      static_cast<double>((l.positions + m.copies - 1) / m.copies) * static_cast<double>(m.input_cycles);
  out.read_time = per_copy_steps * static_cast<double>(m.row_reads) * units * t_read;
  out.convert_time = per_copy_steps * static_cast<double>(m.conversion_cycles) * slot;
  if (c.sample_hold) {  // reads overlap conversions: the longer of the two per step (charged to it)
    (out.read_time >= out.convert_time ? out.convert_time : out.read_time) = 0.0;
  }
  out.stage_time = out.read_time + out.convert_time;
  return out;
}

}  // namespace

void use_chip(PpaSpec& p, const xbar::ChipConfig& chip) {
  p.g_min = chip.array.device.g_min;
  p.g_max = chip.array.device.g_max;
  p.v_read = chip.array.device.v_read;
  p.adc_bits = chip.array.adc.bits;
  p.lines = chip.array.circuit;
}

const std::vector<std::string>& component_names() {
  static const std::vector<std::string> names{"array",   "row_drivers", "adc",           "shift_add", "buffers",
                                              "htree",   "noc",         "global_buffer", "digital"};
  return names;
}

PpaResult estimate(const mapper::NetworkRequest& net, const mapper::MapSpec& spec, const mapper::Mapping& m,
                   const PpaSpec& p) {
  PpaResult r;
  r.feasible = m.feasible;
  std::map<std::string, Cost> comp;
  for (const auto& n : component_names()) comp[n] = {};
  if (!m.feasible) {
    for (const auto& n : component_names()) r.components.emplace_back(n, comp[n]);
    return r;
  }
  const TechSpec& t = p.tech;
  const CircuitSpec& c = p.circuits;
  const auto& h = spec.hierarchy;
  const Tile tile = tile_of(spec, p);
  const double tiles = h.tiles(), tile_area = tile.area(), tile_side = std::sqrt(tile_area);
  // Areas and leakage: every tile of the mesh, the global buffer, the digital units.
  comp["array"] = {0, tiles * tile.array.area_m2, 0, 0};
  comp["row_drivers"] = {0, tiles * tile.drivers.area_m2, 0, tiles * tile.drivers.leakage_w};
  comp["adc"] = {0, tiles * tile.adc.area_m2, 0, tiles * tile.adc.leakage_w};
  comp["shift_add"] = {0, tiles * tile.shift_add.area_m2, 0, tiles * tile.shift_add.leakage_w};
  comp["buffers"] = {0, tiles * tile.buffers.area_m2, 0, tiles * tile.buffers.leakage_w};
  comp["noc"] = {0, tiles * tile.router.area_m2, 0, tiles * tile.router.leakage_w};
  comp["global_buffer"] = {0, sram_area(c, t, h.mesh.global_buffer), 0, sram_leakage(t, h.mesh.global_buffer)};
  if (!net.digital.empty()) comp["digital"] = {0, digital_area(c, t), 0, digital_leakage(c, t)};

  // Crossbar layers: dynamic energy and stage times.
  double interval = 0, macs = 0;
  std::vector<double> stage(m.layers.size(), 0.0);
  std::vector<LayerCost> costs;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const auto& lm = m.layers[i];
    const auto& l = net.layers[static_cast<std::size_t>(lm.layer)];
    costs.push_back(layer_cost(l, lm, spec, p, tile_side));
    stage[i] = costs.back().stage_time;
    macs += static_cast<double>(l.macs);
    for (const auto& [name, e] : costs.back().energy) comp[name].energy_j += e;
    comp["array"].latency_s += costs.back().read_time;
    comp["adc"].latency_s += costs.back().convert_time;
    if (stage[i] > interval) {
      interval = stage[i];
      r.totals.limited_by = l.name;
    }
  }
  for (const auto& bin : m.bins) {
    double busy = 0;
    for (const int i : bin.layers) busy += stage[static_cast<std::size_t>(i)];
    if (busy > interval) {
      interval = busy;
      r.totals.limited_by = "shared array";
    }
  }
  // Digital units, the mesh, the global buffer.
  double digital_ops = 0;
  for (const auto& d : net.digital) digital_ops += static_cast<double>(d.ops);
  const double digital_time = digital_ops / (c.digital_lanes * h.mesh.clock);
  comp["digital"].energy_j += digital_ops * digital_energy_per_op(c, t);
  comp["digital"].latency_s += digital_time;
  double traffic_bits = 0;
  for (const auto& e : net.traffic) traffic_bits += e.bits;
  const double hops = m.placement.traffic_hops;
  comp["noc"].energy_j += hops * (wire_energy_per_bit(t, tile_side) + router_energy_per_bit(c, t));
  const double mean_hops = traffic_bits > 0 ? hops / traffic_bits : 0.0;
  comp["noc"].latency_s += static_cast<double>(net.traffic.size()) * mean_hops * kHopCycles / h.mesh.clock;
  const double link_time = m.placement.max_link_bits / (h.mesh.flit_bits * h.mesh.clock);
  const double io_bits = 8.0 * (static_cast<double>(net.input_elements) +
                                (net.layers.empty() ? 0.0 : static_cast<double>(net.layers.back().output_elements)));
  comp["global_buffer"].energy_j += io_bits * sram_energy_per_bit(c, t, h.mesh.global_buffer);
  if (digital_time > interval) {
    interval = digital_time;
    r.totals.limited_by = "digital units";
  }
  if (link_time > interval) {
    interval = link_time;
    r.totals.limited_by = "mesh link";
  }
  // Leakage over one interval, charged to each component.
  double leakage = 0;
  for (auto& [name, cost] : comp) {
    cost.energy_j += cost.leakage_w * interval;
    leakage += cost.leakage_w;
  }
  // Per layer: its dynamic energy, its tiles, its stage in the fill; the rest is shared.
  Cost shared;
  for (const auto& [name, cost] : comp) shared += cost;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    Cost own;
    for (const auto& [name, e] : costs[i].energy) own.energy_j += e;
    own.area_m2 = static_cast<double>(m.layers[i].tiles) * tile_area;
    own.latency_s = costs[i].stage_time;
    shared.energy_j -= own.energy_j;
    shared.area_m2 -= own.area_m2;
    shared.latency_s -= own.latency_s;
    r.layers.emplace_back(net.layers[static_cast<std::size_t>(m.layers[i].layer)].name, own);
  }
  r.layers.emplace_back("shared", shared);
  for (const auto& n : component_names()) r.components.emplace_back(n, comp[n]);
  PpaTotals& T = r.totals;
  for (const auto& [name, cost] : r.components) {
    T.area_m2 += cost.area_m2;
    T.energy_per_inference_j += cost.energy_j;
    T.latency_s += cost.latency_s;
  }
  T.leakage_w = leakage;
  T.interval_s = interval;
  T.macs = macs;
  T.throughput_inferences_per_s = interval > 0 ? 1.0 / interval : 0.0;
  T.tops = 2.0 * macs * T.throughput_inferences_per_s / 1e12;
  T.tops_per_w = T.energy_per_inference_j > 0 ? 2.0 * macs / T.energy_per_inference_j / 1e12 : 0.0;
  T.tops_per_mm2 = T.area_m2 > 0 ? T.tops / (T.area_m2 * 1e6) : 0.0;
  return r;
}

nlohmann::json to_json(const PpaResult& r) {
  auto cost = [](const Cost& c) {
    return nlohmann::json{{"energy_j", c.energy_j}, {"area_mm2", c.area_m2 * 1e6}, {"latency_s", c.latency_s},
                          {"leakage_w", c.leakage_w}};
  };
  const PpaTotals& T = r.totals;
  nlohmann::json out = {{"feasible", r.feasible},
                        {"totals",
                         {{"area_mm2", T.area_m2 * 1e6},
                          {"energy_per_inference_j", T.energy_per_inference_j},
                          {"latency_s", T.latency_s},
                          {"interval_s", T.interval_s},
                          {"throughput_inferences_per_s", T.throughput_inferences_per_s},
                          {"tops", T.tops},
                          {"tops_per_w", T.tops_per_w},
                          {"tops_per_mm2", T.tops_per_mm2},
                          {"leakage_w", T.leakage_w},
                          {"macs", T.macs},
                          {"limited_by", T.limited_by}}}};
  out["components"] = nlohmann::json::object();
  for (const auto& [name, c] : r.components) out["components"][name] = cost(c);
  out["layers"] = nlohmann::json::array();
  for (const auto& [name, c] : r.layers) {
    nlohmann::json j = cost(c);
    j["name"] = name;
    out["layers"].push_back(j);
  }
  return out;
}

}  // namespace cimlab::ppa
