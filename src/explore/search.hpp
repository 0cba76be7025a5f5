#pragma once
// A design-space search (issue 12): the `explore` section of an experiment, the points it evaluates and
// the driver that runs a strategy over an objective.
//
//   explore:
//     strategy: {type: nsga2, population: 40, generations: 25}   # grid | random | nsga2 | bayes
//     objectives: [energy_per_inference_j, {name: tops_per_mm2, sense: max}]   # sense defaults per metric
//     constraints: ["area_mm2 <= 100", "adc.bits <= mapping.cell_bits + 6"]
//     space: {...}                                                 # explore/space.hpp
//     seed: 1          # default: the experiment's seed
//     threads: 0       # worker threads on this machine; 0 = one per core
//
// Points get ids 0, 1, ... in the order the strategy first asks them; a point asked again is not
// evaluated again (its outcome is reused). A point that breaks a metric constraint is `rejected`, its
// metrics kept under `measured`; only `ok` points reach the Pareto front and the best points.
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/params.hpp"
#include "explore/constraint.hpp"
#include "explore/objective.hpp"
#include "explore/space.hpp"

namespace cimlab::explore {

struct ObjectiveSpec {
  std::string name;  // a metric
  Sense sense = Sense::kMin;
};

struct SearchSpec {
  Space space;
  std::vector<ObjectiveSpec> objectives;
  std::vector<Constraint> constraints;
  std::string strategy;        // registry type
  core::Params strategy_params;
  std::uint64_t seed = 1;
  int threads = 0;             // 0 = one per core
  YAML::Node resolved;         // the section with the strategy's defaults filled in
};

// The `explore` section's own keys (seed, threads); the strategies' schemas are in explore/strategy.hpp.
const core::Schema& explore_schema();

// Reads `section` (the experiment's `explore`) against the objective's metrics. Problems go to diags with
// the section's positions. `default_seed`: the experiment's seed.
SearchSpec load_search(const YAML::Node& section, const core::Origin& origin, const std::vector<MetricInfo>& metrics,
                       std::uint64_t default_seed, core::Diagnostics& diags);

struct PointRecord {
  std::int64_t id = 0;
  Point point;
  Status status = Status::kOk;
  std::map<std::string, double> metrics;   // kOk: the objective's metrics
  std::map<std::string, double> measured;  // rejected by a metric constraint: what was measured
  std::string reason;                      // not kOk: why
};

// {id, config, metrics, status} plus reason (when not ok) and measured (when rejected by a metric constraint).
// config maps each key to its value (numbers and booleans as JSON numbers and booleans, the rest as text).
nlohmann::json to_json(const PointRecord& r);
nlohmann::json config_json(const Point& p);
// A record read back from points.jsonl (its point holds settings only, as text). Throws InputError.
PointRecord record_from_json(const nlohmann::json& j);

// The constraints between keys, as the gate an Evaluator applies before it measures a point.
KeyGate key_gate(const std::vector<Constraint>& constraints);

// Evaluates batches of points on some workers (threads, MPI ranks).
class BatchEvaluator {
 public:
  using Done = std::function<void(std::size_t index, const Evaluation&)>;
  virtual ~BatchEvaluator() = default;
  // Evaluates every point; calls done(i, outcome) as point i completes, never two calls at once. An exception
  // from an Evaluator is recorded as a failed point.
  virtual std::vector<Evaluation> evaluate(const std::vector<Point>& points, const Done& done) = 0;
};

// Threads on this machine, each with its own Evaluator (threads <= 1: the calling thread).
std::unique_ptr<BatchEvaluator> make_thread_evaluator(const Objective& objective, KeyGate gate, int threads);
// One worker's evaluation of a point: exceptions become failed outcomes.
Evaluation evaluate_safely(Evaluator& evaluator, const Point& point, const KeyGate& gate);

struct SearchCallbacks {
  std::function<void(const PointRecord&)> on_point;  // each newly evaluated point, as it completes
  std::function<void(std::int64_t evaluated, std::int64_t planned)> on_batch;  // after each batch
  std::function<void(std::int64_t planned)> on_start;
};

struct SearchResult {
  std::vector<PointRecord> points;          // by id
  std::vector<std::int64_t> front;          // ids of the non-dominated ok points
  std::map<std::string, std::int64_t> best;  // objective -> id of its best ok point (absent when none)
};

// Runs the search. `previous`: the points of an interrupted run of the same search (resume); each must be
// the point this run asks under its id (else InputError: the folder holds another search); they are not
// evaluated again. Throws ConfigError when the strategy does not fit the space.
SearchResult run_search(const SearchSpec& spec, BatchEvaluator& evaluator, const std::vector<PointRecord>& previous,
                        const SearchCallbacks& callbacks);

// The front and best points of `points` (ok ones only) for the objectives of `spec`.
void summarise(const SearchSpec& spec, SearchResult& result);

// pareto.json: {objectives: [{name, sense}], points: [{id, config, metrics}]}.
nlohmann::json pareto_json(const SearchSpec& spec, const SearchResult& result);

}  // namespace cimlab::explore
