// The mapper (issue 10): partition, block layout, duplication, placement, and hand-derived mappings.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "core/config.hpp"
#include "graph/zoo.hpp"
#include "mapper/mapper.hpp"
#include "mapper/network.hpp"
#include "mapper/placement.hpp"

namespace cimlab::mapper {
namespace {

xbar::MappingSpec mapping(int weight_bits, int cell_bits, bool offset = false) {
  xbar::MappingSpec m;
  m.weight_bits = weight_bits;
  m.cell_bits = cell_bits;
  m.signed_mode = offset ? xbar::SignedMode::kOffset : xbar::SignedMode::kDifferential;
  return m;
}

LayerRequest layer(std::int64_t rows, std::int64_t cols, std::int64_t groups, std::int64_t positions,
                   const xbar::MappingSpec& m) {
  LayerRequest l;
  l.name = "l";
  l.op = "Conv";
  l.rows = rows;
  l.cols = cols;
  l.groups = groups;
  l.positions = positions;
  l.mapping = m;
  return l;
}

MapSpec chip(int rows, int cols, int width = 64, int height = 64) {
  MapSpec s;
  s.array_rows = rows;
  s.array_cols = cols;
  s.hierarchy.mesh.width = width;
  s.hierarchy.mesh.height = height;
  return s;
}

Mapping map_one(const LayerRequest& l, const MapSpec& spec) {
  NetworkRequest net;
  net.layers.push_back(l);
  return map_network(net, spec, {false});
}

xbar::ChipConfig load(const std::string& yaml) {
  const core::ConfigFile cfg = core::parse_config(yaml, "test.yaml");
  core::Diagnostics diags;
  YAML::Node resolved;
  xbar::ChipConfig chip = xbar::load_chip(cfg.root, cfg.origin, "", diags, resolved);
  diags.throw_if_any();
  return chip;
}

NetworkRequest network(const std::string& model, const std::string& shape, const std::string& chip_yaml) {
  const auto [channels, side] = graph::parse_image_shape(shape);
  return network_request(graph::zoo_graph(model, channels, side), load(chip_yaml));
}

const char* kDemoChip = R"(
device: {preset: rram}
array: {rows: 128, cols: 128}
mapping: {signed: differential, weight_bits: 8, cell_bits: 2, input: bit_serial, input_bits: 8}
)";

TEST(Partition, DenseLayersTakeTheFormulaArrayCount) {
  // Differential mapping with S P dividing C: ceil(rows / R) * ceil(cols S P / C) arrays (physics.md 1).
  std::mt19937 gen(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int cell_bits = 1 << (gen() % 3);             // 1, 2, 4
    const int weight_bits = cell_bits * (1 + gen() % 4);
    const int R = 16 << (gen() % 4), C = 16 << (gen() % 4);
    const std::int64_t rows = 1 + gen() % 700, cols = 1 + gen() % 300;
    const auto m = mapping(weight_bits, cell_bits);
    const std::int64_t S = weight_bits / cell_bits, P = 2;
    if (C % (S * P) != 0) continue;
    const Mapping out = map_one(layer(rows, cols, 1, 1, m), chip(R, C));
    const std::int64_t expected = ((rows + R - 1) / R) * ((cols * S * P + C - 1) / C);
    EXPECT_EQ(out.layers[0].arrays, expected) << rows << "x" << cols << " on " << R << "x" << C << " S=" << S;
    EXPECT_GT(out.layers[0].utilisation, 0.0);
    EXPECT_LE(out.layers[0].utilisation, 1.0);
  }
}

TEST(Partition, DepthwiseGroupsShareArraysBlockDiagonally) {
  // 3 x 3 depthwise, 32 channels, 8-bit weights on 2-bit cells, differential: a group is 9 rows x 1 output
  // = 8 columns; a 128 x 128 array holds min(floor(128 / 9), floor(128 / 8)) = min(14, 16) = 14 groups, so
  // the layer takes ceil(32 / 14) = 3 arrays (one per group would be 32).
  const Mapping packed = map_one(layer(9, 1, 32, 100, mapping(8, 2)), chip(128, 128));
  EXPECT_EQ(packed.layers[0].groups_per_array, 14);
  EXPECT_EQ(packed.layers[0].arrays, 3);
  MapSpec unpacked_spec = chip(128, 128);
  unpacked_spec.partition.pack_groups = false;
  EXPECT_EQ(map_one(layer(9, 1, 32, 100, mapping(8, 2)), unpacked_spec).layers[0].arrays, 32);
  // Offset mapping: each group block has its own reference column: 4 + 1 = 5 columns, floor(128 / 5) = 25,
  // and rows still limit it to 14.
  EXPECT_EQ(map_one(layer(9, 1, 32, 100, mapping(8, 2, true)), chip(128, 128)).layers[0].groups_per_array, 14);
  // A grouped layer whose group needs several arrays is not packed: 4 groups x 2 row blocks.
  EXPECT_EQ(map_one(layer(200, 4, 4, 10, mapping(8, 2)), chip(128, 128)).layers[0].arrays, 8);
}

// Every weight of a layer (group, input, output) lies in exactly one block; blocks stay inside their
// array and blocks sharing an array share neither rows nor columns.
void expect_exact_cover(const LayerRequest& l, const MapSpec& spec) {
  const Mapping m = map_one(l, spec);
  ASSERT_TRUE(m.feasible);
  const LayerMapping& lm = m.layers[0];
  const std::vector<Block> bs = blocks(l, lm, spec);
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, int> seen_rows;  // (group, input) -> count per output block
  std::int64_t covered = 0;
  std::map<std::int64_t, std::vector<const Block*>> by_array;
  for (const Block& b : bs) {
    EXPECT_GE(b.array, 0);
    EXPECT_LT(b.array, lm.arrays_per_copy);
    EXPECT_LE(b.row0 + b.in_count, spec.array_rows);
    EXPECT_LE(b.col0 + b.cols_used, spec.array_cols);
    covered += b.in_count * b.out_count;
    by_array[b.array].push_back(&b);
  }
  EXPECT_EQ(covered, l.groups * l.rows * l.cols);
  // Per group: the blocks tile [0, rows) x [0, cols) without overlap.
  for (std::int64_t g = 0; g < l.groups; ++g) {
    std::set<std::pair<std::int64_t, std::int64_t>> cells;
    for (const Block& b : bs) {
      if (b.group != g) continue;
      for (std::int64_t i = b.in0; i < b.in0 + b.in_count; ++i)
        for (std::int64_t o = b.out0; o < b.out0 + b.out_count; ++o) {
          EXPECT_TRUE(cells.insert({i, o}).second);
        }
    }
    EXPECT_EQ(static_cast<std::int64_t>(cells.size()), l.rows * l.cols);
  }
  for (const auto& [array, list] : by_array)
    for (std::size_t a = 0; a < list.size(); ++a)
      for (std::size_t b = a + 1; b < list.size(); ++b) {
        const Block &x = *list[a], &y = *list[b];
        EXPECT_TRUE(x.row0 + x.in_count <= y.row0 || y.row0 + y.in_count <= x.row0);
        EXPECT_TRUE(x.col0 + x.cols_used <= y.col0 || y.col0 + y.cols_used <= x.col0);
      }
}

TEST(Partition, EveryWeightIsPlacedExactlyOnce) {
  std::mt19937 gen(3);
  for (int trial = 0; trial < 120; ++trial) {
    const bool offset = gen() % 2;
    const int cell_bits = 1 + gen() % 4;
    const auto m = mapping(1 + gen() % 8, cell_bits, offset);
    const int R = 8 + gen() % 120, C = 16 + gen() % 200;
    const std::int64_t groups = trial % 3 == 0 ? 1 + gen() % 40 : 1;
    const LayerRequest l = layer(1 + gen() % 300, 1 + gen() % 60, groups, 1, m);
    if (xbar::max_outputs(m, C) == 0) continue;
    SCOPED_TRACE(::testing::Message() << l.rows << "x" << l.cols << "x" << groups << " on " << R << "x" << C);
    expect_exact_cover(l, chip(R, C));
  }
}

TEST(Partition, SmallLayersShareArraysWhenPacked) {
  // LeNet-5 on the demo chip (see Golden.LeNet5OnTheDemoChip): the one-array layers are conv1 (25 rows x
  // 48 columns) and fc3 (84 x 80); largest first, fc3 opens a shared array at (0, 0) and conv1 fits beside
  // it at (84, 80): 84 + 25 = 109 <= 128 rows, 80 + 48 = 128 <= 128 columns. 42 - 1 = 41 arrays; tiles:
  // conv2 1, fc1 8, fc2 2 and one for the shared array = 12. The shared array serves conv1 then fc3:
  // 18,816 + 40 = 18,856 cycles, the pipeline's interval.
  const NetworkRequest net = network("lenet5", "1x28x28", kDemoChip);
  MapSpec spec = chip(128, 128, 4, 4);
  spec.partition.pack_layers = true;
  const Mapping m = map_network(net, spec);
  ASSERT_TRUE(m.feasible);
  ASSERT_EQ(m.bins.size(), 1u);
  EXPECT_EQ(m.bins[0].layers, (std::vector<int>{0, 4}));
  EXPECT_EQ(m.arrays, 41);
  EXPECT_EQ(m.tiles, 12);
  EXPECT_EQ(m.cycles_per_inference, 18856);
  EXPECT_EQ(m.bottleneck_name, "conv1+fc3");
  EXPECT_EQ(m.layers[0].row0, 84);
  EXPECT_EQ(m.layers[0].col0, 80);
  ASSERT_EQ(m.units.size(), 4u);  // conv2, fc1, fc2, packed
  EXPECT_EQ(m.units.back().name, "packed");
  EXPECT_EQ(std::count(m.placement.slot_layer.begin(), m.placement.slot_layer.end(), 3), 1);
  // The shared array's blocks do not overlap and stay inside it.
  const auto conv1 = blocks(net.layers[0], m.layers[0], spec), fc3 = blocks(net.layers[4], m.layers[4], spec);
  ASSERT_EQ(conv1.size(), 1u);
  ASSERT_EQ(fc3.size(), 1u);
  EXPECT_LE(fc3[0].row0 + fc3[0].in_count, conv1[0].row0);
  EXPECT_LE(fc3[0].col0 + fc3[0].cols_used, conv1[0].col0);
  EXPECT_LE(conv1[0].col0 + conv1[0].cols_used, 128);
  // Packed layers keep one copy: latency mode duplicates only the others.
  spec.pipeline.mode = PipelineMode::kLatency;
  const Mapping latency = map_network(net, spec, {false});
  EXPECT_EQ(latency.layers[0].copies, 1);
  EXPECT_EQ(latency.cycles_per_inference, 18856);
}

TEST(Partition, AnOutputWiderThanTheArrayIsInfeasible) {
  const Mapping m = map_one(layer(10, 4, 1, 1, mapping(8, 1)), chip(32, 8));  // 16 columns per output, 8 per array
  EXPECT_FALSE(m.feasible);
  EXPECT_NE(m.reason.find("columns"), std::string::npos);
}

TEST(Golden, LeNet5OnTheDemoChip) {
  // configs/chips/demo.yaml: 128 x 128 arrays, 8-bit weights on 2-bit cells in differential pairs
  // (S = 4 slices x P = 2 = 8 columns per output, n = 16 outputs per array), bit-serial 8-bit inputs
  // (8 cycles), 1 array and 16 ADCs per macro (ceil(columns used / 16) conversions per step), 4 macros
  // per tile, 4 x 4 tiles.
  //   conv1: 25 x 6,  1 x 1 blocks = 1 array,  48 columns ->  3 conversions, 28 x 28 = 784 positions:
  //          784 x 8 x 3 = 18,816 cycles
  //   conv2: 150 x 16, 2 x 1 = 2 arrays, 128 columns -> 8, 10 x 10 = 100 positions: 100 x 8 x 8 = 6,400
  //   fc1:   400 x 120, 4 x 8 = 32 arrays (8 tiles), 128 columns -> 8, 1 position: 64
  //   fc2:   120 x 84, 1 x 6 = 6 arrays (2 tiles), 64 cycles;   fc3: 84 x 10, 1 array, 80 columns -> 5: 40
  // Total 42 arrays on 1 + 1 + 8 + 2 + 1 = 13 tiles; bottleneck conv1 at 18,816 cycles; latency
  // 18,816 + 6,400 + 64 + 64 + 40 = 25,384 cycles. Weight cells 8 x (150 + 2400 + 48000 + 10080 + 840)
  // = 8 x 61,470 = 491,760 of 42 x 16,384 = 688,128 cells: utilisation 0.7146.
  const NetworkRequest net = network("lenet5", "1x28x28", kDemoChip);
  MapSpec spec = chip(128, 128, 4, 4);
  const Mapping m = map_network(net, spec);
  ASSERT_TRUE(m.feasible);
  const std::vector<std::int64_t> arrays{1, 2, 32, 6, 1}, tiles{1, 1, 8, 2, 1}, cycles{18816, 6400, 64, 64, 40};
  ASSERT_EQ(m.layers.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(m.layers[i].arrays, arrays[i]) << net.layers[i].name;
    EXPECT_EQ(m.layers[i].tiles, tiles[i]) << net.layers[i].name;
    EXPECT_EQ(m.layers[i].stage_cycles, cycles[i]) << net.layers[i].name;
  }
  EXPECT_EQ(m.arrays, 42);
  EXPECT_EQ(m.tiles, 13);
  // Per step of one copy (the PPA model's action counts): fc1 has 4 row blocks, each converting all
  // 120 x 8 = 960 columns (3,840 conversions), and 8 column blocks each driving the 400 rows (3,200 row
  // activations); its 48,000 weights sit on 384,000 cells. conv1: 48 conversions, 25 rows.
  EXPECT_EQ(m.layers[2].columns_converted, 3840);
  EXPECT_EQ(m.layers[2].rows_driven, 3200);
  EXPECT_EQ(m.layers[2].cells_read, 384000);
  EXPECT_EQ(m.layers[0].columns_converted, 48);
  EXPECT_EQ(m.layers[0].rows_driven, 25);
  EXPECT_EQ(net.layers[static_cast<std::size_t>(m.bottleneck)].name, "conv1");
  EXPECT_EQ(m.cycles_per_inference, 18816);
  EXPECT_EQ(m.latency_cycles, 25384);
  EXPECT_NEAR(m.utilisation, 491760.0 / 688128.0, 1e-12);
  // Traffic conv1 -> conv2 crosses ReLU and pooling: 6 x 14 x 14 activations x 8 bits.
  ASSERT_FALSE(net.traffic.empty());
  EXPECT_EQ(net.traffic[0].from, 0);
  EXPECT_EQ(net.traffic[0].to, 1);
  EXPECT_DOUBLE_EQ(net.traffic[0].bits, 6 * 14 * 14 * 8);
}

TEST(Golden, Vgg8OnTheCoMNTemplate) {
  // configs/chips/comn.yaml: 1024 x 1024 arrays, S = 4, P = 2: n = 128 outputs per array; 8-bit DAC
  // (1 input cycle); 4 ADCs per single-array macro: ceil(columns used / 4) conversions per step.
  //   conv1 27 x 32:   1 array,  256 columns ->  64, 1,024 positions: 65,536 cycles
  //   conv2 288 x 32:  1 array,  256 ->  64, 1,024: 65,536
  //   conv3 288 x 64:  1 array,  512 -> 128, 256:   32,768
  //   conv4 576 x 64:  1 array,  512 -> 128, 256:   32,768
  //   conv5 576 x 128: 1 array, 1024 -> 256, 64:    16,384
  //   conv6 1152 x 128: 2 arrays, 256, 64:         16,384
  //   fc1 2048 x 256:  2 x 2 = 4 arrays, 256, 1:      256
  //   fc2 256 x 10:    1 array,  80 ->  20, 1:         20
  // 12 arrays on 8 tiles (4 arrays per tile); bottleneck conv1 (the first of the two slowest);
  // latency 2 (65,536 + 32,768 + 16,384) + 256 + 20 = 229,652 cycles.
  const NetworkRequest net = network("vgg8", "3x32x32", R"(
device: {preset: rram}
array: {rows: 1024, cols: 1024}
mapping: {signed: differential, weight_bits: 8, cell_bits: 2, input: multilevel, input_bits: 8, dac_bits: 8}
)");
  MapSpec spec = chip(1024, 1024, 16, 16);
  spec.hierarchy.macro.adcs = 4;
  const Mapping m = map_network(net, spec);
  ASSERT_TRUE(m.feasible);
  const std::vector<std::int64_t> arrays{1, 1, 1, 1, 1, 2, 4, 1};
  const std::vector<std::int64_t> cycles{65536, 65536, 32768, 32768, 16384, 16384, 256, 20};
  ASSERT_EQ(m.layers.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(m.layers[i].arrays, arrays[i]) << net.layers[i].name;
    EXPECT_EQ(m.layers[i].stage_cycles, cycles[i]) << net.layers[i].name;
  }
  EXPECT_EQ(m.arrays, 12);
  EXPECT_EQ(m.tiles, 8);
  EXPECT_EQ(net.layers[static_cast<std::size_t>(m.bottleneck)].name, "conv1");
  EXPECT_EQ(m.latency_cycles, 229652);
}

TEST(Golden, Vgg8DoesNotFitTheDemoChip) {
  // On the demo chip VGG-8 needs 2 + 6 + 12 + 20 + 40 + 72 + 256 + 2 = 410 arrays (n = 16 outputs per
  // array) in 1 + 2 + 3 + 5 + 10 + 18 + 64 + 1 = 104 tiles; the 4 x 4 mesh has 16: short of
  // (104 - 16) x 4 = 352 arrays.
  const NetworkRequest net = network("vgg8", "3x32x32", kDemoChip);
  const Mapping m = map_network(net, chip(128, 128, 4, 4));
  EXPECT_FALSE(m.feasible);
  EXPECT_EQ(m.arrays, 410);
  EXPECT_EQ(m.tiles, 104);
  EXPECT_EQ(m.shortfall_arrays, 352);
  EXPECT_TRUE(m.placement.slot_layer.empty());
}

TEST(Pipeline, LatencyNeverSlowerAndBalancedInBetween) {
  for (const char* model : {"lenet5", "vgg8", "resnet20"}) {
    const NetworkRequest net = network(model, "3x32x32", kDemoChip);
    for (int side : {12, 16, 24}) {
      MapSpec spec = chip(128, 128, side, side);
      const Mapping area = map_network(net, spec, {false});
      if (!area.feasible) continue;
      spec.pipeline.mode = PipelineMode::kLatency;
      const Mapping latency = map_network(net, spec, {false});
      spec.pipeline.mode = PipelineMode::kBalanced;
      const Mapping balanced = map_network(net, spec, {false});
      SCOPED_TRACE(::testing::Message() << model << " on " << side << "x" << side);
      EXPECT_LE(latency.cycles_per_inference, area.cycles_per_inference);
      EXPECT_LE(latency.tiles, latency.tiles_available);
      EXPECT_GE(balanced.arrays, area.arrays);
      EXPECT_LE(balanced.arrays, latency.arrays);
      EXPECT_LE(balanced.cycles_per_inference, area.cycles_per_inference);
      EXPECT_GE(balanced.cycles_per_inference, latency.cycles_per_inference);
      // Balanced is the best throughput per array of the states it passed through, area included.
      EXPECT_LE(static_cast<double>(balanced.cycles_per_inference) * balanced.arrays,
                static_cast<double>(area.cycles_per_inference) * area.arrays);
      EXPECT_GT(latency.utilisation, 0.0);
      EXPECT_LE(latency.utilisation, 1.0);
      std::int64_t copies = 0;
      for (const auto& l : latency.layers) {
        EXPECT_LE(l.copies, net.layers[static_cast<std::size_t>(l.layer)].positions);
        copies += l.copies;
      }
      EXPECT_EQ(copies, latency.copies);
    }
  }
}

TEST(Pipeline, StageCyclesAndLatencyAddUp) {
  const NetworkRequest net = network("resnet20", "3x32x32", kDemoChip);
  MapSpec spec = chip(128, 128, 24, 24);
  spec.pipeline.mode = PipelineMode::kLatency;
  const Mapping m = map_network(net, spec, {false});
  std::int64_t sum = 0, worst = 0, arrays = 0;
  for (const auto& l : m.layers) {
    sum += l.stage_cycles;
    worst = std::max(worst, l.stage_cycles);
    arrays += l.arrays;
    EXPECT_EQ(l.arrays, l.arrays_per_copy * l.copies);
  }
  EXPECT_EQ(m.latency_cycles, sum);
  EXPECT_EQ(m.cycles_per_inference, worst);
  EXPECT_EQ(m.arrays, arrays);
}

TEST(Placement, NeverWorseThanRowMajorAndReproducible) {
  for (const char* model : {"lenet5", "resnet20", "vgg8"}) {
    const NetworkRequest net = network(model, "3x32x32", kDemoChip);
    MapSpec spec = chip(128, 128, 12, 12);
    spec.pipeline.mode = PipelineMode::kBalanced;
    spec.placement.iterations = 5000;
    spec.placement.seed = 11;
    const Mapping a = map_network(net, spec);
    ASSERT_TRUE(a.feasible) << model;
    EXPECT_LE(a.placement.traffic_hops, a.placement.row_major_traffic_hops) << model;
    const Mapping b = map_network(net, spec);
    EXPECT_EQ(a.placement.slot_layer, b.placement.slot_layer) << model;
    // The reported cost is the cost of the reported assignment, and each layer has its tiles.
    EXPECT_DOUBLE_EQ(a.placement.traffic_hops,
                     traffic_hops(a.placement.slot_layer, 12, 12, static_cast<int>(net.layers.size()), net.traffic));
    ASSERT_EQ(a.units.size(), a.layers.size());  // no packing: one unit per layer, in order
    for (std::size_t l = 0; l < a.layers.size(); ++l)
      EXPECT_EQ(std::count(a.placement.slot_layer.begin(), a.placement.slot_layer.end(), static_cast<int>(l)),
                a.layers[l].tiles);
    EXPECT_GT(a.placement.max_link_bits, 0.0) << model;
  }
}

TEST(Placement, PairCostMatchesBruteForce) {
  // Two layers on a 3 x 2 mesh: layer 0 at (0,0), (2,1); layer 1 at (1,0). 100 bits spread over the 2 pairs:
  // hops 1 and 2 -> 50 x 1 + 50 x 2 = 150.
  const std::vector<int> slots{0, 1, -1, -1, -1, 0};
  EXPECT_DOUBLE_EQ(traffic_hops(slots, 3, 2, 2, {Traffic{0, 1, 100.0}}), 150.0);
}

TEST(Network, LayerRulesReachTheMapping) {
  const NetworkRequest net = network("lenet5", "1x28x28", std::string(kDemoChip) + R"(
layers:
  conv1: {digital: true}
  "fc*": {mapping: {weight_bits: 4}, adc: {bits: 6}}
)");
  ASSERT_EQ(net.layers.size(), 4u);  // conv1 runs on digital units
  EXPECT_EQ(net.layers[0].name, "conv2");
  EXPECT_EQ(net.layers[0].mapping.weight_bits, 8);
  EXPECT_EQ(net.layers[1].mapping.weight_bits, 4);
  EXPECT_EQ(net.layers[1].adc_bits, 6);
  const auto conv1 = std::find_if(net.digital.begin(), net.digital.end(), [](const DigitalWork& d) { return d.name == "conv1"; });
  ASSERT_NE(conv1, net.digital.end());
  EXPECT_EQ(conv1->unit, "matmul");
  EXPECT_EQ(conv1->ops, 784 * 25 * 6);
  const Mapping m = map_network(net, chip(128, 128, 4, 4), {false});
  EXPECT_EQ(m.layers[1].slices, 2);  // 4-bit weights on 2-bit cells
}

TEST(Network, DigitalWorkIsCounted) {
  const NetworkRequest net = network("lenet5", "1x28x28", kDemoChip);
  std::map<std::string, std::int64_t> ops;
  for (const auto& d : net.digital) ops[d.name] = d.ops;
  // pool1: 6 x 14 x 14 outputs of a 2 x 2 window.
  bool found_pool = false;
  for (const auto& d : net.digital)
    if (d.op == "MaxPool" && d.output_elements == 6 * 14 * 14) {
      EXPECT_EQ(d.ops, 6 * 14 * 14 * 4);
      EXPECT_EQ(d.unit, "pool");
      found_pool = true;
    }
  EXPECT_TRUE(found_pool);
}

TEST(LayerRules, ResolutionOrderAndChecks) {
  const xbar::ChipConfig c = load(R"(
adc: {bits: 8}
layers:
  "conv*": {adc: {bits: 5}}
  conv2: {adc: {bits: 7}, digital: true}
)");
  EXPECT_EQ(xbar::chip_for_layer(c, "conv1").chip.array.adc.bits, 5);
  const xbar::LayerChip conv2 = xbar::chip_for_layer(c, "conv2");
  EXPECT_EQ(conv2.chip.array.adc.bits, 7);  // the later entry wins
  EXPECT_TRUE(conv2.digital);
  EXPECT_EQ(conv2.patterns.size(), 2u);
  EXPECT_EQ(xbar::chip_for_layer(c, "fc1").chip.array.adc.bits, 8);
  EXPECT_THROW(xbar::check_layer_rules(c, {"fc1", "fc2"}), core::ConfigError);
  EXPECT_NO_THROW(xbar::check_layer_rules(c, {"conv1", "conv2"}));
  EXPECT_THROW(load("layers: {conv1: {array: {rows: 64}}}"), core::ConfigError);
  EXPECT_THROW(load("layers: {conv1: {adcc: {bits: 4}}}"), core::ConfigError);
  EXPECT_THROW(load("layers: {conv1: {adc: {bits: 0}}}"), core::ConfigError);
  EXPECT_THROW(load("layers: {conv1: {digital: maybe}}"), core::ConfigError);
}

}  // namespace
}  // namespace cimlab::mapper
