// Digital ops of the graph executor (see nn/graph_ops.hpp). One compile function per op family; each
// reads attributes and constant inputs once and returns a kernel of torch ops.
#include "nn/graph_ops.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>

#include "core/errors.hpp"

namespace cimlab::nn::graph_ops {

namespace F = torch::nn::functional;
using graph::Graph;
using graph::Node;
using Ints = std::vector<std::int64_t>;

Window window_of(const graph::Graph& g, const graph::Node& n, const std::vector<std::int64_t>& kernel) {
  const graph::Value& input = g.value(g.input(n, 0));
  if (!input.shape_known) throw core::ModelError(fmt::format("the shape of '{}' is unknown", input.name));
  Window w;
  w.kernel = n.attrs.ints("kernel_shape", kernel);
  const std::size_t r = w.kernel.size();
  if (r != 1 && r != 2) throw core::ModelError(fmt::format("{}-D windows (1-D and 2-D only)", r));
  if (input.shape.size() != r + 2)
    throw core::ModelError(fmt::format("input of rank {} for a {}-D window", input.shape.size(), r));
  w.stride = n.attrs.ints("strides", Ints(r, 1));
  w.dilation = n.attrs.ints("dilations", Ints(r, 1));
  w.pads = n.attrs.ints("pads", Ints(2 * r, 0));
  w.ceil = n.attrs.i("ceil_mode", 0) != 0;
  if (w.stride.size() != r || w.dilation.size() != r || w.pads.size() != 2 * r)
    throw core::ModelError("strides, dilations or pads of the wrong length");
  const std::string auto_pad = n.attrs.s("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (std::size_t d = 0; d < r; ++d) {
      const std::int64_t size = input.shape[2 + d], out = (size + w.stride[d] - 1) / w.stride[d];
      const std::int64_t total =
          std::max<std::int64_t>(0, (out - 1) * w.stride[d] + (w.kernel[d] - 1) * w.dilation[d] + 1 - size);
      w.pads[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pads[d + r] = total - w.pads[d];
    }
  } else if (auto_pad == "VALID") {
    std::fill(w.pads.begin(), w.pads.end(), 0);
  } else if (auto_pad != "NOTSET") {
    throw core::ModelError(fmt::format("auto_pad '{}'", auto_pad));
  }
  if (r == 1) {
    w.one_d = true;
    w.kernel = {1, w.kernel[0]};
    w.stride = {1, w.stride[0]};
    w.dilation = {1, w.dilation[0]};
    w.pads = {0, w.pads[0], 0, w.pads[1]};
  }
  return w;
}

torch::Tensor pad2d(const torch::Tensor& x, const Window& w, double value) {
  return F::pad(x, F::PadFuncOptions({w.pads[1], w.pads[3], w.pads[0], w.pads[2]}).value(value));
}

namespace {

// A problem with one node, reported with its name, op and position; caught and re-thrown by compile().
struct NodeProblem {
  std::string what;
};

[[noreturn]] void fail(const std::string& what) { throw NodeProblem{what}; }

const Graph& g_of(const CompileContext& c) { return c.graph; }

// Integers of constant input k, or nullopt when the input is omitted; fails when it is not constant.
std::optional<Ints> const_ints(const CompileContext& c, const Node& n, std::size_t k, const char* what) {
  const int id = g_of(c).input(n, k);
  if (id < 0) return std::nullopt;
  if (!g_of(c).is_constant(id)) fail(fmt::format("{} (input {}) must be a constant", what, k));
  const graph::Constant& k_const = g_of(c).constant_of(id);
  if (k_const.dtype == graph::DType::kFloat) {
    Ints out;
    for (float v : k_const.f) out.push_back(static_cast<std::int64_t>(v));
    return out;
  }
  return k_const.i;
}

// A float scalar from constant input k (nullopt when omitted); fails when it is a runtime value.
std::optional<double> const_scalar(const CompileContext& c, const Node& n, std::size_t k, const char* what) {
  const int id = g_of(c).input(n, k);
  if (id < 0) return std::nullopt;
  if (!g_of(c).is_constant(id)) return std::nullopt;
  const graph::Constant& v = g_of(c).constant_of(id);
  if (v.size() != 1) fail(fmt::format("{} (input {}) must be a single value", what, k));
  return v.dtype == graph::DType::kFloat ? static_cast<double>(v.f[0]) : static_cast<double>(v.i[0]);
}

// Axes from attribute `name` (older opsets) or constant input k (newer ones).
std::optional<Ints> axes_of(const CompileContext& c, const Node& n, const std::string& name, std::size_t k) {
  if (n.attrs.has(name)) return n.attrs.ints(name, {});
  return const_ints(c, n, k, name.c_str());
}

std::int64_t wrap_axis(std::int64_t axis, std::int64_t rank) {
  const std::int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<std::int64_t>(rank, 1))
    throw core::ModelError(fmt::format("axis {} out of range for rank {}", axis, rank));
  return a;
}

const graph::Shape& inferred_shape(const CompileContext& c, int id) {
  const graph::Value& v = g_of(c).value(id);
  if (!v.shape_known) fail(fmt::format("the shape of '{}' is unknown (run graph::infer_shapes first)", v.name));
  return v.shape;
}

// --- Shape constants that follow the batch -----------------------------------------------------------

struct ShapeConst {
  Ints values;
  std::vector<bool> scaled;  // empty: not probed
};

ShapeConst shape_const(const CompileContext& c, const Node& n, std::size_t k, const char* what) {
  ShapeConst s{*const_ints(c, n, k, what), {}};
  const auto it = c.marks.find(g_of(c).input(n, k));
  if (it != c.marks.end()) s.scaled = it->second;
  return s;
}

Ints resolve(const ShapeConst& s, const RunContext& run) {
  Ints v = s.values;
  if (run.batch != run.inferred_batch)
    for (std::size_t i = 0; i < s.scaled.size() && i < v.size(); ++i)
      if (s.scaled[i]) v[i] = v[i] / run.inferred_batch * run.batch;
  return v;
}

std::int64_t product(const Ints& v, std::size_t from, std::size_t to) {
  std::int64_t p = 1;
  for (std::size_t i = from; i < to && i < v.size(); ++i) p *= v[i];
  return p;
}

// The inferred output shape of a Reshape adapted to the runtime input (see the header: the dimension
// that grew, and the output dimension preceded by as many elements, grow by the same factor).
std::optional<Ints> adapt_to_batch(const Ints& in_inferred, const Ints& out_inferred, at::IntArrayRef in_now) {
  if (in_now.size() != in_inferred.size()) return std::nullopt;
  std::size_t k = 0;
  while (k < in_now.size() && in_now[k] == in_inferred[k]) ++k;
  if (k == in_now.size() || in_inferred[k] == 0 || in_now[k] % in_inferred[k] != 0) return std::nullopt;
  for (std::size_t i = k + 1; i < in_now.size(); ++i)
    if (in_now[i] != in_inferred[i]) return std::nullopt;
  const std::int64_t factor = in_now[k] / in_inferred[k], before = product(in_inferred, 0, k);
  for (std::size_t j = 0; j < out_inferred.size(); ++j)
    if (product(out_inferred, 0, j) == before) {
      Ints out = out_inferred;
      out[j] *= factor;
      return out;
    }
  return std::nullopt;
}

// ONNX Reshape's target for input x: 0 copies x's dimension (unless allowzero), -1 is inferred.
Ints reshape_target(Ints t, const torch::Tensor& x, bool allow_zero) {
  for (std::size_t i = 0; i < t.size(); ++i)
    if (t[i] == 0 && !allow_zero && static_cast<std::int64_t>(i) < x.dim()) t[i] = x.size(static_cast<std::int64_t>(i));
  std::int64_t known = 1, unknown = -1;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == -1) unknown = static_cast<std::int64_t>(i);
    else known *= t[i];
  }
  if (unknown >= 0 && known != 0) t[static_cast<std::size_t>(unknown)] = x.numel() / known;
  return t;
}

Kernel compile_reshape(const CompileContext& c, const Node& n) {
  const ShapeConst target = shape_const(c, n, 1, "the shape");
  const bool allow_zero = n.attrs.i("allowzero", 0) != 0, probed = c.probed;
  const Ints in_inferred = inferred_shape(c, g_of(c).input(n, 0));
  const Ints out_inferred = inferred_shape(c, n.outputs.at(0));
  const std::string name = n.name;
  return [=](const Tensors& in, const RunContext& run) -> Tensors {
    const torch::Tensor& x = in[0];
    Ints t = reshape_target(resolve(target, run), x, allow_zero);
    const bool fits = product(t, 0, t.size()) == x.numel();
    // Unprobed constants: a leading entry equal to b0 with a -1 elsewhere fits every batch but
    // means the batch.
    const bool leading_batch = !probed && run.batch != run.inferred_batch && !t.empty() && x.dim() > 0 &&
                               target.values[0] == run.inferred_batch && x.size(0) == run.batch;
    if (fits && !leading_batch) return {x.reshape(t)};
    if (const auto adapted = adapt_to_batch(in_inferred, out_inferred, x.sizes()))
      if (product(*adapted, 0, adapted->size()) == x.numel()) return {x.reshape(*adapted)};
    throw core::ModelError(fmt::format("Reshape '{}': cannot reshape {} to [{}] for batch {}", name,
                                       fmt::join(x.sizes(), "x"), fmt::join(target.values, ", "), run.batch));
  };
}

// Bidirectional broadcast of two shapes (numpy rules).
Ints broadcast(at::IntArrayRef a, const Ints& b) {
  const std::size_t r = std::max(a.size(), b.size());
  Ints out(r);
  for (std::size_t i = 0; i < r; ++i) {
    const std::int64_t da = i + a.size() >= r ? a[i + a.size() - r] : 1;
    const std::int64_t db = i + b.size() >= r ? b[i + b.size() - r] : 1;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Kernel compile_expand(const CompileContext& c, const Node& n) {
  const ShapeConst target = shape_const(c, n, 1, "the shape");
  const bool probed = c.probed;
  const Ints out_inferred = inferred_shape(c, n.outputs.at(0));
  return [=](const Tensors& in, const RunContext& run) -> Tensors {
    Ints t = resolve(target, run);
    // Unprobed: an output led by b0 is taken to be led by the batch (a class token expanded to N x 1 x D).
    if (!probed && run.batch != run.inferred_batch && !t.empty() && t.size() == out_inferred.size() &&
        t[0] == run.inferred_batch && out_inferred[0] == run.inferred_batch)
      t[0] = run.batch;
    return {in[0].expand(broadcast(in[0].sizes(), t))};
  };
}

Kernel compile_tile(const CompileContext& c, const Node& n) {
  const ShapeConst repeats = shape_const(c, n, 1, "repeats");
  return [=](const Tensors& in, const RunContext& run) -> Tensors { return {in[0].repeat(resolve(repeats, run))}; };
}

// --- Element-wise ---------------------------------------------------------------------------------

using Unary = std::function<torch::Tensor(const torch::Tensor&)>;
using Binary = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

torch::Tensor onnx_div(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.is_floating_point() || b.is_floating_point()) return a / b;
  return torch::div(a, b, "trunc");
}

const std::map<std::string, Binary>& binaries() {
  static const std::map<std::string, Binary> m{
      {"Add", [](const auto& a, const auto& b) { return a + b; }},
      {"Sub", [](const auto& a, const auto& b) { return a - b; }},
      {"Mul", [](const auto& a, const auto& b) { return a * b; }},
      {"Div", onnx_div},
      {"Pow", [](const auto& a, const auto& b) { return torch::pow(a, b); }},
      {"Equal", [](const auto& a, const auto& b) { return torch::eq(a, b); }},
      {"Greater", [](const auto& a, const auto& b) { return torch::gt(a, b); }},
      {"Less", [](const auto& a, const auto& b) { return torch::lt(a, b); }},
      {"GreaterOrEqual", [](const auto& a, const auto& b) { return torch::ge(a, b); }},
      {"LessOrEqual", [](const auto& a, const auto& b) { return torch::le(a, b); }},
      {"And", [](const auto& a, const auto& b) { return torch::logical_and(a, b); }},
      {"Or", [](const auto& a, const auto& b) { return torch::logical_or(a, b); }},
      {"Xor", [](const auto& a, const auto& b) { return torch::logical_xor(a, b); }},
      {"PRelu", [](const auto& x, const auto& slope) { return torch::where(x >= 0, x, x * slope); }},
      {"MatMul", [](const auto& a, const auto& b) { return torch::matmul(a, b); }},
  };
  return m;
}

// Variadic ops folded left to right.
const std::map<std::string, Binary>& variadics() {
  static const std::map<std::string, Binary> m{
      {"Sum", [](const auto& a, const auto& b) { return a + b; }},
      {"Mean", [](const auto& a, const auto& b) { return a + b; }},
      {"Max", [](const auto& a, const auto& b) { return torch::maximum(a, b); }},
      {"Min", [](const auto& a, const auto& b) { return torch::minimum(a, b); }},
  };
  return m;
}

// GlobalAveragePool / GlobalMaxPool: over every spatial dimension, kept as size 1.
torch::Tensor global_dims(const torch::Tensor& x, bool mean) {
  Ints dims(static_cast<std::size_t>(std::max<std::int64_t>(x.dim() - 2, 0)));
  std::iota(dims.begin(), dims.end(), 2);
  return mean ? x.mean(dims, true) : x.amax(dims, true);
}

const std::map<std::string, Unary>& unaries() {
  static const std::map<std::string, Unary> m{
      {"Identity", [](const auto& x) { return x; }},
      {"Dropout", [](const auto& x) { return x; }},
      {"Sqrt", [](const auto& x) { return torch::sqrt(x); }},
      {"Exp", [](const auto& x) { return torch::exp(x); }},
      {"Log", [](const auto& x) { return torch::log(x); }},
      {"Neg", [](const auto& x) { return torch::neg(x); }},
      {"Abs", [](const auto& x) { return torch::abs(x); }},
      {"Erf", [](const auto& x) { return torch::erf(x); }},
      {"Relu", [](const auto& x) { return torch::relu(x); }},
      {"Sigmoid", [](const auto& x) { return torch::sigmoid(x); }},
      {"Tanh", [](const auto& x) { return torch::tanh(x); }},
      {"HardSwish", [](const auto& x) { return torch::hardswish(x); }},
      {"Reciprocal", [](const auto& x) { return torch::reciprocal(x); }},
      {"Floor", [](const auto& x) { return torch::floor(x); }},
      {"Ceil", [](const auto& x) { return torch::ceil(x); }},
      {"Sign", [](const auto& x) { return torch::sign(x); }},
      {"Softplus", [](const auto& x) { return torch::softplus(x); }},
      {"Not", [](const auto& x) { return torch::logical_not(x); }},
      {"GlobalAveragePool", [](const auto& x) { return global_dims(x, true); }},
      {"GlobalMaxPool", [](const auto& x) { return global_dims(x, false); }},
  };
  return m;
}

Kernel compile_activation(const Node& n) {
  const std::string& op = n.op;
  if (op == "LeakyRelu") {
    const double alpha = n.attrs.f("alpha", 0.01);
    return [=](const Tensors& in, const RunContext&) -> Tensors { return {torch::leaky_relu(in[0], alpha)}; };
  }
  if (op == "Elu") {
    const double alpha = n.attrs.f("alpha", 1.0);
    return [=](const Tensors& in, const RunContext&) -> Tensors { return {torch::elu(in[0], alpha)}; };
  }
  if (op == "HardSigmoid") {
    const double alpha = n.attrs.f("alpha", 0.2), beta = n.attrs.f("beta", 0.5);
    return [=](const Tensors& in, const RunContext&) -> Tensors {
      return {torch::clamp(in[0] * alpha + beta, 0.0, 1.0)};
    };
  }
  if (op == "Gelu") {
    const std::string approximate = n.attrs.s("approximate", "none");
    if (approximate != "none" && approximate != "tanh") fail(fmt::format("approximate '{}' (none or tanh)", approximate));
    return [=](const Tensors& in, const RunContext&) -> Tensors { return {torch::gelu(in[0], approximate)}; };
  }
  const std::int64_t axis = n.attrs.i("axis", -1);  // Softmax, LogSoftmax (opset 13)
  if (op == "Softmax")
    return [=](const Tensors& in, const RunContext&) -> Tensors { return {torch::softmax(in[0], axis)}; };
  return [=](const Tensors& in, const RunContext&) -> Tensors { return {torch::log_softmax(in[0], axis)}; };
}

Kernel compile_clip(const CompileContext& c, const Node& n) {
  std::optional<double> lo = const_scalar(c, n, 1, "min"), hi = const_scalar(c, n, 2, "max");
  if (n.attrs.has("min")) lo = n.attrs.f("min", 0.0);
  if (n.attrs.has("max")) hi = n.attrs.f("max", 0.0);
  const bool runtime_bounds = (g_of(c).input(n, 1) >= 0 && !lo) || (g_of(c).input(n, 2) >= 0 && !hi);
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    if (runtime_bounds) {
      const auto bound = [&](std::size_t k) {
        return k < in.size() && in[k].defined() ? c10::optional<torch::Tensor>(in[k]) : c10::nullopt;
      };
      return {torch::clamp(in[0], bound(1), bound(2))};
    }
    const auto scalar = [](const std::optional<double>& v) {
      return v ? c10::optional<torch::Scalar>(*v) : c10::nullopt;
    };
    return {torch::clamp(in[0], scalar(lo), scalar(hi))};
  };
}

Kernel compile_cast(const Node& n) {
  const std::int64_t to = n.attrs.i("to", 1);
  torch::ScalarType type = torch::kFloat;
  if (to == 9) type = torch::kBool;
  else if ((to >= 2 && to <= 7) || to == 12 || to == 13) type = torch::kLong;
  else if (to != 1 && to != 10 && to != 11 && to != 16) fail(fmt::format("cast to ONNX type {}", to));
  return [=](const Tensors& in, const RunContext&) -> Tensors { return {in[0].to(type)}; };
}

// --- Pooling and normalisation ---------------------------------------------------------------------

Kernel compile_pool(const CompileContext& c, const Node& n) {
  Window w;
  try {
    w = window_of(g_of(c), n, {});
  } catch (const core::ModelError& e) {
    fail(e.what());
  }
  const bool is_max = n.op == "MaxPool", include_pad = n.attrs.i("count_include_pad", 0) != 0;
  if (n.outputs.size() > 1 && n.outputs[1] >= 0) fail("MaxPool's Indices output");
  if (!is_max && (w.dilation[0] != 1 || w.dilation[1] != 1)) fail("AveragePool with dilations");
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    torch::Tensor x = w.one_d ? in[0].unsqueeze(2) : in[0];
    const bool sym = w.symmetric();
    const Ints pad = sym ? Ints{w.pads[0], w.pads[1]} : Ints{0, 0};
    torch::Tensor y;
    if (is_max) {
      if (!sym) x = pad2d(x, w, -std::numeric_limits<double>::infinity());
      y = torch::max_pool2d(x, w.kernel, w.stride, pad, w.dilation, w.ceil);
    } else if (sym || include_pad) {
      if (!sym) x = pad2d(x, w, 0.0);
      y = torch::avg_pool2d(x, w.kernel, w.stride, pad, w.ceil, include_pad);
    } else {  // asymmetric pads, padding not counted: sum over the window / cells inside
      const torch::Tensor ones = pad2d(torch::ones({1, 1, x.size(2), x.size(3)}, x.options()), w, 0.0);
      x = pad2d(x, w, 0.0);
      y = torch::avg_pool2d(x, w.kernel, w.stride, {0, 0}, w.ceil, true) /
          torch::avg_pool2d(ones, w.kernel, w.stride, {0, 0}, w.ceil, true);
    }
    return {w.one_d ? y.squeeze(2) : y};
  };
}

Kernel compile_norm(const Node& n) {
  const double eps = n.attrs.f("epsilon", 1e-5);
  for (std::size_t k = 1; k < n.outputs.size(); ++k)
    if (n.outputs[k] >= 0) fail(fmt::format("{} with training outputs", n.op));
  if (n.op == "BatchNormalization") {
    if (n.attrs.i("training_mode", 0) != 0) fail("BatchNormalization in training mode");
    return [=](const Tensors& in, const RunContext&) -> Tensors {
      return {torch::batch_norm(in[0], in[1], in[2], in[3], in[4], false, 0.0, eps, false)};
    };
  }
  if (n.op == "InstanceNormalization")
    return [=](const Tensors& in, const RunContext&) -> Tensors {
      return {torch::instance_norm(in[0], in[1], in[2], {}, {}, true, 0.0, eps, false)};
    };
  const std::int64_t axis = n.attrs.i("axis", -1);  // LayerNormalization
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    const torch::Tensor& x = in[0];
    const std::int64_t a = wrap_axis(axis, x.dim());
    const Ints normalized(x.sizes().begin() + a, x.sizes().end());
    const auto opt = [&](std::size_t k) {
      return k < in.size() && in[k].defined() ? c10::optional<torch::Tensor>(in[k]) : c10::nullopt;
    };
    return {torch::layer_norm(x, normalized, opt(1), opt(2), eps, false)};
  };
}

// --- Shape manipulation ---------------------------------------------------------------------------

Kernel compile_flatten(const Node& n) {
  const std::int64_t axis = n.attrs.i("axis", 1);
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    const torch::Tensor& x = in[0];
    const std::int64_t a = axis < 0 ? axis + x.dim() : axis;
    std::int64_t outer = 1;
    for (std::int64_t d = 0; d < a; ++d) outer *= x.size(d);
    return {x.reshape({outer, outer == 0 ? 0 : x.numel() / std::max<std::int64_t>(outer, 1)})};
  };
}

Kernel compile_transpose(const Node& n) {
  const Ints perm = n.attrs.ints("perm", {});
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    if (!perm.empty()) return {in[0].permute(perm)};
    Ints reversed(static_cast<std::size_t>(in[0].dim()));
    std::iota(reversed.rbegin(), reversed.rend(), 0);
    return {in[0].permute(reversed)};
  };
}

Kernel compile_squeeze(const CompileContext& c, const Node& n) {
  const std::optional<Ints> axes = axes_of(c, n, "axes", 1);
  const bool unsqueeze = n.op == "Unsqueeze";
  if (unsqueeze && (!axes || axes->empty())) fail("Unsqueeze without axes");
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    torch::Tensor x = in[0];
    if (!axes || axes->empty()) return {x.squeeze()};
    const std::int64_t rank = unsqueeze ? x.dim() + static_cast<std::int64_t>(axes->size()) : x.dim();
    Ints a;
    for (std::int64_t axis : *axes) a.push_back(wrap_axis(axis, rank));
    std::sort(a.begin(), a.end());
    if (unsqueeze) {
      for (std::int64_t axis : a) x = x.unsqueeze(axis);
    } else {
      for (auto it = a.rbegin(); it != a.rend(); ++it) x = x.squeeze(*it);
    }
    return {x};
  };
}

Kernel compile_concat(const Node& n) {
  const std::int64_t axis = n.attrs.i("axis", 0);
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    std::vector<torch::Tensor> parts;
    for (const auto& t : in)
      if (t.defined()) parts.push_back(t);
    return {torch::cat(parts, axis)};
  };
}

Kernel compile_split(const CompileContext& c, const Node& n) {
  std::optional<Ints> sizes = n.attrs.has("split") ? std::optional<Ints>(n.attrs.ints("split", {})) : const_ints(c, n, 1, "split");
  const std::int64_t axis = n.attrs.i("axis", 0), parts = static_cast<std::int64_t>(n.outputs.size());
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    const torch::Tensor& x = in[0];
    if (sizes && !sizes->empty()) return x.split_with_sizes(*sizes, axis);
    const std::int64_t d = x.size(axis);
    return x.split((d + parts - 1) / parts, axis);
  };
}

// ONNX Slice along one axis (clamping rules of the spec; negative steps through index_select).
torch::Tensor slice_axis(const torch::Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t end, std::int64_t step) {
  const std::int64_t dim = x.size(axis);
  if (start < 0) start += dim;
  if (end < 0 && end > std::numeric_limits<std::int64_t>::min() / 2) end += dim;
  if (step > 0) {
    start = std::clamp<std::int64_t>(start, 0, dim);
    end = std::clamp<std::int64_t>(end, 0, dim);
    return x.slice(axis, start, std::max(start, end), step);
  }
  start = std::clamp<std::int64_t>(start, 0, dim - 1);
  end = std::clamp<std::int64_t>(end, -1, dim - 1);
  Ints idx;
  for (std::int64_t i = start; i > end; i += step) idx.push_back(i);
  return x.index_select(axis, torch::tensor(idx, torch::kLong));
}

Kernel compile_slice(const CompileContext& c, const Node& n) {
  const bool attr_form = n.attrs.has("starts");
  const ShapeConst starts = attr_form ? ShapeConst{n.attrs.ints("starts", {}), {}} : shape_const(c, n, 1, "starts");
  const ShapeConst ends = attr_form ? ShapeConst{n.attrs.ints("ends", {}), {}} : shape_const(c, n, 2, "ends");
  std::optional<Ints> axes = attr_form ? std::optional<Ints>(n.attrs.ints("axes", {})) : const_ints(c, n, 3, "axes");
  std::optional<Ints> steps = attr_form ? std::nullopt : const_ints(c, n, 4, "steps");
  if (starts.values.size() != ends.values.size()) fail("starts and ends of different lengths");
  for (std::int64_t s : steps.value_or(Ints{}))
    if (s == 0) fail("a step of 0");
  return [=](const Tensors& in, const RunContext& run) -> Tensors {
    torch::Tensor x = in[0];
    const Ints s = resolve(starts, run), e = resolve(ends, run);
    for (std::size_t i = 0; i < s.size(); ++i) {
      const std::int64_t axis = axes && !axes->empty() ? wrap_axis((*axes)[i], x.dim()) : static_cast<std::int64_t>(i);
      x = slice_axis(x, axis, s[i], e[i], steps && !steps->empty() ? (*steps)[i] : 1);
    }
    return {x};
  };
}

Kernel compile_gather(const Node& n) {
  const std::int64_t axis = n.attrs.i("axis", 0);
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    const torch::Tensor& data = in[0];
    const std::int64_t a = wrap_axis(axis, data.dim());
    torch::Tensor idx = in[1].to(torch::kLong);
    idx = torch::where(idx < 0, idx + data.size(a), idx);
    Ints shape(data.sizes().begin(), data.sizes().begin() + a);
    shape.insert(shape.end(), idx.sizes().begin(), idx.sizes().end());
    shape.insert(shape.end(), data.sizes().begin() + a + 1, data.sizes().end());
    return {data.index_select(a, idx.reshape({-1})).reshape(shape)};
  };
}

Kernel compile_reduce(const CompileContext& c, const Node& n) {
  const std::optional<Ints> axes = axes_of(c, n, "axes", 1);
  const bool keep = n.attrs.i("keepdims", 1) != 0, noop_empty = n.attrs.i("noop_with_empty_axes", 0) != 0;
  const std::string op = n.op;
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    const torch::Tensor& x = in[0];
    Ints dims = axes.value_or(Ints{});
    if (dims.empty()) {
      if (noop_empty) return {x};
      dims.resize(static_cast<std::size_t>(x.dim()));
      std::iota(dims.begin(), dims.end(), 0);
    }
    if (op == "ReduceMean") return {x.mean(dims, keep)};
    if (op == "ReduceSum") return {x.sum(dims, keep)};
    if (op == "ReduceMax") return {x.amax(dims, keep)};
    if (op == "ReduceMin") return {x.amin(dims, keep)};
    if (op == "ReduceProd") {
      torch::Tensor y = x;
      std::sort(dims.begin(), dims.end(), std::greater<>());
      for (std::int64_t d : dims) y = y.prod(d < 0 ? d + x.dim() : d, keep);
      return {y};
    }
    return {x.pow(2).sum(dims, keep)};  // ReduceSumSquare
  };
}

Kernel compile_arg(const Node& n) {
  const std::int64_t axis = n.attrs.i("axis", 0);
  const bool keep = n.attrs.i("keepdims", 1) != 0, is_max = n.op == "ArgMax";
  if (n.attrs.i("select_last_index", 0) != 0) fail("select_last_index = 1");
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    return {is_max ? in[0].argmax(axis, keep) : in[0].argmin(axis, keep)};
  };
}

Kernel compile_pad(const CompileContext& c, const Node& n) {
  const std::optional<Ints> pads = n.attrs.has("pads") ? std::optional<Ints>(n.attrs.ints("pads", {})) : const_ints(c, n, 1, "pads");
  if (!pads) fail("Pad without pads");
  const double value = n.attrs.has("value") ? n.attrs.f("value", 0.0) : const_scalar(c, n, 2, "constant_value").value_or(0.0);
  const std::optional<Ints> axes = const_ints(c, n, 3, "axes");
  const std::string mode = n.attrs.s("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") fail(fmt::format("pad mode '{}'", mode));
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    const torch::Tensor& x = in[0];
    const std::int64_t rank = x.dim();
    Ints begin(static_cast<std::size_t>(rank), 0), end(static_cast<std::size_t>(rank), 0);
    const std::size_t half = pads->size() / 2;
    for (std::size_t i = 0; i < half; ++i) {
      const std::int64_t a = axes ? wrap_axis((*axes)[i], rank) : static_cast<std::int64_t>(i);
      begin[static_cast<std::size_t>(a)] = (*pads)[i];
      end[static_cast<std::size_t>(a)] = (*pads)[i + half];
    }
    std::int64_t first = 0;  // leading dimensions without padding are left out (reflect/replicate need it)
    while (first < rank && begin[static_cast<std::size_t>(first)] == 0 && end[static_cast<std::size_t>(first)] == 0) ++first;
    Ints spec;
    for (std::int64_t d = rank - 1; d >= first; --d) {
      spec.push_back(begin[static_cast<std::size_t>(d)]);
      spec.push_back(end[static_cast<std::size_t>(d)]);
    }
    if (spec.empty()) return {x};
    F::PadFuncOptions options(spec);
    if (mode == "constant") options.mode(torch::kConstant).value(value);
    else if (mode == "reflect") options.mode(torch::kReflect);
    else options.mode(torch::kReplicate);
    return {F::pad(x, options)};
  };
}

Kernel compile_gemm(const Node& n) {
  const double alpha = n.attrs.f("alpha", 1.0), beta = n.attrs.f("beta", 1.0);
  const bool ta = n.attrs.i("transA", 0) != 0, tb = n.attrs.i("transB", 0) != 0;
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    torch::Tensor y = torch::mm(ta ? in[0].t() : in[0], tb ? in[1].t() : in[1]) * alpha;
    if (in.size() > 2 && in[2].defined()) y = y + in[2] * beta;
    return {y};
  };
}

Kernel compile_shape(const Node& n) {
  const std::int64_t start = n.attrs.i("start", 0);
  const std::optional<std::int64_t> end = n.attrs.has("end") ? std::optional<std::int64_t>(n.attrs.i("end", 0)) : std::nullopt;
  return [=](const Tensors& in, const RunContext&) -> Tensors {
    const std::int64_t rank = in[0].dim();
    const std::int64_t s = std::clamp<std::int64_t>(start < 0 ? start + rank : start, 0, rank);
    const std::int64_t e = std::clamp<std::int64_t>(end ? (*end < 0 ? *end + rank : *end) : rank, s, rank);
    const Ints sizes(in[0].sizes().begin() + s, in[0].sizes().begin() + e);
    return {torch::tensor(sizes, torch::kLong)};
  };
}

using Compiler = std::function<Kernel(const CompileContext&, const Node&)>;

const std::map<std::string, Compiler>& compilers() {
  static const std::map<std::string, Compiler> m = [] {
    std::map<std::string, Compiler> out;
    for (const auto& [op, f] : unaries())
      out[op] = [f](const CompileContext&, const Node&) -> Kernel {
        return [f](const Tensors& in, const RunContext&) -> Tensors { return {f(in[0])}; };
      };
    for (const auto& [op, f] : binaries())
      out[op] = [f](const CompileContext&, const Node&) -> Kernel {
        return [f](const Tensors& in, const RunContext&) -> Tensors { return {f(in[0], in[1])}; };
      };
    for (const auto& [name, f] : variadics()) {
      const bool mean = name == "Mean";
      out[name] = [f, mean](const CompileContext&, const Node&) -> Kernel {
        return [f, mean](const Tensors& in, const RunContext&) -> Tensors {
          torch::Tensor y = in[0];
          for (std::size_t k = 1; k < in.size(); ++k) y = f(y, in[k]);
          return {mean ? y / static_cast<double>(in.size()) : y};
        };
      };
    }
    const auto plain = [](Kernel (*f)(const Node&)) {
      return [f](const CompileContext&, const Node& n) { return f(n); };
    };
    for (const char* op : {"LeakyRelu", "Elu", "HardSigmoid", "Gelu", "Softmax", "LogSoftmax"}) out[op] = plain(compile_activation);
    for (const char* op : {"BatchNormalization", "LayerNormalization", "InstanceNormalization"}) out[op] = plain(compile_norm);
    for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare"})
      out[op] = compile_reduce;
    out["Where"] = [](const CompileContext&, const Node&) -> Kernel {
      return [](const Tensors& in, const RunContext&) -> Tensors { return {torch::where(in[0].to(torch::kBool), in[1], in[2])}; };
    };
    out["Clip"] = compile_clip;
    out["Cast"] = plain(compile_cast);
    out["MaxPool"] = compile_pool;
    out["AveragePool"] = compile_pool;
    out["Flatten"] = plain(compile_flatten);
    out["Reshape"] = compile_reshape;
    out["Expand"] = compile_expand;
    out["Tile"] = compile_tile;
    out["Transpose"] = plain(compile_transpose);
    out["Squeeze"] = compile_squeeze;
    out["Unsqueeze"] = compile_squeeze;
    out["Concat"] = plain(compile_concat);
    out["Split"] = compile_split;
    out["Slice"] = compile_slice;
    out["Gather"] = plain(compile_gather);
    out["ArgMax"] = plain(compile_arg);
    out["ArgMin"] = plain(compile_arg);
    out["Pad"] = compile_pad;
    out["Gemm"] = plain(compile_gemm);
    out["Shape"] = plain(compile_shape);
    return out;
  }();
  return m;
}

}  // namespace

Kernel compile(const CompileContext& ctx, const Node& node, std::size_t position) {
  const auto where = [&] { return fmt::format("node '{}' ({}, position {})", node.name, node.op, position); };
  const auto it = compilers().find(node.op);
  if (it == compilers().end())
    throw core::ModelError(fmt::format("{}: op '{}' has no executor in GraphModel (supported: {})", where(), node.op,
                                       fmt::join(supported_ops(), ", ")));
  try {
    return it->second(ctx, node);
  } catch (const NodeProblem& p) {
    throw core::ModelError(fmt::format("{}: cannot run {}", where(), p.what));
  } catch (const core::ModelError& e) {
    throw core::ModelError(fmt::format("{}: {}", where(), e.what()));
  }
}

const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> out;
    for (const auto& [op, f] : compilers()) out.push_back(op);
    return out;
  }();
  return ops;
}

}  // namespace cimlab::nn::graph_ops
