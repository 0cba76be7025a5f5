#include "device/presets.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "core/presets.hpp"

namespace cimlab::device {

namespace fs = std::filesystem;

std::string presets_dir() { return core::presets_dir("devices"); }
std::vector<std::string> preset_names() { return core::preset_names("devices"); }

namespace {
// Loads the preset named by `preset` (a name or a .yaml path relative to the config's folder).
std::optional<core::ConfigFile> load_preset(const YAML::Node& preset, const core::Origin& origin,
                                            core::Diagnostics& diags) {
  const std::string name = preset.IsScalar() ? preset.Scalar() : "";
  fs::path path;
  if (name.size() > 5 && name.substr(name.size() - 5) == ".yaml") {
    path = fs::path(name).is_absolute() ? fs::path(name) : fs::path(origin.file).parent_path() / name;
  } else {
    path = fs::path(presets_dir()) / (name + ".yaml");
  }
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    const auto hint = core::closest(name, preset_names());
    diags.add(core::at(preset, origin,
                       fmt::format("unknown device preset '{}'{}; presets: {}", name,
                                   hint ? fmt::format(" (did you mean '{}'?)", *hint) : "",
                                   fmt::join(preset_names(), ", "))));
    return std::nullopt;
  }
  try {
    return core::load_config(path.string());
  } catch (const core::ConfigError& e) {
    for (const auto& d : e.diagnostics()) diags.add(d);
    return std::nullopt;
  }
}
}  // namespace

DeviceSpec load_device(const YAML::Node& section, const core::Origin& origin, core::Diagnostics& diags,
                       YAML::Node* resolved) {
  YAML::Node merged = section;
  if (section && section.IsMap() && section["preset"]) {
    if (auto preset = load_preset(section["preset"], origin, diags)) {
      core::Diagnostics preset_diags;
      core::validate(preset->root, device_schema(), "device.", preset->origin, preset_diags);
      for (const auto& d : preset_diags.items()) diags.add(d);
      if (!preset_diags.empty()) return {};  // reported once, against the preset file's own lines
      YAML::Node own(YAML::NodeType::Map);
      for (const auto& kv : section)
        if (kv.first.as<std::string>() != "preset") own[kv.first] = kv.second;
      merged = core::merge(preset->root, own);
    }
  }
  core::Diagnostics local;
  const core::Params p = core::validate(merged, device_schema(), "device.", origin, local, {"preset"});
  for (const auto& d : local.items()) diags.add(d);
  if (!local.empty()) return {};
  if (resolved) {
    *resolved = core::to_yaml(p, device_schema());
    if (section && section.IsMap() && section["preset"]) (*resolved)["preset"] = section["preset"].Scalar();
  }
  return make_device_spec(p, origin, diags);
}

}  // namespace cimlab::device
