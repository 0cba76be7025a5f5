#include <algorithm>

#include "graph/onnx.hpp"

namespace cimlab::graph {

const std::vector<OnnxOpInfo>& onnx_supported_ops() {
  static const std::vector<OnnxOpInfo> ops = {
      {"Conv", "crossbar when the weight is constant"},
      {"ConvTranspose", "digital"},
      {"Gemm", "crossbar when B is constant"},
      {"MatMul", "crossbar when one operand is a constant 2-D matrix; digital otherwise (attention)"},
      {"Add", "element-wise"}, {"Sub", "element-wise"}, {"Mul", "element-wise"}, {"Div", "element-wise"},
      {"Mod", "element-wise"},
      {"Pow", "element-wise"}, {"Sqrt", "element-wise"}, {"Exp", "element-wise"}, {"Log", "element-wise"},
      {"Neg", "element-wise"}, {"Abs", "element-wise"}, {"Erf", "element-wise"}, {"Floor", "element-wise"},
      {"Ceil", "element-wise"}, {"Min", "element-wise"}, {"Max", "element-wise"}, {"Equal", "element-wise"},
      {"Less", "element-wise"}, {"Greater", "element-wise"}, {"Not", "element-wise"}, {"Where", "element-wise"},
      {"Relu", "activation"}, {"LeakyRelu", "activation"}, {"Sigmoid", "activation"}, {"Tanh", "activation"},
      {"Gelu", "activation"}, {"HardSigmoid", "activation"}, {"HardSwish", "activation"},
      {"Clip", "activation (opset < 11: min/max attributes become inputs)"},
      {"Softmax", "opset < 13: only over the last axis"}, {"LogSoftmax", "opset < 13: only over the last axis"},
      {"MaxPool", "pooling"}, {"AveragePool", "pooling"}, {"GlobalAveragePool", "pooling"},
      {"GlobalMaxPool", "pooling"},
      {"BatchNormalization", "folded into a preceding Conv whose output feeds nothing else; digital otherwise"},
      {"LayerNormalization", "normalisation"}, {"InstanceNormalization", "normalisation"},
      {"Flatten", "shape"}, {"Reshape", "shape"}, {"Transpose", "shape"}, {"Concat", "shape"},
      {"Split", "shape (opset < 13: split attribute becomes an input)"},
      {"Slice", "shape (opset < 10: attributes become inputs)"}, {"Gather", "shape"},
      {"ScatterND", "shape (folded when its inputs are constant: attention masks)"},
      {"Squeeze", "shape (opset < 13: axes attribute becomes an input)"},
      {"Unsqueeze", "shape (opset < 13: axes attribute becomes an input)"}, {"Expand", "shape"},
      {"Tile", "shape"}, {"Pad", "shape (opset < 11: attributes become inputs)"},
      {"ReduceMean", "reduction (opset 18: constant axes input becomes the attribute)"},
      {"ReduceSum", "reduction (opset < 13: axes attribute becomes an input)"},
      {"ReduceMax", "reduction (opset 18: constant axes input becomes the attribute)"},
      {"ReduceProd", "reduction (opset 18: constant axes input becomes the attribute)"},
      {"Shape", "folded into a constant"}, {"ConstantOfShape", "folded when its shape is constant"},
      {"Cast", "type"}, {"Range", "folded when its inputs are constant"},
      {"Identity", "removed (its output refers to its input)"},
      {"Dropout", "removed (inference: identity)"},
      {"Constant", "becomes a constant"},
  };
  return ops;
}

bool onnx_op_supported(std::string_view op) {
  const auto& ops = onnx_supported_ops();
  return std::any_of(ops.begin(), ops.end(), [&](const OnnxOpInfo& o) { return o.op == op; });
}

}  // namespace cimlab::graph
