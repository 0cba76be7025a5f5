#pragma once
// The digital ops of the graph executor (nn/graph_model.hpp): each node of a graph::Graph that is not a
// crossbar layer is compiled once, at model construction, into a kernel of torch ops. Internal to
// GraphModel; exposed for its tests.
//
// Semantics are ONNX's (opset 13 where opsets differ, e.g. Softmax's default axis -1); attributes that
// moved to inputs across opsets (Squeeze/Unsqueeze/Reduce axes, Split sizes, Slice bounds, Pad pads,
// Clip bounds) are read from either, and such inputs must be constants.
//
// Batch. The graph's shapes were inferred for a fixed batch b0 (ImportOptions::batch, 1), so the shape
// constants folded from Shape(x) (Reshape targets, Expand shapes) hold b0. A kernel receives the batch
// of the current forward and the entries of its shape constants that scale with the batch (found by
// comparing with the same model imported with another batch: GraphModel's probe). Without that mark a
// Reshape whose target no longer fits the input is adapted to the batch by its inferred shapes: the
// input dimension that grew by a factor r, and the output dimension at which the same number of
// elements precede it, grows by r (N x T x D -> N T x D; T x N x D -> T x N H x D/H).
//
// Thread-safety: kernels hold only constants; one may run on several threads at once.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace cimlab::nn::graph_ops {

using Tensors = std::vector<torch::Tensor>;

// Facts of one forward pass.
struct RunContext {
  std::int64_t batch = 1;           // the first graph input's leading dimension now
  std::int64_t inferred_batch = 1;  // the same in the inferred graph (b0)
};

// For each int64 constant (by value id): which entries scale with the batch (probe comparison). A
// constant absent from the map was not probed.
using BatchMarks = std::map<int, std::vector<bool>>;

// inputs: one tensor per node input (undefined for an omitted optional input), constants included;
// returns one tensor per node output.
using Kernel = std::function<Tensors(const Tensors& inputs, const RunContext& run)>;

struct CompileContext {
  const graph::Graph& graph;
  const BatchMarks& marks;
  bool probed = false;  // a probe was compared: unmarked constants do not depend on the batch
};

// The kernel of a digital node. Throws core::ModelError naming the node (name, op, position) for an op
// the executor lacks or attributes and constant inputs it cannot run.
Kernel compile(const CompileContext& ctx, const graph::Node& node, std::size_t position);

// Spatial attributes of a Conv or pooling node. 1-D windows are returned as 1 x k (the caller runs them
// on x.unsqueeze(2)); pads as {top, left, bottom, right} with auto_pad (SAME_UPPER, SAME_LOWER, VALID)
// resolved against the inferred input shape. `kernel`: used when the node has no kernel_shape (Conv:
// the weight's spatial shape). Throws core::ModelError for other ranks or malformed attributes.
struct Window {
  std::vector<std::int64_t> kernel, stride, dilation, pads;
  bool ceil = false;
  bool one_d = false;
  bool symmetric() const { return pads[0] == pads[2] && pads[1] == pads[3]; }
};
Window window_of(const graph::Graph& g, const graph::Node& n, const std::vector<std::int64_t>& kernel);
// x (N x C x H x W) padded by w.pads with `value`.
torch::Tensor pad2d(const torch::Tensor& x, const Window& w, double value);

// The ops compile() accepts (digital), sorted.
const std::vector<std::string>& supported_ops();

}  // namespace cimlab::nn::graph_ops
