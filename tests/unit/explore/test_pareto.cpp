// Pareto fronts: no front point is dominated, every other point is; sorting and crowding.
#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.hpp"
#include "explore/pareto.hpp"

namespace {

using namespace cimlab::explore;

std::vector<std::vector<double>> random_points(std::size_t n, std::size_t m, std::uint64_t seed, bool grid) {
  cimlab::core::Rng rng(seed);
  std::vector<std::vector<double>> p(n, std::vector<double>(m));
  for (auto& v : p)
    for (double& x : v) x = grid ? std::floor(rng.uniform() * 5) : rng.uniform();  // grid: many ties
  return p;
}

TEST(Pareto, FrontHoldsNoDominatedPointAndDominatesTheRest) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const auto p = random_points(300, 1 + seed % 4, seed, seed % 2 == 0);
    const auto front = pareto_front(p);
    std::vector<bool> on(p.size(), false);
    for (auto i : front) on[i] = true;
    for (std::size_t i = 0; i < p.size(); ++i) {
      bool dominated = false;
      for (std::size_t j = 0; j < p.size(); ++j) dominated = dominated || dominates(p[j], p[i]);
      EXPECT_EQ(dominated, !on[i]) << "seed " << seed << " point " << i;
    }
  }
}

TEST(Pareto, NondominatedSortPutsFeasibleFirstAndOrdersViolations) {
  const std::vector<std::vector<double>> p{{1, 1}, {0, 2}, {2, 2}, {0, 0}, {5, 5}, {}};
  const std::vector<double> v{0, 0, 0, 0.5, 0.1, INFINITY};
  const auto fronts = nondominated_sort(p, v);
  ASSERT_EQ(fronts.size(), 5u);
  EXPECT_EQ(fronts[0], (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(fronts[1], (std::vector<std::size_t>{2}));
  EXPECT_EQ(fronts[2], (std::vector<std::size_t>{4}));
  EXPECT_EQ(fronts[3], (std::vector<std::size_t>{3}));
  EXPECT_EQ(fronts[4], (std::vector<std::size_t>{5}));
}

TEST(Pareto, CrowdingDistanceFavoursTheEnds) {
  const std::vector<std::vector<double>> p{{0, 4}, {1, 3}, {3, 1}, {4, 0}, {2, 2}};
  const auto d = crowding_distance(p, {0, 1, 2, 3, 4});
  EXPECT_TRUE(std::isinf(d[0]) && std::isinf(d[3]));
  EXPECT_NEAR(d[1], 1.0, 1e-12);  // (2 - 0) / 4 on each objective
  EXPECT_NEAR(d[4], 1.0, 1e-12);
}

}  // namespace
