// Constant folding: evaluates the shape arithmetic of exported models (Shape -> Gather -> Unsqueeze ->
// Concat -> Reshape, attention masks, Range / ConstantOfShape / Expand) on the CPU. Data movement goes
// through one strided-gather kernel (restride: Transpose, Slice, Split, Expand, Tile, broadcasting), with
// block copies for Concat and Gather and element-wise loops for arithmetic. Sizes were bounded by the
// caller (kMaxFoldedElements); every index coming from data is validated.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <type_traits>

#include "core/errors.hpp"
#include "graph/fold.hpp"

namespace cimlab::graph::detail {

namespace {

[[noreturn]] void fail(const std::string& what) { throw core::ModelError(what); }

using Types = std::vector<TensorType>;

Constant make(DType dtype, Shape shape) {
  Constant c;
  c.dtype = dtype;
  c.shape = std::move(shape);
  return c;
}

// Calls fn(offset) for every index of `shape` in row-major order, offset = base + sum_d index[d] * strides[d].
template <typename F>
void for_each_offset(const Shape& shape, std::int64_t base, const std::vector<std::int64_t>& strides, F&& fn) {
  for (std::int64_t d : shape)
    if (d == 0) return;
  std::vector<std::int64_t> index(shape.size(), 0);
  std::int64_t offset = base;
  for (;;) {
    fn(offset);
    std::size_t d = shape.size();
    for (; d > 0; --d) {  // odometer: bump the last dimension, carry into the ones before
      offset += strides[d - 1];
      if (++index[d - 1] < shape[d - 1]) break;
      offset -= strides[d - 1] * shape[d - 1];
      index[d - 1] = 0;
    }
    if (d == 0) return;
  }
}

// The elements of `src` at the offsets for_each_offset(shape, base, strides) visits.
Constant restride(const Constant& src, const Shape& shape, std::int64_t base, const std::vector<std::int64_t>& strides) {
  Constant out = make(src.dtype, shape);
  auto copy = [&](const auto& from, auto& to) {
    to.reserve(static_cast<std::size_t>(numel(shape)));
    for_each_offset(shape, base, strides, [&](std::int64_t o) { to.push_back(from[static_cast<std::size_t>(o)]); });
  };
  if (src.dtype == DType::kFloat) copy(src.f, out.f);
  else copy(src.i, out.i);
  return out;
}

Constant reshaped(const Constant& src, const Shape& shape) {
  Constant out = src;
  out.shape = shape;
  return out;
}

Constant broadcast_to(const Constant& c, const Shape& shape) {  // precondition: broadcast(c.shape, shape) == shape
  const auto in_strides = contiguous_strides(c.shape);
  std::vector<std::int64_t> strides(shape.size(), 0);
  const std::size_t lead = shape.size() - c.shape.size();
  for (std::size_t d = 0; d < c.shape.size(); ++d) strides[lead + d] = c.shape[d] == 1 ? 0 : in_strides[d];
  return restride(c, shape, 0, strides);
}

// float -> int64 as ONNX Cast (truncation), saturating instead of undefined behaviour; NaN -> 0.
std::int64_t to_int(double v) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (std::isnan(v)) return 0;
  if (v >= kTwo63) return std::numeric_limits<std::int64_t>::max();
  if (v <= -kTwo63) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(v);
}

// double -> float without the undefined behaviour of out-of-range conversions: +-inf beyond the range.
float to_float(double v) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (v > kMax) return std::numeric_limits<float>::infinity();
  if (v < -kMax) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(v);
}

Constant cast(const Constant& c, DType to) {
  Constant out = make(to, c.shape);
  if (to == DType::kFloat) {
    if (c.dtype == DType::kFloat) out.f = c.f;
    else for (std::int64_t v : c.i) out.f.push_back(static_cast<float>(v));
  } else if (c.dtype == DType::kFloat) {
    for (float v : c.f) out.i.push_back(to == DType::kBool ? v != 0 : to_int(v));
  } else {
    out.i = c.i;
    if (to == DType::kBool)
      for (std::int64_t& v : out.i) v = v != 0;
  }
  return out;
}

Constant converted_to(const Constant& c, DType dtype, const Shape& shape) {
  return c.dtype == dtype ? broadcast_to(c, shape) : broadcast_to(cast(c, dtype), shape);
}

// ---- Element-wise ------------------------------------------------------------------------------

enum class Binary { kAdd, kSub, kMul, kDiv, kMod, kFmod, kPow, kMax, kMin, kEq, kLt, kGt, kLe, kGe, kAnd, kOr, kXor };

// Max, Min, comparisons and logic: the same for every element type (1 = true).
template <typename T>
T compare_or_logic(Binary op, T a, T b) {
  switch (op) {
    case Binary::kMax: return std::max(a, b);
    case Binary::kMin: return std::min(a, b);
    case Binary::kEq: return a == b;
    case Binary::kLt: return a < b;
    case Binary::kGt: return a > b;
    case Binary::kLe: return a <= b;
    case Binary::kGe: return a >= b;
    case Binary::kAnd: return a != 0 && b != 0;
    case Binary::kOr: return a != 0 || b != 0;
    case Binary::kXor: return (a != 0) != (b != 0);
    default: return 0;  // arithmetic: handled by apply()
  }
}

template <typename T>  // float, or double when reducing
T apply(Binary op, T a, T b) {
  switch (op) {
    case Binary::kAdd: return a + b;
    case Binary::kSub: return a - b;
    case Binary::kMul: return a * b;
    case Binary::kDiv: return a / b;
    case Binary::kMod: case Binary::kFmod: return std::fmod(a, b);
    case Binary::kPow: return std::pow(a, b);
    default: return compare_or_logic(op, a, b);
  }
}

// Integer arithmetic wraps (two's complement) rather than overflowing; division by zero is an error.
std::int64_t apply(Binary op, std::int64_t a, std::int64_t b) {
  using U = std::uint64_t;
  switch (op) {
    case Binary::kAdd: return static_cast<std::int64_t>(U(a) + U(b));
    case Binary::kSub: return static_cast<std::int64_t>(U(a) - U(b));
    case Binary::kMul: return static_cast<std::int64_t>(U(a) * U(b));
    case Binary::kDiv:
      if (b == 0) fail("integer division by zero");
      return b == -1 ? static_cast<std::int64_t>(U(0) - U(a)) : a / b;
    case Binary::kMod: case Binary::kFmod: {
      if (b == 0) fail("integer modulo by zero");
      if (b == -1) return 0;
      const std::int64_t r = a % b;  // C: sign of a (fmod=1); Mod's default takes the divisor's sign
      return op == Binary::kMod && r != 0 && (r < 0) != (b < 0) ? r + b : r;
    }
    case Binary::kPow: return to_int(std::pow(static_cast<double>(a), static_cast<double>(b)));
    default: return compare_or_logic(op, a, b);
  }
}

// a op b broadcast to `out`, computed in a's type (Pow may raise floats to int64 powers).
Constant elementwise(Binary op, const Constant& a, const Constant& b, const TensorType& out) {
  const Constant x = broadcast_to(a, out.shape), y = converted_to(b, a.dtype, out.shape);
  Constant r = make(a.dtype, out.shape);
  if (a.dtype == DType::kFloat)
    for (std::size_t k = 0; k < x.f.size(); ++k) r.f.push_back(apply(op, x.f[k], y.f[k]));
  else
    for (std::size_t k = 0; k < x.i.size(); ++k) r.i.push_back(apply(op, x.i[k], y.i[k]));
  return r.dtype == out.dtype ? r : cast(r, out.dtype);  // comparisons: 0/1 -> bool
}

enum class Unary { kNeg, kAbs, kSqrt, kExp, kLog, kFloor, kCeil, kRound, kRelu, kSigmoid, kTanh, kErf, kRecip, kSign, kNot };

template <typename T>
T apply(Unary op, T x) {
  switch (op) {
    case Unary::kNeg: return -x;
    case Unary::kAbs: return std::abs(x);
    case Unary::kSqrt: return std::sqrt(x);
    case Unary::kExp: return std::exp(x);
    case Unary::kLog: return std::log(x);
    case Unary::kFloor: return std::floor(x);
    case Unary::kCeil: return std::ceil(x);
    case Unary::kRound: return std::nearbyint(x);  // half to even, as ONNX Round
    case Unary::kRelu: return std::max(x, T{0});
    case Unary::kSigmoid: return 1 / (1 + std::exp(-x));
    case Unary::kTanh: return std::tanh(x);
    case Unary::kErf: return std::erf(x);
    case Unary::kRecip: return 1 / x;
    case Unary::kSign: return static_cast<T>((x > 0) - (x < 0));
    case Unary::kNot: return x == 0;
  }
  return 0;
}

std::int64_t apply_int(Unary op, std::int64_t x) {
  using U = std::uint64_t;
  switch (op) {
    case Unary::kNeg: return static_cast<std::int64_t>(U(0) - U(x));
    case Unary::kAbs: return x < 0 ? static_cast<std::int64_t>(U(0) - U(x)) : x;
    case Unary::kFloor: case Unary::kCeil: case Unary::kRound: return x;
    case Unary::kRelu: return std::max(x, std::int64_t{0});
    case Unary::kSign: return (x > 0) - (x < 0);
    case Unary::kNot: return x == 0;
    default: return to_int(apply(op, static_cast<double>(x)));
  }
}

Constant unary(Unary op, const Constant& c) {
  Constant r = make(c.dtype, c.shape);
  for (float v : c.f) r.f.push_back(apply(op, v));
  for (std::int64_t v : c.i) r.i.push_back(apply_int(op, v));
  return r;
}

// ---- Reductions, joins, gathers ----------------------------------------------------------------

enum class Reduce { kSum, kMean, kProd, kMax, kMin };

// Reduces the dimensions flagged in `reduced`; each input element is added into the output element whose
// index is its index with the reduced dimensions dropped (stride 0).
Constant reduce(Reduce op, const Constant& c, const std::vector<char>& reduced, const Shape& out_shape) {
  Shape kept;
  for (std::size_t d = 0; d < reduced.size(); ++d)
    if (!reduced[d]) kept.push_back(c.shape[d]);
  const auto kept_strides = contiguous_strides(kept);
  std::vector<std::int64_t> strides(reduced.size(), 0);
  for (std::size_t d = 0, k = 0; d < reduced.size(); ++d)
    if (!reduced[d]) strides[d] = kept_strides[k++];
  const std::int64_t outputs = numel(kept), count = outputs == 0 ? 0 : numel(c.shape) / outputs;
  const Binary step = op == Reduce::kProd  ? Binary::kMul
                      : op == Reduce::kMax ? Binary::kMax
                      : op == Reduce::kMin ? Binary::kMin
                                           : Binary::kAdd;
  Constant r = make(c.dtype, out_shape);
  auto run = [&](const auto& data, auto& dst, auto init) {  // accumulates in double for floats
    using Acc = decltype(init);
    const Acc start = op == Reduce::kProd ? Acc{1}
                      : op == Reduce::kMax ? std::numeric_limits<Acc>::lowest()
                      : op == Reduce::kMin ? std::numeric_limits<Acc>::max()
                                           : Acc{0};
    std::vector<Acc> acc(static_cast<std::size_t>(outputs), start);
    std::size_t e = 0;
    for_each_offset(c.shape, 0, strides, [&](std::int64_t o) {
      auto& slot = acc[static_cast<std::size_t>(o)];
      slot = apply(step, slot, static_cast<Acc>(data[e++]));
    });
    for (Acc v : acc) {
      if (op == Reduce::kMean && count > 0) v /= static_cast<Acc>(count);
      if constexpr (std::is_same_v<Acc, double>) dst.push_back(to_float(v));
      else dst.push_back(v);
    }
  };
  if (c.dtype == DType::kFloat) run(c.f, r.f, 0.0);
  else run(c.i, r.i, std::int64_t{0});
  return r;
}

// Element counts before and after `axis`: a tensor is outer x shape[axis] x inner.
std::pair<std::int64_t, std::int64_t> outer_inner(const Shape& shape, std::size_t axis) {
  return {numel(Shape(shape.begin(), shape.begin() + static_cast<std::ptrdiff_t>(axis))),
          numel(Shape(shape.begin() + static_cast<std::ptrdiff_t>(axis) + 1, shape.end()))};
}

Constant concat(const std::vector<const Constant*>& parts, std::size_t axis, const TensorType& out) {
  Constant r = make(out.dtype, out.shape);
  const auto [outer_count, inner_count] = outer_inner(out.shape, axis);
  const std::int64_t outer = outer_count, inner = inner_count;  // clang 14 cannot capture structured bindings
  auto run = [&](auto member) {  // &Constant::f or &Constant::i
    auto& dst = r.*member;
    for (std::int64_t o = 0; o < outer; ++o)
      for (const Constant* p : parts) {
        const std::int64_t block = p->shape[axis] * inner;
        const auto& src = p->*member;
        dst.insert(dst.end(), src.begin() + o * block, src.begin() + (o + 1) * block);
      }
  };
  if (out.dtype == DType::kFloat) run(&Constant::f);
  else run(&Constant::i);
  return r;
}

Constant gather(const Constant& data, const Constant& indices, std::size_t axis, const TensorType& out) {
  const std::int64_t dim = data.shape[axis];
  const auto [outer_count, inner_count] = outer_inner(data.shape, axis);
  const std::int64_t outer = outer_count, inner = inner_count;  // clang 14 cannot capture structured bindings
  std::vector<std::int64_t> index;
  for (std::int64_t v : indices.i) {
    if (v < -dim || v >= dim) fail(fmt::format("index {} is out of range for a dimension of size {}", v, dim));
    index.push_back(v < 0 ? v + dim : v);
  }
  Constant r = make(out.dtype, out.shape);
  auto run = [&](auto member) {
    const auto& src = data.*member;
    auto& dst = r.*member;
    for (std::int64_t o = 0; o < outer; ++o)
      for (std::int64_t j : index) {
        const auto first = src.begin() + (o * dim + j) * inner;
        dst.insert(dst.end(), first, first + inner);
      }
  };
  if (data.dtype == DType::kFloat) run(&Constant::f);
  else run(&Constant::i);
  return r;
}

// ScatterND without reduction: a copy of data, the slice at each index tuple (last axis of indices) replaced
// by the next block of updates; duplicate indices: the last one wins.
Constant scatter_nd(const Constant& data, const Constant& indices, const Constant& updates) {
  const auto k = static_cast<std::size_t>(indices.shape.back());
  const auto strides = contiguous_strides(data.shape);
  const std::int64_t block = k == data.shape.size() ? 1 : strides[k - 1];  // elements of one addressed slice
  Constant r = data;
  for (std::size_t t = 0; t * k < indices.i.size(); ++t) {
    std::int64_t offset = 0;
    for (std::size_t d = 0; d < k; ++d) {
      const std::int64_t v = indices.i[t * k + d], dim = data.shape[d];
      if (v < -dim || v >= dim) fail(fmt::format("index {} is out of range for a dimension of size {}", v, dim));
      offset += (v < 0 ? v + dim : v) * strides[d];
    }
    const auto from = static_cast<std::ptrdiff_t>(t) * block;
    if (r.dtype == DType::kFloat)
      std::copy(updates.f.begin() + from, updates.f.begin() + from + block, r.f.begin() + offset);
    else
      std::copy(updates.i.begin() + from, updates.i.begin() + from + block, r.i.begin() + offset);
  }
  return r;
}

// ---- Per-op folds ------------------------------------------------------------------------------

using Results = std::vector<Constant>;

const Constant& in(const NodeContext& c, std::size_t k) { return *c.constant(k); }

Results fold_binary(const NodeContext& c, const Types& out) {
  static const std::map<std::string, Binary> ops = {
      {"Add", Binary::kAdd}, {"Sum", Binary::kAdd}, {"Sub", Binary::kSub}, {"Mul", Binary::kMul},
      {"Div", Binary::kDiv}, {"Pow", Binary::kPow}, {"Max", Binary::kMax}, {"Min", Binary::kMin},
      {"Equal", Binary::kEq}, {"Less", Binary::kLt}, {"Greater", Binary::kGt}, {"LessOrEqual", Binary::kLe},
      {"GreaterOrEqual", Binary::kGe}, {"And", Binary::kAnd}, {"Or", Binary::kOr}, {"Xor", Binary::kXor},
      {"Mod", Binary::kMod}};
  Binary op = ops.at(c.node().op);
  if (op == Binary::kMod && c.attrs().i("fmod", 0) != 0) op = Binary::kFmod;
  if (c.input_count() == 1) return {in(c, 0)};  // variadic Max / Min / Sum of one input
  Constant acc = elementwise(op, in(c, 0), in(c, 1), {broadcast(c.shape(0), c.shape(1)), out[0].dtype});
  for (std::size_t k = 2; k < c.input_count(); ++k)  // variadic: left to right
    acc = elementwise(op, acc, in(c, k), {broadcast(acc.shape, c.shape(k)), out[0].dtype});
  return {acc};
}

Results fold_unary(const NodeContext& c, const Types& out) {
  static const std::map<std::string, Unary> ops = {
      {"Neg", Unary::kNeg}, {"Abs", Unary::kAbs}, {"Sqrt", Unary::kSqrt}, {"Exp", Unary::kExp},
      {"Log", Unary::kLog}, {"Floor", Unary::kFloor}, {"Ceil", Unary::kCeil}, {"Round", Unary::kRound},
      {"Relu", Unary::kRelu}, {"Sigmoid", Unary::kSigmoid}, {"Tanh", Unary::kTanh}, {"Erf", Unary::kErf},
      {"Reciprocal", Unary::kRecip}, {"Sign", Unary::kSign}, {"Not", Unary::kNot}};
  return {unary(ops.at(c.node().op), in(c, 0))};
}

Results fold_reduce(const NodeContext& c, const Types& out) {
  static const std::map<std::string, Reduce> ops = {{"ReduceSum", Reduce::kSum}, {"ReduceMean", Reduce::kMean},
                                                    {"ReduceProd", Reduce::kProd}, {"ReduceMax", Reduce::kMax},
                                                    {"ReduceMin", Reduce::kMin}};
  return {reduce(ops.at(c.node().op), in(c, 0), reduced_dims(c), out[0].shape)};
}

Results fold_where(const NodeContext& c, const Types& out) {
  const Constant cond = broadcast_to(in(c, 0), out[0].shape), x = broadcast_to(in(c, 1), out[0].shape),
                 y = broadcast_to(in(c, 2), out[0].shape);
  Constant r = make(out[0].dtype, out[0].shape);
  for (std::size_t k = 0; k < cond.i.size(); ++k) {
    if (r.dtype == DType::kFloat) r.f.push_back(cond.i[k] ? x.f[k] : y.f[k]);
    else r.i.push_back(cond.i[k] ? x.i[k] : y.i[k]);
  }
  return {r};
}

// Reshape, Flatten, Squeeze, Unsqueeze: same elements, the inferred shape.
Results fold_reshape(const NodeContext& c, const Types& out) { return {reshaped(in(c, 0), out[0].shape)}; }

Results fold_cast(const NodeContext& c, const Types& out) { return {cast(in(c, 0), out[0].dtype)}; }

Results fold_shape(const NodeContext& c, const Types& out) {
  const auto [first, last] = shape_op_range(c);
  Constant r = make(DType::kInt64, out[0].shape);
  r.i.assign(c.shape(0).begin() + static_cast<std::ptrdiff_t>(first), c.shape(0).begin() + static_cast<std::ptrdiff_t>(last));
  return {r};
}

Results fold_size(const NodeContext& c, const Types& out) {
  Constant r = make(DType::kInt64, {});
  r.i = {numel(c.shape(0))};
  return {r};
}

Results fold_transpose(const NodeContext& c, const Types& out) {
  const auto perm = transpose_perm(c);
  const auto in_strides = contiguous_strides(c.shape(0));
  std::vector<std::int64_t> strides;
  for (std::size_t p : perm) strides.push_back(in_strides[p]);
  return {restride(in(c, 0), out[0].shape, 0, strides)};
}

Results fold_slice(const NodeContext& c, const Types& out) {
  const auto dims = slice_dims(c);
  auto strides = contiguous_strides(c.shape(0));
  std::int64_t base = 0;
  for (std::size_t d = 0; d < dims.size(); ++d) {
    base += dims[d].start * strides[d];  // start <= dim: within the tensor (or nothing is read)
    strides[d] *= dims[d].step;
  }
  return {restride(in(c, 0), out[0].shape, base, strides)};
}

Results fold_split(const NodeContext& c, const Types& out) {
  const auto [axis, sizes] = split_sizes(c);
  const auto strides = contiguous_strides(c.shape(0));
  Results r;
  std::int64_t offset = 0;
  for (std::size_t k = 0; k < out.size(); ++k) {
    r.push_back(restride(in(c, 0), out[k].shape, offset * strides[axis], strides));
    offset += sizes[k];
  }
  return r;
}

Results fold_concat(const NodeContext& c, const Types& out) {
  std::vector<const Constant*> parts;
  for (std::size_t k = 0; k < c.input_count(); ++k) parts.push_back(c.constant(k));
  return {concat(parts, normalize_axis(c.attrs().i("axis", 0), c.rank(0)), out[0])};
}

Results fold_gather(const NodeContext& c, const Types& out) {
  return {gather(in(c, 0), in(c, 1), normalize_axis(c.attrs().i("axis", 0), c.rank(0)), out[0])};
}

Results fold_scatter_nd(const NodeContext& c, const Types& out) {
  return {scatter_nd(in(c, 0), in(c, 1), in(c, 2))};
}

Results fold_expand(const NodeContext& c, const Types& out) { return {broadcast_to(in(c, 0), out[0].shape)}; }

// Tile(x, r) over dims d is x viewed as [1, d0, 1, d1, ...], broadcast to [r0, d0, r1, d1, ...], flattened.
Results fold_tile(const NodeContext& c, const Types& out) {
  const auto repeats = c.ints(1, "repeats");
  const auto in_strides = contiguous_strides(c.shape(0));
  Shape interleaved;
  std::vector<std::int64_t> strides;
  for (std::size_t d = 0; d < in_strides.size(); ++d) {
    interleaved.insert(interleaved.end(), {repeats[d], c.shape(0)[d]});
    strides.insert(strides.end(), {0, in_strides[d]});
  }
  return {reshaped(restride(in(c, 0), interleaved, 0, strides), out[0].shape)};
}

Results fold_constant_of_shape(const NodeContext& c, const Types& out) {
  const Constant value = fill_value(c.attrs());
  Constant r = make(value.dtype, out[0].shape);
  const auto n = static_cast<std::size_t>(numel(r.shape));
  if (value.dtype == DType::kFloat) r.f.assign(n, value.f[0]);
  else r.i.assign(n, value.i[0]);
  return {r};
}

Results fold_range(const NodeContext& c, const Types& out) {
  Constant r = make(out[0].dtype, out[0].shape);
  for (std::int64_t k = 0; k < out[0].shape[0]; ++k) {
    if (r.dtype == DType::kFloat) r.f.push_back(in(c, 0).f[0] + static_cast<float>(k) * in(c, 2).f[0]);
    else r.i.push_back(static_cast<std::int64_t>(std::uint64_t(in(c, 0).i[0]) + std::uint64_t(k) * std::uint64_t(in(c, 2).i[0])));
  }
  return {r};
}

Results fold_constant(const NodeContext& c, const Types& out) { return {constant_attribute(c.attrs())}; }

const std::map<std::string, Results (*)(const NodeContext&, const Types&)>& folds() {
  static const auto table = [] {
    std::map<std::string, Results (*)(const NodeContext&, const Types&)> t;
    for (const char* op : {"Add", "Sum", "Sub", "Mul", "Div", "Mod", "Pow", "Max", "Min", "Equal", "Less", "Greater",
                           "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"})
      t[op] = fold_binary;
    for (const char* op : {"Neg", "Abs", "Sqrt", "Exp", "Log", "Floor", "Ceil", "Round", "Relu", "Sigmoid", "Tanh",
                           "Erf", "Reciprocal", "Sign", "Not"})
      t[op] = fold_unary;
    for (const char* op : {"ReduceSum", "ReduceMean", "ReduceProd", "ReduceMax", "ReduceMin"}) t[op] = fold_reduce;
    // Identity is folded by infer_shapes() sharing its input's constant; fold_reshape would copy it.
    for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}) t[op] = fold_reshape;
    t["Where"] = fold_where;
    t["Cast"] = fold_cast;
    t["Shape"] = fold_shape;
    t["Size"] = fold_size;
    t["Transpose"] = fold_transpose;
    t["Slice"] = fold_slice;
    t["Split"] = fold_split;
    t["Concat"] = fold_concat;
    t["Gather"] = fold_gather;
    t["ScatterND"] = fold_scatter_nd;
    t["Expand"] = fold_expand;
    t["Tile"] = fold_tile;
    t["ConstantOfShape"] = fold_constant_of_shape;
    t["Range"] = fold_range;
    t["Constant"] = fold_constant;
    return t;
  }();
  return table;
}

// A tensor-valued attribute as the importer stores it: a scalar int64 / double or a 1-D list.
Constant tensor_attribute(const AttrValue& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    Constant c = make(DType::kInt64, {});
    c.i = {*i};
    return c;
  }
  if (const auto* f = std::get_if<double>(&v)) {
    Constant c = make(DType::kFloat, {});
    c.f = {to_float(*f)};
    return c;
  }
  if (const auto* is = std::get_if<std::vector<std::int64_t>>(&v)) {
    Constant c = make(DType::kInt64, {static_cast<std::int64_t>(is->size())});
    c.i = *is;
    return c;
  }
  if (const auto* fs = std::get_if<std::vector<double>>(&v)) {
    Constant c = make(DType::kFloat, {static_cast<std::int64_t>(fs->size())});
    for (double x : *fs) c.f.push_back(to_float(x));
    return c;
  }
  fail("a tensor attribute holds a string");
}

}  // namespace

Constant constant_attribute(const Attributes& attrs) {
  for (const char* name : {"value", "value_float", "value_floats", "value_int", "value_ints"}) {
    const auto it = attrs.all().find(name);
    if (it == attrs.all().end()) continue;
    const Constant c = tensor_attribute(it->second);
    // value_float(s) / value_int(s) fix the type whatever number type the attribute was stored as.
    const std::string n = name;
    if (n.rfind("value_float", 0) == 0) return cast(c, DType::kFloat);
    if (n.rfind("value_int", 0) == 0) return cast(c, DType::kInt64);
    return c;
  }
  fail("Constant has no value, value_float(s) or value_int(s) attribute");
}

Constant fill_value(const Attributes& attrs) {
  if (!attrs.has("value")) {
    Constant zero = make(DType::kFloat, {});
    zero.f = {0.0F};
    return zero;
  }
  Constant c = tensor_attribute(attrs.all().at("value"));
  if (c.size() != 1) fail(fmt::format("ConstantOfShape value holds {} elements, expected 1", c.size()));
  return reshaped(c, {});
}

bool foldable(const std::string& op) { return folds().count(op) != 0; }

std::vector<Constant> fold(const NodeContext& ctx, const std::vector<TensorType>& outputs) {
  return folds().at(ctx.node().op)(ctx, outputs);
}

}  // namespace cimlab::graph::detail
