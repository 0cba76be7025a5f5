#pragma once
// The built-in zoo models (nn/models.hpp) described in the IR, so that `cimlab graph`, the mapper and
// the PPA model treat zoo and imported models alike. Same layers, shapes and parameter counts as the
// LibTorch models (a test in tests/unit/nn checks them against each other); weights are zero-filled
// constants (the IR describes structure; trained weights live in checkpoints). BatchNormalization stays
// a node (training-time description), LayerNorm is LayerNormalization and GELU the Erf form, so the
// graph exports to valid ONNX (opset 17).
//
// Names: nodes are named after the torch modules ("conv1", "stage2_block1.shortcut_conv",
// "block3.attention.qkv") and their constants after the torch parameters ("<node>.weight", "<node>.bias",
// BN's "<node>.running_mean" / "<node>.running_var", the ViT's "class_token" and "position_embed"). Linear
// layers on N x in are Gemm with transB = 1 (weight out x in, as torch stores it); the ViT's linear layers
// on N x T x in are MatMul with the weight transposed (in x out) followed by Add of the bias (node
// "<layer>.add_bias"). Attention's QK^T ("<block>.attention.scores") and AV ("...context") are
// activation x activation MatMuls. The ViT's class token (1 x 1 x 64) is Expanded to N x 1 x 64 by a node
// ("class_token_expand") that shape inference leaves in place (a float parameter is not folded), so every
// figure is the same at any batch.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.hpp"

namespace cimlab::graph {

// The zoo names, in nn::model_names() order: mlp, lenet5, vgg8, resnet20, vit.
const std::vector<std::string>& zoo_names();
// Networks described as graphs only, for cimlab graph / map / ppa (no LibTorch module): vgg8_neurosim
// (NeuroSim V1.4's VGG-8 for CIFAR-10).
const std::vector<std::string>& graph_only_names();
// Every network name a graph can be built for: zoo_names() then graph_only_names().
const std::vector<std::string>& graph_names();

// Checks that `name` is a zoo model and can take channels x side x side images: throws core::ModelError
// for an unknown name (suggesting the closest) or a shape it cannot take. nn::make_model uses it too.
void check_zoo_model(const std::string& name, std::int64_t channels, std::int64_t side);

// Parses an image shape "CxHxW" (e.g. "3x32x32") into {channels, side}. Throws core::InputError when it is
// not of that form and core::ModelError when H != W (the zoo models take square images).
std::pair<std::int64_t, std::int64_t> parse_image_shape(const std::string& text);

// The model for N x channels x side x side inputs (N = batch). Throws core::ModelError for an unknown
// name (suggesting the closest) or a shape the model cannot take (same rules as nn::make_model).
Graph zoo_graph(const std::string& name, std::int64_t channels = 1, std::int64_t side = 28, std::int64_t batch = 1);

}  // namespace cimlab::graph
