#pragma once
// A ResNet-50-sized ONNX model built in memory for benchmarks: the torchvision layer list (conv1 7x7/2,
// max pooling, bottleneck stages of 3, 4, 6 and 3 blocks with 1x1 projection shortcuts, global average
// pooling, Flatten, Gemm 2048 -> 1000) at 3 x 224 x 224, 53 convolutions each followed by a
// BatchNormalization node (as a training-mode export writes them), 25.6 M float parameters as raw_data,
// serialised once (~102 MB).
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cimlab::bench {

class ResNet50Builder {
 public:
  ResNet50Builder() {
    model_.set_ir_version(7);
    auto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(13);
    g_ = model_.mutable_graph();
    g_->set_name("resnet50");
    auto* in = g_->add_input();
    in->set_name("input");
    auto* t = in->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    t->mutable_shape()->add_dim()->set_dim_param("N");
    for (int d : {3, 224, 224}) t->mutable_shape()->add_dim()->set_dim_value(d);
  }

  std::string build() {
    std::string x = conv_bn("conv1", "input", 3, 64, 7, 2, true);
    x = node("MaxPool", {x}, {{"kernel_shape", {3, 3}}, {"strides", {2, 2}}, {"pads", {1, 1, 1, 1}}});
    int channels = 64;
    const int blocks[4] = {3, 4, 6, 3};
    for (int stage = 0; stage < 4; ++stage) {
      const int width = 64 << stage;
      for (int b = 0; b < blocks[stage]; ++b) {
        const int stride = (b == 0 && stage > 0) ? 2 : 1;
        x = bottleneck("layer" + std::to_string(stage + 1) + "." + std::to_string(b), x, channels, width, stride);
        channels = width * 4;
      }
    }
    x = node("GlobalAveragePool", {x}, {});
    x = node("Flatten", {x}, {{"axis", {1}}});
    weight("fc.weight", {1000, 2048});
    weight("fc.bias", {1000});
    x = node("Gemm", {x, "fc.weight", "fc.bias"}, {{"transB", {1}}});
    auto* out = g_->add_output();
    out->set_name(x);
    out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    std::string bytes;
    model_.SerializeToString(&bytes);
    return bytes;
  }

 private:
  std::string bottleneck(const std::string& name, const std::string& x, int in, int width, int stride) {
    std::string y = conv_bn(name + ".conv1", x, in, width, 1, 1, true);
    y = conv_bn(name + ".conv2", y, width, width, 3, stride, true);
    y = conv_bn(name + ".conv3", y, width, width * 4, 1, 1, false);
    const std::string shortcut =
        (stride != 1 || in != width * 4) ? conv_bn(name + ".downsample", x, in, width * 4, 1, stride, false) : x;
    return node("Relu", {node("Add", {y, shortcut}, {})}, {});
  }

  std::string conv_bn(const std::string& name, const std::string& x, int in, int out, int k, int stride, bool relu) {
    weight(name + ".weight", {out, in, k, k});
    const std::vector<std::int64_t> pad(4, k / 2);
    std::string y = node("Conv", {x, name + ".weight"},
                         {{"kernel_shape", {k, k}}, {"strides", {stride, stride}}, {"pads", pad}});
    for (const char* p : {".bn.weight", ".bn.bias", ".bn.running_mean", ".bn.running_var"}) weight(name + p, {out});
    y = node("BatchNormalization",
             {y, name + ".bn.weight", name + ".bn.bias", name + ".bn.running_mean", name + ".bn.running_var"}, {});
    return relu ? node("Relu", {y}, {}) : y;
  }

  void weight(const std::string& name, const std::vector<std::int64_t>& dims) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    std::size_t n = 1;
    for (auto d : dims) {
      t->add_dims(d);
      n *= static_cast<std::size_t>(d);
    }
    std::vector<float> v(n);
    for (std::size_t k = 0; k < n; ++k) v[k] = 0.5f + 0.001f * static_cast<float>(k % 97);  // positive: valid BN variances
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), n * sizeof(float)));
    parameters_ += static_cast<std::int64_t>(n);
  }

  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& ints) {
    auto* n = g_->add_node();
    const std::string name = op + "_" + std::to_string(g_->node_size());
    n->set_name(name);
    n->set_op_type(op);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(name + "_output");
    for (const auto& [key, values] : ints) {
      auto* a = n->add_attribute();
      a->set_name(key);
      if (key == "axis" || key == "transB") {
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(values[0]);
      } else {
        a->set_type(onnx::AttributeProto::INTS);
        for (auto v : values) a->add_ints(v);
      }
    }
    return name + "_output";
  }

  onnx::ModelProto model_;
  onnx::GraphProto* g_ = nullptr;
  std::int64_t parameters_ = 0;
};

// The serialised model (built once).
inline const std::string& resnet50_bytes() {
  static const std::string bytes = ResNet50Builder().build();
  return bytes;
}

}  // namespace cimlab::bench
