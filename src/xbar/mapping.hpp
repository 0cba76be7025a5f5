#pragma once
// The `mapping:` config section and the weight -> conductance and input -> voltage mappings of
// physics.md section 1.
//
// Weights: w in [-w_max, w_max] maps linearly onto the conductance window [G_min, G_max]. A B_w-bit
// weight code is split into S = ceil(B_w / b_cell) slices of b_cell bits (L = 2^b_cell levels per cell)
// on S column groups, recombined digitally with shifts 2^(b_cell s).
//   differential: code q = round(|w| / w_max * (2^B_w - 1)) on a (+, -) column pair per slice;
//                 weight step dw = w_max / (2^B_w - 1).
//   offset:       code k = round((w + w_max) / dw) with dw = 2 w_max / (2^B_w - 1) (2^B_w levels, zero is
//                 not one of them), stored as u = k + (2^(b S) - 2^B_w) / 2 so that a shared reference
//                 column at G_mid = (G_min + G_max) / 2 subtracts the code's midpoint.
// Physical layout of one array: logical weights rows x n_out occupy rows 0..rows-1 and
// columns column(o, s, p) = (o S + s) P + p (P = 2 polarities for differential, 1 for offset), then the
// offset reference column. Unused cells are left at G_min.
//
// Inputs: activations x in [0, 1], code u = round(x (2^B_in - 1)), applied in N cycles of b_x-bit digits
// (bit_serial: b_x = 1; multilevel: b_x = min(dac_bits, input_bits)), digit d -> d / (2^b_x - 1) V_read,
// recombined with shifts 2^(b_x c).
// Without quantisation the codes are left real and split exactly into digits in [0, L - 1] (see
// split_digits), so the physical layout and cycle count stay the same.
// All classes are immutable after construction and thread-safe.
#include <Eigen/Dense>

#include <vector>

#include "core/params.hpp"
#include "device/device_spec.hpp"
#include "xbar/circuit.hpp"

namespace cimlab::xbar {

enum class SignedMode { kDifferential, kOffset };
enum class InputMode { kBitSerial, kMultilevel };
enum class WeightRange { kMaxAbs, kValue };

struct MappingSpec {
  SignedMode signed_mode = SignedMode::kDifferential;
  int weight_bits = 8;  // B_w, 1..16
  int cell_bits = 1;    // b_cell, 1..8, <= device.max_cell_bits
  InputMode input = InputMode::kBitSerial;
  int input_bits = 8;   // B_in, 1..16
  int dac_bits = 8;     // B_dac (multilevel only), 1..16
  WeightRange weight_range = WeightRange::kMaxAbs;
  double w_max = 0.0;   // weight_range kValue: the weight mapped to the window's edge, > 0

  int slices() const { return (weight_bits + cell_bits - 1) / cell_bits; }
  int input_digit_bits() const;
  int input_cycles() const { return (input_bits + input_digit_bits() - 1) / input_digit_bits(); }
};

// The parameters of the `mapping:` section.
const core::Schema& mapping_schema();
// Builds the spec from validated params; cross-field problems (cell_bits above the device's
// max_cell_bits, w_max missing or not applicable, dac_bits with bit_serial) are added to diags.
MappingSpec make_mapping_spec(const core::Params& p, const device::DeviceSpec& device, const core::Origin& origin,
                              core::Diagnostics& diags);

// Splits real codes r in [0, 2^(digit_bits count) - 1] into `count` digits d_s in [0, 2^digit_bits - 1]
// with r = sum_s d_s 2^(digit_bits s). Integer codes give their exact base-2^digit_bits digits; real
// codes give integer upper digits where possible and a real remainder. Element [s] is digit s.
std::vector<Eigen::MatrixXd> split_digits(const Eigen::MatrixXd& code, int digit_bits, int count);

// Where a layer block sits on one array.
struct Layout {
  int rows = 0;        // array rows used (the logical weight rows)
  int n_out = 0;       // logical outputs
  int slices = 1;      // S
  int polarities = 2;  // P: 2 differential (+, -), 1 offset
  bool reference = false;

  static Layout of(const MappingSpec& spec, int rows, int n_out);
  int cols_used() const { return n_out * slices * polarities + (reference ? 1 : 0); }
  int column(int out, int slice, int polarity) const { return (out * slices + slice) * polarities + polarity; }
  int reference_column() const { return n_out * slices * polarities; }
  // Per physical column of an array `array_cols` wide: the column holding the other polarity of the
  // same weights (differential mapping), else -1 (offset mapping, reference and unused columns).
  std::vector<int> partners(int array_cols) const;
};

// The most logical outputs whose weights fit `array_cols` physical columns with this mapping.
int max_outputs(const MappingSpec& spec, int array_cols);

// The weights of one array and their conductances. Preconditions: g_min < g_max, W finite.
// Throws core::ModelError when W does not fit the array (too many rows or physical columns).
class WeightMapping {
 public:
  WeightMapping(const MappingSpec& spec, double g_min, double g_max, const CircuitSpec& array,
                const Eigen::MatrixXd& W);

  const Layout& layout() const { return layout_; }
  double w_max() const { return w_max_; }
  double weight_step() const { return step_; }  // dw, the weight of one code unit
  // The weights the array holds after quantisation to 2^B_w levels (rows x n_out), clipped to +-w_max.
  Eigen::MatrixXd quantised_weights() const;
  // Target conductances (S) of the whole array (array.rows x array.cols); quantise = false keeps the
  // weight codes real (no weight quantisation, analog cells).
  Eigen::MatrixXd conductances(bool quantise) const;
  // Digital shift-and-add of the used columns: out_o = sum_j R(o, j) y_j (n_out x cols_used), with the
  // polarity signs, slice shifts and the offset reference subtraction.
  const Eigen::MatrixXd& recombination() const { return recombination_; }
  // Weights per siemens of recombined conductance: w = weight_per_siemens() * (G R^T).
  double weight_per_siemens() const;
  // The weights stored in conductances G (array shape): weight_per_siemens * G_used R^T (rows x n_out).
  Eigen::MatrixXd recombine(const Eigen::MatrixXd& G) const;

 private:
  Eigen::MatrixXd codes(bool quantise) const;  // real or integer codes u (offset) or signed q
  MappingSpec spec_;
  double g_min_, g_max_;
  int array_rows_, array_cols_;
  Eigen::MatrixXd W_;
  double w_max_ = 1.0;
  double step_ = 1.0;
  Layout layout_;
  Eigen::MatrixXd recombination_;
};

// Input activations -> row voltages over the input cycles.
class InputEncoding {
 public:
  InputEncoding(const MappingSpec& spec, double v_read);

  int cycles() const { return cycles_; }
  double cycle_weight(int c) const;  // 2^(b_x c)
  // Activations after input quantisation to 2^B_in levels (X clipped to [0, 1]).
  Eigen::MatrixXd quantised(const Eigen::MatrixXd& X) const;
  // Row voltages (V), X.rows() x (cycles K): cycle c of input k is column c K + k.
  Eigen::MatrixXd voltages(const Eigen::MatrixXd& X, bool quantise) const;
  // sum_c cycle_weight(c) V_c = quantised(X) * volts_per_unit().
  double volts_per_unit() const;

 private:
  int input_bits_, digit_bits_, cycles_;
  double v_read_;
};

}  // namespace cimlab::xbar
