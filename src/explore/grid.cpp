// Exhaustive grid: every point of a finite space, last dimension fastest, in batches.
#include <fmt/format.h>

#include <algorithm>

#include "explore/strategies.hpp"

namespace cimlab::explore {

namespace {

constexpr double kMaxGrid = 1e12;

class GridSearch : public SearchStrategy {
 public:
  explicit GridSearch(const StrategyContext& ctx)
      : space_(*ctx.space), batch_(static_cast<std::uint64_t>(ctx.params.integer("batch"))) {
    if (!space_.finite())
      throw core::ConfigError(
          "explore.strategy: grid needs every dimension discrete (a list, or a range with step, factor or points)");
    if (space_.cardinality() > kMaxGrid)
      throw core::ConfigError(fmt::format("explore.strategy: the grid has {:.3g} points (at most {:.0e})",
                                          space_.cardinality(), kMaxGrid));
    total_ = static_cast<std::uint64_t>(space_.cardinality());
  }

  std::vector<std::vector<double>> ask() override {
    std::vector<std::vector<double>> out;
    const std::uint64_t end = std::min(total_, next_ + batch_);
    for (; next_ < end; ++next_) out.push_back(space_.grid_coordinates(next_));
    return out;
  }
  void tell(const std::vector<Observation>&) override {}
  std::int64_t planned() const override { return static_cast<std::int64_t>(total_); }

 private:
  const Space& space_;
  std::uint64_t batch_;
  std::uint64_t total_ = 0, next_ = 0;
};

}  // namespace

StrategyEntry grid_strategy() {
  return {"grid",
          {"explore.strategy.grid", "every point of a finite space",
           {core::ParamSpec::integer("batch", "256", "points evaluated together (threads / MPI ranks share a batch)")
                .at_least(1).at_most(1 << 20)}},
          [](const StrategyContext& c) -> std::unique_ptr<SearchStrategy> { return std::make_unique<GridSearch>(c); }};
}

}  // namespace cimlab::explore
