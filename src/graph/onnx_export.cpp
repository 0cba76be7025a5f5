// ONNX export (declared in onnx.hpp): ModelProto with IR version 8 and opset 17 of the default domain.
#include <fmt/format.h>

#include "cimlab/version.hpp"
#include "core/errors.hpp"
#include "core/run_dir.hpp"
#include "graph/onnx.hpp"
#include "graph/onnx_detail.hpp"

namespace cimlab::graph {

namespace {

constexpr std::int64_t kIrVersion = 8;
constexpr std::int64_t kOpset = 17;

// Inputs and outputs: element type and shape, the first dimension symbolic ("N", the batch).
void write_value_info(const Value& v, onnx::ValueInfoProto& out) {
  out.set_name(v.name);
  auto* type = out.mutable_type()->mutable_tensor_type();
  type->set_elem_type(detail::dtype_to_onnx(v.dtype));
  if (!v.shape_known) return;
  auto* shape = type->mutable_shape();
  for (std::size_t k = 0; k < v.shape.size(); ++k) {
    auto* dim = shape->add_dim();
    if (k == 0) dim->set_dim_param("N");
    else dim->set_dim_value(v.shape[k]);
  }
}

// ConstantOfShape's `value`, which the IR holds as a number (or a one-element list), as ONNX's
// one-element tensor; false when `value` holds something else.
bool write_fill_value(const AttrValue& value, onnx::AttributeProto& a) {
  Constant c;
  c.shape = {1};
  const auto* is = std::get_if<std::vector<std::int64_t>>(&value);
  const auto* fs = std::get_if<std::vector<double>>(&value);
  if (const auto* i = std::get_if<std::int64_t>(&value)) c.i = {*i};
  else if (is != nullptr && is->size() == 1) c.i = *is;
  else if (const auto* f = std::get_if<double>(&value)) c.f = {static_cast<float>(*f)};
  else if (fs != nullptr && fs->size() == 1) c.f = {static_cast<float>(fs->front())};
  else return false;
  c.dtype = c.i.empty() ? DType::kFloat : DType::kInt64;
  a.set_type(onnx::AttributeProto::TENSOR);
  detail::constant_to_tensor(c, "value", *a.mutable_t());
  return true;
}

void write_attribute(const Node& node, const std::string& name, const AttrValue& value, onnx::AttributeProto& a) {
  using AP = onnx::AttributeProto;
  a.set_name(name);
  if (node.op == "ConstantOfShape" && name == "value" && write_fill_value(value, a)) return;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    a.set_type(AP::INT);
    a.set_i(*i);
  } else if (const auto* f = std::get_if<double>(&value)) {
    a.set_type(AP::FLOAT);
    a.set_f(static_cast<float>(*f));
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    a.set_type(AP::STRING);
    a.set_s(*s);
  } else if (const auto* is = std::get_if<std::vector<std::int64_t>>(&value)) {
    a.set_type(AP::INTS);
    for (std::int64_t v : *is) a.add_ints(v);
  } else if (const auto* fs = std::get_if<std::vector<double>>(&value)) {
    a.set_type(AP::FLOATS);
    for (double v : *fs) a.add_floats(static_cast<float>(v));
  }
}

void write_node(const Graph& graph, const Node& node, onnx::NodeProto& out) {
  out.set_name(node.name);
  out.set_op_type(node.op);
  std::size_t inputs = node.inputs.size();
  while (inputs > 0 && node.inputs[inputs - 1] < 0) --inputs;  // trailing omitted optional inputs
  for (std::size_t k = 0; k < inputs; ++k)
    out.add_input(node.inputs[k] < 0 ? std::string() : graph.value(node.inputs[k]).name);
  for (int o : node.outputs) out.add_output(graph.value(o).name);
  for (const auto& [name, value] : node.attrs.all()) write_attribute(node, name, value, *out.add_attribute());
}

}  // namespace

std::string export_onnx_bytes(const Graph& graph) {
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  model.set_producer_name("cimlab");
  model.set_producer_version(kVersion);
  onnx::GraphProto& g = *model.mutable_graph();
  g.set_name(graph.name.empty() ? "cimlab" : graph.name);
  std::vector<char> used(graph.values.size(), 0);
  for (const Node& n : graph.nodes)
    for (int in : n.inputs)
      if (in >= 0) used[static_cast<std::size_t>(in)] = 1;
  for (int out : graph.outputs) used[static_cast<std::size_t>(out)] = 1;
  for (std::size_t v = 0; v < graph.values.size(); ++v) {
    const Value& value = graph.values[v];
    if (used[v] && value.constant >= 0)
      detail::constant_to_tensor(graph.constants.at(static_cast<std::size_t>(value.constant)), value.name,
                                 *g.add_initializer());
  }
  for (int in : graph.inputs) write_value_info(graph.value(in), *g.add_input());
  for (const Node& n : graph.nodes) write_node(graph, n, *g.add_node());
  for (int out : graph.outputs) write_value_info(graph.value(out), *g.add_output());
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    throw core::ModelError(fmt::format("model '{}' cannot be serialised as ONNX (over protobuf's 2 GiB limit?)",
                                       g.name()));
  return bytes;
}

void export_onnx(const Graph& graph, const std::string& path) { core::write_file_atomic(path, export_onnx_bytes(graph)); }

}  // namespace cimlab::graph
