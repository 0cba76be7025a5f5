// The model zoo: output shapes, parameter counts, and that every weight layer comes from the factory.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/errors.hpp"
#include "graph/graph.hpp"
#include "graph/zoo.hpp"
#include "nn/graph_model.hpp"
#include "nn/models.hpp"

namespace cimlab::nn {
namespace {

class ModelZoo : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    torch::manual_seed(7);
  }
};

TEST_P(ModelZoo, MapsABatchOfTwoImagesToTenLogits) {
  torch::nn::AnyModule model = make_model(GetParam());
  const torch::Tensor x = torch::rand({2, 1, 28, 28});
  model.ptr()->train();
  const torch::Tensor logits = model.forward(x);
  ASSERT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 10}));
  logits.sum().backward();
  for (const auto& p : model.ptr()->named_parameters())
    EXPECT_TRUE(p.value().grad().defined()) << GetParam() << ": no gradient for " << p.key();
  torch::NoGradGuard no_grad;
  model.ptr()->eval();
  const torch::Tensor eval_logits = model.forward(x);
  EXPECT_EQ(eval_logits.sizes(), (std::vector<std::int64_t>{2, 10}));
  EXPECT_TRUE(torch::isfinite(eval_logits).all().item<bool>());
}

TEST_P(ModelZoo, ParameterCount) {
  // Hand-counted from the layer shapes listed in nn/models.hpp.
  const std::map<std::string, std::int64_t> expected{
      {"mlp", 235146}, {"lenet5", 61706}, {"vgg8", 584618}, {"resnet20", 272186}, {"vit", 139018}};
  EXPECT_EQ(count_parameters(*make_model(GetParam()).ptr()), expected.at(GetParam()));
}

// Another input shape (CIFAR-10: 3 x 32 x 32): every model maps it to ten logits; vgg8's first conv
// takes 3 channels and its fc1 2048 inputs (128 x 4 x 4).
TEST_P(ModelZoo, MapsCifarShapedImagesToTenLogits) {
  torch::nn::AnyModule model = make_model(GetParam(), LayerFactory{}, ImageShape{3, 32});
  torch::NoGradGuard no_grad;
  model.ptr()->eval();
  const torch::Tensor logits = model.forward(torch::rand({2, 3, 32, 32}));
  ASSERT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 10}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

TEST(ModelZooShapes, Vgg8AtCifarShapeAndShapesAModelCannotTake) {
  // 3x3 convs 3-32-32-64-64-128-128 (286,560) + BN (896) + fc 2048-256 (524,544) + fc 256-10 (2,570)
  EXPECT_EQ(count_parameters(*make_model("vgg8", LayerFactory{}, ImageShape{3, 32}).ptr()), 814570);
  EXPECT_EQ(count_parameters(*make_model("vgg8", LayerFactory{}, ImageShape{1, 28}).ptr()), 584618);
  EXPECT_THROW(make_model("vit", LayerFactory{}, ImageShape{3, 30}), core::ModelError);  // 30 / 4 patches
  EXPECT_THROW(make_model("lenet5", LayerFactory{}, ImageShape{1, 8}), core::ModelError);
  EXPECT_THROW(make_model("mlp", LayerFactory{}, ImageShape{0, 28}), core::ModelError);
}

INSTANTIATE_TEST_SUITE_P(All, ModelZoo, ::testing::ValuesIn(model_names()),
                         [](const auto& info) { return info.param; });

// Counts what it makes and records the names it is given, and makes float layers like the default.
class CountingFactory : public LayerFactory {
 public:
  torch::nn::AnyModule linear(const std::string& name, std::int64_t in, std::int64_t out, bool bias) const override {
    ++linear_;
    names_.push_back(name);
    return LayerFactory::linear(name, in, out, bias);
  }
  torch::nn::AnyModule conv2d(const std::string& name, const torch::nn::Conv2dOptions& options) const override {
    ++conv_;
    names_.push_back(name);
    return LayerFactory::conv2d(name, options);
  }
  mutable int linear_ = 0, conv_ = 0;
  mutable std::vector<std::string> names_;
};

TEST(LayerFactory, EveryWeightLayerComesFromTheFactory) {
  const std::map<std::string, std::pair<int, int>> expected{
      {"mlp", {3, 0}}, {"lenet5", {3, 2}}, {"vgg8", {2, 6}}, {"resnet20", {1, 21}}, {"vit", {18, 0}}};
  for (const auto& name : model_names()) {
    CountingFactory f;
    torch::nn::AnyModule model = make_model(name, f);
    EXPECT_EQ(std::make_pair(f.linear_, f.conv_), expected.at(name)) << name;
    // Layers not made by the factory hold no weights: only norm layers and ViT embeddings remain.
    for (const auto& m : model.ptr()->named_modules("", false)) {
      const std::string type = m.value()->name();
      if (type.find("Linear") != std::string::npos || type.find("Conv") != std::string::npos) continue;
      for (const auto& p : m.value()->named_parameters(false))
        EXPECT_TRUE(type.find("Norm") != std::string::npos || p.key().find("embed") != std::string::npos ||
                    p.key() == "class_token")
            << name << ": " << m.key() << "." << p.key() << " in " << type;
    }
  }
}

// The factory learns each layer's full name: its module path as registered (so the weight is
// "<name>.weight"), which is also the name of its crossbar node in the model's graph (what `layers:`
// rules match, in the mapper as in the accuracy engine).
TEST(LayerFactory, LearnsEachLayersModulePathWhichIsItsGraphNodeName) {
  for (const auto& name : model_names()) {
    CountingFactory f;
    torch::nn::AnyModule model = make_model(name, f);
    std::set<std::string> modules;
    for (const auto& m : model.ptr()->named_modules("", false)) modules.insert(m.key());
    for (const std::string& layer : f.names_) EXPECT_EQ(modules.count(layer), 1u) << name << ": " << layer;
    std::vector<std::string> sorted = f.names_, graph_names = crossbar_layer_names(ModelSource(name));
    std::sort(sorted.begin(), sorted.end());
    std::sort(graph_names.begin(), graph_names.end());
    EXPECT_EQ(sorted, graph_names) << name;
  }
  CountingFactory f;
  make_model("resnet20", f);
  EXPECT_NE(std::find(f.names_.begin(), f.names_.end(), "stage2_block1.shortcut_conv"), f.names_.end());
  CountingFactory v;
  make_model("vit", v);
  EXPECT_NE(std::find(v.names_.begin(), v.names_.end(), "block3.attention.qkv"), v.names_.end());
}

TEST(ModelZooNames, UnknownModelSuggestsTheClosest) {
  try {
    make_model("lenet");
    FAIL();
  } catch (const core::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'lenet5'"), std::string::npos) << e.what();
  }
}

// The IR descriptions of the zoo (graph/zoo.hpp) against the torch models: the same names, the same
// trainable parameters, and crossbar weights = the conv and linear weights (biases excluded).
TEST(ModelZooGraph, SameParametersAndCrossbarWeightsAsTheTorchModels) {
  EXPECT_EQ(graph::zoo_names(), model_names());
  for (const ImageShape shape : {ImageShape{1, 28}, ImageShape{3, 32}}) {
    for (const auto& name : model_names()) {
      torch::nn::AnyModule model = make_model(name, LayerFactory{}, shape);
      std::int64_t weights = 0;
      for (const auto& m : model.ptr()->named_modules("", false)) {
        const std::string type = m.value()->name();
        if (type.find("Linear") == std::string::npos && type.find("Conv") == std::string::npos) continue;
        const auto params = m.value()->named_parameters(false);
        if (const auto* w = params.find("weight")) weights += w->numel();
      }
      const graph::Totals t = graph::totals(graph::layer_table(graph::zoo_graph(name, shape.channels, shape.side)));
      EXPECT_EQ(t.params, count_parameters(*model.ptr())) << name << " at side " << shape.side;
      EXPECT_EQ(t.crossbar_weights, weights) << name << " at side " << shape.side;
    }
  }
}


// The zoo graph with the torch model's weights (constants named after its parameters and buffers; the
// ViT's MatMul weights transposed) computes the same logits when run as a GraphModel.
TEST(ModelZooGraph, WithTheTorchWeightsTheGraphComputesTheSameLogits) {
  at::set_num_threads(1);
  for (const auto& name : model_names()) {
    torch::manual_seed(3);
    torch::nn::AnyModule model = make_model(name);
    model.ptr()->eval();
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : model.ptr()->named_parameters()) tensors[p.key()] = p.value().detach();
    for (const auto& b : model.ptr()->named_buffers()) tensors[b.key()] = b.value().detach();
    graph::Graph g = graph::zoo_graph(name);
    std::set<int> matmul_weights;  // stored in x out: torch's out x in transposed
    for (const graph::Node& node : g.nodes)
      if (node.op == "MatMul" && g.is_constant(g.input(node, 1))) matmul_weights.insert(g.input(node, 1));
    std::size_t copied = 0;
    for (int id = 0; id < static_cast<int>(g.values.size()); ++id) {
      const graph::Value& v = g.value(id);
      const auto it = tensors.find(v.name);
      if (v.constant < 0 || it == tensors.end()) continue;
      graph::Constant& c = g.constants[static_cast<std::size_t>(v.constant)];
      torch::Tensor t = it->second.to(torch::kFloat);
      if (matmul_weights.count(id) != 0) t = t.t();
      ASSERT_EQ(t.sizes().vec(), c.shape) << name << ": " << v.name;
      t = t.contiguous();
      c.f.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
      ++copied;
    }
    for (const auto& [key, t] : tensors) copied += key.ends_with("num_batches_tracked") ? 1 : 0;
    EXPECT_EQ(copied, tensors.size()) << name << ": a parameter or BN statistic without its constant";
    GraphModel graph_model(std::move(g), LayerFactory{});
    graph_model->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::rand({1, 1, 28, 28});
    EXPECT_TRUE(torch::allclose(graph_model->forward(x), model.forward(x), 1e-4, 1e-5)) << name;
    EXPECT_EQ(count_parameters(*graph_model), count_parameters(*model.ptr())) << name;
  }
}

}  // namespace
}  // namespace cimlab::nn
