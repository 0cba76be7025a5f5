// Published silicon beside a PPA config and the validation of the model on it (see flow/silicon.hpp).
#include "flow/silicon.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>

#include "core/errors.hpp"
#include "flow/ppa_experiment.hpp"
#include "ppa/circuits.hpp"
#include "ppa/estimate.hpp"
#include "ppa/technology.hpp"

namespace cimlab::flow {

namespace fs = std::filesystem;
using core::Dim;
using core::ParamSpec;

const core::Schema& silicon_schema() {
  static const core::Schema s{
      "silicon", "what a published macro or chip reports at this config's operating point (validation of the PPA model)",
      {ParamSpec::string("source", "", "citation: authors, venue, year, table or figure").mandatory(),
       ParamSpec::choice("role", {"calibration", "validation"}, "validation",
                         "calibration: fits the shared constants (cimlab silicon --fit); validation: held out"),
       ParamSpec::choice("kind", {"measured", "simulated"}, "measured", "measured silicon, or a published simulation"),
       ParamSpec::string("notes", "", "operating point and normalisation in words"),
       ParamSpec::string("excludes", "", "components the published figures leave out, comma-separated (e.g. shift_add)"),
       ParamSpec::real("tops_per_w", Dim::kNone, "", "published energy efficiency (2 operations per MAC)").above(0),
       ParamSpec::real("tops", Dim::kNone, "", "published throughput (2 operations per MAC)").above(0),
       ParamSpec::real("tops_per_mm2", Dim::kNone, "", "published area efficiency").above(0),
       ParamSpec::real("area_mm2", Dim::kNone, "", "published area in mm2").above(0),
       ParamSpec::real("energy_per_inference_j", Dim::kEnergy, "", "published energy per inference (per product for mvm)").above(0),
       ParamSpec::real("latency_s", Dim::kTime, "", "published latency").above(0)}};
  return s;
}

const std::vector<std::string>& silicon_figures() {
  static const std::vector<std::string> names{"tops_per_w", "tops", "tops_per_mm2", "area_mm2", "energy_per_inference_j",
                                              "latency_s"};
  return names;
}

SiliconReference load_silicon(const core::ConfigFile& cfg, core::Diagnostics& diags, YAML::Node& resolved, bool& present) {
  present = static_cast<bool>(cfg.root["silicon"]);
  SiliconReference ref;
  if (!present) return ref;
  const std::size_t before = diags.items().size();
  const core::Params p = core::validate_section(cfg, "silicon", silicon_schema(), diags, resolved);
  if (diags.items().size() != before) return ref;
  ref.source = p.str("source");
  ref.role = p.str("role");
  ref.kind = p.str("kind");
  if (p.has("notes")) ref.notes = p.str("notes");
  if (p.has("excludes")) {
    std::stringstream list(p.str("excludes"));
    for (std::string item; std::getline(list, item, ',');) {
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (item.empty()) continue;
      const auto& names = ppa::component_names();
      if (std::find(names.begin(), names.end(), item) == names.end())
        diags.add(core::at(cfg.root["silicon"]["excludes"], cfg.origin,
                           fmt::format("silicon.excludes: unknown component '{}' (components: {})", item, fmt::join(names, ", "))));
      ref.excludes.push_back(item);
    }
  }
  for (const auto& f : silicon_figures())
    if (p.has(f)) ref.figures[f] = p.real(f);
  if (ref.figures.empty())
    diags.add(core::at(cfg.root["silicon"], cfg.origin,
                       fmt::format("the silicon section names no published figure (one of: {})",
                                   fmt::join(silicon_figures(), ", "))));
  return ref;
}

nlohmann::json published_scope(const SiliconReference& ref, const nlohmann::json& ppa) {
  nlohmann::json t = ppa["totals"];
  if (ref.excludes.empty()) return t;
  double energy = t["energy_per_inference_j"], area = t["area_mm2"], leakage = t["leakage_w"];
  for (const auto& name : ref.excludes) {
    const nlohmann::json& c = ppa["components"][name];
    energy -= c["energy_j"].get<double>();
    area -= c["area_mm2"].get<double>();
    leakage -= c["leakage_w"].get<double>();
  }
  const double macs = t["macs"];
  t["energy_per_inference_j"] = energy;
  t["area_mm2"] = area;
  t["leakage_w"] = leakage;
  t["tops_per_w"] = energy > 0 ? 2.0 * macs / energy / 1e12 : 0.0;
  t["tops_per_mm2"] = area > 0 ? t["tops"].get<double>() / area : 0.0;
  return t;
}

std::map<std::string, double> silicon_errors(const SiliconReference& ref, const nlohmann::json& ppa) {
  const nlohmann::json totals = published_scope(ref, ppa);
  std::map<std::string, double> err;
  for (const auto& [name, published] : ref.figures)
    if (totals.contains(name)) err[name] = totals[name].get<double>() / published - 1.0;
  return err;
}

namespace {

MacroCheck check_one(const std::string& path, const std::vector<std::string>& overrides) {
  const PpaExperiment exp = load_ppa_experiment(path, overrides);
  if (!exp.has_silicon) throw core::ConfigError(fmt::format("{}: no 'silicon' section to compare with", path));
  const nlohmann::json ppa = ppa_json(exp, run_ppa(exp));
  const nlohmann::json totals = published_scope(exp.silicon, ppa);
  MacroCheck c;
  c.path = path;
  c.name = fs::path(path).stem().string();
  c.ref = exp.silicon;
  c.error = silicon_errors(c.ref, ppa);
  for (const auto& [name, e] : c.error) c.model[name] = totals[name].get<double>();
  return c;
}

double log_loss(const std::vector<MacroCheck>& checks) {
  double loss = 0;
  for (const auto& c : checks)
    for (const auto& [name, e] : c.error) {
      const double l = std::log(std::max(1e-300, 1.0 + e));
      loss += l * l;
    }
  return loss;
}

// The declaration of a fitted key: "circuits.adc.fom" or "technology.vth".
const ParamSpec& fitted_param(const std::string& key) {
  const auto dot = key.find('.');
  const std::string section = key.substr(0, dot == std::string::npos ? key.size() : dot);
  const std::string rest = dot == std::string::npos ? "" : key.substr(dot + 1);
  const core::Schema* schema = section == "circuits" ? &ppa::circuits_schema()
                               : section == "technology" ? &ppa::technology_schema()
                                                         : nullptr;
  const ParamSpec* spec = schema ? schema->find(rest) : nullptr;
  if (!spec || spec->type != core::ParamType::kReal)
    throw core::ConfigError(fmt::format("--fit {}: not a real-valued circuits.* or technology.* key (cimlab describe circuits)", key));
  return *spec;
}

bool sets_key(const std::string& path, const std::string& key) {
  YAML::Node node = core::load_config(path).root;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node.IsMap() || !node[part]) return false;
    node = node[part];
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

std::string override_of(const std::string& key, const ParamSpec& spec, double value) {
  const auto unit = core::unit_symbol(spec.dim);
  return unit.empty() ? fmt::format("{}={:.6g}", key, value) : fmt::format("{}={:.6g} {}", key, value, unit);
}

// Golden-section search for the minimum of f over [lo, hi] (f unimodal enough in practice).
double golden_min(const std::function<double(double)>& f, double lo, double hi, int iterations) {
  const double r = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = lo, b = hi, c = b - r * (b - a), d = a + r * (b - a);
  double fc = f(c), fd = f(d);
  for (int i = 0; i < iterations; ++i) {
    if (fc < fd) {
      b = d, d = c, fd = fc, c = b - r * (b - a), fc = f(c);
    } else {
      a = c, c = d, fc = fd, d = a + r * (b - a), fd = f(d);
    }
  }
  return fc < fd ? c : d;
}

}  // namespace

std::vector<MacroCheck> check_silicon(const std::vector<std::string>& paths, const std::vector<std::string>& overrides) {
  std::vector<MacroCheck> out;
  for (const auto& p : paths) out.push_back(check_one(p, overrides));
  return out;
}

FitResult fit_silicon(const std::vector<std::string>& paths, const std::vector<std::string>& keys,
                      const std::vector<std::string>& overrides) {
  std::vector<std::string> calibration;
  for (const auto& c : check_silicon(paths, overrides))
    if (c.ref.role == "calibration") calibration.push_back(c.path);
  if (calibration.empty()) throw core::ConfigError("--fit: none of the configs has silicon.role calibration");
  std::vector<const ParamSpec*> specs;
  std::vector<double> x;  // log of each key's value
  for (const auto& key : keys) {
    const ParamSpec& spec = fitted_param(key);
    for (const auto& p : paths)
      if (sets_key(p, key))
        throw core::ConfigError(fmt::format("--fit {}: {} sets it; a shared constant cannot be fitted where a macro states its own", key, p));
    // The start: the last --set of the key, else its default.
    std::string start = spec.default_text;
    for (const auto& o : overrides)
      if (o.rfind(key + "=", 0) == 0) start = o.substr(key.size() + 1);
    std::string error;
    const auto v = core::parse_quantity(start, spec.dim, &error);
    if (!v || *v <= 0) throw core::ConfigError(fmt::format("--fit {}: its start '{}' is not a positive value", key, start));
    specs.push_back(&spec);
    x.push_back(std::log(*v));
  }
  FitResult r;
  auto with = [&](const std::vector<double>& at) {
    std::vector<std::string> o = overrides;
    for (std::size_t i = 0; i < keys.size(); ++i) o.push_back(override_of(keys[i], *specs[i], std::exp(at[i])));
    return o;
  };
  auto loss = [&](const std::vector<double>& at) {
    ++r.evaluations;
    return log_loss(check_silicon(calibration, with(at)));
  };
  r.loss_before = loss(x);
  constexpr int kSweeps = 12, kIterations = 30;
  constexpr double kRange = 10;  // each key within [start / 10, 10 start]
  double current = r.loss_before;
  const std::vector<double> x0 = x;
  for (int sweep = 0; sweep < kSweeps; ++sweep) {
    const double start = current;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double lo = std::max(x0[i] - std::log(kRange), std::log(std::max(specs[i]->min, 1e-300)) + 1e-9);
      const double hi = std::min(x0[i] + std::log(kRange), std::isfinite(specs[i]->max) ? std::log(specs[i]->max) - 1e-9 : 1e300);
      std::vector<double> at = x;
      const double best = golden_min([&](double xi) { at[i] = xi; return loss(at); }, lo, hi, kIterations);
      at[i] = best;
      const double l = loss(at);
      if (l <= current) x = at, current = l;
    }
    if (start - current <= 1e-9 * start) break;  // a sweep that no longer helps
  }
  r.loss_after = current;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    r.values.emplace_back(keys[i], std::exp(x[i]));
    r.at_bound.push_back(std::abs(std::abs(x[i] - x0[i]) - std::log(kRange)) < 1e-3);
  }
  r.overrides = with(x);
  r.overrides.erase(r.overrides.begin(), r.overrides.begin() + static_cast<std::ptrdiff_t>(overrides.size()));
  return r;
}

std::vector<std::string> silicon_configs(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw core::InputError(fmt::format("{}: not a folder of silicon configs", dir));
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".yaml") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  if (out.empty()) throw core::InputError(fmt::format("{}: no *.yaml configs", dir));
  return out;
}

nlohmann::json silicon_json(const std::vector<MacroCheck>& checks) {
  nlohmann::json macros = nlohmann::json::array();
  std::map<std::string, double> worst;  // role -> max |error|
  for (const auto& c : checks) {
    macros.push_back({{"name", c.name},
                      {"excludes", c.ref.excludes},
                      {"role", c.ref.role},
                      {"kind", c.ref.kind},
                      {"source", c.ref.source},
                      {"notes", c.ref.notes},
                      {"published", c.ref.figures},
                      {"model", c.model},
                      {"error", c.error}});
    for (const auto& [name, e] : c.error) worst[c.ref.role] = std::max(worst[c.ref.role], std::abs(e));
  }
  return {{"macros", macros}, {"max_abs_error", worst}, {"calibration_loss", log_loss(checks)}};
}

std::string silicon_text(const std::vector<MacroCheck>& checks) {
  std::string s = fmt::format("{:<22} {:<11} {:<9} {:<13} {:>12} {:>12} {:>8}\n", "macro", "role", "kind", "figure",
                              "published", "model", "error");
  for (const auto& c : checks)
    for (const auto& f : silicon_figures()) {
      const auto it = c.error.find(f);
      if (it == c.error.end()) continue;
      s += fmt::format("{:<22} {:<11} {:<9} {:<13} {:>12.4g} {:>12.4g} {:>+7.1f}%\n", c.name, c.ref.role, c.ref.kind, f,
                       c.ref.figures.at(f), c.model.at(f), 100.0 * it->second);
    }
  return s;
}

}  // namespace cimlab::flow
