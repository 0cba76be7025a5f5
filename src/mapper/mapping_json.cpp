// The JSON of a mapping (the `cimlab map` contract; see mapper/mapper.hpp).
#include <string>

#include "mapper/mapper.hpp"

namespace cimlab::mapper {

namespace {

nlohmann::json layer_json(const LayerRequest& l, const LayerMapping& m) {
  const bool offset = l.mapping.signed_mode == xbar::SignedMode::kOffset;
  return {{"name", l.name},
          {"op", l.op},
          {"rows", l.rows},
          {"cols", l.cols},
          {"groups", l.groups},
          {"slices", m.slices},
          {"arrays", m.arrays},
          {"copies", m.copies},
          {"stage_cycles", m.stage_cycles},
          {"tiles", m.tiles},
          {"macros", m.macros},
          {"arrays_per_copy", m.arrays_per_copy},
          {"row_blocks", m.row_blocks},
          {"col_blocks", m.col_blocks},
          {"groups_per_array", m.groups_per_array},
          {"outputs_per_array", m.outputs_per_array},
          {"utilisation", m.utilisation},
          {"positions", l.positions},
          {"input_cycles", m.input_cycles},
          {"row_reads", m.row_reads},
          {"conversion_cycles", m.conversion_cycles},
          {"macs", l.macs},
          {"signed", offset ? "offset" : "differential"},
          {"weight_bits", l.mapping.weight_bits},
          {"cell_bits", l.mapping.cell_bits},
          {"input_bits", l.mapping.input_bits},
          {"adc_bits", l.adc_bits},
          {"shared_array", m.bin < 0 ? nlohmann::json(nullptr) : nlohmann::json(m.bin)}};
}

nlohmann::json xy(const Placement& p, int slot) {
  if (slot < 0) return nullptr;
  return {slot % p.width, slot / p.width};
}

nlohmann::json placement_json(const Mapping& m, const MapSpec& spec, const Placement& p) {
  if (p.slot_layer.empty()) return nullptr;
  nlohmann::json floorplan = nlohmann::json::array();
  for (int y = 0; y < p.height; ++y) {
    nlohmann::json row = nlohmann::json::array();
    for (int x = 0; x < p.width; ++x) row.push_back(p.slot_layer[static_cast<std::size_t>(y * p.width + x)]);
    floorplan.push_back(row);
  }
  nlohmann::json legend = nlohmann::json::array();  // floorplan entries are indices into it
  for (const auto& u : m.units) legend.push_back(u.name);
  return {{"method", p.method},
          {"iterations", p.iterations},
          {"seed", spec.placement.seed},
          {"width", p.width},
          {"height", p.height},
          {"traffic_hops", p.traffic_hops},
          {"row_major_traffic_hops", p.row_major_traffic_hops},
          {"max_link", {{"bits", p.max_link_bits}, {"from", xy(p, p.max_link_from)}, {"to", xy(p, p.max_link_to)}}},
          {"floorplan", floorplan},
          {"legend", legend}};
}

}  // namespace

nlohmann::json to_json(const NetworkRequest& net, const MapSpec& spec, const Mapping& m) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& lm : m.layers) layers.push_back(layer_json(net.layers[static_cast<std::size_t>(lm.layer)], lm));
  nlohmann::json digital = nlohmann::json::array();
  std::int64_t digital_ops = 0;
  for (const auto& d : net.digital) {
    digital.push_back({{"name", d.name}, {"op", d.op}, {"unit", d.unit}, {"ops", d.ops}});
    digital_ops += d.ops;
  }
  const nlohmann::json bottleneck = m.bottleneck < 0 ? nlohmann::json(nullptr) : nlohmann::json(m.bottleneck_name);
  nlohmann::json totals = {{"arrays", m.arrays},
                           {"arrays_available", m.arrays_available},
                           {"tiles", m.tiles},
                           {"tiles_available", m.tiles_available},
                           {"utilisation", m.utilisation},
                           {"copies", m.copies},
                           {"bottleneck_layer", bottleneck},
                           {"cycles_per_inference", m.cycles_per_inference},
                           {"latency_cycles", m.latency_cycles},
                           {"traffic_hops", m.placement.slot_layer.empty() ? nlohmann::json(nullptr)
                                                                           : nlohmann::json(m.placement.traffic_hops)},
                           {"shortfall_arrays", m.shortfall_arrays},
                           {"digital_ops", digital_ops}};
  nlohmann::json out = {{"feasible", m.feasible}, {"totals", totals}, {"layers", layers},
                        {"digital", digital},     {"placement", placement_json(m, spec, m.placement)}};
  if (!m.bins.empty()) {
    nlohmann::json shared = nlohmann::json::array();
    for (const auto& b : m.bins) {
      nlohmann::json names = nlohmann::json::array();
      for (const int i : b.layers) names.push_back(net.layers[static_cast<std::size_t>(m.layers[static_cast<std::size_t>(i)].layer)].name);
      shared.push_back({{"layers", names}, {"rows_used", b.rows_used}, {"cols_used", b.cols_used}, {"busy_cycles", b.busy_cycles}});
    }
    out["shared_arrays"] = shared;
  }
  if (!m.feasible) {
    out["reason"] = m.reason;
    out["shortfall_arrays"] = m.shortfall_arrays;
  }
  return out;
}

}  // namespace cimlab::mapper
