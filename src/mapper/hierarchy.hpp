#pragma once
// The chip above its arrays (issue 10): macros, tiles, the mesh of tiles, and how the mapper uses them.
// Config sections (each key declared once below, shown by `cimlab describe`):
//   macro:     arrays per macro, the ADCs they share (column mux = arrays x columns / ADCs), row drivers
//   tile:      macros per tile, input / output / accumulation buffers, the internal H-tree or bus
//   chip:      tiles on a width x height mesh, global buffer, off-chip bandwidth, clock, NoC flit width;
//              `chip: {preset: NAME}` takes a whole chip from configs/chips/NAME.yaml (see apply_chip_preset)
//   partition: packing of grouped convolutions into shared arrays
//   pipeline:  duplication mode (area | latency | balanced)
//   placement: how the layers' tiles are placed on the mesh
// Sizes of buffers are in bytes (core::Dim::kData), bandwidths in bytes per second.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/params.hpp"

namespace cimlab::mapper {

enum class Interconnect { kHTree, kBus };

// What a macro's columns sum in analog before one conversion (see macro_schema's `combine`).
enum class AnalogCombine { kNone, kPolarities, kSlices };

struct MacroSpec {
  int arrays = 1;       // arrays per macro
  int adcs = 16;        // ADCs per macro, shared by the macro's arrays' columns
  int row_drivers = 0;  // input drivers / DACs per macro; 0 = one per array row
  int parallel_rows = 0;  // rows read together into one conversion; 0 = all rows of the array
  AnalogCombine combine = AnalogCombine::kNone;
};

struct TileSpec {
  int macros = 4;
  double input_buffer = 16384.0;         // B
  double output_buffer = 16384.0;        // B
  double accumulation_buffer = 8192.0;   // B
  Interconnect interconnect = Interconnect::kHTree;
  int bus_width = 128;                   // bits of the tile's internal H-tree / bus
};

struct MeshSpec {
  int width = 4, height = 4;             // tiles
  double global_buffer = 1048576.0;      // B
  double offchip_bandwidth = 25.6e9;     // B/s
  double clock = 1e9;                    // Hz
  int flit_bits = 64;                    // NoC link width
};

struct HierarchySpec {
  MacroSpec macro;
  TileSpec tile;
  MeshSpec mesh;
  int arrays_per_tile() const { return macro.arrays * tile.macros; }
  int tiles() const { return mesh.width * mesh.height; }
  std::int64_t arrays() const { return static_cast<std::int64_t>(arrays_per_tile()) * tiles(); }
};

struct PartitionSpec {
  bool pack_groups = true;   // grouped / depthwise convolutions share arrays block-diagonally
  bool pack_layers = false;  // layers that fit one array share arrays block-diagonally (time-multiplexed)
};

enum class PipelineMode { kArea, kLatency, kBalanced };

struct PipelineSpec {
  PipelineMode mode = PipelineMode::kArea;
  std::int64_t max_copies = 0;  // per layer; 0 = as many as its output positions
};

enum class PlacementMethod { kAnneal, kSnake, kRowMajor };

struct PlacementSpec {
  PlacementMethod method = PlacementMethod::kAnneal;
  std::int64_t iterations = 200000;  // annealing moves
  std::uint64_t seed = 1;           // the config's seed
};

const core::Schema& macro_schema();
const core::Schema& tile_schema();
const core::Schema& chip_schema();
const core::Schema& partition_schema();
const core::Schema& pipeline_schema();
const core::Schema& placement_schema();
// The six schemas, in the order above (for `cimlab describe`).
std::vector<const core::Schema*> hierarchy_schemas();
// Section names read by load_hierarchy (macro, tile, chip, partition, pipeline, placement).
const std::vector<std::string>& hierarchy_section_names();

struct MapperSections {
  HierarchySpec hierarchy;
  PartitionSpec partition;
  PipelineSpec pipeline;
  PlacementSpec placement;
};

// Reads the six sections of `root` (missing ones take their defaults). array_rows / array_cols: the
// chip's array size, for the cross-checks (more ADCs per macro than the macro's columns, more row
// drivers than rows). Problems go to diags with `prefix`; resolved sections go to `resolved`.
MapperSections load_hierarchy(const YAML::Node& root, const core::Origin& origin, const std::string& prefix,
                              int array_rows, int array_cols, core::Diagnostics& diags, YAML::Node& resolved);

// Chip presets: configs/chips/<name>.yaml ($CIMLAB_CONFIG_DIR/chips when set), each a map of chip
// sections (array, device, mapping, adc, macro, tile, chip, ...). When root's `chip` section names a
// preset (a name or a .yaml path, relative to the config), returns the preset's sections with root's
// written on top (root's `chip.preset` removed); otherwise returns root. An unknown preset or a preset
// file that does not parse is reported in diags.
YAML::Node apply_chip_preset(const YAML::Node& root, const core::Origin& origin, core::Diagnostics& diags);
std::string chip_presets_dir();
std::vector<std::string> chip_preset_names();

}  // namespace cimlab::mapper
