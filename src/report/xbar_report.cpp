#include "report/xbar_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/run_dir.hpp"
#include "report/html.hpp"
#include "report/svg.hpp"

namespace cimlab::report {

namespace {

using nlohmann::json;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
// The order the simulator applies effects in, and its classes of effects; unknown keys follow.
constexpr std::array<std::string_view, 7> kEffectOrder{"quantisation", "programming", "read_noise", "drift",
                                                       "faults",       "nonlinearity", "ir_drop"};
constexpr std::array<std::string_view, 5> kClassOrder{"quantisation", "fluctuation", "defects", "nonlinearity",
                                                      "interconnect"};
enum Group { kEffectGroup = 0, kClassGroup = 1, kAllGroup = 2, kCorrectedGroup = 3 };

const json& child(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

double number(const json& j, std::string_view key) {
  const json& v = child(j, key);
  return v.is_number() ? v.get<double>() : kNan;
}

// A scalar for display: strings as they are, booleans as yes/no, numbers with 3 significant digits.
std::string scalar(const json& j, std::string_view key, std::string_view unit = "") {
  const json& v = child(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>()) + (unit.empty() ? "" : " ") + std::string(unit);
  return format_value(v.is_number() ? v.get<double>() : kNan, unit);
}

std::string percent(double relative) { return format_value(100.0 * relative, "%"); }

std::string pretty(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c == '_') c = ' ';
  return out;
}

// Keys of `j` in the order of `known` first, then the others in the order json keeps them.
template <std::size_t N>
std::vector<std::string> ordered_keys(const json& j, const std::array<std::string_view, N>& known) {
  std::vector<std::string> keys;
  if (!j.is_object()) return keys;
  for (auto k : known)
    if (j.contains(k)) keys.emplace_back(k);
  for (const auto& item : j.items())
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) keys.push_back(item.key());
  return keys;
}

KeyValues provenance_items(const json& p) {
  return {{"cimlab version", scalar(p, "cimlab_version")}, {"git commit", scalar(p, "git_commit")},
          {"seed", scalar(p, "seed")},                     {"command", scalar(p, "command")},
          {"started (UTC)", scalar(p, "started_utc")},     {"wall time", scalar(p, "wall_time_s", "s")}};
}

std::string dims(const json& j, std::string_view a, std::string_view b) {
  return fmt::format("{} x {}", scalar(j, a), scalar(j, b));
}

struct BudgetEntry {
  std::string label;
  int colour;
  const json* errors;
};

std::vector<BudgetEntry> budget_entries(const json& result) {
  std::vector<BudgetEntry> out;
  const json& effects = child(result, "effects");
  for (const auto& k : ordered_keys(effects, kEffectOrder))
    out.push_back({pretty(k), kEffectGroup, &effects.at(k)});
  const json& classes = child(result, "classes");
  for (const auto& k : ordered_keys(classes, kClassOrder))
    out.push_back({"class " + pretty(k), kClassGroup, &classes.at(k)});
  const json& cases = child(result, "cases");
  const std::array<std::tuple<std::string_view, std::string, int>, 3> case_rows{
      {{"all", "all effects", kAllGroup},
       {"ir_drop_only_corrected", "IR drop alone, corrected", kCorrectedGroup},
       {"all_corrected", "all effects, corrected", kCorrectedGroup}}};
  for (const auto& [key, label, colour] : case_rows)
    if (cases.is_object() && cases.contains(key)) out.push_back({label, colour, &cases.at(key)});
  return out;
}

// True when the positive values span more than two decades, so a log scale reads better.
bool spans_decades(const std::vector<std::pair<std::string, double>>& bars) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0.0;
  for (const auto& [label, v] : bars)
    if (std::isfinite(v) && v > 0.0) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  return hi > 0.0 && hi / lo > 100.0;
}

void add_error_budget(Page& page, const json& result) {
  page.section("Error budget");
  const auto entries = budget_entries(result);
  std::vector<std::pair<std::string, double>> bars;
  BarChartOptions options;
  std::vector<TableRow> rows;
  for (const auto& e : entries) {
    bars.emplace_back(e.label, 100.0 * number(*e.errors, "relative_rms_error"));
    options.colour_of_bar.push_back(e.colour);
    rows.push_back({e.label, percent(number(*e.errors, "relative_rms_error")),
                    percent(number(*e.errors, "max_error_full_scale"))});
  }
  options.log_scale = spans_decades(bars);
  options.legend = {{kEffectGroup, "one effect alone"},
                    {kClassGroup, "one class of effects"},
                    {kAllGroup, "all effects"},
                    {kCorrectedGroup, "with correction"}};
  page.paragraph("Relative RMS error of the array outputs against the ideal product W^T x, with each effect "
                 "alone, each class of effects, and all effects together" +
                 std::string(options.log_scale ? " (log scale)." : "."));
  page.figure(bar_chart("Relative RMS output error", bars, "%", options));
  page.table({"case", "relative RMS error", "max error / full scale"}, rows);
}

void add_correction(Page& page, const json& result) {
  page.section("IR-drop correction");
  const json& c = child(result, "correction");
  if (!c.is_object()) {
    page.paragraph("Correction was off for this run.");
    return;
  }
  page.key_values({{"method", scalar(c, "method")},
                   {"iterations", scalar(c, "iterations")},
                   {"converged", scalar(c, "converged")},
                   {"gain", scalar(c, "gain")},
                   {"time", scalar(c, "seconds", "s")}});
  const json& before = child(c, "current_error_before");
  const json& after = child(c, "current_error_after");
  page.table({"column-current error", "before correction", "after correction"},
             {{"relative RMS", percent(number(before, "relative_rms_error")), percent(number(after, "relative_rms_error"))},
              {"maximum / full scale", percent(number(before, "max_error_full_scale")),
               percent(number(after, "max_error_full_scale"))}});
  const json& compared = child(c, "compared");
  if (!compared.is_array() || compared.empty()) return;
  std::vector<TableRow> rows;
  auto row = [&](const json& scheme) {
    rows.push_back({scalar(scheme, "method"), scalar(scheme, "iterations"), scalar(scheme, "seconds", "s"),
                    scalar(scheme, "gain"), percent(number(child(scheme, "current_error_after"), "relative_rms_error"))});
  };
  row(c);
  for (const json& scheme : compared) row(scheme);
  page.paragraph("Every scheme on the same array and inputs (comn is the seed paper's iteration as released in CoMN):");
  page.table({"scheme", "iterations", "time", "gain", "column-current error after"}, rows);
}

void add_voltage_map(Page& page, const Eigen::MatrixXd* cell_voltage) {
  page.section("IR drop across the array");
  if (cell_voltage == nullptr || cell_voltage->size() == 0) {
    page.paragraph("No cell-voltage map was recorded for this run.");
    return;
  }
  page.paragraph("Voltage across each cell for the first input vector: row 0 at the top, column 0 on the left. "
                 "Wire resistance lowers it away from the drivers and the sense amplifiers.");
  page.figure(heatmap("Cell voltage", *cell_voltage, "V"));
}

void render_weights(Page& page, const json& result, const Eigen::MatrixXd* cell_voltage) {
  const json& array = child(result, "array");
  std::string effects;
  for (const auto& e : child(result, "all_effects"))
    if (e.is_string()) effects += (effects.empty() ? "" : ", ") + pretty(e.get<std::string>());
  const json& cases = child(result, "cases");
  page.section("Overview");
  page.key_values({{"weights (rows x outputs)", dims(child(result, "weights"), "rows", "outputs")},
                   {"input vectors", scalar(result, "inputs")},
                   {"array (rows x cols)", dims(array, "rows", "cols")},
                   {"columns used", scalar(array, "cols_used")},
                   {"effects on", effects.empty() ? "none" : effects},
                   {"error, all effects", percent(number(child(cases, "all"), "relative_rms_error"))},
                   {"error, all effects corrected", percent(number(child(cases, "all_corrected"), "relative_rms_error"))}});
  add_error_budget(page, result);
  add_correction(page, result);
  add_voltage_map(page, cell_voltage);
}

void add_circuit_overview(Page& page, const json& result) {
  const json& c = child(result, "circuit");
  auto sides = [&](std::string_view key) {
    const json& v = child(c, key);
    return v.is_boolean() ? (v.get<bool>() ? "two-sided" : "one-sided") : "n/a";
  };
  page.section("Overview");
  if (child(result, "summary").is_string()) page.note(child(result, "summary").get<std::string>());
  page.key_values({{"array (rows x cols)", dims(c, "rows", "cols")},
                   {"input vectors", scalar(result, "inputs")},
                   {"row wire, per cell", scalar(c, "r_row_ohm", "ohm")},
                   {"column wire, per cell", scalar(c, "r_col_ohm", "ohm")},
                   {"driver resistance", scalar(c, "r_driver_ohm", "ohm")},
                   {"sense resistance", scalar(c, "r_sense_ohm", "ohm")},
                   {"drive", sides("two_sided_drive")},
                   {"sense", sides("two_sided_sense")}});
}

void add_accuracy(Page& page, const json& result) {
  page.section("Accuracy against the exact solution");
  const double ratio = number(result, "current_ratio_to_ideal");
  page.key_values({{"total column current / ideal", std::isfinite(ratio) ? fmt::format("{:.4f}", ratio) : "n/a"}});
  const json& ideal = child(result, "ideal_error");
  std::vector<std::pair<std::string, double>> bars{
      {"ideal (no wires)", 100.0 * number(ideal, "relative_rms_error")}};
  std::vector<TableRow> rows{{"ideal (no wires)", percent(number(ideal, "relative_rms_error")),
                              percent(number(ideal, "max_error_full_scale")), "n/a"}};
  const json& approx = child(result, "approximations");
  if (approx.is_object())
    for (const auto& item : approx.items()) {
      bars.emplace_back(item.key(), 100.0 * number(item.value(), "relative_rms_error"));
      rows.push_back({item.key(), percent(number(item.value(), "relative_rms_error")),
                      percent(number(item.value(), "max_error_full_scale")), scalar(item.value(), "seconds", "s")});
    }
  page.paragraph("Column-current error of the ideal product and of the fast approximations, each against the "
                 "exact circuit solution.");
  BarChartOptions options;
  options.log_scale = spans_decades(bars);
  page.figure(bar_chart("Relative RMS current error", bars, "%", options));
  page.table({"model", "relative RMS error", "max error / full scale", "time"}, rows);
}

void add_solver(Page& page, const json& result) {
  const json& s = child(result, "solver");
  page.section("Exact solver");
  page.key_values({{"method", scalar(s, "method")},
                   {"iterations", scalar(s, "iterations")},
                   {"residual", scalar(s, "residual")},
                   {"converged", scalar(s, "converged")},
                   {"time", scalar(s, "seconds", "s")}});
}

// Column currents of the first input vector, exact and ideal, as (column, current) points.
Series first_currents(const json& rows, std::string name) {
  Series s{std::move(name), {}};
  if (!rows.is_array() || rows.empty() || !rows[0].is_array()) return s;
  for (std::size_t j = 0; j < rows[0].size(); ++j)
    s.second.emplace_back(static_cast<double>(j), rows[0][j].is_number() ? rows[0][j].get<double>() : kNan);
  return s;
}

void render_circuit(Page& page, const json& result, const Eigen::MatrixXd* cell_voltage) {
  add_circuit_overview(page, result);
  add_solver(page, result);
  add_accuracy(page, result);
  const Series exact = first_currents(child(result, "currents_A"), "exact");
  if (!exact.second.empty()) {
    page.section("Column currents");
    page.figure(line_chart("Column currents, first input vector", "column", "current",
                           {exact, first_currents(child(result, "ideal_currents_A"), "ideal (no wires)")}, false,
                           "A"));
  }
  add_voltage_map(page, cell_voltage);
}

}  // namespace

std::string render_xbar_report(const json& result, const Eigen::MatrixXd* cell_voltage) {
  const std::string mode = child(result, "mode").is_string() ? child(result, "mode").get<std::string>() : "";
  const json& provenance = child(result, "provenance");
  Page page(fmt::format("cimlab xbar: {} mode", mode.empty() ? "unknown" : mode),
            fmt::format("cimlab {} · seed {} · started {} UTC", scalar(provenance, "cimlab_version"),
                        scalar(provenance, "seed"), scalar(provenance, "started_utc")));
  if (mode == "circuit") {
    render_circuit(page, result, cell_voltage);
  } else {
    render_weights(page, result, cell_voltage);
    if (child(result, "summary").is_string()) {
      page.section("Text summary");
      page.preformatted(child(result, "summary").get<std::string>());
    }
  }
  page.footer(provenance_items(provenance));
  return page.render();
}

void write_xbar_report(const std::string& path, const json& result, const Eigen::MatrixXd* cell_voltage) {
  core::write_file_atomic(path, render_xbar_report(result, cell_voltage));
}

}  // namespace cimlab::report
