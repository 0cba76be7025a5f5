#pragma once
// Test helper: seeded random crossbars and inputs (core::Rng, platform-independent), and the error
// measure the IR-drop tests use. Header-only; thread-safe given one Rng per thread.
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "core/rng.hpp"
#include "xbar/circuit.hpp"

namespace cimlab::xbar::testing {

struct ArrayCase {
  CircuitSpec spec;
  Eigen::MatrixXd G;  // S
};

// Conductances uniform in [g_lo, g_hi] S, or log-uniform when log_uniform.
inline Eigen::MatrixXd random_conductances(core::Rng& rng, int rows, int cols, double g_lo, double g_hi,
                                           bool log_uniform = false) {
  Eigen::MatrixXd G(rows, cols);
  for (Eigen::Index k = 0; k < G.size(); ++k)
    G.data()[k] = log_uniform ? std::exp(rng.uniform(std::log(g_lo), std::log(g_hi))) : rng.uniform(g_lo, g_hi);
  return G;
}

// The validation setting of the IR-drop issue: G in [1, 100] uS, wires 1-5 ohm, driver and sense
// 0-100 ohm (each exactly 0 with probability 1/4), one- or two-sided at random.
inline ArrayCase random_array(core::Rng& rng, int rows, int cols) {
  ArrayCase c;
  c.spec.rows = rows;
  c.spec.cols = cols;
  c.spec.r_row = rng.uniform(1.0, 5.0);
  c.spec.r_col = rng.uniform(1.0, 5.0);
  c.spec.r_driver = rng.uniform() < 0.25 ? 0.0 : rng.uniform(0.0, 100.0);
  c.spec.r_sense = rng.uniform() < 0.25 ? 0.0 : rng.uniform(0.0, 100.0);
  c.spec.two_sided_drive = rng.uniform() < 0.5;
  c.spec.two_sided_sense = rng.uniform() < 0.5;
  c.G = random_conductances(rng, rows, cols, 1e-6, 100e-6);
  return c;
}

// K input vectors with entries uniform in [0, v_max] V.
inline Eigen::MatrixXd random_inputs(core::Rng& rng, int rows, int k, double v_max = 0.2) {
  Eigen::MatrixXd V(rows, k);
  for (Eigen::Index e = 0; e < V.size(); ++e) V.data()[e] = rng.uniform(0.0, v_max);
  return V;
}

// max over entries of |actual - reference| / |reference| (entries with reference 0 compare absolutely).
inline double max_relative_error(const Eigen::MatrixXd& actual, const Eigen::MatrixXd& reference) {
  double worst = 0.0;
  for (Eigen::Index e = 0; e < reference.size(); ++e) {
    const double ref = reference.data()[e], diff = std::abs(actual.data()[e] - ref);
    worst = std::max(worst, ref != 0.0 ? diff / std::abs(ref) : diff);
  }
  return worst;
}

}  // namespace cimlab::xbar::testing
