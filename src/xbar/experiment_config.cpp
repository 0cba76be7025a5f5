// Loading the `cimlab xbar` experiment config: one schema per section, all problems reported at once.
#include <fmt/format.h>
#include <fmt/ranges.h>


#include "device/presets.hpp"
#include "xbar/array_spec.hpp"
#include "xbar/correction.hpp"
#include "xbar/experiment.hpp"
#include "xbar/ir_drop.hpp"

namespace cimlab::xbar {

using core::Dim;
using core::ParamSpec;

namespace {

const core::Schema& run_schema() {
  static const core::Schema s{"run", "top-level settings",
                              {ParamSpec::integer("seed", "1", "seed of every random draw of the run").at_least(0)}};
  return s;
}

const core::Schema& weights_schema() {
  static const core::Schema s{
      "weights", "the logical weight matrix stored on the array (rows x outputs), from a file or drawn",
      {ParamSpec::path("file", "CSV/NPY of rows x outputs weights (relative to the config file); empty = drawn"),
       ParamSpec::choice("distribution", {"normal", "uniform"}, "normal", "distribution of drawn weights"),
       ParamSpec::real("scale", Dim::kNone, "0.25", "std (normal) or half-width (uniform) of drawn weights").above(0),
       ParamSpec::integer("cols", "0", "logical outputs drawn; 0 = as many as fit the array").at_least(0)}};
  return s;
}

const core::Schema& inputs_schema() {
  static const core::Schema s{
      "inputs", "input activations in [0, 1], one vector per line, from a file or drawn uniformly",
      {ParamSpec::path("file", "CSV/NPY, one input vector per line (relative to the config file); empty = drawn"),
       ParamSpec::integer("count", "32", "input vectors drawn").at_least(1).at_most(1000000),
       ParamSpec::real("density", Dim::kNone, "1", "fraction of non-zero activations when drawn").above(0).at_most(1)}};
  return s;
}

const core::Schema& effects_schema() {
  static const core::Schema s{
      "effects", "the non-ideality classes included in the all-together run (each is also run alone)",
      {ParamSpec::boolean("quantisation", "true", "weight, input (DAC / bit-serial) and ADC quantisation"),
       ParamSpec::boolean("programming", "true", "device-to-device programming variation"),
       ParamSpec::boolean("read_noise", "true", "cycle-to-cycle read noise"),
       ParamSpec::boolean("drift", "true", "conductance drift at device.drift.time"),
       ParamSpec::boolean("faults", "true", "stuck-at-ON/OFF cells"),
       ParamSpec::boolean("nonlinearity", "true", "cell I-V nonlinearity"),
       ParamSpec::boolean("ir_drop", "true", "wire, driver and sense resistance (IR drop)")}};
  return s;
}

const core::Schema& output_schema() {
  static const core::Schema s{
      "output", "what the run folder receives besides result.json",
      {ParamSpec::boolean("voltage_map", "true", "cell_voltage.csv: voltage across every cell for the first input")}};
  return s;
}

const core::Schema& ir_drop_common_schema() {
  static const core::Schema s{"ir_drop", "how IR drop is computed: exact solver or an approximation",
                              {ParamSpec::string("type", "exact", "the IR-drop model: one of the ir_drop.<type> components below")}};
  return s;
}

// Validates a section and records its resolved values.
core::Params section(const core::ConfigFile& cfg, const std::string& name, const core::Schema& schema,
                     core::Diagnostics& diags, YAML::Node& resolved, const std::vector<std::string>& ignore = {}) {
  core::Params p = core::validate(cfg.root[name], schema, name + ".", cfg.origin, diags, ignore);
  resolved[name] = core::to_yaml(p, schema);
  return p;
}

std::vector<std::string> ir_drop_types() {
  std::vector<std::string> types;
  for (const auto& e : ir_drop_models()) types.push_back(e.type);
  return types;
}

void load_ir_drop(const core::ConfigFile& cfg, XbarExperiment& exp, core::Diagnostics& diags) {
  const YAML::Node node = cfg.root["ir_drop"];
  exp.ir_drop_type = "exact";
  if (node && node.IsMap() && node["type"]) {
    if (!node["type"].IsScalar()) {
      diags.add(core::at(node["type"], cfg.origin, "'ir_drop.type' must be a name, e.g. exact"));
      return;
    }
    exp.ir_drop_type = node["type"].Scalar();
  }
  const auto types = ir_drop_types();
  const auto it = std::find_if(ir_drop_models().begin(), ir_drop_models().end(),
                               [&](const IrDropEntry& e) { return e.type == exp.ir_drop_type; });
  if (it == ir_drop_models().end()) {
    const auto hint = core::closest(exp.ir_drop_type, types);
    diags.add(core::at(node["type"], cfg.origin,
                       fmt::format("'ir_drop.type' = '{}' is not one of {}{}", exp.ir_drop_type, fmt::join(types, "|"),
                                   hint ? fmt::format(" (did you mean '{}'?)", *hint) : "")));
    return;
  }
  exp.ir_drop_params = core::validate(node, it->schema, "ir_drop.", cfg.origin, diags, {"type"});
  exp.resolved["ir_drop"] = core::to_yaml(exp.ir_drop_params, it->schema);
  exp.resolved["ir_drop"]["type"] = exp.ir_drop_type;
}

}  // namespace

std::vector<const core::Schema*> experiment_schemas() {
  std::vector<const core::Schema*> out{&run_schema(),     &array_schema(),   &device::device_schema(),
                                       &mapping_schema(), &adc_schema(),     &ir_drop_common_schema()};
  for (const auto& e : ir_drop_models()) out.push_back(&e.schema);
  for (const auto* s : {&correction_schema(), &weights_schema(), &inputs_schema(), &effects_schema(), &output_schema()})
    out.push_back(s);
  return out;
}

namespace {

// The validated parameters of every section, before any spec is built from them.
struct Sections {
  core::Params run, array, mapping, adc, weights, inputs, effects, output;
};

Sections validate_sections(const core::ConfigFile& cfg, XbarExperiment& exp, core::Diagnostics& diags) {
  core::check_sections(cfg, {"seed", "array", "device", "mapping", "adc", "ir_drop", "correction", "weights", "inputs",
                             "effects", "output"},
                       diags);
  Sections s;
  YAML::Node top(YAML::NodeType::Map);
  if (cfg.root["seed"]) top["seed"] = cfg.root["seed"];
  s.run = core::validate(top, run_schema(), "", cfg.origin, diags);
  s.array = section(cfg, "array", array_schema(), diags, exp.resolved);
  YAML::Node device_resolved;
  exp.device = device::load_device(cfg.root["device"], cfg.origin, diags, &device_resolved);
  exp.resolved["device"] = device_resolved;
  s.mapping = section(cfg, "mapping", mapping_schema(), diags, exp.resolved);
  s.adc = section(cfg, "adc", adc_schema(), diags, exp.resolved);
  load_ir_drop(cfg, exp, diags);
  exp.correction_params = section(cfg, "correction", correction_schema(), diags, exp.resolved);
  s.weights = section(cfg, "weights", weights_schema(), diags, exp.resolved);
  s.inputs = section(cfg, "inputs", inputs_schema(), diags, exp.resolved);
  s.effects = section(cfg, "effects", effects_schema(), diags, exp.resolved);
  s.output = section(cfg, "output", output_schema(), diags, exp.resolved);
  return s;
}

void build_specs(const core::ConfigFile& cfg, const Sections& s, XbarExperiment& exp, core::Diagnostics& diags) {
  exp.seed = static_cast<std::uint64_t>(s.run.integer("seed"));
  exp.resolved["seed"] = exp.seed;
  exp.circuit = make_circuit_spec(s.array);
  const YAML::Node array_node = cfg.root["array"];
  exp.rows_given = array_node && array_node.IsMap() && array_node["rows"];
  exp.cols_given = array_node && array_node.IsMap() && array_node["cols"];
  exp.mapping = make_mapping_spec(s.mapping, exp.device, cfg.origin, diags);
  exp.adc = make_adc_spec(s.adc, cfg.origin, diags);
  exp.correction_enabled = exp.correction_params.boolean("enabled");
  const core::Params& w = s.weights;
  exp.weights = {w.has("file") ? w.str("file") : "", w.str("distribution"), w.real("scale"),
                 static_cast<int>(w.integer("cols"))};
  const core::Params& in = s.inputs;
  exp.inputs = {in.has("file") ? in.str("file") : "", static_cast<int>(in.integer("count")),
                in.real("density")};
  for (int e = 0; e < kEffectCount; ++e)
    exp.effects.set(static_cast<Effect>(e), s.effects.boolean(std::string(effect_name(static_cast<Effect>(e)))));
  exp.voltage_map = s.output.boolean("voltage_map");
}

}  // namespace

XbarExperiment load_xbar_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  core::ConfigFile cfg = core::load_config(path);
  core::Diagnostics diags;
  core::apply_overrides(cfg, overrides, diags);
  XbarExperiment exp;
  exp.resolved = YAML::Node(YAML::NodeType::Map);
  const Sections sections = validate_sections(cfg, exp, diags);
  diags.throw_if_any();  // specs are built only from sections that validated
  build_specs(cfg, sections, exp, diags);
  diags.throw_if_any();
  return exp;
}

}  // namespace cimlab::xbar
