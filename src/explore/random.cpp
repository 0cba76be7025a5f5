// Random search: distinct uniform samples; a finite space no larger than the budget is enumerated in a
// shuffled order (every point once).
#include <algorithm>
#include <numeric>
#include <set>

#include "explore/strategies.hpp"

namespace cimlab::explore {

namespace {

constexpr int kTriesPerPoint = 50;  // draws before a nearly exhausted finite space ends the search

class RandomSearch : public SearchStrategy {
 public:
  explicit RandomSearch(const StrategyContext& ctx)
      : space_(*ctx.space), rng_(ctx.seed), batch_(static_cast<std::size_t>(ctx.params.integer("batch"))) {
    budget_ = static_cast<std::uint64_t>(ctx.params.integer("points"));
    if (space_.finite() && space_.cardinality() <= static_cast<double>(budget_)) {
      order_.resize(static_cast<std::size_t>(space_.cardinality()));
      std::iota(order_.begin(), order_.end(), std::uint64_t{0});
      for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[random_index(i, rng_)]);
      budget_ = order_.size();
    }
  }

  std::vector<std::vector<double>> ask() override {
    std::vector<std::vector<double>> out;
    while (out.size() < batch_ && asked_ < budget_) {
      if (!order_.empty()) {
        out.push_back(space_.grid_coordinates(order_[asked_++]));
        continue;
      }
      auto u = draw();
      if (u.empty()) {
        budget_ = asked_;
        break;
      }
      out.push_back(std::move(u));
      ++asked_;
    }
    return out;
  }
  void tell(const std::vector<Observation>&) override {}
  std::int64_t planned() const override { return static_cast<std::int64_t>(budget_); }

 private:
  std::vector<double> draw() {
    for (int t = 0; t < kTriesPerPoint; ++t) {
      std::vector<double> u = random_coordinates(space_.size(), rng_);
      std::vector<double> snapped(u.size());
      for (std::size_t i = 0; i < u.size(); ++i) snapped[i] = space_.dims()[i].snap(u[i]);
      if (seen_.insert(snapped).second) return u;
    }
    return {};
  }

  const Space& space_;
  core::Rng rng_;
  std::size_t batch_;
  std::uint64_t budget_ = 0, asked_ = 0;
  std::vector<std::uint64_t> order_;
  std::set<std::vector<double>> seen_;
};

}  // namespace

StrategyEntry random_strategy() {
  return {"random",
          {"explore.strategy.random", "distinct uniform samples of the space",
           {core::ParamSpec::integer("points", "1000", "points to evaluate").at_least(1).at_most(1'000'000'000),
            core::ParamSpec::integer("batch", "256", "points evaluated together (threads / MPI ranks share a batch)")
                .at_least(1).at_most(1 << 20)}},
          [](const StrategyContext& c) -> std::unique_ptr<SearchStrategy> { return std::make_unique<RandomSearch>(c); }};
}

}  // namespace cimlab::explore
