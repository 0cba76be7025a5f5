// NSGA-II (Deb, Pratap, Agarwal and Meyarivan, IEEE TEVC 6(2):182, 2002) on the unit cube: binary
// tournaments by (front, crowding distance), simulated binary crossover and polynomial mutation (Deb and
// Agrawal, Complex Systems 9:115, 1995; the bounded forms of Deb's reference code), elitist selection of
// parents + offspring by constrained non-dominated sorting. Discrete dimensions keep continuous genes and
// decode by floor (explore/space.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "explore/pareto.hpp"
#include "explore/strategies.hpp"

namespace cimlab::explore {

namespace {

struct Individual {
  Observation obs;
  std::size_t rank = 0;
  double crowding = 0;
};

class Nsga2 : public SearchStrategy {
 public:
  explicit Nsga2(const StrategyContext& ctx)
      : dims_(ctx.space->size()),
        rng_(ctx.seed),
        population_(static_cast<std::size_t>(ctx.params.integer("population"))),
        generations_(ctx.params.integer("generations")),
        p_cross_(ctx.params.real("crossover_probability")),
        eta_c_(ctx.params.real("crossover_eta")),
        eta_m_(ctx.params.real("mutation_eta")),
        p_mut_(ctx.params.real("mutation_probability")) {
    if (population_ % 2 != 0)
      throw core::ConfigError(fmt::format("explore.strategy.population = {} must be even", population_));
    if (p_mut_ == 0) p_mut_ = 1.0 / static_cast<double>(std::max<std::size_t>(dims_, 1));
  }

  std::vector<std::vector<double>> ask() override {
    std::vector<std::vector<double>> out;
    if (!started_) {
      for (std::size_t i = 0; i < population_; ++i) out.push_back(random_coordinates(dims_, rng_));
      return out;
    }
    if (generation_ >= generations_) return out;
    while (out.size() < population_) {
      std::vector<double> a = parents_[tournament()].obs.u, b = parents_[tournament()].obs.u;
      if (rng_.uniform() <= p_cross_) crossover(a, b);
      mutate(a);
      mutate(b);
      out.push_back(std::move(a));
      out.push_back(std::move(b));
    }
    return out;
  }

  void tell(const std::vector<Observation>& outcomes) override {
    std::vector<Individual> pool = parents_;
    for (const auto& o : outcomes) pool.push_back({o, 0, 0});
    if (started_) ++generation_;
    started_ = true;
    parents_ = select(std::move(pool));
  }

  std::int64_t planned() const override { return static_cast<std::int64_t>(population_) * (generations_ + 1); }

 private:
  std::vector<Individual> select(std::vector<Individual> pool) const {
    std::vector<std::vector<double>> f;
    std::vector<double> v;
    for (const auto& ind : pool) {
      f.push_back(ind.obs.objectives);
      v.push_back(ind.obs.violation);
    }
    std::vector<Individual> next;
    const auto fronts = nondominated_sort(f, v);
    for (std::size_t r = 0; r < fronts.size() && next.size() < population_; ++r) {
      const auto& front = fronts[r];
      std::vector<double> crowd(front.size(), 0.0);
      if (v[front[0]] == 0) crowd = crowding_distance(f, front);
      std::vector<std::size_t> order(front.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return crowd[a] > crowd[b]; });
      for (std::size_t k = 0; k < order.size() && next.size() < population_; ++k) {
        Individual ind = pool[front[order[k]]];
        ind.rank = r;
        ind.crowding = crowd[order[k]];
        next.push_back(std::move(ind));
      }
    }
    return next;
  }

  std::size_t tournament() {
    const std::size_t a = random_index(parents_.size(), rng_), b = random_index(parents_.size(), rng_);
    const Individual &x = parents_[a], &y = parents_[b];
    if (x.rank != y.rank) return x.rank < y.rank ? a : b;
    if (x.crowding != y.crowding) return x.crowding > y.crowding ? a : b;
    return rng_.uniform() < 0.5 ? a : b;
  }

  double spread(double beta) {
    const double alpha = 2.0 - std::pow(beta, -(eta_c_ + 1.0));
    const double r = rng_.uniform();
    return r <= 1.0 / alpha ? std::pow(r * alpha, 1.0 / (eta_c_ + 1.0))
                            : std::pow(1.0 / (2.0 - r * alpha), 1.0 / (eta_c_ + 1.0));
  }

  void crossover(std::vector<double>& a, std::vector<double>& b) {
    for (std::size_t i = 0; i < dims_; ++i) {
      if (rng_.uniform() > 0.5 || std::fabs(a[i] - b[i]) < 1e-14) continue;
      const double y1 = std::min(a[i], b[i]), y2 = std::max(a[i], b[i]);
      const double c1 = 0.5 * (y1 + y2 - spread(1.0 + 2.0 * y1 / (y2 - y1)) * (y2 - y1));
      const double c2 = 0.5 * (y1 + y2 + spread(1.0 + 2.0 * (1.0 - y2) / (y2 - y1)) * (y2 - y1));
      const bool swap = rng_.uniform() < 0.5;
      a[i] = std::clamp(swap ? c2 : c1, 0.0, 1.0);
      b[i] = std::clamp(swap ? c1 : c2, 0.0, 1.0);
    }
  }

  void mutate(std::vector<double>& x) {
    const double power = 1.0 / (eta_m_ + 1.0);
    for (double& y : x) {
      if (rng_.uniform() > p_mut_) continue;
      const double r = rng_.uniform();
      double dq;
      if (r < 0.5) {
        const double val = 2.0 * r + (1.0 - 2.0 * r) * std::pow(1.0 - y, eta_m_ + 1.0);
        dq = std::pow(val, power) - 1.0;
      } else {
        const double val = 2.0 * (1.0 - r) + 2.0 * (r - 0.5) * std::pow(y, eta_m_ + 1.0);
        dq = 1.0 - std::pow(val, power);
      }
      y = std::clamp(y + dq, 0.0, 1.0);
    }
  }

  std::size_t dims_;
  core::Rng rng_;
  std::size_t population_;
  std::int64_t generations_;
  double p_cross_, eta_c_, eta_m_, p_mut_;
  bool started_ = false;
  std::int64_t generation_ = 0;
  std::vector<Individual> parents_;
};

}  // namespace

StrategyEntry nsga2_strategy() {
  using core::Dim;
  using core::ParamSpec;
  return {"nsga2",
          {"explore.strategy.nsga2", "NSGA-II: elitist multi-objective genetic search",
           {ParamSpec::integer("population", "40", "individuals per generation (even)").at_least(4).at_most(1 << 20),
            ParamSpec::integer("generations", "25", "generations of offspring after the initial population")
                .at_least(0).at_most(1 << 24),
            ParamSpec::real("crossover_probability", Dim::kNone, "0.9", "probability that two parents cross")
                .at_least(0).at_most(1),
            ParamSpec::real("crossover_eta", Dim::kNone, "15", "SBX distribution index (larger: children nearer parents)")
                .above(0).at_most(1000),
            ParamSpec::real("mutation_eta", Dim::kNone, "20", "polynomial mutation distribution index").above(0).at_most(1000),
            ParamSpec::real("mutation_probability", Dim::kNone, "0", "per coordinate; 0 = 1 / dimensions")
                .at_least(0).at_most(1)}},
          [](const StrategyContext& c) -> std::unique_ptr<SearchStrategy> { return std::make_unique<Nsga2>(c); }};
}

}  // namespace cimlab::explore
