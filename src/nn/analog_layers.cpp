// AnalogCore, AnalogLinear, AnalogConv2d, the analog layer factory and the model-level helpers
// (see nn/analog.hpp).
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/errors.hpp"
#include "nn/analog.hpp"

namespace cimlab::nn {

namespace F = torch::nn::functional;

AnalogCore::AnalogCore(const AnalogSpec& spec, std::int64_t groups, std::int64_t out, std::int64_t in)
    : spec_(spec), tiles_(spec, groups, out, in), read_gen_(at::detail::createCPUGenerator(0)),
      hat_gen_(at::detail::createCPUGenerator(0)) {}

void AnalogCore::program(const torch::Tensor& weight, const core::Rng& chip_rng) {
  chip_rng_ = std::make_unique<core::Rng>(chip_rng);
  read_gen_ = at::detail::createCPUGenerator(core::fork(chip_rng, core::Stream::kReadNoise).next_u64());
  programmed_weight_ = weight.detach().clone();
  tiles_.program(programmed_weight_, chip_rng);
}

// Weights changed since programming (training): map them again onto the same chip instance.
void AnalogCore::ensure_programmed(const torch::Tensor& weight) {
  if (!chip_rng_) throw core::ModelError("analog layer: call program() (or program_all()) before forward()");
  if (torch::equal(weight.detach(), programmed_weight_)) return;
  programmed_weight_ = weight.detach().clone();
  tiles_.program(programmed_weight_, *chip_rng_);
}

double AnalogCore::range_of(const torch::Tensor& x) const {
  if (input_range_ > 0.0) return input_range_;
  const double r = x.detach().abs().max().item<double>();
  return r > 0.0 ? r : 1.0;
}

// Clipped (zero gradient outside [-range, range]) and quantised (identity gradient) inputs.
torch::Tensor AnalogCore::ste_inputs(const torch::Tensor& x, double range) const {
  const torch::Tensor clipped = x.clamp(-range, range);
  const torch::Tensor seen = tiles_.fast_inputs(clipped.detach() / range) * range;
  return clipped + (seen - clipped).detach();
}

// Forward `seen` (the weights the chip computes with), identity backward inside +-w_max and zero
// outside when the mapping clips weights at a fixed w_max.
torch::Tensor AnalogCore::straight_through(const torch::Tensor& weight, double w_max, const torch::Tensor& seen) const {
  torch::Tensor w = weight;
  if (spec_.array.mapping.weight_range == xbar::WeightRange::kValue)
    w = weight * (weight.detach().abs() <= w_max).to(weight.scalar_type());
  return w + (seen.view_as(weight).to(weight.scalar_type()) - w).detach();
}

void AnalogCore::enable_hat(const xbar::EffectSet& classes) {
  AnalogSpec hat = spec_;
  for (int e = 0; e < xbar::kEffectCount; ++e) {
    const auto effect = static_cast<xbar::Effect>(e);
    hat.effects.set(effect, spec_.effects.has(effect) && classes.has(effect));
  }
  hat_ = std::make_unique<HatNoise>(hat);
  hat_gen_ = at::detail::createCPUGenerator(0);
}

void AnalogCore::set_hat(bool active, std::uint64_t seed) {
  hat_active_ = active;
  hat_gen_ = at::detail::createCPUGenerator(seed);
}

double AnalogCore::current_w_max(const torch::Tensor& weight) const {
  const xbar::MappingSpec& m = spec_.array.mapping;
  if (m.weight_range == xbar::WeightRange::kValue) return m.w_max;
  const double max_abs = weight.detach().abs().max().item<double>();
  return max_abs > 0.0 ? max_abs : 1.0;
}

torch::Tensor AnalogCore::forward(const torch::Tensor& x, const torch::Tensor& weight, const LayerOps& ops,
                                  bool training) {
  if (calibration_ == Calibration::kInputRange) {
    observed_range_ = std::max(observed_range_, x.detach().abs().max().item<double>());
    return ops.product(x, weight);
  }
  if (training && hat_) {  // HAT: no programmed chip, fresh draws of the cheap classes
    if (!hat_active_) return ops.product(x, weight);
    const double w_max = current_w_max(weight);
    const torch::Tensor drawn = straight_through(weight, w_max, hat_->sample(weight, w_max, hat_gen_));
    return ops.product(ste_inputs(x, range_of(x)), drawn);
  }
  ensure_programmed(weight);
  const double range = range_of(x);
  if (calibration_ == Calibration::kAdc) {
    tiles_.observe(ops.to_rows(x.detach().clamp(-range, range) / range), read_gen_);
    return ops.product(x, weight);
  }
  const bool grad = torch::GradMode::is_enabled() && (weight.requires_grad() || x.requires_grad());
  auto chip_weights = [&] { return straight_through(weight, tiles_.w_max(), tiles_.effective_weights(read_gen_)); };
  if (spec_.fidelity == Fidelity::kFast) return ops.product(ste_inputs(x, range), chip_weights());
  const torch::Tensor rows = ops.to_rows(x.detach().clamp(-range, range) / range);
  const torch::Tensor exact = ops.from_rows(tiles_.exact_forward(rows, read_gen_) * range, x);
  if (!grad) return exact;
  const torch::Tensor surrogate = ops.product(ste_inputs(x, range), chip_weights());
  return surrogate + (exact - surrogate).detach();
}

void AnalogCore::finish_calibration() {
  if (calibration_ == Calibration::kInputRange && observed_range_ > 0.0) input_range_ = observed_range_;
  if (calibration_ == Calibration::kAdc) tiles_.calibrate_adc();
  calibration_ = Calibration::kOff;
}

AnalogLinearImpl::AnalogLinearImpl(const AnalogSpec& spec, std::int64_t in, std::int64_t out, bool with_bias)
    : core_(spec, 1, out, in) {
  // torch::nn::Linear's initialisation: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = register_parameter("weight", torch::empty({out, in}).uniform_(-bound, bound));
  if (with_bias) bias = register_parameter("bias", torch::empty({out}).uniform_(-bound, bound));
}

void AnalogLinearImpl::program(const core::Rng& chip_rng) { core_.program(weight, chip_rng); }

torch::Tensor AnalogLinearImpl::forward(const torch::Tensor& x) {
  const std::int64_t in = weight.size(1);
  const torch::Tensor rows = x.reshape({-1, in});
  const AnalogCore::LayerOps ops{
      [](const torch::Tensor& a, const torch::Tensor& w) { return a.matmul(w.t()); },
      [](const torch::Tensor& a) { return a; },
      [](const torch::Tensor& y, const torch::Tensor&) { return y; }};
  torch::Tensor y = core_.forward(rows, weight, ops, is_training());
  if (bias.defined()) y = y + bias;
  std::vector<std::int64_t> shape = x.sizes().vec();
  shape.back() = weight.size(0);
  return y.reshape(shape);
}

namespace {

std::array<std::int64_t, 2> pair(const torch::ExpandingArray<2>& a) { return {(*a)[0], (*a)[1]}; }

std::array<std::int64_t, 2> padding_of(const torch::nn::Conv2dOptions& o) {
  if (!c10::holds_alternative<torch::ExpandingArray<2>>(o.padding()) ||
      !c10::holds_alternative<torch::enumtype::kZeros>(o.padding_mode()))
    throw core::ModelError("AnalogConv2d: only explicit zero padding is supported");
  return pair(c10::get<torch::ExpandingArray<2>>(o.padding()));
}

}  // namespace

AnalogConv2dImpl::AnalogConv2dImpl(const AnalogSpec& spec, const torch::nn::Conv2dOptions& options)
    : options_(options),
      core_(spec, options.groups(), options.out_channels() / options.groups(),
            options.in_channels() / options.groups() * (*options.kernel_size())[0] * (*options.kernel_size())[1]) {
  padding_of(options);
  const std::int64_t fan_in = options.in_channels() / options.groups() * (*options.kernel_size())[0] * (*options.kernel_size())[1];
  // torch::nn::Conv2d's initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  weight = register_parameter("weight", torch::empty({options.out_channels(), options.in_channels() / options.groups(),
                                                      (*options.kernel_size())[0], (*options.kernel_size())[1]})
                                            .uniform_(-bound, bound));
  if (options.bias()) bias = register_parameter("bias", torch::empty({options.out_channels()}).uniform_(-bound, bound));
}

torch::Tensor AnalogConv2dImpl::flat_weight() const { return weight.reshape({weight.size(0), -1}); }

void AnalogConv2dImpl::program(const core::Rng& chip_rng) { core_.program(flat_weight(), chip_rng); }

torch::Tensor AnalogConv2dImpl::forward(const torch::Tensor& x) {
  const auto k = pair(options_.kernel_size()), s = pair(options_.stride()), d = pair(options_.dilation());
  const auto p = padding_of(options_);
  const std::int64_t cout = options_.out_channels(), groups = options_.groups();
  const torch::Tensor w4 = weight;
  const AnalogCore::LayerOps ops{
      [&](const torch::Tensor& a, const torch::Tensor& w) {
        return F::conv2d(a, w.view_as(w4), F::Conv2dFuncOptions().stride(s).padding(p).dilation(d).groups(groups));
      },
      [&](const torch::Tensor& a) {  // N x (Cin k k) x L -> (N L) x (Cin k k), channels grouped per group
        const torch::Tensor cols = F::unfold(a, F::UnfoldFuncOptions(k).dilation(d).padding(p).stride(s));
        return cols.transpose(1, 2).reshape({-1, cols.size(1)});
      },
      [&](const torch::Tensor& y, const torch::Tensor& a) {
        const std::int64_t h = (a.size(2) + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0] + 1;
        const std::int64_t wd = (a.size(3) + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1] + 1;
        return y.view({a.size(0), h * wd, cout}).permute({0, 2, 1}).reshape({a.size(0), cout, h, wd});
      }};
  torch::Tensor y = core_.forward(x, flat_weight(), ops, is_training());
  if (bias.defined()) y = y + bias.view({1, -1, 1, 1});
  return y;
}

torch::nn::AnyModule AnalogLayerFactory::linear(const std::string& name, std::int64_t in, std::int64_t out,
                                                bool bias) const {
  const std::optional<AnalogSpec> spec = specs_.layer(name);
  if (!spec) return LayerFactory::linear(name, in, out, bias);
  return torch::nn::AnyModule(AnalogLinear(*spec, in, out, bias));
}

torch::nn::AnyModule AnalogLayerFactory::conv2d(const std::string& name, const torch::nn::Conv2dOptions& options) const {
  const std::optional<AnalogSpec> spec = specs_.layer(name);
  if (!spec) return LayerFactory::conv2d(name, options);
  return torch::nn::AnyModule(AnalogConv2d(*spec, options));
}

void copy_weights(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto params = to.named_parameters(true);
  auto buffers = to.named_buffers(true);
  auto copy = [&](const std::string& name, const torch::Tensor& src) {
    torch::Tensor* dst = params.find(name);
    if (dst == nullptr) dst = buffers.find(name);
    if (dst == nullptr) throw core::ModelError(fmt::format("copy_weights: the target model has no '{}'", name));
    if (dst->sizes() != src.sizes())
      throw core::ModelError(fmt::format("copy_weights: '{}' is {} in the source and {} in the target", name,
                                         fmt::join(src.sizes(), "x"), fmt::join(dst->sizes(), "x")));
    dst->copy_(src);
  };
  for (const auto& p : from.named_parameters(true)) copy(p.key(), p.value());
  for (const auto& b : from.named_buffers(true)) copy(b.key(), b.value());
}

std::vector<AnalogCore*> analog_cores(torch::nn::Module& model) {
  std::vector<AnalogCore*> cores;
  for (const auto& m : model.modules(true)) {
    if (auto* l = dynamic_cast<AnalogLinearImpl*>(m.get())) cores.push_back(&l->core());
    if (auto* c = dynamic_cast<AnalogConv2dImpl*>(m.get())) cores.push_back(&c->core());
  }
  return cores;
}

void program_all(torch::nn::Module& model, std::uint64_t seed) {
  const core::Rng root(seed);
  std::uint64_t i = 0;
  for (const auto& m : model.modules(true)) {
    if (auto* l = dynamic_cast<AnalogLinearImpl*>(m.get())) l->program(root.fork(++i));
    if (auto* c = dynamic_cast<AnalogConv2dImpl*>(m.get())) c->program(root.fork(++i));
  }
}

void calibrate_all(torch::nn::AnyModule& model, const std::vector<torch::Tensor>& batches) {
  torch::NoGradGuard no_grad;
  const bool training = model.ptr()->is_training();
  model.ptr()->eval();
  const std::vector<AnalogCore*> cores = analog_cores(*model.ptr());
  for (const auto stage : {AnalogCore::Calibration::kInputRange, AnalogCore::Calibration::kAdc}) {
    for (AnalogCore* c : cores) c->set_calibration(stage);
    for (const torch::Tensor& b : batches) model.forward(b);
    for (AnalogCore* c : cores) c->finish_calibration();
  }
  model.ptr()->train(training);
}

}  // namespace cimlab::nn
