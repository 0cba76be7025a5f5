#pragma once
// Inline SVG plots for the HTML reports: horizontal bar charts, heatmaps with a colour bar, and line
// charts. Each function returns one self-contained <svg> element (no scripts, no external fonts or
// images, no element ids) ready for Page::figure(). Text is escaped. Non-finite values are never
// printed as numbers: they are shown as "n/a" (bars, labels) or left out (lines) or grey (cells).
// Values are SI; a `unit` that is an SI symbol known to core::format_quantity ("V", "A", "ohm", "s",
// ...) is shown with an engineering prefix ("12.3 mV"); any other unit ("%", "x") is appended as is.
// Pure functions, thread-safe.
#include <Eigen/Dense>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cimlab::report {

// `value` rounded to 3 significant digits with its unit, e.g. (0.01234, "V") -> "12.3 mV",
// (4.5, "%") -> "4.5 %"; "n/a" when not finite.
std::string format_value(double value, std::string_view unit);

// Block means of `values` so that the result has at most max_rows x max_cols entries; NaN entries are
// skipped in a block (a block of only NaNs stays NaN). Returns a copy when already small enough.
Eigen::MatrixXd downsample_mean(const Eigen::MatrixXd& values, int max_rows, int max_cols);

// The colour map (viridis, dark blue to yellow) at t in [0, 1], as "#rrggbb"; t is clamped.
std::string colour_at(double t);

struct BarChartOptions {
  bool log_scale = false;          // decades; non-positive values get an empty bar and their value printed
  std::vector<int> colour_of_bar;  // palette index for each bar (e.g. its group); empty = one colour
  std::vector<std::pair<int, std::string>> legend;  // (palette index, meaning) shown under the title
};

// One horizontal bar (exactly one <rect>) per entry, in the given order, with its label on the left
// and its value printed at the bar's end.
std::string bar_chart(std::string_view title, const std::vector<std::pair<std::string, double>>& bars,
                      std::string_view unit, const BarChartOptions& options = {});

// A colour map of `values` (row 0 at the top) with a colour bar and its min/max labels. Matrices
// larger than 128 x 128 are block-averaged down to at most 128 x 128 cells.
std::string heatmap(std::string_view title, const Eigen::MatrixXd& values, std::string_view unit);

// A named series of (x, y) points, drawn in order as a polyline.
using Series = std::pair<std::string, std::vector<std::pair<double, double>>>;

// Lines on shared axes with a legend. Points with a non-finite coordinate (or y <= 0 when log_y)
// break the line. Tick labels use 3 significant digits; y ticks carry `y_unit` (see format_value).
std::string line_chart(std::string_view title, std::string_view x_label, std::string_view y_label,
                       const std::vector<Series>& series, bool log_y = false, std::string_view y_unit = "");

}  // namespace cimlab::report
