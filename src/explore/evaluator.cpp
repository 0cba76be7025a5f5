// Evaluation of a batch on worker threads, each with its own Evaluator (see explore/search.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "explore/search.hpp"

namespace cimlab::explore {

Evaluation evaluate_safely(Evaluator& evaluator, const Point& point, const KeyGate& gate) {
  try {
    return evaluator.evaluate(point, gate);
  } catch (const std::exception& e) {
    return Evaluation{Status::kFailed, {}, e.what()};
  } catch (...) {
    return Evaluation{Status::kFailed, {}, "unknown exception"};
  }
}

namespace {

// A persistent pool: the workers sleep between batches; a batch's points are taken by an atomic counter.
class ThreadEvaluator : public BatchEvaluator {
 public:
  ThreadEvaluator(const Objective& objective, KeyGate gate, int threads) : gate_(std::move(gate)) {
    for (int t = 0; t < threads; ++t) evaluators_.push_back(objective.make_evaluator());
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
  }
  ~ThreadEvaluator() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  std::vector<Evaluation> evaluate(const std::vector<Point>& points, const Done& done) override {
    std::vector<Evaluation> out(points.size());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      points_ = &points;
      out_ = &out;
      done_ = &done;
      next_ = 0;
      active_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    wake_.notify_all();
    run_batch(0);
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return active_ == 0; });
    points_ = nullptr;
    return out;
  }

 private:
  void run_batch(int t) {
    for (std::size_t i; (i = next_.fetch_add(1)) < points_->size();) {
      Evaluation e = evaluate_safely(*evaluators_[static_cast<std::size_t>(t)], (*points_)[i], gate_);
      std::lock_guard<std::mutex> lock(done_mutex_);
      (*out_)[i] = std::move(e);
      if (*done_) (*done_)(i, (*out_)[i]);
    }
  }

  void work(int t) {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
      }
      run_batch(t);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --active_;
      }
      finished_.notify_one();
    }
  }

  KeyGate gate_;
  std::vector<std::unique_ptr<Evaluator>> evaluators_;
  std::vector<std::thread> workers_;
  std::mutex mutex_, done_mutex_;
  std::condition_variable wake_, finished_;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  int active_ = 0;
  std::atomic<std::size_t> next_{0};
  const std::vector<Point>* points_ = nullptr;
  std::vector<Evaluation>* out_ = nullptr;
  const Done* done_ = nullptr;
};

}  // namespace

std::unique_ptr<BatchEvaluator> make_thread_evaluator(const Objective& objective, KeyGate gate, int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::make_unique<ThreadEvaluator>(objective, std::move(gate), threads);
}

}  // namespace cimlab::explore
