#pragma once
// Parameter declarations and validated parameter values.
//
// Each component declares its parameters once, as a Schema (name, type, unit, default, range,
// description). That one declaration drives validation of YAML config sections (unknown keys with a
// suggestion, missing units, ranges, all errors reported at once with file:line), the resolved
// config written to every run folder, and `cimlab describe`. Nested tables use dotted names:
// the parameter "wire_resistance.row" is written `wire_resistance: {row: "1 ohm"}`.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/errors.hpp"
#include "core/units.hpp"

namespace cimlab::core {

// kPath values are resolved against the folder of the config file that holds them.
enum class ParamType { kReal, kInteger, kBoolean, kString, kChoice, kRealList, kPath };

struct ParamSpec {
  std::string name;  // dotted path inside the section
  ParamType type = ParamType::kReal;
  Dim dim = Dim::kNone;       // kReal / kRealList: values must carry this unit unless kNone
  std::string default_text;   // default as a user writes it ("50 ohm", "8", "true"); empty + !required = unset
  bool required = false;
  double min = -std::numeric_limits<double>::infinity();  // SI, for kReal / kInteger / kRealList
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  bool max_exclusive = false;
  std::vector<std::string> choices;  // kChoice
  std::string description;

  // Fluent builders.
  static ParamSpec real(std::string name, Dim dim, std::string def, std::string description);
  static ParamSpec integer(std::string name, std::string def, std::string description);
  static ParamSpec boolean(std::string name, std::string def, std::string description);
  static ParamSpec string(std::string name, std::string def, std::string description);
  static ParamSpec path(std::string name, std::string description);
  static ParamSpec choice(std::string name, std::vector<std::string> choices, std::string def,
                          std::string description);
  static ParamSpec real_list(std::string name, Dim dim, std::string def, std::string description);
  ParamSpec& at_least(double v) { min = v; min_exclusive = false; return *this; }
  ParamSpec& above(double v) { min = v; min_exclusive = true; return *this; }
  ParamSpec& at_most(double v) { max = v; max_exclusive = false; return *this; }
  ParamSpec& below(double v) { max = v; max_exclusive = true; return *this; }
  ParamSpec& mandatory() { required = true; return *this; }

  std::string type_name() const;
  std::string range_text() const;  // e.g. "(0, inf) ohm"
};

struct Schema {
  std::string name;         // e.g. "array", "ir_drop.exact"
  std::string description;  // one line
  std::vector<ParamSpec> params;

  const ParamSpec* find(const std::string& name) const;
};

using ParamValue = std::variant<double, std::int64_t, bool, std::string, std::vector<double>>;

// Validated values of one section, SI units, defaults filled in. Accessors throw InternalError when a
// name has no value (a programming error, not a user error).
class Params {
 public:
  double real(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& str(const std::string& name) const;
  const std::vector<double>& real_list(const std::string& name) const;
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, ParamValue v) { values_[name] = std::move(v); }
  const std::map<std::string, ParamValue>& values() const { return values_; }

 private:
  const ParamValue& get(const std::string& name) const;
  std::map<std::string, ParamValue> values_;
};

// Where a YAML node came from, for diagnostics.
struct Origin {
  std::string file;
};

// Validates `node` (a map, or null for "all defaults") against `schema`. `prefix` is the section's
// dotted path used in messages ("array."). Problems go to `diags`; returns the values that parsed.
// Keys listed in `ignore` (e.g. "type") are accepted without a declaration.
Params validate(const YAML::Node& node, const Schema& schema, const std::string& prefix,
                const Origin& origin, Diagnostics& diags, const std::vector<std::string>& ignore = {});

// Writes resolved params back as YAML (units in canonical form) for the resolved config.
YAML::Node to_yaml(const Params& params, const Schema& schema);

// The closest of `candidates` to `word` by edit distance, if close enough to be a likely typo.
std::optional<std::string> closest(const std::string& word, const std::vector<std::string>& candidates);

// Diagnostic positioned at a YAML node (line/column from the parser; "--set" nodes have none).
Diagnostic at(const YAML::Node& node, const Origin& origin, std::string message);

}  // namespace cimlab::core
