#pragma once
// A progress bar on stderr for work that takes more than a few seconds:
//   label [#########...........] 42/100 3.1 s ETA 4.2 s
// Drawn at most ~10 times per second, only when stderr is a terminal and the environment variable
// CIMLAB_PROGRESS is not "0"; otherwise nothing at all is printed (CI logs stay clean).
// Thread-safety: advance() may be called from any number of threads at once (an atomic counter;
// one thread draws at a time, the others skip). finish() and the destructor may race with nothing.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace cimlab::core {

// The bar line, without carriage return or colour: `label [###...] done/total elapsed ETA remaining`.
// `bar_width` is the number of cells between the brackets (at least 1). `done` is clamped to
// [0, total]; total <= 0 (unknown) gives `label done elapsed` without a bar. The ETA is omitted once
// done reaches total and shown as "--" before the first unit completes. Pure, thread-safe.
std::string render_progress(std::string_view label, std::int64_t done, std::int64_t total, double elapsed_s,
                            int bar_width);

// A duration for humans: "3.1 s" below a minute, "4 min 05 s" below an hour, else "2 h 07 min".
std::string format_duration(double seconds);

// Whether a bar should be drawn: stderr is a terminal and CIMLAB_PROGRESS (null when unset) is not "0".
bool progress_wanted(bool stderr_is_terminal, const char* env_value);

class Progress {
 public:
  // `total` units of work; total <= 0 means unknown. Reads isatty(stderr) and CIMLAB_PROGRESS once.
  Progress(std::string label, std::int64_t total);
  ~Progress();  // calls finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Records `n` more units done; redraws if the last draw is at least 100 ms old.
  void advance(std::int64_t n = 1);
  // Draws the final line and ends it with a newline. Idempotent.
  void finish();

  std::int64_t done() const { return done_.load(std::memory_order_relaxed); }
  bool enabled() const { return enabled_; }

 private:
  static constexpr int kBarWidth = 30;
  static constexpr std::int64_t kMinRedrawNs = 100'000'000;  // 10 draws per second at most

  std::int64_t elapsed_ns() const;
  void draw(bool final_line);

  std::string label_;
  std::int64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<std::int64_t> done_{0};
  std::atomic<std::int64_t> last_draw_ns_{-kMinRedrawNs};
  std::atomic<bool> finished_{false};
  std::mutex draw_mutex_;
};

}  // namespace cimlab::core
