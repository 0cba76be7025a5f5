// Per-layer chip settings (`layers:`, xbar/chip_config.hpp) in the accuracy engine: a digital layer stays
// a float torch layer, a rule's sections reach the specs of the layers it matches and no others, and a
// chip without rules (or with rules that restate its own values) gives the numbers it gave before.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/config.hpp"
#include "core/errors.hpp"
#include "nn/analog.hpp"
#include "nn/data.hpp"
#include "nn/evaluate.hpp"
#include "nn/graph_model.hpp"
#include "nn/models.hpp"

namespace cimlab::nn {
namespace {

// 64 x 64 arrays of 2-bit RRAM cells, 4-bit weights, 6-bit ADC; no IR drop.
const char* kArrays = R"(
array: {rows: 64, cols: 64}
device: {preset: rram, max_cell_bits: 2}
mapping: {cell_bits: 2, weight_bits: 4}
adc: {bits: 6}
)";
const std::string kChip = std::string(kArrays) + "effects: {ir_drop: false, drift: false}\n";

xbar::ChipConfig load_chip(const std::string& yaml) {
  const core::ConfigFile cfg = core::parse_config(yaml, "test.yaml");
  core::Diagnostics diags;
  YAML::Node resolved;
  xbar::ChipConfig chip = xbar::load_chip(cfg.root, cfg.origin, "", diags, resolved);
  diags.throw_if_any();
  return chip;
}

// LeNet-5 with the float model's weights (seed 11) on `chip`, one chip instance (seed 3).
class LayerRules : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    torch::manual_seed(11);
    float_ = make_model("lenet5");
    float_.ptr()->eval();
    x_ = torch::rand({4, 1, 28, 28});
  }

  torch::nn::AnyModule analog(const LayerSpecs& specs) {
    torch::nn::AnyModule m = make_model("lenet5", AnalogLayerFactory(specs));
    copy_weights(*float_.ptr(), *m.ptr());
    m.ptr()->eval();
    program_all(*m.ptr(), 3);
    return m;
  }

  static torch::nn::Module& child(torch::nn::AnyModule& m, const std::string& name) {
    return **m.ptr()->named_children().find(name);
  }

  torch::nn::AnyModule float_;
  torch::Tensor x_;
};

TEST_F(LayerRules, DigitalLayerIsTheFloatLayerOthersAreAnalog) {
  const LayerSpecs specs(load_chip(std::string(kChip) + "layers: {conv1: {digital: true}}"), Fidelity::kFast, false);
  torch::nn::AnyModule m = analog(specs);
  torch::NoGradGuard no_grad;
  auto* conv1 = dynamic_cast<torch::nn::Conv2dImpl*>(&child(m, "conv1"));
  ASSERT_NE(conv1, nullptr);
  auto* float_conv1 = dynamic_cast<torch::nn::Conv2dImpl*>(&child(float_, "conv1"));
  EXPECT_TRUE(torch::equal(conv1->forward(x_), float_conv1->forward(x_)));
  EXPECT_NE(dynamic_cast<AnalogConv2dImpl*>(&child(m, "conv2")), nullptr);
  for (const char* fc : {"fc1", "fc2", "fc3"}) EXPECT_NE(dynamic_cast<AnalogLinearImpl*>(&child(m, fc)), nullptr) << fc;
  EXPECT_EQ(analog_cores(*m.ptr()).size(), 4u);
  EXPECT_FALSE(torch::equal(m.forward(x_), float_.forward(x_)));  // the analog layers do act
}

TEST_F(LayerRules, RuleReachesTheLayersItMatchesOnly) {
  const LayerSpecs specs(
      load_chip(std::string(kChip) + "layers: {\"fc*\": {adc: {bits: 8}, mapping: {weight_bits: 8}}}"),
      Fidelity::kFast, false);
  torch::nn::AnyModule m = analog(specs);
  for (const char* fc : {"fc1", "fc2", "fc3"}) {
    const AnalogSpec& s = dynamic_cast<AnalogLinearImpl&>(child(m, fc)).core().spec();
    EXPECT_EQ(s.array.adc.bits, 8) << fc;
    EXPECT_EQ(s.array.mapping.weight_bits, 8) << fc;
    EXPECT_EQ(s.array.mapping.cell_bits, 2) << fc;  // the chip's own, not set by the rule
  }
  for (const char* conv : {"conv1", "conv2"}) {
    const AnalogSpec& s = dynamic_cast<AnalogConv2dImpl&>(child(m, conv)).core().spec();
    EXPECT_EQ(s.array.adc.bits, 6) << conv;
    EXPECT_EQ(s.array.mapping.weight_bits, 4) << conv;
  }
  // A measurable effect: with quantisation alone, 8-bit fc weights are closer to the float ones.
  torch::NoGradGuard no_grad;
  const LayerSpecs quantised = LayerSpecs(load_chip(kChip), Fidelity::kFast, false)
                                   .then(keep_effects(xbar::EffectSet::only(xbar::Effect::kQuantisation)));
  torch::nn::AnyModule coarse = analog(quantised);
  torch::nn::AnyModule fine = analog(specs.then(keep_effects(xbar::EffectSet::only(xbar::Effect::kQuantisation))));
  const torch::Tensor ref = float_.forward(x_);
  EXPECT_LT((fine.forward(x_) - ref).abs().max().item<double>(), (coarse.forward(x_) - ref).abs().max().item<double>());
}

// No rules: the per-layer path gives exactly the outputs of one spec for every layer (as before); rules
// that restate the chip's own values change nothing either.
TEST_F(LayerRules, WithoutRulesSameNumbersAsOneSpecForAll) {
  const xbar::ChipConfig chip = load_chip(kChip);
  torch::NoGradGuard no_grad;
  const torch::Tensor before = analog(analog_spec(chip, Fidelity::kExact, false)).forward(x_);
  EXPECT_TRUE(torch::equal(analog(LayerSpecs(chip, Fidelity::kExact, false)).forward(x_), before));
  const xbar::ChipConfig restated = load_chip(std::string(kChip) + "layers: {\"*\": {adc: {bits: 6}}}");
  EXPECT_TRUE(torch::equal(analog(LayerSpecs(restated, Fidelity::kExact, false)).forward(x_), before));
}

TEST_F(LayerRules, EvaluationBudgetAndDigitalLayers) {
  Dataset data;
  data.images = torch::rand({32, 1, kImageSide, kImageSide});
  {
    torch::NoGradGuard no_grad;
    data.labels = float_.forward(data.images).argmax(1);
  }
  const EvalSpec eval{2, 32, true, 32};
  const xbar::ChipConfig chip = load_chip(kChip);
  const EvalResult plain = evaluate_chips("lenet5", *float_.ptr(), LayerSpecs(chip, Fidelity::kFast, false), data,
                                          data, eval, 5, false);
  const EvalResult uniform = evaluate_chips("lenet5", *float_.ptr(), analog_spec(chip, Fidelity::kFast, false), data,
                                            data, eval, 5, false);
  ASSERT_EQ(plain.budget.size(), uniform.budget.size());
  for (std::size_t i = 0; i < plain.budget.size(); ++i) {
    EXPECT_EQ(plain.budget[i].effect, uniform.budget[i].effect);
    EXPECT_EQ(plain.budget[i].stats.per_chip, uniform.budget[i].stats.per_chip);
  }
  // Programming variation off for the chip but on for the fc layers: its budget row is run.
  const auto has_row = [](const EvalResult& r, const std::string& e) {
    return std::any_of(r.budget.begin(), r.budget.end(), [&](const BudgetRow& b) { return b.effect == e; });
  };
  const std::string off = std::string(kArrays) + "effects: {ir_drop: false, drift: false, programming: false}\n";
  auto budget_of = [&](const std::string& yaml) {
    return evaluate_chips("lenet5", *float_.ptr(), LayerSpecs(load_chip(yaml), Fidelity::kFast, false), data, data,
                          eval, 5, false);
  };
  EXPECT_FALSE(has_row(budget_of(off), "programming"));
  EXPECT_TRUE(has_row(budget_of(off + "layers: {\"fc*\": {effects: {programming: true}}}"), "programming"));
  // Every layer digital: every chip is the float model.
  const EvalResult digital = evaluate_chips(
      "lenet5", *float_.ptr(), LayerSpecs(load_chip(std::string(kChip) + "layers: {\"*\": {digital: true}}"),
                                          Fidelity::kFast, false),
      data, data, {2, 32, false, 32}, 5, false);
  for (double a : digital.analog.per_chip) EXPECT_EQ(a, 1.0);
}

// A stage's correction and a budget row's effects apply to every layer's spec.
TEST(LayerRuleAdjustments, CorrectionAndEffectsApplyToEveryLayer) {
  const LayerSpecs specs(load_chip(std::string(kArrays) + "layers: {fc3: {correction: {enabled: true}}}"),
                         Fidelity::kFast, false);
  EXPECT_NE(specs.layer("fc3")->correction, nullptr);
  EXPECT_EQ(specs.layer("fc1")->correction, nullptr);
  EXPECT_NE(specs.then(use_correction(true)).layer("fc1")->correction, nullptr);  // hat_wmc
  EXPECT_EQ(specs.then(use_correction(false)).layer("fc3")->correction, nullptr);
  EXPECT_NE(specs.then(keep_effects(xbar::EffectSet::all())).layer("fc3")->correction, nullptr);
  const AnalogSpec quantised = *specs.then(keep_effects(xbar::EffectSet::only(xbar::Effect::kQuantisation))).layer("fc3");
  EXPECT_EQ(quantised.correction, nullptr);  // no IR drop left to correct
  for (int e = 0; e < xbar::kEffectCount; ++e)
    EXPECT_EQ(quantised.effects.has(static_cast<xbar::Effect>(e)), e == static_cast<int>(xbar::Effect::kQuantisation));
}

// An imported model's layers are named after their graph nodes, as `cimlab graph` and the mapper name them.
TEST(LayerRulesOnnx, GraphModelLayersAreMatchedByNodeName) {
  const std::string path = std::string(CIMLAB_TEST_DATA_DIR) + "/fixtures/onnx/lenet.onnx";
  const std::vector<std::string> names = crossbar_layer_names(ModelSource::onnx_file(path));
  ASSERT_GE(names.size(), 2u);
  const std::string rule = "layers: {\"" + names[0] + "\": {digital: true}}";
  GraphModel model = load_onnx_model(path, AnalogLayerFactory(LayerSpecs(load_chip(kChip + rule), Fidelity::kFast, false)));
  EXPECT_EQ(analog_cores(*model).size(), names.size() - 1);
  GraphModel all = load_onnx_model(path, AnalogLayerFactory(LayerSpecs(load_chip(kChip), Fidelity::kFast, false)));
  EXPECT_EQ(analog_cores(*all).size(), names.size());
}

TEST(LayerRuleCheck, APatternMatchingNoLayerIsAConfigError) {
  EXPECT_NO_THROW(check_layer_rules(load_chip(std::string(kChip) + "layers: {\"fc*\": {adc: {bits: 8}}}"), "lenet5"));
  EXPECT_THROW(check_layer_rules(load_chip(std::string(kChip) + "layers: {\"fcx*\": {adc: {bits: 8}}}"), "lenet5"),
               core::ConfigError);
}

}  // namespace
}  // namespace cimlab::nn
