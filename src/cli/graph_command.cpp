// `cimlab graph MODEL [--json] [--batch N] [--input-shape CxHxW]`: the layers of a network as the IR
// sees them (graph/graph.hpp): shapes, crossbar or digital, weights, parameters and MACs per input.
// MODEL is a zoo name (graph/zoo.hpp) or an .onnx file. With --json, stdout holds only the JSON of
// graph::to_json plus a provenance block. Built with or without LibTorch.
#include <cimlab/version.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <utility>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "graph/graph.hpp"
#include "graph/onnx.hpp"
#include "graph/zoo.hpp"

namespace cimlab::cli {

namespace {

struct GraphArgs {
  std::string model;
  bool json = false;
  std::int64_t batch = 1;
  std::string input_shape;  // "CxHxW"; empty: 1x28x28
};

// A zoo name, else a path when it looks like one (else zoo_graph suggests the closest name).
bool is_onnx_path(const std::string& model) {
  const auto& zoo = graph::graph_names();
  if (std::find(zoo.begin(), zoo.end(), model) != zoo.end()) return false;
  return model.ends_with(".onnx") || model.find('/') != std::string::npos || std::filesystem::is_regular_file(model);
}

graph::Graph load(const GraphArgs& a) {
  if (is_onnx_path(a.model)) {
    if (!a.input_shape.empty())
      throw core::InputError(fmt::format(
          "--input-shape applies to zoo models; the input shape of '{}' comes from the file (--batch sets its batch)",
          a.model));
    graph::ImportOptions options;
    options.batch = a.batch;
    return graph::import_onnx(a.model, options);
  }
  const auto [channels, side] = a.input_shape.empty() ? std::pair<std::int64_t, std::int64_t>{1, 28}
                                                      : graph::parse_image_shape(a.input_shape);
  return graph::zoo_graph(a.model, channels, side, a.batch);
}

int run(const GraphArgs& a) {
  const graph::Graph g = load(a);
  const std::vector<graph::LayerInfo> rows = graph::layer_table(g);
  if (!a.json) {
    fmt::print("{}", graph::to_text(g, rows));
    return 0;
  }
  nlohmann::json out = graph::to_json(g, rows);
  out["provenance"] = {{"cimlab_version", kVersion}, {"git_commit", kGitCommit}, {"command", command_line()}};
  std::cout << out.dump(2) << '\n';
  return 0;
}

}  // namespace

Action setup_graph(CLI::App& app) {
  auto* cmd = app.add_subcommand("graph", "Show a network's layers: shapes, crossbar or digital, weights, MACs");
  auto a = std::make_shared<GraphArgs>();
  cmd->add_option("model", a->model, "zoo model (mlp, lenet5, vgg8, resnet20, vit) or an .onnx file")->required();
  cmd->add_flag("--json", a->json, "print the layer table as JSON");
  cmd->add_option("--batch", a->batch, "batch size of the graph (MACs are reported per input)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  cmd->add_option("--input-shape", a->input_shape, "zoo models: input images C x H x W (H = W), default 1x28x28");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
