#pragma once
// Published silicon beside a PPA config, and the validation of the PPA model on it (issue 11).
//
// A `silicon:` section in a `cimlab ppa` config holds what a fabricated (or published) macro or chip
// reports at the operating point the config describes: its source, whether it calibrates the model's
// shared constants or is held out to validate them, and the published figures (any of tops_per_w, tops,
// tops_per_mm2, area_mm2, energy_per_inference_j, latency_s, keys of the estimate's totals). `cimlab ppa`
// then reports each figure's signed error (model / published - 1).
//
// `cimlab silicon [DIR]` runs every config of DIR (configs/silicon) and tabulates the errors;
// `--fit KEY,...` first fits shared constants (circuits.* or technology.* keys that no macro sets
// itself) on the calibration macros: the sum over them of ln(model / published)^2 of every published
// figure, minimised by cyclic golden-section searches over each key's logarithm within [x / 10, 10 x]
// of its start x (the key's last --set, else its default) (clamped to the key's declared range), sweep after sweep until one no longer helps
// (at most 12): a first-order constant that needs more than a decade to fit is a model that is wrong. Thread-safety: pure functions of their arguments.
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/params.hpp"

namespace cimlab::flow {

struct SiliconReference {
  std::string source;                   // citation: paper, table or figure
  std::string role = "validation";      // calibration | validation
  std::string kind = "measured";        // measured | simulated
  std::string notes;
  std::map<std::string, double> figures;  // totals key -> published value (SI, as the totals hold them)
  std::vector<std::string> excludes;      // model components the published figures leave out
};

const core::Schema& silicon_schema();
// The figures a silicon section may hold, in table order.
const std::vector<std::string>& silicon_figures();

// Reads root["silicon"] when present (problems to diags; resolved["silicon"] filled). `present` tells
// whether the section was there.
SiliconReference load_silicon(const core::ConfigFile& cfg, core::Diagnostics& diags, YAML::Node& resolved, bool& present);

// The estimate's totals as the publisher counts them: without the energy, area and leakage of the
// components in ref.excludes (TOPS/W, TOPS/mm2 and energy recomputed). `ppa` is the estimate's JSON.
nlohmann::json published_scope(const SiliconReference& ref, const nlohmann::json& ppa);
// model / published - 1 for every published figure, on published_scope(ref, ppa).
std::map<std::string, double> silicon_errors(const SiliconReference& ref, const nlohmann::json& ppa);

// One macro of a validation run.
struct MacroCheck {
  std::string name;   // the config file's stem
  std::string path;
  SiliconReference ref;
  std::map<std::string, double> model;  // the modelled figures that were published
  std::map<std::string, double> error;  // model / published - 1
};

// Runs each config (with `overrides` on top of every one) and compares it with its silicon section.
// Throws ConfigError when a config has none.
std::vector<MacroCheck> check_silicon(const std::vector<std::string>& paths, const std::vector<std::string>& overrides);

struct FitResult {
  std::vector<std::pair<std::string, double>> values;  // key -> fitted SI value
  std::vector<std::string> overrides;                   // the same as --set key=value lines (with units)
  std::vector<bool> at_bound;                           // a value at the edge of its search range
  double loss_before = 0, loss_after = 0;               // sum of ln(model / published)^2 over calibration
  int evaluations = 0;
};

// Fits `keys` on the calibration macros among `paths`. Throws ConfigError for an unknown key, one that
// is not a positive real, one that a macro's config sets itself, or no calibration macro.
FitResult fit_silicon(const std::vector<std::string>& paths, const std::vector<std::string>& keys,
                      const std::vector<std::string>& overrides);

// The configs of a folder (*.yaml, sorted).
std::vector<std::string> silicon_configs(const std::string& dir);

// {macros: [{name, role, kind, source, published, model, error}], summary: {...}} and a terminal table.
nlohmann::json silicon_json(const std::vector<MacroCheck>& checks);
std::string silicon_text(const std::vector<MacroCheck>& checks);

}  // namespace cimlab::flow
