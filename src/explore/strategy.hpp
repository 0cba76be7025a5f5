#pragma once
// Search strategies (issue 12) behind one interface, chosen by `explore.strategy.type`:
//   grid    every point of a finite space (ranges need a step, factor or points)
//   random  uniform samples, distinct points (a finite space smaller than the budget is enumerated shuffled)
//   nsga2   NSGA-II, multi-objective (Deb et al., IEEE TEVC 6(2):182, 2002)
//   bayes   Bayesian optimisation: Gaussian process (Matern 5/2) + expected improvement, as CoMN; with
//           several objectives ParEGO's random Chebyshev scalarisations (Knowles, IEEE TEVC 10(1):50, 2006)
// A strategy works on unit-cube coordinates (see explore/space.hpp) and minimises: a maximised metric
// reaches it negated. The search asks it for a batch of points, evaluates the batch (threads or MPI ranks,
// in any order), and tells it the outcomes in the order asked. Contract: the points asked depend only on
// the seed, the parameters and the outcomes told, never on timing or on how many workers there are, so a
// resumed or distributed search asks the same points as an uninterrupted one. Not thread-safe.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "explore/space.hpp"

namespace cimlab::explore {

struct Observation {
  std::vector<double> u;           // the point as asked
  std::vector<double> objectives;  // minimisation form; empty when the point was not measured
  double violation = 0;            // 0 feasible; > 0 how far from the constraints; infinity when not measured
};

struct StrategyContext {
  const Space* space = nullptr;
  std::size_t objectives = 1;
  std::uint64_t seed = 1;
  core::Params params;  // validated against the strategy's schema
};

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  // The next batch (coordinates in [0, 1)^d); empty when the search is over.
  virtual std::vector<std::vector<double>> ask() = 0;
  // The outcomes of the last batch, in the order asked.
  virtual void tell(const std::vector<Observation>& outcomes) = 0;
  // How many points it will ask in all (for the progress bar).
  virtual std::int64_t planned() const = 0;
};

struct StrategyEntry {
  std::string type;
  core::Schema schema;  // its parameters (name "explore.strategy.<type>")
  std::unique_ptr<SearchStrategy> (*make)(const StrategyContext&);
};
const std::vector<StrategyEntry>& strategies();
const StrategyEntry* find_strategy(const std::string& type);
std::vector<std::string> strategy_names();

}  // namespace cimlab::explore
