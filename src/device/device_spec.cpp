#include "device/device_spec.hpp"

#include <fmt/format.h>

namespace cimlab::device {

using core::Dim;
using core::ParamSpec;

const core::Schema& device_schema() {
  static const core::Schema schema{
      "device",
      "an NVM cell technology: conductance window, variation, noise, drift, faults, I-V nonlinearity",
      {
          ParamSpec::string("description", "", "one line: technology and the source it is based on"),
          ParamSpec::real("g_min", Dim::kConductance, "1 uS", "lowest programmable conductance").above(0),
          ParamSpec::real("g_max", Dim::kConductance, "100 uS", "highest programmable conductance").above(0),
          ParamSpec::real("v_read", Dim::kVoltage, "0.2 V", "read voltage applied to a row for an input '1'").above(0).at_most(10),
          ParamSpec::integer("max_cell_bits", "1", "bits per cell reliably programmable (levels = 2^bits)").at_least(1).at_most(8),
          ParamSpec::choice("programming.model", {"none", "relative", "absolute", "state_dependent", "lognormal"}, "none",
                            "device-to-device programming variation, sampled once per chip instance"),
          ParamSpec::real("programming.sigma", Dim::kNone, "0", "spread: relative to G_t, to (G_max-G_min), a scale on the polynomial, or of ln G").at_least(0).at_most(10),
          ParamSpec::real_list("programming.coefficients", Dim::kNone, "[]", "state_dependent: sigma/G_max = max(c0 + c1 g + c2 g^2 + ..., 0), g = G_t/G_max"),
          ParamSpec::choice("read_noise.model", {"none", "relative", "state_dependent"}, "none",
                            "cycle-to-cycle read noise, re-sampled at every read"),
          ParamSpec::real("read_noise.sigma", Dim::kNone, "0", "spread relative to G, or a scale on the polynomial").at_least(0).at_most(10),
          ParamSpec::real_list("read_noise.coefficients", Dim::kNone, "[]", "state_dependent: sigma/G_max polynomial in g = G/G_max"),
          ParamSpec::real("drift.nu_mean", Dim::kNone, "0", "mean drift exponent nu in G0*(t/t0)^-nu").at_least(-1).at_most(1),
          ParamSpec::real("drift.nu_std", Dim::kNone, "0", "per-cell spread of nu").at_least(0).at_most(1),
          ParamSpec::real("drift.t0", Dim::kTime, "1 s", "reference time after programming").above(0),
          ParamSpec::real("drift.time", Dim::kTime, "1 s", "time after programming at which the array is read").above(0),
          ParamSpec::boolean("drift.compensation", "false", "global drift compensation (outputs rescaled by a reference column)"),
          ParamSpec::real("faults.p_stuck_on", Dim::kNone, "0", "fraction of cells stuck at G_max").at_least(0).at_most(1),
          ParamSpec::real("faults.p_stuck_off", Dim::kNone, "0", "fraction of cells stuck at G_min").at_least(0).at_most(1),
          ParamSpec::path("faults.map_file", "measured fault map, R x C CSV/NPY: 0 healthy, 1 stuck-on, -1 stuck-off"),
          ParamSpec::choice("nonlinearity.model", {"none", "cubic", "sinh"}, "none",
                            "cell I-V: cubic I = G V (1 + (V/v0)^2); sinh I = G v0 sinh(V/v0)"),
          ParamSpec::real("nonlinearity.v0", Dim::kVoltage, "1 V", "characteristic voltage of the I-V nonlinearity").above(0),
      }};
  return schema;
}

namespace {
VariationModel variation_model(const std::string& s) {
  if (s == "relative") return VariationModel::kRelative;
  if (s == "absolute") return VariationModel::kAbsolute;
  if (s == "state_dependent") return VariationModel::kStateDependent;
  if (s == "lognormal") return VariationModel::kLognormal;
  return VariationModel::kNone;
}

VariationSpec variation(const core::Params& p, const std::string& group, const core::Origin& origin,
                        core::Diagnostics& diags) {
  VariationSpec v{variation_model(p.str(group + ".model")), p.real(group + ".sigma"),
                  p.real_list(group + ".coefficients")};
  if (v.model == VariationModel::kStateDependent && v.coefficients.empty())
    diags.add({origin.file, 0, 0, fmt::format("device.{}: model state_dependent needs coefficients", group)});
  return v;
}
}  // namespace

DeviceSpec make_device_spec(const core::Params& p, const core::Origin& origin, core::Diagnostics& diags) {
  DeviceSpec d;
  if (p.has("description")) d.description = p.str("description");
  d.g_min = p.real("g_min");
  d.g_max = p.real("g_max");
  if (!(d.g_min < d.g_max))
    diags.add({origin.file, 0, 0,
               fmt::format("device: g_min ({}) must be below g_max ({})", core::format_quantity(d.g_min, Dim::kConductance),
                           core::format_quantity(d.g_max, Dim::kConductance))});
  d.v_read = p.real("v_read");
  d.max_cell_bits = static_cast<int>(p.integer("max_cell_bits"));
  d.programming = variation(p, "programming", origin, diags);
  d.read_noise = variation(p, "read_noise", origin, diags);
  d.drift = {p.real("drift.nu_mean"), p.real("drift.nu_std"), p.real("drift.t0"), p.real("drift.time"),
             p.boolean("drift.compensation")};
  d.faults = {p.real("faults.p_stuck_on"), p.real("faults.p_stuck_off"),
              p.has("faults.map_file") ? p.str("faults.map_file") : ""};
  if (d.faults.p_stuck_on + d.faults.p_stuck_off > 1.0)
    diags.add({origin.file, 0, 0, "device.faults: p_stuck_on + p_stuck_off must not exceed 1"});
  const std::string nl = p.str("nonlinearity.model");
  d.iv.kind = nl == "cubic" ? CellIV::Kind::kCubic : nl == "sinh" ? CellIV::Kind::kSinh : CellIV::Kind::kLinear;
  d.iv.v0 = p.real("nonlinearity.v0");
  return d;
}

}  // namespace cimlab::device
