#pragma once
// Preset folders: configs/<kind>/ of the source tree (devices, chips, tech), or $CIMLAB_CONFIG_DIR/<kind>
// when that variable is set. One place for the lookup that device, chip and technology presets share.
#include <string>
#include <vector>

namespace cimlab::core {

std::string presets_dir(const std::string& kind);
// The presets of a kind: the stems of its .yaml files, sorted.
std::vector<std::string> preset_names(const std::string& kind);

}  // namespace cimlab::core
