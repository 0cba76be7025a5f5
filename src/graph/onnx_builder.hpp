#pragma once
// Internal to src/graph: builds the IR from a parsed ONNX GraphProto (the middle step of import_onnx).
//
// What it does, in order: names the nodes (made up as "<op>_<position>" when empty or repeated), rejects
// ops outside onnx_supported_ops(), finds a topological order (the file's when it is one, else Kahn's;
// a cycle or an input nothing defines is an error), converts the initializers the nodes use, adds the
// runtime inputs (symbolic dimensions fixed from ImportOptions), then converts the nodes:
//   - Constant -> a constant; Identity and Dropout -> their output refers to their input (an Identity is
//     kept only where its output is a graph output, so the name exists);
//   - attributes INT, FLOAT, STRING, INTS, FLOATS; ConstantOfShape's one-element `value` tensor becomes
//     the scalar attribute `value` (double for a float tensor, int64 for integer and bool ones);
//   - the IR follows opset 17's forms: attributes that older opsets had and 17 takes as inputs (Squeeze,
//     Unsqueeze, ReduceSum axes and Split's split below 13, Clip min/max and Pad pads/value below 11,
//     Slice starts/ends/axes below 10) become constant inputs; opset 18's constant axes input of
//     ReduceMean/ReduceMax/ReduceProd becomes the attribute; Softmax below 13 gets its axis (1) explicit.
// Messages name the node, op and position (index in the file's node list).
// Thread-safety: one builder per thread.
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/onnx.hpp"
#include "graph/onnx_detail.hpp"

namespace cimlab::graph::detail {

class GraphBuilder {
 public:
  // Consumes the initializers' data (the GraphProto is left without it).
  GraphBuilder(onnx::GraphProto& proto, std::int64_t opset, const ImportOptions& options);
  Graph build();
  // After infer_shapes: a Softmax/LogSoftmax below opset 13 over an axis other than the last coerced its
  // input to 2-D, which opset 13's op does not do; throws core::ModelError for those.
  void check_legacy_softmax(const Graph& graph) const;

 private:
  std::string where(int position) const;
  void name_nodes();
  void check_ops() const;
  std::vector<int> topological_order() const;
  [[noreturn]] void throw_cycle(const std::vector<char>& done, const std::unordered_map<std::string, int>& producer) const;
  void add_initializers();
  void add_inputs();
  void add_node(int position);
  void add_constant_node(int position);
  void add_pass_through(int position);
  std::map<std::string, AttrValue> convert_attributes(int position);
  void normalise_opset(Node& node, std::map<std::string, AttrValue>& attrs, int position);
  void add_outputs();
  int resolve(const std::string& name, int position) const;
  std::string unique_name(const std::string& base) const;

  onnx::GraphProto& proto_;
  std::int64_t opset_;
  const ImportOptions& options_;
  Graph graph_;
  std::vector<std::string> node_names_;               // by position in the file
  std::set<std::string> initializer_names_, graph_output_names_;
  std::unordered_map<std::string, int> alias_;         // outputs of removed Identity/Dropout -> value id
  std::unordered_map<std::string, int> dropped_;       // Dropout mask outputs -> position of the Dropout
  std::vector<std::string> legacy_softmax_;            // node names (Softmax below opset 13)
};

}  // namespace cimlab::graph::detail
