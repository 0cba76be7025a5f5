#pragma once
// Private to src/graph: what shape inference (shape_inference.cpp: the per-op rules and the walk) and
// constant folding (fold.cpp: the CPU evaluator) share; the helpers are in shape_params.cpp.
//
// infer_shapes() runs each node's shape rule first; the rule validates the node (input ranks, attribute
// ranges, constant parameter inputs) and returns the output types. Only then, when the node is foldable
// and its inputs are constant, fold() evaluates it on the CPU, re-deriving its parameters with the same
// helpers (slice_dims, transpose_perm, ...) the rule used, so the two cannot disagree.
//
// Errors thrown here are core::ModelError holding only what went wrong; infer_shapes() prefixes the
// node's name, op and position.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.hpp"

namespace cimlab::graph::detail {

constexpr std::int64_t kMaxDim = std::int64_t{1} << 40;  // same bound as numel()
constexpr std::size_t kMaxRank = 32;                     // far above any real model (ONNX models stay <= 8)
// Folded results larger than this stay nodes (their shape is still inferred), so that no file can make
// folding allocate much (a ConstantOfShape / Range / Expand / Tile of 2^40 elements, say): 16 Mi elements.
constexpr std::int64_t kMaxFoldedElements = std::int64_t{1} << 24;

struct TensorType {
  Shape shape;
  DType dtype = DType::kFloat;
};

// Shape arithmetic that throws core::ModelError on int64 overflow instead of wrapping.
std::int64_t checked_add(std::int64_t a, std::int64_t b);
std::int64_t checked_mul(std::int64_t a, std::int64_t b);
// Throws unless the rank is at most kMaxRank, every dimension in [0, 2^40] and numel() at most 2^40.
void check_shape(const Shape& shape);
// `axis` in [-rank, rank - 1] mapped to [0, rank); throws otherwise.
std::size_t normalize_axis(std::int64_t axis, std::size_t rank);
// Numpy (multidirectional) broadcasting of two shapes; throws naming both when incompatible.
Shape broadcast(const Shape& a, const Shape& b);
std::vector<std::int64_t> contiguous_strides(const Shape& shape);  // row-major, in elements

// The node under inference: typed access to its inputs and attributes.
class NodeContext {
 public:
  NodeContext(const Graph& graph, const Node& node) : graph_(graph), node_(node) {}
  const Node& node() const { return node_; }
  const Attributes& attrs() const { return node_.attrs; }
  std::size_t input_count() const { return node_.inputs.size(); }
  std::size_t output_count() const { return node_.outputs.size(); }
  bool has(std::size_t k) const { return graph_.input(node_, k) >= 0; }  // present and not omitted
  const Value& input(std::size_t k) const;  // throws when input k is absent
  const Shape& shape(std::size_t k) const { return input(k).shape; }
  std::size_t rank(std::size_t k) const { return shape(k).size(); }
  DType dtype(std::size_t k) const { return input(k).dtype; }
  const Constant* constant(std::size_t k) const;  // nullptr when absent or not constant
  // The values of constant input k, an int64 tensor (shape, axes, pads...); `what` names it in errors.
  std::vector<std::int64_t> ints(std::size_t k, const char* what) const;
  // The values of constant input k, a float or int64 tensor (scales).
  std::vector<double> floats(std::size_t k, const char* what) const;

 private:
  const Graph& graph_;
  const Node& node_;
};

// Axes from input k (opset 13+) or the `axes` attribute (older opsets); nullopt when neither is given.
std::optional<std::vector<std::int64_t>> axes_of(const NodeContext& ctx, std::size_t k);
// Slice, per input dimension: first element, step and element count (count <= 1 => step 1).
struct SliceDim {
  std::int64_t start = 0, step = 1, count = 0;
};
std::vector<SliceDim> slice_dims(const NodeContext& ctx);
// Transpose: output dimension d is input dimension perm[d].
std::vector<std::size_t> transpose_perm(const NodeContext& ctx);
// Reduce*: per input dimension, whether it is reduced.
std::vector<char> reduced_dims(const NodeContext& ctx);
// Split: the axis and the size of each output along it.
std::pair<std::size_t, std::vector<std::int64_t>> split_sizes(const NodeContext& ctx);
// Shape (opset 15 start/end): the range [first, last) of dimensions reported.
std::pair<std::size_t, std::size_t> shape_op_range(const NodeContext& ctx);
// Constant node: the tensor its value / value_float(s) / value_int(s) attribute holds.
Constant constant_attribute(const Attributes& attrs);
// ConstantOfShape: the fill value, a scalar tensor (attribute `value`, which the importer stores as an
// int64 or a double; default float 0).
Constant fill_value(const Attributes& attrs);

// Whether fold() can evaluate `op`.
bool foldable(const std::string& op);
// Evaluates the node on its constant inputs (Shape and Size need only known shapes); `outputs` are the
// types its shape rule inferred, each at most kMaxFoldedElements.
std::vector<Constant> fold(const NodeContext& ctx, const std::vector<TensorType>& outputs);

}  // namespace cimlab::graph::detail
