#include "report/svg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>

#include "core/units.hpp"
#include "report/html.hpp"

namespace cimlab::report {

namespace {

constexpr std::array<std::string_view, 8> kPalette{"#2b5d9b", "#e07b39", "#3a9a6e", "#c4455a",
                                                   "#7b5ea7", "#d4a72c", "#3aa6b9", "#8a8f98"};
constexpr std::string_view kFont = "Segoe UI, Helvetica Neue, Helvetica, Arial, DejaVu Sans, sans-serif";
constexpr std::string_view kInk = "#1d2433";
constexpr std::string_view kMuted = "#5b6475";
constexpr std::string_view kGrid = "#e3e7ee";
constexpr std::string_view kMissing = "#c8ccd3";  // cells without a finite value
constexpr double kCharWidth = 6.8;                // px per character at 12 px, for layout estimates
constexpr int kMaxCells = 128;
constexpr int kColourLevels = 64;

// A coordinate for an attribute; never "nan" or "inf".
std::string px(double v) { return std::isfinite(v) ? fmt::format("{:.1f}", v) : "0"; }

std::string_view palette(int index) {
  return kPalette[static_cast<std::size_t>(std::max(index, 0)) % kPalette.size()];
}

// The dimension whose SI symbol is `unit`; none for other units. Area is left out: an engineering
// prefix on m2 would read as a prefix on the metre.
std::optional<core::Dim> dim_of(std::string_view unit) {
  if (unit.empty()) return std::nullopt;
  for (auto dim : {core::Dim::kResistance, core::Dim::kConductance, core::Dim::kVoltage, core::Dim::kCurrent,
                   core::Dim::kTime, core::Dim::kEnergy, core::Dim::kPower, core::Dim::kCapacitance,
                   core::Dim::kLength, core::Dim::kFrequency})
    if (core::unit_symbol(dim) == unit) return dim;
  return std::nullopt;
}

double round_significant(double v, int digits) {
  if (v == 0.0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, std::floor(std::log10(std::fabs(v))) - (digits - 1));
  return std::round(v / scale) * scale;
}

std::string plain_number(double rounded) {
  const double a = std::fabs(rounded);
  if (a != 0.0 && (a < 1e-3 || a >= 1e6)) return fmt::format("{:.3g}", rounded);
  return fmt::format("{:.15g}", rounded);
}

// Shortens `s` to at most `n` bytes, ending with an ellipsis, without cutting a UTF-8 sequence.
std::string shorten(std::string_view s, std::size_t n) {
  if (s.size() <= n) return std::string(s);
  std::size_t cut = n > 3 ? n - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "\xE2\x80\xA6";
}

std::string text(double x, double y, std::string_view content, std::string_view anchor = "start",
                 std::string_view extra = "") {
  return fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\"{}{}>{}</text>\n", px(x), px(y), anchor,
                     extra.empty() ? "" : " ", extra, escape(content));
}

std::string line(double x0, double y0, double x1, double y1, std::string_view stroke) {
  return fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\"/>\n", px(x0), px(y0), px(x1),
                     px(y1), stroke);
}

std::string svg_open(double width, double height, std::string_view title) {
  const std::string t = escape(title);
  return fmt::format(
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
             "role=\"img\" aria-label=\"{2}\" font-family=\"{3}\" font-size=\"12\" fill=\"{4}\">\n"
             "<title>{2}</title>\n",
             px(width), px(height), t, kFont, kInk) +
         text(8, 22, title, "start", "font-size=\"15\" font-weight=\"600\"");
}

// A value axis mapping [lo, hi] (linear or log10) onto pixels [p0, p1].
struct Axis {
  double lo = 0.0;
  double hi = 1.0;
  bool log = false;
  double p0 = 0.0;
  double p1 = 1.0;
  std::vector<double> ticks;

  double map(double v) const {
    const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (v - lo) / (hi - lo);
    return p0 + std::clamp(t, 0.0, 1.0) * (p1 - p0);
  }
};

// A "nice" linear axis (steps of 1, 2 or 5 times a power of ten) covering [lo, hi].
Axis linear_axis(double lo, double hi, double p0, double p1) {
  if (!(hi > lo)) {
    const double pad = lo == 0.0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / 5.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * magnitude;
  Axis axis{std::floor(lo / step) * step, std::ceil(hi / step) * step, false, p0, p1, {}};
  for (double t = axis.lo; t <= axis.hi + step * 1e-9; t += step)
    axis.ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return axis;
}

// A log10 axis from the decade at or below `lo` to the decade at or above `hi` (both > 0).
Axis log_axis(double lo, double hi, double p0, double p1) {
  const double d0 = std::floor(std::log10(lo));
  const double d1 = std::max(std::ceil(std::log10(hi)), d0 + 1.0);
  Axis axis{std::pow(10.0, d0), std::pow(10.0, d1), true, p0, p1, {}};
  const double every = std::ceil((d1 - d0) / 8.0);
  for (double d = d0; d <= d1; d += every) axis.ticks.push_back(std::pow(10.0, d));
  return axis;
}

// The smallest and largest finite values (> 0 only, when `positive`), if any.
std::optional<std::pair<double, double>> finite_range(const std::vector<double>& values, bool positive) {
  std::optional<std::pair<double, double>> range;
  for (double v : values) {
    if (!std::isfinite(v) || (positive && v <= 0.0)) continue;
    if (!range) range = std::pair{v, v};
    range->first = std::min(range->first, v);
    range->second = std::max(range->second, v);
  }
  return range;
}

// Vertical grid lines from y0 to y1 with tick labels under them.
std::string vertical_grid(const Axis& axis, double y0, double y1, std::string_view unit) {
  std::string out;
  for (double t : axis.ticks) {
    const double x = axis.map(t);
    out += line(x, y0, x, y1, kGrid);
    out += text(x, y1 + 16, format_value(t, unit), "middle", fmt::format("fill=\"{}\"", kMuted));
  }
  return out;
}

// Horizontal grid lines from x0 to x1 with tick labels left of them.
std::string horizontal_grid(const Axis& axis, double x0, double x1, std::string_view unit) {
  std::string out;
  for (double t : axis.ticks) {
    const double y = axis.map(t);
    out += line(x0, y, x1, y, kGrid);
    out += text(x0 - 8, y + 4, format_value(t, unit), "end", fmt::format("fill=\"{}\"", kMuted));
  }
  return out;
}

Axis bar_axis(const std::vector<double>& values, bool log_scale, double p0, double p1) {
  if (log_scale) {
    const auto range = finite_range(values, true);
    return range ? log_axis(range->first, range->second, p0, p1) : log_axis(1.0, 10.0, p0, p1);
  }
  const auto range = finite_range(values, false);
  if (!range) return linear_axis(0.0, 1.0, p0, p1);
  return linear_axis(std::min(range->first, 0.0), std::max(range->second, 0.0), p0, p1);
}

}  // namespace

std::string format_value(double value, std::string_view unit) {
  if (!std::isfinite(value)) return "n/a";
  const double rounded = round_significant(value, 3);
  if (const auto dim = dim_of(unit)) return core::format_quantity(rounded, *dim);
  const std::string number = plain_number(rounded);
  return unit.empty() ? number : fmt::format("{} {}", number, unit);
}

Eigen::MatrixXd downsample_mean(const Eigen::MatrixXd& values, int max_rows, int max_cols) {
  const Eigen::Index rows = std::min<Eigen::Index>(values.rows(), std::max(max_rows, 1));
  const Eigen::Index cols = std::min<Eigen::Index>(values.cols(), std::max(max_cols, 1));
  if (rows == values.rows() && cols == values.cols()) return values;
  Eigen::MatrixXd out(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i) {
    const Eigen::Index r0 = i * values.rows() / rows, r1 = (i + 1) * values.rows() / rows;
    for (Eigen::Index j = 0; j < cols; ++j) {
      const Eigen::Index c0 = j * values.cols() / cols, c1 = (j + 1) * values.cols() / cols;
      double sum = 0.0;
      int count = 0;
      for (Eigen::Index r = r0; r < r1; ++r)
        for (Eigen::Index c = c0; c < c1; ++c)
          if (std::isfinite(values(r, c))) {
            sum += values(r, c);
            ++count;
          }
      out(i, j) = count > 0 ? sum / count : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return out;
}

std::string colour_at(double t) {
  // Viridis sampled at 9 evenly spaced points (van der Walt and Smith, matplotlib 2015).
  static constexpr std::array<std::array<double, 3>, 9> kStops{{{68, 1, 84},
                                                               {71, 44, 122},
                                                               {59, 81, 139},
                                                               {44, 113, 142},
                                                               {33, 144, 141},
                                                               {39, 173, 129},
                                                               {92, 200, 99},
                                                               {170, 220, 50},
                                                               {253, 231, 37}}};
  const double s = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (kStops.size() - 1);
  const std::size_t k = std::min(static_cast<std::size_t>(s), kStops.size() - 2);
  const double f = s - static_cast<double>(k);
  std::array<int, 3> rgb{};
  for (std::size_t c = 0; c < 3; ++c)
    rgb[c] = static_cast<int>(std::lround(kStops[k][c] + f * (kStops[k + 1][c] - kStops[k][c])));
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

namespace {

std::string bar_row(const Axis& axis, double y, double label_right, const std::string& label, double value,
                    std::string_view unit, std::string_view colour) {
  constexpr double kRow = 26.0, kBar = 16.0;
  const double base = axis.log ? axis.p0 : axis.map(0.0);
  const bool drawable = std::isfinite(value) && (!axis.log || value > 0.0);
  const double end = drawable ? axis.map(value) : base;
  std::string out = text(label_right - 8, y + kRow / 2 + 4, shorten(label, 44), "end");
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", px(std::min(base, end)),
                     px(y + (kRow - kBar) / 2), px(std::fabs(end - base)), px(kBar), colour);
  out += text(std::max(base, end) + 6, y + kRow / 2 + 4, format_value(value, unit));
  return out;
}

std::string bar_legend(const std::vector<std::pair<int, std::string>>& entries, double y) {
  std::string out;
  double x = 12.0;
  for (const auto& [colour, meaning] : entries) {
    out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"/>\n", px(x + 5), px(y - 4), palette(colour));
    out += text(x + 14, y, meaning, "start", fmt::format("fill=\"{}\"", kMuted));
    x += 14.0 + static_cast<double>(meaning.size()) * kCharWidth + 22.0;
  }
  return out;
}

}  // namespace

std::string bar_chart(std::string_view title, const std::vector<std::pair<std::string, double>>& bars,
                      std::string_view unit, const BarChartOptions& options) {
  constexpr double kWidth = 760.0, kRow = 26.0, kValueRoom = 96.0;
  const double top = options.legend.empty() ? 40.0 : 60.0;
  std::size_t longest = 0;
  std::vector<double> values;
  for (const auto& [label, value] : bars) {
    longest = std::max(longest, std::min<std::size_t>(label.size(), 44));
    values.push_back(value);
  }
  const double label_right = std::clamp(static_cast<double>(longest) * kCharWidth + 16.0, 80.0, 320.0);
  const double bottom = top + static_cast<double>(bars.size()) * kRow;
  const Axis axis = bar_axis(values, options.log_scale, label_right, kWidth - kValueRoom);
  std::string out = svg_open(kWidth, bottom + 30.0, title) + bar_legend(options.legend, 44.0);
  out += vertical_grid(axis, top, bottom, unit);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const int colour = i < options.colour_of_bar.size() ? options.colour_of_bar[i] : 0;
    out += bar_row(axis, top + static_cast<double>(i) * kRow, label_right, bars[i].first, bars[i].second, unit,
                   palette(colour));
  }
  const double base = axis.log ? axis.p0 : axis.map(0.0);
  out += line(base, top, base, bottom, kMuted);
  return out + "</svg>\n";
}

namespace {

// One <path> per colour level: each run of equal-level cells in a row is one rectangle, in cell units.
std::string heatmap_cells(const Eigen::MatrixXd& m, std::optional<std::pair<double, double>> range) {
  std::vector<std::string> paths(kColourLevels + 1);  // last one: missing values
  auto level_of = [&](double v) {
    if (!std::isfinite(v) || !range) return kColourLevels;
    const double span = range->second - range->first;
    if (!(span > 0.0)) return kColourLevels / 2;
    const double t = (v - range->first) / span;
    return std::clamp(static_cast<int>(std::lround(t * (kColourLevels - 1))), 0, kColourLevels - 1);
  };
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    Eigen::Index c = 0;
    while (c < m.cols()) {
      const int level = level_of(m(r, c));
      Eigen::Index end = c + 1;
      while (end < m.cols() && level_of(m(r, end)) == level) ++end;
      paths[static_cast<std::size_t>(level)] += fmt::format("M{} {}h{}v1h-{}z", c, r, end - c, end - c);
      c = end;
    }
  }
  std::string out;
  for (int level = 0; level <= kColourLevels; ++level) {
    const auto& d = paths[static_cast<std::size_t>(level)];
    if (d.empty()) continue;
    const std::string fill =
        level == kColourLevels ? std::string(kMissing) : colour_at(level / double(kColourLevels - 1));
    out += fmt::format("<path fill=\"{}\" d=\"{}\"/>\n", fill, d);
  }
  return out;
}

std::string colour_bar(double x, double y, double height, std::optional<std::pair<double, double>> range,
                       std::string_view unit) {
  constexpr double kBarWidth = 16.0;
  std::string out;
  const double step = height / kColourLevels;
  for (int k = 0; k < kColourLevels; ++k)
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", px(x),
                       px(y + height - (k + 1) * step), px(kBarWidth), px(step + 0.5),
                       colour_at(k / double(kColourLevels - 1)));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double lo = range ? range->first : nan, hi = range ? range->second : nan;
  out += text(x + kBarWidth + 6, y + 10, "max " + format_value(hi, unit));
  out += text(x + kBarWidth + 6, y + height / 2 + 4, format_value((lo + hi) / 2, unit));
  out += text(x + kBarWidth + 6, y + height, "min " + format_value(lo, unit));
  return out;
}

}  // namespace

std::string heatmap(std::string_view title, const Eigen::MatrixXd& values, std::string_view unit) {
  const Eigen::MatrixXd m = downsample_mean(values, kMaxCells, kMaxCells);
  if (m.size() == 0) return svg_open(400, 80, title) + text(8, 56, "no data") + "</svg>\n";
  const std::vector<double> flat(m.data(), m.data() + m.size());
  const auto range = finite_range(flat, false);
  const double rows = static_cast<double>(m.rows()), cols = static_cast<double>(m.cols());
  const double side = std::min(24.0, 480.0 / std::max(rows, cols));
  const double cw = std::max(side, 160.0 / cols), ch = std::max(side, 160.0 / rows);
  constexpr double x0 = 64.0, y0 = 44.0;
  const double pw = cw * cols, ph = ch * rows, bar_x = x0 + pw + 28.0;
  const double height = y0 + ph + 66.0;
  std::string out = svg_open(bar_x + 150.0, height, title);
  out += fmt::format("<g transform=\"translate({} {}) scale({} {})\" shape-rendering=\"crispEdges\">\n", px(x0),
                     px(y0), fmt::format("{:.4f}", cw), fmt::format("{:.4f}", ch));
  out += heatmap_cells(m, range) + "</g>\n";
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\"/>\n", px(x0),
                     px(y0), px(pw), px(ph), kMuted);
  out += colour_bar(bar_x, y0, ph, range, unit);
  const std::string muted = fmt::format("fill=\"{}\"", kMuted);
  out += text(x0 - 6, y0 + 10, "0", "end", muted) + text(x0 - 6, y0 + ph, std::to_string(values.rows() - 1), "end", muted);
  out += text(x0, y0 + ph + 16, "0", "start", muted) +
         text(x0 + pw, y0 + ph + 16, std::to_string(values.cols() - 1), "end", muted);
  out += text(x0 + pw / 2, y0 + ph + 16, "column", "middle");
  out += text(x0 - 30, y0 + ph / 2, "row", "middle",
              fmt::format("transform=\"rotate(-90 {} {})\"", px(x0 - 30), px(y0 + ph / 2)));
  if (m.rows() != values.rows() || m.cols() != values.cols())
    out += text(x0, y0 + ph + 40,
                fmt::format("{} x {} cells, block-averaged from {} x {}", m.rows(), m.cols(), values.rows(),
                            values.cols()),
                "start", muted);
  return out + "</svg>\n";
}

namespace {

struct Plot {
  Axis x;
  Axis y;
};

bool usable(const std::pair<double, double>& p, bool log_y) {
  return std::isfinite(p.first) && std::isfinite(p.second) && (!log_y || p.second > 0.0);
}

// Polylines for the runs of usable points, and a marker on each point when there are few.
std::string series_marks(const Plot& plot, const Series& s, bool log_y, std::string_view colour) {
  std::string out, points;
  auto flush = [&] {
    if (!points.empty())
      out += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", colour,
                         points);
    points.clear();
  };
  for (const auto& p : s.second) {
    if (!usable(p, log_y)) {
      flush();
      continue;
    }
    points += fmt::format("{}{},{}", points.empty() ? "" : " ", px(plot.x.map(p.first)), px(plot.y.map(p.second)));
  }
  flush();
  if (s.second.size() <= 40)
    for (const auto& p : s.second)
      if (usable(p, log_y))
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n", px(plot.x.map(p.first)),
                           px(plot.y.map(p.second)), colour);
  return out;
}

std::string legend(const std::vector<Series>& series, double x, double y) {
  std::string out;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double yi = y + static_cast<double>(i) * 20.0;
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"/>\n", px(x),
                       px(yi), px(x + 18), px(yi), palette(static_cast<int>(i)));
    out += text(x + 24, yi + 4, shorten(series[i].first, 22));
  }
  return out;
}

}  // namespace

std::string line_chart(std::string_view title, std::string_view x_label, std::string_view y_label,
                       const std::vector<Series>& series, bool log_y, std::string_view y_unit) {
  constexpr double kWidth = 760.0, kHeight = 420.0, kLeft = 80.0, kRight = 180.0, kTop = 44.0, kBottom = 56.0;
  std::vector<double> xs, ys;
  for (const auto& s : series)
    for (const auto& p : s.second)
      if (usable(p, log_y)) {
        xs.push_back(p.first);
        ys.push_back(p.second);
      }
  const auto xr = finite_range(xs, false), yr = finite_range(ys, log_y);
  std::string out = svg_open(kWidth, kHeight, title);
  if (!xr || !yr) return out + text(kWidth / 2, kHeight / 2, "no data", "middle") + "</svg>\n";
  const double x1 = kWidth - kRight, y1 = kHeight - kBottom;
  const Plot plot{linear_axis(xr->first, xr->second, kLeft, x1),
                  log_y ? log_axis(yr->first, yr->second, y1, kTop) : linear_axis(yr->first, yr->second, y1, kTop)};
  out += vertical_grid(plot.x, kTop, y1, "") + horizontal_grid(plot.y, kLeft, x1, y_unit);
  out += line(kLeft, y1, x1, y1, kMuted) + line(kLeft, kTop, kLeft, y1, kMuted);
  for (std::size_t i = 0; i < series.size(); ++i)
    out += series_marks(plot, series[i], log_y, palette(static_cast<int>(i)));
  out += legend(series, x1 + 20, kTop + 8);
  out += text((kLeft + x1) / 2, kHeight - 12, x_label, "middle");
  out += text(18, (kTop + y1) / 2, y_label, "middle",
              fmt::format("transform=\"rotate(-90 18 {})\"", px((kTop + y1) / 2)));
  return out + "</svg>\n";
}

}  // namespace cimlab::report
