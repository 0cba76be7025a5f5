#include "nn/models.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <functional>
#include <map>

#include "core/errors.hpp"
#include "core/params.hpp"
#include "graph/zoo.hpp"

namespace cimlab::nn {

namespace F = torch::nn::functional;
using torch::nn::AnyModule;
using torch::nn::Conv2dOptions;

torch::nn::AnyModule LayerFactory::linear(const std::string&, std::int64_t in, std::int64_t out, bool bias) const {
  return AnyModule(torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias)));
}

torch::nn::AnyModule LayerFactory::conv2d(const std::string&, const Conv2dOptions& options) const {
  return AnyModule(torch::nn::Conv2d(options));
}

namespace {

// A module whose weight layers come from a factory: linear() and conv2d() register a factory-made
// child and give the factory its full name, this module's path (prefix) and the child's name.
class ZooModule : public torch::nn::Module {
 protected:
  // prefix: this module's path in the model followed by '.' ("stage2_block1."); empty for the model.
  explicit ZooModule(std::string prefix = "") : prefix_(std::move(prefix)) {}

  // A linear layer with bias.
  AnyModule linear(const LayerFactory& f, const std::string& name, std::int64_t in, std::int64_t out) {
    return layer(name, f.linear(prefix_ + name, in, out, true));
  }
  AnyModule conv2d(const LayerFactory& f, const std::string& name, const Conv2dOptions& options) {
    return layer(name, f.conv2d(prefix_ + name, options));
  }
  // 3x3 (or k x k) convolution without bias, "same" padding, as used before batch normalisation.
  AnyModule conv(const LayerFactory& f, const std::string& name, std::int64_t in, std::int64_t out, std::int64_t k,
                 std::int64_t stride = 1) {
    return conv2d(f, name, Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
  }
  // The prefix of child module `name`.
  std::string child(const std::string& name) const { return prefix_ + name + "."; }
  torch::nn::BatchNorm2d batch_norm(const std::string& name, std::int64_t channels) {
    return register_module(name, torch::nn::BatchNorm2d(channels));
  }

 private:
  AnyModule layer(const std::string& name, AnyModule m) {
    register_module(name, m.ptr());
    return m;
  }

  std::string prefix_;
};

class MlpImpl : public ZooModule {
 public:
  MlpImpl(const LayerFactory& f, ImageShape shape)
      : fc1_(linear(f, "fc1", shape.channels * shape.side * shape.side, 256)),
        fc2_(linear(f, "fc2", 256, 128)),
        fc3_(linear(f, "fc3", 128, 10)) {}
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(fc1_.forward(x.flatten(1)));
    x = torch::relu(fc2_.forward(x));
    return fc3_.forward(x);
  }

 private:
  AnyModule fc1_, fc2_, fc3_;
};
TORCH_MODULE(Mlp);

class LeNet5Impl : public ZooModule {
 public:
  LeNet5Impl(const LayerFactory& f, ImageShape shape)
      : conv1_(conv2d(f, "conv1", Conv2dOptions(shape.channels, 6, 5).padding(2))),
        conv2_(conv2d(f, "conv2", Conv2dOptions(6, 16, 5))),
        fc1_(linear(f, "fc1", 16 * side2(shape) * side2(shape), 120)),
        fc2_(linear(f, "fc2", 120, 84)),
        fc3_(linear(f, "fc3", 84, 10)) {}
  // Side of the feature maps after the second pooling: 28 -> 14 -> 10 -> 5.
  static std::int64_t side2(ImageShape shape) { return (shape.side / 2 - 4) / 2; }
  torch::Tensor forward(torch::Tensor x) {
    x = F::max_pool2d(torch::relu(conv1_.forward(x)), F::MaxPool2dFuncOptions(2));  // 6 x 14 x 14
    x = F::max_pool2d(torch::relu(conv2_.forward(x)), F::MaxPool2dFuncOptions(2));  // 16 x 5 x 5 (28 x 28 input)
    x = torch::relu(fc1_.forward(x.flatten(1)));
    x = torch::relu(fc2_.forward(x));
    return fc3_.forward(x);
  }

 private:
  AnyModule conv1_, conv2_, fc1_, fc2_, fc3_;
};
TORCH_MODULE(LeNet5);

class Vgg8Impl : public ZooModule {
 public:
  Vgg8Impl(const LayerFactory& f, ImageShape shape) {
    const std::int64_t channels[] = {shape.channels, 32, 32, 64, 64, 128, 128};
    const std::int64_t side = shape.side / 2 / 2 / 2;  // 28 -> 3, 32 -> 4
    for (int i = 0; i < 6; ++i) {
      convs_.push_back(conv(f, fmt::format("conv{}", i + 1), channels[i], channels[i + 1], 3));
      norms_.push_back(batch_norm(fmt::format("bn{}", i + 1), channels[i + 1]));
    }
    fc1_ = linear(f, "fc1", 128 * side * side, 256);
    fc2_ = linear(f, "fc2", 256, 10);
  }
  torch::Tensor forward(torch::Tensor x) {
    for (std::size_t i = 0; i < convs_.size(); ++i) {
      x = torch::relu(norms_[i]->forward(convs_[i].forward(x)));
      if (i % 2 == 1) x = F::max_pool2d(x, F::MaxPool2dFuncOptions(2));  // 28 -> 14 -> 7 -> 3 (32 -> 16 -> 8 -> 4)
    }
    return fc2_.forward(torch::relu(fc1_.forward(x.flatten(1))));
  }

 private:
  std::vector<AnyModule> convs_;
  std::vector<torch::nn::BatchNorm2d> norms_;
  AnyModule fc1_, fc2_;
};
TORCH_MODULE(Vgg8);

// Basic residual block: two 3x3 conv + BN; a 1x1 conv + BN projection when the shape changes.
class BasicBlockImpl : public ZooModule {
 public:
  BasicBlockImpl(const LayerFactory& f, std::string prefix, std::int64_t in, std::int64_t out, std::int64_t stride)
      : ZooModule(std::move(prefix)),
        conv1_(conv(f, "conv1", in, out, 3, stride)),
        bn1_(batch_norm("bn1", out)),
        conv2_(conv(f, "conv2", out, out, 3)),
        bn2_(batch_norm("bn2", out)) {
    if (stride != 1 || in != out) {
      shortcut_ = conv(f, "shortcut_conv", in, out, 1, stride);
      shortcut_bn_ = batch_norm("shortcut_bn", out);
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1_->forward(conv1_.forward(x)));
    y = bn2_->forward(conv2_.forward(y));
    const torch::Tensor skip = shortcut_.is_empty() ? x : shortcut_bn_->forward(shortcut_.forward(x));
    return torch::relu(y + skip);
  }

 private:
  AnyModule conv1_;
  torch::nn::BatchNorm2d bn1_;
  AnyModule conv2_;
  torch::nn::BatchNorm2d bn2_;
  AnyModule shortcut_;
  torch::nn::BatchNorm2d shortcut_bn_{nullptr};
};
TORCH_MODULE(BasicBlock);

class ResNet20Impl : public ZooModule {
 public:
  ResNet20Impl(const LayerFactory& f, ImageShape shape)
      : stem_(conv(f, "conv1", shape.channels, 16, 3)), stem_bn_(batch_norm("bn1", 16)) {
    std::int64_t in = 16;
    for (int stage = 0; stage < 3; ++stage) {
      const std::int64_t out = 16 << stage;
      for (int b = 0; b < 3; ++b) {
        const std::int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
        const std::string name = fmt::format("stage{}_block{}", stage + 1, b + 1);
        blocks_.push_back(register_module(name, BasicBlock(f, child(name), in, out, stride)));
        in = out;
      }
    }
    fc_ = linear(f, "fc", 64, 10);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(stem_bn_->forward(stem_.forward(x)));
    for (auto& block : blocks_) x = block->forward(x);  // 16 x 28 x 28 -> 32 x 14 x 14 -> 64 x 7 x 7
    return fc_.forward(x.mean({2, 3}));
  }

 private:
  AnyModule stem_;
  torch::nn::BatchNorm2d stem_bn_;
  std::vector<BasicBlock> blocks_;
  AnyModule fc_;
};
TORCH_MODULE(ResNet20);

// Multi-head self-attention on N x T x dim tokens; QK^T and AV are digital tensor products.
class AttentionImpl : public ZooModule {
 public:
  AttentionImpl(const LayerFactory& f, std::string prefix, std::int64_t dim, std::int64_t heads)
      : ZooModule(std::move(prefix)), heads_(heads), head_dim_(dim / heads),
        scale_(1.0 / std::sqrt(static_cast<double>(dim / heads))),
        qkv_(linear(f, "qkv", dim, 3 * dim)), proj_(linear(f, "proj", dim, dim)) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const std::int64_t n = x.size(0), t = x.size(1);
    const torch::Tensor qkv = qkv_.forward(x).reshape({n, t, 3, heads_, head_dim_}).permute({2, 0, 3, 1, 4});
    const torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2];  // N x heads x T x head_dim
    const torch::Tensor attention = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale_, -1);
    return proj_.forward(torch::matmul(attention, v).transpose(1, 2).reshape({n, t, heads_ * head_dim_}));
  }

 private:
  std::int64_t heads_, head_dim_;
  double scale_;
  AnyModule qkv_, proj_;
};
TORCH_MODULE(Attention);

// Pre-norm transformer encoder block: x + Attn(LN(x)), then x + MLP(LN(x)).
class EncoderBlockImpl : public ZooModule {
 public:
  EncoderBlockImpl(const LayerFactory& f, std::string prefix, std::int64_t dim, std::int64_t heads, std::int64_t hidden)
      : ZooModule(std::move(prefix)),
        norm1_(register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})))),
        attention_(register_module("attention", Attention(f, child("attention"), dim, heads))),
        norm2_(register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})))),
        mlp1_(linear(f, "mlp1", dim, hidden)),
        mlp2_(linear(f, "mlp2", hidden, dim)) {}
  torch::Tensor forward(torch::Tensor x) {
    x = x + attention_->forward(norm1_->forward(x));
    return x + mlp2_.forward(torch::gelu(mlp1_.forward(norm2_->forward(x))));
  }

 private:
  torch::nn::LayerNorm norm1_;
  Attention attention_;
  torch::nn::LayerNorm norm2_;
  AnyModule mlp1_, mlp2_;
};
TORCH_MODULE(EncoderBlock);

class VitImpl : public ZooModule {
 public:
  static constexpr std::int64_t kGrid = 4, kTokens = kGrid * kGrid, kDim = 64, kHeads = 4, kDepth = 4, kHidden = 128;

  // Patches of side / 4 pixels (7 x 7 for 28 x 28 images): always 16 tokens.
  VitImpl(const LayerFactory& f, ImageShape shape)
      : patch_(shape.side / kGrid),
        patch_embed_(linear(f, "patch_embed", shape.channels * patch_ * patch_, kDim)) {
    torch::NoGradGuard no_grad;
    class_token_ = register_parameter("class_token", torch::randn({1, 1, kDim}) * 0.02);
    position_ = register_parameter("position_embed", torch::randn({1, kTokens + 1, kDim}) * 0.02);
    for (int i = 0; i < kDepth; ++i) {
      const std::string name = fmt::format("block{}", i + 1);
      blocks_.push_back(register_module(name, EncoderBlock(f, child(name), kDim, kHeads, kHidden)));
    }
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({kDim})));
    head_ = linear(f, "head", kDim, 10);
  }
  torch::Tensor forward(const torch::Tensor& images) {
    const std::int64_t n = images.size(0);
    // N x C x 28 x 28 -> N x C x 4 x 4 x 7 x 7 -> N x 16 patches x C 49 pixels (row-major patch order;
    // a patch's pixels channel by channel)
    const torch::Tensor patches = images.unfold(2, patch_, patch_)
                                      .unfold(3, patch_, patch_)
                                      .permute({0, 2, 3, 1, 4, 5})
                                      .reshape({n, kTokens, -1});
    torch::Tensor x = torch::cat({class_token_.expand({n, 1, kDim}), patch_embed_.forward(patches)}, 1) + position_;
    for (auto& block : blocks_) x = block->forward(x);
    return head_.forward(norm_->forward(x.select(1, 0)));
  }

 private:
  std::int64_t patch_;
  AnyModule patch_embed_;
  torch::Tensor class_token_, position_;
  std::vector<EncoderBlock> blocks_;
  torch::nn::LayerNorm norm_{nullptr};
  AnyModule head_;
};
TORCH_MODULE(Vit);

// A builder and the smallest image side its layers accept (ViT: also a multiple of 4).
// Shapes and names are checked by graph::check_zoo_model (one list of models and their limits).
const std::map<std::string, std::function<AnyModule(const LayerFactory&, ImageShape)>>& builders() {
  static const std::map<std::string, std::function<AnyModule(const LayerFactory&, ImageShape)>> b{
      {"mlp", [](const LayerFactory& f, ImageShape s) { return AnyModule(Mlp(f, s)); }},
      {"lenet5", [](const LayerFactory& f, ImageShape s) { return AnyModule(LeNet5(f, s)); }},
      {"vgg8", [](const LayerFactory& f, ImageShape s) { return AnyModule(Vgg8(f, s)); }},
      {"resnet20", [](const LayerFactory& f, ImageShape s) { return AnyModule(ResNet20(f, s)); }},
      {"vit", [](const LayerFactory& f, ImageShape s) { return AnyModule(Vit(f, s)); }},
  };
  return b;
}

}  // namespace

const std::vector<std::string>& model_names() { return graph::zoo_names(); }

torch::nn::AnyModule make_model(const std::string& name, const LayerFactory& factory, ImageShape shape) {
  graph::check_zoo_model(name, shape.channels, shape.side);
  const auto it = builders().find(name);
  if (it == builders().end())
    throw core::ModelError(fmt::format("model '{}' is described for cimlab graph, map and ppa only; models to train: {}", name,
                                       fmt::join(model_names(), ", ")));
  return it->second(factory, shape);
}

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters())
    if (p.requires_grad()) n += p.numel();
  return n;
}

}  // namespace cimlab::nn
