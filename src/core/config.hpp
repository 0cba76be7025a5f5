#pragma once
// Loading experiment configs: YAML parsing with file:line errors, `--set key.path=value` overrides,
// presets merged under user keys, and top-level section checks. Validation of each section's keys is
// done by core::validate against the schema of the component that owns the section.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/params.hpp"

namespace cimlab::core {

struct ConfigFile {
  YAML::Node root;  // a map (empty map for an empty file)
  Origin origin;    // the file's path
};

// Reads and parses `path`. Throws ConfigError for a missing/unreadable file or malformed YAML
// (with line and column), or when the document is not a map.
ConfigFile load_config(const std::string& path);

// Parses YAML text (e.g. an inline test config) with `name` used in messages.
ConfigFile parse_config(const std::string& text, const std::string& name);

// Applies overrides "a.b.c=value" (value parsed as YAML: numbers, strings, [lists]). Problems
// (no '=', empty path, a path through a non-table) are added to `diags`.
void apply_overrides(ConfigFile& cfg, const std::vector<std::string>& overrides, Diagnostics& diags);

// Reports top-level keys of `root` that are not in `sections`, suggesting the closest.
void check_sections(const ConfigFile& cfg, const std::vector<std::string>& sections, Diagnostics& diags);

// Validates section `name` of the map `root` against `schema` (keys named prefix + name + "." in
// messages) and records its resolved values (defaults filled in) in resolved[name].
Params validate_section(const YAML::Node& root, const std::string& name, const Schema& schema, const Origin& origin,
                        const std::string& prefix, Diagnostics& diags, YAML::Node& resolved,
                        const std::vector<std::string>& ignore = {});
// The same for a top-level section of a config file.
Params validate_section(const ConfigFile& cfg, const std::string& name, const Schema& schema, Diagnostics& diags,
                        YAML::Node& resolved, const std::vector<std::string>& ignore = {});
// Validates the top-level scalar keys `keys` of cfg (e.g. seed, threads) as one map against `schema`.
Params validate_top(const ConfigFile& cfg, const std::vector<std::string>& keys, const Schema& schema,
                    Diagnostics& diags);

// `base` (copied) with every key of `over` written on top (maps merge, other nodes replace; the nodes
// of `over` are shared so that diagnostics keep their positions).
YAML::Node merge(const YAML::Node& base, const YAML::Node& over);

}  // namespace cimlab::core
