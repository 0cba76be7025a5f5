#include "graph/onnx_builder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <queue>
#include <unordered_set>

#include "core/errors.hpp"

namespace cimlab::graph::detail {

namespace {

using AP = onnx::AttributeProto;

// The attribute's type; old exporters leave `type` unset, then the field that is set tells.
int attribute_type(const AP& a) {
  if (a.type() != AP::UNDEFINED) return a.type();
  if (a.has_f()) return AP::FLOAT;
  if (a.has_i()) return AP::INT;
  if (a.has_s()) return AP::STRING;
  if (a.has_t()) return AP::TENSOR;
  if (a.has_g()) return AP::GRAPH;
  if (a.floats_size() > 0) return AP::FLOATS;
  if (a.ints_size() > 0) return AP::INTS;
  if (a.strings_size() > 0) return AP::STRINGS;
  return AP::UNDEFINED;
}

std::string attribute_type_name(int t) {
  if (!onnx::AttributeProto_AttributeType_IsValid(t)) return fmt::format("type {}", t);
  return onnx::AttributeProto_AttributeType_Name(static_cast<onnx::AttributeProto_AttributeType>(t));
}

// A constant holding an attribute's value: ints -> 1-D int64, a float -> float scalar, floats -> 1-D
// float, an int -> int64 scalar.
Constant constant_of_attribute(const AttrValue& v) {
  Constant c;
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    c.dtype = DType::kInt64;
    c.i = {*i};
  } else if (const auto* f = std::get_if<double>(&v)) {
    c.f = {static_cast<float>(*f)};
  } else if (const auto* is = std::get_if<std::vector<std::int64_t>>(&v)) {
    c.dtype = DType::kInt64;
    c.i = *is;
    c.shape = {static_cast<std::int64_t>(is->size())};
  } else if (const auto* fs = std::get_if<std::vector<double>>(&v)) {
    c.f.assign(fs->begin(), fs->end());
    c.shape = {static_cast<std::int64_t>(fs->size())};
  } else {
    throw core::ModelError("a string attribute cannot become an input");
  }
  return c;
}

}  // namespace

GraphBuilder::GraphBuilder(onnx::GraphProto& proto, std::int64_t opset, const ImportOptions& options)
    : proto_(proto), opset_(opset), options_(options) {}

Graph GraphBuilder::build() {
  name_nodes();
  check_ops();
  const std::vector<int> order = topological_order();
  for (const auto& out : proto_.output()) graph_output_names_.insert(out.name());
  add_initializers();
  add_inputs();
  for (int position : order) add_node(position);
  add_outputs();
  return std::move(graph_);
}

std::string GraphBuilder::where(int position) const {
  return fmt::format("node '{}' ({}, position {})", node_names_[static_cast<std::size_t>(position)],
                     proto_.node(position).op_type(), position);
}

void GraphBuilder::name_nodes() {
  const int n = proto_.node_size();
  node_names_.assign(static_cast<std::size_t>(n), "");
  std::unordered_set<std::string> taken;
  for (int p = 0; p < n; ++p) {
    const std::string& name = proto_.node(p).name();
    if (!name.empty() && taken.insert(name).second) node_names_[static_cast<std::size_t>(p)] = name;
  }
  for (int p = 0; p < n; ++p) {
    std::string& name = node_names_[static_cast<std::size_t>(p)];
    if (!name.empty()) continue;
    const onnx::NodeProto& node = proto_.node(p);
    const std::string base = node.name().empty() ? fmt::format("{}_{}", node.op_type(), p)
                                                 : fmt::format("{}_{}", node.name(), p);
    name = base;
    for (int k = 2; !taken.insert(name).second; ++k) name = fmt::format("{}_{}", base, k);
  }
}

void GraphBuilder::check_ops() const {
  for (int p = 0; p < proto_.node_size(); ++p) {
    const onnx::NodeProto& node = proto_.node(p);
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      throw core::ModelError(fmt::format("{}: unsupported op (domain '{}'; cimlab reads the default ONNX domain)",
                                         where(p), node.domain()));
    if (!onnx_op_supported(node.op_type())) throw core::ModelError(fmt::format("{}: unsupported op", where(p)));
    if (node.output_size() == 0 || node.output(0).empty())
      throw core::ModelError(fmt::format("{}: the node has no output", where(p)));
  }
}

std::vector<int> GraphBuilder::topological_order() const {
  const int n = proto_.node_size();
  std::unordered_map<std::string, int> producer;
  for (int p = 0; p < n; ++p) {
    for (const std::string& out : proto_.node(p).output()) {
      if (out.empty()) continue;
      const auto [it, fresh] = producer.emplace(out, p);
      if (!fresh)
        throw core::ModelError(fmt::format("tensor '{}' is produced by two nodes: {} and {}", out, where(it->second),
                                           where(p)));
    }
  }
  std::unordered_set<std::string> available;
  for (const auto& t : proto_.initializer()) available.insert(t.name());
  for (const auto& in : proto_.input()) available.insert(in.name());
  bool ordered = true;
  std::vector<std::vector<int>> users(static_cast<std::size_t>(n));
  std::vector<int> pending(static_cast<std::size_t>(n), 0);
  for (int p = 0; p < n; ++p) {
    for (const std::string& in : proto_.node(p).input()) {
      if (in.empty() || available.count(in) != 0) continue;
      const auto it = producer.find(in);
      if (it == producer.end())
        throw core::ModelError(fmt::format(
            "{}: input '{}' is not produced by any node nor an initializer (missing initializer?)", where(p), in));
      ordered = ordered && it->second < p;
      users[static_cast<std::size_t>(it->second)].push_back(p);
      ++pending[static_cast<std::size_t>(p)];
    }
  }
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (ordered) return order;
  // Kahn's algorithm; among the ready nodes the one first in the file goes first.
  order.clear();
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int p = 0; p < n; ++p)
    if (pending[static_cast<std::size_t>(p)] == 0) ready.push(p);
  std::vector<char> done(static_cast<std::size_t>(n), 0);
  while (!ready.empty()) {
    const int p = ready.top();
    ready.pop();
    order.push_back(p);
    done[static_cast<std::size_t>(p)] = 1;
    for (int user : users[static_cast<std::size_t>(p)])
      if (--pending[static_cast<std::size_t>(user)] == 0) ready.push(user);
  }
  if (static_cast<int>(order.size()) < n) throw_cycle(done, producer);
  return order;
}

void GraphBuilder::throw_cycle(const std::vector<char>& done, const std::unordered_map<std::string, int>& producer) const {
  // Every node left over waits on another left-over node: walking from one to the producer of an input
  // that is not done must come back to a node already seen, which closes a cycle.
  int current = static_cast<int>(std::find(done.begin(), done.end(), 0) - done.begin());
  std::vector<int> path;
  std::unordered_map<int, std::size_t> seen_at;
  while (seen_at.count(current) == 0) {
    seen_at[current] = path.size();
    path.push_back(current);
    for (const std::string& in : proto_.node(current).input()) {
      const auto it = producer.find(in);
      if (it != producer.end() && !done[static_cast<std::size_t>(it->second)]) {
        current = it->second;
        break;
      }
    }
  }
  std::vector<int> cycle(path.begin() + static_cast<std::ptrdiff_t>(seen_at[current]), path.end());
  std::reverse(cycle.begin(), cycle.end());  // the walk went against the data flow
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());  // first in the file first
  std::string names;
  for (std::size_t k = 0; k < cycle.size() && k < 8; ++k)
    names += fmt::format("'{}' -> ", node_names_[static_cast<std::size_t>(cycle[k])]);
  names += cycle.size() > 8 ? "..." : fmt::format("'{}'", node_names_[static_cast<std::size_t>(cycle.front())]);
  throw core::ModelError(fmt::format("cyclic graph: {} is on a cycle ({})", where(cycle.front()), names));
}

void GraphBuilder::add_initializers() {
  if (proto_.sparse_initializer_size() > 0)
    throw core::ModelError(fmt::format("sparse initializer '{}' is not supported",
                                       proto_.sparse_initializer(0).values().name()));
  std::unordered_set<std::string> used(graph_output_names_.begin(), graph_output_names_.end());
  for (const auto& node : proto_.node()) used.insert(node.input().begin(), node.input().end());
  for (int k = 0; k < proto_.initializer_size(); ++k) {
    onnx::TensorProto& tensor = *proto_.mutable_initializer(k);
    if (tensor.name().empty()) throw core::ModelError(fmt::format("initializer {} has no name", k));
    initializer_names_.insert(tensor.name());
    if (used.count(tensor.name()) == 0) continue;
    const std::string name = tensor.name();
    graph_.add_constant(name, constant_from_tensor(tensor, fmt::format("initializer '{}'", name)));
  }
}

void GraphBuilder::add_inputs() {
  for (const onnx::ValueInfoProto& info : proto_.input()) {
    if (initializer_names_.count(info.name()) != 0) continue;  // IR < 4 lists initializers as inputs
    const std::string what = fmt::format("graph input '{}'", info.name());
    if (info.name().empty()) throw core::ModelError("a graph input has no name");
    if (!info.type().has_tensor_type()) throw core::ModelError(fmt::format("{} is not a tensor", what));
    const auto& type = info.type().tensor_type();
    const DType dtype = dtype_from_onnx(type.elem_type(), what);
    if (!type.has_shape()) throw core::ModelError(fmt::format("{} has no shape (its rank is unknown)", what));
    Shape shape;
    bool first_symbolic = true;
    for (const auto& dim : type.shape().dim()) {
      if (dim.has_dim_value()) {
        shape.push_back(dim.dim_value());
        continue;
      }
      const auto named = options_.dims.find(dim.dim_param());
      if (!dim.dim_param().empty() && named != options_.dims.end()) shape.push_back(named->second);
      else shape.push_back(first_symbolic ? options_.batch : 1);
      first_symbolic = false;
    }
    try {
      graph_.add_input(info.name(), shape, dtype);
    } catch (const core::ModelError& e) {
      throw core::ModelError(fmt::format("{}: {}", what, e.what()));
    }
  }
}

int GraphBuilder::resolve(const std::string& name, int position) const {
  if (const auto a = alias_.find(name); a != alias_.end()) return a->second;
  if (const int id = graph_.find(name); id >= 0) return id;
  if (const auto d = dropped_.find(name); d != dropped_.end())
    throw core::ModelError(fmt::format("{}: input '{}' is the mask output of {}, which inference does not compute",
                                       where(position), name, where(d->second)));
  throw core::ModelError(fmt::format("{}: input '{}' is not produced by any node nor an initializer", where(position),
                                     name));
}

std::string GraphBuilder::unique_name(const std::string& base) const {
  std::string name = base;
  for (int k = 2; graph_.find(name) >= 0 || alias_.count(name) != 0; ++k) name = fmt::format("{}_{}", base, k);
  return name;
}

void GraphBuilder::add_node(int position) {
  const onnx::NodeProto& proto = proto_.node(position);
  if (proto.op_type() == "Constant") return add_constant_node(position);
  if (proto.op_type() == "Identity" || proto.op_type() == "Dropout") return add_pass_through(position);
  Node node;
  node.name = node_names_[static_cast<std::size_t>(position)];
  node.op = proto.op_type();
  for (const std::string& in : proto.input()) node.inputs.push_back(in.empty() ? -1 : resolve(in, position));
  std::map<std::string, AttrValue> attrs = convert_attributes(position);
  normalise_opset(node, attrs, position);
  for (auto& [key, value] : attrs) node.attrs.set(key, std::move(value));
  int outputs = proto.output_size();
  while (outputs > 1 && proto.output(outputs - 1).empty()) --outputs;  // omitted optional outputs
  try {
    for (int k = 0; k < outputs; ++k) {
      const std::string& out = proto.output(k);
      node.outputs.push_back(graph_.add_value(out.empty() ? unique_name(fmt::format("{}.unused{}", node.name, k)) : out));
    }
    graph_.add_node(std::move(node));
  } catch (const core::ModelError& e) {
    throw core::ModelError(fmt::format("{}: {}", where(position), e.what()));
  }
}

void GraphBuilder::add_constant_node(int position) {
  onnx::NodeProto& proto = *proto_.mutable_node(position);
  if (proto.attribute_size() != 1)
    throw core::ModelError(fmt::format("{}: a Constant needs exactly one attribute, it has {}", where(position),
                                       proto.attribute_size()));
  AP& a = *proto.mutable_attribute(0);
  const std::string what = fmt::format("{}: attribute '{}'", where(position), a.name());
  Constant c;
  if (a.name() == "value" && attribute_type(a) == AP::TENSOR) {
    c = constant_from_tensor(*a.mutable_t(), what);
  } else if (a.name() == "value_float" && attribute_type(a) == AP::FLOAT) {
    c = constant_of_attribute(static_cast<double>(a.f()));
  } else if (a.name() == "value_int" && attribute_type(a) == AP::INT) {
    c = constant_of_attribute(a.i());
  } else if (a.name() == "value_floats" && attribute_type(a) == AP::FLOATS) {
    c = constant_of_attribute(std::vector<double>(a.floats().begin(), a.floats().end()));
  } else if (a.name() == "value_ints" && attribute_type(a) == AP::INTS) {
    c = constant_of_attribute(std::vector<std::int64_t>(a.ints().begin(), a.ints().end()));
  } else {
    throw core::ModelError(fmt::format("{} of type {} is not supported for a Constant (value, value_float(s) and "
                                       "value_int(s) are)", what, attribute_type_name(attribute_type(a))));
  }
  try {
    graph_.add_constant(proto.output(0), std::move(c));
  } catch (const core::ModelError& e) {
    throw core::ModelError(fmt::format("{}: {}", where(position), e.what()));
  }
}

// Identity, and Dropout at inference: the output refers to the input. A graph output keeps its name: a
// constant gets a second value on the same constant, anything else keeps an Identity node.
void GraphBuilder::add_pass_through(int position) {
  const onnx::NodeProto& proto = proto_.node(position);
  if (proto.input_size() == 0 || proto.input(0).empty())
    throw core::ModelError(fmt::format("{}: the node has no input", where(position)));
  const int in = resolve(proto.input(0), position);
  for (int k = 1; k < proto.output_size(); ++k)
    if (!proto.output(k).empty()) dropped_[proto.output(k)] = position;
  const std::string& out = proto.output(0);
  if (graph_output_names_.count(out) == 0) {
    if (graph_.find(out) >= 0 || alias_.count(out) != 0)
      throw core::ModelError(fmt::format("{}: tensor '{}' is defined twice", where(position), out));
    alias_[out] = in;
    return;
  }
  try {
    if (graph_.is_constant(in)) {
      const Value source = graph_.value(in);
      Value& v = graph_.value(graph_.add_value(out, source.dtype));
      v.shape = source.shape;
      v.shape_known = true;
      v.constant = source.constant;
      return;
    }
    Node node{node_names_[static_cast<std::size_t>(position)], "Identity", {in}, {}, {}};
    node.outputs.push_back(graph_.add_value(out, graph_.value(in).dtype));
    graph_.add_node(std::move(node));
  } catch (const core::ModelError& e) {
    throw core::ModelError(fmt::format("{}: {}", where(position), e.what()));
  }
}

std::map<std::string, AttrValue> GraphBuilder::convert_attributes(int position) {
  onnx::NodeProto& proto = *proto_.mutable_node(position);
  std::map<std::string, AttrValue> attrs;
  for (AP& a : *proto.mutable_attribute()) {
    const int type = attribute_type(a);
    AttrValue value;
    switch (type) {
      case AP::INT: value = a.i(); break;
      case AP::FLOAT: value = static_cast<double>(a.f()); break;
      case AP::STRING: value = a.s(); break;
      case AP::INTS: value = std::vector<std::int64_t>(a.ints().begin(), a.ints().end()); break;
      case AP::FLOATS: value = std::vector<double>(a.floats().begin(), a.floats().end()); break;
      case AP::TENSOR: {
        if (proto.op_type() != "ConstantOfShape" || a.name() != "value")
          throw core::ModelError(fmt::format("{}: tensor attribute '{}' is not supported", where(position), a.name()));
        const Constant c = constant_from_tensor(*a.mutable_t(), fmt::format("{}: attribute 'value'", where(position)));
        if (c.size() != 1)
          throw core::ModelError(fmt::format("{}: attribute 'value' must hold one element, it holds {}",
                                             where(position), c.size()));
        if (c.dtype == DType::kFloat) value = static_cast<double>(c.f[0]);
        else value = c.i[0];
        break;
      }
      default:
        throw core::ModelError(fmt::format("{}: attribute '{}' of type {} is not supported", where(position), a.name(),
                                           attribute_type_name(type)));
    }
    if (!attrs.emplace(a.name(), std::move(value)).second)
      throw core::ModelError(fmt::format("{}: attribute '{}' is given twice", where(position), a.name()));
  }
  return attrs;
}

void GraphBuilder::normalise_opset(Node& node, std::map<std::string, AttrValue>& attrs, int position) {
  const std::string& op = node.op;
  const auto attribute_to_input = [&](const char* attr, std::size_t slot) {
    const auto it = attrs.find(attr);
    if (it == attrs.end()) return;
    Constant c;
    try {
      c = constant_of_attribute(it->second);
    } catch (const core::ModelError& e) {
      throw core::ModelError(fmt::format("{}: attribute '{}': {}", where(position), attr, e.what()));
    }
    if (node.inputs.size() <= slot) node.inputs.resize(slot + 1, -1);
    node.inputs[slot] = graph_.add_constant(unique_name(fmt::format("{}.{}", node.name, attr)), std::move(c));
    attrs.erase(it);
  };
  if (opset_ < 13 && (op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum")) attribute_to_input("axes", 1);
  if (opset_ < 13 && op == "Split") attribute_to_input("split", 1);
  if (opset_ < 11 && op == "Clip") {
    attribute_to_input("min", 1);
    attribute_to_input("max", 2);
  }
  if (opset_ < 11 && op == "Pad") {
    attribute_to_input("pads", 1);
    attribute_to_input("value", 2);
  }
  if (opset_ < 10 && op == "Slice") {
    attribute_to_input("starts", 1);
    attribute_to_input("ends", 2);
    attribute_to_input("axes", 3);
  }
  if (opset_ < 13 && (op == "Softmax" || op == "LogSoftmax")) {
    attrs.emplace("axis", std::int64_t{1});
    legacy_softmax_.push_back(node.name);
  }
  if (opset_ >= 18 && (op == "ReduceMean" || op == "ReduceMax" || op == "ReduceProd") && graph_.input(node, 1) >= 0) {
    const int axes = node.inputs[1];
    if (!graph_.is_constant(axes) || graph_.constant_of(axes).dtype != DType::kInt64)
      throw core::ModelError(fmt::format("{}: the axes input must be a constant int64 tensor", where(position)));
    attrs["axes"] = graph_.constant_of(axes).i;
    node.inputs.resize(1);
  }
  if (op == "BatchNormalization") {  // attributes of opsets below 9; spatial=1 is what later opsets do
    if (const auto it = attrs.find("spatial"); it != attrs.end() && std::get_if<std::int64_t>(&it->second) &&
                                               std::get<std::int64_t>(it->second) != 1)
      throw core::ModelError(fmt::format("{}: spatial=0 is not supported", where(position)));
    attrs.erase("spatial");
    attrs.erase("is_test");
    attrs.erase("consumed_inputs");
  }
}

void GraphBuilder::add_outputs() {
  if (proto_.output_size() == 0) throw core::ModelError("the graph has no outputs");
  for (const auto& out : proto_.output()) {
    int id = -1;
    if (const auto a = alias_.find(out.name()); a != alias_.end()) id = a->second;
    else id = graph_.find(out.name());
    if (id < 0)
      throw core::ModelError(
          fmt::format("graph output '{}' is not produced by any node nor an initializer", out.name()));
    graph_.outputs.push_back(id);
  }
}

void GraphBuilder::check_legacy_softmax(const Graph& graph) const {
  for (const std::string& name : legacy_softmax_) {
    const auto it = std::find_if(graph.nodes.begin(), graph.nodes.end(), [&](const Node& n) { return n.name == name; });
    if (it == graph.nodes.end() || it->inputs.empty() || it->inputs[0] < 0) continue;
    const Value& x = graph.value(it->inputs[0]);
    if (!x.shape_known) continue;
    const auto rank = static_cast<std::int64_t>(x.shape.size());
    std::int64_t axis = it->attrs.i("axis", 1);
    if (axis < 0) axis += rank;
    const auto first = x.shape.begin() + std::clamp<std::int64_t>(axis + 1, 0, rank);
    if (std::any_of(first, x.shape.end(), [](std::int64_t d) { return d != 1; }))  // more than the last axis
      throw core::ModelError(fmt::format(
          "node '{}' ({}): below opset 13 this op flattens its [{}] input to 2-D at axis {}, which cimlab does not "
          "represent; re-export the model at opset 13 or later",
          name, it->op, shape_string(x.shape), axis));
  }
}

}  // namespace cimlab::graph::detail
