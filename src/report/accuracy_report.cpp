#include "report/accuracy_report.hpp"

#include <fmt/format.h>

#include <vector>

#include "report/html.hpp"
#include "report/svg.hpp"

namespace cimlab::report {

namespace {

using nlohmann::json;

const json& child(const json& j, const std::string& key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

double number(const json& j, const std::string& key) {
  const json& v = child(j, key);
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

std::string text(const json& j, const std::string& key) {
  const json& v = child(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

std::string percent(double fraction) { return format_value(100.0 * fraction, "%"); }

}  // namespace

std::string accuracy_report(const json& result) {
  const json& rows = child(result, "rows");
  const json& provenance = child(result, "provenance");
  std::string subject = "accuracy";
  if (rows.is_array() && !rows.empty()) subject = fmt::format("{} on {}", text(rows[0], "model"), text(rows[0], "dataset"));
  Page page("cimlab run: " + subject, fmt::format("seed {} · started {} UTC", text(provenance, "seed"),
                                                   text(provenance, "started_utc")));
  page.section("Accuracy per chip and stage");
  page.paragraph(
      "float: the float model; analog: its weights on the chip as they are; hat: after hardware-aware "
      "fine-tuning for that chip; hat_wmc: the same with weight-mapping correction of IR drop before "
      "programming; hat_wmc_unknown_faults: the correction without the map of stuck cells. Mean, its 95 % "
      "interval (chip-to-chip spread and finite test set), standard deviation and 5th percentile over the "
      "Monte-Carlo chip instances.");
  std::vector<TableRow> table;
  std::vector<std::pair<std::string, double>> bars;
  BarChartOptions options;
  const std::vector<std::string> stages{"float", "analog", "hat", "hat_wmc", "hat_wmc_unknown_faults"};
  if (rows.is_array())
    for (const json& r : rows) {
      const json& ci = child(r, "ci95");
      const std::string interval = ci.is_array() && ci.size() == 2
                                       ? fmt::format("{} to {}", percent(ci[0].get<double>()), percent(ci[1].get<double>()))
                                       : "";
      table.push_back({text(r, "device"), text(r, "stage"), percent(number(r, "mean")), interval,
                       percent(number(r, "std")), percent(number(r, "p5")), format_value(number(r, "ratio_to_float"), ""),
                       text(r, "images"), text(r, "chips")});
      bars.emplace_back(fmt::format("{} · {}", text(r, "device"), text(r, "stage")), 100.0 * number(r, "mean"));
      const auto it = std::find(stages.begin(), stages.end(), text(r, "stage"));
      options.colour_of_bar.push_back(static_cast<int>(it - stages.begin()));
    }
  for (std::size_t i = 0; i < stages.size(); ++i) options.legend.emplace_back(static_cast<int>(i), stages[i]);
  page.table({"device", "stage", "mean", "95% CI", "std", "p5", "ratio to float", "images", "chips"}, table);
  page.figure(bar_chart("Mean test accuracy", bars, "%", options));

  const json& chips = child(child(result, "details"), "chips");
  if (chips.is_object())
    for (const auto& [device, d] : chips.items()) {
      const json& budget = child(child(d, "analog"), "budget");
      if (!budget.is_array() || budget.empty()) continue;
      page.section(fmt::format("Error budget: {} (float weights, each non-ideality alone)", device));
      std::vector<TableRow> budget_rows;
      std::vector<std::pair<std::string, double>> drops;
      const double float_accuracy = number(child(d, "analog"), "float_accuracy");
      for (const json& b : budget) {
        budget_rows.push_back({text(b, "effect"), percent(number(b, "mean")), percent(number(b, "std")),
                               percent(number(b, "p5")), percent(float_accuracy - number(b, "mean"))});
        drops.emplace_back(text(b, "effect"), 100.0 * (float_accuracy - number(b, "mean")));
      }
      page.table({"effect", "mean", "std", "p5", "loss vs float"}, budget_rows);
      page.figure(bar_chart("Accuracy lost to each class alone", drops, "%"));
    }
  page.footer({{"cimlab version", text(provenance, "cimlab_version")},
               {"git commit", text(provenance, "git_commit")},
               {"command", text(provenance, "command")},
               {"wall time", format_value(number(provenance, "wall_time_s"), "s")}});
  return page.render();
}

}  // namespace cimlab::report
