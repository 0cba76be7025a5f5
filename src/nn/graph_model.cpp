// The graph executor (see nn/graph_model.hpp): crossbar nodes as factory layers, the rest as the
// kernels of nn/graph_ops.hpp, constants as parameters and buffers; write-back into graph constants.
#include "nn/graph_model.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/errors.hpp"
#include "graph/onnx.hpp"
#include "graph/zoo.hpp"
#include "nn/graph_ops.hpp"

namespace cimlab::nn {

using graph::Constant;
using graph::DType;
using graph::Graph;
using graph::Node;
using graph_ops::Kernel;
using graph_ops::RunContext;
using graph_ops::Tensors;

namespace {

constexpr std::int64_t kProbeBatch = 2;  // batch of the probe import (load_onnx_model)

// Element-wise and joining ops whose float constants of more than one element are learned tensors
// (graph/layers.cpp counts the same ones as parameters).
const std::set<std::string> kElementwise{"Add", "Sub", "Mul", "Div", "Concat", "Expand", "Where", "Sum", "Max", "Min"};

// Whether constant input `slot` of `node` is a learned tensor (a parameter) rather than a fixed factor.
bool learned(const Graph& g, const Node& node, std::size_t slot, int id) {
  const Constant& c = g.constant_of(id);
  if (c.dtype != DType::kFloat) return false;
  const std::string& op = node.op;
  if (op == "BatchNormalization" || op == "LayerNormalization" || op == "InstanceNormalization")
    return slot == 1 || slot == 2;  // scale and shift; BN's mean and variance are statistics
  if (op == "Gather") return slot == 0;
  if (op == "MatMul" || op == "Gemm" || op == "Conv" || op == "PRelu") return true;
  return kElementwise.count(op) != 0 && c.size() > 1;
}

// A torch-acceptable name: characters other than letters, digits and '_' become '_', runs of '_'
// collapse, leading and trailing '_' go; unique within `taken` ("_2", "_3", ... appended).
std::string torch_name(const std::string& raw, const std::string& fallback, std::set<std::string>& taken) {
  std::string s;
  for (char ch : raw) {
    const char c = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    if (c == '_' && (s.empty() || s.back() == '_')) continue;
    s += c;
  }
  while (!s.empty() && s.back() == '_') s.pop_back();
  if (s.empty()) s = fallback;
  std::string name = s;
  for (int k = 2; !taken.insert(name).second; ++k) name = fmt::format("{}_{}", s, k);
  return name;
}

torch::Tensor to_tensor(const Constant& c) {
  if (c.dtype == DType::kFloat)
    return torch::from_blob(const_cast<float*>(c.f.data()), c.shape, torch::kFloat).clone();
  torch::Tensor t = torch::from_blob(const_cast<std::int64_t*>(c.i.data()), c.shape, torch::kLong).clone();
  return c.dtype == DType::kBool ? t.to(torch::kBool) : t;
}

std::string where(const Node& node, std::size_t position) {
  return fmt::format("node '{}' ({}, position {})", node.name, node.op, position);
}

}  // namespace

// One tensor of the module standing for a constant of the graph (write-back): the constant is
// tensor / scale, transposed when `transpose`, reshaped to the constant's shape.
struct Binding {
  int value = -1;
  std::vector<std::pair<int, std::size_t>> users;  // (node, input slot)
  torch::Tensor tensor;
  double scale = 1.0;
  bool transpose = false;
};

struct Step {
  std::vector<int> inputs;  // value ids fetched for the kernel (-1: omitted or held by the layer)
  std::vector<int> outputs;
  Kernel kernel;
};

struct GraphModelImpl::Program {
  std::vector<Step> steps;
  std::vector<std::pair<int, torch::Tensor>> constants;  // value id -> parameter or buffer
  std::set<int> batch_led;                               // constants whose leading dimension is the batch
  graph_ops::BatchMarks marks;
  bool probed = false;
  std::vector<std::vector<int>> release;                 // per step: values used for the last time
  std::vector<Binding> bindings;
  std::vector<std::string> layer_names;
  std::set<std::string> names;                           // torch names taken
  int input = -1, output = -1;
  graph::Shape input_shape;
  torch::ScalarType input_type = torch::kFloat;
  std::int64_t inferred_batch = 1;
};

namespace {

// Which entries of the int64 constants scale with the batch, and which constants are led by it, from
// the same model imported with another batch.
void compare_probe(const Graph& g, const Graph& probe, GraphModelImpl::Program& p) {
  const std::int64_t b0 = p.inferred_batch;
  const int probe_input = probe.inputs.empty() ? -1 : probe.inputs.front();
  if (probe_input < 0 || probe.value(probe_input).shape.empty()) return;
  const std::int64_t b1 = probe.value(probe_input).shape.front();
  if (b1 == b0) return;
  p.probed = true;
  for (const Node& node : g.nodes)
    for (int id : node.inputs) {
      if (!g.is_constant(id) || p.marks.count(id) != 0) continue;
      const int other = probe.find(g.value(id).name);
      if (other < 0 || !probe.is_constant(other)) continue;
      const Constant &a = g.constant_of(id), &b = probe.constant_of(other);
      if (a.shape != b.shape) {
        if (!a.shape.empty() && a.shape.size() == b.shape.size() && a.shape[0] == b0 && b.shape[0] == b1 &&
            std::equal(a.shape.begin() + 1, a.shape.end(), b.shape.begin() + 1) && b0 == 1) {
          p.batch_led.insert(id);
          continue;
        }
        throw core::ModelError(fmt::format("constant '{}' is {} for batch {} but {} for batch {}: GraphModel cannot "
                                           "follow its dependence on the batch",
                                           g.value(id).name, graph::shape_string(a.shape), b0,
                                           graph::shape_string(b.shape), b1));
      }
      if (a.dtype == DType::kFloat) continue;
      std::vector<bool> scaled(a.i.size(), false);
      for (std::size_t k = 0; k < a.i.size(); ++k) {
        if (a.i[k] == b.i[k]) continue;
        if (a.i[k] * b1 != b.i[k] * b0 || a.i[k] % b0 != 0)
          throw core::ModelError(fmt::format("entry {} of constant '{}' is {} for batch {} but {} for batch {}: not "
                                             "proportional to the batch",
                                             k, g.value(id).name, a.i[k], b0, b.i[k], b1));
        scaled[k] = true;
      }
      if (std::find(scaled.begin(), scaled.end(), true) != scaled.end()) p.marks[id] = std::move(scaled);
    }
}

void copy_into(torch::nn::Module& layer, const std::string& name, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  torch::Tensor* dst = layer.named_parameters(false).find(name);
  if (dst == nullptr) throw core::ModelError(fmt::format("the factory's layer has no parameter '{}'", name));
  dst->copy_(value.reshape(dst->sizes()));
}

torch::Tensor param_of(torch::nn::Module& layer, const std::string& name) {
  return *layer.named_parameters(false).find(name);
}

}  // namespace

// Builds the steps of a GraphModel (a friend-free helper holding the module while it registers).
class GraphCompiler {
 public:
  GraphCompiler(GraphModelImpl& module, GraphModelImpl::Program& p, const Graph& g, const LayerFactory& f)
      : m_(module), p_(p), g_(g), f_(f) {}

  void run() {
    for (const Node& node : g_.nodes)
      for (std::size_t k = 0; k < node.inputs.size(); ++k)
        if (g_.is_constant(node.inputs[k]) && learned(g_, node, k, node.inputs[k])) learned_.insert(node.inputs[k]);
    for (std::size_t n = 0; n < g_.nodes.size(); ++n) {
      const Node& node = g_.nodes[n];
      Step step{node.inputs, node.outputs, {}};
      if (graph::unit_of(g_, node) == graph::Unit::kCrossbar) {
        try {
          step.kernel = crossbar(node, n, step.inputs);
        } catch (const core::ModelError& e) {
          throw core::ModelError(fmt::format("{}: {}", where(node, n), e.what()));
        }
      } else {
        step.kernel = graph_ops::compile({g_, p_.marks, p_.probed}, node, n);
      }
      for (std::size_t k = 0; k < step.inputs.size(); ++k)
        if (g_.is_constant(step.inputs[k])) constant(n, k, step.inputs[k]);
      p_.steps.push_back(std::move(step));
    }
  }

 private:
  // Registers the tensor of a constant a kernel reads (once per value).
  void constant(std::size_t n, std::size_t slot, int id) {
    const auto it = tensors_.find(id);
    if (it != tensors_.end()) {
      p_.bindings[it->second].users.emplace_back(static_cast<int>(n), slot);
      return;
    }
    const bool param = learned_.count(id) != 0;
    const std::string name = torch_name(g_.value(id).name, "constant", p_.names);
    torch::Tensor t = to_tensor(g_.constant_of(id));
    t = param ? m_.register_parameter(name, t) : m_.register_buffer(name, t);
    p_.constants.emplace_back(id, t);
    tensors_[id] = p_.bindings.size();
    p_.bindings.push_back({id, {{static_cast<int>(n), slot}}, t, 1.0, false});
  }

  torch::nn::AnyModule add_layer(const Node& node, std::size_t n, torch::nn::AnyModule layer) {
    const std::string name = torch_name(node.name, fmt::format("{}_{}", node.op, n), p_.names);
    m_.register_module(name, layer.ptr());
    p_.layer_names.push_back(name);
    return layer;
  }

  void bind(int id, std::size_t n, std::size_t slot, const torch::Tensor& t, double scale, bool transpose) {
    p_.bindings.push_back({id, {{static_cast<int>(n), slot}}, t, scale, transpose});
  }

  Kernel crossbar(const Node& node, std::size_t n, std::vector<int>& inputs) {
    if (node.op == "Conv") return conv(node, n, inputs);
    if (node.op == "Gemm") return gemm(node, n, inputs);
    return matmul(node, n, inputs);
  }

  Kernel conv(const Node& node, std::size_t n, std::vector<int>& inputs) {
    const int wid = g_.input(node, 1), bid = g_.input(node, 2);
    const graph::Shape& ws = g_.value(wid).shape;
    if (ws.size() != 3 && ws.size() != 4) throw core::ModelError(fmt::format("{}-D convolution", static_cast<int>(ws.size()) - 2));
    if (bid >= 0 && !g_.is_constant(bid)) throw core::ModelError("a runtime bias");
    const graph_ops::Window w = graph_ops::window_of(g_, node, graph::Shape(ws.begin() + 2, ws.end()));
    const std::int64_t groups = node.attrs.i("group", 1);
    const bool sym = w.symmetric();
    auto options = torch::nn::Conv2dOptions(ws[1] * groups, ws[0], w.kernel)
                       .stride(w.stride)
                       .dilation(w.dilation)
                       .groups(groups)
                       .bias(bid >= 0);
    if (sym) options.padding(std::vector<std::int64_t>{w.pads[0], w.pads[1]});
    torch::nn::AnyModule layer = add_layer(node, n, f_.conv2d(node.name, options));
    copy_into(*layer.ptr(), "weight", to_tensor(g_.constant_of(wid)));
    bind(wid, n, 1, param_of(*layer.ptr(), "weight"), 1.0, false);
    if (bid >= 0) {
      copy_into(*layer.ptr(), "bias", to_tensor(g_.constant_of(bid)));
      bind(bid, n, 2, param_of(*layer.ptr(), "bias"), 1.0, false);
    }
    inputs.resize(1);
    return [layer, w, sym](const Tensors& in, const RunContext&) mutable -> Tensors {
      torch::Tensor x = w.one_d ? in[0].unsqueeze(2) : in[0];
      if (!sym) x = graph_ops::pad2d(x, w, 0.0);
      torch::Tensor y = layer.forward(x);
      return {w.one_d ? y.squeeze(2) : y};
    };
  }

  Kernel gemm(const Node& node, std::size_t n, std::vector<int>& inputs) {
    const int bid = g_.input(node, 1), cid = g_.input(node, 2);
    const graph::Shape& bs = g_.value(bid).shape;
    const double alpha = node.attrs.f("alpha", 1.0), beta = node.attrs.f("beta", 1.0);
    const bool trans_a = node.attrs.i("transA", 0) != 0, trans_b = node.attrs.i("transB", 0) != 0;
    if (bs.size() != 2) throw core::ModelError("B is not a matrix");
    if (alpha == 0.0) throw core::ModelError("alpha 0");
    const std::int64_t k = trans_b ? bs[1] : bs[0], out = trans_b ? bs[0] : bs[1];
    const bool bias = cid >= 0 && g_.is_constant(cid) && beta != 0.0 && g_.constant_of(cid).dtype == DType::kFloat &&
                      g_.constant_of(cid).size() == out && (g_.value(cid).shape.size() == 1 || g_.value(cid).shape[0] == 1);
    torch::nn::AnyModule layer = add_layer(node, n, f_.linear(node.name, k, out, bias));
    torch::Tensor weight = to_tensor(g_.constant_of(bid));
    copy_into(*layer.ptr(), "weight", (trans_b ? weight : weight.t()) * alpha);
    bind(bid, n, 1, param_of(*layer.ptr(), "weight"), alpha, !trans_b);
    if (bias) {
      copy_into(*layer.ptr(), "bias", to_tensor(g_.constant_of(cid)) * beta);
      bind(cid, n, 2, param_of(*layer.ptr(), "bias"), beta, false);
      inputs.resize(1);
    } else {
      inputs[1] = -1;
    }
    return [layer, trans_a, beta](const Tensors& in, const RunContext&) mutable -> Tensors {
      torch::Tensor y = layer.forward(trans_a ? in[0].t() : in[0]);
      if (in.size() > 2 && in[2].defined()) y = y + in[2] * beta;
      return {y};
    };
  }

  Kernel matmul(const Node& node, std::size_t n, std::vector<int>& inputs) {
    const bool right = g_.is_constant(g_.input(node, 1));
    const int wid = g_.input(node, right ? 1 : 0);
    const graph::Shape& ws = g_.value(wid).shape;  // K x N on the right, M x K on the left
    torch::nn::AnyModule layer = add_layer(node, n, right ? f_.linear(node.name, ws[0], ws[1], false)
                                                         : f_.linear(node.name, ws[1], ws[0], false));
    const torch::Tensor weight = to_tensor(g_.constant_of(wid));
    copy_into(*layer.ptr(), "weight", right ? weight.t() : weight);
    bind(wid, n, right ? 1 : 0, param_of(*layer.ptr(), "weight"), 1.0, right);
    inputs = {g_.input(node, right ? 0 : 1)};
    return [layer, right](const Tensors& in, const RunContext&) mutable -> Tensors {
      const torch::Tensor& x = in[0];
      if (right || x.dim() < 2) return {layer.forward(x)};
      return {layer.forward(x.transpose(-1, -2)).transpose(-1, -2)};
    };
  }

  GraphModelImpl& m_;
  GraphModelImpl::Program& p_;
  const Graph& g_;
  const LayerFactory& f_;
  std::map<int, std::size_t> tensors_;  // constant value id -> its binding (digital uses)
  std::set<int> learned_;               // constants some digital use learns (parameters)
};

GraphModelImpl::GraphModelImpl(graph::Graph graph, const LayerFactory& factory, const graph::Graph* probe)
    : graph_(std::move(graph)), program_(std::make_unique<Program>()) {
  Program& p = *program_;
  if (graph_.inputs.size() != 1)
    throw core::ModelError(fmt::format("model '{}': GraphModel runs graphs with one runtime input, not {}", graph_.name,
                                       graph_.inputs.size()));
  if (graph_.outputs.empty()) throw core::ModelError(fmt::format("model '{}' has no output", graph_.name));
  p.input = graph_.inputs.front();
  p.output = graph_.outputs.front();
  const graph::Value& in = graph_.value(p.input);
  if (!in.shape_known) throw core::ModelError(fmt::format("model '{}': the shape of input '{}' is unknown", graph_.name, in.name));
  p.input_shape = in.shape;
  p.input_type = in.dtype == DType::kFloat ? torch::kFloat : in.dtype == DType::kBool ? torch::kBool : torch::kLong;
  p.inferred_batch = in.shape.empty() ? 1 : std::max<std::int64_t>(in.shape.front(), 1);
  if (probe != nullptr) compare_probe(graph_, *probe, p);
  GraphCompiler(*this, p, graph_, factory).run();
  std::vector<int> last(graph_.values.size(), -1);
  for (std::size_t s = 0; s < p.steps.size(); ++s)
    for (int id : p.steps[s].inputs)
      if (id >= 0 && !graph_.is_constant(id)) last[static_cast<std::size_t>(id)] = static_cast<int>(s);
  p.release.resize(p.steps.size());
  for (std::size_t id = 0; id < last.size(); ++id)
    if (last[id] >= 0 && std::find(graph_.outputs.begin(), graph_.outputs.end(), static_cast<int>(id)) == graph_.outputs.end())
      p.release[static_cast<std::size_t>(last[id])].push_back(static_cast<int>(id));
}

GraphModelImpl::~GraphModelImpl() = default;

std::vector<std::string> GraphModelImpl::layer_names() const { return program_->layer_names; }

torch::Tensor GraphModelImpl::forward(const torch::Tensor& x) {
  const Program& p = *program_;
  const auto& shape = p.input_shape;
  bool fits = x.dim() == static_cast<std::int64_t>(shape.size());
  for (std::size_t d = 1; fits && d < shape.size(); ++d) fits = x.size(static_cast<std::int64_t>(d)) == shape[d];
  if (!fits)
    throw core::ModelError(fmt::format("model '{}' takes N x {} inputs, not {}", graph_.name,
                                       graph::shape_string(graph::Shape(shape.begin() + (shape.empty() ? 0 : 1), shape.end())),
                                       fmt::join(x.sizes(), " x ")));
  const RunContext run{x.dim() > 0 ? x.size(0) : p.inferred_batch, p.inferred_batch};
  std::vector<torch::Tensor> env(graph_.values.size());
  env[static_cast<std::size_t>(p.input)] = x.to(p.input_type);
  for (const auto& [id, t] : p.constants) {
    torch::Tensor& slot = env[static_cast<std::size_t>(id)];
    slot = t;
    if (p.batch_led.count(id) != 0 && run.batch != 1) {
      std::vector<std::int64_t> sizes(t.sizes().begin(), t.sizes().end());
      sizes[0] = run.batch;
      slot = t.expand(sizes);
    }
  }
  Tensors in;
  for (std::size_t s = 0; s < p.steps.size(); ++s) {
    const Step& step = p.steps[s];
    in.assign(step.inputs.size(), torch::Tensor());
    for (std::size_t k = 0; k < step.inputs.size(); ++k)
      if (step.inputs[k] >= 0) in[k] = env[static_cast<std::size_t>(step.inputs[k])];
    Tensors out = step.kernel(in, run);
    for (std::size_t k = 0; k < step.outputs.size() && k < out.size(); ++k)
      if (step.outputs[k] >= 0) env[static_cast<std::size_t>(step.outputs[k])] = std::move(out[k]);
    for (int id : p.release[s]) env[static_cast<std::size_t>(id)] = torch::Tensor();
  }
  const torch::Tensor& y = env[static_cast<std::size_t>(p.output)];
  if (!y.defined()) throw core::ModelError(fmt::format("model '{}': output '{}' was not computed", graph_.name,
                                                       graph_.value(p.output).name));
  return y;
}

namespace {

Constant constant_from(const torch::Tensor& t, const Constant& like) {
  Constant c = like;
  const torch::Tensor flat = t.detach().to(torch::kCPU).contiguous();
  if (like.dtype == DType::kFloat) {
    const torch::Tensor f = flat.to(torch::kFloat);
    c.f.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
  } else {
    const torch::Tensor i = flat.to(torch::kLong);
    c.i.assign(i.data_ptr<std::int64_t>(), i.data_ptr<std::int64_t>() + i.numel());
  }
  return c;
}

bool same_data(const Constant& a, const Constant& b) { return a.shape == b.shape && a.f == b.f && a.i == b.i; }

// Reshape targets whose one batch-scaled entry becomes -1 (when they have no -1 and only Reshapes use
// them), so that an exported graph runs at any batch.
void free_batch_entries(const Graph& g, const graph_ops::BatchMarks& marks, Graph& out) {
  for (const auto& [id, scaled] : marks) {
    bool only_reshape = true;
    for (const Node& node : g.nodes)
      for (std::size_t k = 0; k < node.inputs.size(); ++k)
        if (node.inputs[k] == id && (node.op != "Reshape" || k != 1)) only_reshape = false;
    Constant& c = out.constants.at(static_cast<std::size_t>(g.value(id).constant));
    if (!only_reshape || std::count(scaled.begin(), scaled.end(), true) != 1 ||
        std::find(c.i.begin(), c.i.end(), -1) != c.i.end())
      continue;
    c.i[static_cast<std::size_t>(std::find(scaled.begin(), scaled.end(), true) - scaled.begin())] = -1;
  }
}

}  // namespace

void GraphModelImpl::write_back(graph::Graph& graph) const {
  bool same = graph.nodes.size() == graph_.nodes.size();
  for (std::size_t n = 0; same && n < graph.nodes.size(); ++n) same = graph.nodes[n].name == graph_.nodes[n].name;
  if (!same) throw core::ModelError(fmt::format("write_back: graph '{}' is not the graph of this model", graph.name));
  torch::NoGradGuard no_grad;
  std::map<int, int> written;  // constant index -> the binding that wrote it
  for (const Binding& b : program_->bindings) {
    if (!b.tensor.is_floating_point() || !b.tensor.requires_grad()) continue;  // buffers do not change
    const int value = b.value;
    const int index = graph_.value(value).constant;
    torch::Tensor t = b.tensor / b.scale;
    if (b.transpose) t = t.t();
    const Constant& original = graph_.constants.at(static_cast<std::size_t>(index));
    if (t.numel() != original.size())
      throw core::ModelError(fmt::format("write_back: '{}' holds {} values, the model {}", graph_.value(value).name,
                                         original.size(), t.numel()));
    Constant c = constant_from(t, original);
    if (written.count(index) == 0) {
      graph.constants.at(static_cast<std::size_t>(index)) = std::move(c);
      written[index] = 1;
      continue;
    }
    if (same_data(graph.constants.at(static_cast<std::size_t>(index)), c)) continue;
    const auto [node, slot] = b.users.front();
    std::string name = fmt::format("{}_{}", graph_.value(value).name, graph_.nodes[static_cast<std::size_t>(node)].name);
    for (int k = 2; graph.find(name) >= 0; ++k) name = fmt::format("{}_{}_{}", graph_.value(value).name, graph_.nodes[static_cast<std::size_t>(node)].name, k);
    const int id = graph.add_constant(name, std::move(c));
    for (const auto& [user, user_slot] : b.users) graph.nodes[static_cast<std::size_t>(user)].inputs[user_slot] = id;
  }
  free_batch_entries(graph_, program_->marks, graph);
}

GraphModel load_onnx_model(const std::string& path, const LayerFactory& factory) {
  graph::Graph g = graph::import_onnx(path);
  graph::ImportOptions probe_options;
  probe_options.batch = kProbeBatch;
  const graph::Graph probe = graph::import_onnx(path, probe_options);
  return GraphModel(std::move(g), factory, &probe);
}

void write_back(const GraphModel& model, graph::Graph& graph) { model->write_back(graph); }

std::vector<std::string> crossbar_layer_names(const ModelSource& source) {
  const graph::Graph g = source.is_onnx() ? graph::import_onnx(source.onnx) : graph::zoo_graph(source.name);
  std::vector<std::string> names;
  for (const graph::Node& node : g.nodes)
    if (graph::unit_of(g, node) == graph::Unit::kCrossbar) names.push_back(node.name);
  return names;
}

void check_layer_rules(const xbar::ChipConfig& chip, const ModelSource& source) {
  if (!chip.layer_rules.empty()) xbar::check_layer_rules(chip, crossbar_layer_names(source));
}

torch::nn::AnyModule build_model(const ModelSource& source, const LayerFactory& factory, ImageShape shape) {
  if (!source.is_onnx()) return make_model(source.name, factory, shape);
  GraphModel model = load_onnx_model(source.onnx, factory);
  const graph::Value& input = model->graph().value(model->graph().inputs.front());
  const graph::Shape want{shape.channels, shape.side, shape.side};
  if (input.shape.size() != 4 || !std::equal(want.begin(), want.end(), input.shape.begin() + 1))
    throw core::ModelError(fmt::format("{}: the model takes {} inputs ('{}'), the dataset has N x {} images",
                                       source.onnx, graph::shape_string(input.shape), input.name,
                                       graph::shape_string(want)));
  return torch::nn::AnyModule(model);
}

}  // namespace cimlab::nn
