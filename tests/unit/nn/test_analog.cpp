// Analog layers: equal to float with every effect off, `exact` against a per-array per-conversion
// reference (xbar::ArraySim), `fast` against `exact`, straight-through gradients, determinism, and a
// LeNet-5 on real MNIST digits with the RRAM preset.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/errors.hpp"
#include "device/presets.hpp"
#include "nn/analog.hpp"
#include "nn/data.hpp"
#include "nn/models.hpp"
#include "xbar/correction.hpp"

namespace cimlab::nn {
namespace {

using xbar::Effect;
using xbar::EffectSet;
using torch::indexing::Slice;

class Analog : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    torch::manual_seed(3);
  }
};

// Small arrays (16 x 16) so every layer spans several row and column blocks; 8-bit weights on 2-bit
// cells (4 slices), 8-bit bit-serial inputs, 8-bit full-range ADC.
AnalogSpec small_spec(EffectSet effects, Fidelity fidelity) {
  AnalogSpec s;
  s.array.circuit.rows = 16;
  s.array.circuit.cols = 16;
  s.array.device.max_cell_bits = 2;
  s.array.mapping.cell_bits = 2;
  s.effects = effects;
  s.fidelity = fidelity;
  return s;
}

// Every non-ideality except read noise (re-sampled, so not comparable draw for draw) and IR drop.
EffectSet chip_effects() {
  return EffectSet::all().set(Effect::kReadNoise, false).set(Effect::kIrDrop, false);
}

void use_rram_like_device(AnalogSpec& s) {
  device::DeviceSpec& d = s.array.device;
  d.programming = {device::VariationModel::kRelative, 0.05, {}};
  d.read_noise = {device::VariationModel::kRelative, 0.01, {}};
  d.faults.p_stuck_on = 0.01;
  d.faults.p_stuck_off = 0.01;
  d.drift = {0.05, 0.01, 1.0, 100.0, true};
  d.iv = {device::CellIV::Kind::kCubic, 0.5};
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

torch::Tensor signed_inputs(std::vector<std::int64_t> shape) { return torch::rand(shape) * 2.0 - 1.0; }

class AnalogFidelity : public Analog, public ::testing::WithParamInterface<Fidelity> {};

TEST_P(AnalogFidelity, LinearWithEffectsOffEqualsFloat) {
  AnalogLinear analog(small_spec(EffectSet::none(), GetParam()), 37, 11, true);
  torch::nn::Linear reference(torch::nn::LinearOptions(37, 11));
  copy_weights(*reference, *analog);
  analog->program(core::Rng(1));
  const torch::Tensor x = signed_inputs({5, 37});
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(analog->forward(x), reference->forward(x)), 1e-5);
  // [..., in] inputs (as the ViT passes N x T x in)
  const torch::Tensor x3 = signed_inputs({2, 3, 37});
  EXPECT_LT(max_abs_diff(analog->forward(x3), reference->forward(x3)), 1e-5);
}

TEST_P(AnalogFidelity, ConvolutionsWithEffectsOffEqualFloat) {
  const std::vector<torch::nn::Conv2dOptions> cases{
      torch::nn::Conv2dOptions(3, 5, 3).stride(2).padding(1),             // plain, strided
      torch::nn::Conv2dOptions(4, 6, 3).padding(1).groups(2).bias(false),  // grouped
      torch::nn::Conv2dOptions(4, 4, 3).padding(2).dilation(2).groups(4),  // depthwise, dilated
      torch::nn::Conv2dOptions(6, 20, 5),                                  // several row and column blocks
  };
  for (const auto& options : cases) {
    AnalogConv2d analog(small_spec(EffectSet::none(), GetParam()), options);
    torch::nn::Conv2d reference(options);
    copy_weights(*reference, *analog);
    analog->program(core::Rng(2));
    const torch::Tensor x = torch::rand({2, options.in_channels(), 9, 9});
    torch::NoGradGuard no_grad;
    EXPECT_LT(max_abs_diff(analog->forward(x), reference->forward(x)), 1e-5)
        << options.in_channels() << "->" << options.out_channels() << " groups " << options.groups();
  }
}

INSTANTIATE_TEST_SUITE_P(Fidelities, AnalogFidelity, ::testing::Values(Fidelity::kFast, Fidelity::kExact));

TEST_P(AnalogFidelity, EveryZooModelBuildsAnalogAndMatchesFloatWithEffectsOff) {
  AnalogSpec spec = small_spec(EffectSet::none(), GetParam());
  spec.array.circuit.rows = spec.array.circuit.cols = 128;
  for (const std::string& name : model_names()) {
    torch::nn::AnyModule float_model = make_model(name);
    torch::nn::AnyModule analog = make_model(name, AnalogLayerFactory(spec));
    copy_weights(*float_model.ptr(), *analog.ptr());
    program_all(*analog.ptr(), 1);
    float_model.ptr()->eval();
    analog.ptr()->eval();
    const torch::Tensor x = torch::rand({2, 1, 28, 28});
    torch::NoGradGuard no_grad;
    const torch::Tensor want = float_model.forward(x);
    EXPECT_LT(max_abs_diff(analog.forward(x), want), 1e-4 * want.abs().max().item<double>()) << name;
  }
}

// The reference: for each array of the layer, xbar::ArraySim (one ADC conversion per column, input
// cycle and phase, then shift-and-add) on the same chip stream; row blocks added digitally.
torch::Tensor array_sim_reference(const AnalogSpec& spec, const torch::Tensor& weight, double w_max,
                                  const torch::Tensor& x, const core::Rng& chip, std::uint64_t read_seed = 9) {
  xbar::ArraySimSpec array = spec.array;
  array.mapping.weight_range = xbar::WeightRange::kValue;
  array.mapping.w_max = w_max;
  const std::int64_t out = weight.size(0), in = weight.size(1), R = array.circuit.rows;
  const std::int64_t n0 = xbar::max_outputs(array.mapping, array.circuit.cols);
  const std::int64_t row_blocks = (in + R - 1) / R, col_blocks = (out + n0 - 1) / n0;
  auto to_eigen = [](const torch::Tensor& t) {
    const torch::Tensor d = t.to(torch::kFloat64).contiguous();
    return Eigen::Matrix<double, -1, -1, Eigen::RowMajor>::Map(d.data_ptr<double>(), d.size(0), d.size(1)).eval();
  };
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(out, x.size(0));
  for (std::int64_t r = 0; r < row_blocks; ++r)
    for (std::int64_t c = 0; c < col_blocks; ++c) {
      const std::int64_t rows = std::min(R, in - r * R), n = std::min(n0, out - c * n0);
      const Eigen::MatrixXd W = to_eigen(weight.index({Slice(c * n0, c * n0 + n), Slice(r * R, r * R + rows)}).t());
      xbar::ArraySim sim(array, W, spec.effects, chip.fork(static_cast<std::uint64_t>(r * col_blocks + c + 1)));
      core::Rng read = core::Rng(read_seed).fork(static_cast<std::uint64_t>(r * col_blocks + c + 1));
      y.middleRows(c * n0, n) += sim.run(to_eigen(x.index({Slice(), Slice(r * R, r * R + rows)}).t()), read);
    }
  return torch::from_blob(y.data(), {y.cols(), y.rows()}, torch::kFloat64).clone();
}

struct ReferenceCase {
  const char* name;
  xbar::SignedMode signed_mode;
  xbar::InputMode input;
  int dac_bits;
  bool ir_drop;
};

class AnalogReference : public Analog, public ::testing::WithParamInterface<ReferenceCase> {};

TEST_P(AnalogReference, ExactMatchesPerConversionArraySim) {
  const ReferenceCase& rc = GetParam();
  // IR drop with linear cells: the array's exact linear response (ArraySim solves the same network).
  AnalogSpec spec = small_spec(chip_effects().set(Effect::kIrDrop, rc.ir_drop).set(Effect::kNonlinearity, !rc.ir_drop),
                               Fidelity::kExact);
  use_rram_like_device(spec);
  spec.array.mapping.signed_mode = rc.signed_mode;
  spec.array.mapping.input = rc.input;
  spec.array.mapping.dac_bits = rc.dac_bits;
  spec.array.adc.bits = 6;
  spec.array.circuit.r_row = spec.array.circuit.r_col = rc.ir_drop ? 2.0 : 0.0;
  spec.double_precision = true;
  AnalogLinear layer(spec, 40, 13, false);
  layer->program(core::Rng(5));
  layer->core().set_input_range(1.0);
  const torch::Tensor x = signed_inputs({6, 40});
  torch::NoGradGuard no_grad;
  const torch::Tensor got = layer->forward(x);
  const torch::Tensor want =
      array_sim_reference(spec, layer->weight, layer->core().tiles().w_max(), x, core::Rng(5));
  const double scale = want.abs().max().item<double>();
  EXPECT_LT(max_abs_diff(got, want), 1e-6 * scale) << rc.name;
  EXPECT_GT(max_abs_diff(got, x.matmul(layer->weight.t())), 1e-3 * scale) << rc.name << ": effects had no effect";
}

INSTANTIATE_TEST_SUITE_P(
    Mappings, AnalogReference,
    ::testing::Values(ReferenceCase{"differential_bit_serial", xbar::SignedMode::kDifferential, xbar::InputMode::kBitSerial, 8, false},
                      ReferenceCase{"offset_multilevel_dac4", xbar::SignedMode::kOffset, xbar::InputMode::kMultilevel, 4, false},
                      ReferenceCase{"differential_ir_drop", xbar::SignedMode::kDifferential, xbar::InputMode::kBitSerial, 8, true}),
    [](const auto& info) { return std::string(info.param.name); });

// Read noise in exact mode: the variance of each output over repeated reads of one programmed chip
// agrees with the per-conversion reference (xbar::ArraySim, a fresh read-noise draw per run), through
// the fused product (bit-serial inputs with quantisation: the noise variances come from the same bmm as
// the currents) and the separate one (4-bit DAC inputs). 300 reads: each variance is known to ~8 %, the
// mean ratio over the 52 outputs to ~2 %; a wrong variance formula (sigma for sigma^2, a missing h(V)^2,
// noise drawn once per forward) is off by far more.
struct NoiseCase {
  const char* name;
  xbar::InputMode input;
  int dac_bits;
};

class AnalogReadNoise : public Analog, public ::testing::WithParamInterface<NoiseCase> {};

TEST_P(AnalogReadNoise, OutputVarianceOverReadsMatchesPerConversionArraySim) {
  const NoiseCase& nc = GetParam();
  AnalogSpec spec = small_spec(EffectSet::only(Effect::kQuantisation).set(Effect::kReadNoise).set(Effect::kProgramming),
                               Fidelity::kExact);
  spec.array.device.programming = {device::VariationModel::kRelative, 0.05, {}};
  spec.array.device.read_noise = {device::VariationModel::kRelative, 0.05, {}};
  spec.array.mapping.input = nc.input;
  spec.array.mapping.dac_bits = nc.dac_bits;
  spec.array.adc.bits = 10;  // LSB well below the noise: the rounding barely shapes it
  spec.double_precision = true;
  AnalogLinear layer(spec, 40, 13, false);
  layer->program(core::Rng(5));
  layer->core().set_input_range(1.0);
  const torch::Tensor x = signed_inputs({4, 40});
  torch::NoGradGuard no_grad;
  constexpr int kReads = 300;
  std::vector<torch::Tensor> got, want;
  for (int k = 0; k < kReads; ++k) {
    got.push_back(layer->forward(x).to(torch::kFloat64));
    want.push_back(array_sim_reference(spec, layer->weight, layer->core().tiles().w_max(), x, core::Rng(5), 100 + k));
  }
  const torch::Tensor var_got = torch::stack(got).var(0), var_want = torch::stack(want).var(0);
  const torch::Tensor mean_got = torch::stack(got).mean(0), mean_want = torch::stack(want).mean(0);
  const double scale = mean_want.abs().max().item<double>();
  ASSERT_GT(var_want.min().item<double>(), 1e-6 * scale * scale) << nc.name << ": the reads must be noisy";
  const torch::Tensor ratio = var_got / var_want;
  EXPECT_NEAR(ratio.mean().item<double>(), 1.0, 0.06) << nc.name;
  EXPECT_GT(ratio.min().item<double>(), 0.6) << nc.name;
  EXPECT_LT(ratio.max().item<double>(), 1.6) << nc.name;
  // The means agree to within their standard errors (a few sigma of sqrt(var / reads)).
  const torch::Tensor z = (mean_got - mean_want) / (var_want * 2.0 / kReads).sqrt();
  EXPECT_LT(z.abs().max().item<double>(), 4.5) << nc.name;
}

INSTANTIATE_TEST_SUITE_P(
    Paths, AnalogReadNoise,
    ::testing::Values(NoiseCase{"fused_bit_serial", xbar::InputMode::kBitSerial, 8},
                      NoiseCase{"separate_multilevel_dac4", xbar::InputMode::kMultilevel, 4}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Analog, FastAndExactAgreeWithProgrammingVariationOnly) {
  for (const bool fine_adc : {false, true}) {
    // Ideal ADC (quantisation off), or weight/input quantisation with a 16-bit ADC.
    EffectSet effects = EffectSet::only(Effect::kProgramming).set(Effect::kQuantisation, fine_adc);
    AnalogSpec fast_spec = small_spec(effects, Fidelity::kFast);
    use_rram_like_device(fast_spec);
    fast_spec.array.adc.bits = 16;
    AnalogSpec exact_spec = fast_spec;
    exact_spec.fidelity = Fidelity::kExact;
    AnalogLinear fast(fast_spec, 50, 9, true), exact(exact_spec, 50, 9, true);
    copy_weights(*fast, *exact);
    fast->program(core::Rng(4));
    exact->program(core::Rng(4));
    const torch::Tensor x = torch::rand({8, 50});
    torch::NoGradGuard no_grad;
    const torch::Tensor yf = fast->forward(x), ye = exact->forward(x);
    const double tolerance = fine_adc ? 2e-3 : 1e-5;
    EXPECT_LT(max_abs_diff(yf, ye), tolerance * ye.abs().max().item<double>()) << "quantisation " << fine_adc;
    EXPECT_GT(max_abs_diff(yf, x.matmul(fast->weight.t()) + fast->bias), 1e-4);
  }
}

TEST_F(Analog, WeightMappingCorrectionWinsBackIrDropLoss) {
  AnalogSpec spec = small_spec(EffectSet::only(Effect::kIrDrop), Fidelity::kFast);
  spec.array.circuit.rows = spec.array.circuit.cols = 64;
  spec.array.circuit.r_row = spec.array.circuit.r_col = 2.0;
  spec.array.circuit.r_driver = spec.array.circuit.r_sense = 20.0;
  AnalogSpec corrected_spec = spec;
  xbar::CorrectionOptions options;
  options.method = "compensated";
  corrected_spec.correction = std::make_shared<xbar::SchemeCorrection>(options);
  AnalogLinear plain(spec, 64, 16, false), corrected(corrected_spec, 64, 16, false);
  copy_weights(*plain, *corrected);
  plain->program(core::Rng(6));
  corrected->program(core::Rng(6));
  const torch::Tensor x = torch::rand({32, 64});
  torch::NoGradGuard no_grad;
  const torch::Tensor ideal = x.matmul(plain->weight.t());
  const double err_plain = (plain->forward(x) - ideal).norm().item<double>() / ideal.norm().item<double>();
  const double err_corrected = (corrected->forward(x) - ideal).norm().item<double>() / ideal.norm().item<double>();
  EXPECT_GT(err_plain, 0.01);                // the IR drop is visible
  EXPECT_LT(err_corrected, 0.5 * err_plain);  // and correction wins most of it back
}

TEST_F(Analog, StraightThroughGradientIsTheFloatGradientAtTheEffectiveWeights) {
  AnalogSpec spec = small_spec(chip_effects(), Fidelity::kFast);
  use_rram_like_device(spec);
  spec.array.mapping.weight_bits = 4;
  spec.array.mapping.input_bits = 4;
  AnalogLinear layer(spec, 30, 7, true);
  layer->program(core::Rng(6));
  const double range = 0.8;
  layer->core().set_input_range(range);
  const torch::Tensor x = signed_inputs({5, 30}).requires_grad_(true);  // some |x| > range: clipped
  const torch::Tensor r = torch::randn({5, 7});
  (layer->forward(x) * r).sum().backward();

  torch::Generator unused = at::detail::createCPUGenerator(0);
  const torch::Tensor w_eff = layer->core().tiles().effective_weights(unused).clone().requires_grad_(true);
  const torch::Tensor x_eff = layer->core().tiles().fast_inputs(x.detach().clamp(-range, range) / range) * range;
  const torch::Tensor b = layer->bias.detach().clone().requires_grad_(true);
  (torch::nn::functional::linear(x_eff, w_eff, b) * r).sum().backward();
  EXPECT_LT(max_abs_diff(layer->weight.grad(), w_eff.grad()), 1e-6);
  EXPECT_LT(max_abs_diff(layer->bias.grad(), b.grad()), 1e-6);
  // Input gradient: the float layer's, masked outside the clipping range.
  const torch::Tensor inside = (x.detach().abs() <= range).to(torch::kFloat32);
  EXPECT_LT(max_abs_diff(x.grad(), r.matmul(w_eff.detach()) * inside), 1e-6);
  EXPECT_GT(max_abs_diff(w_eff.detach(), layer->weight.detach()), 1e-3);  // the chip perturbs the weights
}

TEST_F(Analog, SameSeedSameChipAndReads) {
  AnalogSpec spec = small_spec(EffectSet::all().set(Effect::kIrDrop, false), Fidelity::kExact);
  use_rram_like_device(spec);
  auto run = [&](std::uint64_t seed) {
    torch::manual_seed(11);
    AnalogConv2d layer(spec, torch::nn::Conv2dOptions(2, 5, 3).padding(1));
    program_all(*layer, seed);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::rand({2, 2, 6, 6});
    return torch::cat({layer->forward(x), layer->forward(x)});  // two reads: fresh read noise each
  };
  const torch::Tensor a = run(21), b = run(21), c = run(22);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_GT(max_abs_diff(a, c), 1e-4);
  EXPECT_GT(max_abs_diff(a.index({Slice(0, 2)}), a.index({Slice(2, 4)})), 0.0);
}

TEST_F(Analog, CalibratedAdcNeedsCalibrationAndThenRuns) {
  AnalogSpec spec = small_spec(EffectSet::only(Effect::kQuantisation), Fidelity::kExact);
  spec.array.circuit.rows = spec.array.circuit.cols = 64;
  spec.array.adc.range = xbar::AdcRange::kCalibrated;
  spec.array.adc.percentile = 99.0;
  torch::nn::AnyModule model = make_model("mlp", AnalogLayerFactory(spec));
  program_all(*model.ptr(), 3);
  const torch::Tensor x = torch::rand({4, 1, 28, 28});
  torch::NoGradGuard no_grad;
  EXPECT_THROW(model.forward(x), core::ModelError);
  calibrate_all(model, {x});
  for (AnalogCore* c : analog_cores(*model.ptr())) EXPECT_GT(c->input_range(), 0.0);
  EXPECT_TRUE(torch::isfinite(model.forward(x)).all().item<bool>());
}

TEST_F(Analog, UnprogrammedLayerAndBadCopyAreReported) {
  AnalogLinear layer(small_spec(EffectSet::none(), Fidelity::kFast), 4, 3, true);
  EXPECT_THROW(layer->forward(torch::rand({1, 4})), core::ModelError);
  torch::nn::Linear other(torch::nn::LinearOptions(5, 3));
  EXPECT_THROW(copy_weights(*other, *layer), core::ModelError);
}

// LeNet-5: trained briefly in float on real MNIST digits, then run as-is on analog chips.
double accuracy(torch::nn::AnyModule& model, const Dataset& d) {
  torch::NoGradGuard no_grad;
  model.ptr()->eval();
  return model.forward(d.images).argmax(1).eq(d.labels).to(torch::kFloat64).mean().item<double>();
}

torch::nn::AnyModule trained_lenet(const Dataset& train) {
  torch::manual_seed(1);
  torch::nn::AnyModule model = make_model("lenet5");
  torch::optim::Adam opt(model.ptr()->parameters(), torch::optim::AdamOptions(2e-3));
  model.ptr()->train();
  for (int epoch = 0; epoch < 2; ++epoch) {
    const torch::Tensor order = torch::randperm(train.size());
    for (std::int64_t i = 0; i + 50 <= train.size(); i += 50) {
      const torch::Tensor batch = order.index({Slice(i, i + 50)});
      opt.zero_grad();
      const torch::Tensor loss = torch::nn::functional::cross_entropy(model.forward(train.images.index({batch})),
                                                                      train.labels.index({batch}));
      loss.backward();
      opt.step();
    }
  }
  return model;
}

AnalogSpec rram_spec(EffectSet effects, Fidelity fidelity) {
  AnalogSpec s;
  core::Diagnostics diags;
  YAML::Node section;
  section["preset"] = "rram";
  s.array.device = device::load_device(section, {"test"}, diags, nullptr);
  s.array.circuit.rows = s.array.circuit.cols = 128;
  s.array.mapping.cell_bits = 2;
  s.effects = effects;
  s.fidelity = fidelity;
  return s;
}

TEST_F(Analog, LeNet5OnMnistWithTheRramPreset) {
  if (!std::filesystem::exists(std::string(CIMLAB_DATA_DIR) + "/mnist/images-idx3-ubyte"))
    GTEST_SKIP() << "MNIST not fetched (run scripts/bootstrap)";
  const DatasetSplit data = load_dataset("mnist", CIMLAB_DATA_DIR, 2000, 200);
  torch::nn::AnyModule float_model = trained_lenet(data.train);
  const double float_acc = accuracy(float_model, data.test);
  const std::vector<torch::Tensor> calibration = calibration_batches(data.train, 64, 1);
  struct Case {
    const char* name;
    EffectSet effects;
    Fidelity fidelity;
  };
  std::map<std::string, double> acc_of;
  for (const Case& c : {Case{"off/exact", EffectSet::none(), Fidelity::kExact},
                        Case{"rram/fast", EffectSet::all().set(Effect::kIrDrop, false), Fidelity::kFast},
                        Case{"rram/exact", EffectSet::all().set(Effect::kIrDrop, false), Fidelity::kExact}}) {
    torch::nn::AnyModule model = make_model("lenet5", AnalogLayerFactory(rram_spec(c.effects, c.fidelity)));
    copy_weights(*float_model.ptr(), *model.ptr());
    program_all(*model.ptr(), 7);
    calibrate_all(model, calibration);
    const double acc = accuracy(model, data.test);
    std::printf("[ lenet5 mnist %zu test images ] float %.3f, analog %s %.3f\n",
                static_cast<std::size_t>(data.test.size()), float_acc, c.name, acc);
    acc_of[c.name] = acc;
  }
  EXPECT_GT(float_acc, 0.8);
  EXPECT_EQ(acc_of["off/exact"], float_acc);
  // The RRAM preset (8-bit weights on 2-bit cells, 8-bit ADC, no IR drop) costs a trained LeNet little:
  // within 5 points of float (10 of the 200 images), and the two fidelities agree to 3 points.
  EXPECT_NEAR(acc_of["rram/fast"], float_acc, 0.05);
  EXPECT_NEAR(acc_of["rram/exact"], float_acc, 0.05);
  EXPECT_NEAR(acc_of["rram/exact"], acc_of["rram/fast"], 0.03);
}

// Timing (run on demand: --gtest_also_run_disabled_tests): exact vs float LeNet-5 inference on 1,000
// images, 8-bit bit-serial inputs, 2-bit cells, 8-bit weights and ADC, RRAM preset without IR drop,
// with and without read noise (re-sampled for every conversion).
}  // namespace
}  // namespace cimlab::nn
