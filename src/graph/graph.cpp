#include "graph/graph.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "core/errors.hpp"

namespace cimlab::graph {

namespace {
constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;

template <typename T>
const T* get(const std::map<std::string, AttrValue>& m, const std::string& name, const char* type) {
  auto it = m.find(name);
  if (it == m.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  if (v == nullptr) throw core::ModelError(fmt::format("attribute '{}' is not {}", name, type));
  return v;
}
}  // namespace

std::int64_t numel(const Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) throw core::ModelError(fmt::format("negative dimension in shape [{}]", shape_string(shape)));
    if (d != 0 && n > kMaxElements / d)
      throw core::ModelError(fmt::format("tensor of shape [{}] has more than 2^40 elements", shape_string(shape)));
    n *= d;
  }
  return n;
}

std::string shape_string(const Shape& shape) {
  if (shape.empty()) return "scalar";
  return fmt::format("{}", fmt::join(shape, "x"));
}

std::string dtype_name(DType t) {
  switch (t) {
    case DType::kFloat: return "float";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
  }
  return "?";
}

std::int64_t Attributes::i(const std::string& name, std::int64_t fallback) const {
  const auto* v = get<std::int64_t>(values_, name, "an integer");
  return v ? *v : fallback;
}

double Attributes::f(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it != values_.end()) {
    if (const auto* i = std::get_if<std::int64_t>(&it->second)) return static_cast<double>(*i);
  }
  const auto* v = get<double>(values_, name, "a float");
  return v ? *v : fallback;
}

std::string Attributes::s(const std::string& name, const std::string& fallback) const {
  const auto* v = get<std::string>(values_, name, "a string");
  return v ? *v : fallback;
}

std::vector<std::int64_t> Attributes::ints(const std::string& name, const std::vector<std::int64_t>& fallback) const {
  const auto* v = get<std::vector<std::int64_t>>(values_, name, "a list of integers");
  return v ? *v : fallback;
}

std::vector<double> Attributes::floats(const std::string& name, const std::vector<double>& fallback) const {
  const auto* v = get<std::vector<double>>(values_, name, "a list of floats");
  return v ? *v : fallback;
}

int Graph::add_value(const std::string& vname, DType dtype) {
  if (by_name_.count(vname) != 0) throw core::ModelError(fmt::format("tensor '{}' is defined twice", vname));
  Value v;
  v.name = vname;
  v.dtype = dtype;
  values.push_back(std::move(v));
  const int id = static_cast<int>(values.size()) - 1;
  by_name_[vname] = id;
  return id;
}

int Graph::add_input(const std::string& vname, const Shape& shape, DType dtype) {
  numel(shape);
  const int id = add_value(vname, dtype);
  values[static_cast<std::size_t>(id)].shape = shape;
  values[static_cast<std::size_t>(id)].shape_known = true;
  inputs.push_back(id);
  return id;
}

int Graph::add_constant(const std::string& vname, Constant c) {
  if (numel(c.shape) != c.size())
    throw core::ModelError(fmt::format("constant '{}' holds {} elements for shape [{}]", vname, c.size(),
                                       shape_string(c.shape)));
  const int id = add_value(vname, c.dtype);
  Value& v = values[static_cast<std::size_t>(id)];
  v.shape = c.shape;
  v.shape_known = true;
  constants.push_back(std::move(c));
  v.constant = static_cast<int>(constants.size()) - 1;
  return id;
}

int Graph::add_node(Node node) {
  const int index = static_cast<int>(nodes.size());
  for (int in : node.inputs) {
    if (in < -1 || in >= static_cast<int>(values.size()))
      throw core::ModelError(fmt::format("node '{}' ({}) uses an undefined tensor", node.name, node.op));
  }
  for (int out : node.outputs) {
    if (out < 0 || out >= static_cast<int>(values.size()))
      throw core::ModelError(fmt::format("node '{}' ({}) has an undefined output", node.name, node.op));
    Value& v = values[static_cast<std::size_t>(out)];
    if (v.producer >= 0 || v.constant >= 0)
      throw core::ModelError(fmt::format("tensor '{}' is produced twice (by node '{}')", v.name, node.name));
    v.producer = index;
  }
  nodes.push_back(std::move(node));
  return index;
}

int Graph::find(const std::string& vname) const {
  auto it = by_name_.find(vname);
  return it == by_name_.end() ? -1 : it->second;
}

void Graph::prune() {
  // Mark the nodes the outputs depend on (nodes are in topological order: one backward sweep).
  std::vector<char> value_live(values.size(), 0), node_live(nodes.size(), 0);
  for (int o : outputs) value_live[static_cast<std::size_t>(o)] = 1;
  for (int n = static_cast<int>(nodes.size()) - 1; n >= 0; --n) {
    const Node& node = nodes[static_cast<std::size_t>(n)];
    const bool live = std::any_of(node.outputs.begin(), node.outputs.end(),
                                  [&](int o) { return value_live[static_cast<std::size_t>(o)] != 0; });
    if (!live) continue;
    node_live[static_cast<std::size_t>(n)] = 1;
    for (int o : node.outputs) value_live[static_cast<std::size_t>(o)] = 1;  // keep every output of a live node
    for (int in : node.inputs)
      if (in >= 0) value_live[static_cast<std::size_t>(in)] = 1;
  }
  for (int in : inputs) value_live[static_cast<std::size_t>(in)] = 1;

  std::vector<int> value_map(values.size(), -1), constant_map(constants.size(), -1);
  std::vector<Value> kept_values;
  std::vector<Constant> kept_constants;
  for (std::size_t v = 0; v < values.size(); ++v) {
    if (!value_live[v]) continue;
    value_map[v] = static_cast<int>(kept_values.size());
    Value val = std::move(values[v]);
    if (val.constant >= 0) {
      auto& slot = constant_map[static_cast<std::size_t>(val.constant)];
      if (slot < 0) {
        slot = static_cast<int>(kept_constants.size());
        kept_constants.push_back(std::move(constants[static_cast<std::size_t>(val.constant)]));
      }
      val.constant = slot;
    }
    kept_values.push_back(std::move(val));
  }
  std::vector<Node> kept_nodes;
  std::vector<int> node_map(nodes.size(), -1);
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (!node_live[n]) continue;
    node_map[n] = static_cast<int>(kept_nodes.size());
    Node node = std::move(nodes[n]);
    for (int& in : node.inputs)
      if (in >= 0) in = value_map[static_cast<std::size_t>(in)];
    for (int& out : node.outputs) out = value_map[static_cast<std::size_t>(out)];
    kept_nodes.push_back(std::move(node));
  }
  for (Value& v : kept_values)
    if (v.producer >= 0) v.producer = node_map[static_cast<std::size_t>(v.producer)];
  for (int& in : inputs) in = value_map[static_cast<std::size_t>(in)];
  for (int& out : outputs) out = value_map[static_cast<std::size_t>(out)];
  values = std::move(kept_values);
  nodes = std::move(kept_nodes);
  constants = std::move(kept_constants);
  by_name_.clear();
  for (std::size_t v = 0; v < values.size(); ++v) by_name_[values[v].name] = static_cast<int>(v);
}

void Graph::check() const {
  std::vector<char> defined(values.size(), 0);
  for (std::size_t v = 0; v < values.size(); ++v)
    if (values[v].constant >= 0) defined[v] = 1;
  for (int in : inputs) defined[static_cast<std::size_t>(in)] = 1;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    const Node& node = nodes[n];
    for (int in : node.inputs) {
      if (in >= 0 && !defined[static_cast<std::size_t>(in)])
        throw core::ModelError(fmt::format(
            "node '{}' ({}, position {}) uses tensor '{}' before it is defined (cyclic or unordered graph, or a "
            "missing initializer)",
            node.name, node.op, n, values[static_cast<std::size_t>(in)].name));
    }
    for (int out : node.outputs) {
      if (defined[static_cast<std::size_t>(out)])
        throw core::ModelError(
            fmt::format("tensor '{}' is defined twice (node '{}', position {})", values[static_cast<std::size_t>(out)].name,
                        node.name, n));
      defined[static_cast<std::size_t>(out)] = 1;
    }
  }
  for (int out : outputs)
    if (!defined[static_cast<std::size_t>(out)])
      throw core::ModelError(fmt::format("graph output '{}' is never produced", values[static_cast<std::size_t>(out)].name));
}

}  // namespace cimlab::graph
