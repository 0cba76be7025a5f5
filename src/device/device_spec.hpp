#pragma once
// The typed description of one NVM device technology (physics.md section 2), built from the `device:`
// config section (or a preset in configs/devices/). All values SI. Plain data, thread-safe to share.
#include <string>
#include <vector>

#include "core/params.hpp"
#include "device/cell_iv.hpp"

namespace cimlab::device {

enum class VariationModel { kNone, kRelative, kAbsolute, kStateDependent, kLognormal };

struct VariationSpec {
  VariationModel model = VariationModel::kNone;
  double sigma = 0.0;                 // meaning depends on model (see device schema)
  std::vector<double> coefficients;  // state-dependent: sigma/G_max = max(poly(G/G_max), 0) * sigma
};

struct DriftSpec {
  double nu_mean = 0.0;  // drift exponent mean
  double nu_std = 0.0;   // drift exponent spread, per cell
  double t0 = 1.0;       // s, reference time of programming read
  double time = 1.0;     // s, time after programming at which the array is read
  bool compensation = false;
  bool active() const { return time > t0 && (nu_mean != 0.0 || nu_std != 0.0); }
};

struct FaultSpec {
  double p_stuck_on = 0.0;   // fraction of cells stuck at G_max
  double p_stuck_off = 0.0;  // fraction of cells stuck at G_min
  std::string map_file;      // optional measured fault map (CSV/NPY: 0 healthy, 1 stuck-on, -1 stuck-off)
  bool active() const { return p_stuck_on > 0.0 || p_stuck_off > 0.0 || !map_file.empty(); }
};

struct DeviceSpec {
  std::string description;
  double g_min = 1e-6;  // S
  double g_max = 1e-4;  // S
  double v_read = 0.2;  // V
  int max_cell_bits = 1;
  VariationSpec programming;
  VariationSpec read_noise;
  DriftSpec drift;
  FaultSpec faults;
  CellIV iv;
};

// The parameters of the `device:` section (also the shape of every preset file).
const core::Schema& device_schema();

// Builds the spec from validated params; cross-field problems (g_min >= g_max, missing coefficients)
// are added to diags with the section's origin.
DeviceSpec make_device_spec(const core::Params& p, const core::Origin& origin, core::Diagnostics& diags);

}  // namespace cimlab::device
