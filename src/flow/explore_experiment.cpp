// The `cimlab explore` experiment: map + PPA as the search's objective (see flow/explore_experiment.hpp).
#include "flow/explore_experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include "core/presets.hpp"
#include "explore/strategy.hpp"
#include "flow/map_experiment.hpp"
#include "flow/ppa_experiment.hpp"
#include "mapper/hierarchy.hpp"
#include "xbar/chip_config.hpp"

namespace cimlab::flow {

namespace {

using explore::Evaluation;
using explore::Status;

std::vector<std::string> ppa_section_names() {
  std::vector<std::string> out;
  for (const core::Schema* s : ppa_schemas()) out.push_back(s->name);
  return out;
}

// Sets the dotted `key` of root to the scalar `text`; the reason when a part of the path is not a table.
std::optional<std::string> set_key(YAML::Node root, const std::string& key, const std::string& text) {
  YAML::Node cur = root;
  std::string rest = key;
  for (std::size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    const std::string part = rest.substr(0, dot);
    if (!cur[part]) cur[part] = YAML::Node(YAML::NodeType::Map);
    if (!cur[part].IsMap()) return fmt::format("'{}': '{}' is not a table", key, part);
    cur.reset(cur[part]);
  }
  cur[rest] = text;
  return std::nullopt;
}

std::optional<std::string> set_keys(YAML::Node root, const explore::Point& p) {
  for (const auto& s : p.settings)
    if (auto err = set_key(root, s.key, s.value.text)) return err;
  return std::nullopt;
}

// The value of a dotted key in a resolved config (SI; booleans 1 / 0), or nothing.
std::optional<double> resolved_value(const YAML::Node& resolved, const std::string& key) {
  std::vector<YAML::Node> path{resolved};  // const lookups only: a missing key must not grow the tree
  std::string rest = key;
  for (;;) {
    const YAML::Node& cur = path.back();
    if (!cur.IsMap()) return std::nullopt;
    if (const YAML::Node v = cur[rest]; v && v.IsScalar()) {
      const std::string& t = v.Scalar();
      if (t == "true" || t == "false") return t == "true" ? 1.0 : 0.0;
      return explore::read_value(t).number;
    }
    const std::size_t dot = rest.find('.');
    if (dot == std::string::npos) return std::nullopt;
    const YAML::Node next = cur[rest.substr(0, dot)];
    if (!next) return std::nullopt;
    path.push_back(next);
    rest = rest.substr(dot + 1);
  }
}

std::string messages(const core::Diagnostics& diags) {
  std::string s;
  for (const auto& d : diags.items()) s += (s.empty() ? "" : "; ") + d.message;
  return s;
}

// One design point's specs, read from its config as load_ppa_experiment reads them (flow/ppa_experiment.cpp;
// the golden test tests/golden/explore_vgg8.sh checks that the metrics match `cimlab ppa` on best/ configs).
struct PointSpecs {
  MapExperiment map;
  ppa::PpaSpec ppa;
  YAML::Node root;                  // the config with the chip preset applied
  std::vector<YAML::Node> resolved;  // resolved sections taken from the memo (see SectionMemo)
};

// Validated chip sections and ppa sections (technology, circuits, workload, silicon) by the point's settings
// in them. Validation is a function of a section's text alone, and every point is the same base config with
// its own settings, so a point whose settings in those sections equal an earlier point's has the same
// result: it is validated once per worker. (The hierarchy sections, checked against the array size, are
// validated for every point.) One per worker thread.
struct SectionMemo {
  struct Chip {
    xbar::ChipConfig chip;
    YAML::Node resolved;
    std::vector<core::Diagnostic> diags;
  };
  struct Ppa {
    ppa::TechSpec tech;
    ppa::CircuitSpec circuits;
    core::Params workload;
    YAML::Node resolved;
    std::vector<core::Diagnostic> diags;
  };
  static constexpr std::size_t kMaxEntries = 4096;
  std::string chip_key, ppa_key;  // this point's settings in the chip / ppa sections
  std::map<std::string, Chip> chips;
  std::map<std::string, Ppa> ppas;
};

std::string settings_in(const explore::Point& p, const std::vector<std::string>& sections) {
  std::string key;
  for (const auto& st : p.settings) {
    const std::string section = st.key.substr(0, st.key.find('.'));
    if (std::find(sections.begin(), sections.end(), section) != sections.end()) key += st.key + '=' + st.value.text + ';';
  }
  return key;
}

SectionMemo::Ppa read_ppa_sections(const core::ConfigFile& c) {
  SectionMemo::Ppa e;
  core::Diagnostics diags;
  e.resolved = YAML::Node(YAML::NodeType::Map);
  PpaSections sections = load_ppa_sections(c, diags, e.resolved);  // as `cimlab ppa` reads them
  e.tech = sections.tech;
  e.circuits = sections.circuits;
  e.workload = std::move(sections.workload);
  if (diags.empty() && e.workload.str("type") != "network")
    diags.add(core::at(c.root["workload"], c.origin, "cimlab explore searches a network workload (workload.type: network)"));
  e.diags = diags.items();
  return e;
}

template <class Entry, class Make>
const Entry& memoised(std::map<std::string, Entry>& memo, const std::string& key, Make make) {
  auto it = memo.find(key);
  if (it == memo.end()) {
    if (memo.size() >= SectionMemo::kMaxEntries) memo.clear();
    it = memo.emplace(key, make()).first;
  }
  return it->second;
}

void read_point(core::ConfigFile cfg, PointSpecs& s, core::Diagnostics& diags, SectionMemo* memo = nullptr) {
  ChipLoader loader;
  if (memo)
    loader = [&](const core::ConfigFile& c, core::Diagnostics& d, YAML::Node&) {
      const SectionMemo::Chip& e = memoised(memo->chips, memo->chip_key, [&] {
        SectionMemo::Chip x;
        core::Diagnostics dd;
        x.resolved = YAML::Node(YAML::NodeType::Map);
        x.chip = xbar::load_chip(c.root, c.origin, "", dd, x.resolved);
        x.diags = dd.items();
        return x;
      });
      for (const auto& x : e.diags) d.add(x);
      s.resolved.push_back(e.resolved);
      return e.chip;
    };
  const core::ConfigFile c = read_chip_sections(std::move(cfg), ppa_section_names(), s.map, diags, loader);
  s.root = c.root;
  SectionMemo::Ppa fresh;
  const SectionMemo::Ppa& p =
      memo ? memoised(memo->ppas, memo->ppa_key, [&] { return read_ppa_sections(c); }) : (fresh = read_ppa_sections(c));
  for (const auto& x : p.diags) diags.add(x);
  if (memo)
    s.resolved.push_back(p.resolved);
  else
    for (const auto& kv : p.resolved) s.map.resolved[kv.first.as<std::string>()] = kv.second;
  if (!diags.empty()) return;
  if (c.root["model"]) s.map.resolved["model"] = c.root["model"];
  s.ppa.tech = p.tech;
  s.ppa.circuits = p.circuits;
  s.ppa.activity = {p.workload.real("input_density"), p.workload.real("weight_density")};
  ppa::use_chip(s.ppa, s.map.chip);
}

// The point's resolved value of `key` (SI), from its own resolved sections or the memoised ones.
std::optional<double> point_value(const PointSpecs& s, const std::string& key) {
  if (auto v = resolved_value(s.map.resolved, key)) return v;
  for (const auto& r : s.resolved)
    if (auto v = resolved_value(r, key)) return v;
  return std::nullopt;
}

bool space_sets(const explore::Space& space, const std::string& prefix) {
  const auto keys = space.keys();
  return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return k == prefix || k.rfind(prefix + ".", 0) == 0; });
}

// Network graphs by the text of the `model` section: one graph when the search leaves the model alone.
class GraphCache {
 public:
  std::shared_ptr<const graph::Graph> get(const core::ConfigFile& cfg) {
    const std::string key = YAML::Dump(cfg.root["model"]);
    std::lock_guard<std::mutex> lock(mutex_);
    auto& g = graphs_[key];
    if (!g) {
      MapExperiment m;
      load_network(cfg, m);
      g = std::make_shared<const graph::Graph>(std::move(m.graph));
    }
    return g;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const graph::Graph>> graphs_;
};

std::map<std::string, double> metrics_of(const ppa::PpaResult& r, const mapper::Mapping& m) {
  const ppa::PpaTotals& t = r.totals;
  return {{"area_mm2", t.area_m2 * 1e6},
          {"energy_per_inference_j", t.energy_per_inference_j},
          {"latency_s", t.latency_s},
          {"throughput_inferences_per_s", t.throughput_inferences_per_s},
          {"tops", t.tops},
          {"tops_per_w", t.tops_per_w},
          {"tops_per_mm2", t.tops_per_mm2},
          {"leakage_w", t.leakage_w},
          {"edp_j_s", t.energy_per_inference_j * t.latency_s},
          {"arrays", static_cast<double>(m.arrays)},
          {"tiles", static_cast<double>(m.tiles)},
          {"utilisation", m.utilisation}};
}

class PpaObjective;

class PpaEvaluator : public explore::Evaluator {
 public:
  PpaEvaluator(YAML::Node base, core::Origin origin, GraphCache& graphs, bool memoise)
      : base_(std::move(base)), origin_(std::move(origin)), graphs_(graphs), memoise_(memoise) {}

  Evaluation evaluate(const explore::Point& point, const explore::KeyGate& gate) override {
    core::ConfigFile cfg{YAML::Clone(base_), origin_};
    if (auto err = set_keys(cfg.root, point)) return {Status::kRejected, {}, *err};
    PointSpecs s;
    core::Diagnostics diags;
    memo_.chip_key = settings_in(point, xbar::chip_section_names());
    memo_.ppa_key = settings_in(point, ppa_section_names());
    try {
      read_point(std::move(cfg), s, diags, memoise_ ? &memo_ : nullptr);
    } catch (const core::ConfigError& e) {
      return {Status::kRejected, {}, e.what()};
    }
    if (!diags.empty()) return {Status::kRejected, {}, messages(diags)};
    if (auto why = gate([&](const std::string& k) { return point_value(s, k); }))
      return {Status::kRejected, {}, *why};
    mapper::NetworkRequest net;
    try {
      net = mapper::network_request(*graphs_.get(core::ConfigFile{s.root, origin_}), s.map.chip);
    } catch (const core::ConfigError& e) {
      return {Status::kRejected, {}, e.what()};
    } catch (const core::ModelError& e) {
      return {Status::kRejected, {}, e.what()};
    } catch (const core::InputError& e) {
      return {Status::kRejected, {}, e.what()};
    }
    const mapper::Mapping mapping = mapper::map_network(net, s.map.spec);
    if (!mapping.feasible)
      return {Status::kRejected, {}, fmt::format("infeasible: {} (short of {} arrays)", mapping.reason, mapping.shortfall_arrays)};
    const ppa::PpaResult r = ppa::estimate(net, s.map.spec, mapping, s.ppa);
    return {Status::kOk, metrics_of(r, mapping), ""};
  }

 private:
  YAML::Node base_;  // this worker's own copy (yaml-cpp nodes are not safe to share between threads)
  core::Origin origin_;
  GraphCache& graphs_;
  bool memoise_;
  SectionMemo memo_;
};

// `section` with the preset it names under `key` (a name in configs/<kind>/, or a .yaml path relative to the
// config) merged underneath and `key` removed: what the section's loader does, with the file read once.
YAML::Node with_raw_preset(const YAML::Node& section, const std::string& key, const std::string& kind,
                           const core::Origin& origin) {
  if (!section || !section.IsMap() || !section[key] || !section[key].IsScalar()) return section;
  const std::filesystem::path name(section[key].Scalar());
  const std::filesystem::path path =
      name.extension() == ".yaml"
          ? (name.is_relative() ? std::filesystem::path(origin.file).parent_path() / name : name)
          : std::filesystem::path(core::presets_dir(kind)) / (name.string() + ".yaml");
  YAML::Node own = YAML::Clone(section);
  own.remove(key);
  return core::merge(core::load_config(path.string()).root, own);
}

// The base config with its chip, device and technology presets read once (parsing the preset files would
// otherwise be most of a point's cost), each merged under the config's own keys as their loaders merge
// them, unless the search changes that preset. A point's keys then apply on top, as on top of the preset.
// The base config was validated with the presets as written, so the files exist and parse; the golden
// test checks the metrics against `cimlab ppa`, which reads the presets itself.
YAML::Node presets_applied(const ExploreExperiment& exp) {
  const explore::Space& space = exp.search.space;
  core::Diagnostics diags;
  YAML::Node base = YAML::Clone(exp.base.root);
  if (!space_sets(space, "chip.preset")) base = mapper::apply_chip_preset(base, exp.base.origin, diags);
  diags.throw_if_any();
  if (!space_sets(space, "device.preset") && base["device"])
    base["device"] = with_raw_preset(base["device"], "preset", "devices", exp.base.origin);
  if (!space_sets(space, "technology.node") && base["technology"])
    base["technology"] = with_raw_preset(base["technology"], "node", "tech", exp.base.origin);
  return base;
}

class PpaObjective : public explore::Objective {
 public:
  explicit PpaObjective(const ExploreExperiment& exp)
      : origin_(exp.base.origin), memoise_(!space_sets(exp.search.space, "chip.preset")) {
    base_text_ = YAML::Dump(presets_applied(exp));
  }
  std::vector<explore::MetricInfo> metrics() const override { return ppa_metrics(); }
  std::unique_ptr<explore::Evaluator> make_evaluator() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::make_unique<PpaEvaluator>(YAML::Load(base_text_), origin_, graphs_, memoise_);
  }

 private:
  core::Origin origin_;
  std::string base_text_;  // each worker parses its own copy
  bool memoise_;           // the chip preset is fixed: the chip sections are the base's plus the point's keys
  mutable std::mutex mutex_;
  mutable GraphCache graphs_;
};

YAML::Node shallow_copy(const YAML::Node& map) {
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& kv : map) out[kv.first.as<std::string>()] = kv.second;
  return out;
}

std::string fingerprint(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a, 64 bits
  for (const unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return fmt::format("{:016x}", h);
}

// Space keys whose section is unknown or whose key no schema declares (typos), found by validating the
// first point: every "unknown" diagnostic of it.
void check_space_keys(const ExploreExperiment& exp, core::Diagnostics& diags) {
  core::ConfigFile cfg{YAML::Clone(exp.base.root), exp.base.origin};
  const explore::Point first = exp.search.space.decode(std::vector<double>(exp.search.space.size(), 0.0));
  if (auto err = set_keys(cfg.root, first)) {
    diags.add({exp.base.origin.file, 0, 0, fmt::format("explore.space: {}", *err)});
    return;
  }
  PointSpecs s;
  core::Diagnostics point;
  try {
    read_point(std::move(cfg), s, point);
  } catch (const core::ConfigError& e) {
    return;  // a bad combination, reported per point
  }
  for (const auto& d : point.items())
    if (d.message.find("unknown key") != std::string::npos || d.message.find("unknown section") != std::string::npos)
      diags.add({exp.base.origin.file, 0, 0, fmt::format("explore.space: {}", d.message)});
}

void check_constraint_keys(const ExploreExperiment& exp, const YAML::Node& resolved, core::Diagnostics& diags) {
  const auto keys = exp.search.space.keys();
  for (const auto& c : exp.search.constraints) {
    if (c.on_metrics()) continue;
    for (const auto& name : c.names())
      if (std::find(keys.begin(), keys.end(), name) == keys.end() && !resolved_value(resolved, name))
        diags.add({exp.base.origin.file, 0, 0,
                   fmt::format("explore.constraints: '{}': '{}' is neither a metric nor a config key with a value", c.text(), name)});
  }
}

}  // namespace

std::vector<explore::MetricInfo> ppa_metrics() {
  using explore::Sense;
  return {{"area_mm2", Sense::kMin, "chip area, mm2"},
          {"energy_per_inference_j", Sense::kMin, "energy per inference, J"},
          {"latency_s", Sense::kMin, "latency of one inference, s"},
          {"throughput_inferences_per_s", Sense::kMax, "inferences per second (pipelined)"},
          {"tops", Sense::kMax, "tera-operations per second (2 per MAC)"},
          {"tops_per_w", Sense::kMax, "TOPS per watt"},
          {"tops_per_mm2", Sense::kMax, "TOPS per mm2"},
          {"leakage_w", Sense::kMin, "leakage power, W"},
          {"edp_j_s", Sense::kMin, "energy-delay product: energy per inference x latency, J s"},
          {"arrays", Sense::kMin, "arrays used (all copies)"},
          {"tiles", Sense::kMin, "tiles used"},
          {"utilisation", Sense::kMax, "weight cells / cells of the arrays used"}};
}

ExploreExperiment load_explore_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  ExploreExperiment exp;
  core::Diagnostics diags;
  core::ConfigFile cfg = core::load_config(path);
  core::apply_overrides(cfg, overrides, diags);
  diags.throw_if_any();
  exp.fingerprint = fingerprint(YAML::Dump(cfg.root));
  exp.base = core::ConfigFile{shallow_copy(cfg.root), cfg.origin};
  exp.base.root.remove("explore");
  PointSpecs s;
  // The base config itself must be valid. A new top-level map (read_chip_sections assigns to the root, and a
  // yaml-cpp assignment writes through every handle) over the file's own nodes (positions kept).
  read_point(core::ConfigFile{shallow_copy(exp.base.root), cfg.origin}, s, diags);
  exp.seed = s.map.seed;
  exp.search = explore::load_search(cfg.root["explore"], cfg.origin, ppa_metrics(), exp.seed, diags);
  diags.throw_if_any();
  check_space_keys(exp, diags);
  check_constraint_keys(exp, s.map.resolved, diags);
  diags.throw_if_any();
  if (!space_sets(exp.search.space, "model")) load_network(core::ConfigFile{s.root, cfg.origin}, s.map);
  exp.resolved = s.map.resolved;
  exp.resolved["explore"] = exp.search.resolved;
  return exp;
}

std::vector<const core::Schema*> explore_schemas() {
  std::vector<const core::Schema*> out{&explore::explore_schema()};
  for (const auto& e : explore::strategies()) out.push_back(&e.schema);
  return out;
}

std::unique_ptr<explore::Objective> make_ppa_objective(const ExploreExperiment& exp) {
  return std::make_unique<PpaObjective>(exp);
}

YAML::Node point_config(const ExploreExperiment& exp, const explore::Point& point) {
  YAML::Node root = YAML::Clone(exp.base.root);
  set_keys(root, point);
  const std::filesystem::path dir = std::filesystem::absolute(exp.base.origin.file).parent_path();
  auto absolute = [&](YAML::Node node) {
    if (!node || !node.IsScalar()) return;
    const std::filesystem::path p(node.Scalar());
    const bool is_file = p.extension() == ".yaml" || p.extension() == ".onnx";
    if (is_file && p.is_relative()) node = (dir / p).lexically_normal().string();
  };
  if (root["model"]) absolute(root["model"]["onnx"]);
  for (const char* section : {"chip", "device", "technology"})
    if (root[section] && root[section].IsMap()) absolute(root[section]["preset"]);
  if (root["technology"] && root["technology"].IsMap()) absolute(root["technology"]["node"]);
  return root;
}

}  // namespace cimlab::flow
