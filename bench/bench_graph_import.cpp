// ONNX import of a ResNet-50-sized model built in memory (bench/resnet50_onnx.hpp).
// Timed: import_onnx_bytes = protobuf parse + IR build + shape inference + BatchNorm folding + checks.
// Target: < 1 s. Counters: nodes and crossbar weights of the imported graph, model size in MB.
#include <benchmark/benchmark.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "graph/onnx.hpp"
#include "resnet50_onnx.hpp"

namespace {

using namespace cimlab::graph;

using cimlab::bench::resnet50_bytes;

void import_resnet50(benchmark::State& state, bool fold) {
  const std::string& bytes = resnet50_bytes();
  ImportOptions options;
  options.fold_batch_norm = fold;
  Graph g;
  for (auto _ : state) {
    g = import_onnx_bytes(bytes, "resnet50.onnx", options);
    benchmark::DoNotOptimize(g.nodes.data());
  }
  state.counters["nodes"] = static_cast<double>(g.nodes.size());
  state.counters["crossbar_weights"] = static_cast<double>(totals(layer_table(g)).crossbar_weights);
  state.counters["model_MB"] = static_cast<double>(bytes.size()) / 1e6;
}

void parse_only(benchmark::State& state) {
  const std::string& bytes = resnet50_bytes();
  for (auto _ : state) {
    onnx::ModelProto model;
    benchmark::DoNotOptimize(model.ParseFromString(bytes));
  }
}

void export_resnet50(benchmark::State& state) {
  const Graph g = import_onnx_bytes(resnet50_bytes(), "resnet50.onnx");
  for (auto _ : state) benchmark::DoNotOptimize(export_onnx_bytes(g).size());
}

}  // namespace

BENCHMARK_CAPTURE(import_resnet50, bn_folded, true)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(import_resnet50, bn_kept, false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(parse_only)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(export_resnet50)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
