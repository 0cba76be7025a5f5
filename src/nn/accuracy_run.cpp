// `cimlab run`: float -> analog -> hat -> hat_wmc on each configured chip (see nn/accuracy_run.hpp).
#include "nn/accuracy_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <chrono>
#include <fstream>
#include <thread>

#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/run_dir.hpp"
#include "nn/analog.hpp"
#include "nn/checkpoint.hpp"
#include "nn/data.hpp"
#include "nn/graph_model.hpp"
#include "nn/models.hpp"
#include "xbar/correction.hpp"

namespace cimlab::nn {

namespace fs = std::filesystem;
using core::ParamSpec;

namespace {

const core::Schema& run_schema() {
  static const core::Schema s{
      "run", "top-level settings of the default experiment (cimlab run)",
      {ParamSpec::integer("seed", "1", "seed of the float training, the HAT draws and the chip instances").at_least(0),
       ParamSpec::integer("threads", "0", "torch intra-op threads; 0 = every core").at_least(0).at_most(1024)}};
  return s;
}

// A schema declared once by train or eval, found by its name.
const core::Schema& schema_named(const std::vector<const core::Schema*>& list, const std::string& name) {
  for (const core::Schema* s : list)
    if (s->name == name) return *s;
  throw core::ModelError(fmt::format("no '{}' schema", name));
}

const core::Schema& dataset_schema() { return schema_named(train_schemas(), "dataset"); }
const core::Schema& model_schema() { return schema_named(train_schemas(), "model"); }
const core::Schema& training_schema() { return schema_named(train_schemas(), "training"); }
const core::Schema& hat_schema() { return schema_named(train_schemas(), "hat"); }
const core::Schema& analog_schema() { return schema_named(eval_schemas(), "analog"); }

void load_chips(const core::ConfigFile& cfg, RunConfig& out, core::Diagnostics& diags) {
  const YAML::Node chips = cfg.root["chips"];
  if (!chips || !chips.IsMap() || chips.size() == 0) {
    diags.add(core::at(chips ? chips : cfg.root, cfg.origin,
                       "'chips' must map a device label to its chip sections, e.g. chips: {rram: {device: {preset: rram}}}"));
    return;
  }
  for (const auto& entry : chips) {
    const std::string label = entry.first.Scalar();
    const std::string prefix = "chips." + label + ".";
    if (!entry.second.IsMap()) {
      diags.add(core::at(entry.second, cfg.origin, fmt::format("'{}' must be a map of chip sections", "chips." + label)));
      continue;
    }
    for (const auto& key : entry.second) {
      const std::string name = key.first.Scalar();
      const auto& known = xbar::chip_section_names();
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      const auto hint = core::closest(name, known);
      diags.add(core::at(key.first, cfg.origin,
                         fmt::format("unknown section '{}{}'{}", prefix, name,
                                     hint ? fmt::format(" (did you mean '{}{}'?)", prefix, *hint) : "")));
    }
    YAML::Node resolved;
    out.chips.push_back({label, xbar::load_chip(entry.second, cfg.origin, prefix, diags, resolved)});
    out.resolved["chips"][label] = resolved;
  }
}

nlohmann::json row_json(const AccuracyRow& r) {
  nlohmann::json j = to_json(r);
  j["per_chip"] = r.per_chip;
  return j;
}

AccuracyRow row_from_json(const nlohmann::json& j) {
  AccuracyRow r;
  r.model = j.at("model").get<std::string>();
  r.dataset = j.at("dataset").get<std::string>();
  r.device = j.at("device").get<std::string>();
  r.stage = j.at("stage").get<std::string>();
  r.mean = j.at("mean").get<double>();
  r.std = j.at("std").get<double>();
  r.p5 = j.at("p5").get<double>();
  r.ratio_to_float = j.at("ratio_to_float").get<double>();
  r.ci95_low = j.at("ci95").at(0).get<double>();
  r.ci95_high = j.at("ci95").at(1).get<double>();
  r.images = j.at("images").get<std::int64_t>();
  r.chips = j.at("chips").get<std::int64_t>();
  r.float_of_stage_model = j.at("float_of_stage_model").get<double>();
  r.per_chip = j.at("per_chip").get<std::vector<double>>();
  return r;
}

// A row of `stats` (a stage's chips, or the float model: chips = 0).
AccuracyRow make_row(const ModelSource& model, const std::string& dataset, const std::string& device,
                     const std::string& stage, const ChipStats& stats, std::int64_t chips, double float_accuracy,
                     double float_of_stage_model) {
  AccuracyRow r;
  r.model = model.name;
  r.dataset = dataset;
  r.device = device;
  r.stage = stage;
  r.mean = stats.mean;
  r.std = stats.std;
  r.p5 = stats.p5;
  r.ratio_to_float = float_accuracy > 0 ? stats.mean / float_accuracy : 0.0;
  r.ci95_low = stats.ci95_low;
  r.ci95_high = stats.ci95_high;
  r.images = stats.images;
  r.chips = chips;
  r.float_of_stage_model = float_of_stage_model;
  r.per_chip = stats.per_chip;
  return r;
}

// Whether some analog layer's correction works around known stuck cells on a chip that has them (then
// the run also reports the correction without that knowledge).
bool assumes_known_faults(const xbar::ChipConfig& chip, const ModelSource& model) {
  for (const std::string& name : crossbar_layer_names(model)) {
    const xbar::LayerChip lc = xbar::chip_for_layer(chip, name);
    if (!lc.digital && lc.chip.effects.has(xbar::Effect::kFaults) && lc.chip.array.device.faults.active() &&
        xbar::make_correction_options(lc.chip.correction).known_faults)
      return true;
  }
  return false;
}

// Everything the stages of one run share.
struct Runner {
  const RunConfig& cfg;
  const RunOptions& options;
  fs::path out;
  DatasetSplit data;
  double float_accuracy = 0.0;
  RunResult result;

  // Trains (or resumes) into out/<folder>/checkpoint.pt and returns the trained float-architecture model.
  torch::nn::AnyModule trained(const TrainSpec& spec, const std::string& folder, nlohmann::json& details) {
    fs::create_directories(out / folder);
    const std::string checkpoint = (out / folder / "checkpoint.pt").string();
    TrainOptions t;
    t.checkpoint = checkpoint;
    t.resume = options.resume && fs::exists(checkpoint);
    t.progress = options.progress;
    t.log = options.log;
    t.score_test = false;  // the stage's evaluation scores the test split
    if (spec.model.is_onnx()) t.onnx_out = (out / folder / "model.onnx").string();
    const TrainResult r = train(spec, t);
    details = to_json(r);
    torch::nn::AnyModule net = build_model(spec.model);
    load_model_checkpoint(checkpoint, *net.ptr());
    return net;
  }

  // One stage on one chip: read back when resuming, else evaluated and saved.
  AccuracyRow stage(const std::string& device, const std::string& stage, torch::nn::AnyModule& net,
                    const LayerSpecs& specs, bool budget, nlohmann::json& details) {
    const fs::path saved = out / "stages" / fmt::format("{}_{}.json", device, stage);
    AccuracyRow row;
    if (options.resume && fs::exists(saved)) {
      std::ifstream f(saved);
      const nlohmann::json j = nlohmann::json::parse(f);
      row = row_from_json(j.at("row"));
      details = j.at("evaluation");
    } else {
      EvalSpec eval = cfg.eval;
      eval.error_budget = budget;
      const EvalResult r = evaluate_chips(cfg.float_spec.model, *net.ptr(), specs, data.train, data.test, eval,
                                          cfg.float_spec.seed, options.progress);
      row = make_row(cfg.float_spec.model, cfg.float_spec.dataset.name, device, stage, r.analog, eval.chips,
                     float_accuracy, r.float_accuracy);
      details = to_json(r);
      fs::create_directories(saved.parent_path());
      core::write_file_atomic(saved.string(), nlohmann::json{{"row", row_json(row)}, {"evaluation", details}}.dump(2));
    }
    add(row);
    return row;
  }

  void add(const AccuracyRow& row) {
    result.rows.push_back(row);
    if (options.log)
      options.log->info("{} {}: mean {:.4f} (95 % CI {:.4f} to {:.4f}; {} images, {} chips), std {:.4f}, p5 {:.4f}, "
                        "ratio to float {:.4f}, stage model in float {:.4f}",
                        row.device, row.stage, row.mean, row.ci95_low, row.ci95_high, row.images, row.chips, row.std,
                        row.p5, row.ratio_to_float, row.float_of_stage_model);
    if (options.on_row) options.on_row(row);
  }
};

}  // namespace

std::vector<const core::Schema*> run_schemas() {
  return {&run_schema(), &dataset_schema(), &model_schema(), &training_schema(), &hat_schema(), &analog_schema()};
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  core::ConfigFile cfg = core::load_config(path);
  core::Diagnostics diags;
  core::apply_overrides(cfg, overrides, diags);
  core::check_sections(cfg, {"seed", "threads", "dataset", "model", "training", "hat", "hat_training", "analog", "chips"},
                       diags);
  RunConfig out;
  out.resolved = YAML::Node(YAML::NodeType::Map);
  const core::Params run = core::validate_top(cfg, {"seed", "threads"}, run_schema(), diags);
  const core::Params data = core::validate_section(cfg, "dataset", dataset_schema(), diags, out.resolved);
  const core::Params model = core::validate_section(cfg, "model", model_schema(), diags, out.resolved);
  const core::Params training = core::validate_section(cfg, "training", training_schema(), diags, out.resolved);
  const core::Params hat = core::validate_section(cfg, "hat", hat_schema(), diags, out.resolved);
  const core::Params hat_training = core::validate_section(cfg, "hat_training", training_schema(), diags, out.resolved);
  const core::Params analog = core::validate_section(cfg, "analog", analog_schema(), diags, out.resolved);
  if (cfg.root["hat"] && cfg.root["hat"]["from"])
    diags.add(core::at(cfg.root["hat"]["from"], cfg.origin,
                       "'hat.from' is not used by cimlab run: each chip's fine-tuning starts from the float stage"));
  load_chips(cfg, out, diags);
  diags.throw_if_any();
  TrainSpec& f = out.float_spec;
  f.seed = static_cast<std::uint64_t>(run.integer("seed"));
  f.threads = static_cast<int>(run.integer("threads"));
  f.dataset = make_dataset_spec(data);
  f.model = make_model_source(cfg.root["model"], cfg.origin, model, diags, out.resolved["model"]);
  diags.throw_if_any();
  for (const RunChip& chip : out.chips) check_layer_rules(chip.chip, f.model);
  f.training = make_training_spec(training);
  out.hat_training = make_training_spec(hat_training);
  set_hat_options(hat, out.hat);
  out.fidelity = analog.str("fidelity");
  out.double_precision = analog.boolean("double_precision");
  out.eval = {analog.integer("chips"), analog.integer("calibration_images"), analog.boolean("error_budget"),
              analog.integer("batch")};
  out.resolved["seed"] = f.seed;
  out.resolved["threads"] = f.threads;
  return out;
}

nlohmann::json to_json(const AccuracyRow& r) {
  return {{"model", r.model},
          {"dataset", r.dataset},
          {"device", r.device},
          {"stage", r.stage},
          {"mean", r.mean},
          {"std", r.std},
          {"p5", r.p5},
          {"ratio_to_float", r.ratio_to_float},
          {"ci95", {r.ci95_low, r.ci95_high}},
          {"images", r.images},
          {"chips", r.chips},
          {"float_of_stage_model", r.float_of_stage_model}};
}

RunResult run_accuracy(const RunConfig& cfg, const std::string& out_dir, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const TrainSpec& f = cfg.float_spec;
  Runner r{cfg, options, fs::path(out_dir), {}, 0.0, {}};
  nlohmann::json& details = r.result.details;
  torch::nn::AnyModule float_net = r.trained(f, "float", details["float"]);
  at::set_num_threads(thread_count(f.threads));
  r.data = load_dataset(f.dataset.name, f.dataset.data_dir, f.dataset.train_limit, f.dataset.test_limit,
                        f.dataset.validation, f.seed);
  r.float_accuracy = float_accuracy(float_net, r.data.test, cfg.eval.batch);
  const ChipStats float_stats = chip_stats({r.float_accuracy}, r.data.test.size());
  const Fidelity fidelity = cfg.fidelity == "fast" ? Fidelity::kFast : Fidelity::kExact;
  for (const RunChip& chip : cfg.chips) {
    nlohmann::json& d = details["chips"][chip.device];
    r.add(make_row(f.model, f.dataset.name, chip.device, "float", float_stats, 0, r.float_accuracy, r.float_accuracy));
    const LayerSpecs specs(chip.chip, fidelity, cfg.double_precision);
    const LayerSpecs uncorrected = specs.then(use_correction(false));
    r.stage(chip.device, "analog", float_net, uncorrected, cfg.eval.error_budget, d["analog"]);
    TrainSpec hat = f;
    hat.training = cfg.hat_training;
    hat.hat = cfg.hat;
    hat.hat.enabled = true;
    hat.hat.from = (r.out / "float" / "checkpoint.pt").string();
    hat.hat.chip = chip.chip;
    torch::nn::AnyModule hat_net = r.trained(hat, "hat_" + chip.device, d["hat_training"]);
    at::set_num_threads(thread_count(f.threads));
    r.stage(chip.device, "hat", hat_net, uncorrected, false, d["hat"]);
    const LayerSpecs corrected = specs.then(use_correction(true));
    r.stage(chip.device, "hat_wmc", hat_net, corrected, false, d["hat_wmc"]);
    if (assumes_known_faults(chip.chip, f.model))
      r.stage(chip.device, "hat_wmc_unknown_faults", hat_net, corrected.then(unknown_faults()), false,
              d["hat_wmc_unknown_faults"]);
  }
  r.result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r.result;
}

std::string accuracy_table(const std::vector<AccuracyRow>& rows) {
  std::size_t w = 10;  // the model column: zoo names, or "onnx:<file name>"
  for (const AccuracyRow& r : rows) w = std::max(w, r.model.size());
  std::size_t stage_w = 8;
  for (const AccuracyRow& r : rows) stage_w = std::max(stage_w, r.stage.size());
  std::string s = fmt::format("{:<{}} {:<14} {:<12} {:<{}} {:>8} {:>17} {:>7} {:>8} {:>15} {:>12} {:>7} {:>5}\n", "model",
                              w, "dataset", "device", "stage", stage_w, "mean", "95% CI", "std", "p5", "ratio_to_float",
                              "stage float", "images", "chips");
  for (const AccuracyRow& r : rows)
    s += fmt::format("{:<{}} {:<14} {:<12} {:<{}} {:>7.2f}% {:>17} {:>6.2f}% {:>7.2f}% {:>15.4f} {:>11.2f}% {:>7} {:>5}\n",
                     r.model, w, r.dataset, r.device, r.stage, stage_w, 100 * r.mean,
                     fmt::format("[{:.2f}, {:.2f}]%", 100 * r.ci95_low, 100 * r.ci95_high), 100 * r.std, 100 * r.p5,
                     r.ratio_to_float, 100 * r.float_of_stage_model, r.images, r.chips);
  return s;
}

}  // namespace cimlab::nn
