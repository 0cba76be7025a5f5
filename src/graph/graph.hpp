#pragma once
// The network IR (issue 4): what the mapper, the PPA model and the analog engine (src/nn) consume, for
// built-in zoo models and imported ONNX models alike.
//
// A Graph is a list of nodes in topological order over values (tensors). Ops carry ONNX's names and
// attribute conventions (Conv, Gemm, MatMul, Relu, ...), so an imported model keeps its semantics and
// the zoo descriptions use the same vocabulary. Weights and other constants are stored once, in
// Graph::constants; a value that is constant refers to its entry by index, and nodes refer to values,
// so weights are never copied per node (shared ONNX initializers stay shared).
//
// Shapes are static: the batch dimension (and any other symbolic dimension) is fixed when the graph is
// built (1 by default: MACs are per input). infer_shapes() (shape_inference.cpp) fills every value's
// shape and folds the subgraphs whose inputs are all constant (Shape -> Gather -> Concat -> Reshape
// chains) into constants, so the graph left holds only the ops that run per input.
//
// Crossbar vs digital: a Conv whose weight is constant, a Gemm whose B is constant, and a MatMul with
// one constant 2-D operand are weight x activation products and go to crossbars; everything else
// (activation x activation MatMul as in attention, pooling, normalisation, element-wise ops) goes to
// digital units. layer_table() reports per node the shapes, weights, MACs and that unit.
//
// Thread-safety: plain value types; a Graph may be read from several threads, not written.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace cimlab::graph {

using Shape = std::vector<std::int64_t>;

// Element count of a shape (1 for a scalar). Throws core::ModelError when a dimension is negative or
// the count exceeds 2^40 (absurd sizes from corrupt files).
std::int64_t numel(const Shape& shape);
std::string shape_string(const Shape& shape);  // "1x3x224x224", "scalar" for {}

enum class DType { kFloat, kInt64, kBool };
std::string dtype_name(DType t);

// A constant tensor (weights, biases, folded shape arithmetic). Float data in `f`, int64/bool in `i`.
struct Constant {
  DType dtype = DType::kFloat;
  Shape shape;
  std::vector<float> f;
  std::vector<std::int64_t> i;
  std::int64_t size() const { return dtype == DType::kFloat ? static_cast<std::int64_t>(f.size()) : static_cast<std::int64_t>(i.size()); }
};

struct Value {
  std::string name;
  DType dtype = DType::kFloat;
  Shape shape;             // static shape; filled by infer_shapes() (graph inputs: by the builder)
  bool shape_known = false;
  int producer = -1;       // index of the producing node; -1 for graph inputs and constants
  int constant = -1;       // index into Graph::constants when the value is constant, else -1
};

using AttrValue = std::variant<std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>>;

// Node attributes by ONNX name. The getters return the default when the attribute is absent and throw
// core::ModelError (naming the attribute) when it has another type.
class Attributes {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  std::int64_t i(const std::string& name, std::int64_t fallback) const;
  double f(const std::string& name, double fallback) const;
  std::string s(const std::string& name, const std::string& fallback) const;
  std::vector<std::int64_t> ints(const std::string& name, const std::vector<std::int64_t>& fallback) const;
  std::vector<double> floats(const std::string& name, const std::vector<double>& fallback) const;
  const std::map<std::string, AttrValue>& all() const { return values_; }

 private:
  std::map<std::string, AttrValue> values_;
};

struct Node {
  std::string name;  // unique within the graph (importer makes one up from op and position if empty)
  std::string op;    // ONNX op type
  std::vector<int> inputs;   // value ids; -1 for an omitted optional input
  std::vector<int> outputs;  // value ids
  Attributes attrs;
};

enum class Unit { kCrossbar, kDigital };

class Graph {
 public:
  std::string name;
  std::vector<Value> values;
  std::vector<Node> nodes;  // topological order
  std::vector<Constant> constants;
  std::vector<int> inputs;   // runtime inputs (not constants), value ids
  std::vector<int> outputs;  // value ids

  // Adds a value; throws core::ModelError when the name is already taken.
  int add_value(const std::string& name, DType dtype = DType::kFloat);
  // Adds a runtime input of the given static shape.
  int add_input(const std::string& name, const Shape& shape, DType dtype = DType::kFloat);
  // Adds a constant value holding `c` (its shape is known).
  int add_constant(const std::string& name, Constant c);
  // Appends a node and sets its outputs' producer; inputs must already exist (keeps topological order).
  int add_node(Node node);
  // Value id by name, -1 when absent.
  int find(const std::string& name) const;
  const Value& value(int id) const { return values.at(static_cast<std::size_t>(id)); }
  Value& value(int id) { return values.at(static_cast<std::size_t>(id)); }
  bool is_constant(int id) const { return id >= 0 && value(id).constant >= 0; }
  const Constant& constant_of(int id) const { return constants.at(static_cast<std::size_t>(value(id).constant)); }
  // Input `k` of `node` (-1 when absent or omitted).
  int input(const Node& node, std::size_t k) const { return k < node.inputs.size() ? node.inputs[k] : -1; }

  // Drops nodes and constants no output depends on, and renumbers; keeps topological order.
  void prune();
  // Throws core::ModelError when a node uses a value defined after it (cycle / bad order), a value has
  // two producers, or an output is undefined.
  void check() const;

 private:
  std::map<std::string, int> by_name_;
};

// Fills every value's shape and folds all-constant subgraphs into constants (see the header comment).
// Throws core::ModelError naming the node (name, op, position) for an unsupported op, an input of the
// wrong rank or a shape mismatch.
// Folded nodes are removed and, when the graph has outputs, it is pruned (Graph::prune): value and node ids
// change, so look values up by name afterwards. Identity of a constant shares it (no copy); a folded result
// above 2^24 elements is not materialised (the node stays, with its shape).
void infer_shapes(Graph& graph);

// Whether the node's product is weight x activation (crossbar) or anything else (digital).
Unit unit_of(const Graph& graph, const Node& node);

// One row of `cimlab graph`.
struct LayerInfo {
  int node = -1;
  std::string name, op;
  std::vector<Shape> input_shapes;  // runtime (non-constant) inputs
  Shape output_shape;
  Shape weight_shape;               // crossbar layers: the weight tensor as stored; else empty
  std::int64_t weights = 0;         // crossbar weight elements (biases excluded)
  std::int64_t params = 0;          // trainable constants the node holds: weights, biases, BN/LN scale and
                                    // shift (BN running mean/variance are statistics, not counted)
  std::int64_t macs = 0;            // multiply-accumulates for one input (crossbar and digital products)
  Unit unit = Unit::kDigital;
  // Crossbar layers: the weight matrix as the arrays see it, rows = fan-in per group (Cin/g kh kw or K),
  // cols = outputs per group, and the number of groups (conv groups; 1 otherwise).
  std::int64_t rows = 0, cols = 0, groups = 1;
};

struct Totals {
  std::int64_t layers = 0;            // nodes
  std::int64_t crossbar_layers = 0;
  std::int64_t crossbar_weights = 0;  // biases excluded
  std::int64_t macs = 0;              // crossbar layers only, one input
  std::int64_t digital_macs = 0;      // activation x activation products (attention), one input
  std::int64_t params = 0;            // sum of LayerInfo::params
};

// One row per node, in order. Needs every shape (run infer_shapes first; throws core::ModelError naming the
// node otherwise). MACs are per input: (output elements) x (fan-in), divided by the batch, the first
// dimension of the graph's first input. A constant shared by several nodes adds to `params` once, at its
// first user; a Gather's constant data is a parameter (an embedding table); in element-wise ops (Add, Mul,
// Concat, ...) only float constants of more than one element are (a bias, a position embedding), one-element
// factors (GELU's 0.5) are not.
std::vector<LayerInfo> layer_table(const Graph& graph);
Totals totals(const std::vector<LayerInfo>& rows);
// {"model", "batch", "inputs": [{name, shape}], "outputs": [...], "layers": [...], "totals": {...}}; the
// totals keys (layers, crossbar_layers, crossbar_weights, macs, digital_macs, params) are a contract.
nlohmann::json to_json(const Graph& graph, const std::vector<LayerInfo>& rows);
// Aligned per-layer table plus totals, for a terminal.
std::string to_text(const Graph& graph, const std::vector<LayerInfo>& rows);

}  // namespace cimlab::graph
