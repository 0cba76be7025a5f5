// HatNoise: per-step draws of the cheap non-ideality classes for hardware-aware training, from
// per-code tables built with xbar::WeightMapping and device::DeviceModel (see nn/analog.hpp).
#include <cmath>

#include "device/device_model.hpp"
#include "nn/analog.hpp"
#include "xbar/mapping.hpp"

namespace cimlab::nn {

namespace {

torch::Tensor column(const Eigen::VectorXd& v) {
  auto t = torch::empty({v.size()}, torch::kFloat64);
  for (Eigen::Index i = 0; i < v.size(); ++i) t[i] = v(i);
  return t;
}

}  // namespace

HatNoise::HatNoise(const AnalogSpec& spec)
    : differential_(spec.array.mapping.signed_mode == xbar::SignedMode::kDifferential),
      quantise_(spec.effects.has(xbar::Effect::kQuantisation)),
      levels_(std::ldexp(1.0, spec.array.mapping.weight_bits) - 1.0) {
  const device::DeviceSpec& d = spec.array.device;
  xbar::MappingSpec m = spec.array.mapping;
  m.weight_range = xbar::WeightRange::kValue;
  m.w_max = 1.0;
  // Every code once, w_max = 1: differential q = -Q..Q (w = q / Q), offset k = 0..Q (w = 2k / Q - 1).
  const auto q = static_cast<int>(levels_);
  const int codes = differential_ ? 2 * q + 1 : q + 1;
  Eigen::MatrixXd W(1, codes);
  for (int c = 0; c < codes; ++c) W(0, c) = differential_ ? (c - q) / levels_ : 2.0 * c / levels_ - 1.0;
  const xbar::Layout layout = xbar::Layout::of(m, 1, codes);
  xbar::CircuitSpec circuit;
  circuit.rows = 1;
  circuit.cols = layout.cols_used();
  const xbar::WeightMapping mapping(m, d.g_min, d.g_max, circuit, W);
  const Eigen::VectorXd G = mapping.conductances(quantise_).row(0).head(layout.cols_used()).transpose();
  const Eigen::MatrixXd& R = mapping.recombination();  // codes x cols_used
  const double wps = mapping.weight_per_siemens();

  // Per-cell mean and variance of the conductance as read: programming variation and read noise.
  const device::DeviceModel model(d);
  Eigen::VectorXd g_mean = G, g_var = Eigen::VectorXd::Zero(G.size());
  if (spec.effects.has(xbar::Effect::kProgramming)) {
    if (d.programming.model == device::VariationModel::kLognormal) {  // G_t exp(sigma z): exact moments
      const double s2 = d.programming.sigma * d.programming.sigma;
      g_mean = G * std::exp(s2 / 2.0);
      g_var = G.array().square() * std::exp(s2) * (std::exp(s2) - 1.0);
    } else {
      g_var = model.programming_sigma(G.transpose()).transpose().array().square();
    }
  }
  if (spec.effects.has(xbar::Effect::kReadNoise))
    g_var += model.read_noise_sigma(g_mean.transpose()).transpose().array().square().matrix();
  mean_ = column(wps * R * g_mean).to(torch::kFloat32);
  var_ = column(wps * wps * R.array().square().matrix() * g_var).to(torch::kFloat32);
  std_ = var_.sqrt();
  noisy_ = std_.max().item<float>() > 0.0F;

  if (spec.effects.has(xbar::Effect::kFaults) && d.faults.active()) {
    p_on_ = d.faults.p_stuck_on;
    p_off_ = d.faults.p_stuck_off;
    cells_ = static_cast<std::int64_t>(layout.slices) * layout.polarities;
    Eigen::MatrixXd on(codes, cells_), off(codes, cells_);
    for (int c = 0; c < codes; ++c)
      for (int s = 0; s < layout.slices; ++s)
        for (int p = 0; p < layout.polarities; ++p) {
          const int j = layout.column(c, s, p), cell = s * layout.polarities + p;
          on(c, cell) = wps * R(c, j) * (d.g_max - g_mean(j));
          off(c, cell) = wps * R(c, j) * (d.g_min - g_mean(j));
        }
    auto table = [](const Eigen::MatrixXd& t) {
      auto out = torch::empty({t.rows(), t.cols()}, torch::kFloat64);
      for (Eigen::Index i = 0; i < t.rows(); ++i)
        for (Eigen::Index j = 0; j < t.cols(); ++j) out[i][j] = t(i, j);
      return out.to(torch::kFloat32);
    };
    on_ = table(on);
    off_ = table(off);
  }
}

torch::Tensor HatNoise::code_index(const torch::Tensor& w_unit) const {
  const torch::Tensor u = w_unit.clamp(-1.0, 1.0);
  const torch::Tensor code = differential_ ? (u * levels_).round() + levels_ : ((u + 1.0) * (levels_ / 2.0)).round();
  return code.to(torch::kLong);
}

torch::Tensor HatNoise::sample(const torch::Tensor& weight, double w_max, torch::Generator& gen) const {
  torch::NoGradGuard no_grad;
  const torch::Tensor u = weight.detach().to(torch::kFloat32) / w_max;
  const torch::Tensor idx = code_index(u);
  torch::Tensor w = quantise_ ? mean_.index({idx}) : u.clamp(-1.0, 1.0);
  if (noisy_) w = w + std_.index({idx}) * at::randn(w.sizes(), gen, w.options());
  w = w.contiguous();
  const std::int64_t n = w.numel() * cells_;
  for (const auto& [p, table] : {std::pair{p_on_, on_}, std::pair{p_off_, off_}}) {
    if (p <= 0.0) continue;
    const auto stuck = at::binomial(torch::full({1}, static_cast<double>(n), torch::kFloat64),
                                    torch::full({1}, p, torch::kFloat64), gen)
                           .item<std::int64_t>();
    if (stuck == 0) continue;
    const torch::Tensor pos = at::randint(n, {stuck}, gen, torch::TensorOptions().dtype(torch::kLong));
    const torch::Tensor which = pos.div(cells_, "floor"), cell = pos.remainder(cells_);
    const torch::Tensor delta = table.index({idx.flatten().index({which}), cell});
    w.view({-1}).index_add_(0, which, delta);
  }
  return w * w_max;
}

}  // namespace cimlab::nn
