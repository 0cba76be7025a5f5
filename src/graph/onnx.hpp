#pragma once
// ONNX import and export (Debian's libonnx 1.12 + protobuf; opsets 7-18 read, 11-17 tested).
//
// import_onnx reads a ModelProto into the IR of graph.hpp: initializers (and Constant nodes) become
// constants, stored once however many nodes share them; value names are the ONNX tensor names (so
// weights can be matched back); Identity chains are followed and Dropout is dropped (an Identity stays
// only where its output is a graph output); nodes out of order are sorted; symbolic dimensions of the
// graph inputs are fixed (batch 1 unless told otherwise); infer_shapes() folds the shape arithmetic;
// BatchNormalization after a Conv whose output feeds nothing else is folded into the Conv's weight and
// bias. An unsupported op is an error naming the node, its op and position, never skipped. The IR
// follows opset 17's forms whatever the file's opset (details in onnx_builder.hpp); ConstantOfShape's
// one-element `value` tensor is held as a number attribute (double or int64).
//
// export_onnx writes a Graph back as an ONNX model (IR version 8, opset 17): the constants become
// initializers, so a model whose weights were fine-tuned (HAT) is written back by updating the constants
// and exporting. The first dimension of each input and output is written as the symbolic "N".
//
// Errors: core::InputError for a missing, unreadable, truncated or corrupt file (wrong magic, protobuf
// parse failure); core::ModelError for a model that parses but cannot be represented (cyclic graph,
// missing initializer, shape mismatch, absurd sizes, unsupported op, external data). Messages start
// with the file (the origin). Never a crash (tests/fuzz/fuzz_onnx_import.cpp).
// Thread-safety: free functions without shared state.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.hpp"

namespace cimlab::graph {

struct ImportOptions {
  std::int64_t batch = 1;                            // value of the first symbolic dimension of each input
  std::map<std::string, std::int64_t> dims;          // values of other symbolic dimensions by name
  bool fold_batch_norm = true;
};

// Reads an ONNX file. `origin` in messages is the path.
Graph import_onnx(const std::string& path, const ImportOptions& options = {});
// Same from bytes in memory (the fuzz target's entry point); `origin` names the source in messages.
Graph import_onnx_bytes(const std::string& bytes, const std::string& origin, const ImportOptions& options = {});

// Writes `graph` as an ONNX model file (atomically). Throws core::ModelError for an op the IR holds
// that has no ONNX form (none today) and core::InputError when the file cannot be written.
void export_onnx(const Graph& graph, const std::string& path);
// The same model as serialised bytes (what export_onnx writes).
std::string export_onnx_bytes(const Graph& graph);

// Folds each BatchNormalization (inference mode) that follows a Conv with a constant weight whose output
// feeds nothing else into the Conv: W' = W * gamma / sqrt(var + eps) per output channel and
// b' = (b - mean) * gamma / sqrt(var + eps) + beta, as new constants (shared ones are left untouched).
// The BN node goes, the Conv produces the BN's output. Needs shapes (after infer_shapes). Returns the
// number of BN nodes folded.
int fold_batch_norm(Graph& graph);

// The ops the importer accepts, with what becomes of each: the one list used for the check and the docs.
struct OnnxOpInfo {
  std::string_view op;
  std::string_view note;
};
const std::vector<OnnxOpInfo>& onnx_supported_ops();
bool onnx_op_supported(std::string_view op);

}  // namespace cimlab::graph
