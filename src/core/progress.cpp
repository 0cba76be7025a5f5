#include "core/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cimlab::core {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0.0) return "--";
  if (seconds < 59.95) return fmt::format("{:.1f} s", seconds);
  const auto whole = static_cast<std::int64_t>(std::llround(seconds));
  if (whole < 3600) return fmt::format("{} min {:02} s", whole / 60, whole % 60);
  return fmt::format("{} h {:02} min", whole / 3600, (whole % 3600) / 60);
}

std::string render_progress(std::string_view label, std::int64_t done, std::int64_t total, double elapsed_s,
                            int bar_width) {
  const std::string elapsed = format_duration(elapsed_s);
  if (total <= 0) return fmt::format("{} {} {}", label, std::max<std::int64_t>(done, 0), elapsed);
  done = std::clamp<std::int64_t>(done, 0, total);
  const int width = std::max(bar_width, 1);
  const auto filled = static_cast<int>(done * width / total);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(width - filled), '.');
  std::string line = fmt::format("{} [{}] {}/{} {}", label, bar, done, total, elapsed);
  if (done == 0) {
    line += " ETA --";
  } else if (done < total) {
    const double remaining = elapsed_s * static_cast<double>(total - done) / static_cast<double>(done);
    line += " ETA " + format_duration(remaining);
  }
  return line;
}

bool progress_wanted(bool stderr_is_terminal, const char* env_value) {
  if (!stderr_is_terminal) return false;
  return env_value == nullptr || std::string_view(env_value) != "0";
}

Progress::Progress(std::string label, std::int64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(progress_wanted(::isatty(STDERR_FILENO) == 1, std::getenv("CIMLAB_PROGRESS"))),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

std::int64_t Progress::elapsed_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(std::int64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  if (!enabled_ || finished_.load(std::memory_order_relaxed)) return;
  const std::int64_t now = elapsed_ns();
  std::int64_t last = last_draw_ns_.load(std::memory_order_relaxed);
  if (now - last < kMinRedrawNs) return;
  if (!last_draw_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  draw(false);
}

void Progress::finish() {
  if (finished_.exchange(true)) return;
  if (enabled_) draw(true);
}

void Progress::draw(bool final_line) {
  std::unique_lock lock(draw_mutex_, std::defer_lock);
  if (final_line) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return;
  }
  const double elapsed_s = static_cast<double>(elapsed_ns()) * 1e-9;
  // \r returns to the line start, ESC[K clears what a longer previous line left behind.
  const std::string line = fmt::format("\r{}\x1b[K{}", render_progress(label_, done(), total_, elapsed_s, kBarWidth),
                                       final_line ? "\n" : "");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace cimlab::core
