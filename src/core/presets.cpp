#include "core/presets.hpp"

#include <cimlab/version.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace cimlab::core {

namespace fs = std::filesystem;

std::string presets_dir(const std::string& kind) {
  if (const char* env = std::getenv("CIMLAB_CONFIG_DIR"); env && *env) return (fs::path(env) / kind).string();
  return (fs::path(kSourceDir) / "configs" / kind).string();
}

std::vector<std::string> preset_names(const std::string& kind) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(presets_dir(kind), ec))
    if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace cimlab::core
