#pragma once
// Physical dimensions and parsing of quantities written with their unit ("1.5 ohm", "10 uS", "0.2 V",
// "10 ns"). Values are SI inside cimlab; conversion for display happens only in writers.
#include <optional>
#include <string>
#include <string_view>

namespace cimlab::core {

enum class Dim {
  kNone,  // dimensionless: a bare number
  kResistance,
  kConductance,
  kVoltage,
  kCurrent,
  kTime,
  kEnergy,
  kPower,
  kCapacitance,
  kLength,
  kArea,
  kFrequency,
  kData,       // bytes ("64 KiB"; "bit" = 1/8 B)
  kBandwidth,  // bytes per second ("25.6 GB/s")
};

// The SI unit symbol of a dimension ("ohm", "S", ...); empty for kNone.
std::string_view unit_symbol(Dim dim);
std::string_view dim_name(Dim dim);

// Parses "<number> <prefix><unit>" into SI. Accepted prefixes: f p n u µ m k M G (and none).
// Units: ohm|Ohm|Ω, S, V, A, s, J, W, F, m, m2, Hz, B|bit (data), B/s|bit/s (bandwidth). Data units also take
// the binary prefixes Ki Mi Gi Ti (and K = Ki, as memory sizes are written: "64 KB" = 65,536 B).
// An area's prefix applies to the length ("1 um2" = 1e-12 m2, "2 mm2" = 2e-6 m2).
// A bare number is accepted only for Dim::kNone.
// Returns std::nullopt and sets `error` to a one-line reason on failure.
std::optional<double> parse_quantity(std::string_view text, Dim dim, std::string* error);

// Formats an SI value with an engineering prefix, e.g. 1.5e-5 S -> "15 uS".
std::string format_quantity(double value, Dim dim);

}  // namespace cimlab::core
