#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <vector>

#include "report/html.hpp"
#include "report/svg.hpp"
#include "report/xbar_report.hpp"

using namespace cimlab::report;
using nlohmann::json;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

// Checks that every start tag has its end tag in the right order (self-closing tags excepted).
// Returns the first problem, or "" when balanced.
std::string tag_problem(const std::string& markup) {
  static const std::regex kTag(R"(<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>)");
  static const std::vector<std::string> kVoid{"meta", "br", "hr", "img", "input", "link"};
  std::vector<std::string> open;
  for (std::sregex_iterator it(markup.begin(), markup.end(), kTag), end; it != end; ++it) {
    const std::string name = (*it)[2];
    if ((*it)[3] == "/" || std::find(kVoid.begin(), kVoid.end(), name) != kVoid.end()) continue;
    if ((*it)[1] == "") {
      open.push_back(name);
    } else if (open.empty() || open.back() != name) {
      return "unexpected </" + name + ">" + (open.empty() ? "" : " while <" + open.back() + "> is open");
    } else {
      open.pop_back();
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

bool has_non_finite_text(const std::string& markup) {
  static const std::regex kBad(R"(\b(nan|inf|infinity)\b)", std::regex::icase);
  return std::regex_search(markup, kBad);
}

// A near-zero reference makes the relative maximum huge; reports show the maximum over full scale.
json error_pair(double rms, double max) {
  return {{"relative_rms_error", rms}, {"max_relative_error", 9.34e14}, {"max_error_full_scale", max}};
}

json provenance() {
  return {{"cimlab_version", "0.1.0"}, {"git_commit", "928932b0abcd"}, {"seed", 42},
          {"command", "cimlab xbar exp.yaml --out run"}, {"started_utc", "2025-01-02T03:04:05Z"},
          {"wall_time_s", 3.25}};
}

json weights_result() {
  json effects;
  const std::vector<std::pair<const char*, double>> alone{{"quantisation", 0.012}, {"programming", 0.034},
                                                          {"read_noise", 0.008}, {"drift", 0.02},
                                                          {"faults", 0.0},       {"nonlinearity", 0.015},
                                                          {"ir_drop", 0.061}};
  for (const auto& [name, e] : alone) effects[name] = error_pair(e, 4 * e);
  json classes = {{"quantisation", error_pair(0.012, 0.05)}, {"fluctuation", error_pair(0.041, 0.2)},
                  {"defects", error_pair(0.0, 0.0)},          {"nonlinearity", error_pair(0.015, 0.07)},
                  {"interconnect", error_pair(0.061, 0.2)}};
  classes["fluctuation"]["effects"] = {"programming", "read_noise", "drift"};
  json cases = {{"all", error_pair(0.083, 0.31)},
                {"ir_drop_only_corrected", error_pair(0.004, 0.02)},
                {"all_corrected", error_pair(0.045, 0.19)}};
  cases["ir_drop_only_corrected"]["correction_gain"] = 0.97;
  return {{"mode", "weights"},
          {"provenance", provenance()},
          {"weights", {{"rows", 64}, {"outputs", 16}}},
          {"inputs", 100},
          {"array", {{"rows", 64}, {"cols", 32}, {"cols_used", 32}}},
          {"effects", effects},
          {"classes", classes},
          {"cases", cases},
          {"all_effects", {"quantisation", "programming", "read_noise", "ir_drop"}},
          {"correction",
           {{"method", "scheme"}, {"iterations", 12}, {"converged", true}, {"gain", 0.97}, {"seconds", 0.0123},
            {"current_error_before", error_pair(0.061, 0.2)}, {"current_error_after", error_pair(0.004, 0.02)}}},
          {"summary", "relative RMS output error vs the ideal product W^T x:\n  all   8.3 %"}};
}

json circuit_result() {
  return {{"mode", "circuit"},
          {"provenance", provenance()},
          {"circuit", {{"rows", 4}, {"cols", 3}, {"r_row_ohm", 2.5}, {"r_col_ohm", 2.5}, {"r_driver_ohm", 1000.0},
                       {"r_sense_ohm", 0.0}, {"two_sided_drive", false}, {"two_sided_sense", true}}},
          {"inputs", 2},
          {"solver", {{"method", "schur-cg"}, {"iterations", 17}, {"residual", 3.2e-12}, {"converged", true},
                      {"seconds", 0.0021}}},
          {"current_ratio_to_ideal", 0.9871},
          {"ideal_error", error_pair(0.013, 0.021)},
          {"approximations", {{"comn", {{"relative_rms_error", 0.002}, {"max_relative_error", 1e12}, {"max_error_full_scale", 0.004}, {"seconds", 1e-4}}},
                              {"effective", {{"relative_rms_error", 0.0007}, {"max_relative_error", 1e12}, {"max_error_full_scale", 0.001},
                                             {"seconds", 2e-5}}}}},
          {"currents_A", {{1.0e-5, 2.1e-5, 3.0e-5}, {1.5e-5, 2.5e-5, 3.5e-5}}},
          {"ideal_currents_A", {{1.02e-5, 2.15e-5, 3.1e-5}, {1.52e-5, 2.55e-5, 3.56e-5}}},
          {"summary", "4 x 3 array, 2 inputs: exact column currents are 0.9871 of the ideal product"}};
}

}  // namespace

TEST(Html, EscapesMarkupCharacters) {
  EXPECT_EQ(escape(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  EXPECT_EQ(escape("plain"), "plain");
}

TEST(Html, PageEscapesTextAndBalancesTags) {
  Page page("A <title>", "sub & title");
  page.section("S1").paragraph("x < y").table({"name", "value"}, {{"a", "1"}, {"<b>"}});
  page.section("S2").key_values({{"k", "v & w"}}).preformatted("a\n  b").note("n");
  page.footer({{"seed", "1"}});
  const std::string html = page.render();
  EXPECT_EQ(tag_problem(html), "");
  EXPECT_NE(html.find("<title>A &lt;title&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("x &lt; y"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;b&gt;</td><td></td>"), std::string::npos);
  EXPECT_EQ(count(html, "<section>"), 2u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Svg, FormatsValuesWithEngineeringPrefixes) {
  EXPECT_EQ(format_value(0.01234, "V"), "12.3 mV");
  EXPECT_EQ(format_value(2.5e-5, "A"), "25 uA");
  EXPECT_EQ(format_value(1500.0, "ohm"), "1.5 kohm");
  EXPECT_EQ(format_value(4.5, "%"), "4.5 %");
  EXPECT_EQ(format_value(0.000123, ""), "0.000123");
  EXPECT_EQ(format_value(kNan, "V"), "n/a");
  EXPECT_EQ(format_value(-kInf, "%"), "n/a");
}

TEST(Svg, BarChartHasOneRectPerBarAndNoNonFiniteText) {
  const std::vector<std::pair<std::string, double>> bars{
      {"quantisation", 1.2}, {"ir <drop>", 6.1}, {"broken", kNan}, {"huge", kInf}, {"zero", 0.0}};
  for (bool log_scale : {false, true}) {
    BarChartOptions options;
    options.log_scale = log_scale;
    options.legend = {{0, "alone"}, {1, "class"}};
    const std::string svg = bar_chart("Error budget", bars, "%", options);
    EXPECT_EQ(tag_problem(svg), "") << svg;
    EXPECT_EQ(count(svg, "<rect"), bars.size());
    EXPECT_FALSE(has_non_finite_text(svg)) << svg;
    EXPECT_EQ(count(svg, ">n/a</text>"), 2u);
    EXPECT_NE(svg.find("ir &lt;drop&gt;"), std::string::npos);
    EXPECT_NE(svg.find("6.1 %"), std::string::npos);
  }
}

TEST(Svg, BarChartOfOnlyMissingValuesStillRenders) {
  const std::string svg = bar_chart("Empty", {{"a", kNan}}, "V");
  EXPECT_EQ(tag_problem(svg), "");
  EXPECT_EQ(count(svg, "<rect"), 1u);
  EXPECT_FALSE(has_non_finite_text(svg));
}

TEST(Svg, DownsamplesByBlockMeansSkippingNan) {
  Eigen::MatrixXd m(4, 4);
  m << 1, 3, 5, 5,  //
      1, 3, 5, 5,   //
      2, 2, kNan, kNan,  //
      2, 2, kNan, kNan;
  const Eigen::MatrixXd d = downsample_mean(m, 2, 2);
  ASSERT_EQ(d.rows(), 2);
  ASSERT_EQ(d.cols(), 2);
  EXPECT_DOUBLE_EQ(d(0, 0), 2.0);
  EXPECT_DOUBLE_EQ(d(0, 1), 5.0);
  EXPECT_DOUBLE_EQ(d(1, 0), 2.0);
  EXPECT_TRUE(std::isnan(d(1, 1)));
  const Eigen::MatrixXd same = downsample_mean(m, 10, 10);
  ASSERT_EQ(same.rows(), 4);
  EXPECT_TRUE((same.array() == m.array() || (same.array().isNaN() && m.array().isNaN())).all());
}

TEST(Svg, HeatmapStaysSmallAndLabelsRange) {
  Eigen::MatrixXd v(512, 300);
  for (Eigen::Index i = 0; i < v.rows(); ++i)
    for (Eigen::Index j = 0; j < v.cols(); ++j) v(i, j) = 0.2 - 1e-4 * static_cast<double>(i + j);
  v(0, 0) = kNan;
  const std::string svg = heatmap("Cell voltage", v, "V");
  EXPECT_EQ(tag_problem(svg), "");
  EXPECT_FALSE(has_non_finite_text(svg));
  EXPECT_LT(svg.size(), 400'000u);
  EXPECT_NE(svg.find("block-averaged from 512 x 300"), std::string::npos);
  EXPECT_NE(svg.find("max 200 mV"), std::string::npos) << "NaN skipped in the first block";
  EXPECT_NE(svg.find("min "), std::string::npos);
}

TEST(Svg, HeatmapOfConstantOrMissingValues) {
  const std::string flat = heatmap("Flat", Eigen::MatrixXd::Constant(3, 5, 0.1), "V");
  EXPECT_EQ(tag_problem(flat), "");
  EXPECT_NE(flat.find("max 100 mV"), std::string::npos);
  const std::string missing = heatmap("Missing", Eigen::MatrixXd::Constant(2, 2, kNan), "V");
  EXPECT_EQ(tag_problem(missing), "");
  EXPECT_FALSE(has_non_finite_text(missing));
  EXPECT_NE(missing.find("max n/a"), std::string::npos);
}

TEST(Svg, LineChartBreaksAtMissingPointsAndHasALegend) {
  const std::vector<Series> series{{"exact", {{0, 1e-5}, {1, 2e-5}, {2, kNan}, {3, 3e-5}}},
                                   {"ideal", {{0, 1.1e-5}, {1, 2.2e-5}, {2, 3.1e-5}, {3, 3.3e-5}}}};
  for (bool log_y : {false, true}) {
    const std::string svg = line_chart("Currents", "column", "current", series, log_y, "A");
    EXPECT_EQ(tag_problem(svg), "");
    EXPECT_FALSE(has_non_finite_text(svg));
    EXPECT_EQ(count(svg, "<polyline"), 3u);
    EXPECT_NE(svg.find(">exact</text>"), std::string::npos);
    EXPECT_NE(svg.find("uA</text>"), std::string::npos);
  }
  const std::string empty = line_chart("None", "x", "y", {{"s", {{kNan, 1.0}}}});
  EXPECT_EQ(tag_problem(empty), "");
  EXPECT_NE(empty.find("no data"), std::string::npos);
}

TEST(XbarReport, WeightsModeHasTheExpectedSections) {
  Eigen::MatrixXd v = Eigen::MatrixXd::Constant(64, 32, 0.19);
  v(3, 4) = 0.15;
  const std::string html = render_xbar_report(weights_result(), &v);
  EXPECT_EQ(tag_problem(html), "");
  EXPECT_FALSE(has_non_finite_text(html));
  for (const char* expected : {"cimlab xbar: weights mode", "<h2>Overview</h2>", "<h2>Error budget</h2>",
                               "<h2>IR-drop correction</h2>", "<h2>IR drop across the array</h2>", "928932b0abcd",
                               "cimlab xbar exp.yaml --out run", "class fluctuation", "all effects, corrected",
                               "read noise", "8.3 %", "<footer>", "maximum / full scale"})
    EXPECT_NE(html.find(expected), std::string::npos) << expected;
  EXPECT_EQ(html.find("e+14"), std::string::npos) << "no error relative to a near-zero reference";
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(count(html, "<svg"), 2u) << "error budget and cell-voltage map";
}

TEST(XbarReport, CircuitModeHasSolverRatioAndApproximations) {
  const std::string html = render_xbar_report(circuit_result(), nullptr);
  EXPECT_EQ(tag_problem(html), "");
  EXPECT_FALSE(has_non_finite_text(html));
  for (const char* expected : {"cimlab xbar: circuit mode", "<h2>Exact solver</h2>", "schur-cg", "0.9871",
                               "comn", "effective", "<h2>Column currents</h2>", "2.5 ohm", "1 kohm", "two-sided",
                               "No cell-voltage map was recorded", "max error / full scale", "0.4 %"})
    EXPECT_NE(html.find(expected), std::string::npos) << expected;
  EXPECT_EQ(html.find("e+14"), std::string::npos) << "no error relative to a near-zero reference";
  EXPECT_EQ(html.find("e+12"), std::string::npos);
}

TEST(XbarReport, MissingKeysAndNanValuesShowAsNotAvailable) {
  json result = weights_result();
  result["cases"]["all"]["relative_rms_error"] = nullptr;  // how json stores a NaN
  result.erase("correction");
  const std::string html = render_xbar_report(result, nullptr);
  EXPECT_EQ(tag_problem(html), "");
  EXPECT_FALSE(has_non_finite_text(html));
  EXPECT_NE(html.find("Correction was off"), std::string::npos);
  EXPECT_NE(render_xbar_report(json::object(), nullptr).find("<h2>Error budget</h2>"), std::string::npos);
}

TEST(XbarReport, WritesTheFileAtomically) {
  const auto dir = std::filesystem::temp_directory_path() / "cimlab_report_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "report.html").string();
  write_xbar_report(path, circuit_result(), nullptr);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), render_xbar_report(circuit_result(), nullptr));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove_all(dir);
}
