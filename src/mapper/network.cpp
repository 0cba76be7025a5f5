// The mapper's view of a network (see mapper/network.hpp).
#include "mapper/network.hpp"

#include <fmt/format.h>

#include <set>
#include <unordered_map>

#include "core/errors.hpp"

namespace cimlab::mapper {

namespace {

std::int64_t batch_of(const graph::Graph& g) {
  if (g.inputs.empty()) return 1;
  const graph::Shape& s = g.value(g.inputs.front()).shape;
  return s.empty() || s.front() <= 0 ? 1 : s.front();
}

std::int64_t kernel_size(const graph::Node& node) {
  std::int64_t k = 1;
  for (const std::int64_t d : node.attrs.ints("kernel_shape", {})) k *= d;
  return k;
}

// Unit and arithmetic operations of a digital node (per inference).
void classify(const graph::Node& node, const graph::LayerInfo& info, std::int64_t inputs, DigitalWork& w) {
  static const std::set<std::string> kMove{"Reshape", "Flatten", "Transpose", "Concat", "Squeeze", "Unsqueeze",
                                           "Identity", "Slice", "Gather", "Split", "Expand", "Tile", "Pad",
                                           "Shape", "Dropout", "Cast", "ScatterND"};
  const std::string& op = node.op;
  const std::int64_t out = w.output_elements;
  if (info.macs > 0) {
    w.unit = "matmul";
    w.ops = info.macs;
  } else if (kMove.count(op)) {
    w.unit = "move";
  } else if (op == "MaxPool" || op == "AveragePool") {
    w.unit = "pool";
    w.ops = out * kernel_size(node);
  } else if (op.starts_with("Global") || op.starts_with("Reduce")) {
    w.unit = "pool";
    w.ops = inputs;
  } else if (op == "BatchNormalization" || op == "InstanceNormalization") {
    w.unit = "norm";
    w.ops = 2 * out;  // scale and shift (statistics folded)
  } else if (op == "LayerNormalization") {
    w.unit = "norm";
    w.ops = 5 * out;  // mean, variance, normalise, scale, shift
  } else if (op == "Softmax" || op == "LogSoftmax") {
    w.unit = "softmax";
    w.ops = 3 * out;  // exponential, sum, divide
  } else {
    w.unit = "simd";
    w.ops = out;
  }
}

struct Builder {
  const graph::Graph& g;
  const xbar::ChipConfig& chip;
  std::int64_t batch;
  std::vector<graph::LayerInfo> table;
  std::unordered_map<int, int> layer_of_node;  // crossbar node -> index into layers

  std::int64_t per_inference(const graph::Shape& s) const { return graph::numel(s) / batch; }

  // Crossbar layers whose outputs reach value `v` through digital nodes only.
  void producers(int v, std::set<int>& out, std::set<int>& seen) const {
    if (v < 0 || g.is_constant(v) || !seen.insert(v).second) return;
    const int p = g.value(v).producer;
    if (p < 0) return;  // a graph input
    if (const auto it = layer_of_node.find(p); it != layer_of_node.end()) {
      out.insert(it->second);
      return;
    }
    for (const int in : g.nodes[static_cast<std::size_t>(p)].inputs) producers(in, out, seen);
  }
};

}  // namespace

NetworkRequest network_request(const graph::Graph& graph, const xbar::ChipConfig& chip) {
  Builder b{graph, chip, batch_of(graph), graph::layer_table(graph), {}};
  NetworkRequest req;
  req.model = graph.name;
  if (!graph.inputs.empty()) req.input_elements = b.per_inference(graph.value(graph.inputs.front()).shape);
  std::vector<std::string> crossbar_names;
  for (const auto& info : b.table)
    if (info.unit == graph::Unit::kCrossbar) crossbar_names.push_back(info.name);
  xbar::check_layer_rules(chip, crossbar_names);
  for (const auto& info : b.table) {
    const graph::Node& node = graph.nodes[static_cast<std::size_t>(info.node)];
    const std::int64_t out_elements = b.per_inference(info.output_shape);
    std::int64_t in_elements = 0;
    for (const auto& s : info.input_shapes) in_elements += b.per_inference(s);
    xbar::LayerChip lc;
    if (info.unit == graph::Unit::kCrossbar) lc = xbar::chip_for_layer(chip, info.name);
    if (info.unit != graph::Unit::kCrossbar || lc.digital) {
      DigitalWork w{info.name, info.op, "", 0, out_elements};
      classify(node, info, in_elements, w);
      req.digital.push_back(std::move(w));
      continue;
    }
    LayerRequest l;
    l.name = info.name;
    l.op = info.op;
    l.rows = info.rows;
    l.cols = info.cols;
    l.groups = info.groups;
    l.macs = info.macs;
    l.output_elements = out_elements;
    const std::int64_t per_position = info.rows * info.cols * info.groups;
    l.positions = per_position > 0 ? std::max<std::int64_t>(1, info.macs / per_position) : 1;
    l.mapping = lc.chip.array.mapping;
    l.adc_bits = lc.chip.array.adc.bits;
    b.layer_of_node[info.node] = static_cast<int>(req.layers.size());
    req.layers.push_back(std::move(l));
  }
  for (const auto& [node, to] : b.layer_of_node) {
    for (const int v : graph.nodes[static_cast<std::size_t>(node)].inputs) {
      if (v < 0 || graph.is_constant(v)) continue;
      std::set<int> from, seen;
      b.producers(v, from, seen);
      const double bits = static_cast<double>(b.per_inference(graph.value(v).shape)) *
                          req.layers[static_cast<std::size_t>(to)].mapping.input_bits;
      for (const int f : from) req.traffic.push_back({f, to, bits});
    }
  }
  std::sort(req.traffic.begin(), req.traffic.end(),
            [](const Traffic& a, const Traffic& b) { return std::pair{a.from, a.to} < std::pair{b.from, b.to}; });
  return req;
}

}  // namespace cimlab::mapper
