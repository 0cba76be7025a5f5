#include "core/run_dir.hpp"

#include <cimlab/version.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/errors.hpp"

namespace cimlab::core {

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw InputError(fmt::format("{}: cannot write file", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot rename into place: {}", path, ec.message()));
}

namespace {
std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", tm);
}
}  // namespace

RunDir::RunDir(std::string path, std::string command_line, std::uint64_t seed, bool append_log)
    : path_(std::move(path)), command_line_(std::move(command_line)), seed_(seed), started_utc_(utc_now()),
      start_(std::chrono::steady_clock::now()) {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec || !std::filesystem::is_directory(path_))
    throw InputError(fmt::format("{}: cannot create output folder: {}", path_, ec.message()));
  static std::atomic<int> counter{0};
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file("log.txt"), !append_log);
  log_ = std::make_shared<spdlog::logger>(fmt::format("run{}", counter++), sink);
  log_->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
  log_->flush_on(spdlog::level::info);
  log_->info("cimlab {} ({}), seed {}: {}", kVersion, kGitCommit, seed_, command_line_);
}

RunDir::~RunDir() {
  if (log_) log_->flush();
}

std::string RunDir::file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

void RunDir::write_text(const std::string& name, const std::string& text) const { write_file_atomic(file(name), text); }

void RunDir::write_json(const std::string& name, const nlohmann::json& j) const {
  write_file_atomic(file(name), j.dump(2) + "\n");
}

void RunDir::write_yaml(const std::string& name, const YAML::Node& node) const {
  YAML::Emitter em;
  em << node;
  write_file_atomic(file(name), std::string(em.c_str()) + "\n");
}

nlohmann::json RunDir::provenance() const {
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return {{"cimlab_version", kVersion}, {"git_commit", kGitCommit}, {"seed", seed_},
          {"command", command_line_},   {"started_utc", started_utc_}, {"wall_time_s", wall}};
}

}  // namespace cimlab::core
