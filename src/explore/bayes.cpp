// Bayesian optimisation (as CoMN's hardware optimizer: a Gaussian process on the points so far, the next
// point where expected improvement is largest): `initial` distinct random points, then one point at a time,
// the best of `candidates` random unseen points and local moves around the best points so far. Several
// objectives: ParEGO (Knowles, IEEE TEVC 10(1):50, 2006): each step minimises the augmented Chebyshev
// scalarisation max_k w_k f_k + 0.05 sum_k w_k f_k of the objectives normalised to [0, 1], with fresh
// random weights w on the simplex. One objective whose values are all positive (area, energy, latency,
// which span decades over a hardware space) is modelled as its logarithm. Points that break a constraint or
// were not measured get the worst value seen plus the observed range (twice it when not measured), which
// steers the search away from them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "explore/gp.hpp"
#include "explore/strategies.hpp"

namespace cimlab::explore {

namespace {

constexpr int kLocalPerBest = 20;   // local candidates around each of the best points
constexpr int kBestForLocal = 3;
constexpr double kLocalStep = 0.08; // standard deviation of a local move, in unit-cube coordinates
constexpr double kChebyshevRho = 0.05;
constexpr std::int64_t kMaxTries = 1'000'000;  // random draws for the initial points of a small finite space

class BayesSearch : public SearchStrategy {
 public:
  explicit BayesSearch(const StrategyContext& ctx)
      : space_(*ctx.space),
        objectives_(ctx.objectives),
        rng_(ctx.seed),
        budget_(ctx.params.integer("points")),
        initial_(std::min(ctx.params.integer("initial"), ctx.params.integer("points"))),
        candidates_(static_cast<int>(ctx.params.integer("candidates"))),
        xi_(ctx.params.real("xi")) {
    if (space_.finite()) budget_ = static_cast<std::int64_t>(std::min<double>(static_cast<double>(budget_), space_.cardinality()));
    initial_ = std::min(initial_, budget_);
  }

  std::vector<std::vector<double>> ask() override {
    std::vector<std::vector<double>> out;
    if (asked_ >= budget_) return out;
    if (asked_ < initial_) {
      for (std::int64_t tries = 0; static_cast<std::int64_t>(out.size()) < initial_ - asked_ && tries < kMaxTries; ++tries) {
        auto u = unseen(random_coordinates(space_.size(), rng_));
        if (!u.empty()) out.push_back(std::move(u));
      }
    } else {
      auto u = guided();
      if (u.empty()) {
        budget_ = asked_;
        return out;
      }
      out.push_back(std::move(u));
    }
    asked_ += static_cast<std::int64_t>(out.size());
    return out;
  }

  void tell(const std::vector<Observation>& outcomes) override {
    for (const auto& o : outcomes) {
      history_.push_back(o);
      for (std::size_t i = 0; i < o.u.size(); ++i) history_.back().u[i] = space_.dims()[i].snap(o.u[i]);
    }
  }

  std::int64_t planned() const override { return budget_; }

 private:
  std::vector<double> snap(const std::vector<double>& u) const {
    std::vector<double> s(u.size());
    for (std::size_t i = 0; i < u.size(); ++i) s[i] = space_.dims()[i].snap(u[i]);
    return s;
  }
  // u when its snapped point was not asked before (and marks it asked), else empty.
  std::vector<double> unseen(std::vector<double> u) {
    return seen_.insert(snap(u)).second ? u : std::vector<double>{};
  }

  std::vector<double> scalarised() {
    const std::size_t n = history_.size();
    std::vector<double> w(objectives_, 1.0);
    if (objectives_ > 1) {
      double sum = 0;
      for (double& x : w) sum += (x = -std::log(1.0 - rng_.uniform()));
      for (double& x : w) x /= sum;
    }
    std::vector<double> lo(objectives_, std::numeric_limits<double>::infinity()), hi(objectives_, -lo[0]);
    for (const auto& o : history_)
      for (std::size_t k = 0; k < o.objectives.size(); ++k) {
        lo[k] = std::min(lo[k], o.objectives[k]);
        hi[k] = std::max(hi[k], o.objectives[k]);
      }
    bool positive = objectives_ == 1;  // one objective, all values > 0: modelled in log space
    for (const auto& o : history_)
      if (!o.objectives.empty() && !(o.objectives[0] > 0)) positive = false;
    std::vector<double> y(n, std::numeric_limits<double>::quiet_NaN());
    double ylo = std::numeric_limits<double>::infinity(), yhi = -ylo;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& f = history_[i].objectives;
      if (f.empty()) continue;
      if (objectives_ == 1) {
        y[i] = positive ? std::log(f[0]) : f[0];
      } else {
        double mx = -std::numeric_limits<double>::infinity(), sum = 0;
        for (std::size_t k = 0; k < objectives_; ++k) {
          const double z = hi[k] > lo[k] ? (f[k] - lo[k]) / (hi[k] - lo[k]) : 0.0;
          mx = std::max(mx, w[k] * z);
          sum += w[k] * z;
        }
        y[i] = mx + kChebyshevRho * sum;
      }
      ylo = std::min(ylo, y[i]);
      yhi = std::max(yhi, y[i]);
    }
    const double range = yhi > ylo ? yhi - ylo : 1.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isnan(y[i])) y[i] = yhi + 2.0 * range;
      else if (history_[i].violation > 0) y[i] = yhi + range;
    }
    return y;
  }

  std::vector<std::vector<double>> candidate_pool(const std::vector<double>& y) {
    std::vector<std::vector<double>> pool;
    std::set<std::vector<double>> in_pool;
    auto add = [&](std::vector<double> u) {
      std::vector<double> s = snap(u);
      if (!seen_.count(s) && in_pool.insert(s).second) pool.push_back(std::move(u));
    };
    for (int i = 0; i < candidates_; ++i) add(random_coordinates(space_.size(), rng_));
    std::vector<std::size_t> order(y.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return y[a] < y[b]; });
    for (std::size_t b = 0; b < order.size() && b < kBestForLocal; ++b)
      for (int k = 0; k < kLocalPerBest; ++k) {
        std::vector<double> u = history_[order[b]].u;
        for (double& x : u) x = std::clamp(x + kLocalStep * rng_.normal(), 0.0, 1.0);
        add(std::move(u));
      }
    return pool;
  }

  std::vector<double> guided() {
    const std::vector<double> y = scalarised();
    const auto pool = candidate_pool(y);
    if (pool.empty()) return {};
    const std::size_t n = history_.size(), d = space_.size();
    Eigen::MatrixXd X(n, d), Xs(pool.size(), d);
    Eigen::VectorXd Y(n);
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < d; ++j) X(i, j) = history_[i].u[j];
      Y(i) = y[i];
      best = std::min(best, y[i]);
    }
    for (std::size_t i = 0; i < pool.size(); ++i) {
      const auto s = snap(pool[i]);
      for (std::size_t j = 0; j < d; ++j) Xs(i, j) = s[j];
    }
    gp_.fit(X, Y);
    Eigen::VectorXd mean, sd;
    gp_.predict(Xs, mean, sd);
    const double spread = std::sqrt((Y.array() - Y.mean()).square().mean());
    std::size_t pick = 0;
    double top = -1;
    for (std::size_t i = 0; i < pool.size(); ++i) {
      const double ei = expected_improvement(mean(i), sd(i), best, xi_ * spread);
      if (ei > top) {
        top = ei;
        pick = i;
      }
    }
    seen_.insert(snap(pool[pick]));
    return pool[pick];
  }

  const Space& space_;
  std::size_t objectives_;
  core::Rng rng_;
  std::int64_t budget_, initial_;
  int candidates_;
  double xi_;
  std::int64_t asked_ = 0;
  std::set<std::vector<double>> seen_;
  std::vector<Observation> history_;
  GaussianProcess gp_;
};

}  // namespace

StrategyEntry bayes_strategy() {
  using core::ParamSpec;
  return {"bayes",
          {"explore.strategy.bayes", "Bayesian optimisation: Gaussian process + expected improvement (ParEGO for several objectives)",
           {ParamSpec::integer("points", "110", "points to evaluate in all (CoMN: 110)").at_least(1).at_most(100000),
            ParamSpec::integer("initial", "10", "random points before the first guided one (CoMN: 10)").at_least(1).at_most(100000),
            ParamSpec::integer("candidates", "1000", "random candidates scored by expected improvement per step")
                .at_least(1).at_most(1000000),
            ParamSpec::real("xi", core::Dim::kNone, "0.01", "exploration margin of expected improvement, in standard deviations of the values seen")
                .at_least(0).at_most(10)}},
          [](const StrategyContext& c) -> std::unique_ptr<SearchStrategy> { return std::make_unique<BayesSearch>(c); }};
}

}  // namespace cimlab::explore
