// Loading the `cimlab xbar` experiment config: one schema per section, all problems reported at once.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "xbar/chip_config.hpp"
#include "xbar/experiment.hpp"

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
       ParamSpec::real("density", Dim::kNone, "1", "fraction of non-zero activations when drawn").above(0).at_most(1),
       ParamSpec::path("calibration_file",
                       "inputs that calibrate the ADC range (adc.range: calibrated), as file; required with file; "
                       "empty = a draw of calibration_count vectors separate from the scored ones"),
       ParamSpec::integer("calibration_count", "32", "input vectors drawn for the ADC calibration (separate draw)")
           .at_least(1)
           .at_most(1000000)}};
  return s;
}

const core::Schema& output_schema() {
  static const core::Schema s{
      "output", "what the run folder receives besides result.json",
      {ParamSpec::boolean("voltage_map", "true", "cell_voltage.csv: voltage across every cell for the first input")}};
  return s;
}

}  // namespace

std::vector<const core::Schema*> experiment_schemas() {
  std::vector<const core::Schema*> out{&run_schema()};
  for (const auto* s : chip_schemas()) out.push_back(s);
  for (const auto* s : {&weights_schema(), &inputs_schema(), &output_schema()}) out.push_back(s);
  return out;
}

namespace {

// The validated parameters of the experiment's own sections (the chip sections are in ChipConfig).
struct Sections {
  core::Params run, weights, inputs, output;
  ChipConfig chip;
};

Sections validate_sections(const core::ConfigFile& cfg, XbarExperiment& exp, core::Diagnostics& diags) {
  std::vector<std::string> known{"seed", "weights", "inputs", "output"};
  for (const auto& name : chip_section_names()) known.push_back(name);
  core::check_sections(cfg, known, diags);
  Sections s;
  s.run = core::validate_top(cfg, {"seed"}, run_schema(), diags);
  s.chip = load_chip(cfg.root, cfg.origin, "", diags, exp.resolved);
  if (cfg.root["layers"])
    diags.add(core::at(cfg.root["layers"], cfg.origin,
                       "'layers' sets chip sections per network layer (cimlab map, train, eval, run); cimlab xbar "
                       "simulates one array: set the sections themselves"));
  s.weights = core::validate_section(cfg, "weights", weights_schema(), diags, exp.resolved);
  s.inputs = core::validate_section(cfg, "inputs", inputs_schema(), diags, exp.resolved);
  if (s.inputs.has("file") && !s.inputs.has("calibration_file") && s.chip.array.adc.range == AdcRange::kCalibrated)
    diags.add(core::at(cfg.root["inputs"]["file"], cfg.origin,
                       "inputs.file with adc.range: calibrated needs inputs.calibration_file: the ADC range must be "
                       "calibrated on other inputs than those scored"));
  s.output = core::validate_section(cfg, "output", output_schema(), diags, exp.resolved);
  return s;
}

void build_specs(const core::ConfigFile& cfg, const Sections& s, XbarExperiment& exp) {
  exp.seed = static_cast<std::uint64_t>(s.run.integer("seed"));
  exp.resolved["seed"] = exp.seed;
  exp.circuit = s.chip.array.circuit;
  const YAML::Node array_node = cfg.root["array"];
  exp.rows_given = array_node && array_node.IsMap() && array_node["rows"];
  exp.cols_given = array_node && array_node.IsMap() && array_node["cols"];
  exp.device = s.chip.array.device;
  exp.mapping = s.chip.array.mapping;
  exp.adc = s.chip.array.adc;
  exp.ir_drop_type = s.chip.array.ir_drop_type;
  exp.ir_drop_params = s.chip.array.ir_drop_params;
  exp.correction_params = s.chip.correction;
  exp.correction_enabled = s.chip.correction_enabled;
  const core::Params& w = s.weights;
  exp.weights = {w.has("file") ? w.str("file") : "", w.str("distribution"), w.real("scale"),
                 static_cast<int>(w.integer("cols"))};
  const core::Params& in = s.inputs;
  exp.inputs = {in.has("file") ? in.str("file") : "", static_cast<int>(in.integer("count")), in.real("density"),
                in.has("calibration_file") ? in.str("calibration_file") : "",
                static_cast<int>(in.integer("calibration_count"))};
  exp.effects = s.chip.effects;
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
  build_specs(cfg, sections, exp);
  return exp;
}

}  // namespace cimlab::xbar
