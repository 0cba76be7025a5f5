#include "device/device_model.hpp"

#include <fmt/format.h>

#include <cmath>
#include <utility>

#include "core/errors.hpp"
#include "core/matrix_io.hpp"

namespace cimlab::device {

namespace {

// c0 + c1 g + c2 g^2 + ... evaluated elementwise (Horner).
Eigen::ArrayXXd polynomial(const std::vector<double>& c, const Eigen::ArrayXXd& g) {
  Eigen::ArrayXXd p = Eigen::ArrayXXd::Zero(g.rows(), g.cols());
  for (auto it = c.rbegin(); it != c.rend(); ++it) p = p * g + *it;
  return p;
}

void check_finite(const Eigen::MatrixXd& g, const char* what) {
  if (!g.allFinite()) throw core::ModelError(fmt::format("DeviceModel: {} holds NaN or Inf", what));
}

Eigen::MatrixXi read_fault_map(const std::string& path, int rows, int cols) {
  const Eigen::MatrixXd m = core::read_matrix(path);
  if (m.rows() != rows || m.cols() != cols)
    throw core::InputError(fmt::format("{}: fault map is {} x {}, the array is {} x {}", path, m.rows(),
                                       m.cols(), rows, cols));
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i)
      if (m(i, j) != -1.0 && m(i, j) != 0.0 && m(i, j) != 1.0)
        throw core::InputError(fmt::format("{}: fault map entry ({}, {}) is {}; codes are 0 healthy, 1 "
                                           "stuck-on, -1 stuck-off",
                                           path, i + 1, j + 1, m(i, j)));
  return m.cast<int>();
}

}  // namespace

Eigen::MatrixXd standard_normal(int rows, int cols, core::Rng& rng) {
  return Eigen::MatrixXd::NullaryExpr(rows, cols, [&rng]() { return rng.normal(); });
}

DeviceModel::DeviceModel(DeviceSpec spec) : spec_(std::move(spec)) {
  if (!(spec_.g_min > 0.0 && spec_.g_min < spec_.g_max))
    throw core::ModelError(fmt::format("DeviceModel: need 0 < g_min < g_max, got {} and {}", spec_.g_min,
                                       spec_.g_max));
}

// sigma/G_max = max(poly(g), 0) * sigma, g = G/G_max (Joshi et al., Nat. Commun. 11, 2473 (2020), PCM fit).
Eigen::MatrixXd DeviceModel::state_sigma(const Eigen::MatrixXd& g, const VariationSpec& v) const {
  const Eigen::ArrayXXd p = polynomial(v.coefficients, g.array() / spec_.g_max);
  return (p.max(0.0) * (v.sigma * spec_.g_max)).matrix();
}

Eigen::MatrixXd DeviceModel::programming_sigma(const Eigen::MatrixXd& g_target) const {
  const VariationSpec& v = spec_.programming;
  switch (v.model) {
    case VariationModel::kRelative: return v.sigma * g_target.cwiseAbs();  // sigma * G_t
    case VariationModel::kAbsolute:                                         // sigma * (G_max - G_min)
      return Eigen::MatrixXd::Constant(g_target.rows(), g_target.cols(), v.sigma * (spec_.g_max - spec_.g_min));
    case VariationModel::kStateDependent: return state_sigma(g_target, v);
    case VariationModel::kNone:
    case VariationModel::kLognormal: break;
  }
  return Eigen::MatrixXd::Zero(g_target.rows(), g_target.cols());
}

// G = G_t + sigma_p z, or G_t exp(sigma z) (physics.md section 2, class 2: device-to-device variation).
Eigen::MatrixXd DeviceModel::program(const Eigen::MatrixXd& g_target, const core::Rng& chip_rng) const {
  check_finite(g_target, "target conductance");
  const VariationSpec& v = spec_.programming;
  if (v.model == VariationModel::kNone || v.sigma == 0.0) return g_target.cwiseMax(floor());
  core::Rng rng = core::fork(chip_rng, core::Stream::kProgramming);
  const Eigen::MatrixXd z = standard_normal(static_cast<int>(g_target.rows()), static_cast<int>(g_target.cols()), rng);
  if (v.model == VariationModel::kLognormal)  // log-normal state spread (Ambrogio et al., IEEE TED 2014)
    return (g_target.array() * (v.sigma * z.array()).exp()).matrix().cwiseMax(floor());
  return (g_target + programming_sigma(g_target).cwiseProduct(z)).cwiseMax(floor());
}

// Stuck-at-ON / stuck-at-OFF cells at given rates (Chen et al., DATE 2017, RRAM crossbar defects).
Eigen::MatrixXi DeviceModel::sample_faults(int rows, int cols, const core::Rng& chip_rng) const {
  const FaultSpec& f = spec_.faults;
  if (!f.map_file.empty()) return read_fault_map(f.map_file, rows, cols);
  core::Rng rng = core::fork(chip_rng, core::Stream::kFaults);
  const double p_on = f.p_stuck_on, p_any = f.p_stuck_on + f.p_stuck_off;
  return Eigen::MatrixXi::NullaryExpr(rows, cols, [&]() {
    const double u = rng.uniform();
    return u < p_on ? int{kStuckOn} : u < p_any ? int{kStuckOff} : int{kHealthy};
  });
}

Eigen::MatrixXd DeviceModel::apply_faults(const Eigen::MatrixXd& g, const Eigen::MatrixXi& faults) const {
  if (faults.rows() != g.rows() || faults.cols() != g.cols())
    throw core::ModelError(fmt::format("DeviceModel: fault map {} x {} does not match conductances {} x {}",
                                       faults.rows(), faults.cols(), g.rows(), g.cols()));
  const Eigen::ArrayXXi& a = faults.array();
  return (a == kStuckOn).select(spec_.g_max, (a == kStuckOff).select(spec_.g_min, g.array())).matrix();
}

Eigen::MatrixXd DeviceModel::drift_exponents(int rows, int cols, const core::Rng& chip_rng) const {
  core::Rng rng = core::fork(chip_rng, core::Stream::kDrift);
  return (standard_normal(rows, cols, rng).array() * spec_.drift.nu_std + spec_.drift.nu_mean).matrix();
}

// G(t) = G0 (t / t0)^-nu (Ielmini et al., IEEE TED 54(2), 2007, PCM resistance drift).
Eigen::MatrixXd DeviceModel::apply_drift(const Eigen::MatrixXd& g0, const Eigen::MatrixXd& nu) const {
  if (!spec_.drift.active()) return g0;
  const double log_ratio = std::log(spec_.drift.time / spec_.drift.t0);
  return (g0.array() * (-log_ratio * nu.array()).exp()).matrix().cwiseMax(floor());
}

double DeviceModel::drift_gain(const Eigen::MatrixXd& g0, const Eigen::MatrixXd& g_t) {
  const double s0 = g0.sum();
  return s0 > 0.0 ? g_t.sum() / s0 : 1.0;
}

// Read (cycle-to-cycle) noise: Gaussian, sigma_r = sigma G or the state-dependent polynomial
// (Joshi et al., Nat. Commun. 11, 2473 (2020), PCM read-noise model).
Eigen::MatrixXd DeviceModel::read_noise_sigma(const Eigen::MatrixXd& g) const {
  const VariationSpec& v = spec_.read_noise;
  if (v.model == VariationModel::kRelative) return v.sigma * g.cwiseAbs();
  if (v.model == VariationModel::kStateDependent) return state_sigma(g, v);
  return Eigen::MatrixXd::Zero(g.rows(), g.cols());
}

Eigen::MatrixXd DeviceModel::read(const Eigen::MatrixXd& g, core::Rng& read_rng) const {
  if (spec_.read_noise.model == VariationModel::kNone) return g.cwiseMax(floor());
  const Eigen::MatrixXd z = standard_normal(static_cast<int>(g.rows()), static_cast<int>(g.cols()), read_rng);
  return (g + read_noise_sigma(g).cwiseProduct(z)).cwiseMax(floor());
}

}  // namespace cimlab::device
