// ONNX export and the models PyTorch exported (tests/fixtures/onnx, opset 13): layer counts and output
// shapes, and the round trip import -> export -> import giving the same graph, constants bit-exact.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "core/errors.hpp"
#include "graph/onnx.hpp"
#include "graph/zoo.hpp"
#include "onnx_test_models.hpp"

namespace cimlab::graph {
namespace {

std::string fixture(const std::string& name) { return std::string(CIMLAB_TEST_DATA_DIR) + "/fixtures/onnx/" + name + ".onnx"; }

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (const Node& n : g.nodes) ++counts[n.op];
  return counts;
}

bool same_bits(const Constant& a, const Constant& b) {
  if (a.dtype != b.dtype || a.shape != b.shape || a.f.size() != b.f.size() || a.i != b.i) return false;
  return a.f.empty() || std::memcmp(a.f.data(), b.f.data(), a.f.size() * sizeof(float)) == 0;
}

// Same nodes (names, ops, attributes, inputs and outputs by name), same values (shapes, types) and the
// same constants bit for bit.
void expect_same_graph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (std::size_t n = 0; n < a.nodes.size(); ++n) {
    const Node &x = a.nodes[n], &y = b.nodes[n];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.op, y.op);
    EXPECT_EQ(x.attrs.all(), y.attrs.all()) << x.name;
    ASSERT_EQ(x.inputs.size(), y.inputs.size()) << x.name;
    for (std::size_t k = 0; k < x.inputs.size(); ++k) {
      ASSERT_EQ(x.inputs[k] < 0, y.inputs[k] < 0);
      if (x.inputs[k] >= 0) {
        EXPECT_EQ(a.value(x.inputs[k]).name, b.value(y.inputs[k]).name);
      }
    }
    ASSERT_EQ(x.outputs.size(), y.outputs.size());
    for (std::size_t k = 0; k < x.outputs.size(); ++k)
      EXPECT_EQ(a.value(x.outputs[k]).name, b.value(y.outputs[k]).name);
  }
  ASSERT_EQ(a.values.size(), b.values.size());
  for (const Value& v : a.values) {
    const int id = b.find(v.name);
    ASSERT_GE(id, 0) << v.name;
    const Value& w = b.value(id);
    EXPECT_EQ(v.shape, w.shape) << v.name;
    EXPECT_EQ(v.dtype, w.dtype) << v.name;
    ASSERT_EQ(v.constant >= 0, w.constant >= 0) << v.name;
    if (v.constant >= 0) {
      EXPECT_TRUE(same_bits(a.constants[static_cast<std::size_t>(v.constant)],
                            b.constants[static_cast<std::size_t>(w.constant)])) << v.name;
    }
  }
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  for (std::size_t k = 0; k < a.inputs.size(); ++k) EXPECT_EQ(a.value(a.inputs[k]).name, b.value(b.inputs[k]).name);
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (std::size_t k = 0; k < a.outputs.size(); ++k) EXPECT_EQ(a.value(a.outputs[k]).name, b.value(b.outputs[k]).name);
}

TEST(OnnxFixtures, LeNet) {
  const Graph g = import_onnx(fixture("lenet"));
  EXPECT_EQ(g.nodes.size(), 12u);
  EXPECT_EQ(op_counts(g), (std::map<std::string, int>{{"Conv", 2}, {"Relu", 4}, {"MaxPool", 2}, {"Flatten", 1}, {"Gemm", 3}}));
  EXPECT_EQ(g.value(g.inputs[0]).shape, (Shape{1, 1, 28, 28}));
  EXPECT_EQ(g.value(g.outputs[0]).name, "logits");
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 10}));
  EXPECT_EQ(totals(layer_table(g)).crossbar_layers, 5);
  ImportOptions batch2;
  batch2.batch = 2;
  const Graph g2 = import_onnx(fixture("lenet"), batch2);
  EXPECT_EQ(g2.value(g2.outputs[0]).shape, (Shape{2, 10}));
}

TEST(OnnxFixtures, ResNetBlock) {
  const Graph g = import_onnx(fixture("resnet_block"));
  EXPECT_EQ(op_counts(g), (std::map<std::string, int>{{"Conv", 3}, {"Relu", 2}, {"Add", 1}, {"GlobalAveragePool", 1},
                                                      {"Flatten", 1}, {"Gemm", 1}}));
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 10}));
  EXPECT_EQ(totals(layer_table(g)).crossbar_layers, 4);
}

TEST(OnnxFixtures, DepthwiseSeparable) {
  const Graph g = import_onnx(fixture("dwsep"));  // Clip's min/max come as Constant nodes
  EXPECT_EQ(op_counts(g), (std::map<std::string, int>{{"Conv", 2}, {"Clip", 2}, {"GlobalAveragePool", 1},
                                                      {"Flatten", 1}, {"Gemm", 1}}));
  const auto rows = layer_table(g);
  EXPECT_EQ(rows[0].groups, 8);
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 10}));
}

TEST(OnnxFixtures, TransformerEncoderFoldsItsShapeArithmetic) {
  ImportOptions batch2;
  batch2.batch = 2;
  const Graph g = import_onnx(fixture("transformer"), batch2);
  EXPECT_EQ(g.value(g.inputs[0]).dtype, DType::kInt64);
  EXPECT_EQ(g.value(g.inputs[0]).shape, (Shape{2, 8}));
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{2, 10}));
  const auto counts = op_counts(g);
  for (const char* folded : {"Shape", "Constant", "ConstantOfShape", "Cast", "Unsqueeze", "Concat"})
    EXPECT_EQ(counts.count(folded), 0u) << folded;
  EXPECT_EQ(counts.at("Softmax"), 2);
  EXPECT_EQ(counts.at("Erf"), 2);
  const Totals t = totals(layer_table(g));
  EXPECT_EQ(t.crossbar_layers, 9);  // per layer: fused QKV, out projection, 2 feed-forward; plus the head
  EXPECT_GT(t.digital_macs, 0);      // attention: activation x activation
}

class OnnxRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxRoundTrip, ImportExportImportIsTheSameGraph) {
  const Graph first = import_onnx(fixture(GetParam()));
  const std::string path = ::testing::TempDir() + "/cimlab_roundtrip_" + GetParam() + ".onnx";
  export_onnx(first, path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const Graph second = import_onnx(path);
  expect_same_graph(first, second);

  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(export_onnx_bytes(first)));
  EXPECT_EQ(model.ir_version(), 8);
  EXPECT_EQ(model.opset_import(0).version(), 17);
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_NO_THROW(onnx::checker::check_model(model));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OnnxRoundTrip, ::testing::Values("lenet", "resnet_block", "dwsep", "transformer"));

TEST(OnnxExport, RoundTripOfBuiltModelsAndFoldedBatchNorm) {
  testing::ModelBuilder m;
  m.input("x", {-1, 2, 5, 5}, onnx::TensorProto::FLOAT, {"N"});
  m.weight("w", {3, 2, 3, 3}, testing::ramp(54));
  for (const char* p : {"s", "b", "mu"}) m.weight(p, {3}, testing::ramp(3, 5));
  m.weight("v", {3}, {1.0f, 2.0f, 3.0f});
  testing::set_ints(m.node("Conv", {"x", "w"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  m.node("BatchNormalization", {"c", "s", "b", "mu", "v"}, {"bn"}, "bn");
  m.node("Relu", {"bn"}, {"y"}, "relu");
  m.output("y");
  const Graph first = m.import();
  const Graph second = import_onnx_bytes(export_onnx_bytes(first), "exported.onnx");
  expect_same_graph(first, second);
  const Graph mlp = testing::mlp_model().import();
  expect_same_graph(mlp, import_onnx_bytes(export_onnx_bytes(mlp), "mlp.onnx"));
}

TEST(OnnxExport, ZooGraphsExportValidOnnxThatImportsBack) {
  for (const std::string& name : zoo_names()) {
    const bool gray = name == "mlp" || name == "lenet5";
    const Graph g = zoo_graph(name, gray ? 1 : 3, gray ? 28 : 32);
    onnx::ModelProto model;
    ASSERT_TRUE(model.ParseFromString(export_onnx_bytes(g))) << name;
    EXPECT_NO_THROW(onnx::checker::check_model(model)) << name;
    ImportOptions keep_bn;
    keep_bn.fold_batch_norm = false;
    const Graph back = import_onnx_bytes(model.SerializeAsString(), name + ".onnx", keep_bn);
    std::vector<std::string> ops_before, ops_after;
    for (const Node& n : g.nodes) ops_before.push_back(n.op);
    for (const Node& n : back.nodes) ops_after.push_back(n.op);
    EXPECT_EQ(ops_before, ops_after) << name;
    EXPECT_EQ(back.value(back.outputs[0]).shape, g.value(g.outputs[0]).shape) << name;
  }
}

TEST(OnnxExport, UnwritablePathIsAnInputError) {
  const Graph g = testing::mlp_model().import();
  EXPECT_THROW(export_onnx(g, "/nonexistent-dir/model.onnx"), core::InputError);
}

}  // namespace
}  // namespace cimlab::graph
