#include "core/progress.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using namespace cimlab::core;

TEST(Progress, RendersBarCountsElapsedAndEta) {
  EXPECT_EQ(render_progress("solve", 42, 100, 3.1, 10), "solve [####......] 42/100 3.1 s ETA 4.3 s");
  EXPECT_EQ(render_progress("solve", 0, 100, 0.0, 4), "solve [....] 0/100 0.0 s ETA --");
}

TEST(Progress, FullBarHasNoEta) {
  EXPECT_EQ(render_progress("map", 100, 100, 12.0, 5), "map [#####] 100/100 12.0 s");
}

TEST(Progress, ClampsDoneAndHandlesUnknownTotal) {
  EXPECT_EQ(render_progress("x", 250, 100, 1.0, 4), "x [####] 100/100 1.0 s");
  EXPECT_EQ(render_progress("x", -5, 100, 1.0, 4), "x [....] 0/100 1.0 s ETA --");
  EXPECT_EQ(render_progress("x", 7, 0, 2.5, 4), "x 7 2.5 s");
}

TEST(Progress, FormatsLongDurations) {
  EXPECT_EQ(format_duration(4.21), "4.2 s");
  EXPECT_EQ(format_duration(245.0), "4 min 05 s");
  EXPECT_EQ(format_duration(7620.0), "2 h 07 min");
  EXPECT_EQ(format_duration(-1.0), "--");
}

TEST(Progress, DrawsOnlyOnTerminalsUnlessDisabled) {
  EXPECT_FALSE(progress_wanted(false, nullptr));
  EXPECT_FALSE(progress_wanted(false, "1"));
  EXPECT_TRUE(progress_wanted(true, nullptr));
  EXPECT_TRUE(progress_wanted(true, "1"));
  EXPECT_FALSE(progress_wanted(true, "0"));
}

TEST(Progress, CountsAdvancesFromManyThreads) {
  Progress p("threads", 8000);
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t)
    workers.emplace_back([&p] {
      for (int i = 0; i < 1000; ++i) p.advance();
    });
  for (auto& w : workers) w.join();
  p.finish();
  p.finish();
  EXPECT_EQ(p.done(), 8000);
}
