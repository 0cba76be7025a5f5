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

// Physical columns summed into one conversion: a differential pair (polarities), or all of an output's
// columns (slices).
std::int64_t columns_per_conversion(const xbar::Layout& unit, AnalogCombine combine) {
  if (combine == AnalogCombine::kSlices) return static_cast<std::int64_t>(unit.slices) * unit.polarities;
  if (combine == AnalogCombine::kPolarities) return unit.polarities;
  return 1;
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
  // Per step of one copy: every row block converts all its columns, once per read of parallel_rows rows;
  // every column block drives its rows.
  const std::int64_t P = spec.hierarchy.macro.parallel_rows > 0 ? spec.hierarchy.macro.parallel_rows : R;
  const std::int64_t reads = m.groups_per_array > 1 ? ceil_div(l.rows, P)
                                                    : (l.rows / R) * ceil_div(R, P) + ceil_div(l.rows % R, P);
  const std::int64_t refs = unit.reference ? 1 : 0, width = l.cols * m.slices * m.polarities;
  const std::int64_t blocks_per_group = m.groups_per_array > 1 ? 1 : m.col_blocks;
  m.columns_read = l.groups * reads * (m.groups_per_array > 1 ? width + refs : width + m.col_blocks * refs);
  // Combined in analog, a reference column is subtracted before the conversion too.
  const std::int64_t merged = columns_per_conversion(unit, spec.hierarchy.macro.combine);
  const std::int64_t own_refs = merged > 1 ? 0 : refs;
  m.columns_converted = l.groups * reads * (width / merged + (m.groups_per_array > 1 ? 1 : m.col_blocks) * own_refs);
  m.rows_driven = l.groups * l.rows * blocks_per_group;
  m.cells_read = m.weight_cells + l.groups * l.rows * blocks_per_group * refs;
  // The rectangle an array's blocks span (all of it for layers over several arrays).
  const std::int64_t per_array = std::min<std::int64_t>(m.groups_per_array, l.groups);
  m.rows_used = std::min<std::int64_t>(R, l.rows * per_array);
  m.cols_used = std::min<std::int64_t>(C, block_cols(unit, std::min(l.cols, m.outputs_per_array)) * per_array);
  // An array step reads its used rows parallel_rows at a time and converts the used columns on the macro's
  // shared ADCs after each read.
  m.row_reads = ceil_div(m.rows_used, P);
  const std::int64_t converted = ceil_div(m.cols_used - refs * per_array, merged) + own_refs * per_array;
  m.conversion_cycles = m.row_reads * ceil_div(converted * spec.hierarchy.macro.arrays, spec.hierarchy.macro.adcs);
  m.input_cycles = l.mapping.input_cycles();
  return m;
}

struct Fit {
  const NetworkRequest& net;
  const MapSpec& spec;
  std::int64_t tiles_of_arrays(std::int64_t arrays) const {
    return ceil_div(ceil_div(arrays, spec.hierarchy.macro.arrays), spec.hierarchy.tile.macros);
  }
  std::int64_t tiles_of(const LayerMapping& m, std::int64_t copies) const {
    return m.bin >= 0 ? 0 : tiles_of_arrays(m.arrays_per_copy * copies);
  }
  std::int64_t cycles(const LayerMapping& m, std::int64_t copies) const {
    const LayerRequest& l = net.layers[static_cast<std::size_t>(m.layer)];
    return ceil_div(l.positions, copies) * m.input_cycles * m.conversion_cycles;
  }
  std::int64_t copy_limit(const LayerMapping& m) const {
    if (m.bin >= 0) return 1;
    const std::int64_t positions = net.layers[static_cast<std::size_t>(m.layer)].positions;
    return spec.pipeline.max_copies > 0 ? std::min(spec.pipeline.max_copies, positions) : positions;
  }
};

void set_copies(const Fit& fit, LayerMapping& m, std::int64_t copies) {
  m.copies = copies;
  m.arrays = m.arrays_per_copy * copies;
  m.macros = m.bin >= 0 ? 0 : ceil_div(m.arrays, fit.spec.hierarchy.macro.arrays);
  m.tiles = fit.tiles_of(m, copies);
  m.stage_cycles = fit.cycles(m, copies);
}

// Layer packing: one-array layers (one copy) first fit, largest first, into shared arrays on their own
// rows and columns; an array left with one layer is returned to it.
std::vector<SharedArray> pack_layers(std::vector<LayerMapping>& layers, const MapSpec& spec) {
  std::vector<int> order;
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].arrays_per_copy == 1) order.push_back(static_cast<int>(i));
  auto area = [&](int i) { return layers[static_cast<std::size_t>(i)].rows_used * layers[static_cast<std::size_t>(i)].cols_used; };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return area(a) > area(b); });
  std::vector<SharedArray> bins;
  for (const int i : order) {
    LayerMapping& m = layers[static_cast<std::size_t>(i)];
    auto bin = std::find_if(bins.begin(), bins.end(), [&](const SharedArray& b) {
      return b.rows_used + m.rows_used <= spec.array_rows && b.cols_used + m.cols_used <= spec.array_cols;
    });
    if (bin == bins.end()) bin = bins.insert(bins.end(), SharedArray{});
    m.row0 = bin->rows_used;
    m.col0 = bin->cols_used;
    bin->rows_used += m.rows_used;
    bin->cols_used += m.cols_used;
    bin->layers.push_back(i);
  }
  std::vector<SharedArray> shared;
  for (auto& b : bins) {
    if (b.layers.size() < 2) {
      LayerMapping& alone = layers[static_cast<std::size_t>(b.layers.front())];
      alone.row0 = alone.col0 = 0;
      continue;
    }
    std::sort(b.layers.begin(), b.layers.end());
    for (const int i : b.layers) layers[static_cast<std::size_t>(i)].bin = static_cast<int>(shared.size());
    shared.push_back(std::move(b));
  }
  return shared;
}

std::int64_t total(const std::vector<LayerMapping>& layers, std::int64_t LayerMapping::*field) {
  std::int64_t t = 0;
  for (const auto& m : layers) t += m.*field;
  return t;
}

// The pipeline's state: the interval, what limits it, the arrays and tiles in use.
struct Pipeline {
  std::int64_t interval = 0;
  int slowest_layer = -1;  // the slowest layer's index
  int busiest_bin = -1;    // the shared array that limits the interval, if one does
  std::int64_t arrays = 0, tiles = 0;
};

Pipeline pipeline(const Fit& fit, const std::vector<LayerMapping>& layers, std::vector<SharedArray>& bins) {
  Pipeline p;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerMapping& m = layers[i];
    if (p.slowest_layer < 0 || m.stage_cycles > layers[static_cast<std::size_t>(p.slowest_layer)].stage_cycles)
      p.slowest_layer = static_cast<int>(i);
    if (m.bin < 0) p.arrays += m.arrays;
    p.tiles += m.tiles;
  }
  if (p.slowest_layer >= 0) p.interval = layers[static_cast<std::size_t>(p.slowest_layer)].stage_cycles;
  for (std::size_t b = 0; b < bins.size(); ++b) {
    bins[b].busy_cycles = 0;
    for (const int i : bins[b].layers) bins[b].busy_cycles += layers[static_cast<std::size_t>(i)].stage_cycles;
    if (bins[b].busy_cycles > p.interval) {
      p.interval = bins[b].busy_cycles;
      p.busiest_bin = static_cast<int>(b);
    }
  }
  p.arrays += static_cast<std::int64_t>(bins.size());
  p.tiles += fit.tiles_of_arrays(static_cast<std::int64_t>(bins.size()));
  return p;
}

// Duplication (pipeline.mode latency / balanced): shortens the slowest stage while its tiles fit.
void duplicate(const Fit& fit, std::vector<LayerMapping>& layers, std::vector<SharedArray>& bins) {
  const std::int64_t tiles_available = fit.spec.hierarchy.tiles();
  const bool balanced = fit.spec.pipeline.mode == PipelineMode::kBalanced;
  auto score = [](const Pipeline& p) { return static_cast<double>(p.interval) * static_cast<double>(p.arrays); };
  Pipeline state = pipeline(fit, layers, bins);
  std::vector<std::int64_t> best_copies;
  double best_score = score(state);
  while (state.busiest_bin < 0 && state.slowest_layer >= 0) {
    LayerMapping& m = layers[static_cast<std::size_t>(state.slowest_layer)];
    const std::int64_t positions = fit.net.layers[static_cast<std::size_t>(m.layer)].positions;
    const std::int64_t per_copy = ceil_div(positions, m.copies);
    if (per_copy <= 1) break;
    const std::int64_t next = ceil_div(positions, per_copy - 1);  // fewest copies that shorten the stage
    if (next > fit.copy_limit(m)) break;
    if (state.tiles + fit.tiles_of(m, next) - m.tiles > tiles_available) break;
    set_copies(fit, m, next);
    state = pipeline(fit, layers, bins);
    if (balanced && score(state) < best_score) {
      best_score = score(state);
      best_copies.clear();
      for (const auto& l : layers) best_copies.push_back(l.copies);
    }
  }
  if (!balanced) return;
  for (std::size_t i = 0; i < layers.size(); ++i) set_copies(fit, layers[i], best_copies.empty() ? 1 : best_copies[i]);
}

// Placement units: each unpacked layer, then the shared arrays of the packed ones.
std::vector<PlacementUnit> units(const Fit& fit, std::vector<LayerMapping>& layers, const std::vector<SharedArray>& bins) {
  std::vector<PlacementUnit> out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].bin >= 0) continue;
    layers[i].unit = static_cast<int>(out.size());
    out.push_back({fit.net.layers[static_cast<std::size_t>(layers[i].layer)].name, {static_cast<int>(i)},
                   layers[i].arrays, layers[i].tiles});
  }
  if (bins.empty()) return out;
  PlacementUnit packed{"packed", {}, static_cast<std::int64_t>(bins.size()),
                       fit.tiles_of_arrays(static_cast<std::int64_t>(bins.size()))};
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].bin >= 0) {
      layers[i].unit = static_cast<int>(out.size());
      packed.layers.push_back(static_cast<int>(i));
    }
  out.push_back(std::move(packed));
  return out;
}

void totals(const Fit& fit, Mapping& out) {
  const Pipeline p = pipeline(fit, out.layers, out.bins);
  std::int64_t weight_cells = 0;
  for (const auto& m : out.layers) weight_cells += m.weight_cells * m.copies;
  out.arrays = p.arrays;
  out.tiles = p.tiles;
  out.copies = total(out.layers, &LayerMapping::copies);
  out.latency_cycles = total(out.layers, &LayerMapping::stage_cycles);
  out.cycles_per_inference = p.interval;
  out.bottleneck = p.slowest_layer;
  if (p.busiest_bin >= 0) out.bottleneck = out.bins[static_cast<std::size_t>(p.busiest_bin)].layers.front();
  if (out.bottleneck >= 0) {
    const auto name = [&](int i) { return fit.net.layers[static_cast<std::size_t>(out.layers[static_cast<std::size_t>(i)].layer)].name; };
    out.bottleneck_name = name(out.bottleneck);
    if (p.busiest_bin >= 0)
      for (const int i : out.bins[static_cast<std::size_t>(p.busiest_bin)].layers)
        if (i != out.bottleneck) out.bottleneck_name += "+" + name(i);
  }
  const double cells = static_cast<double>(out.arrays) * fit.spec.array_rows * fit.spec.array_cols;
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
    m.utilisation = m.arrays_per_copy > 0 ? static_cast<double>(m.weight_cells) /
                                                (static_cast<double>(m.arrays_per_copy) * spec.array_rows * spec.array_cols)
                                          : 0.0;
    out.layers.push_back(m);
  }
  if (out.feasible && spec.partition.pack_layers) out.bins = pack_layers(out.layers, spec);
  for (auto& m : out.layers) set_copies(fit, m, 1);
  const std::int64_t tiles_needed = pipeline(fit, out.layers, out.bins).tiles;
  if (out.feasible && tiles_needed > out.tiles_available) {
    out.feasible = false;
    out.shortfall_arrays = (tiles_needed - out.tiles_available) * spec.hierarchy.arrays_per_tile();
    out.reason = fmt::format("the layers need {} tiles ({} arrays in them), the mesh has {} ({} arrays)", tiles_needed,
                             tiles_needed * spec.hierarchy.arrays_per_tile(), out.tiles_available,
                             out.arrays_available);
  }
  if (out.feasible && spec.pipeline.mode != PipelineMode::kArea) duplicate(fit, out.layers, out.bins);
  totals(fit, out);
  out.units = units(fit, out.layers, out.bins);
  if (out.feasible && options.place) {
    std::vector<std::int64_t> tiles;
    for (const auto& u : out.units) tiles.push_back(u.tiles);
    std::vector<Traffic> traffic;
    for (const auto& t : net.traffic)
      traffic.push_back({out.layers[static_cast<std::size_t>(t.from)].unit, out.layers[static_cast<std::size_t>(t.to)].unit, t.bits});
    out.placement = place(tiles, traffic, spec.hierarchy.mesh.width, spec.hierarchy.mesh.height, spec.placement);
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
      out.push_back({g / m.groups_per_array, g, 0, layer.rows, 0, layer.cols, m.row0 + slot * layer.rows,
                     m.col0 + slot * width, width});
    }
    return out;
  }
  std::int64_t array = 0;
  for (std::int64_t g = 0; g < layer.groups; ++g)
    for (std::int64_t r = 0; r < m.row_blocks; ++r)
      for (std::int64_t c = 0; c < m.col_blocks; ++c) {
        const std::int64_t in0 = r * spec.array_rows, out0 = c * m.outputs_per_array;
        const std::int64_t n = std::min(m.outputs_per_array, layer.cols - out0);
        out.push_back({array++, g, in0, std::min<std::int64_t>(spec.array_rows, layer.rows - in0), out0, n, m.row0,
                       m.col0, block_cols(unit, n)});
      }
  return out;
}

}  // namespace cimlab::mapper
