// Monte-Carlo evaluation over chip instances: equal to float with every effect off, reproducible per
// seed, the error budget's rows and statistics, and the eval config's checkpoint checks. Small
// synthetic data (random images labelled by the float model itself), no dataset files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <fstream>

#include "core/errors.hpp"
#include "device/device_spec.hpp"
#include "nn/analog.hpp"
#include "nn/data.hpp"
#include "nn/evaluate.hpp"
#include "nn/models.hpp"

namespace cimlab::nn {
namespace {

using xbar::Effect;
using xbar::EffectSet;

class Evaluate : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    torch::manual_seed(5);
    model_ = make_model("lenet5");
    data_.images = torch::rand({48, 1, kImageSide, kImageSide});
    torch::NoGradGuard no_grad;
    model_.ptr()->eval();
    data_.labels = model_.forward(data_.images).argmax(1);  // float accuracy 1: every flip shows
  }

  EvalResult run(const AnalogSpec& spec, EvalSpec eval, std::uint64_t seed) {
    return evaluate_chips("lenet5", *model_.ptr(), spec, data_, data_, eval, seed, false);
  }

  torch::nn::AnyModule model_;
  Dataset data_;
};

// 128 x 128 arrays of 2-bit cells (4 slices of 8-bit weights); programming variation strong enough
// to flip predictions of an untrained model.
AnalogSpec spec_with(EffectSet effects, Fidelity fidelity) {
  AnalogSpec s;
  s.array.circuit.rows = s.array.circuit.cols = 128;
  s.array.device.max_cell_bits = 2;
  s.array.mapping.cell_bits = 2;
  s.array.device.programming = {device::VariationModel::kRelative, 0.3, {}};
  s.array.device.read_noise = {device::VariationModel::kRelative, 0.05, {}};
  s.effects = effects;
  s.fidelity = fidelity;
  return s;
}

TEST_F(Evaluate, EveryChipEqualsFloatWithEffectsOff) {
  for (const Fidelity f : {Fidelity::kFast, Fidelity::kExact}) {
    const EvalResult r = run(spec_with(EffectSet::none(), f), {2, 48, true, 16}, 1);
    EXPECT_EQ(r.float_accuracy, 1.0);
    for (double a : r.analog.per_chip) EXPECT_EQ(a, r.float_accuracy);
    ASSERT_EQ(r.budget.size(), 1u);  // no effect on: only "all"
    EXPECT_EQ(r.budget[0].effect, "all");
  }
}

TEST_F(Evaluate, SameSeedSameChipsOtherSeedOtherChips) {
  const AnalogSpec spec = spec_with(EffectSet::only(Effect::kProgramming).set(Effect::kReadNoise), Fidelity::kFast);
  const EvalSpec eval{3, 32, false, 48};
  const EvalResult a = run(spec, eval, 7), b = run(spec, eval, 7), c = run(spec, eval, 8);
  EXPECT_EQ(a.analog.per_chip, b.analog.per_chip);
  EXPECT_NE(a.analog.per_chip, c.analog.per_chip);
  EXPECT_LT(a.analog.mean, 1.0);  // the variation does flip predictions
  EXPECT_TRUE(a.budget.empty());
  // The chips of one run are different chips: not every chip scores the same.
  EXPECT_GT(*std::max_element(a.analog.per_chip.begin(), a.analog.per_chip.end()),
            *std::min_element(a.analog.per_chip.begin(), a.analog.per_chip.end()));
  EXPECT_EQ(a.images, 48);
  EXPECT_EQ(a.analog.images, 48);
  EXPECT_LT(a.analog.ci95_low, a.analog.mean);
  EXPECT_GT(a.analog.ci95_high, a.analog.mean);
}

TEST_F(Evaluate, BudgetHasEachEnabledEffectAloneThenAll) {
  const EffectSet effects =
      EffectSet::only(Effect::kQuantisation).set(Effect::kProgramming).set(Effect::kReadNoise);
  const EvalResult r = run(spec_with(effects, Fidelity::kFast), {1, 48, true, 48}, 3);
  ASSERT_EQ(r.budget.size(), 4u);
  const std::vector<std::string> names{"quantisation", "programming", "read_noise", "all"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(r.budget[i].effect, names[i]);
    ASSERT_EQ(r.budget[i].stats.per_chip.size(), 1u);
    EXPECT_EQ(r.budget[i].stats.std, 0.0);
    EXPECT_LE(r.budget[i].stats.p5, r.budget[i].stats.mean);
  }
  EXPECT_EQ(r.analog.per_chip, r.budget.back().stats.per_chip);
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["budget"].size(), 4u);
  EXPECT_DOUBLE_EQ(j["budget"][3]["drop"].get<double>(), r.float_accuracy - r.analog.mean);
}

TEST_F(Evaluate, BudgetSkipsEffectsTheChipDoesNotHave) {
  // Drift, faults, nonlinearity and IR drop switched on, but the device has none of them (no drift
  // exponent, no stuck cells, linear cells, ideal wires): their rows would only repeat the float run.
  const EvalResult r = run(spec_with(EffectSet::all(), Fidelity::kFast), {1, 48, true, 48}, 3);
  std::vector<std::string> names;
  for (const BudgetRow& row : r.budget) names.push_back(row.effect);
  EXPECT_EQ(names, (std::vector<std::string>{"quantisation", "programming", "read_noise", "all"}));
}

TEST(ChipStats, MeanSampleStdAndInterpolatedFifthPercentile) {
  const ChipStats s = chip_stats({0.5, 0.1, 0.3, 0.2, 0.4});
  EXPECT_NEAR(s.mean, 0.3, 1e-15);
  EXPECT_NEAR(s.std, std::sqrt(0.025), 1e-15);
  EXPECT_NEAR(s.p5, 0.12, 1e-15);  // position 0.05 x 4 = 0.2 between 0.1 and 0.2
  EXPECT_LE(s.p5, s.mean);
  const ChipStats one = chip_stats({0.9});
  EXPECT_EQ(one.std, 0.0);
  EXPECT_EQ(one.p5, 0.9);
  EXPECT_THROW(chip_stats({}), core::ModelError);
}

TEST(ChipStats, StudentTQuantilesMatchTheTables) {
  // Two-sided 95 % points (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706204736, 1e-6);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.302652730, 1e-7);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776445105, 1e-7);
  EXPECT_NEAR(student_t_quantile(0.975, 10), 2.228138852, 1e-7);
  EXPECT_NEAR(student_t_quantile(0.975, 30), 2.042272456, 1e-7);
  EXPECT_NEAR(student_t_quantile(0.975, std::numeric_limits<double>::infinity()), 1.959963985, 1e-7);
  EXPECT_NEAR(student_t_quantile(0.025, 4), -2.776445105, 1e-7);
  EXPECT_THROW(student_t_quantile(1.0, 4), core::ModelError);
}

TEST(ChipStats, IntervalAddsChipSpreadAndTestSetSampling) {
  // Five chips on 100 images: v = s^2/k + m(1-m)/n = 0.025/5 + 0.21/100 = 0.0071, Welch-Satterthwaite
  // nu = v^2 (k-1) / (s^2/k)^2 = 8.0656.
  const ChipStats s = chip_stats({0.5, 0.1, 0.3, 0.2, 0.4}, 100);
  const double half = student_t_quantile(0.975, 0.0071 * 0.0071 * 4 / (0.005 * 0.005)) * std::sqrt(0.0071);
  EXPECT_NEAR(half, 0.19403, 2e-5);  // t(0.975, 8.0656) = 2.30274
  EXPECT_NEAR(s.ci95_low, 0.3 - half, 1e-12);
  EXPECT_NEAR(s.ci95_high, 0.3 + half, 1e-12);
  EXPECT_EQ(s.images, 100);
  // One chip (or equal chips): the binomial interval of the test set alone, normal quantile.
  const ChipStats one = chip_stats({0.9}, 400);
  EXPECT_NEAR(one.ci95_high - one.mean, 1.959963985 * std::sqrt(0.9 * 0.1 / 400), 1e-9);
  // More images narrow the test-set part; more chips (same spread) narrow the chip part.
  EXPECT_LT(chip_stats({0.9}, 4000).ci95_high, one.ci95_high);
  const ChipStats two = chip_stats({0.80, 0.84}, 1000), eight = chip_stats({0.80, 0.84, 0.80, 0.84, 0.80, 0.84, 0.80, 0.84}, 1000);
  EXPECT_LT(eight.ci95_high - eight.ci95_low, 0.3 * (two.ci95_high - two.ci95_low));  // t(0.975, ~1) = 12.7
  // Clipped to [0, 1].
  EXPECT_EQ(chip_stats({1.0, 0.98}, 50).ci95_high, 1.0);
  const nlohmann::json j = to_json(s);
  EXPECT_EQ(j["ci95"].size(), 2u);
  EXPECT_EQ(j["images"], 100);
  EXPECT_EQ(j["chips"], 5);
}

// A checkpoint header as cimlab train writes it (nn/train.hpp), with the model's weights.
void write_checkpoint(const std::string& path, const std::string& model_name) {
  torch::serialize::OutputArchive ar, model_ar;
  ar.write("format", c10::IValue(std::string("cimlab-train-checkpoint-1")));
  ar.write("model_name", c10::IValue(model_name));
  ar.write("dataset", c10::IValue(std::string("mnist")));
  ar.write("optimizer_name", c10::IValue(std::string("sgd")));
  ar.write("epoch", c10::IValue(std::int64_t{1}));
  make_model(model_name).ptr()->save(model_ar);
  ar.write("model", model_ar);
  ar.save_to(path);
}

TEST(EvalConfig, ChecksTheCheckpointAgainstModelAndDataset) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "cimlab_eval_config";
  std::filesystem::create_directories(dir);
  write_checkpoint((dir / "mlp.pt").string(), "mlp");
  const std::string config = (dir / "eval.yaml").string();
  std::ofstream(config) << "model: {name: mlp, checkpoint: mlp.pt}\nanalog: {chips: 3}\ndevice: {preset: nor_flash}\n";
  const EvalConfig cfg = load_eval_config(config, {});
  EXPECT_EQ(cfg.model.name, "mlp");
  EXPECT_EQ(cfg.checkpoint, (dir / "mlp.pt").lexically_normal().string());
  EXPECT_EQ(cfg.eval.chips, 3);
  EXPECT_EQ(cfg.fidelity, "exact");
  EXPECT_TRUE(cfg.resolved["analog"]["error_budget"].as<bool>());
  EXPECT_EQ(cfg.resolved["device"]["g_max"].as<std::string>(), "1 uS");
  try {
    load_eval_config(config, {"model.name=lenet5"});
    FAIL() << "a checkpoint of another model was accepted";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint of mlp on mnist, but the config asks for lenet5 on mnist"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_eval_config(config, {"dataset.name=fashion_mnist"}), core::InputError);
  EXPECT_THROW(load_eval_config(config, {"analog.chips=0"}), core::ConfigError);
}

}  // namespace
}  // namespace cimlab::nn
