// Design-space search (issue 12), in process as `cimlab explore` runs it (points.jsonl writing excluded):
//   explore/vgg8_100k   100,000 distinct random PPA-only points of VGG-8 (3 x 32 x 32) on CoMN's template,
//                       CoMN's space x cell bits x ADC bits (180,000 points), 2 threads.   Target < 60 s.
//   explore/comn_bo     CoMN's own search: Bayesian optimisation of area, 10 random + 100 guided points over
//                       its default space (12,000 points), 1 thread.   Target < 1 s (CoMN: 125-189 s).
// Placement: snake (explore_vgg8.yaml's choice); every point is validated by the ppa schemas, mapped and estimated.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "explore/search.hpp"
#include "flow/explore_experiment.hpp"

namespace {

using namespace cimlab;

const char* kBase = R"(seed: 1
model: {name: vgg8, input_shape: 3x32x32}
chip: {preset: comn}
pipeline: {mode: latency}
placement: {method: snake}
technology: {node: 32nm}
explore:
  constraints: ["area_mm2 <= 1000"]
  space:
    array.rows: {values: [64, 128, 256, 512, 1024], also: [array.cols]}
    tile.macros: [2, 4, 8, 16]
    macro.adcs: {from: 1, to: 16, factor: 2}
    tile.input_buffer: {from: "2 KiB", to: "64 KiB", factor: 2, also: [tile.output_buffer]}
    tile.bus_width: {from: 16, to: 128, factor: 2}
    chip.flit_bits: {from: 8, to: 128, factor: 2}
)";

void search(benchmark::State& state, const std::string& name, const std::vector<std::string>& overrides) {
  const std::string path = (std::filesystem::temp_directory_path() / ("cimlab_bench_explore_" + name + ".yaml")).string();
  std::ofstream(path, std::ios::binary) << kBase;
  const flow::ExploreExperiment exp = flow::load_explore_experiment(path, overrides);
  const auto objective = flow::make_ppa_objective(exp);
  explore::SearchResult r;
  for (auto _ : state) {
    auto evaluator = explore::make_thread_evaluator(*objective, explore::key_gate(exp.search.constraints), exp.search.threads);
    r = explore::run_search(exp.search, *evaluator, {}, {});
    benchmark::DoNotOptimize(r.points.data());
  }
  std::size_t ok = 0;
  for (const auto& p : r.points) ok += p.status == explore::Status::kOk;
  state.counters["points"] = static_cast<double>(r.points.size());
  state.counters["ok"] = static_cast<double>(ok);
  state.counters["front"] = static_cast<double>(r.front.size());
  state.counters["points_per_s"] =
      benchmark::Counter(static_cast<double>(r.points.size()), benchmark::Counter::kIsIterationInvariantRate);
  if (r.best.count("area_mm2"))
    state.counters["best_area_mm2"] = r.points[static_cast<std::size_t>(r.best.at("area_mm2"))].metrics.at("area_mm2");
}

}  // namespace

BENCHMARK_CAPTURE(search, vgg8_100k, "vgg8_100k",
                  {"explore.strategy={type: random, points: 100000, batch: 1024}", "explore.threads=2",
                   "explore.objectives=[energy_per_inference_j, latency_s, area_mm2]",
                   "explore.space={array.rows: {values: [64, 128, 256, 512, 1024], also: [array.cols]}, "
                   "tile.macros: [2, 4, 8, 16], macro.adcs: [1, 2, 4, 8, 16], "
                   "tile.input_buffer: {values: [2 KiB, 4 KiB, 8 KiB, 16 KiB, 32 KiB, 64 KiB], also: [tile.output_buffer]}, "
                   "tile.bus_width: [16, 32, 64, 128], chip.flit_bits: [8, 16, 32, 64, 128], "
                   "mapping.cell_bits: [1, 2, 4], adc.bits: [4, 5, 6, 7, 8]}"})
    ->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK_CAPTURE(search, comn_bo, "comn_bo",
                  {"explore.strategy={type: bayes, points: 110, initial: 10}", "explore.threads=1",
                   "explore.objectives=[area_mm2]"})
    ->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK_MAIN();
