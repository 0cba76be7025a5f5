#include "xbar/adc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/errors.hpp"
#include "core/matrix_io.hpp"

namespace cimlab::xbar {

using core::Dim;
using core::ParamSpec;

const core::Schema& adc_schema() {
  static const core::Schema schema{
      "adc",
      "the column ADC: resolution, input range, static INL",
      {
          ParamSpec::integer("bits", "8", "resolution B (2^B codes)").at_least(0).at_most(16),
          ParamSpec::choice("range", {"full", "calibrated"}, "full",
                            "full: [0, R G_max V_read]; calibrated: [0, percentile of observed partial sums]"),
          ParamSpec::real("percentile", Dim::kNone, "99.9", "calibrated: percentile of partial sums taken as the top of the range").above(0).at_most(100),
          ParamSpec::path("inl_file", "static INL: CSV/NPY with one offset (LSB) per code, 2^bits values"),
      }};
  return schema;
}

std::vector<double> read_inl(const std::string& path, int bits) {
  const Eigen::MatrixXd m = core::read_matrix(path);
  const Eigen::Index want = Eigen::Index{1} << bits;
  if (m.size() != want)
    throw core::InputError(fmt::format("{}: INL table holds {} values, a {}-bit ADC needs {} (one per code)",
                                       path, m.size(), bits, want));
  std::vector<double> inl;
  inl.reserve(static_cast<std::size_t>(want));
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) inl.push_back(m(i, j));
  return inl;
}

AdcSpec make_adc_spec(const core::Params& p, const core::Origin& origin, core::Diagnostics& diags) {
  AdcSpec a;
  a.bits = static_cast<int>(p.integer("bits"));
  a.range = p.str("range") == "calibrated" ? AdcRange::kCalibrated : AdcRange::kFull;
  a.percentile = p.real("percentile");
  if (a.bits == 0) {
    diags.add({origin.file, 0, 0,
               "adc.bits = 0: an ADC needs at least 1 bit (to study an ideal ADC, switch the quantisation "
               "effect off instead)"});
    return a;
  }
  if (p.has("inl_file")) {
    a.inl_file = p.str("inl_file");
    a.inl = read_inl(a.inl_file, a.bits);
  }
  return a;
}

Adc::Adc(const AdcSpec& spec, double full_scale)
    : spec_(spec), hi_(full_scale), calibrated_(spec.range == AdcRange::kFull) {
  if (spec.bits < 1 || spec.bits > 16)
    throw core::ModelError(fmt::format("Adc: bits must be in [1, 16], got {}", spec.bits));
  if (!(full_scale > 0.0) || !std::isfinite(full_scale))
    throw core::ModelError(fmt::format("Adc: full-scale current must be finite and > 0, got {}", full_scale));
  if (!spec.inl.empty() && spec.inl.size() != (std::size_t{1} << spec.bits))
    throw core::ModelError(fmt::format("Adc: INL table has {} entries for {} bits", spec.inl.size(), spec.bits));
}

// I_hi = the p-th percentile (nearest rank) of the observed partial sums.
void Adc::calibrate(const Eigen::MatrixXd& currents) {
  if (spec_.range != AdcRange::kCalibrated || currents.size() == 0) return;
  std::vector<double> v(currents.data(), currents.data() + currents.size());
  const auto rank = static_cast<std::size_t>(std::ceil(spec_.percentile / 100.0 * static_cast<double>(v.size())));
  const std::size_t k = std::clamp<std::size_t>(rank, 1, v.size()) - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  if (v[k] > lo_) hi_ = v[k];
  calibrated_ = true;
}

double Adc::lsb() const { return (hi_ - lo_) / (std::ldexp(1.0, spec_.bits) - 1.0); }

Eigen::MatrixXi Adc::codes(const Eigen::MatrixXd& currents) const {
  const double top = std::ldexp(1.0, spec_.bits) - 1.0;
  return ((currents.array() - lo_) / lsb()).round().max(0.0).min(top).cast<int>().matrix();
}

// Uniform quantiser with clipping plus static INL per code (physics.md section 1, ADC).
Eigen::MatrixXd Adc::convert(const Eigen::MatrixXd& currents, bool with_inl) const {
  if (!calibrated_)
    throw core::ModelError("Adc: the range is 'calibrated' but calibrate() was never called on sample inputs");
  const Eigen::MatrixXi c = codes(currents);
  if (!with_inl || spec_.inl.empty()) return (lo_ + c.cast<double>().array() * lsb()).matrix();
  const double* inl = spec_.inl.data();
  const Eigen::MatrixXd offset = c.unaryExpr([inl](int code) { return inl[code]; });
  return (lo_ + (c.cast<double>() + offset).array() * lsb()).matrix();
}

}  // namespace cimlab::xbar
