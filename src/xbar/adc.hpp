#pragma once
// The `adc:` config section and the column ADC (physics.md section 1): each column partial-sum current
// I (A) is clipped to [I_lo, I_hi] and uniformly quantised to 2^B codes,
//   code = round((I - I_lo) / LSB), LSB = (I_hi - I_lo) / (2^B - 1),
// and read back as I_lo + (code + INL[code]) LSB, with an optional static INL table (LSB per code).
// Range: full = [0, R_used G_max V_read], or calibrated = [0, the given percentile of observed partial
// sums] set by calibrate(). Sharing one ADC among columns costs latency, not accuracy, so it is not
// modelled here. Thread-safety: const members are thread-safe; calibrate() is not.
#include <Eigen/Dense>

#include <string>
#include <vector>

#include "core/params.hpp"

namespace cimlab::xbar {

enum class AdcRange { kFull, kCalibrated };

struct AdcSpec {
  int bits = 8;  // B, 1..16
  AdcRange range = AdcRange::kFull;
  double percentile = 99.9;  // calibrated: percentile of observed partial sums taken as I_hi, (0, 100]
  std::string inl_file;      // optional: CSV/NPY with 2^B offsets (LSB), one per code
  std::vector<double> inl;   // loaded from inl_file (empty = no INL)
};

// The parameters of the `adc:` section.
const core::Schema& adc_schema();
// Builds the spec and loads inl_file. bits = 0 is reported in diags; an unreadable INL file or one
// without exactly 2^bits finite entries throws core::InputError naming the file.
AdcSpec make_adc_spec(const core::Params& p, const core::Origin& origin, core::Diagnostics& diags);
// Reads an INL table (any matrix shape, read in row-major order) and checks it holds 2^bits entries.
std::vector<double> read_inl(const std::string& path, int bits);

class Adc {
 public:
  // full_scale: I_hi (A) of the full range, R_used G_max V_read, > 0.
  Adc(const AdcSpec& spec, double full_scale);

  // Calibrated range: I_hi = spec.percentile of the observed currents (any shape). Full range: no-op.
  // A percentile <= 0 (no current observed) keeps the full range.
  void calibrate(const Eigen::MatrixXd& currents);
  bool calibrated() const { return calibrated_; }

  double lo() const { return lo_; }
  double hi() const { return hi_; }
  double lsb() const;
  int bits() const { return spec_.bits; }

  // Output codes 0 .. 2^B - 1 of currents (A).
  Eigen::MatrixXi codes(const Eigen::MatrixXd& currents) const;
  // Currents (A) read back from the ADC: clipped, quantised, plus the INL offset of each code when
  // with_inl (and a table was given). Throws core::ModelError when the range is calibrated but
  // calibrate() was never called.
  Eigen::MatrixXd convert(const Eigen::MatrixXd& currents, bool with_inl) const;

 private:
  AdcSpec spec_;
  double lo_ = 0.0;
  double hi_;
  bool calibrated_;
};

}  // namespace cimlab::xbar
