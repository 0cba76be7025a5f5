#pragma once
// Analog layers (issue 3, "Analog execution"): Linear and Conv2d layers that compute as an NVM
// compute-in-memory chip does (physics.md sections 1-2), built from the same typed specs as
// `cimlab xbar` and reusing its physics: xbar::ArraySim programs each array (mapping, programming
// variation, faults, drift), xbar's IR-drop models give each array's exact linear response M
// (currents = M^T V), device::DeviceModel gives the read-noise sigma, device::CellIV the cell I-V.
//
// Partition. A layer's weight matrix W (out x in; a conv kernel unrolled to Cout x (Cin/groups) k k,
// one matrix per group) is stored transposed on arrays of circuit.rows x circuit.cols: ceil(in / rows)
// row blocks x ceil(out / n) column blocks, n = xbar::max_outputs(mapping, cols) outputs per array.
// w_max is per layer (max |W| over the layer for weight_range max_abs, else mapping.w_max).
//
// Inputs. A layer's activations x are scaled by an input range x_r (set by calibrate(), else the
// batch's max |x|) to x / x_r in [-1, 1]; negative entries run as a second phase (as ArraySim does).
//
// Fidelities.
//   fast:  weight-level perturbation: effective weights W_eff = recombination of the programmed (and
//          faulty, drifted, IR-dropped) conductances, plus read noise re-sampled every forward (one
//          sample per forward), inputs quantised to 2^B_in levels; one matmul / conv. Backward:
//          straight-through estimator (identity through rounding, zero outside the clipping ranges).
//   exact: every ADC conversion: inputs split into B_in / b_x cycles of DAC digits, per array, cycle,
//          phase and column one conversion (clip to [lo, hi], 2^B codes, INL), digital shift-and-add
//          over cycles, phases, slices, polarities and row blocks. All conversions of a layer come from
//          one batched matrix product per chunk of inputs (cycles and phases stacked along the batch,
//          arrays along the bmm batch, slices and polarities along the columns). Where the conversion
//          chain is linear (quantisation off, no read noise, linear or no cell I-V) the cycles are
//          summed before the product (bit expansion skipped: an ideal ADC is lossless). Backward: the
//          fast path's gradient (straight-through on the exact result).
// Read noise: fast = per-cell Gaussian on the conductances; exact = per conversion, the exact sum of
// the per-cell terms, sqrt(sum_i sigma_ij^2 h(V_i)^2) z (ArraySim's formula). With IR drop on, the
// noise is added to the IR-dropped response (first order), and a nonlinear cell I-V is applied to the
// row voltages before the array's linear response M (linearised; the exact Newton solve per input is
// left to ArraySim).
//
// Thread-safety: a layer is a torch module: one forward at a time per instance.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "nn/models.hpp"
#include "xbar/adc.hpp"
#include "xbar/array_sim.hpp"
#include "xbar/chip_config.hpp"

namespace cimlab::nn {

enum class Fidelity { kFast, kExact };

struct AnalogSpec {
  xbar::ArraySimSpec array;  // circuit (array size, parasitics), device, mapping, adc, ir_drop type
  xbar::EffectSet effects;   // non-idealities on (xbar::Effect)
  Fidelity fidelity = Fidelity::kFast;
  bool double_precision = false;  // exact engine in float64 (reference comparisons); else float32
  // Weight-mapping correction applied to every array before programming (its gain is divided out
  // digitally); null = none. Shared, immutable (xbar::Correction::apply is const).
  std::shared_ptr<const xbar::Correction> correction;
};

// The arrays of one layer (all groups) and their programmed state. Internal to the analog layers;
// exposed for tests. Shapes: groups G, row blocks RB, column blocks CB, Rmax = min(in, rows),
// Ctot = the physical columns used over the CB column blocks (the last block only as wide as its outputs).
class CrossbarTiles {
 public:
  // in, out: per group. Throws core::ModelError when the mapping leaves no output per array.
  CrossbarTiles(AnalogSpec spec, std::int64_t groups, std::int64_t out, std::int64_t in);

  // Maps weight (groups out x in, float) onto the arrays and samples one chip instance from chip_rng
  // (array a uses chip_rng.fork(a + 1)); computes each array's transfer matrix when IR drop is on.
  void program(const torch::Tensor& weight, const core::Rng& chip_rng);
  bool programmed() const { return g_.defined(); }
  double w_max() const { return w_max_; }
  std::int64_t row_blocks() const { return row_blocks_; }
  std::int64_t col_blocks() const { return col_blocks_; }
  // Layout of array a = (group g, row block r, column block c): a = (g RB + r) CB + c.
  std::int64_t array_index(std::int64_t g, std::int64_t r, std::int64_t c) const {
    return (g * row_blocks_ + r) * col_blocks_ + c;
  }

  // Effective weights (groups out x in, float32) of the programmed arrays; read noise drawn from gen
  // when read noise is on.
  torch::Tensor effective_weights(torch::Generator& gen) const;
  // Every conversion of the arrays: x (N x groups in, activations / x_range in [-1, 1]) -> N x groups
  // out, in the units of W x. No autograd.
  torch::Tensor exact_forward(const torch::Tensor& x, torch::Generator& gen) const;
  // The inputs the fast path multiplies with: x (activations / x_range) clipped to [-1, 1], quantised
  // to 2^B_in levels and passed through the cell I-V digit by digit, as the exact path sees them.
  // Same shape as x; no gradient (callers use a straight-through estimator).
  torch::Tensor fast_inputs(const torch::Tensor& x) const;
  // Accumulates the pre-ADC partial sums of inputs x (as exact_forward) for calibrate_adc().
  void observe(const torch::Tensor& x, torch::Generator& gen);
  // Sets each array's calibrated ADC range from the observed partial sums (xbar::Adc::calibrate).
  void calibrate_adc();
  bool adc_ready() const;

 private:
  struct Stacked;  // padded per-array tensors, rebuilt by program()
  xbar::ArraySimSpec layer_array_spec(const torch::Tensor& w);
  double program_array(const xbar::ArraySimSpec& array, const torch::Tensor& w_group, std::array<std::int64_t, 3> grc,
                       const core::Rng& chip_rng, Stacked& s) const;
  class NormalStream;  // read-noise Gaussians (analog_tiles.cpp)
  torch::Tensor voltages(const torch::Tensor& x, bool expand) const;
  torch::Tensor digit_voltages(const torch::Tensor& x) const;
  torch::Tensor currents(const torch::Tensor& v, const torch::Tensor& g, const torch::Tensor& var,
                         NormalStream& normal) const;
  // Conversions (ADC) and shift-and-add of partial sums i (overwritten) with read-noise variances nv.
  torch::Tensor combine(torch::Tensor& i, const torch::Tensor& nv, std::int64_t n, bool expand,
                        NormalStream& normal) const;
  std::int64_t chunk_rows(bool expand) const;
  bool expands() const;
  void build_adc_tensors();
  Eigen::MatrixXd array_response(const xbar::ArraySim& sim) const;

  AnalogSpec spec_;
  std::int64_t groups_, out_, in_;
  std::int64_t outputs_per_array_, row_blocks_, col_blocks_, rows_max_, cols_per_array_;
  double w_max_ = 1.0;
  double weight_per_siemens_ = 1.0;
  torch::ScalarType dtype_;
  torch::Tensor g_;            // (G RB) x Rmax x Ctot: conductances G, or the response M with IR drop, S
  torch::Tensor noise_var_;    // same shape: read-noise variance, S^2 (undefined without read noise)
  torch::Tensor col_scale_;    // (G RB) x 1 x Ctot: 1 / drift gain of each array
  torch::Tensor recombine_;    // G x Ctot x out: digital shift-and-add of slices and polarities, w / S
  torch::Tensor weight_eff_;   // (G out) x in, float32: effective weights without read noise
  torch::Tensor g_exact_, var_exact_, scale_exact_;  // g_, noise_var_, col_scale_ in ADC LSB units
  torch::Tensor adc_lo_;       // (G RB) x 1 x Ctot: ADC range bottom in LSB; undefined when 0
  torch::Tensor inl_;          // 2^B INL offsets (LSB), undefined when none
  std::vector<xbar::Adc> adcs_;  // one per array (quantisation on)
  std::vector<std::vector<torch::Tensor>> observed_;  // per array, sampled partial sums (calibration)
};

// Hardware-aware training noise (issue 3, HAT): a fresh draw of the cheap non-ideality classes at
// every training step, on tensors only (no xbar::ArraySim per step). The classes: quantisation (weight
// codes, as WeightMapping), programming variation and read noise (fluctuation), stuck cells (defects);
// input quantisation and the cell I-V act on the inputs (CrossbarTiles::fast_inputs). IR drop and drift
// are left to evaluation and to weight-mapping correction.
//
// Everything per weight code comes from the xbar/device formulas themselves, once: each of the
// 2^B_w (offset) or 2^(B_w+1) - 1 (differential) codes is mapped by xbar::WeightMapping onto its
// slices and polarities, and the tables hold, per code, the mean weight (w_max = 1), the variance of
// the recombined conductance noise (device::DeviceModel sigmas; lognormal programming by its exact
// moments) and, per cell, the weight change of that cell stuck on (G_max) or off (G_min). A step draws
// w = w_max (mean[c] + sqrt(var[c]) z) per weight, then Binomial(cells, p) stuck cells at uniform
// positions. Approximations (first order): cells are independent (the offset mapping's reference cell,
// shared by a row's outputs on the chip, is drawn per weight here) and real codes (quantisation off)
// take the nearest code's variance.
class HatNoise {
 public:
  // spec.effects selects the classes (quantisation, programming, read_noise, faults).
  explicit HatNoise(const AnalogSpec& spec);
  // One draw of the effective weights of `weight` mapped with range w_max. No gradient.
  torch::Tensor sample(const torch::Tensor& weight, double w_max, torch::Generator& gen) const;
  // Tables (for tests): mean weight and variance per code index, stuck-on / stuck-off deltas per cell.
  const torch::Tensor& mean() const { return mean_; }
  const torch::Tensor& variance() const { return var_; }
  // Code index of weights w / w_max (clipped to the code range).
  torch::Tensor code_index(const torch::Tensor& w_unit) const;

 private:
  bool differential_, quantise_, noisy_ = false;
  double levels_;  // Q = 2^B_w - 1
  double p_on_ = 0.0, p_off_ = 0.0;
  std::int64_t cells_ = 1;  // cells per weight, S x P
  torch::Tensor mean_, var_, std_, on_, off_;  // per code (on_/off_: codes x cells)
};

// Layer state shared by AnalogLinear and AnalogConv2d: the chip instance, the input range, the mode.
class AnalogCore {
 public:
  AnalogCore(const AnalogSpec& spec, std::int64_t groups, std::int64_t out, std::int64_t in);
  // Samples a chip instance for weight (groups out x in); remembered so that later weight changes
  // (training) re-map onto the same chip (through ArraySim: ~25 ms per LeNet-5 step).
  void program(const torch::Tensor& weight, const core::Rng& chip_rng);
  // Input range x_r; 0 = the batch's max |x|.
  void set_input_range(double range) { input_range_ = range; }
  double input_range() const { return input_range_; }
  const CrossbarTiles& tiles() const { return tiles_; }
  const AnalogSpec& spec() const { return spec_; }

  // How a layer multiplies: product(x, w) is the float op with flat weights w (groups out x in) on
  // inputs in the layer's layout; to_rows(x) gives the matrix rows N' x (groups in) the arrays see;
  // from_rows(y, x) puts N' x (groups out) back into product's output layout.
  struct LayerOps {
    std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> product;
    std::function<torch::Tensor(const torch::Tensor&)> to_rows;
    std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> from_rows;
  };
  // The analog product of x with flat weights (groups out x in) in the chosen fidelity, without bias.
  // training: the layer is in training mode (HAT draws apply, see enable_hat).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weight, const LayerOps& ops,
                        bool training = false);

  // Hardware-aware training. After enable_hat(classes), a training-mode forward draws the cheap classes
  // (HatNoise, the spec's effects restricted to `classes`) afresh at every call instead of reading the
  // programmed chip, with straight-through gradients. set_hat(false) leaves the layer float while
  // training (progressive schedules); `seed` restarts the draws (one seed per epoch = exact resume).
  void enable_hat(const xbar::EffectSet& classes);
  void set_hat(bool active, std::uint64_t seed);
  bool hat_enabled() const { return hat_ != nullptr; }

  // Calibration mode: forward() records input ranges (stage 1) or partial sums (stage 2) and returns
  // the float product. finish_calibration() sets the ADC ranges.
  enum class Calibration { kOff, kInputRange, kAdc };
  void set_calibration(Calibration c) { calibration_ = c; }
  void finish_calibration();

 private:
  void ensure_programmed(const torch::Tensor& weight);
  torch::Tensor ste_inputs(const torch::Tensor& x, double range) const;
  torch::Tensor straight_through(const torch::Tensor& weight, double w_max, const torch::Tensor& seen) const;
  double current_w_max(const torch::Tensor& weight) const;
  double range_of(const torch::Tensor& x) const;

  AnalogSpec spec_;
  CrossbarTiles tiles_;
  std::unique_ptr<core::Rng> chip_rng_;
  torch::Tensor programmed_weight_;
  torch::Generator read_gen_;
  double input_range_ = 0.0;
  double observed_range_ = 0.0;
  Calibration calibration_ = Calibration::kOff;
  std::unique_ptr<HatNoise> hat_;
  bool hat_active_ = true;
  torch::Generator hat_gen_;
};

// y = analog(x W^T) + b; x: [..., in] -> [..., out]. Parameters "weight" (out x in), "bias" (out).
class AnalogLinearImpl : public torch::nn::Module {
 public:
  AnalogLinearImpl(const AnalogSpec& spec, std::int64_t in, std::int64_t out, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  void program(const core::Rng& chip_rng);
  AnalogCore& core() { return core_; }
  torch::Tensor weight, bias;

 private:
  AnalogCore core_;
};
TORCH_MODULE(AnalogLinear);

// Conv2d (zeros padding; stride, dilation, groups incl. depthwise) through unfold: N x Cin x H x W ->
// N x Cout x H' x W'. Parameters "weight" (Cout x Cin/groups x kh x kw), "bias" (Cout).
class AnalogConv2dImpl : public torch::nn::Module {
 public:
  AnalogConv2dImpl(const AnalogSpec& spec, const torch::nn::Conv2dOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  void program(const core::Rng& chip_rng);
  AnalogCore& core() { return core_; }
  torch::Tensor weight, bias;

 private:
  torch::Tensor flat_weight() const;  // Cout x (Cin/groups kh kw)
  torch::nn::Conv2dOptions options_;
  AnalogCore core_;
};
TORCH_MODULE(AnalogConv2d);

// The analog spec of a chip config: its array, effects and (when enabled) correction.
AnalogSpec analog_spec(const xbar::ChipConfig& chip, Fidelity fidelity, bool double_precision);

// The analog spec of each weight layer of a network on one chip: the layer's chip (the chip's sections
// with the matching rules of its `layers:` section applied, xbar::chip_for_layer) through analog_spec(),
// then through each adjustment in the order added (the same for every layer: a budget row's effects, a
// stage's correction, HAT's classes). A layer its chip keeps `digital` has no spec. Copies share the
// chip; adjustments must not keep state between calls.
class LayerSpecs {
 public:
  // Adjusts the spec of a layer whose chip (rules applied) is layer_chip.
  using Adjust = std::function<void(const xbar::ChipConfig& layer_chip, AnalogSpec& spec)>;

  LayerSpecs(xbar::ChipConfig chip, Fidelity fidelity, bool double_precision);
  // Every layer `spec` (tests, benchmarks); the layer_chip adjustments see holds spec's array and
  // effects only (no correction section).
  LayerSpecs(AnalogSpec spec);  // NOLINT(google-explicit-constructor): one spec for all is a LayerSpecs

  // This resolver with `adjust` applied after its own adjustments.
  LayerSpecs then(Adjust adjust) const;
  // The spec of layer `name` (LayerFactory's name); nullopt for a digital layer. Throws core::ConfigError
  // as xbar::chip_for_layer.
  std::optional<AnalogSpec> layer(const std::string& name) const;

 private:
  std::shared_ptr<const xbar::ChipConfig> chip_;
  std::shared_ptr<const AnalogSpec> uniform_;  // every layer's spec before adjustment; null: per layer
  Fidelity fidelity_ = Fidelity::kFast;
  bool double_precision_ = false;
  std::vector<Adjust> adjust_;
};

// Adjustments for LayerSpecs::then. keep_effects: each layer's effects restricted to `mask`; a layer
// left without IR drop loses its correction (there is no drop to correct). use_correction: no layer
// corrected (on = false), or every layer with its chip's correction section whether or not that enables
// it (on = true; needs a LayerSpecs built from a chip).
LayerSpecs::Adjust keep_effects(xbar::EffectSet mask);
LayerSpecs::Adjust use_correction(bool on);
// unknown_faults: a corrected layer's correction without the chip's stuck-cell map (its options with
// known_faults = false, xbar/correction.hpp): the figure for chips whose stuck cells are not known.
LayerSpecs::Adjust unknown_faults();

// Builds every weight layer of a model (zoo or GraphModel) from its own spec: an analog layer, or the
// default float layer for a digital one.
class AnalogLayerFactory : public LayerFactory {
 public:
  explicit AnalogLayerFactory(LayerSpecs specs) : specs_(std::move(specs)) {}
  torch::nn::AnyModule linear(const std::string& name, std::int64_t in, std::int64_t out, bool bias) const override;
  torch::nn::AnyModule conv2d(const std::string& name, const torch::nn::Conv2dOptions& options) const override;

 private:
  LayerSpecs specs_;
};

// Copies parameters and buffers by name from a float model into a model of the same architecture
// (e.g. its analog twin). Throws core::ModelError naming a missing name or a shape mismatch.
void copy_weights(const torch::nn::Module& from, torch::nn::Module& to);
// The analog cores of a model, in module traversal order.
std::vector<AnalogCore*> analog_cores(torch::nn::Module& model);
// Programs every analog layer: layer i (traversal order) gets core::Rng(seed).fork(i + 1).
void program_all(torch::nn::Module& model, std::uint64_t seed);
// Calibrates input ranges (max |x|) and ADC ranges on the given batches (N x 1 x 28 x 28 images):
// two passes in which each analog layer sees the float activations of the layers before it.
void calibrate_all(torch::nn::AnyModule& model, const std::vector<torch::Tensor>& batches);

}  // namespace cimlab::nn
