#pragma once
// What a search evaluates, as explore sees it (issue 12): an Objective names the metrics it measures and
// makes Evaluators that turn a design point into metrics. explore knows nothing else about it: flow plugs
// the mapper + PPA roll-up in (flow/explore_experiment.hpp), and an accuracy objective (the `fast`
// Monte-Carlo evaluation, cached per distinct setting of the keys that affect accuracy) plugs in the same
// way, sharing its cache between Evaluators under a lock.
//
// Contracts: an Objective is shared by every worker thread (its const members must be thread-safe);
// each worker thread makes its own Evaluator and is the only one to use it. evaluate() must not throw for
// a bad design point: an invalid combination is kStatus rejected with its reason; an exception it lets
// through is caught by the search and recorded as a failed point.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "explore/constraint.hpp"
#include "explore/space.hpp"

namespace cimlab::explore {

enum class Sense { kMin, kMax };
std::string sense_name(Sense s);  // "min" / "max"

struct MetricInfo {
  std::string name;   // a key of Evaluation::metrics, e.g. "energy_per_inference_j"
  Sense sense = Sense::kMin;  // the default direction when it is an objective
  std::string description;    // one line, with its unit
};

enum class Status { kOk, kRejected, kFailed };
std::string status_name(Status s);  // "ok" / "rejected" / "failed"

struct Evaluation {
  Status status = Status::kOk;
  std::map<std::string, double> metrics;  // kOk: every metric the objective declares
  std::string reason;                     // kRejected / kFailed: why
};

// Checks the constraints between config keys once the point's config is validated: given the value of
// any config key (SI, defaults filled in), returns the reason the point is rejected, or nothing.
using KeyGate = std::function<std::optional<std::string>(const Lookup& key_value)>;

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Validates the point's config (the base config with `point.settings` applied), calls `gate` with the
  // resolved values (rejected, unevaluated, if it names a reason), then measures the metrics.
  virtual Evaluation evaluate(const Point& point, const KeyGate& gate) = 0;
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::vector<MetricInfo> metrics() const = 0;
  virtual std::unique_ptr<Evaluator> make_evaluator() const = 0;
};

}  // namespace cimlab::explore
