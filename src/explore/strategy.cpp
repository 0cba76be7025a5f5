// The strategies' registry (see explore/strategy.hpp).
#include "explore/strategy.hpp"

#include <algorithm>

#include "explore/strategies.hpp"

namespace cimlab::explore {

const std::vector<StrategyEntry>& strategies() {
  static const std::vector<StrategyEntry> kEntries{grid_strategy(), random_strategy(), nsga2_strategy(), bayes_strategy()};
  return kEntries;
}

const StrategyEntry* find_strategy(const std::string& type) {
  const auto& all = strategies();
  const auto it = std::find_if(all.begin(), all.end(), [&](const StrategyEntry& e) { return e.type == type; });
  return it == all.end() ? nullptr : &*it;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> out;
  for (const auto& e : strategies()) out.push_back(e.type);
  return out;
}

std::vector<double> random_coordinates(std::size_t dims, core::Rng& rng) {
  std::vector<double> u(dims);
  for (double& x : u) x = rng.uniform();
  return u;
}

std::size_t random_index(std::size_t n, core::Rng& rng) {
  return std::min(n - 1, static_cast<std::size_t>(rng.uniform() * static_cast<double>(n)));
}

}  // namespace cimlab::explore
