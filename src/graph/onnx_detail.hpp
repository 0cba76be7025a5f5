#pragma once
// Internal to src/graph (and its tests): conversions between ONNX protobuf messages and the IR that the
// importer and the exporter share. Needs the onnx_proto target (ONNX_NAMESPACE=onnx, ONNX_ML=1).
// Thread-safety: free functions without shared state.
#include <onnx/onnx_pb.h>

#include <string>

#include "graph/graph.hpp"

namespace cimlab::graph::detail {

// ONNX's name of a TensorProto data type ("FLOAT", "INT64", ...; "type 42" for an unknown code).
std::string onnx_type_name(int elem_type);

// The IR type of an ONNX element type: float, double and float16 -> kFloat; 8- to 64-bit integers ->
// kInt64; bool -> kBool. Throws core::ModelError naming `what` for any other type (string, complex).
DType dtype_from_onnx(int elem_type, const std::string& what);
int dtype_to_onnx(DType dtype);

// Converts a TensorProto (raw_data or typed fields) into a constant, checking the dims against the data
// length. Throws core::ModelError naming `what` ("initializer 'conv1.weight'") for negative or absurd
// dims, a data length that does not match the dims, external or segmented data, or an unsupported type.
// Releases the tensor's data buffers as it goes, so a large model is not held twice.
Constant constant_from_tensor(onnx::TensorProto& tensor, const std::string& what);

// Writes `c` as a TensorProto named `name` (raw_data, little-endian).
void constant_to_tensor(const Constant& c, const std::string& name, onnx::TensorProto& out);

}  // namespace cimlab::graph::detail
