// Partition, duplication and the pipeline of a mapped network (see mapper/mapper.hpp).
#include "mapper/mapper.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "mapper/placement.hpp"
#include "xbar/mapping.hpp"

namespace cimlab::mapper {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// Physical columns of one group's block with n outputs (reference column included).
std::int64_t block_cols(const xbar::Layout& unit, std::int64_t n) {
  return n * unit.slices * unit.polarities + (unit.reference ? 1 : 0);
}

// Partition of one copy (copies, tiles and cycles are set later).
LayerMapping partition(const LayerRequest& l, int index, const MapSpec& spec) {
  LayerMapping m;
  m.layer = index;
  const xbar::Layout unit = xbar::Layout::of(l.mapping, 1, 1);
  m.slices = unit.slices;
  m.polarities = unit.polarities;
  m.reference = unit.reference;
  const std::int64_t R = spec.array_rows, C = spec.array_cols;
  m.outputs_per_array = xbar::max_outputs(l.mapping, spec.array_cols);
  m.weight_cells = l.groups * l.rows * l.cols * m.slices * m.polarities;
  if (m.outputs_per_array == 0) return m;  // not one output fits: reported as infeasible
  m.row_blocks = ceil_div(l.rows, R);
  m.col_blocks = ceil_div(l.cols, m.outputs_per_array);
  const bool fits_one = m.row_blocks == 1 && m.col_blocks == 1;
  if (l.groups > 1 && spec.partition.pack_groups && fits_one) {
    m.groups_per_array = std::min(R / l.rows, C / block_cols(unit, l.cols));
    m.arrays_per_copy = ceil_div(l.groups, m.groups_per_array);
  } else {
    m.arrays_per_copy = l.groups * m.row_blocks * m.col_blocks;
  }
  // Columns an array converts per step: the widest block an array holds.
  const std::int64_t widest = std::min<std::int64_t>(l.cols, m.outputs_per_array);
  const std::int64_t cols_used = std::min<std::int64_t>(
      C, block_cols(unit, widest) * std::min<std::int64_t>(m.groups_per_array, l.groups));
  m.conversion_cycles = ceil_div(cols_used * spec.hierarchy.macro.arrays, spec.hierarchy.macro.adcs);
  m.input_cycles = l.mapping.input_cycles();
  return m;
}

struct Fit {
  const NetworkRequest& net;
  const MapSpec& spec;
  std::int64_t tiles_of(const LayerMapping& m, std::int64_t copies) const {
    const std::int64_t macros = ceil_div(m.arrays_per_copy * copies, spec.hierarchy.macro.arrays);
    return ceil_div(macros, spec.hierarchy.tile.macros);
  }
  std::int64_t cycles(const LayerMapping& m, std::int64_t copies) const {
    const LayerRequest& l = net.layers[static_cast<std::size_t>(m.layer)];
    return ceil_div(l.positions, copies) * m.input_cycles * m.conversion_cycles;
  }
  std::int64_t copy_limit(const LayerMapping& m) const {
    const std::int64_t positions = net.layers[static_cast<std::size_t>(m.layer)].positions;
    return spec.pipeline.max_copies > 0 ? std::min(spec.pipeline.max_copies, positions) : positions;
  }
};

void set_copies(const Fit& fit, LayerMapping& m, std::int64_t copies) {
  m.copies = copies;
  m.arrays = m.arrays_per_copy * copies;
  m.macros = ceil_div(m.arrays, fit.spec.hierarchy.macro.arrays);
  m.tiles = fit.tiles_of(m, copies);
  m.stage_cycles = fit.cycles(m, copies);
}

int slowest(const std::vector<LayerMapping>& layers) {
  int worst = -1;
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (worst < 0 || layers[i].stage_cycles > layers[static_cast<std::size_t>(worst)].stage_cycles)
      worst = static_cast<int>(i);
  return worst;
}

std::int64_t total(const std::vector<LayerMapping>& layers, std::int64_t LayerMapping::*field) {
  std::int64_t t = 0;
  for (const auto& m : layers) t += m.*field;
  return t;
}

// Duplication (pipeline.mode latency / balanced): shortens the slowest stage while its tiles fit.
void duplicate(const Fit& fit, std::vector<LayerMapping>& layers) {
  const std::int64_t tiles_available = fit.spec.hierarchy.tiles();
  const bool balanced = fit.spec.pipeline.mode == PipelineMode::kBalanced;
  std::int64_t tiles = total(layers, &LayerMapping::tiles);
  auto score = [&] { return static_cast<double>(layers[static_cast<std::size_t>(slowest(layers))].stage_cycles) *
                            static_cast<double>(total(layers, &LayerMapping::arrays)); };
  std::vector<std::int64_t> best_copies;
  double best_score = score();
  for (;;) {
    LayerMapping& m = layers[static_cast<std::size_t>(slowest(layers))];
    const std::int64_t positions = fit.net.layers[static_cast<std::size_t>(m.layer)].positions;
    const std::int64_t per_copy = ceil_div(positions, m.copies);
    if (per_copy <= 1) break;
    const std::int64_t next = ceil_div(positions, per_copy - 1);  // fewest copies that shorten the stage
    if (next > fit.copy_limit(m)) break;
    const std::int64_t extra = fit.tiles_of(m, next) - m.tiles;
    if (tiles + extra > tiles_available) break;
    tiles += extra;
    set_copies(fit, m, next);
    if (balanced && score() < best_score) {
      best_score = score();
      best_copies.clear();
      for (const auto& l : layers) best_copies.push_back(l.copies);
    }
  }
  if (!balanced) return;
  for (std::size_t i = 0; i < layers.size(); ++i) set_copies(fit, layers[i], best_copies.empty() ? 1 : best_copies[i]);
}

void totals(const MapSpec& spec, Mapping& out) {
  std::int64_t weight_cells = 0;
  for (const auto& m : out.layers) weight_cells += m.weight_cells * m.copies;
  out.arrays = total(out.layers, &LayerMapping::arrays);
  out.tiles = total(out.layers, &LayerMapping::tiles);
  out.copies = total(out.layers, &LayerMapping::copies);
  out.latency_cycles = total(out.layers, &LayerMapping::stage_cycles);
  out.bottleneck = slowest(out.layers);
  out.cycles_per_inference = out.bottleneck < 0 ? 0 : out.layers[static_cast<std::size_t>(out.bottleneck)].stage_cycles;
  const double cells = static_cast<double>(out.arrays) * spec.array_rows * spec.array_cols;
  out.utilisation = cells > 0 ? static_cast<double>(weight_cells) / cells : 0.0;
}

}  // namespace

Mapping map_network(const NetworkRequest& net, const MapSpec& spec, const MapOptions& options) {
  Mapping out;
  out.arrays_available = spec.hierarchy.arrays();
  out.tiles_available = spec.hierarchy.tiles();
  const Fit fit{net, spec};
  for (std::size_t i = 0; i < net.layers.size(); ++i) {
    LayerMapping m = partition(net.layers[i], static_cast<int>(i), spec);
    if (m.arrays_per_copy == 0) {
      out.feasible = false;
      out.reason = fmt::format("layer {}: one output needs {} columns with this mapping, the arrays have {}",
                               net.layers[i].name, m.slices * m.polarities + (m.reference ? 1 : 0), spec.array_cols);
    }
    set_copies(fit, m, 1);
    m.utilisation = m.arrays > 0 ? static_cast<double>(m.weight_cells) /
                                       (static_cast<double>(m.arrays) * spec.array_rows * spec.array_cols)
                                 : 0.0;
    out.layers.push_back(m);
  }
  const std::int64_t tiles_needed = total(out.layers, &LayerMapping::tiles);
  if (out.feasible && tiles_needed > out.tiles_available) {
    out.feasible = false;
    out.shortfall_arrays = (tiles_needed - out.tiles_available) * spec.hierarchy.arrays_per_tile();
    out.reason = fmt::format("the layers need {} tiles ({} arrays in them), the mesh has {} ({} arrays)", tiles_needed,
                             tiles_needed * spec.hierarchy.arrays_per_tile(), out.tiles_available,
                             out.arrays_available);
  }
  if (out.feasible && spec.pipeline.mode != PipelineMode::kArea) duplicate(fit, out.layers);
  totals(spec, out);
  if (out.feasible && options.place) {
    std::vector<std::int64_t> tiles;
    for (const auto& m : out.layers) tiles.push_back(m.tiles);
    out.placement = place(tiles, net.traffic, spec.hierarchy.mesh.width, spec.hierarchy.mesh.height, spec.placement);
  }
  return out;
}

std::vector<Block> blocks(const LayerRequest& layer, const LayerMapping& m, const MapSpec& spec) {
  std::vector<Block> out;
  const xbar::Layout unit = xbar::Layout::of(layer.mapping, 1, 1);
  if (m.outputs_per_array == 0) return out;
  if (m.groups_per_array > 1) {
    const std::int64_t width = block_cols(unit, layer.cols);
    for (std::int64_t g = 0; g < layer.groups; ++g) {
      const std::int64_t slot = g % m.groups_per_array;
      out.push_back({g / m.groups_per_array, g, 0, layer.rows, 0, layer.cols, slot * layer.rows, slot * width, width});
    }
    return out;
  }
  std::int64_t array = 0;
  for (std::int64_t g = 0; g < layer.groups; ++g)
    for (std::int64_t r = 0; r < m.row_blocks; ++r)
      for (std::int64_t c = 0; c < m.col_blocks; ++c) {
        const std::int64_t in0 = r * spec.array_rows, out0 = c * m.outputs_per_array;
        const std::int64_t n = std::min(m.outputs_per_array, layer.cols - out0);
        out.push_back({array++, g, in0, std::min<std::int64_t>(spec.array_rows, layer.rows - in0), out0, n, 0, 0,
                       block_cols(unit, n)});
      }
  return out;
}

}  // namespace cimlab::mapper
