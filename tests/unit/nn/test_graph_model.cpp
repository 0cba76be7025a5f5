// The graph executor (GraphModel): the ONNX fixtures of tests/fixtures/onnx give PyTorch's logits
// within 1e-4; analog layers with every non-ideality off give the float logits; write-back and export
// give back the fine-tuned module; hand-built graphs check the op conventions (Gemm transB/alpha/beta,
// MatMul with a left constant, asymmetric pads, BN, pooling with and without padding counted, batch
// adaptation of Reshape and Expand) and the errors; configs naming an ONNX file; float training and HAT
// fine-tuning of the imported LeNet, with the trained weights exported.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/errors.hpp"
#include "graph/onnx.hpp"
#include "nn/analog.hpp"
#include "nn/checkpoint.hpp"
#include "nn/data.hpp"
#include "nn/evaluate.hpp"
#include "nn/graph_model.hpp"
#include "nn/train.hpp"
#include "hat_test_chip.hpp"

namespace cimlab::nn {
namespace {

namespace fs = std::filesystem;
using graph::Constant;
using graph::DType;
using graph::Graph;
using graph::Node;

const std::vector<std::string> kFixtures{"lenet", "resnet_block", "dwsep", "transformer"};

std::string fixture(const std::string& name, const std::string& suffix) {
  return std::string(CIMLAB_TEST_DATA_DIR) + "/fixtures/onnx/" + name + suffix;
}

struct Expected {
  torch::Tensor input, output;
};

torch::Tensor tensor_of(const nlohmann::json& j) {
  const auto shape = j.at("shape").get<std::vector<std::int64_t>>();
  if (j.at("dtype") == "int64") return torch::tensor(j.at("data").get<std::vector<std::int64_t>>(), torch::kLong).reshape(shape);
  return torch::tensor(j.at("data").get<std::vector<float>>(), torch::kFloat).reshape(shape);
}

Expected expected(const std::string& name) {
  std::ifstream f(fixture(name, ".expected.json"));
  const nlohmann::json j = nlohmann::json::parse(f);
  return {tensor_of(j.at("input")), tensor_of(j.at("output"))};
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

torch::Tensor run(GraphModel& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  model->eval();
  return model->forward(x);
}

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("cimlab_test_graph_model_" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

class Fixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    torch::manual_seed(5);
  }
};

TEST_P(Fixture, FloatLogitsEqualPyTorch) {
  GraphModel model = load_onnx_model(fixture(GetParam(), ".onnx"));
  const Expected e = expected(GetParam());
  const torch::Tensor y = run(model, e.input);
  ASSERT_EQ(y.sizes(), e.output.sizes());
  const double diff = max_abs_diff(y, e.output);
  RecordProperty("max_abs_diff", std::to_string(diff));
  std::cout << GetParam() << ": max |logit - PyTorch| = " << diff << "\n";
  EXPECT_LT(diff, 1e-4);
  // One image at a time gives the same logits (the batch the graph was inferred with).
  EXPECT_LT(max_abs_diff(run(model, e.input.slice(0, 1, 2)), e.output.slice(0, 1, 2)), 1e-4);
}

TEST_P(Fixture, AnalogWithEffectsOffEqualsFloat) {
  GraphModel float_model = load_onnx_model(fixture(GetParam(), ".onnx"));
  for (const Fidelity fidelity : {Fidelity::kFast, Fidelity::kExact}) {
    AnalogSpec spec;
    spec.array.circuit.rows = spec.array.circuit.cols = 64;
    spec.effects = xbar::EffectSet::none();
    spec.fidelity = fidelity;
    GraphModel analog = load_onnx_model(fixture(GetParam(), ".onnx"), AnalogLayerFactory(spec));
    EXPECT_FALSE(analog_cores(*analog).empty());
    program_all(*analog, 1);
    const torch::Tensor x = expected(GetParam()).input;
    const torch::Tensor want = run(float_model, x), got = run(analog, x);
    const double diff = max_abs_diff(got, want);
    std::cout << GetParam() << (fidelity == Fidelity::kFast ? " fast" : " exact") << ": max |analog - float| = " << diff
              << " (max |logit| " << want.abs().max().item<double>() << ")\n";
    EXPECT_LT(diff, 1e-5 * std::max(1.0, want.abs().max().item<double>()));
  }
}

// Perturbs every parameter, writes them back, exports, re-imports: the new file runs as the module did.
TEST_P(Fixture, WriteBackAndExportGiveTheFineTunedModel) {
  GraphModel model = load_onnx_model(fixture(GetParam(), ".onnx"));
  {
    torch::NoGradGuard no_grad;
    torch::Generator gen = at::detail::createCPUGenerator(11);
    for (auto& p : model->parameters()) p.add_(torch::randn(p.sizes(), gen) * 0.01);
  }
  const torch::Tensor x = expected(GetParam()).input;
  const torch::Tensor want = run(model, x);
  Graph g = model->graph();
  write_back(model, g);
  const std::string path = (scratch(GetParam()) / "tuned.onnx").string();
  graph::export_onnx(g, path);
  GraphModel reloaded = load_onnx_model(path);
  EXPECT_LT(max_abs_diff(run(reloaded, x), want), 1e-5);
  EXPECT_GT(max_abs_diff(want, expected(GetParam()).output), 1e-4) << "the perturbation changed the logits";
}

INSTANTIATE_TEST_SUITE_P(Onnx, Fixture, ::testing::ValuesIn(kFixtures));

// --- Hand-built graphs ------------------------------------------------------------------------------

Constant floats(graph::Shape shape, const torch::Tensor& t) {
  Constant c;
  c.shape = std::move(shape);
  const torch::Tensor f = t.contiguous().to(torch::kFloat);
  c.f.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
  return c;
}

Constant ints(std::vector<std::int64_t> v) {
  Constant c;
  c.dtype = DType::kInt64;
  c.shape = {static_cast<std::int64_t>(v.size())};
  c.i = std::move(v);
  return c;
}

int node(Graph& g, const std::string& op, std::vector<int> inputs, graph::Attributes attrs = {}) {
  const int out = g.add_value(op + "_out_" + std::to_string(g.nodes.size()));
  Node n;
  n.name = op + "." + std::to_string(g.nodes.size());
  n.op = op;
  n.inputs = std::move(inputs);
  n.outputs = {out};
  n.attrs = std::move(attrs);
  g.add_node(std::move(n));
  return out;
}

class HandBuilt : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    torch::manual_seed(9);
  }
};

TEST_F(HandBuilt, GemmMatMulAndTheirWriteBack) {
  Graph g;
  g.name = "gemm";
  const torch::Tensor b = torch::randn({6, 5}), c = torch::randn({6}), w = torch::randn({6, 4});
  const int x = g.add_input("x", {1, 5});
  graph::Attributes gemm;
  gemm.set("transB", std::int64_t{1});
  gemm.set("alpha", 0.5);
  gemm.set("beta", 2.0);
  const int y = node(g, "Gemm", {x, g.add_constant("B", floats({6, 5}, b)), g.add_constant("C", floats({6}, c))}, gemm);
  const int z = node(g, "MatMul", {y, g.add_constant("W", floats({6, 4}, w))});  // right constant K x N
  graph::Attributes axes;
  axes.set("axes", std::vector<std::int64_t>{1});
  const int column = node(g, "Unsqueeze", {z}, axes);  // N x 1 x 4
  const torch::Tensor left = torch::randn({3, 1});
  const int u = node(g, "MatMul", {g.add_constant("L", floats({3, 1}, left)), column});  // left constant M x K
  g.outputs = {u};
  graph::infer_shapes(g);
  GraphModel model(g, LayerFactory{});
  EXPECT_EQ(model->layer_names(), (std::vector<std::string>{"Gemm_0", "MatMul_1", "MatMul_3"}));
  const torch::Tensor in = torch::randn({3, 5});
  const torch::Tensor ref = torch::matmul(left, ((in.matmul(b.t()) * 0.5 + 2.0 * c).matmul(w)).unsqueeze(1));
  EXPECT_LT(max_abs_diff(run(model, in), ref), 1e-5);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.mul_(1.5);
  }
  const torch::Tensor tuned = run(model, in);
  Graph back = g;
  write_back(model, back);
  GraphModel reloaded(back, LayerFactory{});
  EXPECT_LT(max_abs_diff(run(reloaded, in), tuned), 1e-5);
  EXPECT_NEAR(back.constant_of(back.find("B")).f[0], 1.5 * b[0][0].item<float>(), 1e-6) << "alpha divided out";
}

torch::Tensor tensor(const Graph& g, const std::string& name) {
  const Constant& c = g.constant_of(g.find(name));
  return torch::tensor(c.f, torch::kFloat).reshape(c.shape);
}

graph::Attributes attrs(std::initializer_list<std::pair<const char*, graph::AttrValue>> list) {
  graph::Attributes a;
  for (const auto& [k, v] : list) a.set(k, v);
  return a;
}

using Ints = std::vector<std::int64_t>;

// Conv with asymmetric pads (explicit pad before the layer), a 1-D convolution, unfolded BN, pooling with
// and without the padding counted, against torch's functional ops.
TEST_F(HandBuilt, ConvolutionsNormalisationAndPooling) {
  Graph g;
  g.name = "conv";
  const int x = g.add_input("x", {1, 3, 9, 9});
  g.add_constant("w", floats({4, 3, 3, 3}, torch::randn({4, 3, 3, 3})));
  g.add_constant("b", floats({4}, torch::randn({4})));
  for (const char* k : {"scale", "shift", "mean"}) g.add_constant(k, floats({4}, torch::randn({4})));
  g.add_constant("var", floats({4}, torch::rand({4}) + 0.5));
  int y = node(g, "Conv", {x, g.find("w"), g.find("b")}, attrs({{"pads", Ints{0, 1, 2, 1}}, {"strides", Ints{2, 1}}}));
  y = node(g, "BatchNormalization", {y, g.find("scale"), g.find("shift"), g.find("mean"), g.find("var")});
  const int avg = node(g, "AveragePool", {y}, attrs({{"kernel_shape", Ints{3, 3}}, {"pads", Ints{1, 0, 1, 2}}}));
  const int avg_all = node(g, "AveragePool", {y}, attrs({{"kernel_shape", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}, {"count_include_pad", std::int64_t{1}}}));
  const int mx = node(g, "MaxPool", {y}, attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}, {"ceil_mode", std::int64_t{1}}}));
  const int flat = node(g, "Concat", {node(g, "Flatten", {avg}), node(g, "Flatten", {avg_all}), node(g, "Flatten", {mx})}, attrs({{"axis", std::int64_t{1}}}));
  g.outputs = {flat};
  graph::infer_shapes(g);
  GraphModel model(g, LayerFactory{});
  const torch::Tensor in = torch::randn({2, 3, 9, 9});
  namespace F = torch::nn::functional;
  torch::Tensor ref = torch::conv2d(F::pad(in, F::PadFuncOptions({1, 1, 0, 2})), tensor(g, "w"), tensor(g, "b"), {2, 1});
  ref = torch::batch_norm(ref, tensor(g, "scale"), tensor(g, "shift"), tensor(g, "mean"), tensor(g, "var"), false, 0, 1e-5, false);
  const torch::Tensor padded = F::pad(ref, F::PadFuncOptions({0, 2, 1, 1}));
  const torch::Tensor count = F::pad(torch::ones_like(ref), F::PadFuncOptions({0, 2, 1, 1}));
  const torch::Tensor want = torch::cat({(torch::avg_pool2d(padded, {3, 3}, {1, 1}) / torch::avg_pool2d(count, {3, 3}, {1, 1})).flatten(1),
                                         torch::avg_pool2d(ref, {2, 2}, {1, 1}, {1, 1}, false, true).flatten(1),
                                         torch::max_pool2d(ref, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true).flatten(1)}, 1);
  EXPECT_LT(max_abs_diff(run(model, in), want), 1e-5);
  EXPECT_EQ(model->layer_names(), std::vector<std::string>{"Conv_0"});
  EXPECT_EQ(model->named_buffers().size(), 2u) << "BN mean and variance are statistics";

  Graph g1;
  g1.name = "conv1d";
  const int s = g1.add_input("s", {1, 2, 10});
  g1.add_constant("k", floats({3, 2, 4}, torch::randn({3, 2, 4})));
  g1.outputs = {node(g1, "Conv", {s, g1.find("k")}, attrs({{"auto_pad", std::string("SAME_UPPER")}, {"dilations", Ints{2}}}))};
  graph::infer_shapes(g1);
  GraphModel conv1d(g1, LayerFactory{});
  const torch::Tensor seq = torch::randn({3, 2, 10});
  // SAME_UPPER, kernel 4 dilated 2 spans 7: 6 padded, 3 before and 3 after
  EXPECT_LT(max_abs_diff(run(conv1d, seq), torch::conv1d(seq, tensor(g1, "k"), {}, 1, 3, 2)), 1e-5);
}

// Without a probe, Reshape and Expand follow the batch by their inferred shapes.
TEST_F(HandBuilt, ReshapeAndExpandFollowTheBatchWithoutProbe) {
  Graph g;
  g.name = "tokens";
  const int x = g.add_input("x", {1, 4, 6});                                           // N x T x D
  const int t = node(g, "Transpose", {x}, attrs({{"perm", Ints{1, 0, 2}}}));          // T x N x D
  const int heads = node(g, "Reshape", {t, g.add_constant("heads", ints({4, 2, 3}))});  // T x N H x D / H
  const int back = node(g, "Reshape", {heads, g.add_constant("back", ints({4, 1, 6}))});
  const int tokens = node(g, "Transpose", {back}, attrs({{"perm", Ints{1, 0, 2}}}));
  g.add_constant("cls", floats({1, 1, 6}, torch::randn({1, 1, 6})));
  const int cls = node(g, "Expand", {g.find("cls"), g.add_constant("cls_shape", ints({1, 1, 6}))});
  const int joined = node(g, "Concat", {cls, tokens}, attrs({{"axis", std::int64_t{1}}}));
  g.outputs = {node(g, "Reshape", {joined, g.add_constant("flat", ints({1, -1}))})};
  graph::infer_shapes(g);
  GraphModel model(g, LayerFactory{});
  const torch::Tensor in = torch::randn({3, 4, 6});
  const torch::Tensor want = torch::cat({tensor(g, "cls").expand({3, 1, 6}), in}, 1).reshape({3, -1});
  EXPECT_LT(max_abs_diff(run(model, in), want), 1e-6);
  EXPECT_EQ(model->named_parameters().size(), 1u) << "the class token is learned";
}

TEST_F(HandBuilt, AnOpWithoutExecutorFailsAtConstruction) {
  Graph g;
  g.name = "odd";
  const int x = g.add_input("x", {1, 4});
  const int y = node(g, "Relu", {x});
  g.outputs = {node(g, "Hardmax", {y})};
  try {
    GraphModel model(g, LayerFactory{});
    FAIL() << "Hardmax was accepted";
  } catch (const core::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'Hardmax.1' (Hardmax, position 1)"), std::string::npos) << e.what();
  }
}

// One weight shared by two MatMuls: two layers; after they diverge, write-back gives the second its own.
TEST_F(HandBuilt, ASharedWeightThatDivergesIsSplit) {
  Graph g;
  g.name = "shared";
  const int x = g.add_input("x", {1, 3});
  const int w = g.add_constant("w", floats({3, 3}, torch::randn({3, 3})));
  g.outputs = {node(g, "MatMul", {node(g, "MatMul", {x, w}), w})};
  graph::infer_shapes(g);
  GraphModel model(g, LayerFactory{});
  ASSERT_EQ(model->layer_names().size(), 2u);
  {
    torch::NoGradGuard no_grad;
    model->named_parameters()[model->layer_names()[1] + ".weight"].add_(0.1);
  }
  const torch::Tensor in = torch::randn({2, 3});
  Graph back = g;
  write_back(model, back);
  EXPECT_EQ(back.constants.size(), g.constants.size() + 1);
  EXPECT_NE(back.nodes[0].inputs[1], back.nodes[1].inputs[1]);
  GraphModel reloaded(back, LayerFactory{});
  EXPECT_LT(max_abs_diff(run(reloaded, in), run(model, in)), 1e-6);
}

// --- Configs and training of an imported model ------------------------------------------------------

TEST(OnnxConfig, ModelOnnxIsAPathRelativeToTheConfigAndExcludesName) {
  const fs::path dir = scratch("config");
  fs::copy_file(fixture("lenet", ".onnx"), dir / "lenet.onnx");
  std::ofstream(dir / "train.yaml") << "model: {onnx: lenet.onnx}\ntraining: {epochs: 1}\n";
  const TrainConfig cfg = load_train_config((dir / "train.yaml").string(), {});
  EXPECT_EQ(cfg.spec.model.name, "onnx:lenet.onnx");
  EXPECT_EQ(fs::path(cfg.spec.model.onnx).lexically_normal(), (dir / "lenet.onnx").lexically_normal());
  EXPECT_FALSE(cfg.resolved["model"]["name"]) << "no zoo default next to an ONNX file";
  try {
    load_train_config((dir / "train.yaml").string(), {"model.name=mlp"});
    FAIL() << "name and onnx together were accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'model.name' and 'model.onnx' exclude each other"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "eval.yaml") << "model: {onnx: lenet.onnx}\ndevice: {preset: nor_flash}\n";
  const EvalConfig eval = load_eval_config((dir / "eval.yaml").string(), {});
  EXPECT_TRUE(eval.model.is_onnx());
  EXPECT_TRUE(eval.checkpoint.empty()) << "an ONNX model's own weights";
  std::ofstream(dir / "zoo.yaml") << "model: {name: lenet5}\ndevice: {preset: nor_flash}\n";
  EXPECT_THROW(load_eval_config((dir / "zoo.yaml").string(), {}), core::ConfigError) << "a zoo model needs a checkpoint";
  EXPECT_THROW(build_model(ModelSource::onnx_file(fixture("resnet_block", ".onnx"))), core::ModelError)
      << "3 x 16 x 16 inputs, not MNIST's 1 x 28 x 28";
}

// The imported LeNet trained in float from its random weights, then HAT-fine-tuned on a small RRAM-like
// chip; both write model.onnx, which runs as the checkpoint does.
TEST(OnnxTraining, FloatThenHatFineTuneWriteTheTrainedOnnx) {
  const fs::path dir = scratch("training");
  TrainSpec spec;
  spec.seed = 3;
  spec.threads = 1;
  spec.dataset = {"mnist", CIMLAB_DATA_DIR, 500, 200, 200};
  spec.model = ModelSource::onnx_file(fixture("lenet", ".onnx"));
  spec.training.epochs = 2;
  spec.training.batch_size = 16;
  spec.training.optimizer = "adam";
  spec.training.learning_rate = 3e-3;
  TrainOptions options;
  options.progress = false;
  options.checkpoint = (dir / "float.pt").string();
  options.onnx_out = (dir / "float.onnx").string();
  const TrainResult r = train(spec, options);
  EXPECT_EQ(r.model, "onnx:lenet.onnx");
  EXPECT_GT(r.test_accuracy, 0.5) << "chance is 0.1";
  const DatasetSplit data = load_dataset("mnist", CIMLAB_DATA_DIR, 500, 200);
  torch::nn::AnyModule exported = build_model(ModelSource::onnx_file(options.onnx_out));
  EXPECT_NEAR(float_accuracy(exported, data.test, 100), r.test_accuracy, 0.006) << "the same weights";

  spec.training.epochs = 1;
  use_small_hat_chip(spec, options.checkpoint);
  options.checkpoint = (dir / "hat.pt").string();
  options.onnx_out = (dir / "hat.onnx").string();
  const TrainResult h = train(spec, options);
  std::cout << "imported LeNet: float " << r.test_accuracy << ", on the chip (validation) " << h.start_accuracy
            << " before HAT, " << h.validation_accuracy << " after\n";
  EXPECT_TRUE(h.hat);
  EXPECT_GT(h.start_accuracy, 0.5 * r.test_accuracy) << "the float weights on the chip, before HAT";
  EXPECT_GT(h.validation_accuracy, h.start_accuracy - 0.05) << "fine-tuning must not wreck the model";
  // Without hat.from an ONNX model starts from its own weights.
  spec.hat.from.clear();
  spec.dataset.train_limit = 100;
  options.checkpoint.clear();
  options.onnx_out = (dir / "hat_from_file.onnx").string();
  EXPECT_TRUE(train(spec, options).hat);
  EXPECT_TRUE(fs::is_regular_file(options.onnx_out));
  options.checkpoint = (dir / "hat.pt").string();
  options.onnx_out = (dir / "hat.onnx").string();
  torch::nn::AnyModule tuned = build_model(spec.model);
  load_model_checkpoint(options.checkpoint, *tuned.ptr());
  torch::nn::AnyModule written = build_model(ModelSource::onnx_file(options.onnx_out));
  const torch::Tensor images = data.test.images.slice(0, 0, 8);
  torch::NoGradGuard no_grad;
  tuned.ptr()->eval();
  written.ptr()->eval();
  EXPECT_LT(max_abs_diff(written.forward(images), tuned.forward(images)), 1e-5);
}

}  // namespace
}  // namespace cimlab::nn
