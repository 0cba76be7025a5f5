// Helpers shared by the shape rules (shape_inference.cpp) and constant folding (fold.cpp): checked shape
// arithmetic, typed access to a node's inputs, and the parameters of the ops both need (Slice, Transpose,
// Reduce*, Split, Shape), validated once here.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/errors.hpp"
#include "graph/fold.hpp"

namespace cimlab::graph::detail {

namespace {
[[noreturn]] void fail(const std::string& what) { throw core::ModelError(what); }
}  // namespace

std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) fail(fmt::format("integer overflow in shape arithmetic ({} + {})", a, b));
  return r;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) fail(fmt::format("integer overflow in shape arithmetic ({} * {})", a, b));
  return r;
}

void check_shape(const Shape& shape) {
  if (shape.size() > kMaxRank) fail(fmt::format("rank {} exceeds {}", shape.size(), kMaxRank));
  for (std::int64_t d : shape)
    if (d > kMaxDim) fail(fmt::format("dimension {} of shape [{}] exceeds 2^40", d, shape_string(shape)));
  numel(shape);  // negative dimensions, more than 2^40 elements
}

std::size_t normalize_axis(std::int64_t axis, std::size_t rank) {
  const auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) fail(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

Shape broadcast(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (std::size_t i = 0; i < out.size(); ++i) {  // right-aligned
    const std::int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const std::int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1)
      fail(fmt::format("shapes [{}] and [{}] cannot be broadcast together", shape_string(a), shape_string(b)));
    out[out.size() - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<std::int64_t> contiguous_strides(const Shape& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (std::size_t d = shape.size(); d > 1; --d) strides[d - 2] = strides[d - 1] * shape[d - 1];
  return strides;
}

const Value& NodeContext::input(std::size_t k) const {
  const int id = graph_.input(node_, k);
  if (id < 0) fail(fmt::format("input {} is missing", k));
  return graph_.value(id);
}

const Constant* NodeContext::constant(std::size_t k) const {
  const int id = graph_.input(node_, k);
  return graph_.is_constant(id) ? &graph_.constant_of(id) : nullptr;
}

namespace {
// Constant input k of at most one dimension (a parameter such as a shape or axes), named `what` in errors.
const Constant& parameter(const NodeContext& c, std::size_t k, const char* what) {
  const Value& v = c.input(k);
  const Constant* constant = c.constant(k);
  if (constant == nullptr)
    fail(fmt::format("{} (input {} '{}') is not a constant: it depends on the runtime input", what, k, v.name));
  if (constant->shape.size() > 1) fail(fmt::format("{} (input {} '{}') is not 1-D", what, k, v.name));
  return *constant;
}
}  // namespace

std::vector<std::int64_t> NodeContext::ints(std::size_t k, const char* what) const {
  const Constant& c = parameter(*this, k, what);
  if (c.dtype != DType::kInt64)
    fail(fmt::format("{} (input {} '{}') is {}, expected int64", what, k, input(k).name, dtype_name(c.dtype)));
  return c.i;
}

std::vector<double> NodeContext::floats(std::size_t k, const char* what) const {
  const Constant& c = parameter(*this, k, what);
  if (c.dtype == DType::kFloat) return {c.f.begin(), c.f.end()};
  return {c.i.begin(), c.i.end()};
}

std::optional<std::vector<std::int64_t>> axes_of(const NodeContext& c, std::size_t k) {
  if (c.has(k)) return c.ints(k, "axes");
  if (c.attrs().has("axes")) return c.attrs().ints("axes", {});
  return std::nullopt;
}

namespace {

SliceDim slice_dim(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  if (step == 0) fail("slice step is 0");
  // A step longer than the dimension takes one element at most: clamping it keeps the arithmetic in range.
  step = std::clamp(step, -kMaxDim - 1, kMaxDim + 1);
  if (start < 0) start += dim;  // no overflow: dim >= 0
  if (end < 0) end += dim;
  SliceDim s;
  if (step > 0) {
    s.start = std::min(std::max(start, std::int64_t{0}), dim);
    end = std::min(std::max(end, std::int64_t{0}), dim);
    s.count = end > s.start ? (end - s.start - 1) / step + 1 : 0;
  } else {
    s.start = std::min(std::max(start, std::int64_t{0}), dim - 1);
    end = std::min(std::max(end, std::int64_t{-1}), dim - 1);
    s.count = s.start > end ? (s.start - end - 1) / -step + 1 : 0;
  }
  s.step = s.count > 1 ? step : 1;
  return s;
}

}  // namespace

std::vector<SliceDim> slice_dims(const NodeContext& c) {
  const Shape& x = c.shape(0);
  std::vector<std::int64_t> starts, ends, steps;
  std::optional<std::vector<std::int64_t>> axes;
  if (c.input_count() >= 3) {  // opset 10+: inputs
    starts = c.ints(1, "starts");
    ends = c.ints(2, "ends");
    if (c.has(3)) axes = c.ints(3, "axes");
    if (c.has(4)) steps = c.ints(4, "steps");
  } else {  // opset 1-9: attributes
    if (!c.attrs().has("starts") || !c.attrs().has("ends")) fail("attributes 'starts' and 'ends' are required");
    starts = c.attrs().ints("starts", {});
    ends = c.attrs().ints("ends", {});
    axes = axes_of(c, 3);
  }
  const std::size_t n = starts.size();
  if (!c.has(4)) steps.assign(n, 1);
  if (!axes) {
    axes.emplace(n);
    for (std::size_t i = 0; i < n; ++i) (*axes)[i] = static_cast<std::int64_t>(i);
  }
  if (ends.size() != n || axes->size() != n || steps.size() != n)
    fail(fmt::format("starts, ends, axes and steps have {}, {}, {} and {} values", n, ends.size(), axes->size(),
                     steps.size()));
  std::vector<SliceDim> dims(x.size());
  for (std::size_t d = 0; d < x.size(); ++d) dims[d] = {0, 1, x[d]};
  std::vector<char> seen(x.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t d = normalize_axis((*axes)[i], x.size());
    if (seen[d]) fail(fmt::format("axis {} is sliced twice", (*axes)[i]));
    seen[d] = 1;
    dims[d] = slice_dim(x[d], starts[i], ends[i], steps[i]);
  }
  return dims;
}

std::vector<std::size_t> transpose_perm(const NodeContext& c) {
  const std::size_t r = c.rank(0);
  std::vector<std::int64_t> perm(r);
  for (std::size_t d = 0; d < r; ++d) perm[d] = static_cast<std::int64_t>(r - 1 - d);
  perm = c.attrs().ints("perm", perm);
  std::vector<std::size_t> out;
  std::vector<char> seen(r, 0);
  for (std::int64_t p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(r) || seen[static_cast<std::size_t>(p)]) break;
    seen[static_cast<std::size_t>(p)] = 1;
    out.push_back(static_cast<std::size_t>(p));
  }
  if (out.size() != r || perm.size() != r)
    fail(fmt::format("perm [{}] is not a permutation of the {} input dimensions", fmt::join(perm, ", "), r));
  return out;
}

std::vector<char> reduced_dims(const NodeContext& c) {
  const std::size_t r = c.rank(0);
  const auto axes = axes_of(c, 1).value_or(std::vector<std::int64_t>{});
  // No axes: all dimensions, unless noop_with_empty_axes (opset 18) asks for none.
  const bool all = axes.empty() && c.attrs().i("noop_with_empty_axes", 0) == 0;
  std::vector<char> reduced(r, all ? 1 : 0);
  for (std::int64_t a : axes) reduced[normalize_axis(a, r)] = 1;
  return reduced;
}

std::pair<std::size_t, std::vector<std::int64_t>> split_sizes(const NodeContext& c) {
  const std::size_t axis = normalize_axis(c.attrs().i("axis", 0), c.rank(0));
  const std::int64_t dim = c.shape(0)[axis];
  const auto n = static_cast<std::int64_t>(c.output_count());
  if (n == 0) fail("Split has no outputs");
  std::optional<std::vector<std::int64_t>> sizes;
  if (c.has(1)) sizes = c.ints(1, "split");  // opset 13+
  else if (c.attrs().has("split")) sizes = c.attrs().ints("split", {});
  if (sizes) {
    std::int64_t total = 0;
    for (std::int64_t s : *sizes) {
      if (s < 0) fail(fmt::format("negative split size {}", s));
      total = checked_add(total, s);
    }
    if (static_cast<std::int64_t>(sizes->size()) != n || total != dim)
      fail(fmt::format("split [{}] does not divide dimension {} (size {}) into {} outputs", fmt::join(*sizes, ", "),
                       axis, dim, n));
    return {axis, *sizes};
  }
  // Equal parts; opset 18's num_outputs allows a smaller last part.
  const bool uneven_ok = c.attrs().has("num_outputs");
  if (uneven_ok && c.attrs().i("num_outputs", 0) != n)
    fail(fmt::format("num_outputs is {} but the node has {} outputs", c.attrs().i("num_outputs", 0), n));
  const std::int64_t chunk = dim / n + (dim % n != 0 ? 1 : 0);
  const std::int64_t last = dim - chunk * (n - 1);
  if ((dim % n != 0 && !uneven_ok) || last < 0)
    fail(fmt::format("dimension {} (size {}) cannot be split into {} parts", axis, dim, n));
  std::vector<std::int64_t> out(static_cast<std::size_t>(n), chunk);
  out.back() = last;
  return {axis, out};
}

std::pair<std::size_t, std::size_t> shape_op_range(const NodeContext& c) {
  const auto r = static_cast<std::int64_t>(c.rank(0));
  auto clamp = [r](std::int64_t v) { return std::clamp(v < 0 ? v + r : v, std::int64_t{0}, r); };
  const std::int64_t first = clamp(c.attrs().i("start", 0));
  const std::int64_t last = std::max(first, clamp(c.attrs().i("end", r)));
  return {static_cast<std::size_t>(first), static_cast<std::size_t>(last)};
}

}  // namespace cimlab::graph::detail
