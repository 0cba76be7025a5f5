// infer_shapes(): per-op shape rules (ONNX semantics, opsets 7-18) and the walk that applies them and
// folds all-constant nodes (fold.cpp). Every index a file supplies (axes, perm, pads, indices) is
// validated before use and all dimension arithmetic is overflow-checked: this runs on fuzzed models.
#include "graph/graph.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "core/errors.hpp"
#include "graph/fold.hpp"

namespace cimlab::graph::detail {

namespace {

[[noreturn]] void fail(const std::string& what) { throw core::ModelError(what); }

using Types = std::vector<TensorType>;

void expect_rank_at_least(const NodeContext& c, std::size_t k, std::size_t rank, const char* what) {
  if (c.rank(k) < rank)
    fail(fmt::format("input {} has shape [{}]; {} needs rank >= {}", k, shape_string(c.shape(k)), what, rank));
}

void expect_shape(const NodeContext& c, std::size_t k, const Shape& expected) {
  if (c.has(k) && c.shape(k) != expected)
    fail(fmt::format("input {} ('{}') has shape [{}], expected [{}]", k, c.input(k).name, shape_string(c.shape(k)),
                     shape_string(expected)));
}

// Unidirectional broadcasting (Gemm's C, PRelu's slope, LayerNormalization's scale).
void expect_broadcasts_to(const NodeContext& c, std::size_t k, const Shape& to) {
  if (!c.has(k)) return;
  const Shape& from = c.shape(k);
  bool fits = from.size() <= to.size();
  for (std::size_t i = 0; fits && i < from.size(); ++i) {  // right-aligned
    const std::int64_t d = from[from.size() - 1 - i];
    fits = d == 1 || d == to[to.size() - 1 - i];
  }
  if (!fits)
    fail(fmt::format("input {} ('{}') of shape [{}] does not broadcast to [{}]", k, c.input(k).name,
                     shape_string(c.shape(k)), shape_string(to)));
}

// An integer-list attribute of `count` values, each in [min, 2^40], defaulting to `fallback` each.
std::vector<std::int64_t> attr_ints(const NodeContext& c, const char* name, std::size_t count, std::int64_t fallback,
                                    std::int64_t min) {
  const auto v = c.attrs().ints(name, std::vector<std::int64_t>(count, fallback));
  if (v.size() != count) fail(fmt::format("attribute '{}' has {} values, expected {}", name, v.size(), count));
  for (std::int64_t x : v)
    if (x < min || x > kMaxDim)
      fail(fmt::format("attribute '{}' = [{}] has a value outside [{}, 2^40]", name, fmt::join(v, ", "), min));
  return v;
}

DType onnx_dtype(std::int64_t onnx_type) {
  switch (onnx_type) {
    case 1: case 10: case 11: case 16: return DType::kFloat;  // float, float16, double, bfloat16
    case 2: case 3: case 4: case 5: case 6: case 7: case 12: case 13: return DType::kInt64;  // (u)int8..64
    case 9: return DType::kBool;
    default: fail(fmt::format("ONNX element type {} is not supported", onnx_type));
  }
}

Types same(const NodeContext& c) { return {{c.shape(0), c.dtype(0)}}; }

Types same_with_axis(const NodeContext& c) {  // Softmax, LogSoftmax, Hardmax
  normalize_axis(c.attrs().i("axis", -1), c.rank(0));
  return same(c);
}

// Broadcast of inputs first..n-1; with `same_type`, each must have the type of input `first`.
Shape broadcast_inputs(const NodeContext& c, std::size_t first, bool same_type) {
  Shape out = c.shape(first);
  for (std::size_t k = first + 1; k < c.input_count(); ++k) {
    if (same_type && c.dtype(k) != c.dtype(first))
      fail(fmt::format("input {} is {} but input {} is {}", k, dtype_name(c.dtype(k)), first, dtype_name(c.dtype(first))));
    out = broadcast(out, c.shape(k));
  }
  return out;
}

Types arithmetic(const NodeContext& c) { return {{broadcast_inputs(c, 0, true), c.dtype(0)}}; }
Types power(const NodeContext& c) { return {{broadcast_inputs(c, 0, false), c.dtype(0)}}; }
Types comparison(const NodeContext& c) { return {{broadcast_inputs(c, 0, true), DType::kBool}}; }

Types logical(const NodeContext& c) {  // Not, And, Or, Xor
  if (c.dtype(0) != DType::kBool) fail(fmt::format("input 0 is {}, expected bool", dtype_name(c.dtype(0))));
  return comparison(c);
}

Types where(const NodeContext& c) {
  if (c.dtype(0) != DType::kBool) fail(fmt::format("condition is {}, expected bool", dtype_name(c.dtype(0))));
  return {{broadcast(c.shape(0), broadcast_inputs(c, 1, true)), c.dtype(1)}};
}

Types prelu(const NodeContext& c) {
  expect_broadcasts_to(c, 1, c.shape(0));
  return same(c);
}

Types cast(const NodeContext& c) {
  if (!c.attrs().has("to")) fail("attribute 'to' is missing");
  return {{c.shape(0), onnx_dtype(c.attrs().i("to", 0))}};
}

Types cast_like(const NodeContext& c) { return {{c.shape(0), c.dtype(1)}}; }
Types dropout(const NodeContext& c) { return {{c.shape(0), c.dtype(0)}, {c.shape(0), DType::kBool}}; }

Types shape_op(const NodeContext& c) {
  const auto [first, last] = shape_op_range(c);
  return {{{static_cast<std::int64_t>(last - first)}, DType::kInt64}};
}

Types size_op(const NodeContext& c) { return {{{}, DType::kInt64}}; }

// ---- Conv, ConvTranspose and pooling windows -----------------------------------------------------

struct Window {
  Shape kernel, strides, dilations;
  std::vector<std::int64_t> pads;  // all begins, then all ends (ONNX order)
  std::string auto_pad;
  bool ceil_mode = false;
};

Window read_window(const NodeContext& c, const Shape& kernel) {
  const std::size_t s = kernel.size();
  for (std::int64_t k : kernel)
    if (k < 1 || k > kMaxDim) fail(fmt::format("kernel [{}] has a size outside [1, 2^40]", shape_string(kernel)));
  Window w{kernel,
           attr_ints(c, "strides", s, 1, 1),
           attr_ints(c, "dilations", s, 1, 1),
           attr_ints(c, "pads", 2 * s, 0, 0),
           c.attrs().s("auto_pad", "NOTSET"),
           c.attrs().i("ceil_mode", 0) != 0};
  if (w.auto_pad.empty()) w.auto_pad = "NOTSET";
  if (w.auto_pad != "NOTSET" && w.auto_pad != "VALID" && w.auto_pad != "SAME_UPPER" && w.auto_pad != "SAME_LOWER")
    fail(fmt::format("auto_pad '{}' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", w.auto_pad));
  if (w.auto_pad != "NOTSET") std::fill(w.pads.begin(), w.pads.end(), 0);
  return w;
}

std::int64_t effective_kernel(const Window& w, std::size_t i) {
  return checked_add(checked_mul(w.kernel[i] - 1, w.dilations[i]), 1);
}

// Output spatial sizes of a Conv or pooling window sliding over `in` (ONNX; ceil_mode as PyTorch: the last
// window must start inside the input or its left padding).
Shape window_output(const Shape& in, const Window& w) {
  Shape out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::int64_t s = w.strides[i];
    if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
      out[i] = in[i] / s + (in[i] % s != 0 ? 1 : 0);
      continue;
    }
    const std::int64_t begin = w.pads[i], end = w.pads[i + in.size()];
    const std::int64_t span = checked_add(checked_add(in[i], begin), end) - effective_kernel(w, i);
    if (span < 0)
      fail(fmt::format("kernel {} (dilation {}) is larger than the padded input {} along spatial axis {}", w.kernel[i],
                       w.dilations[i], in[i] + begin + end, i));
    out[i] = span / s + (w.ceil_mode && span % s != 0 ? 1 : 0) + 1;
    if (w.ceil_mode && (out[i] - 1) * s >= in[i] + begin) out[i] -= 1;
  }
  return out;
}

Shape spatial(const Shape& s) { return {s.begin() + 2, s.end()}; }

Shape concat_dims(Shape head, const Shape& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

Types conv(const NodeContext& c) {
  expect_rank_at_least(c, 0, 3, "Conv (N x C x spatial)");
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (w.size() != x.size())
    fail(fmt::format("weight has shape [{}], expected rank {} like the input [{}]", shape_string(w), x.size(),
                     shape_string(x)));
  const std::int64_t group = c.attrs().i("group", 1);
  if (group < 1 || w[0] % group != 0)
    fail(fmt::format("group {} does not divide the {} output channels", group, w[0]));
  if (x[1] != checked_mul(w[1], group))
    fail(fmt::format("input has {} channels but the weight [{}] with group {} expects {}", x[1], shape_string(w), group,
                     checked_mul(w[1], group)));
  expect_shape(c, 2, {w[0]});
  const Shape kernel = spatial(w);
  const auto declared = c.attrs().ints("kernel_shape", kernel);
  if (declared != kernel)
    fail(fmt::format("kernel_shape [{}] differs from the weight's [{}]", fmt::join(declared, ", "), shape_string(kernel)));
  return {{concat_dims({x[0], w[0]}, window_output(spatial(x), read_window(c, kernel))), c.dtype(0)}};
}

Types conv_transpose(const NodeContext& c) {
  expect_rank_at_least(c, 0, 3, "ConvTranspose (N x C x spatial)");
  const Shape& x = c.shape(0);
  const Shape& w = c.shape(1);
  if (w.size() != x.size() || w[0] != x[1])
    fail(fmt::format("weight [{}] does not match the input [{}] (expected rank {} and {} input channels)",
                     shape_string(w), shape_string(x), x.size(), x[1]));
  const std::int64_t group = c.attrs().i("group", 1);
  if (group < 1 || x[1] % group != 0) fail(fmt::format("group {} does not divide the {} input channels", group, x[1]));
  const std::int64_t out_channels = checked_mul(w[1], group);
  expect_shape(c, 2, {out_channels});
  const Window win = read_window(c, spatial(w));
  const std::size_t s = x.size() - 2;
  Shape out(s);
  if (c.attrs().has("output_shape")) {
    auto given = c.attrs().ints("output_shape", {});
    if (given.size() == s + 2) given.erase(given.begin(), given.begin() + 2);
    if (given.size() != s) fail(fmt::format("output_shape [{}] does not have {} spatial sizes", fmt::join(given, ", "), s));
    out = given;
  } else {
    const auto output_padding = attr_ints(c, "output_padding", s, 0, 0);
    for (std::size_t i = 0; i < s; ++i) {
      const std::int64_t in = x[i + 2], stride = win.strides[i];
      if (win.auto_pad == "SAME_UPPER" || win.auto_pad == "SAME_LOWER") {
        out[i] = checked_mul(in, stride);
        continue;
      }
      const std::int64_t full = checked_add(checked_add(checked_mul(stride, in - 1), output_padding[i]), effective_kernel(win, i));
      out[i] = full - win.pads[i] - win.pads[i + s];
      if (out[i] < 0) fail(fmt::format("padding makes spatial output {} negative ({})", i, out[i]));
    }
  }
  return {{concat_dims({x[0], out_channels}, out), c.dtype(0)}};
}

Types pool(const NodeContext& c) {  // MaxPool (second output: indices), AveragePool, LpPool
  expect_rank_at_least(c, 0, 3, "pooling (N x C x spatial)");
  const Shape& x = c.shape(0);
  if (!c.attrs().has("kernel_shape")) fail("attribute 'kernel_shape' is missing");
  const Shape kernel = attr_ints(c, "kernel_shape", x.size() - 2, 1, 1);
  const Shape out = concat_dims({x[0], x[1]}, window_output(spatial(x), read_window(c, kernel)));
  if (c.node().op == "MaxPool") return {{out, c.dtype(0)}, {out, DType::kInt64}};
  return {{out, c.dtype(0)}};
}

Types global_pool(const NodeContext& c) {
  expect_rank_at_least(c, 0, 3, "global pooling (N x C x spatial)");
  Shape out(c.rank(0), 1);
  out[0] = c.shape(0)[0];
  out[1] = c.shape(0)[1];
  return {{out, c.dtype(0)}};
}

// ---- Products ----------------------------------------------------------------------------------

Types gemm(const NodeContext& c) {
  const Shape& a = c.shape(0);
  const Shape& b = c.shape(1);
  if (a.size() != 2 || b.size() != 2)
    fail(fmt::format("A [{}] and B [{}] must be 2-D", shape_string(a), shape_string(b)));
  const bool ta = c.attrs().i("transA", 0) != 0, tb = c.attrs().i("transB", 0) != 0;
  const std::int64_t m = a[ta ? 1 : 0], k = a[ta ? 0 : 1], kb = b[tb ? 1 : 0], n = b[tb ? 0 : 1];
  if (k != kb)
    fail(fmt::format("inner dimensions differ: A [{}]{} and B [{}]{} give K = {} and {}", shape_string(a),
                     ta ? " (transposed)" : "", shape_string(b), tb ? " (transposed)" : "", k, kb));
  expect_broadcasts_to(c, 2, {m, n});
  return {{{m, n}, c.dtype(0)}};
}

Types matmul(const NodeContext& c) {
  const Shape& a = c.shape(0);
  const Shape& b = c.shape(1);
  if (a.empty() || b.empty()) fail("MatMul operands must have rank >= 1");
  // numpy: a 1-D A is a row vector, a 1-D B a column vector; the added dimension is dropped afterwards.
  const Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
  const Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
  if (a2.back() != b2[b2.size() - 2])
    fail(fmt::format("inner dimensions differ: [{}] x [{}] ({} vs {})", shape_string(a), shape_string(b), a2.back(),
                     b2[b2.size() - 2]));
  Shape out = broadcast(Shape(a2.begin(), a2.end() - 2), Shape(b2.begin(), b2.end() - 2));
  if (a.size() > 1) out.push_back(a2[a2.size() - 2]);
  if (b.size() > 1) out.push_back(b2.back());
  return {{out, c.dtype(0)}};
}

// ---- Normalisation -----------------------------------------------------------------------------

Types batch_norm(const NodeContext& c) {  // outputs 1-4 (training mode): per-channel statistics
  expect_rank_at_least(c, 0, 2, "BatchNormalization (N x C x ...)");
  const Shape channels{c.shape(0)[1]};
  for (std::size_t k = 1; k < 5; ++k) expect_shape(c, k, channels);
  Types out{{c.shape(0), c.dtype(0)}};
  out.resize(5, {channels, c.dtype(0)});
  return out;
}

Types instance_norm(const NodeContext& c) {
  expect_rank_at_least(c, 0, 3, "InstanceNormalization (N x C x spatial)");
  expect_shape(c, 1, {c.shape(0)[1]});
  expect_shape(c, 2, {c.shape(0)[1]});
  return same(c);
}

Types group_norm(const NodeContext& c) {
  expect_rank_at_least(c, 0, 2, "GroupNormalization (N x C x ...)");
  const std::int64_t groups = c.attrs().i("num_groups", 0), channels = c.shape(0)[1];
  if (groups < 1 || channels % groups != 0)
    fail(fmt::format("num_groups {} does not divide the {} channels", groups, channels));
  for (std::size_t k = 1; k < 3; ++k)  // per channel (opset 21) or per group (opset 18)
    if (c.shape(k) != Shape{channels}) expect_shape(c, k, {groups});
  return same(c);
}

Types layer_norm(const NodeContext& c) {  // outputs 1, 2: mean and inverse std-dev, reduced dims kept as 1
  const Shape& x = c.shape(0);
  const std::size_t axis = normalize_axis(c.attrs().i("axis", -1), x.size());
  const Shape normalized(x.begin() + static_cast<std::ptrdiff_t>(axis), x.end());
  expect_broadcasts_to(c, 1, normalized);
  expect_broadcasts_to(c, 2, normalized);
  Shape stats = x;
  std::fill(stats.begin() + static_cast<std::ptrdiff_t>(axis), stats.end(), 1);
  return {{x, c.dtype(0)}, {stats, DType::kFloat}, {stats, DType::kFloat}};
}

// ---- Shape manipulation ------------------------------------------------------------------------

Types flatten(const NodeContext& c) {
  const Shape& x = c.shape(0);
  const std::int64_t axis = c.attrs().i("axis", 1);
  const auto r = static_cast<std::int64_t>(x.size());
  if (axis < -r || axis > r) fail(fmt::format("axis {} is out of range for rank {}", axis, r));
  const auto split = static_cast<std::ptrdiff_t>(axis < 0 ? axis + r : axis);
  return {{{numel(Shape(x.begin(), x.begin() + split)), numel(Shape(x.begin() + split, x.end()))}, c.dtype(0)}};
}

Types reshape(const NodeContext& c) {
  const Shape& x = c.shape(0);
  const auto target = c.ints(1, "shape");
  const bool allow_zero = c.attrs().i("allowzero", 0) != 0;
  Shape out;
  std::optional<std::size_t> inferred;
  for (std::size_t i = 0; i < target.size(); ++i) {
    const std::int64_t v = target[i];
    if (v == -1) {
      if (inferred) fail(fmt::format("shape [{}] has more than one -1", fmt::join(target, ", ")));
      inferred = i;
      out.push_back(1);
    } else if (v == 0 && !allow_zero) {  // 0 copies the input's dimension
      if (i >= x.size())
        fail(fmt::format("shape [{}] copies dimension {} (0) of the rank-{} input", fmt::join(target, ", "), i, x.size()));
      out.push_back(x[i]);
    } else if (v < 0) {
      fail(fmt::format("shape [{}] has the invalid dimension {}", fmt::join(target, ", "), v));
    } else {
      out.push_back(v);
    }
  }
  check_shape(out);
  const std::int64_t total = numel(x), known = numel(out);
  if (inferred) {
    if (known == 0 || total % known != 0)
      fail(fmt::format("cannot reshape [{}] ({} elements) to [{}]", shape_string(x), total, fmt::join(target, ", ")));
    out[*inferred] = total / known;
  }
  if (numel(out) != total)
    fail(fmt::format("cannot reshape [{}] ({} elements) to [{}] ({} elements)", shape_string(x), total,
                     shape_string(out), numel(out)));
  return {{out, c.dtype(0)}};
}

Types transpose(const NodeContext& c) {
  const auto perm = transpose_perm(c);
  Shape out(perm.size());
  for (std::size_t d = 0; d < perm.size(); ++d) out[d] = c.shape(0)[perm[d]];
  return {{out, c.dtype(0)}};
}

Types concat(const NodeContext& c) {
  if (!c.attrs().has("axis")) fail("attribute 'axis' is missing");
  Shape out = c.shape(0);
  if (out.empty()) fail("cannot concatenate scalars");
  const std::size_t axis = normalize_axis(c.attrs().i("axis", 0), out.size());
  for (std::size_t k = 1; k < c.input_count(); ++k) {
    const Shape& s = c.shape(k);
    bool fits = s.size() == out.size() && c.dtype(k) == c.dtype(0);
    for (std::size_t d = 0; fits && d < s.size(); ++d) fits = d == axis || s[d] == out[d];
    if (!fits)
      fail(fmt::format("input {} ({} [{}]) does not fit input 0 ({} [{}]) along axis {}", k, dtype_name(c.dtype(k)),
                       shape_string(s), dtype_name(c.dtype(0)), shape_string(c.shape(0)), axis));
    out[axis] = checked_add(out[axis], s[axis]);
  }
  return {{out, c.dtype(0)}};
}

Types split(const NodeContext& c) {
  const auto [axis, sizes] = split_sizes(c);
  Types out;
  for (std::int64_t s : sizes) {
    Shape shape = c.shape(0);
    shape[axis] = s;
    out.push_back({shape, c.dtype(0)});
  }
  return out;
}

Types slice(const NodeContext& c) {
  Shape out;
  for (const auto& d : slice_dims(c)) out.push_back(d.count);
  return {{out, c.dtype(0)}};
}

Types gather(const NodeContext& c) {
  const Shape& x = c.shape(0);
  if (x.empty()) fail("cannot gather from a scalar");
  if (c.dtype(1) != DType::kInt64) fail(fmt::format("indices are {}, expected int64", dtype_name(c.dtype(1))));
  const auto axis = static_cast<std::ptrdiff_t>(normalize_axis(c.attrs().i("axis", 0), x.size()));
  Shape out(x.begin(), x.begin() + axis);
  out.insert(out.end(), c.shape(1).begin(), c.shape(1).end());
  out.insert(out.end(), x.begin() + axis + 1, x.end());
  return {{out, c.dtype(0)}};
}

Types gather_elements(const NodeContext& c) {
  if (c.rank(1) != c.rank(0) || c.rank(0) == 0)
    fail(fmt::format("indices [{}] must have the rank of the data [{}] (>= 1)", shape_string(c.shape(1)),
                     shape_string(c.shape(0))));
  normalize_axis(c.attrs().i("axis", 0), c.rank(0));
  return {{c.shape(1), c.dtype(0)}};
}

// ScatterND(data, indices, updates): data with the slices that the last axis of indices addresses replaced
// by updates, whose shape is indices.shape[:-1] + data.shape[k:] (k = indices.shape[-1]).
Types scatter_nd(const NodeContext& c) {
  const Shape& x = c.shape(0);
  const Shape& indices = c.shape(1);
  if (c.dtype(1) != DType::kInt64) fail(fmt::format("indices are {}, expected int64", dtype_name(c.dtype(1))));
  if (c.dtype(2) != c.dtype(0))
    fail(fmt::format("updates are {}, data {}", dtype_name(c.dtype(2)), dtype_name(c.dtype(0))));
  if (indices.empty() || indices.back() < 1 || indices.back() > static_cast<std::int64_t>(x.size()))
    fail(fmt::format("indices [{}] must have a last dimension from 1 to the rank of the data [{}]",
                     shape_string(indices), shape_string(x)));
  Shape updates(indices.begin(), indices.end() - 1);
  updates.insert(updates.end(), x.begin() + indices.back(), x.end());
  if (c.shape(2) != updates)
    fail(fmt::format("updates are [{}], expected [{}] for data [{}] and indices [{}]", shape_string(c.shape(2)),
                     shape_string(updates), shape_string(x), shape_string(indices)));
  const std::string reduction = c.attrs().s("reduction", "none");
  if (reduction != "none") fail(fmt::format("reduction '{}' is not supported (only 'none')", reduction));
  return {{x, c.dtype(0)}};
}

Types squeeze(const NodeContext& c) {
  const Shape& x = c.shape(0);
  const auto axes = axes_of(c, 1).value_or(std::vector<std::int64_t>{});
  std::vector<char> drop(x.size(), 0);
  for (std::size_t d = 0; d < x.size(); ++d) drop[d] = axes.empty() && x[d] == 1;  // no axes: every 1
  for (std::int64_t a : axes) {
    const std::size_t d = normalize_axis(a, x.size());
    if (x[d] != 1) fail(fmt::format("cannot squeeze axis {} of size {} in [{}]", a, x[d], shape_string(x)));
    drop[d] = 1;
  }
  Shape out;
  for (std::size_t d = 0; d < x.size(); ++d)
    if (!drop[d]) out.push_back(x[d]);
  return {{out, c.dtype(0)}};
}

Types unsqueeze(const NodeContext& c) {
  const Shape& x = c.shape(0);
  const auto axes = axes_of(c, 1);
  if (!axes) fail("axes are missing");
  const std::size_t rank = x.size() + axes->size();
  if (rank > kMaxRank) fail(fmt::format("rank {} exceeds {}", rank, kMaxRank));
  std::vector<char> inserted(rank, 0);
  for (std::int64_t a : *axes) {
    const std::size_t d = normalize_axis(a, rank);
    if (inserted[d]) fail(fmt::format("axis {} appears twice", a));
    inserted[d] = 1;
  }
  Shape out;
  std::size_t next = 0;
  for (std::size_t d = 0; d < rank; ++d) out.push_back(inserted[d] ? 1 : x[next++]);
  return {{out, c.dtype(0)}};
}

Types reduce(const NodeContext& c) {
  const auto reduced = reduced_dims(c);
  const bool keep = c.attrs().i("keepdims", 1) != 0;
  Shape out;
  for (std::size_t d = 0; d < reduced.size(); ++d) {
    if (!reduced[d]) out.push_back(c.shape(0)[d]);
    else if (keep) out.push_back(1);
  }
  return {{out, c.dtype(0)}};
}

Types arg_reduce(const NodeContext& c) {  // ArgMax, ArgMin
  Shape out = c.shape(0);
  const std::size_t axis = normalize_axis(c.attrs().i("axis", 0), out.size());
  if (c.attrs().i("keepdims", 1) != 0) out[axis] = 1;
  else out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
  return {{out, DType::kInt64}};
}

std::vector<std::int64_t> nonnegative_ints(const NodeContext& c, std::size_t k, const char* what) {
  auto v = c.ints(k, what);
  for (std::int64_t x : v)
    if (x < 0) fail(fmt::format("{} [{}] holds a negative value", what, fmt::join(v, ", ")));
  return v;
}

Types expand(const NodeContext& c) {
  return {{broadcast(c.shape(0), nonnegative_ints(c, 1, "shape")), c.dtype(0)}};
}

Types tile(const NodeContext& c) {
  const auto repeats = nonnegative_ints(c, 1, "repeats");
  Shape out = c.shape(0);
  if (repeats.size() != out.size())
    fail(fmt::format("{} repeats for an input of rank {}", repeats.size(), out.size()));
  for (std::size_t d = 0; d < out.size(); ++d) out[d] = checked_mul(out[d], repeats[d]);
  return {{out, c.dtype(0)}};
}

Types pad(const NodeContext& c) {
  const Shape& x = c.shape(0);
  const std::string mode = c.attrs().s("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    fail(fmt::format("mode '{}' is not constant, reflect, edge or wrap", mode));
  const auto pads = c.has(1) ? c.ints(1, "pads") : c.attrs().ints("pads", {});  // opset 11+ : opset < 11
  std::vector<std::size_t> axes;
  if (c.has(3)) {
    for (std::int64_t a : c.ints(3, "axes")) axes.push_back(normalize_axis(a, x.size()));
  } else {
    for (std::size_t d = 0; d < x.size(); ++d) axes.push_back(d);
  }
  if (pads.size() != 2 * axes.size())
    fail(fmt::format("{} pads for {} padded axes (expected {})", pads.size(), axes.size(), 2 * axes.size()));
  Shape out = x;
  for (std::size_t i = 0; i < axes.size(); ++i) {
    const std::size_t d = axes[i];
    out[d] = checked_add(checked_add(out[d], pads[i]), pads[i + axes.size()]);
    if (out[d] < 0) fail(fmt::format("pads [{}] make dimension {} negative", fmt::join(pads, ", "), d));
  }
  return {{out, c.dtype(0)}};
}

Types resize(const NodeContext& c) {  // Resize (opset 10: X, scales; 11+: X, roi, scales, sizes) and Upsample
  const Shape& x = c.shape(0);
  std::vector<std::int64_t> sizes;
  std::vector<double> scales;
  if (c.node().op == "Upsample" || c.input_count() == 2) {
    scales = c.has(1) ? c.floats(1, "scales") : c.attrs().floats("scales", {});
  } else {
    if (c.has(3)) sizes = nonnegative_ints(c, 3, "sizes");
    if (sizes.empty() && c.has(2)) scales = c.floats(2, "scales");
  }
  std::vector<std::int64_t> axes(x.size());
  for (std::size_t d = 0; d < x.size(); ++d) axes[d] = static_cast<std::int64_t>(d);
  axes = c.attrs().ints("axes", axes);  // opset 18
  if (!sizes.empty() && c.attrs().s("keep_aspect_ratio_policy", "stretch") != "stretch")
    fail("keep_aspect_ratio_policy other than 'stretch' is not supported");
  const std::size_t given = sizes.empty() ? scales.size() : sizes.size();
  if (given != axes.size()) fail(fmt::format("{} scales or sizes for {} axes", given, axes.size()));
  Shape out = x;
  for (std::size_t i = 0; i < axes.size(); ++i) {
    const std::size_t d = normalize_axis(axes[i], x.size());
    if (!sizes.empty()) {
      out[d] = sizes[i];
      continue;
    }
    const double scaled = std::floor(static_cast<double>(x[d]) * scales[i]);
    if (!(scales[i] > 0) || !(scaled <= static_cast<double>(kMaxDim)))
      fail(fmt::format("scale {} is not positive or gives a dimension above 2^40", scales[i]));
    out[d] = static_cast<std::int64_t>(scaled);
  }
  return {{out, c.dtype(0)}};
}

Types depth_to_space(const NodeContext& c) {  // DepthToSpace and SpaceToDepth
  const Shape& x = c.shape(0);
  const std::int64_t b = c.attrs().i("blocksize", 0);
  if (x.size() != 4 || b < 1 || b > kMaxDim) fail(fmt::format("needs a rank-4 input and blocksize >= 1 (got [{}], {})", shape_string(x), b));
  const std::int64_t area = checked_mul(b, b);
  if (c.node().op == "DepthToSpace") {
    if (x[1] % area != 0) fail(fmt::format("{} channels are not divisible by blocksize^2 = {}", x[1], area));
    return {{{x[0], x[1] / area, checked_mul(x[2], b), checked_mul(x[3], b)}, c.dtype(0)}};
  }
  if (x[2] % b != 0 || x[3] % b != 0) fail(fmt::format("spatial size {}x{} is not divisible by blocksize {}", x[2], x[3], b));
  return {{{x[0], checked_mul(x[1], area), x[2] / b, x[3] / b}, c.dtype(0)}};
}

// ---- Tensor sources ----------------------------------------------------------------------------

Types constant_of_shape(const NodeContext& c) {
  return {{nonnegative_ints(c, 0, "shape"), fill_value(c.attrs()).dtype}};
}

Types constant_node(const NodeContext& c) {
  const Constant k = constant_attribute(c.attrs());
  return {{k.shape, k.dtype}};
}

// Range's element count max(ceil((limit - start) / delta), 0), from its constant scalar inputs.
std::int64_t range_count(const NodeContext& c) {
  for (std::size_t k = 0; k < 3; ++k) {
    if (c.constant(k) == nullptr || c.constant(k)->size() != 1 || c.dtype(k) != c.dtype(0))
      fail("Range needs constant one-element start, limit and delta of one type (otherwise its shape is data-dependent)");
  }
  if (c.dtype(0) == DType::kFloat) {
    const double start = c.constant(0)->f[0], limit = c.constant(1)->f[0], delta = c.constant(2)->f[0];
    const double n = std::ceil((limit - start) / delta);
    if (!(n <= static_cast<double>(kMaxDim)))  // also NaN: delta 0, infinities
      fail(fmt::format("Range({}, {}, {}) does not have a finite length of at most 2^40", start, limit, delta));
    return static_cast<std::int64_t>(std::max(n, 0.0));
  }
  const std::int64_t start = c.constant(0)->i[0], limit = c.constant(1)->i[0], delta = c.constant(2)->i[0];
  if (delta == 0) fail("Range delta is 0");
  const __int128 span = static_cast<__int128>(limit) - start;  // exact: may exceed int64
  __int128 n = span / delta;
  if (span % delta != 0 && (span > 0) == (delta > 0)) ++n;
  if (n > kMaxDim) fail(fmt::format("Range({}, {}, {}) has more than 2^40 elements", start, limit, delta));
  return n > 0 ? static_cast<std::int64_t>(n) : 0;
}

Types range(const NodeContext& c) { return {{{range_count(c)}, c.dtype(0)}}; }

// ---- The op table ------------------------------------------------------------------------------

constexpr std::size_t kVariadic = std::numeric_limits<std::size_t>::max();

struct OpRule {
  std::size_t min_inputs, max_inputs;
  Types (*infer)(const NodeContext&);
};

const std::map<std::string, OpRule>& rules() {
  static const std::map<std::string, OpRule> table = [] {
    std::map<std::string, OpRule> t;
    for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Gelu", "Sqrt", "Exp", "Log", "Neg", "Abs",
                           "Floor", "Ceil", "Round", "Reciprocal", "Sign", "Sin", "Cos", "Elu", "Selu", "Celu",
                           "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Mish", "ThresholdedRelu", "Identity",
                           "LRN"})
      t[op] = {1, 1, same};
    for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) t[op] = {1, 1, same_with_axis};
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Mod"}) t[op] = {2, 2, arithmetic};
    for (const char* op : {"Max", "Min", "Sum", "Mean"}) t[op] = {1, kVariadic, arithmetic};
    for (const char* op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"}) t[op] = {2, 2, comparison};
    for (const char* op : {"And", "Or", "Xor"}) t[op] = {2, 2, logical};
    for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                           "ReduceSumSquare", "ReduceLogSumExp"})
      t[op] = {1, 2, reduce};
    for (const char* op : {"MaxPool", "AveragePool", "LpPool"}) t[op] = {1, 1, pool};
    for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) t[op] = {1, 1, global_pool};
    for (const char* op : {"ArgMax", "ArgMin"}) t[op] = {1, 1, arg_reduce};
    for (const char* op : {"Resize", "Upsample"}) t[op] = {1, 4, resize};
    for (const char* op : {"DepthToSpace", "SpaceToDepth"}) t[op] = {1, 1, depth_to_space};
    t["Not"] = {1, 1, logical};
    t["Pow"] = {2, 2, power};
    t["Where"] = {3, 3, where};
    t["PRelu"] = {2, 2, prelu};
    t["Clip"] = {1, 3, same};
    t["CumSum"] = {2, 2, same};
    t["Cast"] = {1, 1, cast};
    t["CastLike"] = {2, 2, cast_like};
    t["Dropout"] = {1, 3, dropout};
    t["Shape"] = {1, 1, shape_op};
    t["Size"] = {1, 1, size_op};
    t["Conv"] = {2, 3, conv};
    t["ConvTranspose"] = {2, 3, conv_transpose};
    t["Gemm"] = {2, 3, gemm};
    t["MatMul"] = {2, 2, matmul};
    t["BatchNormalization"] = {5, 5, batch_norm};
    t["InstanceNormalization"] = {3, 3, instance_norm};
    t["GroupNormalization"] = {3, 3, group_norm};
    t["LayerNormalization"] = {2, 3, layer_norm};
    t["Flatten"] = {1, 1, flatten};
    t["Reshape"] = {2, 2, reshape};
    t["Transpose"] = {1, 1, transpose};
    t["Concat"] = {1, kVariadic, concat};
    t["Split"] = {1, 2, split};
    t["Slice"] = {1, 5, slice};
    t["Gather"] = {2, 2, gather};
    t["GatherElements"] = {2, 2, gather_elements};
  t["ScatterND"] = {3, 3, scatter_nd};
    t["Squeeze"] = {1, 2, squeeze};
    t["Unsqueeze"] = {1, 2, unsqueeze};
    t["Expand"] = {2, 2, expand};
    t["Tile"] = {2, 2, tile};
    t["Pad"] = {1, 4, pad};
    t["ConstantOfShape"] = {1, 1, constant_of_shape};
    t["Constant"] = {0, 0, constant_node};
    t["Range"] = {3, 3, range};
    return t;
  }();
  return table;
}

// The node's output types (validated), one per output.
Types infer_node(const Graph& graph, const Node& node) {
  const auto it = rules().find(node.op);
  if (it == rules().end()) fail(fmt::format("unsupported op '{}'", node.op));
  const OpRule& rule = it->second;
  const std::size_t n = node.inputs.size();
  if (n < rule.min_inputs || n > rule.max_inputs)
    fail(rule.max_inputs == kVariadic   ? fmt::format("{} inputs, expected at least {}", n, rule.min_inputs)
         : rule.max_inputs == rule.min_inputs ? fmt::format("{} inputs, expected {}", n, rule.min_inputs)
                                              : fmt::format("{} inputs, expected {} to {}", n, rule.min_inputs, rule.max_inputs));
  for (std::size_t k = 0; k < n; ++k) {
    const int id = node.inputs[k];
    if (id >= 0 && !graph.value(id).shape_known)
      fail(fmt::format("input {} ('{}') is not defined before this node", k, graph.value(id).name));
  }
  Types out = rule.infer(NodeContext(graph, node));
  if (node.outputs.size() > out.size())
    fail(fmt::format("{} outputs, expected at most {}", node.outputs.size(), out.size()));
  out.resize(node.outputs.size());
  for (const TensorType& t : out) check_shape(t.shape);
  return out;
}

// Folds the node when its inputs are constant (Shape and Size: when their input's shape is known, always here)
// and its outputs small; returns whether it did.
bool fold_node(Graph& graph, const Node& node, const Types& types) {
  if (!foldable(node.op) || types.empty()) return false;  // no outputs: nothing to fold (prune drops the node)
  const bool needs_shape_only = node.op == "Shape" || node.op == "Size";
  for (int in : node.inputs)
    if (in >= 0 && !graph.is_constant(in) && !needs_shape_only) return false;
  for (const TensorType& t : types)
    if (numel(t.shape) > kMaxFoldedElements) return false;
  // Broadcasting a float parameter (the ViT class token expanded to the batch) stays a node: folded, the
  // parameter would lose its identity (HAT fine-tuning, write-back) and grow with the batch.
  if ((node.op == "Expand" || node.op == "Tile") && graph.value(node.inputs[0]).dtype == DType::kFloat) return false;
  if (node.op == "Identity") {  // share the constant (deduplicated ONNX initializers): no copy
    Value& out = graph.value(node.outputs[0]);
    out.constant = graph.value(node.inputs[0]).constant;
    out.producer = -1;
    return true;
  }
  auto results = fold(NodeContext(graph, node), types);
  if (results.size() != types.size()) fail(fmt::format("internal error: {} outputs folded", results.size()));
  for (std::size_t k = 0; k < types.size(); ++k) {  // the evaluator must honour the rule (fuzzed input)
    const Constant& r = results[k];
    if (r.shape != types[k].shape || r.dtype != types[k].dtype || r.size() != numel(r.shape))
      fail(fmt::format("internal error: output {} folded to {} [{}], inferred {} [{}]", k, dtype_name(r.dtype),
                       shape_string(r.shape), dtype_name(types[k].dtype), shape_string(types[k].shape)));
  }
  for (std::size_t k = 0; k < node.outputs.size(); ++k) {
    Value& out = graph.value(node.outputs[k]);
    graph.constants.push_back(std::move(results[k]));
    out.constant = static_cast<int>(graph.constants.size()) - 1;
    out.producer = -1;
  }
  return true;
}

// Validates the given shapes (inputs, constants: folding reads constants by them) and forgets those of node
// outputs (a second run infers them again), so that a node reading a value produced later is caught.
void prepare_values(Graph& graph) {
  for (Value& v : graph.values) {
    if (v.producer >= 0) v.shape_known = false;
    if (!v.shape_known) continue;
    try {
      check_shape(v.shape);
      if (v.constant >= static_cast<int>(graph.constants.size()))
        fail(fmt::format("refers to constant {} of {}", v.constant, graph.constants.size()));
      if (v.constant >= 0) {
        const Constant& c = graph.constants[static_cast<std::size_t>(v.constant)];
        if (c.shape != v.shape || c.size() != numel(v.shape) || c.dtype != v.dtype)
          fail(fmt::format("constant holds {} {} elements of shape [{}] for a {} value of shape [{}]", c.size(),
                           dtype_name(c.dtype), shape_string(c.shape), dtype_name(v.dtype), shape_string(v.shape)));
      }
    } catch (const core::ModelError& e) {
      throw core::ModelError(fmt::format("tensor '{}': {}", v.name, e.what()));
    }
  }
}

// Drops the folded nodes (their outputs are constants now) and renumbers the producers.
void remove_nodes(Graph& graph, const std::vector<char>& removed) {
  std::vector<int> node_map(graph.nodes.size(), -1);
  std::vector<Node> kept;
  for (std::size_t n = 0; n < graph.nodes.size(); ++n) {
    if (removed[n]) continue;
    node_map[n] = static_cast<int>(kept.size());
    kept.push_back(std::move(graph.nodes[n]));
  }
  graph.nodes = std::move(kept);
  for (Value& v : graph.values)
    if (v.producer >= 0) v.producer = node_map[static_cast<std::size_t>(v.producer)];
}

}  // namespace
}  // namespace cimlab::graph::detail

namespace cimlab::graph {

void infer_shapes(Graph& graph) {
  using namespace detail;
  prepare_values(graph);
  std::vector<char> folded(graph.nodes.size(), 0);
  for (std::size_t k = 0; k < graph.nodes.size(); ++k) {
    const Node& node = graph.nodes[k];
    try {
      const Types types = infer_node(graph, node);
      for (std::size_t o = 0; o < types.size(); ++o) {
        Value& out = graph.value(node.outputs[o]);
        out.shape = types[o].shape;
        out.dtype = types[o].dtype;
        out.shape_known = true;
      }
      folded[k] = fold_node(graph, node, types);
    } catch (const core::ModelError& e) {
      throw core::ModelError(fmt::format("node '{}' ({}, position {}): {}", node.name, node.op, k, e.what()));
    }
  }
  remove_nodes(graph, folded);
  if (!graph.outputs.empty()) graph.prune();  // without outputs everything would be dead
}

}  // namespace cimlab::graph
