// The zoo models of nn/models.cpp as IR graphs (zoo.hpp). Node names follow the torch modules' names
// ("stage2_block1.conv1", "block3.attention.qkv") and constants their parameters' names
// ("<node>.weight", "<node>.bias", BN's "<node>.running_mean"), so a checkpoint maps onto the graph.
// Linear layers on N x in are Gemm (transB = 1: weight out x in, as torch stores it); on N x T x in
// (ViT tokens) MatMul with an in x out weight (torch's, transposed) followed by Add of the bias.
#include "graph/zoo.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <functional>
#include <map>
#include <regex>

#include "core/errors.hpp"
#include "core/params.hpp"

namespace cimlab::graph {

namespace {

using Ints = std::vector<std::int64_t>;
constexpr std::int64_t kBatch = 0;  // in a Reshape's shape: the input's first dimension

Attributes attrs(std::initializer_list<std::pair<const std::string, AttrValue>> list) {
  Attributes a;
  for (const auto& [key, value] : list) a.set(key, value);
  return a;
}

// Appends nodes with one output each; the output tensor takes the node's name.
class Builder {
 public:
  Builder(const std::string& model, const Shape& input) {
    g_.name = model;
    input_ = g_.add_input("input", input);
  }
  int input() const { return input_; }

  int op(const std::string& type, const std::string& name, std::vector<int> inputs, Attributes a = {}) {
    const int out = g_.add_value(name);
    g_.add_node({name, type, std::move(inputs), {out}, std::move(a)});
    return out;
  }
  // A zero-filled float constant (weights are placeholders: the IR describes structure).
  int zeros(const std::string& name, const Shape& shape) {
    Constant c;
    c.shape = shape;
    c.f.assign(static_cast<std::size_t>(numel(shape)), 0.0F);
    return g_.add_constant(name, std::move(c));
  }
  int scalar(const std::string& name, float value) {
    Constant c;
    c.f = {value};
    return g_.add_constant(name, std::move(c));
  }
  // A 1-D int64 constant, or a scalar one when `scalar` is set (Gather indices).
  int ints(const std::string& name, const Ints& values, bool scalar = false) {
    Constant c;
    c.dtype = DType::kInt64;
    c.shape = scalar ? Shape{} : Shape{static_cast<std::int64_t>(values.size())};
    c.i = values;
    return g_.add_constant(name, std::move(c));
  }

  int conv(int x, const std::string& name, std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride,
           std::int64_t pad, bool bias) {
    std::vector<int> inputs{x, zeros(name + ".weight", {out, in, k, k})};
    if (bias) inputs.push_back(zeros(name + ".bias", {out}));
    return op("Conv", name, inputs,
              attrs({{"kernel_shape", Ints{k, k}}, {"strides", Ints{stride, stride}}, {"pads", Ints{pad, pad, pad, pad}},
                     {"dilations", Ints{1, 1}}, {"group", std::int64_t{1}}}));
  }
  // torch Linear on N x in.
  int linear(int x, const std::string& name, std::int64_t in, std::int64_t out) {
    return op("Gemm", name, {x, zeros(name + ".weight", {out, in}), zeros(name + ".bias", {out})},
              attrs({{"transB", std::int64_t{1}}}));
  }
  // torch Linear on N x T x in.
  int token_linear(int x, const std::string& name, std::int64_t in, std::int64_t out) {
    const int y = op("MatMul", name, {x, zeros(name + ".weight", {in, out})});
    return op("Add", name + ".add_bias", {y, zeros(name + ".bias", {out})});
  }
  int batch_norm(int x, const std::string& name, std::int64_t channels) {
    return op("BatchNormalization", name,
              {x, zeros(name + ".weight", {channels}), zeros(name + ".bias", {channels}),
               zeros(name + ".running_mean", {channels}), zeros(name + ".running_var", {channels})},
              attrs({{"epsilon", 1e-5}, {"momentum", 0.9}}));
  }
  int layer_norm(int x, const std::string& name, std::int64_t dim) {
    return op("LayerNormalization", name, {x, zeros(name + ".weight", {dim}), zeros(name + ".bias", {dim})},
              attrs({{"axis", std::int64_t{-1}}, {"epsilon", 1e-5}}));
  }
  int relu(int x, const std::string& name) { return op("Relu", name, {x}); }
  int max_pool(int x, const std::string& name) {
    return op("MaxPool", name, {x}, attrs({{"kernel_shape", Ints{2, 2}}, {"strides", Ints{2, 2}}}));
  }
  int flatten(int x) { return op("Flatten", "flatten", {x}, attrs({{"axis", std::int64_t{1}}})); }
  // ONNX Reshape: a 0 in `shape` keeps the input's dimension (kBatch: the graph runs at any batch).
  int reshape(int x, const std::string& name, const Ints& shape) {
    return op("Reshape", name, {x, ints(name + ".shape", shape)});
  }
  int transpose(int x, const std::string& name, const Ints& perm) {
    return op("Transpose", name, {x}, attrs({{"perm", perm}}));
  }
  int gather(int x, const std::string& name, std::int64_t axis, std::int64_t index) {
    return op("Gather", name, {x, ints(name + ".index", {index}, true)}, attrs({{"axis", axis}}));
  }
  // GELU in its exact (erf) form, as torch exports it: x * 0.5 * (1 + erf(x / sqrt 2)).
  int gelu(int x, const std::string& name) {
    const int e = op("Erf", name + ".erf", {op("Div", name + ".div", {x, scalar(name + ".sqrt2", std::sqrt(2.0F))})});
    const int y = op("Mul", name + ".mul", {x, op("Add", name + ".add", {e, scalar(name + ".one", 1.0F)})});
    return op("Mul", name, {y, scalar(name + ".half", 0.5F)});
  }

  Graph finish(int output) {
    g_.outputs = {output};
    g_.check();
    return std::move(g_);
  }

 private:
  Graph g_;
  int input_ = -1;
};

// Input images: batch x channels x side x side.
struct Images {
  std::int64_t batch, channels, side;
  Shape shape() const { return {batch, channels, side, side}; }
};

Graph mlp(const Images& im) {
  Builder b("mlp", im.shape());
  int x = b.flatten(b.input());
  x = b.relu(b.linear(x, "fc1", im.channels * im.side * im.side, 256), "relu1");
  x = b.relu(b.linear(x, "fc2", 256, 128), "relu2");
  return b.finish(b.linear(x, "fc3", 128, 10));
}

Graph lenet5(const Images& im) {
  Builder b("lenet5", im.shape());
  const std::int64_t side2 = (im.side / 2 - 4) / 2;  // 28 -> 14 -> 10 -> 5
  int x = b.max_pool(b.relu(b.conv(b.input(), "conv1", im.channels, 6, 5, 1, 2, true), "relu1"), "pool1");
  x = b.max_pool(b.relu(b.conv(x, "conv2", 6, 16, 5, 1, 0, true), "relu2"), "pool2");
  x = b.relu(b.linear(b.flatten(x), "fc1", 16 * side2 * side2, 120), "relu3");
  x = b.relu(b.linear(x, "fc2", 120, 84), "relu4");
  return b.finish(b.linear(x, "fc3", 84, 10));
}

Graph vgg8(const Images& im) {
  Builder b("vgg8", im.shape());
  const std::int64_t channels[] = {im.channels, 32, 32, 64, 64, 128, 128};
  const std::int64_t side = im.side / 2 / 2 / 2;  // 28 -> 3, 32 -> 4
  int x = b.input();
  for (int i = 1; i <= 6; ++i) {
    x = b.conv(x, fmt::format("conv{}", i), channels[i - 1], channels[i], 3, 1, 1, false);
    x = b.relu(b.batch_norm(x, fmt::format("bn{}", i), channels[i]), fmt::format("relu{}", i));
    if (i % 2 == 0) x = b.max_pool(x, fmt::format("pool{}", i / 2));
  }
  x = b.relu(b.linear(b.flatten(x), "fc1", 128 * side * side, 256), "relu7");
  return b.finish(b.linear(x, "fc2", 256, 10));
}

// NeuroSim's VGG-8 for CIFAR-10 (DNN_NeuroSim V1.4's network: 3x3 convolutions 128-128, pool, 256-256,
// pool, 512-512, pool, then 8192-1024-10; ~12.9 M weights, ~616 M MACs at 32 x 32): for mapping and PPA
// side by side with NeuroSim's published table (graph only: not a trainable zoo model).
Graph vgg8_neurosim(const Images& im) {
  Builder b("vgg8_neurosim", im.shape());
  const std::int64_t channels[] = {im.channels, 128, 128, 256, 256, 512, 512};
  const std::int64_t side = im.side / 2 / 2 / 2;
  int x = b.input();
  for (int i = 1; i <= 6; ++i) {
    x = b.relu(b.conv(x, fmt::format("conv{}", i), channels[i - 1], channels[i], 3, 1, 1, false), fmt::format("relu{}", i));
    if (i % 2 == 0) x = b.max_pool(x, fmt::format("pool{}", i / 2));
  }
  x = b.relu(b.linear(b.flatten(x), "fc1", 512 * side * side, 1024), "relu7");
  return b.finish(b.linear(x, "fc2", 1024, 10));
}

// ResNet basic block: two 3x3 conv + BN, and a 1x1 conv + BN projection when the shape changes.
int basic_block(Builder& b, int x, const std::string& name, std::int64_t in, std::int64_t out, std::int64_t stride) {
  int y = b.batch_norm(b.conv(x, name + ".conv1", in, out, 3, stride, 1, false), name + ".bn1", out);
  y = b.relu(y, name + ".relu1");
  y = b.batch_norm(b.conv(y, name + ".conv2", out, out, 3, 1, 1, false), name + ".bn2", out);
  if (stride != 1 || in != out)
    x = b.batch_norm(b.conv(x, name + ".shortcut_conv", in, out, 1, stride, 0, false), name + ".shortcut_bn", out);
  return b.relu(b.op("Add", name + ".add", {y, x}), name + ".relu2");
}

Graph resnet20(const Images& im) {
  Builder b("resnet20", im.shape());
  int x = b.relu(b.batch_norm(b.conv(b.input(), "conv1", im.channels, 16, 3, 1, 1, false), "bn1", 16), "relu1");
  std::int64_t in = 16;
  for (int stage = 0; stage < 3; ++stage) {
    const std::int64_t out = 16 << stage;
    for (int block = 0; block < 3; ++block) {
      const std::int64_t stride = (stage > 0 && block == 0) ? 2 : 1;
      x = basic_block(b, x, fmt::format("stage{}_block{}", stage + 1, block + 1), in, out, stride);
      in = out;
    }
  }
  x = b.op("ReduceMean", "pool", {x}, attrs({{"axes", Ints{2, 3}}, {"keepdims", std::int64_t{0}}}));
  return b.finish(b.linear(x, "fc", 64, 10));
}

// The ViT's sizes (nn/models.cpp VitImpl).
constexpr std::int64_t kGrid = 4, kTokens = kGrid * kGrid + 1, kDim = 64, kHeads = 4, kHeadDim = kDim / kHeads,
                       kDepth = 4, kHidden = 128;

// Multi-head self-attention on N x T x dim; QK^T and AV are activation x activation MatMuls (digital).
int attention(Builder& b, int x, const std::string& name) {
  int qkv = b.token_linear(x, name + ".qkv", kDim, 3 * kDim);
  qkv = b.transpose(b.reshape(qkv, name + ".split_heads", {kBatch, kTokens, 3, kHeads, kHeadDim}), name + ".heads",
                    {2, 0, 3, 1, 4});  // 3 x N x heads x T x head_dim
  const int q = b.gather(qkv, name + ".q", 0, 0), k = b.gather(qkv, name + ".k", 0, 1);
  const int v = b.gather(qkv, name + ".v", 0, 2);
  int scores = b.op("MatMul", name + ".scores", {q, b.transpose(k, name + ".k_t", {0, 1, 3, 2})});
  const float scale = 1.0F / std::sqrt(static_cast<float>(kHeadDim));
  scores = b.op("Mul", name + ".scale", {scores, b.scalar(name + ".scale_factor", scale)});
  const int weights = b.op("Softmax", name + ".softmax", {scores}, attrs({{"axis", std::int64_t{-1}}}));
  int context = b.transpose(b.op("MatMul", name + ".context", {weights, v}), name + ".merge_heads", {0, 2, 1, 3});
  context = b.reshape(context, name + ".merge", {kBatch, kTokens, kDim});
  return b.token_linear(context, name + ".proj", kDim, kDim);
}

// Pre-norm encoder block: x + Attn(LN(x)), then x + MLP(LN(x)).
int encoder_block(Builder& b, int x, const std::string& name) {
  x = b.op("Add", name + ".residual1", {x, attention(b, b.layer_norm(x, name + ".norm1", kDim), name + ".attention")});
  int y = b.token_linear(b.layer_norm(x, name + ".norm2", kDim), name + ".mlp1", kDim, kHidden);
  y = b.token_linear(b.gelu(y, name + ".gelu"), name + ".mlp2", kHidden, kDim);
  return b.op("Add", name + ".residual2", {x, y});
}

Graph vit(const Images& im) {
  Builder b("vit", im.shape());
  const std::int64_t n = im.batch, c = im.channels, p = im.side / kGrid;
  // N x C x 28 x 28 -> N x C x 4 x 7 x 4 x 7 -> N x 4 x 4 x C x 7 x 7 -> N x 16 patches x C 49 pixels
  int x = b.reshape(b.input(), "patchify", {kBatch, c, kGrid, p, kGrid, p});
  x = b.reshape(b.transpose(x, "patch_order", {0, 2, 4, 1, 3, 5}), "patches", {kBatch, kTokens - 1, c * p * p});
  x = b.token_linear(x, "patch_embed", c * p * p, kDim);
  const int cls = b.op("Expand", "class_token_expand",
                       {b.zeros("class_token", {1, 1, kDim}), b.ints("class_token_expand.shape", {n, 1, kDim})});
  x = b.op("Concat", "tokens", {cls, x}, attrs({{"axis", std::int64_t{1}}}));
  x = b.op("Add", "position_add", {x, b.zeros("position_embed", {1, kTokens, kDim})});
  for (int i = 1; i <= kDepth; ++i) x = encoder_block(b, x, fmt::format("block{}", i));
  x = b.layer_norm(b.gather(x, "class_select", 1, 0), "norm", kDim);
  return b.finish(b.linear(x, "head", kDim, 10));
}

// A model and the smallest image side its layers accept (ViT: also a multiple of 4), as nn::make_model.
struct Entry {
  std::function<Graph(const Images&)> make;
  std::int64_t min_side;
};

const std::map<std::string, Entry>& entries() {
  static const std::map<std::string, Entry> e{
      {"mlp", {mlp, 1}},           {"lenet5", {lenet5, 12}}, {"vgg8", {vgg8, 8}}, {"resnet20", {resnet20, 1}},
      {"vit", {vit, 4}},           {"vgg8_neurosim", {vgg8_neurosim, 8}}};
  return e;
}

}  // namespace

const std::vector<std::string>& zoo_names() {
  static const std::vector<std::string> names{"mlp", "lenet5", "vgg8", "resnet20", "vit"};
  return names;
}

const std::vector<std::string>& graph_only_names() {
  static const std::vector<std::string> names{"vgg8_neurosim"};
  return names;
}

const std::vector<std::string>& graph_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all = zoo_names();
    all.insert(all.end(), graph_only_names().begin(), graph_only_names().end());
    return all;
  }();
  return names;
}

void check_zoo_model(const std::string& name, std::int64_t channels, std::int64_t side) {
  const auto it = entries().find(name);
  if (it == entries().end()) {
    const auto& all = graph_names();
    const auto hint = core::closest(name, all);
    throw core::ModelError(fmt::format("unknown model '{}'{}; models: {}", name,
                                       hint ? fmt::format(" (did you mean '{}'?)", *hint) : "",
                                       fmt::join(all, ", ")));
  }
  const std::int64_t min_side = it->second.min_side;
  if (channels < 1 || side < min_side || (name == "vit" && side % kGrid != 0))
    throw core::ModelError(fmt::format("model '{}' cannot take {} x {} x {} images (channels >= 1, side >= {}{})", name,
                                       channels, side, side, min_side, name == "vit" ? ", a multiple of 4" : ""));
}

Graph zoo_graph(const std::string& name, std::int64_t channels, std::int64_t side, std::int64_t batch) {
  check_zoo_model(name, channels, side);
  if (batch < 1) throw core::ModelError(fmt::format("model '{}': batch {} (must be >= 1)", name, batch));
  const auto it = entries().find(name);
  Graph g = it->second.make(Images{batch, channels, side});
  infer_shapes(g);
  return g;
}

std::pair<std::int64_t, std::int64_t> parse_image_shape(const std::string& text) {
  static const std::regex kShape(R"((\d{1,9})x(\d{1,9})x(\d{1,9}))");
  std::smatch m;
  if (!std::regex_match(text, m, kShape))
    throw core::InputError(fmt::format("input shape '{}': expected C x H x W, e.g. 3x32x32", text));
  const std::int64_t channels = std::stoll(m[1]), height = std::stoll(m[2]), width = std::stoll(m[3]);
  if (height != width)
    throw core::ModelError(fmt::format("input shape '{}': the zoo models take square images (H = W)", text));
  return {channels, height};
}

}  // namespace cimlab::graph
