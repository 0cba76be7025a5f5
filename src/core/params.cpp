#include "core/params.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace cimlab::core {

ParamSpec ParamSpec::real(std::string name, Dim dim, std::string def, std::string description) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::kReal;
  p.dim = dim;
  p.default_text = std::move(def);
  p.description = std::move(description);
  return p;
}
ParamSpec ParamSpec::integer(std::string name, std::string def, std::string description) {
  ParamSpec p = real(std::move(name), Dim::kNone, std::move(def), std::move(description));
  p.type = ParamType::kInteger;
  return p;
}
ParamSpec ParamSpec::boolean(std::string name, std::string def, std::string description) {
  ParamSpec p = real(std::move(name), Dim::kNone, std::move(def), std::move(description));
  p.type = ParamType::kBoolean;
  return p;
}
ParamSpec ParamSpec::string(std::string name, std::string def, std::string description) {
  ParamSpec p = real(std::move(name), Dim::kNone, std::move(def), std::move(description));
  p.type = ParamType::kString;
  return p;
}
ParamSpec ParamSpec::path(std::string name, std::string description) {
  ParamSpec p = real(std::move(name), Dim::kNone, "", std::move(description));
  p.type = ParamType::kPath;
  return p;
}
ParamSpec ParamSpec::choice(std::string name, std::vector<std::string> choices, std::string def,
                            std::string description) {
  ParamSpec p = real(std::move(name), Dim::kNone, std::move(def), std::move(description));
  p.type = ParamType::kChoice;
  p.choices = std::move(choices);
  return p;
}
ParamSpec ParamSpec::real_list(std::string name, Dim dim, std::string def, std::string description) {
  ParamSpec p = real(std::move(name), dim, std::move(def), std::move(description));
  p.type = ParamType::kRealList;
  return p;
}

std::string ParamSpec::type_name() const {
  switch (type) {
    case ParamType::kReal: return dim == Dim::kNone ? "real" : fmt::format("real [{}]", unit_symbol(dim));
    case ParamType::kInteger: return "integer";
    case ParamType::kBoolean: return "boolean";
    case ParamType::kString: return "string";
    case ParamType::kPath: return "path";
    case ParamType::kChoice: {
      std::string s;
      for (const auto& c : choices) s += (s.empty() ? "" : "|") + c;
      return s;
    }
    case ParamType::kRealList:
      return dim == Dim::kNone ? "list of reals" : fmt::format("list of reals [{}]", unit_symbol(dim));
  }
  return "";
}

std::string ParamSpec::range_text() const {
  const bool lo = std::isfinite(min), hi = std::isfinite(max);
  if (!lo && !hi) return "";
  auto num = [&](double v) { return dim == Dim::kNone ? fmt::format("{:g}", v) : format_quantity(v, dim); };
  return fmt::format("{}{}, {}{}", lo && !min_exclusive ? "[" : "(", lo ? num(min) : "-inf",
                     hi ? num(max) : "inf", hi && !max_exclusive ? "]" : ")");
}

const ParamSpec* Schema::find(const std::string& n) const {
  for (const auto& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

const ParamValue& Params::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw InternalError(fmt::format("parameter '{}' has no value (never declared, or optional and read unset)", name));
  return it->second;
}
double Params::real(const std::string& name) const {
  const auto& v = get(name);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}
std::int64_t Params::integer(const std::string& name) const { return std::get<std::int64_t>(get(name)); }
bool Params::boolean(const std::string& name) const { return std::get<bool>(get(name)); }
const std::string& Params::str(const std::string& name) const { return std::get<std::string>(get(name)); }
const std::vector<double>& Params::real_list(const std::string& name) const {
  return std::get<std::vector<double>>(get(name));
}

Diagnostic at(const YAML::Node& node, const Origin& origin, std::string message) {
  Diagnostic d{origin.file, 0, 0, std::move(message)};
  const YAML::Mark m = node.Mark();
  if (!m.is_null() && m.line >= 0) {
    d.line = m.line + 1;
    d.column = m.column + 1;
  }
  return d;
}

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool in_range(const ParamSpec& spec, double v) {
  if (spec.min_exclusive ? !(v > spec.min) : !(v >= spec.min)) return false;
  if (spec.max_exclusive ? !(v < spec.max) : !(v <= spec.max)) return false;
  return true;
}

struct Context {
  const std::string& prefix;
  const Origin& origin;
  Diagnostics& diags;
};

std::optional<double> scalar_number(const ParamSpec& spec, const YAML::Node& node, const Context& ctx) {
  const std::string key = ctx.prefix + spec.name;
  if (!node.IsScalar()) {
    ctx.diags.add(at(node, ctx.origin, fmt::format("'{}' must be a single value", key)));
    return std::nullopt;
  }
  std::string err;
  const auto v = parse_quantity(node.Scalar(), spec.dim, &err);
  if (!v) {
    ctx.diags.add(at(node, ctx.origin, fmt::format("'{}': {}", key, err)));
    return std::nullopt;
  }
  if (!in_range(spec, *v)) {
    ctx.diags.add(at(node, ctx.origin,
                     fmt::format("'{}' = {} is out of range {}", key, node.Scalar(), spec.range_text())));
    return std::nullopt;
  }
  return v;
}

std::optional<ParamValue> parse_value(const ParamSpec& spec, const YAML::Node& node, const Context& ctx) {
  const std::string key = ctx.prefix + spec.name;
  switch (spec.type) {
    case ParamType::kReal:
      if (auto v = scalar_number(spec, node, ctx)) return ParamValue{*v};
      return std::nullopt;
    case ParamType::kInteger: {
      const auto v = scalar_number(spec, node, ctx);
      if (!v) return std::nullopt;
      if (std::floor(*v) != *v || std::fabs(*v) > 9.0e15) {
        ctx.diags.add(at(node, ctx.origin, fmt::format("'{}' must be a whole number, got {}", key, node.Scalar())));
        return std::nullopt;
      }
      return ParamValue{static_cast<std::int64_t>(*v)};
    }
    case ParamType::kBoolean: {
      const std::string s = node.IsScalar() ? node.Scalar() : "";
      if (s == "true" || s == "false") return ParamValue{s == "true"};
      ctx.diags.add(at(node, ctx.origin, fmt::format("'{}' must be true or false", key)));
      return std::nullopt;
    }
    case ParamType::kString:
      if (node.IsScalar()) return ParamValue{node.Scalar()};
      ctx.diags.add(at(node, ctx.origin, fmt::format("'{}' must be a string", key)));
      return std::nullopt;
    case ParamType::kPath: {
      if (!node.IsScalar() || node.Scalar().empty()) {
        ctx.diags.add(at(node, ctx.origin, fmt::format("'{}' must be a file path", key)));
        return std::nullopt;
      }
      // A relative path is relative to the folder of the file that wrote it.
      std::filesystem::path path(node.Scalar());
      if (path.is_relative()) path = std::filesystem::path(ctx.origin.file).parent_path() / path;
      return ParamValue{path.lexically_normal().string()};
    }
    case ParamType::kChoice: {
      const std::string s = node.IsScalar() ? node.Scalar() : "";
      if (std::find(spec.choices.begin(), spec.choices.end(), s) != spec.choices.end()) return ParamValue{s};
      const auto hint = closest(s, spec.choices);
      ctx.diags.add(at(node, ctx.origin,
                       fmt::format("'{}' = '{}' is not one of {}{}", key, s, spec.type_name(),
                                   hint ? fmt::format(" (did you mean '{}'?)", *hint) : "")));
      return std::nullopt;
    }
    case ParamType::kRealList: {
      if (!node.IsSequence()) {
        ctx.diags.add(at(node, ctx.origin, fmt::format("'{}' must be a list, e.g. [1, 2]", key)));
        return std::nullopt;
      }
      std::vector<double> out;
      for (const auto& item : node) {
        const auto v = scalar_number(spec, item, ctx);
        if (!v) return std::nullopt;
        out.push_back(*v);
      }
      return ParamValue{std::move(out)};
    }
  }
  return std::nullopt;
}

// Children of `prefix` in the dotted namespace of the schema: leaf names and group names.
std::vector<std::string> names_under(const Schema& schema, const std::string& group) {
  std::set<std::string> out;
  for (const auto& p : schema.params) {
    if (p.name.rfind(group, 0) != 0) continue;
    const std::string rest = p.name.substr(group.size());
    out.insert(rest.substr(0, rest.find('.')));
  }
  return {out.begin(), out.end()};
}

void walk(const YAML::Node& node, const Schema& schema, const std::string& group, const Context& ctx,
          const std::vector<std::string>& ignore, Params& out, std::set<std::string>& seen) {
  if (!node.IsMap()) {
    ctx.diags.add(at(node, ctx.origin, fmt::format("'{}' must be a table of keys",
                                                   ctx.prefix + group.substr(0, group.size() - (group.empty() ? 0 : 1)))));
    return;
  }
  const auto valid = names_under(schema, group);
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    const std::string full = group + k;
    if (group.empty() && std::find(ignore.begin(), ignore.end(), k) != ignore.end()) continue;
    if (const ParamSpec* spec = schema.find(full)) {
      seen.insert(full);
      if (auto v = parse_value(*spec, kv.second, ctx)) out.set(full, std::move(*v));
      continue;
    }
    if (std::find(valid.begin(), valid.end(), k) != valid.end()) {
      walk(kv.second, schema, full + ".", ctx, ignore, out, seen);
      continue;
    }
    const auto hint = closest(k, valid);
    ctx.diags.add(at(kv.first, ctx.origin,
                     fmt::format("unknown key '{}'{}", ctx.prefix + full,
                                 hint ? fmt::format(" (did you mean '{}'?)", ctx.prefix + group + *hint)
                                      : fmt::format(" in {}", schema.name))));
  }
}

}  // namespace

std::optional<std::string> closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

Params validate(const YAML::Node& node, const Schema& schema, const std::string& prefix, const Origin& origin,
                Diagnostics& diags, const std::vector<std::string>& ignore) {
  Params out;
  std::set<std::string> seen;
  const Context ctx{prefix, origin, diags};
  if (node && !node.IsNull()) walk(node, schema, "", ctx, ignore, out, seen);
  for (const auto& spec : schema.params) {
    if (seen.count(spec.name)) continue;
    if (spec.required) {
      diags.add(at(node ? node : YAML::Node(), origin,
                   fmt::format("missing required key '{}' ({})", prefix + spec.name, spec.description)));
      continue;
    }
    if (spec.default_text.empty() && spec.type != ParamType::kRealList) continue;
    Diagnostics internal;
    const Context dctx{prefix, Origin{"default of " + schema.name}, internal};
    YAML::Node def = spec.type == ParamType::kRealList ? YAML::Load(spec.default_text.empty() ? "[]" : spec.default_text)
                                                       : YAML::Node(spec.default_text);
    if (auto v = parse_value(spec, def, dctx)) out.set(spec.name, std::move(*v));
    if (!internal.empty()) throw ModelError(internal.items().front().to_string());
  }
  return out;
}

namespace {
YAML::Node value_to_yaml(const ParamSpec& spec, const ParamValue& v) {
  YAML::Node n;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, double>) {
          n = spec.dim == Dim::kNone ? YAML::Node(x) : YAML::Node(format_quantity(x, spec.dim));
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          n = YAML::Node(YAML::NodeType::Sequence);
          for (double e : x) n.push_back(spec.dim == Dim::kNone ? YAML::Node(e) : YAML::Node(format_quantity(e, spec.dim)));
          n.SetStyle(YAML::EmitterStyle::Flow);
        } else {
          n = YAML::Node(x);
        }
      },
      v);
  return n;
}
}  // namespace

YAML::Node to_yaml(const Params& params, const Schema& schema) {
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& spec : schema.params) {
    if (!params.has(spec.name)) continue;
    YAML::Node cur = root;
    std::string name = spec.name;
    for (std::size_t dot; (dot = name.find('.')) != std::string::npos; name = name.substr(dot + 1)) {
      const std::string part = name.substr(0, dot);
      if (!cur[part]) cur[part] = YAML::Node(YAML::NodeType::Map);
      cur.reset(cur[part]);
    }
    cur[name] = value_to_yaml(spec, params.values().at(spec.name));
  }
  return root;
}

}  // namespace cimlab::core
