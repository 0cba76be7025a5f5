#pragma once
// ModelProtos built in C++ for the ONNX importer and exporter tests.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "graph/onnx.hpp"

namespace cimlab::graph::testing {

// A model under construction: opset and IR version as a PyTorch export has them.
class ModelBuilder {
 public:
  explicit ModelBuilder(std::int64_t opset = 13) {
    model_.set_ir_version(7);
    auto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }
  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

  // A graph input; a negative dimension is symbolic, named `params[k]` when given.
  void input(const std::string& name, const std::vector<std::int64_t>& dims, int type = onnx::TensorProto::FLOAT,
             const std::vector<std::string>& params = {}) {
    auto* vi = graph().add_input();
    vi->set_name(name);
    auto* t = vi->mutable_type()->mutable_tensor_type();
    t->set_elem_type(type);
    auto* shape = t->mutable_shape();
    for (std::size_t k = 0; k < dims.size(); ++k) {
      auto* d = shape->add_dim();
      if (dims[k] >= 0) d->set_dim_value(dims[k]);
      else if (k < params.size()) d->set_dim_param(params[k]);
    }
  }
  void output(const std::string& name) {
    auto* vi = graph().add_output();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  // Float initializer stored as raw_data (as PyTorch writes them).
  onnx::TensorProto& weight(const std::string& name, const std::vector<std::int64_t>& dims,
                            const std::vector<float>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return *t;
  }
  onnx::TensorProto& ints(const std::string& name, const std::vector<std::int64_t>& dims,
                          const std::vector<std::int64_t>& values) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (auto d : dims) t->add_dims(d);
    for (auto v : values) t->add_int64_data(v);
    return *t;
  }
  onnx::NodeProto& node(const std::string& op, std::initializer_list<std::string> inputs,
                        std::initializer_list<std::string> outputs, const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  std::string bytes() const {
    std::string s;
    model_.SerializeToString(&s);
    return s;
  }
  Graph import(const ImportOptions& options = {}) const { return import_onnx_bytes(bytes(), "test.onnx", options); }

 private:
  onnx::ModelProto model_;
};

inline void set_int(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void set_float(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
inline void set_ints(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

// Deterministic values in [-1, 1) (a fixed linear congruential sequence).
inline std::vector<float> ramp(std::size_t n, std::uint32_t seed = 1) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 23) - 1.0f;
  }
  return v;
}

// Gemm(x, W1^T) + b1 -> Relu -> Gemm(., W2^T) + b2: x is N x 4, output N x 3.
inline ModelBuilder mlp_model() {
  ModelBuilder m;
  m.input("x", {-1, 4}, onnx::TensorProto::FLOAT, {"N"});
  m.weight("fc1.weight", {8, 4}, ramp(32, 1));
  m.weight("fc1.bias", {8}, ramp(8, 2));
  m.weight("fc2.weight", {3, 8}, ramp(24, 3));
  m.weight("fc2.bias", {3}, ramp(3, 4));
  set_int(m.node("Gemm", {"x", "fc1.weight", "fc1.bias"}, {"h"}, "fc1"), "transB", 1);
  m.node("Relu", {"h"}, {"r"}, "relu");
  set_int(m.node("Gemm", {"r", "fc2.weight", "fc2.bias"}, {"y"}, "fc2"), "transB", 1);
  m.output("y");
  return m;
}

}  // namespace cimlab::graph::testing
