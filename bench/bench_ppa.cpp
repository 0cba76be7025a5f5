// The PPA roll-up (issue 11): a full estimate with the mapping reused, as a design-space search calls it.
//   estimate/vgg8       the zoo's VGG-8 at 3 x 32 x 32 on CoMN's template, `latency` mode.  Target < 100 us.
//   estimate/resnet50   ResNet-50 at 3 x 224 x 224 on the same chip, 32 x 32 mesh.          Target < 1 ms.
// (NeuroSim: ~0.07 mapping-by-layer evaluations per second; CiMLoop 0.28 per core; CoMN ~1 point per s.)
// The technology is TechSpec's defaults (timing does not depend on the values).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "flow/map_experiment.hpp"
#include "ppa/estimate.hpp"
#include "resnet50_onnx.hpp"

namespace {

using namespace cimlab;

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

void estimate(benchmark::State& state, const std::string& which) {
  std::string cfg = "model: {name: vgg8, input_shape: 3x32x32}\nchip: {preset: comn}\npipeline: {mode: latency}\n";
  if (which == "resnet50")
    cfg = "model: {onnx: " + write_temp("cimlab_bench_ppa_resnet50.onnx", bench::resnet50_bytes()) +
          "}\nchip: {preset: comn, mesh: {width: 32, height: 32}}\npipeline: {mode: latency}\n";
  const flow::MapExperiment exp = flow::load_map_experiment(write_temp("cimlab_bench_ppa_" + which + ".yaml", cfg), {});
  const mapper::NetworkRequest net = mapper::network_request(exp.graph, exp.chip);
  const mapper::Mapping m = mapper::map_network(net, exp.spec);
  ppa::PpaSpec spec;
  ppa::use_chip(spec, exp.chip);
  ppa::PpaResult r;
  for (auto _ : state) {
    r = ppa::estimate(net, exp.spec, m, spec);
    benchmark::DoNotOptimize(r.layers.data());
  }
  state.counters["layers"] = static_cast<double>(net.layers.size());
  state.counters["points_per_s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK_CAPTURE(estimate, vgg8, "vgg8")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(estimate, resnet50, "resnet50")->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
