// The layer table (crossbar or digital, weights, parameters, MACs) and the zoo graphs: the same
// parameter counts as the LibTorch models (nn/models.hpp), MACs counted by hand, attention digital.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "core/errors.hpp"
#include "graph/graph.hpp"
#include "graph/zoo.hpp"

namespace cimlab::graph {
namespace {

const LayerInfo& row_named(const std::vector<LayerInfo>& rows, const std::string& name) {
  for (const LayerInfo& r : rows)
    if (r.name == name) return r;
  throw std::runtime_error("no layer " + name);
}

int zeros(Graph& g, const std::string& name, const Shape& shape) {
  Constant c;
  c.shape = shape;
  c.f.assign(static_cast<std::size_t>(numel(shape)), 0.0F);
  return g.add_constant(name, std::move(c));
}

// A node whose output shape is set by hand (these tests do not need shape inference).
int add(Graph& g, const std::string& op, std::vector<int> inputs, const Shape& out, Attributes a = {}) {
  const int y = g.add_value(op + std::to_string(g.nodes.size()));
  g.value(y).shape = out;
  g.value(y).shape_known = true;
  g.add_node({op + std::to_string(g.nodes.size()), op, std::move(inputs), {y}, std::move(a)});
  return y;
}

TEST(LayerTable, CrossbarRowsColumnsAndGroups) {
  Graph g;
  const int x = g.add_input("x", {2, 8, 6, 6});  // batch 2: figures are per input
  Attributes grouped;
  grouped.set("group", std::int64_t{2});
  const int c = add(g, "Conv", {x, zeros(g, "w", {12, 4, 3, 3}), zeros(g, "b", {12})}, {2, 12, 4, 4}, grouped);
  const int f = add(g, "Flatten", {c}, {2, 192});
  Attributes trans_b;
  trans_b.set("transB", std::int64_t{1});
  const int y = add(g, "Gemm", {f, zeros(g, "fc", {10, 192}), zeros(g, "fc_b", {10})}, {2, 10}, trans_b);
  const int z = add(g, "MatMul", {zeros(g, "left", {5, 2}), y}, {5, 10});  // weight x activation, weight on the left
  g.outputs = {z};
  const auto rows = layer_table(g);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].unit, Unit::kCrossbar);
  EXPECT_EQ(rows[0].rows, 4 * 3 * 3);
  EXPECT_EQ(rows[0].cols, 6);
  EXPECT_EQ(rows[0].groups, 2);
  EXPECT_EQ(rows[0].weights, 12 * 4 * 9);
  EXPECT_EQ(rows[0].params, 12 * 4 * 9 + 12);
  EXPECT_EQ(rows[0].macs, 12 * 4 * 4 * 36);
  EXPECT_EQ(rows[1].unit, Unit::kDigital);
  EXPECT_EQ(rows[2].rows, 192);
  EXPECT_EQ(rows[2].cols, 10);
  EXPECT_EQ(rows[2].macs, 192 * 10);
  EXPECT_EQ(rows[3].unit, Unit::kCrossbar);
  EXPECT_EQ(rows[3].rows, 2);
  EXPECT_EQ(rows[3].cols, 5);
  EXPECT_EQ(rows[3].input_shapes, (std::vector<Shape>{{2, 10}}));
  const Totals t = totals(rows);
  EXPECT_EQ(t.crossbar_layers, 3);
  EXPECT_EQ(t.crossbar_weights, 432 + 1920 + 10);
}

TEST(LayerTable, ParametersExcludeStatisticsAndFixedFactorsAndCountSharedConstantsOnce) {
  Graph g;
  const int x = g.add_input("x", {1, 4, 2, 2});
  const int bn = add(g, "BatchNormalization",
                     {x, zeros(g, "s", {4}), zeros(g, "b", {4}), zeros(g, "mean", {4}), zeros(g, "var", {4})},
                     {1, 4, 2, 2});
  Constant half;
  half.f = {0.5F};
  const int m = add(g, "Mul", {bn, g.add_constant("half", half)}, {1, 4, 2, 2});  // a fixed factor
  const int shared = zeros(g, "shared", {1, 4, 2, 2});
  const int a = add(g, "Add", {m, shared}, {1, 4, 2, 2});
  const int y = add(g, "Add", {a, shared}, {1, 4, 2, 2});
  g.outputs = {y};
  const auto rows = layer_table(g);
  EXPECT_EQ(rows[0].params, 8);
  EXPECT_EQ(rows[1].params, 0);
  EXPECT_EQ(rows[2].params, 16);
  EXPECT_EQ(rows[3].params, 0);
  EXPECT_EQ(totals(rows).crossbar_layers, 0);
}

TEST(LayerTable, ActivationProductsAreDigitalMacs) {
  Graph g;
  const int q = g.add_input("q", {1, 4, 17, 16});
  const int k = g.add_input("k", {1, 4, 16, 17});
  const int s = add(g, "MatMul", {q, k}, {1, 4, 17, 17});
  g.outputs = {s};
  const auto rows = layer_table(g);
  EXPECT_EQ(unit_of(g, g.nodes[0]), Unit::kDigital);
  EXPECT_EQ(rows[0].macs, 4 * 17 * 17 * 16);
  EXPECT_EQ(totals(rows).digital_macs, 4 * 17 * 17 * 16);
  EXPECT_EQ(totals(rows).macs, 0);
}

TEST(LayerTable, UnknownShapesAreAnError) {
  Graph g;
  const int x = g.add_input("x", {1, 4});
  const int y = g.add_value("y");
  g.add_node({"relu", "Relu", {x}, {y}, {}});
  g.outputs = {y};
  EXPECT_THROW(layer_table(g), core::ModelError);
}

struct ZooFigures {
  std::int64_t params, crossbar_layers, crossbar_weights;
};

// Parameters: the figures of nn/models.hpp (BN counts weight and bias, not its running statistics, as
// torch's count_parameters). Crossbar weights: conv and linear weights, biases excluded.
const std::map<std::string, ZooFigures>& zoo_figures() {
  static const std::map<std::string, ZooFigures> f{{"mlp", {235146, 3, 784 * 256 + 256 * 128 + 128 * 10}},
                                                   {"lenet5", {61706, 5, 150 + 2400 + 48000 + 10080 + 840}},
                                                   {"vgg8", {584618, 8, 285984 + 1152 * 256 + 2560}},
                                                   {"resnet20", {272186, 22, 270608}},
                                                   {"vit", {139018, 18, 3136 + 4 * 32768 + 640}}};
  return f;
}

class ZooGraph : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooGraph, SameParametersAndWeightLayersAsTheTorchModel) {
  const Graph g = zoo_graph(GetParam());
  const Totals t = totals(layer_table(g));
  const ZooFigures& f = zoo_figures().at(GetParam());
  EXPECT_EQ(t.params, f.params);
  EXPECT_EQ(t.crossbar_layers, f.crossbar_layers);
  EXPECT_EQ(t.crossbar_weights, f.crossbar_weights);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 10}));
}

TEST_P(ZooGraph, FiguresArePerInputWhateverTheBatch) {
  const Totals one = totals(layer_table(zoo_graph(GetParam())));
  const Graph g4 = zoo_graph(GetParam(), 1, 28, 4);
  const Totals four = totals(layer_table(g4));
  EXPECT_EQ(g4.value(g4.outputs[0]).shape, (Shape{4, 10}));
  EXPECT_EQ(four.macs, one.macs);
  EXPECT_EQ(four.digital_macs, one.digital_macs);
  EXPECT_EQ(four.crossbar_weights, one.crossbar_weights);
  // The ViT's class token stays one 1 x 1 x 64 parameter, expanded to the batch at run time.
  EXPECT_EQ(four.params, one.params);
}

INSTANTIATE_TEST_SUITE_P(All, ZooGraph, ::testing::ValuesIn(zoo_names()), [](const auto& info) { return info.param; });

TEST(ZooGraphs, LeNet5MacsByHand) {
  const auto rows = layer_table(zoo_graph("lenet5"));
  EXPECT_EQ(row_named(rows, "conv1").macs, 6 * 28 * 28 * 25);  // 117,600
  EXPECT_EQ(row_named(rows, "conv1").rows, 25);
  EXPECT_EQ(row_named(rows, "conv1").cols, 6);
  EXPECT_EQ(row_named(rows, "conv2").macs, 16 * 10 * 10 * 150);  // 240,000
  EXPECT_EQ(row_named(rows, "conv2").rows, 150);
  EXPECT_EQ(row_named(rows, "fc1").macs, 400 * 120);
  EXPECT_EQ(row_named(rows, "fc1").weight_shape, (Shape{120, 400}));
  EXPECT_EQ(row_named(rows, "fc1").rows, 400);
  EXPECT_EQ(row_named(rows, "fc1").cols, 120);
  const Totals t = totals(rows);
  EXPECT_EQ(t.macs, 117600 + 240000 + 48000 + 10080 + 840);  // 416,520
  EXPECT_EQ(t.digital_macs, 0);
  EXPECT_EQ(t.layers, 12);
}

TEST(ZooGraphs, Vgg8MacsByHand) {
  // 3x3 convs at 28 x 28 (1->32, 32->32), 14 x 14 (32->64, 64->64), 7 x 7 (64->128, 128->128), fc 1152-256-10.
  const std::int64_t convs = 784 * 32 * 9 * (1 + 32) + 196 * 64 * 9 * (32 + 64) + 49 * 128 * 9 * (64 + 128);
  EXPECT_EQ(totals(layer_table(zoo_graph("vgg8"))).macs, convs + 1152 * 256 + 256 * 10);
}

TEST(ZooGraphs, VitAttentionProductsAreDigital) {
  const Graph g = zoo_graph("vit");
  const auto rows = layer_table(g);
  for (int b = 1; b <= 4; ++b) {
    for (const char* product : {"scores", "context"}) {
      const LayerInfo& r = row_named(rows, fmt::format("block{}.attention.{}", b, product));
      EXPECT_EQ(r.op, "MatMul");
      EXPECT_EQ(r.unit, Unit::kDigital) << r.name;
      EXPECT_EQ(r.macs, 4 * 17 * 17 * 16) << r.name;  // 4 heads, 17 tokens, head dimension 16
    }
  }
  const LayerInfo& qkv = row_named(rows, "block1.attention.qkv");
  EXPECT_EQ(qkv.unit, Unit::kCrossbar);
  EXPECT_EQ(qkv.rows, 64);
  EXPECT_EQ(qkv.cols, 192);
  EXPECT_EQ(qkv.macs, 17 * 64 * 192);
  EXPECT_EQ(row_named(rows, "patch_embed").rows, 49);
  const Totals t = totals(rows);
  EXPECT_EQ(t.digital_macs, 4 * 2 * 4 * 17 * 17 * 16);
  EXPECT_EQ(t.macs, 16 * 49 * 64 + 4 * 17 * (64 * 192 + 64 * 64 + 2 * 64 * 128) + 64 * 10);
}

TEST(ZooGraphs, OtherImageShapesAndShapesAModelCannotTake) {
  EXPECT_EQ(totals(layer_table(zoo_graph("vgg8", 3, 32))).params, 814570);  // as nn's test at 3 x 32 x 32
  EXPECT_THROW(zoo_graph("vit", 3, 30), core::ModelError);
  EXPECT_THROW(zoo_graph("lenet5", 1, 8), core::ModelError);
  EXPECT_THROW(zoo_graph("mlp", 0, 28), core::ModelError);
  EXPECT_THROW(zoo_graph("mlp", 1, 28, 0), core::ModelError);
}

TEST(ZooGraphs, UnknownNameSuggestsTheClosest) {
  try {
    zoo_graph("lenet");
    FAIL();
  } catch (const core::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'lenet5'"), std::string::npos) << e.what();
  }
}

TEST(ZooGraphs, JsonHoldsTheContractKeys) {
  const Graph g = zoo_graph("lenet5");
  const nlohmann::json j = to_json(g, layer_table(g));
  for (const char* key : {"model", "inputs", "outputs", "layers", "totals"}) EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"layers", "crossbar_layers", "crossbar_weights", "macs", "digital_macs", "params"})
    EXPECT_TRUE(j["totals"].contains(key)) << key;
  EXPECT_EQ(j["model"], "lenet5");
  EXPECT_EQ(j["inputs"][0]["shape"], (Shape{1, 1, 28, 28}));
  EXPECT_EQ(j["totals"]["crossbar_weights"], 61470);
  const nlohmann::json& conv1 = j["layers"][0];
  for (const char* key : {"name", "op", "inputs", "output", "weight_shape", "weights", "params", "macs", "unit", "rows",
                          "cols", "groups"})
    EXPECT_TRUE(conv1.contains(key)) << key;
  EXPECT_EQ(conv1["unit"], "crossbar");
  EXPECT_EQ(conv1["weight_shape"], (Shape{6, 1, 5, 5}));
  const std::string text = to_text(g, layer_table(g));
  EXPECT_NE(text.find("416,520"), std::string::npos) << text;
}

}  // namespace
}  // namespace cimlab::graph
