#pragma once
// Built-in device presets: configs/devices/<name>.yaml, each value citing its published source.
// A `device:` section may name one (`preset: rram`) or a preset file path; its own keys override
// the preset's. The folder is $CIMLAB_CONFIG_DIR/devices if set, else the source tree's configs/.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "core/config.hpp"
#include "device/device_spec.hpp"

namespace cimlab::device {

std::string presets_dir();
std::vector<std::string> preset_names();

// The validated device spec of a `device:` section (preset resolved). Problems go to diags; the
// preset file itself is validated with its own path in messages. `resolved` receives the merged,
// defaults-filled section for the run folder.
DeviceSpec load_device(const YAML::Node& section, const core::Origin& origin, core::Diagnostics& diags,
                       YAML::Node* resolved);

}  // namespace cimlab::device
