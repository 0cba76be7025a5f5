#include "core/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cimlab::core {

namespace {
ConfigFile parse(const std::string& text, const std::string& name) {
  ConfigFile cfg{YAML::Node(YAML::NodeType::Map), Origin{name}};
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return cfg;
    if (!root.IsMap())
      throw ConfigError(std::vector<Diagnostic>{at(root, cfg.origin, "the config must be a table of sections (key: value)")});
    cfg.root = root;
  } catch (const YAML::ParserException& e) {
    throw ConfigError(std::vector<Diagnostic>{
        Diagnostic{name, e.mark.line + 1, e.mark.column + 1, fmt::format("malformed YAML: {}", e.msg)}});
  }
  return cfg;
}
}  // namespace

ConfigFile load_config(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ConfigError(fmt::format("{}: config file not found", path));
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot read config file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

ConfigFile parse_config(const std::string& text, const std::string& name) { return parse(text, name); }

void apply_overrides(ConfigFile& cfg, const std::vector<std::string>& overrides, Diagnostics& diags) {
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    const std::string path = o.substr(0, eq);
    if (eq == std::string::npos || path.empty()) {
      diags.add(Diagnostic{"--set", 0, 0, fmt::format("'{}' must have the form key.path=value", o)});
      continue;
    }
    const std::string text = o.substr(eq + 1);
    YAML::Node value;
    try {
      value = (!text.empty() && (text.front() == '[' || text.front() == '{')) ? YAML::Load(text) : YAML::Node(text);
    } catch (const YAML::Exception& e) {
      diags.add(Diagnostic{"--set", 0, 0, fmt::format("'{}': malformed value: {}", o, e.msg)});
      continue;
    }
    YAML::Node cur = cfg.root;
    std::string rest = path;
    bool ok = true;
    for (std::size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
      const std::string part = rest.substr(0, dot);
      if (!cur[part]) cur[part] = YAML::Node(YAML::NodeType::Map);
      if (!cur[part].IsMap()) {
        diags.add(Diagnostic{"--set", 0, 0, fmt::format("'{}': '{}' is not a table", o, part)});
        ok = false;
        break;
      }
      cur.reset(cur[part]);
    }
    if (ok) cur[rest] = value;
  }
}

void check_sections(const ConfigFile& cfg, const std::vector<std::string>& sections, Diagnostics& diags) {
  for (const auto& kv : cfg.root) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(sections.begin(), sections.end(), k) != sections.end()) continue;
    const auto hint = closest(k, sections);
    diags.add(at(kv.first, cfg.origin,
                 fmt::format("unknown section '{}'{}", k, hint ? fmt::format(" (did you mean '{}'?)", *hint) : "")));
  }
}

YAML::Node merge(const YAML::Node& base, const YAML::Node& over) {
  if (!over || over.IsNull()) return YAML::Clone(base);
  if (!base || !base.IsMap() || !over.IsMap()) return over;
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    const std::string k = kv.first.as<std::string>();
    // User nodes are shared, not copied, so that messages keep their line numbers.
    out[k] = (out[k] && out[k].IsMap() && kv.second.IsMap()) ? merge(out[k], kv.second) : kv.second;
  }
  return out;
}

Params validate_section(const YAML::Node& root, const std::string& name, const Schema& schema, const Origin& origin,
                        const std::string& prefix, Diagnostics& diags, YAML::Node& resolved,
                        const std::vector<std::string>& ignore) {
  Params p = validate(root[name], schema, prefix + name + ".", origin, diags, ignore);
  resolved[name] = to_yaml(p, schema);
  return p;
}

Params validate_section(const ConfigFile& cfg, const std::string& name, const Schema& schema, Diagnostics& diags,
                        YAML::Node& resolved, const std::vector<std::string>& ignore) {
  return validate_section(cfg.root, name, schema, cfg.origin, "", diags, resolved, ignore);
}

Params validate_top(const ConfigFile& cfg, const std::vector<std::string>& keys, const Schema& schema,
                    Diagnostics& diags) {
  YAML::Node top(YAML::NodeType::Map);
  for (const std::string& key : keys)
    if (cfg.root[key]) top[key] = cfg.root[key];
  return validate(top, schema, "", cfg.origin, diags);
}

}  // namespace cimlab::core
