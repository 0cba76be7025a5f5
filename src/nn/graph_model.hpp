#pragma once
// A torch module that runs a graph::Graph (issue 4: imported models on the analog engine), so that an
// ONNX model is float-evaluated, evaluated on chips and HAT-fine-tuned like a zoo model.
//
// Construction takes a graph as graph::import_onnx leaves it (shapes inferred, constants folded, BN
// folded into convolutions) and a LayerFactory:
//   - every crossbar node (graph::unit_of: Conv with a constant weight, Gemm with a constant B, MatMul
//     with a constant 2-D operand) becomes a layer of the factory (conv2d / linear), registered as a
//     child named after the node ('.' and other characters torch does not take become '_'), its
//     weight and bias copied from the constants: Conv as is (1-D convolutions as 1 x k; asymmetric or
//     SAME pads as an explicit zero pad before the layer); Gemm's B (K x N, or N x K with transB) as
//     the weight N x K times alpha, a constant C of N elements as the bias times beta (other C added
//     after the layer); MatMul's right operand K x N as the weight N x K (a left operand M x K as the
//     weight M x K applied to the input's last two dimensions transposed); the factory is given the
//     node's own name (what per-layer chip settings match: the names `cimlab graph` and the mapper show);
//   - every other node runs as torch ops (nn/graph_ops.hpp lists them); an op without an executor is a
//     core::ModelError at construction naming the node, its op and position;
//   - the remaining float constants are registered under their sanitised value names: as trainable
//     parameters when they are learned tensors (more than one element in an element-wise or joining
//     op, normalisation scale and shift, an embedding table gathered by runtime indices, a MatMul
//     operand), else as buffers (scalar factors, BN statistics); integer constants as buffers.
// So the module's parameter names are stable for a graph: checkpoints and copy_weights work between its
// float and analog twins as they do for zoo models.
//
// forward takes the first graph input (N x ..., its non-batch dimensions those of the graph; converted
// to the input's dtype) and returns the first graph output. The batch may differ from the batch the
// graph was inferred with (graph_ops.hpp: shape constants that scale with the batch come from
// comparing with `probe`, the same model imported with another batch; load_onnx_model passes one).
//
// Thread-safety: a torch module: one forward/backward at a time per instance.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "nn/models.hpp"
#include "nn/train.hpp"
#include "xbar/chip_config.hpp"

namespace cimlab::nn {

class GraphModelImpl : public torch::nn::Module {
 public:
  // Throws core::ModelError for a graph with no or several runtime inputs, no output, an unknown shape,
  // an op without executor, or a crossbar node the factory layers cannot express (3-D convolution).
  GraphModelImpl(graph::Graph graph, const LayerFactory& factory, const graph::Graph* probe = nullptr);
  ~GraphModelImpl() override;

  torch::Tensor forward(const torch::Tensor& x);

  // The graph this module runs (its constants as imported; write_back updates a copy).
  const graph::Graph& graph() const { return graph_; }

  // Torch names of the crossbar layers, in node order.
  std::vector<std::string> layer_names() const;

  // Copies the module's parameters into the constants of `graph` (this module's graph or a copy of it),
  // inverting the layout conversions above. A constant shared by several crossbar layers whose copies
  // now differ is split: the second and later users get their own constant ("<name>_<node>"). Reshape
  // targets with one entry that scales with the batch (known from the probe) get -1 there, so that the
  // exported file runs at any batch (an Expand or Tile shape that scales with the batch stays as
  // inferred: the exported file then runs at the inferred batch only).
  void write_back(graph::Graph& graph) const;

  struct Program;  // the compiled steps (graph_model.cpp)

 private:
  graph::Graph graph_;
  std::unique_ptr<Program> program_;
};
TORCH_MODULE(GraphModel);

// Imports the ONNX file at `path` (batch 1, and batch 2 as the probe) and builds its module. Throws as
// graph::import_onnx and GraphModelImpl.
GraphModel load_onnx_model(const std::string& path, const LayerFactory& factory = LayerFactory{});

// The torch model of a config's model section, for train, HAT, eval and run alike: the zoo model
// (make_model) or the ONNX file's GraphModel (load_onnx_model), its weight layers from `factory`. Throws
// as those, and core::ModelError when an ONNX model's input is not N x shape.channels x shape.side x
// shape.side.
torch::nn::AnyModule build_model(const ModelSource& source, const LayerFactory& factory = LayerFactory{},
                                 ImageShape shape = {});

// The names the factory sees for the weight layers of a config's model, in order: the crossbar nodes of
// the zoo model's graph (graph::zoo_graph, named as the torch modules) or of the ONNX file. What
// per-layer chip settings are checked against (xbar::check_layer_rules). Throws as graph::import_onnx.
std::vector<std::string> crossbar_layer_names(const ModelSource& source);
// xbar::check_layer_rules of `chip` against those names (throws core::ConfigError for a rule that matches
// no layer); reads no model when the chip has no rules.
void check_layer_rules(const xbar::ChipConfig& chip, const ModelSource& source);

// The fine-tuned parameters of `model` into `graph` (see GraphModelImpl::write_back); then
// graph::export_onnx writes the fine-tuned model.
void write_back(const GraphModel& model, graph::Graph& graph);

}  // namespace cimlab::nn
