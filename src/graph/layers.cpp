// Per-node report of a graph (graph.hpp): crossbar or digital, weights, parameters and MACs.
//
// MACs are per input: a product's MACs are (output elements) x (fan-in), and output elements include
// the batch, so the count is divided by the batch, the first dimension of the graph's first runtime
// input (1 when that input is a scalar). The graphs of `cimlab graph` have batch 1 unless --batch says
// otherwise; the MACs are the same for every batch.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "core/errors.hpp"
#include "graph/graph.hpp"

namespace cimlab::graph {

namespace {

// Element-wise and joining ops: a float constant operand of more than one element is a learned tensor
// (a MatMul's bias, a position embedding, a class token); a one-element operand is a fixed factor
// (GELU's 0.5 and sqrt 2, attention's 1/sqrt(d)) and not counted.
const std::set<std::string> kElementwise{"Add", "Sub", "Mul", "Div", "Concat", "Expand", "Where", "Sum", "Max", "Min"};

const Shape& known_shape(const Graph& g, const Node& node, int id) {
  const Value& v = g.value(id);
  if (!v.shape_known)
    throw core::ModelError(
        fmt::format("node '{}' ({}): shape of tensor '{}' unknown (run infer_shapes first)", node.name, node.op, v.name));
  return v.shape;
}

std::int64_t batch_of(const Graph& g) {
  if (g.inputs.empty()) return 1;
  const Value& v = g.value(g.inputs.front());
  return v.shape_known && !v.shape.empty() && v.shape.front() > 0 ? v.shape.front() : 1;
}

bool is_2d_constant(const Graph& g, int id) { return g.is_constant(id) && g.value(id).shape.size() == 2; }

// The constant operand a crossbar holds, or -1 when the node is not a weight x activation product.
int weight_input(const Graph& g, const Node& node) {
  const int a = g.input(node, 0), b = g.input(node, 1);
  if (node.op == "Conv" || node.op == "Gemm") return g.is_constant(b) ? b : -1;
  if (node.op != "MatMul") return -1;
  if (is_2d_constant(g, b) && !g.is_constant(a)) return b;
  if (is_2d_constant(g, a) && !g.is_constant(b)) return a;
  return -1;
}

// Fan-in of one output element of a product (Conv, Gemm, MatMul), crossbar or digital; 0 otherwise.
std::int64_t fan_in(const Graph& g, const Node& node) {
  const int a = g.input(node, 0), b = g.input(node, 1);
  if (a < 0 || b < 0) return 0;
  if (node.op == "Conv") {
    const Shape& w = known_shape(g, node, b);
    return w.size() < 3 ? 0 : numel(Shape(w.begin() + 1, w.end()));
  }
  const Shape& sa = known_shape(g, node, a);
  if (node.op == "MatMul") {
    if (weight_input(g, node) == a) return sa.size() == 2 ? sa[1] : 0;  // W (M x K) x activation (K x N)
    return sa.empty() ? 0 : sa.back();
  }
  if (node.op == "Gemm") return sa.size() != 2 ? 0 : node.attrs.i("transA", 0) ? sa[0] : sa[1];
  return 0;
}

// Rows, columns and groups of a crossbar layer's weight matrix (rows = fan-in per group).
void fill_crossbar(const Graph& g, const Node& node, int w, LayerInfo& row) {
  const Shape& shape = g.value(w).shape;
  row.weight_shape = shape;
  row.weights = numel(shape);
  row.rows = fan_in(g, node);
  if (node.op == "Conv") {
    row.groups = node.attrs.i("group", 1);
    if (row.groups < 1 || shape.empty() || shape[0] % row.groups != 0)
      throw core::ModelError(fmt::format("node '{}' (Conv): {} output channels in {} groups", node.name,
                                         shape.empty() ? 0 : shape[0], row.groups));
    row.cols = shape[0] / row.groups;
  } else if (node.op == "Gemm") {
    if (shape.size() != 2) throw core::ModelError(fmt::format("node '{}' (Gemm): B is not a matrix", node.name));
    row.cols = node.attrs.i("transB", 0) ? shape[0] : shape[1];
  } else {  // MatMul: K x N on the right, M x K on the left
    row.cols = w == g.input(node, 1) ? shape[1] : shape[0];
  }
}

// Input slots whose float constants are trainable parameters of the node (see kElementwise).
bool is_parameter(const Graph& g, const Node& node, std::size_t slot, int id) {
  if (!g.is_constant(id) || g.constant_of(id).dtype != DType::kFloat) return false;
  const std::string& op = node.op;
  if (op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "BatchNormalization" ||
      op == "LayerNormalization" || op == "InstanceNormalization" || op == "GroupNormalization")
    return slot == 1 || slot == 2;  // weight/scale and bias; BN's running mean and variance are statistics
  if (op == "MatMul" || op == "PRelu") return true;
  if (op == "Gather") return slot == 0;  // an embedding table
  return kElementwise.count(op) != 0 && numel(g.value(id).shape) > 1;
}

std::string with_commas(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

nlohmann::json values_json(const Graph& g, const std::vector<int>& ids) {
  nlohmann::json out = nlohmann::json::array();
  for (int id : ids) out.push_back({{"name", g.value(id).name}, {"shape", g.value(id).shape}});
  return out;
}

}  // namespace

Unit unit_of(const Graph& graph, const Node& node) {
  return weight_input(graph, node) >= 0 ? Unit::kCrossbar : Unit::kDigital;
}

std::vector<LayerInfo> layer_table(const Graph& graph) {
  const std::int64_t batch = batch_of(graph);
  std::set<int> counted;  // a constant shared by several nodes counts once, at its first user
  std::vector<LayerInfo> rows;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    LayerInfo row;
    row.node = static_cast<int>(n);
    row.name = node.name;
    row.op = node.op;
    for (std::size_t k = 0; k < node.inputs.size(); ++k) {
      const int id = node.inputs[k];
      if (id < 0) continue;
      if (!graph.is_constant(id)) row.input_shapes.push_back(known_shape(graph, node, id));
      if (is_parameter(graph, node, k, id) && counted.insert(graph.value(id).constant).second)
        row.params += numel(graph.value(id).shape);
    }
    if (!node.outputs.empty()) row.output_shape = known_shape(graph, node, node.outputs.front());
    const int w = weight_input(graph, node);
    row.unit = w >= 0 ? Unit::kCrossbar : Unit::kDigital;
    if (w >= 0) fill_crossbar(graph, node, w, row);
    if (!node.outputs.empty()) row.macs = numel(row.output_shape) * fan_in(graph, node) / batch;
    rows.push_back(std::move(row));
  }
  return rows;
}

Totals totals(const std::vector<LayerInfo>& rows) {
  Totals t;
  for (const LayerInfo& r : rows) {
    ++t.layers;
    t.params += r.params;
    if (r.unit == Unit::kCrossbar) {
      ++t.crossbar_layers;
      t.crossbar_weights += r.weights;
      t.macs += r.macs;
    } else {
      t.digital_macs += r.macs;
    }
  }
  return t;
}

nlohmann::json to_json(const Graph& graph, const std::vector<LayerInfo>& rows) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerInfo& r : rows)
    layers.push_back({{"name", r.name},
                      {"op", r.op},
                      {"inputs", r.input_shapes},
                      {"output", r.output_shape},
                      {"weight_shape", r.weight_shape},
                      {"weights", r.weights},
                      {"params", r.params},
                      {"macs", r.macs},
                      {"unit", r.unit == Unit::kCrossbar ? "crossbar" : "digital"},
                      {"rows", r.rows},
                      {"cols", r.cols},
                      {"groups", r.groups}});
  const Totals t = totals(rows);
  return {{"model", graph.name},
          {"batch", batch_of(graph)},
          {"inputs", values_json(graph, graph.inputs)},
          {"outputs", values_json(graph, graph.outputs)},
          {"layers", layers},
          {"totals",
           {{"layers", t.layers},
            {"crossbar_layers", t.crossbar_layers},
            {"crossbar_weights", t.crossbar_weights},
            {"macs", t.macs},
            {"digital_macs", t.digital_macs},
            {"params", t.params}}}};
}

std::string to_text(const Graph& graph, const std::vector<LayerInfo>& rows) {
  using Cells = std::vector<std::string>;
  std::vector<Cells> table{{"name", "op", "inputs", "output", "unit", "crossbar", "weights", "params", "MACs"}};
  for (const LayerInfo& r : rows) {
    std::vector<std::string> ins;
    for (const Shape& s : r.input_shapes) ins.push_back(shape_string(s));
    const bool xbar = r.unit == Unit::kCrossbar;
    std::string array = xbar ? fmt::format("{}x{}", r.rows, r.cols) : "";
    if (xbar && r.groups > 1) array += fmt::format(" g{}", r.groups);
    table.push_back({r.name, r.op, fmt::format("{}", fmt::join(ins, ", ")), shape_string(r.output_shape),
                     xbar ? "crossbar" : "digital", array, r.weights ? with_commas(r.weights) : "",
                     r.params ? with_commas(r.params) : "", r.macs ? with_commas(r.macs) : ""});
  }
  std::vector<std::size_t> width(table.front().size(), 0);
  for (const Cells& cells : table)
    for (std::size_t c = 0; c < cells.size(); ++c) width[c] = std::max(width[c], cells[c].size());
  auto list = [&](const std::vector<int>& ids) {
    std::vector<std::string> items;
    for (int id : ids) items.push_back(fmt::format("{} [{}]", graph.value(id).name, shape_string(graph.value(id).shape)));
    return fmt::format("{}", fmt::join(items, ", "));
  };
  std::string out =
      fmt::format("model {}: inputs {}; outputs {}\n", graph.name, list(graph.inputs), list(graph.outputs));
  for (const Cells& cells : table) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c)  // text columns left-aligned, numbers right-aligned
      line += c < 6 ? fmt::format("{:<{}}  ", cells[c], width[c]) : fmt::format("{:>{}}  ", cells[c], width[c]);
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + '\n';
  }
  const Totals t = totals(rows);
  out += fmt::format(
      "{}: {} layers, {} on crossbars holding {} weights; {} crossbar MACs and {} digital MACs per input; {} "
      "parameters\n",
      graph.name, t.layers, t.crossbar_layers, with_commas(t.crossbar_weights), with_commas(t.macs),
      with_commas(t.digital_macs), with_commas(t.params));
  return out;
}

}  // namespace cimlab::graph
