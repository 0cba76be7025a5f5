#include "core/units.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace cimlab::core {

std::string_view unit_symbol(Dim dim) {
  switch (dim) {
    case Dim::kNone: return "";
    case Dim::kResistance: return "ohm";
    case Dim::kConductance: return "S";
    case Dim::kVoltage: return "V";
    case Dim::kCurrent: return "A";
    case Dim::kTime: return "s";
    case Dim::kEnergy: return "J";
    case Dim::kPower: return "W";
    case Dim::kCapacitance: return "F";
    case Dim::kLength: return "m";
    case Dim::kArea: return "m2";
    case Dim::kFrequency: return "Hz";
    case Dim::kData: return "B";
    case Dim::kBandwidth: return "B/s";
  }
  return "";
}

std::string_view dim_name(Dim dim) {
  switch (dim) {
    case Dim::kNone: return "dimensionless";
    case Dim::kResistance: return "resistance";
    case Dim::kConductance: return "conductance";
    case Dim::kVoltage: return "voltage";
    case Dim::kCurrent: return "current";
    case Dim::kTime: return "time";
    case Dim::kEnergy: return "energy";
    case Dim::kPower: return "power";
    case Dim::kCapacitance: return "capacitance";
    case Dim::kLength: return "length";
    case Dim::kArea: return "area";
    case Dim::kFrequency: return "frequency";
    case Dim::kData: return "data size";
    case Dim::kBandwidth: return "bandwidth";
  }
  return "";
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Unit spellings accepted for each dimension (the first is canonical) and their scale to SI (bits are
// eighths of a byte).
std::optional<std::pair<Dim, double>> unit_of(std::string_view u) {
  static const std::array<std::pair<std::string_view, Dim>, 18> kUnits{{
      {"ohm", Dim::kResistance}, {"Ohm", Dim::kResistance}, {"Ω", Dim::kResistance},
      {"S", Dim::kConductance},  {"V", Dim::kVoltage},      {"A", Dim::kCurrent},
      {"s", Dim::kTime},         {"J", Dim::kEnergy},       {"W", Dim::kPower},
      {"F", Dim::kCapacitance},  {"m", Dim::kLength},       {"m2", Dim::kArea},
      {"Hz", Dim::kFrequency},   {"sec", Dim::kTime},         {"B", Dim::kData},
      {"bit", Dim::kData},       {"B/s", Dim::kBandwidth},    {"bit/s", Dim::kBandwidth},
  }};
  for (const auto& [name, dim] : kUnits)
    if (u == name) return std::pair{dim, name.starts_with("bit") ? 0.125 : 1.0};
  return std::nullopt;
}

std::optional<Dim> dim_of_unit(std::string_view u) {
  if (const auto found = unit_of(u)) return found->first;
  return std::nullopt;
}

// Splits "uS" into (1e-6, "S") when "uS" is not itself a unit; "KiB" into (1024, "B").
std::optional<std::pair<double, std::string_view>> split_prefix(std::string_view u) {
  if (const auto found = unit_of(u)) return std::pair{found->second, u};
  static const std::array<std::pair<std::string_view, double>, 5> kBinary{{
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"K", 1024.0}}};
  for (const auto& [p, scale] : kBinary) {
    if (u.size() <= p.size() || u.substr(0, p.size()) != p) continue;
    const auto found = unit_of(u.substr(p.size()));
    if (found && found->first == Dim::kData) return std::pair{scale * found->second, u.substr(p.size())};
  }
  static const std::array<std::pair<std::string_view, double>, 10> kPrefixes{{
      {"f", 1e-15}, {"p", 1e-12}, {"n", 1e-9}, {"u", 1e-6}, {"µ", 1e-6},
      {"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
  }};
  for (const auto& [p, scale] : kPrefixes) {
    if (u.size() <= p.size() || u.substr(0, p.size()) != p) continue;
    const auto found = unit_of(u.substr(p.size()));
    if (!found) continue;
    // An area's prefix scales the length: 1 um2 = (1e-6 m)^2.
    const double factor = found->first == Dim::kArea ? scale * scale : scale;
    return std::pair{factor * found->second, u.substr(p.size())};
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> parse_quantity(std::string_view text, Dim dim, std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<double> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  const std::string_view s = trim(text);
  double value = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end == s.data()) return fail(fmt::format("'{}' is not a number", s));
  if (!std::isfinite(value)) return fail(fmt::format("'{}' is not a finite number", s));
  const std::string_view unit = trim(std::string_view(end, s.data() + s.size() - end));
  if (unit.empty()) {
    if (dim == Dim::kNone) return value;
    return fail(fmt::format("'{}' has no unit; write it with a {} unit, e.g. \"{} {}\"", s,
                            dim_name(dim), s, unit_symbol(dim)));
  }
  if (dim == Dim::kNone) return fail(fmt::format("'{}' is dimensionless; remove the unit '{}'", s, unit));
  const auto split = split_prefix(unit);
  if (!split) return fail(fmt::format("unknown unit '{}' in '{}'", unit, s));
  const Dim got = *dim_of_unit(split->second);
  if (got != dim)
    return fail(fmt::format("'{}' is a {}, expected a {} (unit {})", s, dim_name(got), dim_name(dim),
                            unit_symbol(dim)));
  return value * split->first;
}

std::string format_quantity(double v, Dim dim) {
  if (dim == Dim::kNone) return fmt::format("{:.15g}", v);
  if (dim == Dim::kArea) {  // squared length prefixes: mm2, um2, nm2
    static const std::array<std::pair<double, std::string_view>, 4> kAreas{
        {{1.0, ""}, {1e-6, "m"}, {1e-12, "u"}, {1e-18, "n"}}};
    for (const auto& [scale, prefix] : kAreas)
      if (std::fabs(v) >= scale || scale == 1e-18) return fmt::format("{:.15g} {}m2", v / scale, prefix);
  }
  if (dim == Dim::kData) {  // memory sizes in binary prefixes when they are whole multiples below 1024
    static const std::array<std::pair<double, std::string_view>, 3> kBinary{
        {{1073741824.0, "Gi"}, {1048576.0, "Mi"}, {1024.0, "Ki"}}};
    for (const auto& [scale, prefix] : kBinary)
      if (std::fabs(v) >= scale && std::fabs(v) < 1024.0 * scale && std::fmod(v, scale) == 0.0)
        return fmt::format("{:.15g} {}B", v / scale, prefix);
  }
  static const std::array<std::pair<double, std::string_view>, 9> kScales{{
      {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1.0, ""},
      {1e-3, "m"}, {1e-6, "u"}, {1e-9, "n"}, {1e-12, "p"},
  }};
  const double a = std::fabs(v);
  if (a == 0.0 || !std::isfinite(v)) return fmt::format("{:g} {}", v, unit_symbol(dim));
  for (const auto& [scale, prefix] : kScales) {
    if (a >= scale) return fmt::format("{:.15g} {}{}", v / scale, prefix, unit_symbol(dim));
  }
  return fmt::format("{:.15g} f{}", v / 1e-15, unit_symbol(dim));
}

}  // namespace cimlab::core
