#pragma once
// The mapper (issue 10): a network's crossbar layers onto arrays, macros, tiles and a mesh.
//
// Partition. A layer's weight matrix per group (rows = fan-in, cols = outputs) is laid out on arrays of
// R x C cells with the accuracy engine's layout (xbar::Layout: S = ceil(B_w / b_cell) slices, P = 2
// columns per slice for differential, 1 plus a reference column per array for offset): ceil(rows / R)
// row blocks x ceil(cols / n) column blocks, n = xbar::max_outputs(mapping, C) outputs per array (an
// output's columns never straddle two arrays; with differential mapping and S P dividing C this is the
// ceil(cols S P / C) of physics.md). Grouped and depthwise convolutions whose group fits one array are
// packed block-diagonally: k = min(floor(R / rows), floor(C / group width)) groups per array (group g
// on rows g rows.. and its own columns, with its own reference column for offset mapping), so the layer
// takes ceil(groups / k) arrays instead of one per group.
//
// Layer packing (partition.pack_layers, off by default): layers whose one copy fits one array share
// arrays block-diagonally (first fit, largest first; each on its own rows and columns). They take turns
// on a shared array, keep one copy, and the shared arrays form one placement unit ("packed").
//
// Macros and tiles. A layer's arrays (all copies) fill whole macros and tiles of their own: macros =
// ceil(arrays / macro.arrays), tiles = ceil(macros / tile.macros); the shared arrays of packed layers
// fill tiles of their own in the same way. The design is feasible when all tiles fit the mesh.
//
// Pipeline. Layers run as a pipeline over inferences. One step of an array drives its rows with one
// input digit and converts its used columns on the macro's shared ADCs: ceil(columns used x
// macro.arrays / macro.adcs) conversion cycles; with macro.parallel_rows = P (partial parallel read) it
// reads its rows P at a time and converts after each read: ceil(rows used / P) times as many. With
// macro.combine a differential pair (polarities) or all columns of an output (slices) are summed in
// analog into one conversion (mapping and PPA; the accuracy engine converts every column). A layer needs positions x input cycles steps per
// inference (bit-serial: B_in; multilevel: ceil(B_in / B_dac)); its copies split the positions:
//   stage_cycles = ceil(positions / copies) x input_cycles x conversion_cycles.
// cycles_per_inference = the slowest stage, or the busiest shared array of packed layers (the sum of
// its layers' stages), whichever is longer (the pipeline's interval); latency_cycles = the sum of the
// stages (one inference through an empty pipeline). Signed inputs (a second phase) are not counted:
// inputs are taken as non-negative activations.
// Duplication (pipeline.mode): area = one copy each; latency = repeatedly give the slowest layer the
// fewest extra copies that shorten it, while its tiles fit, until the slowest layer cannot be shortened;
// balanced = the state along that sequence with the most throughput per array (min cycles x arrays).
//
// An infeasible design is a result: `feasible` false, with `reason` and the shortfall in arrays (whole
// tiles the mesh lacks x arrays per tile); the totals still report what one copy of each layer needs.
// Thread-safety: pure functions of their arguments.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "mapper/hierarchy.hpp"
#include "mapper/network.hpp"
#include "mapper/placement.hpp"
#include "xbar/circuit.hpp"

namespace cimlab::mapper {

struct MapSpec {
  int array_rows = 128, array_cols = 128;
  HierarchySpec hierarchy;
  PartitionSpec partition;
  PipelineSpec pipeline;
  PlacementSpec placement;
};

struct LayerMapping {
  int layer = 0;                         // index into NetworkRequest::layers
  int slices = 1, polarities = 2;
  bool reference = false;                // offset mapping: a reference column per group block
  std::int64_t outputs_per_array = 0;    // n: logical outputs of one group per array (dense) or per group block
  std::int64_t groups_per_array = 1;     // k: groups packed block-diagonally (1 when not packed)
  std::int64_t row_blocks = 1, col_blocks = 1;
  std::int64_t arrays_per_copy = 0;
  std::int64_t copies = 1;
  std::int64_t arrays = 0;               // all copies
  std::int64_t macros = 0, tiles = 0;    // all copies
  std::int64_t weight_cells = 0;         // cells holding weights, one copy: groups rows cols S P
  std::int64_t cells_read = 0;           // cells driven per step of one copy: weights and reference columns
  std::int64_t columns_read = 0;         // physical columns read per step of one copy (every row block's, per read)
  std::int64_t columns_converted = 0;    // ADC conversions per step of one copy (columns_read / analog combining)
  std::int64_t rows_driven = 0;          // row drivers active per step of one copy (a row per column block)
  double utilisation = 0;                // weight cells / cells of the arrays used
  int input_cycles = 1;
  std::int64_t row_reads = 1;            // reads per array step (partial parallel read: rows / parallel_rows)
  std::int64_t conversion_cycles = 1;    // per array step (ADC sharing, times row_reads)
  std::int64_t stage_cycles = 0;
  int unit = -1;                         // placement unit (Mapping::units)
  int bin = -1;                          // packed layers: the shared array (index into Mapping::bins)
  std::int64_t rows_used = 0, cols_used = 0;  // one-array layers: the rectangle its blocks span
  std::int64_t row0 = 0, col0 = 0;       // packed layers: where that rectangle starts on the shared array
};

// What the mesh places: a layer's own tiles, or the tiles of the shared arrays of packed layers.
struct PlacementUnit {
  std::string name;          // the layer's name, or "packed"
  std::vector<int> layers;   // indices into Mapping::layers
  std::int64_t arrays = 0, tiles = 0;
};

// One array shared by packed layers.
struct SharedArray {
  std::vector<int> layers;   // indices into Mapping::layers
  std::int64_t rows_used = 0, cols_used = 0;
  std::int64_t busy_cycles = 0;  // the sum of its layers' stage cycles
};

struct Mapping {
  bool feasible = true;
  std::string reason;                    // why not, when infeasible
  std::vector<LayerMapping> layers;      // one per crossbar layer, network order
  std::int64_t arrays = 0;               // all layers, all copies
  std::int64_t arrays_available = 0;
  std::int64_t tiles = 0, tiles_available = 0;
  std::int64_t shortfall_arrays = 0;     // infeasible: arrays (in whole tiles) the mesh lacks
  std::int64_t copies = 0;               // all layers
  double utilisation = 0;                // weight cells / cells of the arrays used, all layers
  int bottleneck = -1;                   // index into layers; -1 without crossbar layers
  std::string bottleneck_name;           // its name, or "a+b" when a shared array of packed layers limits
  std::vector<PlacementUnit> units;      // what the placement places (slot_layer holds unit indices)
  std::vector<SharedArray> bins;         // arrays shared by packed layers
  std::int64_t cycles_per_inference = 0;
  std::int64_t latency_cycles = 0;
  Placement placement;                   // empty when infeasible or not placed; its slots hold unit indices
};

struct MapOptions {
  bool place = true;  // false: partition and pipeline only (a search's fast path)
};

// Maps `net` onto the chip of `spec`. Never throws for a design that does not fit (see above).
Mapping map_network(const NetworkRequest& net, const MapSpec& spec, const MapOptions& options = {});

// One block of weights on one array: group `group`'s inputs [in0, in0 + in_count) and outputs
// [out0, out0 + out_count) on array `array` (0 .. arrays_per_copy - 1 of one copy; for a packed layer,
// array 0 is its shared array, Mapping::bins[m.bin]), starting at physical
// row `row0` and the outputs' first physical column `col0`; output o sits on columns
// col0 + xbar::Layout::column(o - out0, s, p).
struct Block {
  std::int64_t array = 0, group = 0;
  std::int64_t in0 = 0, in_count = 0, out0 = 0, out_count = 0;
  std::int64_t row0 = 0, col0 = 0;
  std::int64_t cols_used = 0;  // physical columns of this block (reference column included)
};

// The mapping as JSON: {feasible, reason, totals, layers, digital, placement} with the keys of `cimlab
// map`'s contract (totals: arrays, arrays_available, tiles, utilisation, copies, bottleneck_layer,
// cycles_per_inference, traffic_hops, shortfall_arrays, ...; per layer: name, rows, cols, groups,
// slices, arrays, copies, stage_cycles, tiles, ...). `seed`: the placement's seed, recorded.
nlohmann::json to_json(const NetworkRequest& net, const MapSpec& spec, const Mapping& m);

// Every block of one copy of a layer (for tests and floorplans; the mapping itself only counts them).
std::vector<Block> blocks(const LayerRequest& layer, const LayerMapping& m, const MapSpec& spec);

}  // namespace cimlab::mapper
