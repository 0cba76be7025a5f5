// ONNX import: models built here as ModelProtos (positive cases and every kind of bad model, each with the
// words of its message), BatchNorm folding checked numerically against a direct convolution.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/errors.hpp"
#include "graph/onnx.hpp"
#include "onnx_test_models.hpp"

namespace cimlab::graph {
namespace {

using testing::ModelBuilder;
using testing::ramp;
using testing::set_float;
using testing::set_int;
using testing::set_ints;

std::vector<std::string> ops(const Graph& g) {
  std::vector<std::string> r;
  for (const Node& n : g.nodes) r.push_back(n.op);
  return r;
}

const Node& node_named(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return n;
  throw std::runtime_error("no node " + name);
}

// The message of the error `f` throws as type E (fails the test when it throws nothing or another type).
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(OnnxImport, GemmReluMlp) {
  const Graph g = testing::mlp_model().import();
  EXPECT_EQ(ops(g), (std::vector<std::string>{"Gemm", "Relu", "Gemm"}));
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.value(g.inputs[0]).shape, (Shape{1, 4}));
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.value(g.outputs[0]).name, "y");
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 3}));
  EXPECT_EQ(g.constants.size(), 4u);
  const int w = g.find("fc1.weight");  // value names are the ONNX tensor names
  ASSERT_GE(w, 0);
  EXPECT_EQ(g.constant_of(w).f, ramp(32, 1));
  EXPECT_EQ(node_named(g, "fc1").attrs.i("transB", 0), 1);
  EXPECT_EQ(unit_of(g, g.nodes[0]), Unit::kCrossbar);

  ImportOptions batch4;
  batch4.batch = 4;
  EXPECT_EQ(testing::mlp_model().import(batch4).value(0).shape.size(), 2u);
  const Graph g4 = testing::mlp_model().import(batch4);
  EXPECT_EQ(g4.value(g4.outputs[0]).shape, (Shape{4, 3}));
}

TEST(OnnxImport, ImportFromFileAndMissingFile) {
  const std::string path = ::testing::TempDir() + "/cimlab_mlp.onnx";
  std::ofstream(path, std::ios::binary) << testing::mlp_model().bytes();
  EXPECT_EQ(import_onnx(path).nodes.size(), 3u);
  const std::string msg = error_of<core::InputError>([] { import_onnx("/nonexistent/model.onnx"); });
  EXPECT_CONTAINS(msg, "/nonexistent/model.onnx");
  EXPECT_CONTAINS(msg, "no such file");
}

// Direct convolution (stride 1, no padding, one group) of x [C,H,W] by w [M,C,K,K] plus bias.
std::vector<float> conv2d(const std::vector<float>& x, int c, int h, int w, const std::vector<float>& k, int m,
                          int ks, const std::vector<float>& bias) {
  const int oh = h - ks + 1, ow = w - ks + 1;
  std::vector<float> y(static_cast<std::size_t>(m * oh * ow));
  for (int o = 0; o < m; ++o)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        double s = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
        for (int ci = 0; ci < c; ++ci)
          for (int a = 0; a < ks; ++a)
            for (int b = 0; b < ks; ++b)
              s += static_cast<double>(x[static_cast<std::size_t>((ci * h + i + a) * w + j + b)]) *
                   k[static_cast<std::size_t>(((o * c + ci) * ks + a) * ks + b)];
        y[static_cast<std::size_t>((o * oh + i) * ow + j)] = static_cast<float>(s);
      }
  return y;
}

TEST(OnnxImport, ConvBatchNormFoldIsNumericallyTheSame) {
  ModelBuilder m;
  m.input("x", {1, 2, 5, 5});
  const auto w = ramp(3 * 2 * 3 * 3, 7), b = ramp(3, 8), gamma = ramp(3, 9), beta = ramp(3, 10), mean = ramp(3, 11);
  std::vector<float> var = ramp(3, 12);
  for (float& v : var) v = v * v + 0.3f;
  m.weight("conv.weight", {3, 2, 3, 3}, w);
  m.weight("conv.bias", {3}, b);
  m.weight("bn.weight", {3}, gamma);
  m.weight("bn.bias", {3}, beta);
  m.weight("bn.running_mean", {3}, mean);
  m.weight("bn.running_var", {3}, var);
  m.node("Conv", {"x", "conv.weight", "conv.bias"}, {"c"}, "conv");
  set_float(m.node("BatchNormalization", {"c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, {"y"}, "bn"),
            "epsilon", 1e-3f);
  // A second conv shares the weight: the shared initializer must stay as it was.
  m.node("Conv", {"x", "conv.weight"}, {"z"}, "other");
  m.output("y");
  m.output("z");
  const Graph g = m.import();
  EXPECT_EQ(ops(g), (std::vector<std::string>{"Conv", "Conv"}));
  const Node& conv = node_named(g, "conv");
  EXPECT_EQ(g.value(conv.outputs[0]).name, "y");
  EXPECT_EQ(g.constant_of(g.find("conv.weight")).f, w);  // not mutated
  EXPECT_EQ(g.input(node_named(g, "other"), 1), g.find("conv.weight"));

  const auto x = ramp(2 * 5 * 5, 13);
  const auto folded = conv2d(x, 2, 5, 5, g.constant_of(conv.inputs[1]).f, 3, 3, g.constant_of(conv.inputs[2]).f);
  const auto plain = conv2d(x, 2, 5, 5, w, 3, 3, b);
  ASSERT_EQ(folded.size(), 3u * 3 * 3);
  for (std::size_t k = 0; k < folded.size(); ++k) {
    const std::size_t o = k / 9;
    const double expected = (plain[k] - mean[o]) * gamma[o] / std::sqrt(var[o] + 1e-3) + beta[o];
    EXPECT_NEAR(folded[k], expected, 1e-5) << k;
  }

  ImportOptions keep;
  keep.fold_batch_norm = false;
  EXPECT_EQ(ops(m.import(keep)), (std::vector<std::string>{"Conv", "BatchNormalization", "Conv"}));
}

TEST(OnnxImport, BatchNormIsNotFoldedWhenTheConvOutputHasOtherUses) {
  ModelBuilder m;
  m.input("x", {1, 1, 4, 4});
  m.weight("w", {2, 1, 1, 1}, {1.0f, 2.0f});
  for (const char* p : {"s", "b", "mu", "v"}) m.weight(p, {2}, {1.0f, 1.0f});
  m.node("Conv", {"x", "w"}, {"c"});
  m.node("BatchNormalization", {"c", "s", "b", "mu", "v"}, {"y"});
  m.node("Relu", {"c"}, {"r"});
  m.output("y");
  m.output("r");
  EXPECT_EQ(ops(m.import()), (std::vector<std::string>{"Conv", "BatchNormalization", "Relu"}));
}

TEST(OnnxImport, IdentityChainsAndDropoutAreRemoved) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.weight("w", {4}, {1, 2, 3, 4});
  m.node("Relu", {"x"}, {"a"}, "relu");
  m.node("Identity", {"a"}, {"b"});
  m.node("Identity", {"b"}, {"c"});
  m.node("Dropout", {"c"}, {"d"});
  m.node("Add", {"d", "w"}, {"e"}, "add");
  m.node("Identity", {"e"}, {"y"}, "out_identity");  // a graph output: the node stays
  m.node("Identity", {"w"}, {"wcopy"});              // a graph output on an initializer
  m.output("y");
  m.output("wcopy");
  const Graph g = m.import();
  EXPECT_EQ(ops(g), (std::vector<std::string>{"Relu", "Add", "Identity"}));
  EXPECT_EQ(g.value(node_named(g, "add").inputs[0]).name, "a");
  const int wcopy = g.outputs[1];
  EXPECT_EQ(g.value(wcopy).name, "wcopy");
  ASSERT_TRUE(g.is_constant(wcopy));
  EXPECT_EQ(g.constant_of(wcopy).f, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(g.constants.size(), 1u);  // the output shares the initializer's data
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 4}));
}

TEST(OnnxImport, DropoutMaskOutputIsAnError) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.node("Dropout", {"x"}, {"d", "mask"}, "drop");
  m.node("Add", {"d", "mask"}, {"y"}, "add");
  m.output("y");
  const std::string msg = error_of<core::ModelError>([&] { m.import(); });
  EXPECT_CONTAINS(msg, "mask output");
  EXPECT_CONTAINS(msg, "'drop'");
}

TEST(OnnxImport, SharedInitializerIsStoredOnce) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.weight("W", {4, 4}, ramp(16));
  m.node("MatMul", {"x", "W"}, {"a"});
  m.node("MatMul", {"a", "W"}, {"b"});
  m.node("MatMul", {"b", "W"}, {"y"});
  m.output("y");
  const Graph g = m.import();
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.constants.size(), 1u);
  for (const Node& n : g.nodes) EXPECT_EQ(n.inputs[1], g.find("W"));
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 4}));
}

TEST(OnnxImport, InitializersListedAsInputsAreNotRuntimeInputs) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.input("W", {4, 2});  // IR < 4 style: the initializer is also a graph input
  m.weight("W", {4, 2}, ramp(8));
  m.node("MatMul", {"x", "W"}, {"y"});
  m.output("y");
  const Graph g = m.import();
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.value(g.inputs[0]).name, "x");
  EXPECT_TRUE(g.is_constant(g.find("W")));
}

TEST(OnnxImport, ConstantNodesBecomeConstants) {
  ModelBuilder m;
  m.input("x", {1, 12});
  auto& shape = m.node("Constant", {}, {"shape"});
  auto* a = shape.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  a->mutable_t()->add_dims(2);
  a->mutable_t()->add_int64_data(3);
  a->mutable_t()->add_int64_data(4);
  m.node("Reshape", {"x", "shape"}, {"r"}, "reshape");
  auto& scale = m.node("Constant", {}, {"scale"});
  set_float(scale, "value_float", 0.5f);
  m.node("Mul", {"r", "scale"}, {"y"}, "mul");
  m.output("y");
  const Graph g = m.import();
  EXPECT_EQ(ops(g), (std::vector<std::string>{"Reshape", "Mul"}));
  const int s = g.find("shape");
  ASSERT_TRUE(g.is_constant(s));
  EXPECT_EQ(g.constant_of(s).dtype, DType::kInt64);
  EXPECT_EQ(g.constant_of(s).i, (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(g.constant_of(g.find("scale")).f, (std::vector<float>{0.5f}));
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{3, 4}));
}

TEST(OnnxImport, TensorTypesAndTypedFields) {
  ModelBuilder m;
  m.input("x", {2});
  auto& d = *m.graph().add_initializer();  // double in double_data -> float
  d.set_name("d");
  d.set_data_type(onnx::TensorProto::DOUBLE);
  d.add_dims(2);
  d.add_double_data(0.25);
  d.add_double_data(-3.0);
  auto& f = *m.graph().add_initializer();  // float in float_data
  f.set_name("f");
  f.set_data_type(onnx::TensorProto::FLOAT);
  f.add_dims(2);
  f.add_float_data(1.5f);
  f.add_float_data(2.5f);
  auto& i32 = *m.graph().add_initializer();  // int32 raw -> int64
  i32.set_name("i32");
  i32.set_data_type(onnx::TensorProto::INT32);
  i32.add_dims(2);
  const std::int32_t raw[2] = {-7, 9};
  i32.set_raw_data(std::string(reinterpret_cast<const char*>(raw), sizeof raw));
  auto& b = *m.graph().add_initializer();  // bool in int32_data
  b.set_name("b");
  b.set_data_type(onnx::TensorProto::BOOL);
  b.add_dims(2);
  b.add_int32_data(1);
  b.add_int32_data(0);
  m.node("Add", {"x", "d"}, {"s1"});
  m.node("Add", {"s1", "f"}, {"s2"});
  m.node("Cast", {"i32"}, {"c"});
  set_int(*m.graph().mutable_node(2), "to", onnx::TensorProto::FLOAT);
  m.node("Add", {"s2", "c"}, {"s3"});
  m.node("Where", {"b", "s3", "x"}, {"y"});
  m.output("y");
  const Graph g = m.import();
  EXPECT_EQ(g.constant_of(g.find("d")).f, (std::vector<float>{0.25f, -3.0f}));
  EXPECT_EQ(g.constant_of(g.find("f")).f, (std::vector<float>{1.5f, 2.5f}));
  EXPECT_EQ(g.constant_of(g.find("b")).dtype, DType::kBool);
  EXPECT_EQ(g.constant_of(g.find("b")).i, (std::vector<std::int64_t>{1, 0}));
  const int c = g.find("c");  // Cast of a constant: folded
  ASSERT_TRUE(g.is_constant(c));
  EXPECT_EQ(g.constant_of(c).f, (std::vector<float>{-7.0f, 9.0f}));
}

TEST(OnnxImport, SymbolicDimensions) {
  ModelBuilder m;
  m.input("x", {-1, -1, -1, 8}, onnx::TensorProto::FLOAT, {"batch", "seq", ""});
  m.node("Relu", {"x"}, {"y"});
  m.output("y");
  ImportOptions o;
  o.batch = 3;
  o.dims["seq"] = 7;
  const Graph g = m.import(o);
  EXPECT_EQ(g.value(g.inputs[0]).shape, (Shape{3, 7, 1, 8}));
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{3, 7, 1, 8}));
  EXPECT_EQ(m.import().value(0).shape, (Shape{1, 1, 1, 8}));
}

TEST(OnnxImport, UnorderedNodesAreSortedAndNamesMadeUp) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.node("Sigmoid", {"b"}, {"y"});
  m.node("Tanh", {"a"}, {"b"});
  m.node("Relu", {"x"}, {"a"});
  m.output("y");
  const Graph g = m.import();
  EXPECT_EQ(ops(g), (std::vector<std::string>{"Relu", "Tanh", "Sigmoid"}));
  EXPECT_EQ(g.nodes[0].name, "Relu_2");  // named after its op and position in the file
  EXPECT_EQ(g.nodes[2].name, "Sigmoid_0");
  EXPECT_NO_THROW(g.check());
}

TEST(OnnxImport, OldOpsetAttributesBecomeInputs) {
  ModelBuilder m(11);
  m.input("x", {1, 3, 1});
  set_ints(m.node("Squeeze", {"x"}, {"s"}, "squeeze"), "axes", {2});
  set_ints(m.node("Unsqueeze", {"s"}, {"u"}, "unsqueeze"), "axes", {0});
  set_int(m.node("Softmax", {"u"}, {"y"}, "softmax"), "axis", -1);
  m.output("y");
  const Graph g = m.import();
  const Node& sq = node_named(g, "squeeze");
  ASSERT_EQ(sq.inputs.size(), 2u);
  EXPECT_EQ(g.constant_of(sq.inputs[1]).i, (std::vector<std::int64_t>{2}));
  EXPECT_FALSE(sq.attrs.has("axes"));
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 1, 3}));

  ModelBuilder flat(11);  // opset-11 Softmax over axis 1 of a 3-D tensor flattens: not representable
  flat.input("x", {1, 3, 4});
  flat.node("Softmax", {"x"}, {"y"}, "sm");
  flat.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { flat.import(); }), "opset 13");
}

TEST(OnnxImport, Opset9SliceAndClipAttributesAndOpset18ReduceAxes) {
  ModelBuilder old(9);
  old.input("x", {1, 6});
  auto& slice = old.node("Slice", {"x"}, {"s"}, "slice");
  set_ints(slice, "starts", {1});
  set_ints(slice, "ends", {5});
  set_ints(slice, "axes", {1});
  auto& clip = old.node("Clip", {"s"}, {"y"}, "clip");
  set_float(clip, "min", 0.0f);
  set_float(clip, "max", 6.0f);
  old.output("y");
  const Graph g = old.import();
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 4}));
  const Node& c = node_named(g, "clip");
  ASSERT_EQ(c.inputs.size(), 3u);
  EXPECT_EQ(g.constant_of(c.inputs[2]).f, (std::vector<float>{6.0f}));
  EXPECT_EQ(node_named(g, "slice").inputs.size(), 4u);

  ModelBuilder next(18);
  next.input("x", {2, 3, 4});
  next.ints("axes", {1}, {-1});
  next.node("ReduceMean", {"x", "axes"}, {"y"}, "mean");
  next.output("y");
  const Graph r = next.import();
  const Node& mean = node_named(r, "mean");
  EXPECT_EQ(mean.inputs.size(), 1u);
  EXPECT_EQ(mean.attrs.ints("axes", {}), (std::vector<std::int64_t>{-1}));
  EXPECT_EQ(r.value(r.outputs[0]).shape, (Shape{2, 3, 1}));
}

// --- bad models: file-level problems are InputError, model-level ones ModelError ---

TEST(OnnxImportErrors, TruncatedFile) {
  const std::string bytes = testing::mlp_model().bytes();
  const std::string msg =
      error_of<core::InputError>([&] { import_onnx_bytes(bytes.substr(0, bytes.size() / 2), "half.onnx"); });
  EXPECT_CONTAINS(msg, "half.onnx: not an ONNX model");
  EXPECT_CONTAINS(msg, "truncated");
}

TEST(OnnxImportErrors, WrongMagicAndEmptyFile) {
  const std::string png = std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) + std::string(64, '\x01');
  EXPECT_CONTAINS(error_of<core::InputError>([&] { import_onnx_bytes(png, "img.onnx"); }), "not an ONNX model (a PNG image)");
  EXPECT_CONTAINS(error_of<core::InputError>([&] { import_onnx_bytes("PK\x03\x04rest", "a.onnx"); }), "zip archive");
  EXPECT_CONTAINS(error_of<core::InputError>([&] { import_onnx_bytes("name: resnet\nlayers: 3\n", "a.onnx"); }),
                  "text file");
  EXPECT_CONTAINS(error_of<core::InputError>([&] { import_onnx_bytes("", "a.onnx"); }), "empty file");
  onnx::ModelProto no_graph;
  no_graph.set_ir_version(7);
  EXPECT_CONTAINS(error_of<core::InputError>([&] { import_onnx_bytes(no_graph.SerializeAsString(), "a.onnx"); }),
                  "no graph");
}

TEST(OnnxImportErrors, CyclicGraph) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.node("Add", {"x", "c"}, {"a"}, "first");
  m.node("Relu", {"a"}, {"b"}, "second");
  m.node("Sigmoid", {"b"}, {"c"}, "third");
  m.output("c");
  const std::string msg = error_of<core::ModelError>([&] { m.import(); });
  EXPECT_CONTAINS(msg, "cyclic graph");
  EXPECT_CONTAINS(msg, "'first' -> 'second' -> 'third' -> 'first'");
}

TEST(OnnxImportErrors, MissingInitializer) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.node("Relu", {"x"}, {"r"}, "relu");
  m.node("Gemm", {"r", "fc.weight"}, {"y"}, "fc");
  m.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { m.import(); }),
                  "node 'fc' (Gemm, position 1): input 'fc.weight' is not produced by any node nor an initializer "
                  "(missing initializer?)");
}

TEST(OnnxImportErrors, ShapeMismatch) {
  ModelBuilder m;
  m.input("x", {3, 4});
  m.weight("w", {5, 2}, ramp(10));
  m.node("MatMul", {"x", "w"}, {"y"}, "mm");
  m.output("y");
  const std::string msg = error_of<core::ModelError>([&] { m.import(); });
  EXPECT_CONTAINS(msg, "node 'mm' (MatMul");
}

TEST(OnnxImportErrors, AbsurdSizes) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.weight("huge", {std::int64_t{1} << 40, 16}, {});
  m.node("Add", {"x", "huge"}, {"y"});
  m.output("y");
  std::string msg = error_of<core::ModelError>([&] { m.import(); });
  EXPECT_CONTAINS(msg, "initializer 'huge'");
  EXPECT_CONTAINS(msg, "2^40");

  ModelBuilder in;
  in.input("x", {std::int64_t{1} << 40, 8});
  in.node("Relu", {"x"}, {"y"});
  in.output("y");
  msg = error_of<core::ModelError>([&] { in.import(); });
  EXPECT_CONTAINS(msg, "graph input 'x'");
  EXPECT_CONTAINS(msg, "2^40");

  ModelBuilder neg;
  neg.input("x", {1, 4});
  neg.weight("w", {-4}, {});
  neg.node("Add", {"x", "w"}, {"y"});
  neg.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { neg.import(); }), "negative dimension");
}

TEST(OnnxImportErrors, DataLengthDoesNotMatchDims) {
  ModelBuilder m;
  m.input("x", {1, 4});
  m.weight("w", {4, 3}, ramp(10));
  m.node("MatMul", {"x", "w"}, {"y"});
  m.output("y");
  const std::string msg = error_of<core::ModelError>([&] { m.import(); });
  EXPECT_CONTAINS(msg, "initializer 'w': dims [4x3] of type FLOAT need 48 bytes of raw data, the file holds 40");

  ModelBuilder typed;
  typed.input("x", {1, 2});
  typed.ints("shape", {3}, {1, 2});
  typed.node("Reshape", {"x", "shape"}, {"y"});
  typed.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { typed.import(); }), "need 3 values, the file holds 2");
}

TEST(OnnxImportErrors, ExternalDataAndUnsupportedTypes) {
  ModelBuilder m;
  m.input("x", {1, 4});
  auto& w = m.weight("w", {4}, {});
  w.clear_raw_data();
  w.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = w.add_external_data();
  e->set_key("location");
  e->set_value("weights.bin");
  m.node("Add", {"x", "w"}, {"y"});
  m.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { m.import(); }), "external file");

  ModelBuilder s;
  s.input("x", {1, 4});
  auto& str = *s.graph().add_initializer();
  str.set_name("labels");
  str.set_data_type(onnx::TensorProto::STRING);
  str.add_string_data("cat");
  s.node("Add", {"x", "labels"}, {"y"});
  s.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { s.import(); }), "data type STRING");
}

TEST(OnnxImportErrors, UnsupportedOpNamesNodeAndPosition) {
  ModelBuilder m;
  m.input("boxes", {1, 10, 4});
  m.input("scores", {1, 1, 10});
  m.node("Relu", {"boxes"}, {"b"}, "relu");
  m.node("NonMaxSuppression", {"b", "scores"}, {"y"}, "nms");
  m.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { m.import(); }),
                  "node 'nms' (NonMaxSuppression, position 1): unsupported op");
  ModelBuilder ms;
  ms.input("x", {1, 4});
  ms.node("FusedGemm", {"x"}, {"y"}, "fused").set_domain("com.microsoft");
  ms.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { ms.import(); }), "domain 'com.microsoft'");
}

TEST(OnnxImportErrors, OpsetOutOfRangeAndBadOptions) {
  ModelBuilder old(5);
  old.input("x", {1});
  old.node("Relu", {"x"}, {"y"});
  old.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { old.import(); }), "opset 5 is not supported");
  ModelBuilder ok;
  ok.input("x", {-1});
  ok.node("Relu", {"x"}, {"y"});
  ok.output("y");
  ImportOptions o;
  o.batch = 0;
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { ok.import(o); }), "batch must be at least 1");
}

TEST(OnnxImportErrors, DuplicateProducersAndUndefinedOutputs) {
  ModelBuilder m;
  m.input("x", {1});
  m.node("Relu", {"x"}, {"y"}, "a");
  m.node("Tanh", {"x"}, {"y"}, "b");
  m.output("y");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { m.import(); }), "tensor 'y' is produced by two nodes");
  ModelBuilder u;
  u.input("x", {1});
  u.node("Relu", {"x"}, {"r"});
  u.output("nowhere");
  EXPECT_CONTAINS(error_of<core::ModelError>([&] { u.import(); }), "graph output 'nowhere'");
}

TEST(OnnxImport, SupportedOpTableCoversTheList) {
  for (const char* op : {"Conv", "Gemm", "MatMul", "LayerNormalization", "Identity", "Dropout", "Constant", "ReduceProd",
                         "Mod", "ScatterND"})
    EXPECT_TRUE(onnx_op_supported(op)) << op;
  EXPECT_FALSE(onnx_op_supported("NonMaxSuppression"));
  EXPECT_FALSE(onnx_op_supported("Loop"));
  EXPECT_EQ(onnx_supported_ops().size(), 66u);
}

}  // namespace
}  // namespace cimlab::graph
