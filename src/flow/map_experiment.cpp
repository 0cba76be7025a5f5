// The `cimlab map` experiment: config, network, mapping and its outputs (see flow/map_experiment.hpp).
#include "flow/map_experiment.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "core/config.hpp"
#include "core/errors.hpp"
#include "graph/onnx.hpp"
#include "graph/zoo.hpp"
#include "mapper/hierarchy.hpp"

namespace cimlab::flow {

using core::ParamSpec;

namespace {

const core::Schema& run_schema() {
  static const core::Schema s{"map", "run settings of cimlab map",
                              {ParamSpec::integer("seed", "1", "seed of the placement search").at_least(0)}};
  return s;
}

const core::Schema& model_schema() {
  static const core::Schema s{
      "model", "the network to map: a zoo model or an ONNX file (cimlab map)",
      {ParamSpec::choice("name", graph::graph_names(), "", "zoo model (or a graph-only network, e.g. vgg8_neurosim)"),
       ParamSpec::path("onnx", "ONNX model file (relative to the config file), instead of name"),
       ParamSpec::string("input_shape", "1x28x28", "zoo models: input images C x H x W (H = W)")}};
  return s;
}

std::vector<std::string> known_sections() {
  std::vector<std::string> known{"seed", "model"};
  for (const auto& n : xbar::chip_section_names()) known.push_back(n);
  for (const auto& n : mapper::hierarchy_section_names()) known.push_back(n);
  return known;
}

graph::Graph build_graph(const core::Params& model, const YAML::Node& section, const core::Origin& origin,
                         std::string& label) {
  core::Diagnostics diags;
  if (model.has("onnx") == model.has("name"))
    diags.add(core::at(section ? section : YAML::Node(), origin,
                       "'model' must name either a zoo model (model.name) or an ONNX file (model.onnx)"));
  if (model.has("onnx") && section["input_shape"])
    diags.add(core::at(section["input_shape"], origin,
                       "'model.input_shape' applies to zoo models; an ONNX file's input shape comes from the file"));
  diags.throw_if_any();
  if (model.has("onnx")) {
    label = std::filesystem::path(model.str("onnx")).filename().string();
    return graph::import_onnx(model.str("onnx"), graph::ImportOptions{});
  }
  label = model.str("name");
  const auto [channels, side] = graph::parse_image_shape(model.str("input_shape"));
  return graph::zoo_graph(label, channels, side, 1);
}

}  // namespace

std::vector<const core::Schema*> map_schemas() {
  std::vector<const core::Schema*> out{&run_schema(), &model_schema()};
  for (const auto* s : mapper::hierarchy_schemas()) out.push_back(s);
  return out;
}

core::ConfigFile read_chip_config(const std::string& path, const std::vector<std::string>& overrides,
                                  const std::vector<std::string>& extra_sections, MapExperiment& exp,
                                  core::Diagnostics& diags) {
  core::ConfigFile cfg = core::load_config(path);
  core::apply_overrides(cfg, overrides, diags);
  diags.throw_if_any();
  return read_chip_sections(std::move(cfg), extra_sections, exp, diags);
}

core::ConfigFile read_chip_sections(core::ConfigFile cfg, const std::vector<std::string>& extra_sections,
                                    MapExperiment& exp, core::Diagnostics& diags, const ChipLoader& load_chip) {
  if (const YAML::Node chip = cfg.root["chip"]; chip && chip.IsMap() && chip["preset"] && chip["preset"].IsScalar())
    exp.chip_preset = chip["preset"].Scalar();
  cfg.root = mapper::apply_chip_preset(cfg.root, cfg.origin, diags);
  diags.throw_if_any();
  std::vector<std::string> known = known_sections();
  known.insert(known.end(), extra_sections.begin(), extra_sections.end());
  core::check_sections(cfg, known, diags);
  exp.resolved = YAML::Node(YAML::NodeType::Map);
  const core::Params run = core::validate_top(cfg, {"seed"}, run_schema(), diags);
  const std::size_t before_chip = diags.items().size();
  exp.chip = load_chip ? load_chip(cfg, diags, exp.resolved) : xbar::load_chip(cfg.root, cfg.origin, "", diags, exp.resolved);
  const bool chip_valid = diags.items().size() == before_chip;
  const mapper::MapperSections m =
      mapper::load_hierarchy(cfg.root, cfg.origin, "", chip_valid ? exp.chip.array.circuit.rows : 1 << 30,
                             chip_valid ? exp.chip.array.circuit.cols : 1 << 30, diags, exp.resolved);
  if (!diags.empty()) return cfg;
  exp.seed = static_cast<std::uint64_t>(run.integer("seed"));
  exp.resolved["seed"] = exp.seed;
  if (!exp.chip_preset.empty()) exp.resolved["chip"]["preset"] = exp.chip_preset;
  exp.spec.array_rows = exp.chip.array.circuit.rows;
  exp.spec.array_cols = exp.chip.array.circuit.cols;
  exp.spec.hierarchy = m.hierarchy;
  exp.spec.partition = m.partition;
  exp.spec.pipeline = m.pipeline;
  exp.spec.placement = m.placement;
  exp.spec.placement.seed = exp.seed;
  return cfg;
}

void load_network(const core::ConfigFile& cfg, MapExperiment& exp) {
  core::Diagnostics diags;
  const core::Params model = core::validate_section(cfg, "model", model_schema(), diags, exp.resolved);
  diags.throw_if_any();
  exp.graph = build_graph(model, cfg.root["model"], cfg.origin, exp.model);
}

MapExperiment load_map_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  MapExperiment exp;
  core::Diagnostics diags;
  const core::ConfigFile cfg = read_chip_config(path, overrides, {}, exp, diags);
  core::validate_section(cfg, "model", model_schema(), diags, exp.resolved);
  diags.throw_if_any();
  load_network(cfg, exp);
  return exp;
}

nlohmann::json chip_json(const MapExperiment& exp) {
  const mapper::HierarchySpec& h = exp.spec.hierarchy;
  const std::int64_t columns = static_cast<std::int64_t>(h.macro.arrays) * exp.spec.array_cols;
  return {{"preset", exp.chip_preset.empty() ? nlohmann::json(nullptr) : nlohmann::json(exp.chip_preset)},
          {"array", {{"rows", exp.spec.array_rows}, {"cols", exp.spec.array_cols}}},
          {"macro", {{"arrays", h.macro.arrays}, {"adcs", h.macro.adcs}, {"column_mux", (columns + h.macro.adcs - 1) / h.macro.adcs}}},
          {"tile", {{"macros", h.tile.macros}, {"arrays", h.arrays_per_tile()}}},
          {"mesh", {{"width", h.mesh.width}, {"height", h.mesh.height}}},
          {"tiles", h.tiles()},
          {"arrays_available", h.arrays()},
          {"clock_hz", h.mesh.clock}};
}

nlohmann::json map_json(const MapExperiment& exp, const mapper::NetworkRequest& net, const mapper::Mapping& m) {
  nlohmann::json out = mapper::to_json(net, exp.spec, m);
  out["model"] = exp.model;
  out["chip"] = chip_json(exp);
  out["pipeline_mode"] = exp.resolved["pipeline"]["mode"].as<std::string>();
  return out;
}

std::string map_text(const MapExperiment& exp, const mapper::NetworkRequest& net, const mapper::Mapping& m) {
  std::string s = fmt::format("{} on {} x {} arrays, {} tiles of {} arrays ({} x {} mesh)\n", exp.model,
                              exp.spec.array_rows, exp.spec.array_cols, m.tiles_available,
                              exp.spec.hierarchy.arrays_per_tile(), exp.spec.hierarchy.mesh.width,
                              exp.spec.hierarchy.mesh.height);
  s += fmt::format("{:<28} {:>6} {:>6} {:>6} {:>3} {:>7} {:>6} {:>6} {:>6} {:>12}\n", "layer", "rows", "cols", "groups",
                   "S", "arrays", "copies", "tiles", "util", "stage cycles");
  for (const auto& lm : m.layers) {
    const auto& l = net.layers[static_cast<std::size_t>(lm.layer)];
    s += fmt::format("{:<28} {:>6} {:>6} {:>6} {:>3} {:>7} {:>6} {:>6} {:>5.1f}% {:>12}\n", l.name, l.rows, l.cols,
                     l.groups, lm.slices, lm.arrays, lm.copies, lm.tiles, 100.0 * lm.utilisation, lm.stage_cycles);
  }
  if (!m.feasible) return s + fmt::format("INFEASIBLE: {}; short of {} arrays\n", m.reason, m.shortfall_arrays);
  s += fmt::format("{} arrays of {} ({} tiles of {}), utilisation {:.1f}%, {} copies; bottleneck {} at {} cycles per "
                   "inference, latency {} cycles\n",
                   m.arrays, m.arrays_available, m.tiles, m.tiles_available, 100.0 * m.utilisation, m.copies,
                   m.bottleneck < 0 ? "-" : m.bottleneck_name,
                   m.cycles_per_inference, m.latency_cycles);
  if (!m.placement.slot_layer.empty())
    s += fmt::format("placement ({}): {:.4g} bit-hops per inference (row-major {:.4g}), busiest link {:.4g} bits\n",
                     m.placement.method, m.placement.traffic_hops, m.placement.row_major_traffic_hops,
                     m.placement.max_link_bits);
  return s;
}

}  // namespace cimlab::flow
