#include "xbar/mapping.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.hpp"

namespace cimlab::xbar {

using core::Dim;
using core::ParamSpec;

namespace {
double pow2(int bits) { return std::ldexp(1.0, bits); }
}  // namespace

int MappingSpec::input_digit_bits() const {
  return input == InputMode::kBitSerial ? 1 : std::min(dac_bits, input_bits);
}

const core::Schema& mapping_schema() {
  static const core::Schema schema{
      "mapping",
      "how signed weights and input activations are encoded as conductances and row voltages",
      {
          ParamSpec::choice("signed", {"differential", "offset"}, "differential",
                            "signed weights: a (G+, G-) cell pair, or one cell plus a shared reference column"),
          ParamSpec::integer("weight_bits", "8", "weight resolution B_w (2^B_w levels)").at_least(1).at_most(16),
          ParamSpec::integer("cell_bits", "1", "bits per cell b_cell; weights use ceil(B_w / b_cell) slices").at_least(1).at_most(8),
          ParamSpec::choice("input", {"bit_serial", "multilevel"}, "bit_serial",
                            "inputs as B_in cycles of 0/V_read pulses, or as DAC voltage levels"),
          ParamSpec::integer("input_bits", "8", "input activation resolution B_in").at_least(1).at_most(16),
          ParamSpec::integer("dac_bits", "", "multilevel only: DAC resolution (default input_bits; fewer bits take more cycles)").at_least(1).at_most(16),
          ParamSpec::choice("weight_range", {"max_abs", "value"}, "max_abs",
                            "w_max: the block's largest |w|, or the value given in w_max"),
          ParamSpec::real("w_max", Dim::kNone, "", "weight_range value: weight mapped to the window's edge (larger |w| are clipped)").above(0),
      }};
  return schema;
}

MappingSpec make_mapping_spec(const core::Params& p, const device::DeviceSpec& device, const core::Origin& origin,
                              core::Diagnostics& diags) {
  MappingSpec m;
  m.signed_mode = p.str("signed") == "offset" ? SignedMode::kOffset : SignedMode::kDifferential;
  m.weight_bits = static_cast<int>(p.integer("weight_bits"));
  m.cell_bits = static_cast<int>(p.integer("cell_bits"));
  m.input = p.str("input") == "multilevel" ? InputMode::kMultilevel : InputMode::kBitSerial;
  m.input_bits = static_cast<int>(p.integer("input_bits"));
  m.dac_bits = p.has("dac_bits") ? static_cast<int>(p.integer("dac_bits")) : m.input_bits;
  m.weight_range = p.str("weight_range") == "value" ? WeightRange::kValue : WeightRange::kMaxAbs;
  if (p.has("w_max")) m.w_max = p.real("w_max");
  auto problem = [&](std::string msg) { diags.add({origin.file, 0, 0, std::move(msg)}); };
  if (m.cell_bits > device.max_cell_bits)
    problem(fmt::format("mapping.cell_bits = {} exceeds device.max_cell_bits = {}: the device holds at most {} "
                        "reliable levels per cell",
                        m.cell_bits, device.max_cell_bits, 1 << device.max_cell_bits));
  if (m.input == InputMode::kBitSerial && p.has("dac_bits"))
    problem("mapping.dac_bits applies only to input: multilevel (bit_serial inputs use 1-bit pulses)");
  if (m.weight_range == WeightRange::kValue && !p.has("w_max"))
    problem("mapping.weight_range: value needs mapping.w_max");
  if (m.weight_range == WeightRange::kMaxAbs && p.has("w_max"))
    problem("mapping.w_max is used only with weight_range: value (max_abs takes the block's largest |w|)");
  return m;
}

std::vector<Eigen::MatrixXd> split_digits(const Eigen::MatrixXd& code, int digit_bits, int count) {
  const double top = pow2(digit_bits) - 1.0;
  std::vector<Eigen::MatrixXd> digits(static_cast<std::size_t>(count));
  Eigen::ArrayXXd r = code.array();
  for (int s = count - 1; s >= 1; --s) {
    const double place = pow2(digit_bits * s);
    // Largest integer digit that fits, raised just enough that the rest fits the lower digits.
    const Eigen::ArrayXXd d = (r / place).floor().min(top).max((r - (place - 1.0)) / place).max(0.0);
    r -= d * place;
    digits[static_cast<std::size_t>(s)] = d.matrix();
  }
  digits[0] = r.max(0.0).min(top).matrix();
  return digits;
}

Layout Layout::of(const MappingSpec& spec, int rows, int n_out) {
  const bool offset = spec.signed_mode == SignedMode::kOffset;
  return {rows, n_out, spec.slices(), offset ? 1 : 2, offset};
}

std::vector<int> Layout::partners(int array_cols) const {
  std::vector<int> p(static_cast<std::size_t>(std::max(array_cols, 0)), -1);
  if (polarities != 2) return p;
  for (int o = 0; o < n_out; ++o)
    for (int s = 0; s < slices; ++s) {
      const int plus = column(o, s, 0), minus = column(o, s, 1);
      if (minus >= array_cols) continue;
      p[static_cast<std::size_t>(plus)] = minus;
      p[static_cast<std::size_t>(minus)] = plus;
    }
  return p;
}

int max_outputs(const MappingSpec& spec, int array_cols) {
  const Layout one = Layout::of(spec, 1, 1);
  return std::max(0, (array_cols - (one.reference ? 1 : 0)) / (one.slices * one.polarities));
}

WeightMapping::WeightMapping(const MappingSpec& spec, double g_min, double g_max, const CircuitSpec& array,
                             const Eigen::MatrixXd& W)
    : spec_(spec), g_min_(g_min), g_max_(g_max), array_rows_(array.rows), array_cols_(array.cols), W_(W) {
  if (W.size() == 0) throw core::ModelError("WeightMapping: the weight matrix is empty");
  if (!W.allFinite()) throw core::ModelError("WeightMapping: weights hold NaN or Inf");
  const bool offset = spec.signed_mode == SignedMode::kOffset;
  layout_ = Layout::of(spec, static_cast<int>(W.rows()), static_cast<int>(W.cols()));
  if (layout_.rows > array.rows)
    throw core::ModelError(fmt::format("mapping: {} weight rows do not fit the array's {} rows", layout_.rows, array.rows));
  if (layout_.cols_used() > array.cols)
    throw core::ModelError(fmt::format("mapping: {} outputs x {} slices x {} cells{} = {} columns do not fit the "
                                       "array's {} columns",
                                       layout_.n_out, layout_.slices, layout_.polarities,
                                       offset ? " + 1 reference" : "", layout_.cols_used(), array.cols));
  const double max_abs = W.size() > 0 ? W.cwiseAbs().maxCoeff() : 0.0;
  w_max_ = spec.weight_range == WeightRange::kValue ? spec.w_max : (max_abs > 0.0 ? max_abs : 1.0);
  if (!(w_max_ > 0.0) || !std::isfinite(w_max_))
    throw core::ModelError(fmt::format("mapping: w_max must be finite and > 0, got {}", w_max_));
  const double levels = pow2(spec.weight_bits) - 1.0;
  step_ = offset ? 2.0 * w_max_ / levels : w_max_ / levels;

  recombination_ = Eigen::MatrixXd::Zero(layout_.n_out, layout_.cols_used());
  const double all_slices = (pow2(spec.cell_bits * spec.slices()) - 1.0) / (pow2(spec.cell_bits) - 1.0);
  for (int o = 0; o < layout_.n_out; ++o) {
    for (int s = 0; s < layout_.slices; ++s) {
      const double shift = pow2(spec.cell_bits * s);
      recombination_(o, layout_.column(o, s, 0)) = shift;
      if (!offset) recombination_(o, layout_.column(o, s, 1)) = -shift;
    }
    if (offset) recombination_(o, layout_.reference_column()) = -all_slices;
  }
}

Eigen::MatrixXd WeightMapping::codes(bool quantise) const {
  const Eigen::ArrayXXd w = W_.array().max(-w_max_).min(w_max_);
  if (spec_.signed_mode == SignedMode::kDifferential) {
    Eigen::ArrayXXd q = w.abs() / step_;
    if (quantise) q = q.round();
    return (q * w.sign()).matrix();
  }
  Eigen::ArrayXXd k = (w + w_max_) / step_;
  if (quantise) k = k.round();
  const double lift = (pow2(spec_.cell_bits * spec_.slices()) - pow2(spec_.weight_bits)) / 2.0;
  return (k + lift).matrix();
}

Eigen::MatrixXd WeightMapping::quantised_weights() const {
  const Eigen::MatrixXd c = codes(true);
  if (spec_.signed_mode == SignedMode::kDifferential) return c * step_;
  const double mid = (pow2(spec_.cell_bits * spec_.slices()) - 1.0) / 2.0;
  return (c.array() - mid).matrix() * step_;
}

Eigen::MatrixXd WeightMapping::conductances(bool quantise) const {
  const double per_level = (g_max_ - g_min_) / (pow2(spec_.cell_bits) - 1.0);
  auto level = [&](const Eigen::MatrixXd& d, int o) { return (g_min_ + per_level * d.col(o).array()).min(g_max_).matrix(); };
  Eigen::MatrixXd G = Eigen::MatrixXd::Constant(array_rows_, array_cols_, g_min_);
  const Eigen::MatrixXd c = codes(quantise);
  const int rows = layout_.rows, S = layout_.slices;
  if (spec_.signed_mode == SignedMode::kDifferential) {
    const auto pos = split_digits(c.cwiseMax(0.0), spec_.cell_bits, S);
    const auto neg = split_digits((-c).cwiseMax(0.0), spec_.cell_bits, S);
    for (int o = 0; o < layout_.n_out; ++o)
      for (int s = 0; s < S; ++s) {
        G.col(layout_.column(o, s, 0)).head(rows) = level(pos[s], o);
        G.col(layout_.column(o, s, 1)).head(rows) = level(neg[s], o);
      }
    return G;
  }
  const auto dig = split_digits(c, spec_.cell_bits, S);
  for (int o = 0; o < layout_.n_out; ++o)
    for (int s = 0; s < S; ++s)
      G.col(layout_.column(o, s, 0)).head(rows) = level(dig[s], o);
  G.col(layout_.reference_column()).head(rows).setConstant((g_min_ + g_max_) / 2.0);
  return G;
}

double WeightMapping::weight_per_siemens() const {
  return step_ * (pow2(spec_.cell_bits) - 1.0) / (g_max_ - g_min_);
}

Eigen::MatrixXd WeightMapping::recombine(const Eigen::MatrixXd& G) const {
  const Eigen::MatrixXd used = G.topLeftCorner(layout_.rows, layout_.cols_used());
  return weight_per_siemens() * (used * recombination_.transpose());
}

InputEncoding::InputEncoding(const MappingSpec& spec, double v_read)
    : input_bits_(spec.input_bits), digit_bits_(spec.input_digit_bits()), cycles_(spec.input_cycles()),
      v_read_(v_read) {}

double InputEncoding::cycle_weight(int c) const { return pow2(digit_bits_ * c); }

Eigen::MatrixXd InputEncoding::quantised(const Eigen::MatrixXd& X) const {
  const double levels = pow2(input_bits_) - 1.0;
  return ((X.array().max(0.0).min(1.0) * levels).round() / levels).matrix();
}

Eigen::MatrixXd InputEncoding::voltages(const Eigen::MatrixXd& X, bool quantise) const {
  const double levels = pow2(input_bits_) - 1.0;
  Eigen::ArrayXXd u = X.array().max(0.0).min(1.0) * levels;
  if (quantise) u = u.round();
  const auto digits = split_digits(u.matrix(), digit_bits_, cycles_);
  const double volts_per_digit = v_read_ / (pow2(digit_bits_) - 1.0);
  const Eigen::Index K = X.cols();
  Eigen::MatrixXd V(X.rows(), cycles_ * K);
  for (int c = 0; c < cycles_; ++c) V.middleCols(c * K, K) = volts_per_digit * digits[static_cast<std::size_t>(c)];
  return V;
}

double InputEncoding::volts_per_unit() const {
  return v_read_ * (pow2(input_bits_) - 1.0) / (pow2(digit_bits_) - 1.0);
}

}  // namespace cimlab::xbar
