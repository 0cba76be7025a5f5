// libFuzzer target for the ONNX importer: any bytes must either import or throw a cimlab::core::Error
// (InputError, ModelError). A crash, a sanitizer report, a leak or any other exception is a bug.
// What imports is also reported (layer table) and exported and imported again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.hpp"
#include "graph/onnx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cimlab;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const graph::Graph g = graph::import_onnx_bytes(bytes, "fuzz input");
    graph::totals(graph::layer_table(g));
    graph::import_onnx_bytes(graph::export_onnx_bytes(g), "fuzz input, exported");
  } catch (const core::Error&) {
  }
  return 0;
}
