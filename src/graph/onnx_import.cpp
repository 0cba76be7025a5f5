// ONNX import: bytes -> checked ModelProto -> Graph (see onnx.hpp). The file is checked to look like a
// ModelProto before protobuf parses it, so a PNG, a zip or a truncated file gets a message saying so.
#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>

#include "core/errors.hpp"
#include "graph/onnx.hpp"
#include "graph/onnx_builder.hpp"
#include "graph/onnx_detail.hpp"

namespace cimlab::graph {

namespace {

namespace pb = google::protobuf;
using pb::internal::WireFormatLite;

constexpr std::int64_t kMinOpset = 7, kMaxOpset = 18;
constexpr std::uintmax_t kMaxModelBytes = INT_MAX;  // protobuf's limit for one message

std::string read_model_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw core::InputError(fmt::format("{}: no such file", path));
  if (std::filesystem::is_directory(status))
    throw core::InputError(fmt::format("{}: is a directory, not an ONNX model", path));
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxModelBytes)
    throw core::InputError(fmt::format("{}: {} bytes, more than protobuf's 2 GiB limit for one model", path, size));
  std::ifstream in(path, std::ios::binary);
  if (!in || ec) throw core::InputError(fmt::format("{}: cannot open file", path));
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size)
    throw core::InputError(fmt::format("{}: cannot read file", path));
  return bytes;
}

// A well-known file format recognised by its first bytes, or "" when none matches.
std::string known_format(std::string_view b) {
  const auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
  if (starts("\x89PNG")) return "a PNG image";
  if (starts("\xff\xd8\xff")) return "a JPEG image";
  if (starts("PK\x03\x04")) return "a zip archive (a PyTorch checkpoint?)";
  if (starts("\x1f\x8b")) return "gzip data";
  if (starts("\x80") && b.size() > 1 && b[1] >= 2 && b[1] <= 5) return "a Python pickle (a PyTorch checkpoint?)";
  if (starts("\x93NUMPY")) return "a NumPy array";
  if (starts("\x89HDF")) return "an HDF5 file";
  if (starts("\x7f" "ELF")) return "an ELF binary";
  if (starts("%PDF")) return "a PDF file";
  const std::string_view head = b.substr(0, 256);
  const bool text = std::all_of(head.begin(), head.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u < 0x7f) || c == '\n' || c == '\r' || c == '\t';
  });
  return text ? "a text file" : "";
}

// ModelProto's fields (onnx.proto): number, name and wire type.
struct ModelField {
  int number;
  const char* name;
  int wire_type;
};
constexpr int kVarint = WireFormatLite::WIRETYPE_VARINT, kBytes = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
constexpr ModelField kModelFields[] = {
    {1, "ir_version", kVarint},      {2, "producer_name", kBytes}, {3, "producer_version", kBytes},
    {4, "domain", kBytes},           {5, "model_version", kVarint}, {6, "doc_string", kBytes},
    {7, "graph", kBytes},            {8, "opset_import", kBytes},  {14, "metadata_props", kBytes},
    {20, "training_info", kBytes},   {25, "functions", kBytes},
};

const ModelField* model_field(int number) {
  for (const ModelField& f : kModelFields)
    if (f.number == number) return &f;
  return nullptr;
}

// Walks the top-level fields: each must be a ModelProto field with its wire type and fit in the bytes,
// and a graph must be there. Returns why not, or "" when the bytes look like a ModelProto.
std::string model_structure_problem(const std::string& bytes) {
  pb::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  const int size = static_cast<int>(bytes.size());
  bool graph = false;
  while (in.CurrentPosition() < size) {
    const int offset = in.CurrentPosition();
    const std::uint32_t tag = in.ReadTag();
    const int number = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    const int wire = WireFormatLite::GetTagWireType(tag);
    const ModelField* field = model_field(number);
    if (tag == 0 || field == nullptr || field->wire_type != wire)
      return fmt::format("byte {}: field {} with wire type {} is not part of an ONNX ModelProto", offset, number, wire);
    if (wire == kVarint) {
      std::uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return fmt::format("truncated at byte {}", offset);
      continue;
    }
    std::uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return fmt::format("truncated at byte {}", offset);
    const int left = size - in.CurrentPosition();
    if (length > static_cast<std::uint32_t>(left))
      return fmt::format("truncated: field '{}' at byte {} needs {} bytes, the file has {} left", field->name, offset,
                         length, left);
    in.Skip(static_cast<int>(length));
    graph = graph || number == 7;
  }
  return graph ? "" : "it holds no graph";
}

onnx::ModelProto parse_model(const std::string& bytes, const std::string& origin) {
  const auto fail = [&](const std::string& why) {
    return core::InputError(fmt::format("{}: not an ONNX model ({})", origin, why));
  };
  if (bytes.empty()) throw fail("empty file");
  if (bytes.size() > kMaxModelBytes) throw fail("more than protobuf's 2 GiB limit for one message");
  if (const std::string problem = model_structure_problem(bytes); !problem.empty()) {
    const std::string format = known_format(bytes);
    throw fail(format.empty() ? problem : format);
  }
  onnx::ModelProto model;
  pb::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  if (!model.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    throw fail("protobuf parse failure: truncated or corrupt data inside the model");
  return model;
}

std::int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") {
      if (o.version() < kMinOpset || o.version() > kMaxOpset)
        throw core::ModelError(fmt::format("opset {} is not supported (cimlab reads opsets {} to {}; 11 to 17 are "
                                           "tested): re-export the model at opset 13 to 17", o.version(), kMinOpset,
                                           kMaxOpset));
      return o.version();
    }
  }
  throw core::ModelError(fmt::format("the model declares no opset of the default ONNX domain (opset_import); cimlab "
                                     "reads opsets {} to {}", kMinOpset, kMaxOpset));
}

void check_options(const ImportOptions& options) {
  if (options.batch < 1) throw core::ModelError(fmt::format("batch must be at least 1, got {}", options.batch));
  for (const auto& [name, v] : options.dims)
    if (v < 1) throw core::ModelError(fmt::format("dimension '{}' must be at least 1, got {}", name, v));
}

}  // namespace

Graph import_onnx_bytes(const std::string& bytes, const std::string& origin, const ImportOptions& options) {
  onnx::ModelProto model = parse_model(bytes, origin);
  try {
    check_options(options);
    const std::int64_t opset = default_opset(model);
    std::string name = model.graph().name();
    if (name.empty()) name = std::filesystem::path(origin).stem().string();
    detail::GraphBuilder builder(*model.mutable_graph(), opset, options);
    Graph graph = builder.build();
    graph.name = name;
    model.Clear();
    infer_shapes(graph);
    builder.check_legacy_softmax(graph);
    if (options.fold_batch_norm) fold_batch_norm(graph);
    graph.prune();
    graph.check();
    return graph;
  } catch (const core::ModelError& e) {
    throw core::ModelError(fmt::format("{}: {}", origin, e.what()));
  }
}

Graph import_onnx(const std::string& path, const ImportOptions& options) {
  return import_onnx_bytes(read_model_file(path), path, options);
}

}  // namespace cimlab::graph
