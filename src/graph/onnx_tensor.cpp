#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "core/errors.hpp"
#include "graph/onnx_detail.hpp"

namespace cimlab::graph::detail {

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian; add a byte swap");

namespace {

using TP = onnx::TensorProto;

// IEEE 754 binary16 -> binary32.
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const int exponent = (h >> 10) & 0x1f;
  const std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float v = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -v : v;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf / NaN
  return std::bit_cast<float>(sign | (static_cast<std::uint32_t>(exponent - 15 + 127) << 23) | (mantissa << 13));
}

// Bytes per element in raw_data; 0 for a type the IR does not hold.
std::size_t element_bytes(int t) {
  switch (t) {
    case TP::FLOAT: case TP::INT32: case TP::UINT32: return 4;
    case TP::DOUBLE: case TP::INT64: return 8;
    case TP::FLOAT16: case TP::INT16: case TP::UINT16: return 2;
    case TP::INT8: case TP::UINT8: case TP::BOOL: return 1;
    default: return 0;
  }
}

// Reads element k of little-endian raw data as type T.
template <typename T>
T raw_at(const std::string& raw, std::size_t k) {
  T v;
  std::memcpy(&v, raw.data() + k * sizeof(T), sizeof(T));
  return v;
}

void fill_from_raw(const std::string& raw, int t, std::size_t n, Constant& c) {
  if (c.dtype == DType::kFloat) c.f.resize(n);
  else c.i.resize(n);
  switch (t) {
    case TP::FLOAT: if (n) std::memcpy(c.f.data(), raw.data(), n * sizeof(float)); break;
    case TP::DOUBLE: for (std::size_t k = 0; k < n; ++k) c.f[k] = static_cast<float>(raw_at<double>(raw, k)); break;
    case TP::FLOAT16: for (std::size_t k = 0; k < n; ++k) c.f[k] = half_to_float(raw_at<std::uint16_t>(raw, k)); break;
    case TP::INT64: if (n) std::memcpy(c.i.data(), raw.data(), n * sizeof(std::int64_t)); break;
    case TP::INT32: for (std::size_t k = 0; k < n; ++k) c.i[k] = raw_at<std::int32_t>(raw, k); break;
    case TP::UINT32: for (std::size_t k = 0; k < n; ++k) c.i[k] = raw_at<std::uint32_t>(raw, k); break;
    case TP::INT16: for (std::size_t k = 0; k < n; ++k) c.i[k] = raw_at<std::int16_t>(raw, k); break;
    case TP::UINT16: for (std::size_t k = 0; k < n; ++k) c.i[k] = raw_at<std::uint16_t>(raw, k); break;
    case TP::INT8: for (std::size_t k = 0; k < n; ++k) c.i[k] = raw_at<std::int8_t>(raw, k); break;
    case TP::UINT8: for (std::size_t k = 0; k < n; ++k) c.i[k] = raw_at<std::uint8_t>(raw, k); break;
    case TP::BOOL: for (std::size_t k = 0; k < n; ++k) c.i[k] = raw[k] != 0; break;
    default: break;
  }
}

// Number of elements the typed field for `t` holds.
std::size_t typed_count(const TP& tensor, int t) {
  switch (t) {
    case TP::FLOAT: return static_cast<std::size_t>(tensor.float_data_size());
    case TP::DOUBLE: return static_cast<std::size_t>(tensor.double_data_size());
    case TP::INT64: return static_cast<std::size_t>(tensor.int64_data_size());
    case TP::UINT32: return static_cast<std::size_t>(tensor.uint64_data_size());
    default: return static_cast<std::size_t>(tensor.int32_data_size());  // int32 and narrower, bool, float16
  }
}

void fill_from_typed(const TP& tensor, int t, std::size_t n, Constant& c) {
  if (c.dtype == DType::kFloat) c.f.resize(n);
  else c.i.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const int j = static_cast<int>(k);
    switch (t) {
      case TP::FLOAT: c.f[k] = tensor.float_data(j); break;
      case TP::DOUBLE: c.f[k] = static_cast<float>(tensor.double_data(j)); break;
      case TP::FLOAT16: c.f[k] = half_to_float(static_cast<std::uint16_t>(tensor.int32_data(j))); break;
      case TP::INT64: c.i[k] = tensor.int64_data(j); break;
      case TP::UINT32: c.i[k] = static_cast<std::int64_t>(tensor.uint64_data(j)); break;
      case TP::BOOL: c.i[k] = tensor.int32_data(j) != 0; break;
      default: c.i[k] = tensor.int32_data(j); break;
    }
  }
}

Shape tensor_shape(const TP& tensor, const std::string& what) {
  Shape shape(tensor.dims().begin(), tensor.dims().end());
  try {
    numel(shape);
  } catch (const core::ModelError& e) {
    throw core::ModelError(fmt::format("{}: {}", what, e.what()));
  }
  return shape;
}

}  // namespace

std::string onnx_type_name(int elem_type) {
  if (!onnx::TensorProto_DataType_IsValid(elem_type)) return fmt::format("type {}", elem_type);
  return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(elem_type));
}

DType dtype_from_onnx(int elem_type, const std::string& what) {
  switch (elem_type) {
    case TP::FLOAT: case TP::DOUBLE: case TP::FLOAT16: return DType::kFloat;
    case TP::INT64: case TP::INT32: case TP::UINT32: case TP::INT16: case TP::UINT16: case TP::INT8: case TP::UINT8:
      return DType::kInt64;
    case TP::BOOL: return DType::kBool;
    default:
      throw core::ModelError(fmt::format("{} has data type {}, which cimlab does not support (float, double, float16, "
                                         "integers up to 64 bits and bool are)", what, onnx_type_name(elem_type)));
  }
}

int dtype_to_onnx(DType dtype) {
  switch (dtype) {
    case DType::kFloat: return TP::FLOAT;
    case DType::kInt64: return TP::INT64;
    case DType::kBool: return TP::BOOL;
  }
  return TP::UNDEFINED;
}

Constant constant_from_tensor(TP& tensor, const std::string& what) {
  if (tensor.data_location() == TP::EXTERNAL)
    throw core::ModelError(fmt::format(
        "{} keeps its data in an external file, which cimlab does not read: save the model with its weights inside "
        "(onnx.save_model(model, path, save_as_external_data=False))", what));
  if (tensor.has_segment()) throw core::ModelError(fmt::format("{} is a segment of a tensor (not supported)", what));
  const int t = tensor.data_type();
  Constant c;
  c.dtype = dtype_from_onnx(t, what);
  c.shape = tensor_shape(tensor, what);
  const auto n = static_cast<std::size_t>(numel(c.shape));
  if (tensor.has_raw_data()) {
    const std::size_t want = n * element_bytes(t);
    if (tensor.raw_data().size() != want)
      throw core::ModelError(fmt::format("{}: dims [{}] of type {} need {} bytes of raw data, the file holds {}", what,
                                         shape_string(c.shape), onnx_type_name(t), want, tensor.raw_data().size()));
    fill_from_raw(tensor.raw_data(), t, n, c);
    std::string().swap(*tensor.mutable_raw_data());
  } else {
    const std::size_t have = typed_count(tensor, t);
    if (have != n)
      throw core::ModelError(fmt::format("{}: dims [{}] need {} values, the file holds {}", what, shape_string(c.shape),
                                         n, have));
    fill_from_typed(tensor, t, n, c);
    tensor.clear_float_data();
    tensor.clear_int64_data();
    tensor.clear_int32_data();
    tensor.clear_double_data();
    tensor.clear_uint64_data();
  }
  return c;
}

void constant_to_tensor(const Constant& c, const std::string& name, TP& out) {
  out.set_name(name);
  out.set_data_type(dtype_to_onnx(c.dtype));
  for (std::int64_t d : c.shape) out.add_dims(d);
  std::string* raw = out.mutable_raw_data();
  switch (c.dtype) {
    case DType::kFloat:
      raw->resize(c.f.size() * sizeof(float));
      if (!c.f.empty()) std::memcpy(raw->data(), c.f.data(), raw->size());
      break;
    case DType::kInt64:
      raw->resize(c.i.size() * sizeof(std::int64_t));
      if (!c.i.empty()) std::memcpy(raw->data(), c.i.data(), raw->size());
      break;
    case DType::kBool:
      raw->resize(c.i.size());
      for (std::size_t k = 0; k < c.i.size(); ++k) (*raw)[k] = static_cast<char>(c.i[k] != 0);
      break;
  }
}

}  // namespace cimlab::graph::detail
