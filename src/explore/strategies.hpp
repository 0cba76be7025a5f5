#pragma once
// The built-in strategies' registry hooks (see explore/strategy.hpp); one file each.
#include "core/rng.hpp"
#include "explore/strategy.hpp"

namespace cimlab::explore {

StrategyEntry grid_strategy();
StrategyEntry random_strategy();
StrategyEntry nsga2_strategy();
StrategyEntry bayes_strategy();

// A uniform point of the unit cube, one coordinate per dimension.
std::vector<double> random_coordinates(std::size_t dims, core::Rng& rng);
// An index in [0, n) drawn uniformly. Precondition: n > 0.
std::size_t random_index(std::size_t n, core::Rng& rng);

}  // namespace cimlab::explore
