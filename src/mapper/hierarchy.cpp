// The macro / tile / chip sections and the mapper's own settings (see mapper/hierarchy.hpp).
#include "mapper/hierarchy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "core/presets.hpp"

namespace cimlab::mapper {

namespace fs = std::filesystem;
using core::Dim;
using core::ParamSpec;

const core::Schema& macro_schema() {
  static const core::Schema s{
      "macro", "arrays with their periphery: the ADCs they share and the input drivers",
      {ParamSpec::integer("arrays", "1", "arrays per macro").at_least(1).at_most(1024),
       ParamSpec::integer("adcs", "16", "ADCs per macro; columns per ADC (column mux) = arrays x array.cols / adcs")
           .at_least(1)
           .at_most(1 << 20),
       ParamSpec::integer("row_drivers", "0", "input drivers (DACs) per macro; 0 = one per array row")
           .at_least(0)
           .at_most(1 << 20),
       ParamSpec::integer("parallel_rows", "0",
                          "rows read together into one conversion (partial parallel read; 0 = all rows of the array). "
                          "Mapping and PPA; the accuracy engine converts whole arrays")
           .at_least(0)
           .at_most(1 << 20),
       ParamSpec::choice("combine", {"none", "polarities", "slices"}, "none",
                         "what the columns sum in analog before a conversion: none (every column converted), polarities "
                         "(a differential pair subtracted: one conversion per slice), slices (slices and polarities "
                         "binary-weighted, e.g. C-2C ladders: one conversion per output); an offset mapping's reference column is "
                         "then subtracted in analog too. Mapping and PPA")}};
  return s;
}

const core::Schema& tile_schema() {
  static const core::Schema s{
      "tile", "a processing element: macros, buffers and the internal interconnect",
      {ParamSpec::integer("macros", "4", "macros per tile").at_least(1).at_most(4096),
       ParamSpec::real("input_buffer", Dim::kData, "16 KiB", "input activation buffer").at_least(0).at_most(1e12),
       ParamSpec::real("output_buffer", Dim::kData, "16 KiB", "output activation buffer").at_least(0).at_most(1e12),
       ParamSpec::real("accumulation_buffer", Dim::kData, "8 KiB", "partial-sum accumulation buffer").at_least(0).at_most(1e12),
       ParamSpec::choice("interconnect", {"htree", "bus"}, "htree", "the tile's internal interconnect between macros"),
       ParamSpec::integer("bus_width", "128", "bits of the internal H-tree / bus").at_least(1).at_most(65536)}};
  return s;
}

const core::Schema& chip_schema() {
  static const core::Schema s{
      "chip", "tiles on a mesh network, global buffer, off-chip bandwidth and clock ('preset' takes a whole chip)",
      {ParamSpec::string("preset", "", "a chip from configs/chips/ (name or .yaml path): every section it sets, under the config's own"),
       ParamSpec::integer("mesh.width", "4", "tiles per mesh row").at_least(1).at_most(1024),
       ParamSpec::integer("mesh.height", "4", "tiles per mesh column").at_least(1).at_most(1024),
       ParamSpec::real("global_buffer", Dim::kData, "1 MiB", "global activation buffer").at_least(0).at_most(1e13),
       ParamSpec::real("offchip_bandwidth", Dim::kBandwidth, "25.6 GB/s", "off-chip memory bandwidth").above(0).at_most(1e15),
       ParamSpec::real("clock", Dim::kFrequency, "1 GHz", "clock of the periphery (one ADC conversion slot per cycle)").above(0).at_most(1e11),
       ParamSpec::integer("flit_bits", "64", "mesh link width (bits per flit)").at_least(1).at_most(65536)}};
  return s;
}

const core::Schema& partition_schema() {
  static const core::Schema s{
      "partition", "how layers are cut into arrays",
      {ParamSpec::boolean("pack_groups", "true",
                          "grouped / depthwise convolutions share arrays, groups placed block-diagonally"),
       ParamSpec::boolean("pack_layers", "false",
                          "layers that fit one array share arrays block-diagonally (they take turns: one copy each, "
                          "their stage cycles add up on the shared array)")}};
  return s;
}

const core::Schema& pipeline_schema() {
  static const core::Schema s{
      "pipeline", "layers run as a pipeline; slow layers may be duplicated",
      {ParamSpec::choice("mode", {"area", "latency", "balanced"}, "area",
                         "area: one copy per layer; latency: copies fill the chip to shorten the slowest stage; "
                         "balanced: the copies that give the most throughput per array"),
       ParamSpec::integer("max_copies", "0", "copies of one layer at most; 0 = as many as its output positions")
           .at_least(0)
           .at_most(1 << 30)}};
  return s;
}

const core::Schema& placement_schema() {
  static const core::Schema s{
      "placement", "where the layers' tiles sit on the mesh (traffic x hops, XY routing)",
      {ParamSpec::choice("method", {"anneal", "snake", "row_major"}, "anneal",
                         "anneal: snake start + simulated annealing of tile swaps; snake: layers in order along a "
                         "serpentine; row_major: layers in order, row by row"),
       ParamSpec::integer("iterations", "200000", "annealing moves (the same seed gives the same placement)")
           .at_least(0)
           .at_most(1000000000)}};
  return s;
}

std::vector<const core::Schema*> hierarchy_schemas() {
  return {&macro_schema(), &tile_schema(), &chip_schema(), &partition_schema(), &pipeline_schema(), &placement_schema()};
}

const std::vector<std::string>& hierarchy_section_names() {
  static const std::vector<std::string> names{"macro", "tile", "chip", "partition", "pipeline", "placement"};
  return names;
}

namespace {

int as_int(const core::Params& p, const char* name) { return static_cast<int>(p.integer(name)); }

PipelineMode pipeline_mode(const std::string& s) {
  if (s == "latency") return PipelineMode::kLatency;
  if (s == "balanced") return PipelineMode::kBalanced;
  return PipelineMode::kArea;
}

AnalogCombine combine_of(const std::string& s) {
  if (s == "polarities") return AnalogCombine::kPolarities;
  if (s == "slices") return AnalogCombine::kSlices;
  return AnalogCombine::kNone;
}

PlacementMethod placement_method(const std::string& s) {
  if (s == "snake") return PlacementMethod::kSnake;
  if (s == "row_major") return PlacementMethod::kRowMajor;
  return PlacementMethod::kAnneal;
}

void cross_check(const MapperSections& m, int array_rows, int array_cols, const core::Origin& origin,
                 const std::string& prefix, core::Diagnostics& diags) {
  auto problem = [&](std::string msg) { diags.add({origin.file, 0, 0, std::move(msg)}); };
  const std::int64_t columns = static_cast<std::int64_t>(m.hierarchy.macro.arrays) * array_cols;
  if (m.hierarchy.macro.adcs > columns)
    problem(fmt::format("{}macro.adcs = {} exceeds the macro's {} columns ({} arrays x {} columns): an ADC needs "
                        "at least one column",
                        prefix, m.hierarchy.macro.adcs, columns, m.hierarchy.macro.arrays, array_cols));
  const std::int64_t rows = static_cast<std::int64_t>(m.hierarchy.macro.arrays) * array_rows;
  if (m.hierarchy.macro.row_drivers > rows)
    problem(fmt::format("{}macro.row_drivers = {} exceeds the macro's {} rows", prefix, m.hierarchy.macro.row_drivers,
                        rows));
}

}  // namespace

MapperSections load_hierarchy(const YAML::Node& root, const core::Origin& origin, const std::string& prefix,
                              int array_rows, int array_cols, core::Diagnostics& diags, YAML::Node& resolved) {
  const std::size_t before = diags.items().size();
  auto section = [&](const char* name, const core::Schema& schema) {
    return core::validate_section(root, name, schema, origin, prefix, diags, resolved);
  };
  const core::Params macro = section("macro", macro_schema());
  const core::Params tile = section("tile", tile_schema());
  const core::Params chip = section("chip", chip_schema());
  const core::Params partition = section("partition", partition_schema());
  const core::Params pipeline = section("pipeline", pipeline_schema());
  const core::Params placement = section("placement", placement_schema());
  MapperSections m;
  if (diags.items().size() != before) return m;
  m.hierarchy.macro = {as_int(macro, "arrays"), as_int(macro, "adcs"), as_int(macro, "row_drivers"),
                       as_int(macro, "parallel_rows"), combine_of(macro.str("combine"))};
  m.hierarchy.tile = {as_int(tile, "macros"),         tile.real("input_buffer"),
                      tile.real("output_buffer"),     tile.real("accumulation_buffer"),
                      tile.str("interconnect") == "bus" ? Interconnect::kBus : Interconnect::kHTree,
                      as_int(tile, "bus_width")};
  m.hierarchy.mesh = {as_int(chip, "mesh.width"),  as_int(chip, "mesh.height"), chip.real("global_buffer"),
                      chip.real("offchip_bandwidth"), chip.real("clock"),       as_int(chip, "flit_bits")};
  m.partition.pack_groups = partition.boolean("pack_groups");
  m.partition.pack_layers = partition.boolean("pack_layers");
  m.pipeline = {pipeline_mode(pipeline.str("mode")), pipeline.integer("max_copies")};
  m.placement.method = placement_method(placement.str("method"));
  m.placement.iterations = placement.integer("iterations");
  cross_check(m, array_rows, array_cols, origin, prefix, diags);
  return m;
}

std::string chip_presets_dir() { return core::presets_dir("chips"); }
std::vector<std::string> chip_preset_names() { return core::preset_names("chips"); }

YAML::Node apply_chip_preset(const YAML::Node& root, const core::Origin& origin, core::Diagnostics& diags) {
  const YAML::Node chip = root["chip"];
  if (!chip || !chip.IsMap() || !chip["preset"]) return root;
  const YAML::Node preset = chip["preset"];
  const std::string name = preset.IsScalar() ? preset.Scalar() : "";
  fs::path path = name.ends_with(".yaml") ? fs::path(name) : fs::path(chip_presets_dir()) / (name + ".yaml");
  if (path.is_relative() && name.ends_with(".yaml")) path = fs::path(origin.file).parent_path() / path;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    const auto hint = core::closest(name, chip_preset_names());
    diags.add(core::at(preset, origin,
                       fmt::format("unknown chip preset '{}'{}; presets: {}", name,
                                   hint ? fmt::format(" (did you mean '{}'?)", *hint) : "",
                                   fmt::join(chip_preset_names(), ", "))));
    return root;
  }
  core::ConfigFile file;
  try {
    file = core::load_config(path.string());
  } catch (const core::ConfigError& e) {
    for (const auto& d : e.diagnostics()) diags.add(d);
    return root;
  }
  // The config's own nodes are shared, not cloned, so that messages keep their lines.
  YAML::Node own(YAML::NodeType::Map);
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "chip") {
      own[kv.first.Scalar()] = kv.second;
      continue;
    }
    YAML::Node rest(YAML::NodeType::Map);
    for (const auto& c : kv.second)
      if (c.first.Scalar() != "preset") rest[c.first.Scalar()] = c.second;
    if (rest.size() > 0) own["chip"] = rest;
  }
  return core::merge(file.root, own);
}

}  // namespace cimlab::mapper
