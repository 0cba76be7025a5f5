#pragma once
// One run = one output folder: resolved config, results (JSON/CSV), a log and provenance
// (cimlab version, git commit, seed, command line, start time, wall time). Files are written
// atomically (temporary file + rename), so a killed run never leaves a half-written result.
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace cimlab::core {

class RunDir {
 public:
  // Creates `path` (and parents). Throws InputError if it cannot be created. A resumed run
  // (append_log) adds to log.txt instead of starting it anew.
  RunDir(std::string path, std::string command_line, std::uint64_t seed, bool append_log = false);
  ~RunDir();

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const;  // path/name
  spdlog::logger& log() { return *log_; }

  void write_text(const std::string& name, const std::string& text) const;
  void write_json(const std::string& name, const nlohmann::json& j) const;
  void write_yaml(const std::string& name, const YAML::Node& node) const;

  // Provenance block included in every result file; wall time measured from construction.
  nlohmann::json provenance() const;

 private:
  std::string path_;
  std::string command_line_;
  std::uint64_t seed_;
  std::string started_utc_;
  std::chrono::steady_clock::time_point start_;
  std::shared_ptr<spdlog::logger> log_;
};

// Writes `text` to `path` atomically (write to path.tmp, then rename).
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace cimlab::core
