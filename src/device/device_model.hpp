#pragma once
// DeviceModel: draws the device effects of physics.md section 2 for a DeviceSpec — programming
// variation, stuck-at faults, conductance drift (all sampled once per chip instance) and read noise
// (re-sampled at every read). Conductances are R x C matrices in siemens; times in seconds.
//
// Randomness: every chip-level draw forks its own stream from the chip generator passed in
// (core::Stream::kProgramming / kFaults / kDrift), so switching one effect on or off never shifts the
// random numbers of another, and the same chip generator always gives the same chip. Read noise draws
// from the generator it is given (the caller's per-read stream) and advances it.
//
// Conductances out of every function are finite and >= floor() (a physical floor > 0: a cell never
// conducts less than its off-state leakage, and the nodal matrix of the IR-drop solvers stays positive
// definite). Programming variation may overshoot G_max, as real devices do; it is not clipped above.
// Thread-safety: const member functions are thread-safe; generators are not (one per thread).
#include <Eigen/Dense>

#include "core/rng.hpp"
#include "device/device_spec.hpp"

namespace cimlab::device {

// Fault codes of a fault map: as in the measured-map file format.
enum FaultCode : int { kStuckOff = -1, kHealthy = 0, kStuckOn = 1 };

class DeviceModel {
 public:
  // Lowest conductance any cell can take, as a fraction of G_min.
  static constexpr double kFloorFraction = 1e-3;

  explicit DeviceModel(DeviceSpec spec);
  const DeviceSpec& spec() const { return spec_; }
  double floor() const { return kFloorFraction * spec_.g_min; }  // S

  // Programmed conductances G = G_t + sigma_p * z (or G_t * exp(sigma * z) for lognormal), per the
  // spec's programming model, clipped to floor(). Precondition: g_target finite (else ModelError).
  Eigen::MatrixXd program(const Eigen::MatrixXd& g_target, const core::Rng& chip_rng) const;
  // Per-cell standard deviation (S) of the additive programming models; zero for none / lognormal.
  Eigen::MatrixXd programming_sigma(const Eigen::MatrixXd& g_target) const;

  // Fault map (rows x cols of FaultCode): read from spec.faults.map_file when given (its shape must be
  // rows x cols, codes in {-1, 0, 1}, else core::InputError naming the file), otherwise each cell is
  // independently stuck-on with p_stuck_on and stuck-off with p_stuck_off.
  Eigen::MatrixXi sample_faults(int rows, int cols, const core::Rng& chip_rng) const;
  // Stuck-on cells set to G_max, stuck-off cells to G_min; other cells unchanged.
  Eigen::MatrixXd apply_faults(const Eigen::MatrixXd& g, const Eigen::MatrixXi& faults) const;

  // Per-cell drift exponents nu ~ N(nu_mean, nu_std), rows x cols.
  Eigen::MatrixXd drift_exponents(int rows, int cols, const core::Rng& chip_rng) const;
  // Conductances at spec.drift.time: G0 * (t / t0)^-nu (unchanged when drift is inactive).
  Eigen::MatrixXd apply_drift(const Eigen::MatrixXd& g0, const Eigen::MatrixXd& nu) const;
  // Global drift compensation gain: summed conductance read at t over that at t0 (a reference read
  // with every row on). Divide outputs by it. Joshi et al., Nat. Commun. 11, 2473 (2020), "GDC".
  static double drift_gain(const Eigen::MatrixXd& g0, const Eigen::MatrixXd& g_t);

  // Per-cell read-noise standard deviation (S) of conductances g; zero when read noise is off.
  Eigen::MatrixXd read_noise_sigma(const Eigen::MatrixXd& g) const;
  // One noisy read of conductances g: g + sigma_r * z, clipped to floor(). Advances read_rng.
  Eigen::MatrixXd read(const Eigen::MatrixXd& g, core::Rng& read_rng) const;

 private:
  Eigen::MatrixXd state_sigma(const Eigen::MatrixXd& g, const VariationSpec& v) const;
  DeviceSpec spec_;
};

// A rows x cols matrix of independent standard normal draws (column-major order).
Eigen::MatrixXd standard_normal(int rows, int cols, core::Rng& rng);

}  // namespace cimlab::device
