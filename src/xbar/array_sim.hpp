#pragma once
// ArraySim: what one crossbar array computes, with each class of non-ideality of physics.md section 2
// switchable on its own (for error budgets). Used by `cimlab xbar` and by the training layers.
//
// Pipeline. Construction (once per chip instance): logical weights W (rows x n_out) -> WeightMapping
// target conductances -> optional Correction (replaces the targets by g_program, outputs / gain) ->
// programming variation -> drift to device.drift.time -> stuck-at faults (stuck cells do not drift).
// run(): activations X (rows x K, in [-1, 1]; negative entries run as a second phase) -> InputEncoding
// row voltages for every cycle -> analog column currents of all K inputs x cycles x phases as one block
// (ideal product, cell I-V, read noise, or the IR-drop model) -> ADC per conversion -> digital
// shift-and-add over cycles, slices, polarities and the offset reference -> outputs n_out x K in the
// units of W^T X.
//
// Effects: kQuantisation (weight and input codes, ADC; off = real codes and an ideal ADC),
// kProgramming, kReadNoise, kDrift (with global compensation when device.drift.compensation),
// kFaults, kNonlinearity (cell I-V; ADC INL when quantising too), kIrDrop. With every effect off,
// run() equals W^T X to rounding.
// Read noise is re-sampled for every conversion (one input vector, cycle and phase). Without IR drop
// it is added to each column current as the exact sum of the per-cell Gaussian terms
// (sqrt(sum_i sigma_ij^2 h(V_i)^2) z, with I = g h(V) for every cell I-V); with IR drop each
// conversion programs a noisy array and solves it (cost: one program() per conversion).
// Thread-safety: not thread-safe (owns an IR-drop model); use one ArraySim per thread.
#include <Eigen/Dense>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/params.hpp"
#include "core/rng.hpp"
#include "device/device_model.hpp"
#include "device/device_spec.hpp"
#include "xbar/adc.hpp"
#include "xbar/circuit.hpp"
#include "xbar/ir_drop.hpp"
#include "xbar/mapping.hpp"

namespace cimlab::xbar {

enum class Effect { kQuantisation, kProgramming, kReadNoise, kDrift, kFaults, kNonlinearity, kIrDrop };
inline constexpr int kEffectCount = 7;

// "quantisation", "programming", "read_noise", "drift", "faults", "nonlinearity", "ir_drop".
std::string_view effect_name(Effect e);
std::optional<Effect> effect_from_name(std::string_view name);

struct EffectSet {
  std::array<bool, kEffectCount> on{};

  static EffectSet none() { return {}; }
  static EffectSet all();
  static EffectSet only(Effect e);
  bool has(Effect e) const { return on[static_cast<std::size_t>(e)]; }
  EffectSet& set(Effect e, bool value = true);
};

// What a weight-mapping correction returns: conductances to program (array shape, siemens, inside
// [g_min, g_max]) and the gain the array then computes with (outputs are divided by it).
struct CorrectionOutcome {
  Eigen::MatrixXd g_program;
  double gain = 1.0;
};

// Weight-mapping correction (physics.md section 4), implemented in correction.hpp. Must not keep
// references to its arguments. partners: the array's differential column pairs (Layout::partners;
// empty = none), whose differences rather than single column currents are what must be right.
// stuck: the conductances of the chip's stuck cells (R x C, NaN where a cell is healthy; empty = none
// known), which programming cannot change.
class Correction {
 public:
  virtual ~Correction() = default;
  virtual CorrectionOutcome apply(const CircuitSpec& circuit, const Eigen::MatrixXd& g_target, double g_min,
                                  double g_max, const std::vector<int>& partners,
                                  const Eigen::MatrixXd& stuck) const = 0;
};

struct ArraySimSpec {
  CircuitSpec circuit;
  device::DeviceSpec device;
  MappingSpec mapping;
  AdcSpec adc;
  std::string ir_drop_type = "exact";
  core::Params ir_drop_params;
};

class ArraySim {
 public:
  // chip_rng: programming variation, faults and drift are drawn once here, each from its own fork.
  // Throws core::ModelError when W does not fit the array, core::InputError for a bad fault map.
  ArraySim(const ArraySimSpec& spec, const Eigen::MatrixXd& W, EffectSet effects, const core::Rng& chip_rng,
           const Correction* correction = nullptr);

  // Outputs (n_out x K, units of W^T X) for activations X (rows x K, finite, in [-1, 1]; else
  // core::InputError). read_rng is consumed by read noise only.
  Eigen::MatrixXd run(const Eigen::MatrixXd& X, core::Rng& read_rng);
  // Sets a calibrated ADC range from the partial sums of sample inputs X (rows x K); no-op for full range.
  void calibrate_adc(const Eigen::MatrixXd& X, core::Rng& read_rng);
  // Column currents (A) of every conversion, cols_used x (phases cycles K), before the ADC:
  // conversion of phase p, cycle c, input k is column (p cycles + c) K + k.
  Eigen::MatrixXd analog_currents(const Eigen::MatrixXd& X, core::Rng& read_rng);

  const Eigen::MatrixXd& target_conductances() const { return target_; }         // mapping targets, S
  const Eigen::MatrixXd& programmed_conductances() const { return programmed_; } // as read, S
  const Eigen::MatrixXi& fault_map() const { return faults_; }  // empty when faults are off
  const WeightMapping& mapping() const { return mapping_; }
  const InputEncoding& encoding() const { return encoding_; }
  const Adc& adc() const { return adc_; }
  const EffectSet& effects() const { return effects_; }
  double correction_gain() const { return correction_gain_; }
  double drift_gain() const { return drift_gain_; }  // 1 unless drift compensation is on
  // The weights the array represents (quantised when kQuantisation is on, clipped to +-w_max).
  Eigen::MatrixXd effective_weights() const;
  const IrDropModel* ir_drop_model() const { return ir_.get(); }

 private:
  Eigen::MatrixXd program_chip(const Eigen::MatrixXd& g, const core::Rng& chip_rng);
  std::unique_ptr<IrDropModel> make_ir_model() const;
  Eigen::MatrixXd row_voltages(const Eigen::MatrixXd& X) const;
  Eigen::MatrixXd ideal_path_currents(const Eigen::MatrixXd& V, core::Rng& read_rng) const;
  Eigen::MatrixXd ir_path_currents(const Eigen::MatrixXd& V, core::Rng& read_rng);
  Eigen::MatrixXd combine(const Eigen::MatrixXd& D, Eigen::Index K, int phases) const;
  void check_inputs(const Eigen::MatrixXd& X) const;

  ArraySimSpec spec_;
  EffectSet effects_;
  device::DeviceModel device_;
  WeightMapping mapping_;
  InputEncoding encoding_;
  Adc adc_;
  Eigen::MatrixXd target_;
  Eigen::MatrixXd programmed_;
  Eigen::MatrixXi faults_;
  double correction_gain_ = 1.0;
  double drift_gain_ = 1.0;
  std::unique_ptr<IrDropModel> ir_;
};

}  // namespace cimlab::xbar
