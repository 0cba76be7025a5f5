// Hardware-aware training noise (HatNoise) against the chip it stands for: per-code tables equal to
// xbar::WeightMapping's quantised weights, and the per-weight mean and variance of its draws equal to
// Monte Carlo over xbar::ArraySim chip instances (programming variation, lognormal, stuck cells);
// straight-through gradients and determinism of the HAT forward.
#include <gtest/gtest.h>

#include "nn/analog.hpp"
#include "xbar/array_sim.hpp"

namespace cimlab::nn {
namespace {

using xbar::Effect;
using xbar::EffectSet;

AnalogSpec hat_spec(EffectSet effects, xbar::SignedMode mode = xbar::SignedMode::kDifferential) {
  AnalogSpec s;
  s.array.circuit.rows = 8;
  s.array.circuit.cols = 64;
  s.array.device.max_cell_bits = 2;
  s.array.mapping.cell_bits = 2;
  s.array.mapping.weight_bits = 6;
  s.array.mapping.signed_mode = mode;
  s.array.mapping.weight_range = xbar::WeightRange::kValue;
  s.array.mapping.w_max = 0.5;
  s.effects = effects;
  return s;
}

EffectSet only(std::initializer_list<Effect> list) {
  EffectSet e = EffectSet::none();
  for (Effect x : list) e.set(x, true);
  return e;
}

// Monte Carlo over chips: per-weight mean and variance of the weights an ArraySim array represents.
std::pair<Eigen::MatrixXd, Eigen::MatrixXd> chip_moments(const AnalogSpec& s, const Eigen::MatrixXd& W, int chips) {
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(W.rows(), W.cols()), sq = sum;
  for (int c = 0; c < chips; ++c) {
    const xbar::ArraySim sim(s.array, W, s.effects, core::Rng(100 + c));
    const Eigen::MatrixXd w = sim.mapping().recombine(sim.programmed_conductances());
    sum += w;
    sq += w.cwiseProduct(w);
  }
  const Eigen::MatrixXd mean = sum / chips;
  return {mean, sq / chips - mean.cwiseProduct(mean)};
}

std::pair<torch::Tensor, torch::Tensor> hat_moments(const AnalogSpec& s, const torch::Tensor& w, int draws) {
  const HatNoise hat(s);
  torch::Generator gen = at::detail::createCPUGenerator(7);
  torch::Tensor sum = torch::zeros_like(w, torch::kFloat64), sq = sum.clone();
  for (int d = 0; d < draws; ++d) {
    const torch::Tensor x = hat.sample(w, s.array.mapping.w_max, gen).to(torch::kFloat64);
    sum += x;
    sq += x * x;
  }
  const torch::Tensor mean = sum / draws;
  return {mean, sq / draws - mean * mean};
}

torch::Tensor to_torch(const Eigen::MatrixXd& m) {
  auto t = torch::empty({m.rows(), m.cols()}, torch::kFloat64);
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) t[i][j] = m(i, j);
  return t;
}

Eigen::MatrixXd random_weights(int rows, int cols, double w_max) {
  torch::manual_seed(5);
  const torch::Tensor t = (torch::rand({rows, cols}, torch::kFloat64) * 2 - 1) * w_max;
  Eigen::MatrixXd W(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) W(i, j) = t[i][j].item<double>();
  return W;
}

TEST(Hat, QuantisedDrawsEqualTheMappedWeights) {
  for (auto mode : {xbar::SignedMode::kDifferential, xbar::SignedMode::kOffset}) {
    const AnalogSpec s = hat_spec(only({Effect::kQuantisation}), mode);
    const Eigen::MatrixXd W = random_weights(8, 8, 0.6);  // some beyond w_max: clipped
    const xbar::ArraySim sim(s.array, W, s.effects, core::Rng(1));
    const HatNoise hat(s);
    torch::Generator gen = at::detail::createCPUGenerator(1);
    const torch::Tensor drawn = hat.sample(to_torch(W).to(torch::kFloat32), 0.5, gen).to(torch::kFloat64);
    EXPECT_LT((drawn - to_torch(sim.effective_weights())).abs().max().item<double>(), 1e-6);
  }
}

TEST(Hat, VariationMomentsMatchChipInstances) {
  for (auto model : {device::VariationModel::kRelative, device::VariationModel::kLognormal}) {
    AnalogSpec s = hat_spec(only({Effect::kQuantisation, Effect::kProgramming}));
    s.array.device.programming = {model, 0.1, {}};
    const Eigen::MatrixXd W = random_weights(8, 4, 0.5);
    const auto [chip_mean, chip_var] = chip_moments(s, W, 2000);
    const auto [hat_mean, hat_var] = hat_moments(s, to_torch(W).to(torch::kFloat32), 2000);
    // 2,000 samples: the mean is known to ~sd/45, the variance to ~3 %.
    const torch::Tensor sd = to_torch(chip_var).sqrt();
    EXPECT_LT(((hat_mean - to_torch(chip_mean)).abs() / sd).max().item<double>(), 0.15);
    EXPECT_LT(((hat_var / to_torch(chip_var)) - 1).abs().max().item<double>(), 0.2);
    EXPECT_GT(chip_var.minCoeff(), 0.0);
  }
}

TEST(Hat, StuckCellMomentsMatchChipInstances) {
  AnalogSpec s = hat_spec(only({Effect::kQuantisation, Effect::kFaults}));
  s.array.device.faults.p_stuck_on = 0.03;
  s.array.device.faults.p_stuck_off = 0.05;
  const Eigen::MatrixXd W = random_weights(8, 4, 0.5);
  const auto [chip_mean, chip_var] = chip_moments(s, W, 3000);
  const auto [hat_mean, hat_var] = hat_moments(s, to_torch(W).to(torch::kFloat32), 3000);
  const double scale = to_torch(chip_var).sqrt().mean().item<double>();
  EXPECT_LT((hat_mean - to_torch(chip_mean)).abs().max().item<double>(), 0.15 * scale);
  EXPECT_LT((hat_var.mean() / to_torch(chip_var).mean() - 1).abs().item<double>(), 0.1);
}

TEST(Hat, TrainingForwardDrawsAfreshWithStraightThroughGradient) {
  AnalogSpec s = hat_spec(EffectSet::all().set(Effect::kIrDrop, false).set(Effect::kDrift, false));
  s.array.device.programming = {device::VariationModel::kRelative, 0.05, {}};
  s.array.device.faults.p_stuck_on = 0.01;
  AnalogLinear layer(s, 8, 4, false);
  {
    torch::NoGradGuard g;
    layer->weight.uniform_(-0.4, 0.4);
  }
  layer->core().enable_hat(EffectSet::all());
  layer->core().set_input_range(1.0);
  layer->train();
  const torch::Tensor x = torch::rand({16, 8}) * 0.9;
  layer->core().set_hat(true, 11);
  const torch::Tensor a = layer->forward(x);
  const torch::Tensor b = layer->forward(x);
  layer->core().set_hat(true, 11);
  const torch::Tensor a2 = layer->forward(x);
  EXPECT_TRUE(torch::equal(a, a2));  // same seed, same draws
  EXPECT_FALSE(torch::equal(a, b));  // a fresh draw every step
  a.sum().backward();
  // Straight through: d sum(y) / dW = sum over the batch of the (quantised) inputs.
  const torch::Tensor xq = (x * 255).round() / 255;
  EXPECT_LT((layer->weight.grad() - xq.sum(0).expand({4, 8})).abs().max().item<double>(), 1e-4);
  layer->core().set_hat(false, 11);  // inactive: the float layer
  EXPECT_LT((layer->forward(x) - x.matmul(layer->weight.t())).abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace cimlab::nn
