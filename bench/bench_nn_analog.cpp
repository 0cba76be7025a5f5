// Analog inference and HAT steps of LeNet-5 against plain LibTorch, in one run (issue 3 speed targets):
// exact mode (every ADC conversion modelled) over 1,000 images vs the float model and vs the floor of
// B_in x S float products of the same shapes; a fast-mode HAT step vs a float training step.
// Setup of the issue: 8-bit bit-serial inputs, 2-bit cells, 8-bit weights, 8-bit ADC, RRAM preset,
// 128 x 128 arrays. One thread.
#include <benchmark/benchmark.h>

#include "device/presets.hpp"
#include "nn/analog.hpp"
#include "nn/models.hpp"

namespace {

using cimlab::nn::AnalogLayerFactory;
using cimlab::nn::AnalogSpec;
using cimlab::nn::Fidelity;
using cimlab::xbar::Effect;
using cimlab::xbar::EffectSet;
using torch::indexing::Slice;

AnalogSpec rram_spec(EffectSet effects, Fidelity fidelity) {
  AnalogSpec s;
  cimlab::core::Diagnostics diags;
  YAML::Node section;
  section["preset"] = "rram";
  s.array.device = cimlab::device::load_device(section, {"bench"}, diags, nullptr);
  s.array.circuit.rows = s.array.circuit.cols = 128;
  s.array.circuit.r_row = s.array.circuit.r_col = 1.0;
  s.array.mapping.cell_bits = 2;
  s.effects = effects;
  s.fidelity = fidelity;
  return s;
}

const torch::Tensor& images() {
  static const torch::Tensor x = (torch::manual_seed(1), torch::rand({1000, 1, 28, 28}));
  return x;
}

void infer(torch::nn::AnyModule& model) {
  torch::NoGradGuard no_grad;
  for (std::int64_t i = 0; i < 1000; i += 100) benchmark::DoNotOptimize(model.forward(images().index({Slice(i, i + 100)})));
}

void FloatLeNet1000(benchmark::State& state) {
  at::set_num_threads(1);
  torch::nn::AnyModule model = cimlab::nn::make_model("lenet5", cimlab::nn::LayerFactory());
  for (auto _ : state) infer(model);
}

// 0: all effects but IR drop; 1: without read noise; 2: without read noise, with IR drop (1 ohm).
void ExactLeNet1000(benchmark::State& state) {
  at::set_num_threads(1);
  EffectSet effects = EffectSet::all().set(Effect::kIrDrop, state.range(0) == 2);
  if (state.range(0) >= 1) effects.set(Effect::kReadNoise, false);
  torch::nn::AnyModule model = cimlab::nn::make_model("lenet5", AnalogLayerFactory(rram_spec(effects, Fidelity::kExact)));
  cimlab::nn::program_all(*model.ptr(), 1);
  cimlab::nn::calibrate_all(model, {images().index({Slice(0, 32)})});
  for (auto _ : state) infer(model);
}

// The floor: B_in x S = 8 x 4 float inferences of the same shapes.
void FloorLeNet1000(benchmark::State& state) {
  at::set_num_threads(1);
  torch::nn::AnyModule model = cimlab::nn::make_model("lenet5", cimlab::nn::LayerFactory());
  for (auto _ : state)
    for (int k = 0; k < 32; ++k) infer(model);
}

void TrainStep(benchmark::State& state) {
  at::set_num_threads(1);
  const bool analog = state.range(0) == 1;
  torch::nn::AnyModule model =
      analog ? cimlab::nn::make_model("lenet5", AnalogLayerFactory(rram_spec(
                                                    EffectSet::all().set(Effect::kIrDrop, false), Fidelity::kFast)))
             : cimlab::nn::make_model("lenet5", cimlab::nn::LayerFactory());
  if (analog) cimlab::nn::program_all(*model.ptr(), 1);
  torch::optim::SGD opt(model.ptr()->parameters(), torch::optim::SGDOptions(0.01));
  const torch::Tensor labels = torch::randint(10, {64});
  const torch::Tensor x = images().index({Slice(0, 64)});
  for (auto _ : state) {
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model.forward(x), labels).backward();
    opt.step();
  }
}

}  // namespace

BENCHMARK(FloatLeNet1000)->Unit(benchmark::kMillisecond);
BENCHMARK(FloorLeNet1000)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(ExactLeNet1000)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(TrainStep)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
