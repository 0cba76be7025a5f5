// Analog inference and HAT steps against plain LibTorch, in one run (issue 3 speed targets):
// LeNet-5 exact mode (every ADC conversion modelled) over 10,000 images vs the float model and vs the
// floor of B_in x S float products of the same shapes; VGG-8 at CIFAR-10 shape (3 x 32 x 32), exact
// mode, per image, and NeuroSim's own VGG-8 (16x the MACs; NeuroSim: ~5 min per VGG-8 image); a
// fast-mode HAT step vs a float training step.
// Setup of the issue: 8-bit bit-serial inputs, 2-bit cells, 8-bit weights, 8-bit ADC, RRAM preset,
// 128 x 128 arrays, 1 ohm wires where IR drop is on. One thread. Inputs are random (timing only).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>
#include <cstdlib>

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

// LeNet-5 images per run: 10,000 (environment CIMLAB_BENCH_IMAGES, a multiple of 100, for quick runs).
const std::int64_t kImages = [] {
  const char* env = std::getenv("CIMLAB_BENCH_IMAGES");
  return env ? std::max<std::int64_t>(100, std::atoll(env) / 100 * 100) : std::int64_t{10000};
}();
constexpr std::int64_t kBatch = 100;

const torch::Tensor& images() {
  static const torch::Tensor x = (torch::manual_seed(1), torch::rand({kImages, 1, 28, 28}));
  return x;
}

void infer(torch::nn::AnyModule& model) {
  torch::NoGradGuard no_grad;
  for (std::int64_t i = 0; i < kImages; i += kBatch)
    benchmark::DoNotOptimize(model.forward(images().index({Slice(i, i + kBatch)})));
}

// Counter time_per_image: CPU seconds per image.
void per_image(benchmark::State& state, std::int64_t images_per_iteration) {
  state.counters["time_per_image"] = benchmark::Counter(
      static_cast<double>(images_per_iteration),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void FloatLeNet(benchmark::State& state) {
  at::set_num_threads(1);
  torch::nn::AnyModule model = cimlab::nn::make_model("lenet5", cimlab::nn::LayerFactory());
  for (auto _ : state) infer(model);
  per_image(state, kImages);
}

EffectSet lenet_effects(std::int64_t mode) {
  EffectSet effects = EffectSet::all();
  if (mode == 1 || mode == 2) effects.set(Effect::kReadNoise, false);
  if (mode <= 1) effects.set(Effect::kIrDrop, false);
  return effects;
}

// 0: all effects but IR drop (read noise per conversion); 1: without read noise; 2: without read noise,
// with IR drop (1 ohm); 3: all effects, IR drop and read noise included.
void ExactLeNet(benchmark::State& state) {
  at::set_num_threads(1);
  torch::nn::AnyModule model =
      cimlab::nn::make_model("lenet5", AnalogLayerFactory(rram_spec(lenet_effects(state.range(0)), Fidelity::kExact)));
  cimlab::nn::program_all(*model.ptr(), 1);
  cimlab::nn::calibrate_all(model, {images().index({Slice(0, 32)})});
  for (auto _ : state) infer(model);
  per_image(state, kImages);
}

// The floor: B_in x S = 8 x 4 float inferences of the same shapes.
void FloorLeNet(benchmark::State& state) {
  at::set_num_threads(1);
  torch::nn::AnyModule model = cimlab::nn::make_model("lenet5", cimlab::nn::LayerFactory());
  for (auto _ : state)
    for (int k = 0; k < 32; ++k) infer(model);
  per_image(state, kImages);
}

// VGG-8 of the zoo at CIFAR-10 shape (3 x 32 x 32), batches of 8 random images. 0: float; 1: exact,
// all effects (read noise per conversion, IR drop 1 ohm on 128 x 128 arrays); 2: exact, all but read
// noise.
void Vgg8Cifar(benchmark::State& state) {
  at::set_num_threads(1);
  constexpr std::int64_t kVggBatch = 8;
  const cimlab::nn::ImageShape cifar{3, 32};
  const torch::Tensor x = (torch::manual_seed(2), torch::rand({kVggBatch, 3, 32, 32}));
  torch::nn::AnyModule model;
  if (state.range(0) == 0) {
    model = cimlab::nn::make_model("vgg8", cimlab::nn::LayerFactory(), cifar);
  } else {
    EffectSet effects = EffectSet::all().set(Effect::kReadNoise, state.range(0) == 1);
    model = cimlab::nn::make_model("vgg8", AnalogLayerFactory(rram_spec(effects, Fidelity::kExact)), cifar);
    cimlab::nn::program_all(*model.ptr(), 1);
    cimlab::nn::calibrate_all(model, {x});
  }
  model.ptr()->eval();
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(x));
  per_image(state, kVggBatch);
}

// NeuroSim's VGG-8 for CIFAR-10 (DNN_NeuroSim: conv 3x3 128-128, pool, 256-256, pool, 512-512, pool,
// FC 8192-1024-10; ~616 M MACs per image), built from the layer factory: the network NeuroSim's
// ~5 min per image refers to.
class NeuroSimVgg8Impl : public torch::nn::Module {
 public:
  explicit NeuroSimVgg8Impl(const cimlab::nn::LayerFactory& f) {
    const std::int64_t channels[] = {3, 128, 128, 256, 256, 512, 512};
    for (int i = 0; i < 6; ++i) {
      const std::string name = "conv" + std::to_string(i + 1);
      convs_.push_back(f.conv2d(name, torch::nn::Conv2dOptions(channels[i], channels[i + 1], 3).padding(1).bias(false)));
      register_module(name, convs_.back().ptr());
    }
    fc1_ = f.linear("fc1", 512 * 4 * 4, 1024, false);
    fc2_ = f.linear("fc2", 1024, 10, false);
    register_module("fc1", fc1_.ptr());
    register_module("fc2", fc2_.ptr());
  }
  torch::Tensor forward(torch::Tensor x) {
    for (std::size_t i = 0; i < convs_.size(); ++i) {
      x = torch::relu(convs_[i].forward(x));
      if (i % 2 == 1) x = torch::max_pool2d(x, 2);  // 32 -> 16 -> 8 -> 4
    }
    return fc2_.forward(torch::relu(fc1_.forward(x.flatten(1))));
  }

 private:
  std::vector<torch::nn::AnyModule> convs_;
  torch::nn::AnyModule fc1_, fc2_;
};
TORCH_MODULE(NeuroSimVgg8);

// NeuroSim's VGG-8 per image, batches of 4 random CIFAR-shape images. 0: float; 1: exact, all effects
// (read noise per conversion, IR drop 1 ohm on 128 x 128 arrays); 2: exact, all but read noise. The
// one-time chip setup (mapping, programming, IR-drop transfer matrices of ~6,000 arrays, ADC
// calibration) is reported as the counter setup_s, outside the timed loop.
void NeuroSimVgg8Cifar(benchmark::State& state) {
  at::set_num_threads(1);
  constexpr std::int64_t kBatchSize = 4;
  const torch::Tensor x = (torch::manual_seed(3), torch::rand({kBatchSize, 3, 32, 32}));
  torch::manual_seed(4);
  torch::nn::AnyModule model;
  double setup = 0.0;
  if (state.range(0) == 0) {
    model = torch::nn::AnyModule(NeuroSimVgg8(cimlab::nn::LayerFactory()));
  } else {
    const auto t0 = std::chrono::steady_clock::now();
    EffectSet effects = EffectSet::all().set(Effect::kReadNoise, state.range(0) == 1);
    model = torch::nn::AnyModule(NeuroSimVgg8(AnalogLayerFactory(rram_spec(effects, Fidelity::kExact))));
    cimlab::nn::program_all(*model.ptr(), 1);
    cimlab::nn::calibrate_all(model, {x});
    setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  model.ptr()->eval();
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(x));
  per_image(state, kBatchSize);
  state.counters["setup_s"] = setup;
}

// One SGD step on 64 images. 0: float; 1: HAT (fast: fresh draws of quantisation, programming
// variation, read noise and stuck cells every step, nn::HatNoise); 2: fast on a fixed programmed chip
// (weights re-mapped through xbar::ArraySim every step); 3: exact forward (every ADC conversion) with
// the straight-through backward.
void TrainStep(benchmark::State& state) {
  at::set_num_threads(1);
  const int mode = static_cast<int>(state.range(0));
  const EffectSet effects = EffectSet::all().set(Effect::kIrDrop, false);
  torch::nn::AnyModule model =
      mode == 0 ? cimlab::nn::make_model("lenet5", cimlab::nn::LayerFactory())
                : cimlab::nn::make_model("lenet5", AnalogLayerFactory(rram_spec(
                                                       effects, mode == 3 ? Fidelity::kExact : Fidelity::kFast)));
  if (mode != 0) {
    cimlab::nn::program_all(*model.ptr(), 1);
    cimlab::nn::calibrate_all(model, {images().index({Slice(0, 64)})});
  }
  if (mode == 1)
    for (auto* core : cimlab::nn::analog_cores(*model.ptr())) {
      core->enable_hat(effects);
      core->set_hat(true, 1);
    }
  model.ptr()->train();
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

BENCHMARK(FloatLeNet)->Unit(benchmark::kMillisecond);
BENCHMARK(FloorLeNet)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(ExactLeNet)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(Vgg8Cifar)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(NeuroSimVgg8Cifar)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(TrainStep)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
