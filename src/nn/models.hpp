#pragma once
// The model zoo: classifiers of 1 x 28 x 28 images (by default; any C x S x S through ImageShape) into
// 10 classes, built from a LayerFactory so that the analog layers (next step of issue 3) replace every
// weight layer without touching the models. Parameter counts below are for 1 x 28 x 28.
//
//   mlp       784-256-128-10, ReLU                                           235,146 parameters
//   lenet5    LeCun's LeNet-5 layout (conv 6@5x5 pad 2, pool, conv 16@5x5, pool, FC 120-84-10),
//             ReLU and max pooling                                            61,706
//   vgg8      6 conv 3x3 + BN + ReLU in 3 stages (32, 64, 128 channels; max pool 28->14->7->3),
//             FC 1152-256-10                                                 584,618
//   resnet20  He et al. (2016) CIFAR ResNet-20: conv 16, 3 stages x 3 basic blocks (16/32/64
//             channels, stride 2 at stages 2 and 3: 28->14->7), 1x1 conv projection shortcuts,
//             global average pooling, FC 64-10                               272,186
//   vit       Vision Transformer (Dosovitskiy et al. 2021), small: 7x7 patches (16 tokens + class
//             token), dim 64, 4 pre-norm encoder blocks of 4-head attention + MLP 64-128-64 (GELU),
//             learned position embedding, head on the class token           139,018
//
// Other image shapes (ImageShape{channels, side}, e.g. {3, 32} for CIFAR-10): the first layer takes C
// channels; mlp's fc1 takes C S^2 inputs; lenet5's fc1 16 ((S/2 - 4)/2)^2 (S >= 12); vgg8's fc1 128 (S/8)^2
// (S >= 8; 2048 for 32 x 32); resnet20 is unchanged past its stem; vit cuts S/4 x S/4 patches (16 tokens,
// S a multiple of 4; patch embedding C (S/4)^2 -> 64).
//
// Shapes: every model maps N x C x S x S float to N x 10 logits (1 x 28 x 28 unless told otherwise). Weight layers come only from the
// factory: linear (patch embedding, QKV, projection, MLP, head and all FC layers) and conv2d. Linear
// layers receive inputs of shape [..., in] (the ViT passes N x T x in). Attention products QK^T and
// AV, normalisation, pooling and activations are plain tensor ops.
// Thread-safety: a model is a torch module: one forward/backward at a time per instance.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cimlab::nn {

// Makes the weight layers of a model. The default makes float torch::nn::Linear / Conv2d; the analog
// engine overrides both. `name` is the layer's full name: its module path in the model as registered
// ("conv1", "stage2_block1.shortcut_conv", "block3.attention.qkv"; graph/zoo.hpp names the IR nodes
// alike), or for an imported graph the node's name (nn/graph_model.hpp); per-layer chip settings
// (xbar/chip_config.hpp's `layers:`) match it. Implementations must return modules whose forward takes
// and returns one tensor, and must not keep references to the models they serve. Must be callable from
// one thread.
class LayerFactory {
 public:
  virtual ~LayerFactory() = default;
  virtual torch::nn::AnyModule linear(const std::string& name, std::int64_t in, std::int64_t out, bool bias) const;
  virtual torch::nn::AnyModule conv2d(const std::string& name, const torch::nn::Conv2dOptions& options) const;
};

// Input images of a model: channels x side x side.
struct ImageShape {
  std::int64_t channels = 1;
  std::int64_t side = 28;
};

// The names make_model accepts, in zoo order.
const std::vector<std::string>& model_names();

// Builds a freshly initialised model (torch's default initialisation; draws from torch's global
// generator, so call torch::manual_seed first for reproducible weights). Throws ModelError for an
// unknown name, or for a shape the model cannot take. The returned module's forward takes and returns one
// tensor (N x shape.channels x shape.side x shape.side images).
torch::nn::AnyModule make_model(const std::string& name, const LayerFactory& factory = LayerFactory{},
                                ImageShape shape = {});

// Number of trainable scalars (parameters with requires_grad), buffers (BN statistics) excluded.
std::int64_t count_parameters(const torch::nn::Module& module);

}  // namespace cimlab::nn
