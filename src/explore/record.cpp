// Point records as JSON (points.jsonl, pareto.json) and the gate of constraints between keys.
#include <fmt/format.h>

#include <cmath>

#include "explore/search.hpp"

namespace cimlab::explore {

namespace {

nlohmann::json value_json(const Value& v) {
  if (v.text == "true" || v.text == "false") return v.text == "true";
  if (v.number && v.dim == core::Dim::kNone) {
    const std::string& t = v.text;
    const bool integer = t.find_first_not_of("+-0123456789") == std::string::npos;
    if (integer && std::fabs(*v.number) < 9e15) return static_cast<std::int64_t>(*v.number);
    return *v.number;
  }
  return v.text;
}

std::string value_text(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  return j.dump();
}

std::map<std::string, double> metrics_from(const nlohmann::json& j) {
  std::map<std::string, double> out;
  if (j.is_object())
    for (const auto& [k, v] : j.items())
      if (v.is_number()) out[k] = v.get<double>();
  return out;
}

}  // namespace

std::string sense_name(Sense s) { return s == Sense::kMin ? "min" : "max"; }

std::string status_name(Status s) {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kRejected: return "rejected";
    case Status::kFailed: return "failed";
  }
  return "failed";
}

nlohmann::json config_json(const Point& p) {
  nlohmann::json c = nlohmann::json::object();
  for (const auto& s : p.settings) c[s.key] = value_json(s.value);
  return c;
}

nlohmann::json to_json(const PointRecord& r) {
  nlohmann::json j{{"id", r.id}, {"config", config_json(r.point)}, {"metrics", r.metrics}, {"status", status_name(r.status)}};
  if (r.status != Status::kOk) j["reason"] = r.reason;
  if (!r.measured.empty()) j["measured"] = r.measured;
  return j;
}

PointRecord record_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_number_integer() || !j.contains("config") ||
      !j["config"].is_object() || !j.contains("status") || !j["status"].is_string())
    throw core::InputError("a line of points.jsonl is not a point {id, config, metrics, status}");
  PointRecord r;
  r.id = j["id"].get<std::int64_t>();
  for (const auto& [k, v] : j["config"].items()) r.point.settings.push_back({k, read_value(value_text(v))});
  const std::string status = j["status"].get<std::string>();
  r.status = status == "ok" ? Status::kOk : status == "rejected" ? Status::kRejected : Status::kFailed;
  if (j.contains("metrics")) r.metrics = metrics_from(j["metrics"]);
  if (j.contains("measured")) r.measured = metrics_from(j["measured"]);
  if (j.contains("reason") && j["reason"].is_string()) r.reason = j["reason"].get<std::string>();
  return r;
}

KeyGate key_gate(const std::vector<Constraint>& constraints) {
  std::vector<Constraint> on_keys;
  for (const auto& c : constraints)
    if (!c.on_metrics()) on_keys.push_back(c);
  return [on_keys](const Lookup& lookup) -> std::optional<std::string> {
    std::string reasons;
    for (const auto& c : on_keys) {
      std::string why;
      const auto v = c.violation(lookup, &why);
      if (!v || *v > 0) reasons += (reasons.empty() ? "" : "; ") + why;
    }
    return reasons.empty() ? std::nullopt : std::optional<std::string>(reasons);
  };
}

}  // namespace cimlab::explore
