// The search driver (see explore/search.hpp).
#include "explore/search.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <unordered_map>

#include "explore/pareto.hpp"
#include "explore/strategy.hpp"

namespace cimlab::explore {

namespace {

constexpr double kUnmeasured = std::numeric_limits<double>::infinity();

std::vector<Constraint> metric_constraints(const SearchSpec& spec) {
  std::vector<Constraint> out;
  for (const auto& c : spec.constraints)
    if (c.on_metrics()) out.push_back(c);
  return out;
}

// The metric constraints' total violation of `metrics`, and the reasons.
double violation_of(const std::vector<Constraint>& constraints, const std::map<std::string, double>& metrics,
                    std::string* reasons) {
  const Lookup lookup = [&](const std::string& n) -> std::optional<double> {
    const auto it = metrics.find(n);
    return it == metrics.end() ? std::nullopt : std::optional<double>(it->second);
  };
  double total = 0;
  for (const auto& c : constraints) {
    std::string why;
    const auto v = c.violation(lookup, &why);
    if (v && *v == 0) continue;
    total += v ? *v : 1.0;
    if (reasons) *reasons += (reasons->empty() ? "" : "; ") + why;
  }
  return total;
}

double signed_value(const ObjectiveSpec& o, double v) { return o.sense == Sense::kMax ? -v : v; }

class Driver {
 public:
  Driver(const SearchSpec& spec, BatchEvaluator& evaluator, const std::vector<PointRecord>& previous,
         const SearchCallbacks& callbacks)
      : spec_(spec), evaluator_(evaluator), callbacks_(callbacks), metric_constraints_(metric_constraints(spec)) {
    for (const auto& r : previous) previous_[r.id] = r;
  }

  SearchResult run() {
    const StrategyEntry* entry = find_strategy(spec_.strategy);
    if (!entry) throw core::ConfigError(fmt::format("explore.strategy: unknown strategy '{}'", spec_.strategy));
    StrategyContext ctx{&spec_.space, spec_.objectives.size(), spec_.seed, spec_.strategy_params};
    std::unique_ptr<SearchStrategy> strategy = entry->make(ctx);
    if (callbacks_.on_start) callbacks_.on_start(strategy->planned());
    for (auto batch = strategy->ask(); !batch.empty(); batch = strategy->ask()) {
      std::vector<Observation> outcomes = run_batch(batch);
      strategy->tell(outcomes);
      if (callbacks_.on_batch) callbacks_.on_batch(static_cast<std::int64_t>(records_.size()), strategy->planned());
    }
    SearchResult result;
    result.points = std::move(records_);
    summarise(spec_, result);
    return result;
  }

 private:
  std::vector<Observation> run_batch(const std::vector<std::vector<double>>& batch) {
    std::vector<std::int64_t> ids;
    std::vector<Point> todo;
    std::vector<std::int64_t> todo_ids;
    for (const auto& u : batch) {
      Point p = spec_.space.decode(u);
      const std::string key = p.identity();
      auto it = ids_.find(key);
      if (it == ids_.end()) {
        const auto id = static_cast<std::int64_t>(records_.size());
        it = ids_.emplace(key, id).first;
        records_.push_back(PointRecord{id, p, Status::kOk, {}, {}, {}});
        if (!reuse(id, p)) {
          todo.push_back(p);
          todo_ids.push_back(id);
        }
      }
      ids.push_back(it->second);
    }
    if (!todo.empty())
      evaluator_.evaluate(todo, [&](std::size_t i, const Evaluation& e) {
        PointRecord& r = records_[static_cast<std::size_t>(todo_ids[i])];
        finish(r, e);
        if (callbacks_.on_point) callbacks_.on_point(r);
      });
    std::vector<Observation> out;
    for (std::size_t i = 0; i < batch.size(); ++i) out.push_back(observe(records_[static_cast<std::size_t>(ids[i])], batch[i]));
    return out;
  }

  // Takes the outcome of point `id` from the interrupted run, if it has one.
  bool reuse(std::int64_t id, const Point& p) {
    const auto it = previous_.find(id);
    if (it == previous_.end()) return false;
    if (config_json(it->second.point) != config_json(p))
      throw core::InputError(fmt::format("point {} of the folder's points.jsonl is {}, but this search's point {} is {}: "
                                         "the folder holds another search (use a new --out)",
                                         id, config_json(it->second.point).dump(), id, config_json(p).dump()));
    PointRecord& r = records_[static_cast<std::size_t>(id)];
    r.status = it->second.status;
    r.metrics = it->second.metrics;
    r.measured = it->second.measured;
    r.reason = it->second.reason;
    return true;
  }

  void finish(PointRecord& r, const Evaluation& e) {
    r.status = e.status;
    r.reason = e.reason;
    if (e.status != Status::kOk) return;
    for (const auto& o : spec_.objectives) {
      const auto it = e.metrics.find(o.name);
      if (it == e.metrics.end() || !std::isfinite(it->second)) {
        r.status = Status::kFailed;
        r.reason = fmt::format("objective '{}' has no finite value", o.name);
        return;
      }
    }
    std::string reasons;
    if (violation_of(metric_constraints_, e.metrics, &reasons) > 0) {
      r.status = Status::kRejected;
      r.reason = reasons;
      r.measured = e.metrics;
      return;
    }
    r.metrics = e.metrics;
  }

  Observation observe(const PointRecord& r, const std::vector<double>& u) const {
    Observation o{u, {}, kUnmeasured};
    const auto& values = r.status == Status::kOk ? r.metrics : r.measured;
    if (values.empty()) return o;
    for (const auto& obj : spec_.objectives) {
      const auto it = values.find(obj.name);
      if (it == values.end()) return Observation{u, {}, kUnmeasured};
      o.objectives.push_back(signed_value(obj, it->second));
    }
    o.violation = r.status == Status::kOk ? 0.0 : std::max(violation_of(metric_constraints_, values, nullptr), 1e-12);
    return o;
  }

  const SearchSpec& spec_;
  BatchEvaluator& evaluator_;
  const SearchCallbacks& callbacks_;
  std::vector<Constraint> metric_constraints_;
  std::unordered_map<std::int64_t, PointRecord> previous_;
  std::unordered_map<std::string, std::int64_t> ids_;
  std::vector<PointRecord> records_;
};

}  // namespace

SearchResult run_search(const SearchSpec& spec, BatchEvaluator& evaluator, const std::vector<PointRecord>& previous,
                        const SearchCallbacks& callbacks) {
  return Driver(spec, evaluator, previous, callbacks).run();
}

void summarise(const SearchSpec& spec, SearchResult& result) {
  std::vector<std::vector<double>> f;
  std::vector<std::int64_t> ids;
  for (const auto& r : result.points) {
    if (r.status != Status::kOk) continue;
    std::vector<double> v;
    for (const auto& o : spec.objectives) v.push_back(signed_value(o, r.metrics.at(o.name)));
    f.push_back(std::move(v));
    ids.push_back(r.id);
  }
  result.front.clear();
  for (const std::size_t i : pareto_front(f)) result.front.push_back(ids[i]);
  // The best point of an objective is taken from the front (ties in that objective broken by the others).
  result.best.clear();
  const auto front = pareto_front(f);
  for (std::size_t k = 0; k < spec.objectives.size(); ++k) {
    std::size_t best = f.size();
    for (const std::size_t i : front)
      if (best == f.size() || f[i][k] < f[best][k]) best = i;
    if (best < f.size()) result.best[spec.objectives[k].name] = ids[best];
  }
}

nlohmann::json pareto_json(const SearchSpec& spec, const SearchResult& result) {
  nlohmann::json objectives = nlohmann::json::array(), points = nlohmann::json::array();
  for (const auto& o : spec.objectives) objectives.push_back({{"name", o.name}, {"sense", sense_name(o.sense)}});
  for (const std::int64_t id : result.front) {
    const PointRecord& r = result.points[static_cast<std::size_t>(id)];
    points.push_back({{"id", r.id}, {"config", config_json(r.point)}, {"metrics", r.metrics}});
  }
  return {{"objectives", objectives}, {"points", points}};
}

}  // namespace cimlab::explore
