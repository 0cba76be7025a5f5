// The mapper (issue 10): time to map a network onto a chip, as a design-space search calls it.
//   map_only/vgg8       the zoo's VGG-8 at 3 x 32 x 32 on CoMN's template (configs/chips/comn.yaml),
//                       partition + duplication, no placement.       Target < 1 ms.
//   map_only/resnet50   ResNet-50 at 3 x 224 x 224 (bench/resnet50_onnx.hpp), same chip on a 32 x 32
//                       mesh.                                          Target < 10 ms.
//   map_placed/...      the same with placement by annealing (200,000 moves, the default). Target (ResNet-50) < 1 s;
//                       CoMN's mapper takes ~2.7 s for VGG-11 in ~55 process launches on this machine.
//   request/...         building the mapper's view of the network from the graph and the chip (once per
//                       change of the chip sections, not per design point).
// Counters: arrays, tiles, crossbar layers, traffic x hops against row-major placement.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "flow/map_experiment.hpp"
#include "resnet50_onnx.hpp"

namespace {

using namespace cimlab;

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

const flow::MapExperiment& experiment(const std::string& which, const std::string& mode) {
  static std::map<std::string, flow::MapExperiment> cache;
  const std::string key = which + "/" + mode;
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::string model = "model: {name: vgg8, input_shape: 3x32x32}\n";
  std::string mesh;
  if (which == "resnet50") {
    model = "model: {onnx: " + write_temp("cimlab_bench_resnet50.onnx", bench::resnet50_bytes()) + "}\n";
    mesh = "chip: {preset: comn, mesh: {width: 32, height: 32}}\n";
  } else {
    mesh = "chip: {preset: comn}\n";
  }
  const std::string cfg = write_temp("cimlab_bench_map_" + which + ".yaml",
                                     model + mesh + "pipeline: {mode: " + mode + "}\nplacement: {iterations: 200000}\n");
  return cache.emplace(key, flow::load_map_experiment(cfg, {})).first->second;
}

void counters(benchmark::State& state, const mapper::NetworkRequest& net, const mapper::Mapping& m) {
  state.counters["layers"] = static_cast<double>(net.layers.size());
  state.counters["arrays"] = static_cast<double>(m.arrays);
  state.counters["tiles"] = static_cast<double>(m.tiles);
  state.counters["bottleneck_cycles"] = static_cast<double>(m.cycles_per_inference);
  if (!m.placement.slot_layer.empty())
    state.counters["hops_vs_row_major"] = benchmark::Counter(m.placement.traffic_hops / m.placement.row_major_traffic_hops);
}

void map_only(benchmark::State& state, const std::string& which, const std::string& mode) {
  const flow::MapExperiment& exp = experiment(which, mode);
  const mapper::NetworkRequest net = mapper::network_request(exp.graph, exp.chip);
  mapper::Mapping m;
  for (auto _ : state) {
    m = mapper::map_network(net, exp.spec, {false});
    benchmark::DoNotOptimize(m.arrays);
  }
  counters(state, net, m);
}

void map_placed(benchmark::State& state, const std::string& which, const std::string& mode) {
  const flow::MapExperiment& exp = experiment(which, mode);
  const mapper::NetworkRequest net = mapper::network_request(exp.graph, exp.chip);
  mapper::Mapping m;
  for (auto _ : state) {
    m = mapper::map_network(net, exp.spec, {true});
    benchmark::DoNotOptimize(m.placement.slot_layer.data());  // (a double in DoNotOptimize's "+m,r" gets clobbered)
  }
  counters(state, net, m);
}

void request(benchmark::State& state, const std::string& which) {
  const flow::MapExperiment& exp = experiment(which, "area");
  for (auto _ : state) benchmark::DoNotOptimize(mapper::network_request(exp.graph, exp.chip).layers.size());
}

}  // namespace

BENCHMARK_CAPTURE(map_only, vgg8_area, "vgg8", "area")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(map_only, vgg8_latency, "vgg8", "latency")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(map_only, resnet50_area, "resnet50", "area")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(map_only, resnet50_latency, "resnet50", "latency")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(map_placed, vgg8_latency, "vgg8", "latency")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(map_placed, resnet50_latency, "resnet50", "latency")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(request, vgg8, "vgg8")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(request, resnet50, "resnet50")->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
