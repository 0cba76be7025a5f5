#pragma once
// A search space (issue 12): config keys, each given as a list of values, a range with a step or a factor
// (log scale), a continuous range (linear or log), or a choice set; values carry their unit as a config
// writes them ("64 KiB", "10 ns"). Written in the experiment's `explore.space` section:
//   space:
//     array.rows: {values: [64, 128, 256, 512, 1024], also: [array.cols]}   # also: keys set to the same value
//     tile.macros: [2, 4, 8, 16]                                            # a list
//     macro.adcs: {from: 1, to: 16, factor: 2}                              # 1, 2, 4, 8, 16
//     tile.input_buffer: {from: "4 KiB", to: "128 KiB", factor: 2}
//     tile.bus_width: {from: 16, to: 128, step: 16}                         # 16, 32, ..., 128
//     circuits.adc.fom: {from: "1 fJ", to: "100 fJ", scale: log}            # continuous, log-uniform
//     technology.node: {choice: [45nm, 32nm, 22nm]}                         # unordered
//     chip.clock: {from: "0.5 GHz", to: "2 GHz", points: 4}                 # 4 evenly spaced values
// A range whose bounds (and step) are bare integers yields integers; {from: 1, to: 16} alone is 1, 2, ..., 16.
//
// Strategies see a point as coordinates u in [0, 1)^d, one per dimension; decode() maps them to values
// (a discrete dimension of n values takes value floor(u n); a continuous one lo + u (hi - lo), or the
// same in log space, rounded for integers). Thread-safety: a Space is immutable after parsing.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/params.hpp"
#include "core/units.hpp"

namespace cimlab::explore {

// A config value as written: the YAML scalar's text, and its number in SI when it is one.
struct Value {
  std::string text;
  std::optional<double> number;  // bare number or quantity with a unit, in SI
  core::Dim dim = core::Dim::kNone;
};

// Reads a scalar: a bare number, a quantity whose unit names its dimension ("64 KiB", "10 ns"), or text.
Value read_value(const std::string& text);

enum class DimensionKind { kList, kChoice, kContinuous };

struct Dimension {
  std::string key;                // dotted config key, e.g. "tile.input_buffer"
  std::vector<std::string> also;  // further keys set to the same value
  DimensionKind kind = DimensionKind::kList;
  std::vector<Value> values;      // kList (ordered) and kChoice (unordered)
  double lo = 0, hi = 1;          // kContinuous, SI
  bool log_scale = false;
  bool integer = false;
  core::Dim dim = core::Dim::kNone;

  bool discrete() const { return kind != DimensionKind::kContinuous; }
  std::size_t size() const { return values.size(); }  // 0 for a continuous dimension
  std::size_t index(double u) const;                  // discrete: the value's index for coordinate u
  Value decode(double u) const;
  // The coordinate u snapped to what decode() distinguishes (a discrete value's centre), in [0, 1].
  double snap(double u) const;
};

// One key of a point and its value.
struct Setting {
  std::string key;
  Value value;
};

// A design point: its coordinates (snapped) and the settings they decode to (also-keys included).
struct Point {
  std::vector<double> u;
  std::vector<Setting> settings;
  // Identity of the point: "key=text;..." over the settings, for de-duplication.
  std::string identity() const;
};

class Space {
 public:
  Space() = default;
  explicit Space(std::vector<Dimension> dims) : dims_(std::move(dims)) {}
  const std::vector<Dimension>& dims() const { return dims_; }
  std::size_t size() const { return dims_.size(); }
  bool finite() const;       // every dimension discrete
  double cardinality() const;  // number of distinct points; inf when a dimension is continuous
  Point decode(const std::vector<double>& u) const;
  // Grid point `flat` (0 .. cardinality - 1; last dimension fastest). Precondition: finite().
  std::vector<double> grid_coordinates(std::uint64_t flat) const;
  // Every key the space sets, in dimension order (also-keys after their dimension's key).
  std::vector<std::string> keys() const;

 private:
  std::vector<Dimension> dims_;
};

// Parses `node` (a map of key -> dimension) into a Space. Problems go to diags with `prefix`
// ("explore.space.") and the node's position; returns what parsed.
Space parse_space(const YAML::Node& node, const core::Origin& origin, const std::string& prefix,
                  core::Diagnostics& diags);

}  // namespace cimlab::explore
