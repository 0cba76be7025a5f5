// Per-layer analog specs of a network on one chip (see LayerSpecs in nn/analog.hpp).
#include "nn/analog.hpp"
#include "xbar/correction.hpp"

namespace cimlab::nn {

AnalogSpec analog_spec(const xbar::ChipConfig& chip, Fidelity fidelity, bool double_precision) {
  AnalogSpec s;
  s.array = chip.array;
  s.effects = chip.effects;
  s.fidelity = fidelity;
  s.double_precision = double_precision;
  if (chip.correction_enabled) s.correction = xbar::make_correction(chip.correction);
  return s;
}

LayerSpecs::LayerSpecs(xbar::ChipConfig chip, Fidelity fidelity, bool double_precision)
    : chip_(std::make_shared<const xbar::ChipConfig>(std::move(chip))), fidelity_(fidelity),
      double_precision_(double_precision) {}

LayerSpecs::LayerSpecs(AnalogSpec spec) : fidelity_(spec.fidelity), double_precision_(spec.double_precision) {
  xbar::ChipConfig chip;
  chip.array = spec.array;
  chip.effects = spec.effects;
  chip_ = std::make_shared<const xbar::ChipConfig>(std::move(chip));
  uniform_ = std::make_shared<const AnalogSpec>(std::move(spec));
}

LayerSpecs LayerSpecs::then(Adjust adjust) const {
  LayerSpecs out = *this;
  out.adjust_.push_back(std::move(adjust));
  return out;
}

std::optional<AnalogSpec> LayerSpecs::layer(const std::string& name) const {
  if (uniform_) {
    AnalogSpec s = *uniform_;
    for (const Adjust& a : adjust_) a(*chip_, s);
    return s;
  }
  const xbar::LayerChip lc = xbar::chip_for_layer(*chip_, name);
  if (lc.digital) return std::nullopt;
  AnalogSpec s = analog_spec(lc.chip, fidelity_, double_precision_);
  for (const Adjust& a : adjust_) a(lc.chip, s);
  return s;
}

LayerSpecs::Adjust keep_effects(xbar::EffectSet mask) {
  return [mask](const xbar::ChipConfig&, AnalogSpec& s) {
    for (int e = 0; e < xbar::kEffectCount; ++e) {
      const auto effect = static_cast<xbar::Effect>(e);
      s.effects.set(effect, s.effects.has(effect) && mask.has(effect));
    }
    if (!s.effects.has(xbar::Effect::kIrDrop)) s.correction = nullptr;
  };
}

LayerSpecs::Adjust use_correction(bool on) {
  return [on](const xbar::ChipConfig& layer_chip, AnalogSpec& s) {
    s.correction = on ? xbar::make_correction(layer_chip.correction) : nullptr;
  };
}

LayerSpecs::Adjust unknown_faults() {
  return [](const xbar::ChipConfig& layer_chip, AnalogSpec& s) {
    if (!s.correction) return;
    xbar::CorrectionOptions options = xbar::make_correction_options(layer_chip.correction);
    options.known_faults = false;
    s.correction = std::make_shared<xbar::SchemeCorrection>(options);
  };
}

}  // namespace cimlab::nn
