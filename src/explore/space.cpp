// Search spaces (see explore/space.hpp).
#include "explore/space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace cimlab::explore {

namespace {

constexpr std::size_t kMaxValues = 1'000'000;  // values one dimension may generate
constexpr double kTolerance = 1e-9;            // relative slack on range ends

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool is_integer_text(const std::string& s) {
  const std::string t = trim(s);
  std::size_t i = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

std::string format_value(double v, core::Dim dim, bool integer) {
  if (integer) return fmt::format("{}", static_cast<long long>(std::llround(v)));
  if (dim == core::Dim::kNone) return fmt::format("{:.15g}", v);
  return core::format_quantity(v, dim);
}

Value make_value(double v, core::Dim dim, bool integer) {
  if (integer) v = std::round(v);
  return Value{format_value(v, dim, integer), v, dim};
}

struct RangeSpec {
  Value from, to;
  std::optional<Value> step, factor;
  std::optional<std::int64_t> points;
  bool log_scale = false;
};

std::vector<Value> linear_values(const RangeSpec& r, bool integer, core::Diagnostics& diags, const core::Diagnostic& where) {
  const double lo = *r.from.number, hi = *r.to.number, step = *r.step->number;
  const double n = std::floor((hi - lo) / step * (1 + kTolerance) + kTolerance) + 1;
  if (n > static_cast<double>(kMaxValues)) {
    diags.add({where.file, where.line, where.column, fmt::format("{}: more than {} values", where.message, kMaxValues)});
    return {};
  }
  std::vector<Value> out;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i) out.push_back(make_value(lo + i * step, r.from.dim, integer));
  return out;
}

std::vector<Value> geometric_values(const RangeSpec& r, bool integer) {
  const double lo = *r.from.number, hi = *r.to.number, f = *r.factor->number;
  std::vector<Value> out;
  for (double v = lo; v <= hi * (1 + kTolerance) && out.size() < kMaxValues; v *= f) {
    Value val = make_value(v, r.from.dim, integer);
    if (out.empty() || out.back().text != val.text) out.push_back(std::move(val));
  }
  return out;
}

std::vector<Value> spaced_values(const RangeSpec& r, bool integer) {
  const double lo = *r.from.number, hi = *r.to.number;
  const std::int64_t n = *r.points;
  std::vector<Value> out;
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
    const double v = r.log_scale ? lo * std::pow(hi / lo, t) : lo + t * (hi - lo);
    Value val = make_value(i == n - 1 ? hi : v, r.from.dim, integer);
    if (out.empty() || out.back().text != val.text) out.push_back(std::move(val));
  }
  return out;
}

class DimensionParser {
 public:
  DimensionParser(const core::Origin& origin, std::string prefix, core::Diagnostics& diags)
      : origin_(origin), prefix_(std::move(prefix)), diags_(diags) {}

  std::optional<Dimension> parse(const std::string& key, const YAML::Node& node) {
    key_ = key;
    Dimension d;
    d.key = key;
    if (node.IsSequence()) {
      if (!scalars(node, d.values)) return std::nullopt;
      return finish(std::move(d), node);
    }
    if (!node.IsMap()) {
      error(node, "must be a list of values, a range {from, to, step | factor | points | scale} or {choice: [...]}; "
                  "a fixed value belongs outside 'explore'");
      return std::nullopt;
    }
    if (!known_keys(node)) return std::nullopt;
    if (node["also"] && !also(node["also"], d.also)) return std::nullopt;
    const int forms = (node["values"] ? 1 : 0) + (node["choice"] ? 1 : 0) + (node["from"] ? 1 : 0);
    if (forms != 1) {
      error(node, "needs exactly one of 'values', 'choice' or 'from'/'to'");
      return std::nullopt;
    }
    if (node["values"] || node["choice"]) {
      const YAML::Node list = node["values"] ? node["values"] : node["choice"];
      d.kind = node["choice"] ? DimensionKind::kChoice : DimensionKind::kList;
      if (!list.IsSequence()) {
        error(list, "must be a list");
        return std::nullopt;
      }
      if (!scalars(list, d.values)) return std::nullopt;
      return finish(std::move(d), node);
    }
    if (!range(node, d)) return std::nullopt;
    return finish(std::move(d), node);
  }

 private:
  void error(const YAML::Node& node, const std::string& message) {
    diags_.add(core::at(node, origin_, fmt::format("'{}{}' {}", prefix_, key_, message)));
  }

  bool known_keys(const YAML::Node& node) {
    static const std::vector<std::string> kKeys{"values", "choice", "from", "to", "step", "factor", "points", "scale", "also"};
    bool ok = true;
    for (const auto& kv : node) {
      const std::string k = kv.first.as<std::string>();
      if (std::find(kKeys.begin(), kKeys.end(), k) != kKeys.end()) continue;
      const auto hint = core::closest(k, kKeys);
      error(kv.first, fmt::format("has unknown key '{}'{}", k, hint ? fmt::format(" (did you mean '{}'?)", *hint) : ""));
      ok = false;
    }
    return ok;
  }

  bool scalars(const YAML::Node& list, std::vector<Value>& out) {
    for (const auto& item : list) {
      if (!item.IsScalar()) {
        error(item, "values must be scalars (a number, a quantity with its unit, or a name)");
        return false;
      }
      out.push_back(read_value(item.Scalar()));
    }
    return true;
  }

  bool also(const YAML::Node& node, std::vector<std::string>& out) {
    if (node.IsScalar()) {
      out.push_back(node.Scalar());
      return true;
    }
    if (!node.IsSequence()) {
      error(node, "'also' must be a key or a list of keys");
      return false;
    }
    for (const auto& k : node) {
      if (!k.IsScalar()) {
        error(k, "'also' must list keys");
        return false;
      }
      out.push_back(k.Scalar());
    }
    return true;
  }

  std::optional<Value> number(const YAML::Node& node, const char* name) {
    const YAML::Node v = node[name];
    if (!v.IsScalar()) {
      error(v ? v : node, fmt::format("'{}' must be a number or a quantity with its unit", name));
      return std::nullopt;
    }
    Value val = read_value(v.Scalar());
    if (!val.number) {
      error(v, fmt::format("'{}' = '{}' is not a number or a quantity with a known unit", name, v.Scalar()));
      return std::nullopt;
    }
    return val;
  }

  bool read_range(const YAML::Node& node, RangeSpec& r) {
    if (!node["to"]) {
      error(node, "'from' needs 'to'");
      return false;
    }
    const auto from = number(node, "from"), to = number(node, "to");
    if (!from || !to) return false;
    r.from = *from;
    r.to = *to;
    if (node["step"] && !(r.step = number(node, "step"))) return false;
    if (node["factor"] && !(r.factor = number(node, "factor"))) return false;
    if (node["points"]) {
      const auto p = number(node, "points");
      if (!p) return false;
      if (!is_integer_text(p->text) || *p->number < 1 || *p->number > kMaxValues) {
        error(node["points"], fmt::format("'points' must be an integer in [1, {}]", kMaxValues));
        return false;
      }
      r.points = static_cast<std::int64_t>(*p->number);
    }
    if (node["scale"]) {
      const std::string s = node["scale"].IsScalar() ? node["scale"].Scalar() : "";
      if (s != "linear" && s != "log") {
        error(node["scale"], "'scale' must be linear or log");
        return false;
      }
      r.log_scale = s == "log";
    }
    return true;
  }

  bool check_range(const YAML::Node& node, const RangeSpec& r) {
    if ((r.step ? 1 : 0) + (r.factor ? 1 : 0) + (r.points ? 1 : 0) > 1) {
      error(node, "takes one of 'step', 'factor' or 'points'");
      return false;
    }
    if (r.from.dim != r.to.dim || (r.step && r.step->dim != r.from.dim)) {
      error(node, "'from', 'to' and 'step' must have the same unit dimension");
      return false;
    }
    if (r.factor && r.factor->dim != core::Dim::kNone) {
      error(node["factor"], "'factor' is a bare number (values are multiplied by it)");
      return false;
    }
    if (*r.from.number > *r.to.number) {
      error(node, "'from' must not exceed 'to'");
      return false;
    }
    if (r.step && !(*r.step->number > 0)) {
      error(node["step"], "'step' must be positive");
      return false;
    }
    if (r.step && r.log_scale) {
      error(node, "'step' is linear; a log scale takes 'factor' or 'points'");
      return false;
    }
    if (r.factor && !(*r.factor->number > 1)) {
      error(node["factor"], "'factor' must exceed 1");
      return false;
    }
    if ((r.log_scale || r.factor) && !(*r.from.number > 0)) {
      error(node, "a log-scale range needs 'from' > 0");
      return false;
    }
    return true;
  }

  bool range(const YAML::Node& node, Dimension& d) {
    RangeSpec r;
    if (!read_range(node, r) || !check_range(node, r)) return false;
    const bool integer = r.from.dim == core::Dim::kNone && is_integer_text(r.from.text) && is_integer_text(r.to.text) &&
                         (!r.step || is_integer_text(r.step->text));
    const core::Diagnostic where{origin_.file, node.Mark().line + 1, node.Mark().column + 1, fmt::format("'{}{}'", prefix_, key_)};
    if (r.step) {
      d.values = linear_values(r, integer, diags_, where);
    } else if (r.factor) {
      d.values = geometric_values(r, integer);
    } else if (r.points) {
      d.values = spaced_values(r, integer);
    } else if (integer && !r.log_scale && *r.to.number - *r.from.number < kMaxValues) {
      r.step = Value{"1", 1.0, core::Dim::kNone};
      d.values = linear_values(r, true, diags_, where);
    } else {
      d.kind = DimensionKind::kContinuous;
      d.lo = *r.from.number;
      d.hi = *r.to.number;
      d.log_scale = r.log_scale;
      d.integer = integer;
      d.dim = r.from.dim;
      return true;
    }
    return !d.values.empty();
  }

  std::optional<Dimension> finish(Dimension d, const YAML::Node& node) {
    if (d.discrete() && d.values.empty()) {
      error(node, "has no values");
      return std::nullopt;
    }
    return d;
  }

  const core::Origin& origin_;
  std::string prefix_;
  core::Diagnostics& diags_;
  std::string key_;
};

}  // namespace

Value read_value(const std::string& raw) {
  const std::string text = trim(raw);
  Value v{text, std::nullopt, core::Dim::kNone};
  if (text.empty()) return v;
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (end == text.c_str() + text.size() && errno == 0 && std::isfinite(x)) {
    v.number = x;
    return v;
  }
  for (int d = static_cast<int>(core::Dim::kResistance); d <= static_cast<int>(core::Dim::kBandwidth); ++d) {
    std::string error;
    if (const auto q = core::parse_quantity(text, static_cast<core::Dim>(d), &error)) {
      v.number = *q;
      v.dim = static_cast<core::Dim>(d);
      return v;
    }
  }
  return v;
}

std::size_t Dimension::index(double u) const {
  const double n = static_cast<double>(values.size());
  const double i = std::floor(std::clamp(u, 0.0, 1.0) * n);
  return static_cast<std::size_t>(std::min(i, n - 1));
}

Value Dimension::decode(double u) const {
  if (discrete()) return values[index(u)];
  u = std::clamp(u, 0.0, 1.0);
  const double x = log_scale ? lo * std::pow(hi / lo, u) : lo + u * (hi - lo);
  return make_value(std::clamp(x, lo, hi), dim, integer);
}

double Dimension::snap(double u) const {
  if (discrete()) return (static_cast<double>(index(u)) + 0.5) / static_cast<double>(values.size());
  u = std::clamp(u, 0.0, 1.0);
  if (!integer || hi == lo) return u;
  const double x = *decode(u).number;
  return log_scale ? std::log(x / lo) / std::log(hi / lo) : (x - lo) / (hi - lo);
}

std::string Point::identity() const {
  std::string s;
  for (const auto& st : settings) s += st.key + '=' + st.value.text + ';';
  return s;
}

bool Space::finite() const {
  return std::all_of(dims_.begin(), dims_.end(), [](const Dimension& d) { return d.discrete(); });
}

double Space::cardinality() const {
  double n = 1;
  for (const auto& d : dims_) n *= d.discrete() ? static_cast<double>(d.size()) : std::numeric_limits<double>::infinity();
  return n;
}

Point Space::decode(const std::vector<double>& u) const {
  Point p;
  p.u.resize(dims_.size());
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    const Dimension& d = dims_[i];
    p.u[i] = d.snap(u[i]);
    const Value v = d.decode(u[i]);
    p.settings.push_back({d.key, v});
    for (const auto& k : d.also) p.settings.push_back({k, v});
  }
  return p;
}

std::vector<double> Space::grid_coordinates(std::uint64_t flat) const {
  std::vector<double> u(dims_.size());
  for (std::size_t i = dims_.size(); i-- > 0;) {
    const std::uint64_t n = dims_[i].size();
    u[i] = (static_cast<double>(flat % n) + 0.5) / static_cast<double>(n);
    flat /= n;
  }
  return u;
}

std::vector<std::string> Space::keys() const {
  std::vector<std::string> out;
  for (const auto& d : dims_) {
    out.push_back(d.key);
    out.insert(out.end(), d.also.begin(), d.also.end());
  }
  return out;
}

Space parse_space(const YAML::Node& node, const core::Origin& origin, const std::string& prefix,
                  core::Diagnostics& diags) {
  std::vector<Dimension> dims;
  if (!node || !node.IsMap() || node.size() == 0) {
    diags.add(core::at(node, origin, fmt::format("'{}' must be a table of config keys to search (key: values)",
                                                 prefix.empty() ? prefix : prefix.substr(0, prefix.size() - 1))));
    return Space{};
  }
  DimensionParser parser(origin, prefix, diags);
  std::vector<std::string> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    auto d = parser.parse(key, kv.second);
    if (!d) continue;
    std::vector<std::string> keys{d->key};
    keys.insert(keys.end(), d->also.begin(), d->also.end());
    for (const auto& k : keys) {
      if (std::find(seen.begin(), seen.end(), k) != seen.end())
        diags.add(core::at(kv.first, origin, fmt::format("'{}{}': key '{}' is searched twice", prefix, key, k)));
      seen.push_back(k);
    }
    dims.push_back(std::move(*d));
  }
  return Space(std::move(dims));
}

}  // namespace cimlab::explore
