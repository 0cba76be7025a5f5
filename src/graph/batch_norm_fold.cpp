// BatchNormalization folded into the Conv before it (declared in onnx.hpp): the standard inference-time
// rewrite, y = gamma (W x + b - mean) / sqrt(var + eps) + beta = W' x + b'.
#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "graph/onnx.hpp"

namespace cimlab::graph {

namespace {

struct Fold {
  std::size_t bn = 0;    // node index of the BatchNormalization
  std::size_t conv = 0;  // node index of the Conv
  Constant weight, bias;
};

bool is_float_vector(const Graph& g, int id, std::int64_t size) {
  if (!g.is_constant(id)) return false;
  const Constant& c = g.constant_of(id);
  return c.dtype == DType::kFloat && c.size() == size;
}

// How many node inputs and graph outputs refer to each value.
std::vector<int> use_counts(const Graph& g) {
  std::vector<int> uses(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int in : n.inputs)
      if (in >= 0) ++uses[static_cast<std::size_t>(in)];
  for (int out : g.outputs) ++uses[static_cast<std::size_t>(out)];
  return uses;
}

// The folded weight and bias for the BN at node index `b`, when it can be folded.
std::optional<Fold> plan_fold(const Graph& g, std::size_t b, const std::vector<int>& uses) {
  const Node& bn = g.nodes[b];
  if (bn.op != "BatchNormalization" || bn.inputs.size() < 5 || bn.outputs.size() != 1) return std::nullopt;
  if (bn.attrs.i("training_mode", 0) != 0) return std::nullopt;
  const int x = bn.inputs[0];
  if (x < 0 || g.value(x).producer < 0 || uses[static_cast<std::size_t>(x)] != 1) return std::nullopt;
  const auto c = static_cast<std::size_t>(g.value(x).producer);
  const Node& conv = g.nodes[c];
  const int w = g.input(conv, 1), bias = g.input(conv, 2);
  if (conv.op != "Conv" || conv.outputs.size() != 1 || !g.is_constant(w)) return std::nullopt;
  const Constant& weight = g.constant_of(w);
  if (weight.dtype != DType::kFloat || weight.shape.empty() || weight.shape[0] <= 0) return std::nullopt;
  const std::int64_t channels = weight.shape[0];
  if (bias >= 0 && !is_float_vector(g, bias, channels)) return std::nullopt;
  for (std::size_t k = 1; k <= 4; ++k)
    if (!is_float_vector(g, bn.inputs[k], channels)) return std::nullopt;
  const auto& gamma = g.constant_of(bn.inputs[1]).f;
  const auto& beta = g.constant_of(bn.inputs[2]).f;
  const auto& mean = g.constant_of(bn.inputs[3]).f;
  const auto& var = g.constant_of(bn.inputs[4]).f;
  const double eps = bn.attrs.f("epsilon", 1e-5);
  Fold fold{b, c, Constant{DType::kFloat, weight.shape, {}, {}}, Constant{DType::kFloat, {channels}, {}, {}}};
  fold.weight.f.resize(weight.f.size());
  fold.bias.f.resize(static_cast<std::size_t>(channels));
  const std::size_t per_channel = weight.f.size() / static_cast<std::size_t>(channels);
  for (std::size_t o = 0; o < static_cast<std::size_t>(channels); ++o) {
    const double scale = gamma[o] / std::sqrt(static_cast<double>(var[o]) + eps);
    for (std::size_t k = o * per_channel; k < (o + 1) * per_channel; ++k)
      fold.weight.f[k] = static_cast<float>(weight.f[k] * scale);
    const double b0 = bias >= 0 ? g.constant_of(bias).f[o] : 0.0;
    fold.bias.f[o] = static_cast<float>((b0 - mean[o]) * scale + beta[o]);
  }
  return fold;
}

std::string unused_name(const Graph& g, const std::string& base) {
  std::string name = base;
  for (int k = 2; g.find(name) >= 0; ++k) name = fmt::format("{}_{}", base, k);
  return name;
}

}  // namespace

int fold_batch_norm(Graph& graph) {
  const std::vector<int> uses = use_counts(graph);
  std::vector<char> drop(graph.nodes.size(), 0);
  int folded = 0;
  for (std::size_t b = 0; b < graph.nodes.size(); ++b) {
    std::optional<Fold> fold = plan_fold(graph, b, uses);
    if (!fold) continue;
    const std::string weight_name = graph.value(graph.nodes[fold->conv].inputs[1]).name;
    const int w = graph.add_constant(unused_name(graph, weight_name + ".bn_folded"), std::move(fold->weight));
    const int bias = graph.add_constant(unused_name(graph, weight_name + ".bn_folded_bias"), std::move(fold->bias));
    Node& conv = graph.nodes[fold->conv];
    conv.inputs.resize(3, -1);
    conv.inputs[1] = w;
    conv.inputs[2] = bias;
    conv.outputs[0] = graph.nodes[b].outputs[0];
    drop[b] = 1;
    ++folded;
  }
  if (folded == 0) return 0;
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size() - static_cast<std::size_t>(folded));
  for (std::size_t n = 0; n < graph.nodes.size(); ++n)
    if (!drop[n]) kept.push_back(std::move(graph.nodes[n]));
  graph.nodes = std::move(kept);
  for (Value& v : graph.values) v.producer = -1;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n)
    for (int out : graph.nodes[n].outputs) graph.value(out).producer = static_cast<int>(n);
  return folded;
}

}  // namespace cimlab::graph
