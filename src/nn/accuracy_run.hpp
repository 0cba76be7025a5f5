#pragma once
// The default experiment (`cimlab run`, what `make demo` runs; issue 3): one network on one dataset,
// on each configured chip, through the stages of the seed paper:
//   float    the float model's test accuracy (trained here, with checkpoints)
//   analog   the float weights on the chip as they are (Monte Carlo over chip instances)
//   hat      after hardware-aware fine-tuning for that chip (nn/train.hpp's HAT), same chips
//   hat_wmc  the HAT weights with weight-mapping correction of IR drop before programming
//   hat_wmc_unknown_faults  the same without the stuck-cell map (correction.known_faults: false); only
//            where some layer's correction assumes known stuck cells on a chip that has them
// Every stage of every chip is evaluated on the same chip seeds (common random numbers) and calibrated on
// the same images (nn::calibration_batches). Training looks at the validation split only (dataset.
// validation); the test split is scored once per stage, by its evaluation.
//
// Config: seed, threads, dataset, model, training (float), hat (classes, progressive,
// calibration_images), hat_training (the optimizer of the fine-tuning: train's training schema),
// analog (eval's: fidelity, chips, calibration_images, error_budget, batch, double_precision) and
// chips: a map from a device label to that chip's sections (array, device, mapping, adc, ir_drop,
// correction, effects, and `layers:` per-layer settings, checked against the model's weight layers;
// xbar/chip_config.hpp). The hat_wmc stage uses the correction section (method, tolerance, ...) of each
// layer's chip whether or not its `enabled` is set; the other stages run without.
//
// Run folder: accuracy.json (the rows below, a list), accuracy.csv, result.json (rows, per-chip
// accuracies, error budgets, timings, provenance), report.html, log.txt, config.resolved.yaml, and
// float/ and hat_<device>/ training folders with their checkpoints (and, for an ONNX model, model.onnx:
// the trained weights written back into the imported graph). With `resume`, finished stages are
// read back from stages/*.json and trainings continue from their checkpoints.
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "nn/evaluate.hpp"
#include "nn/train.hpp"
#include "xbar/chip_config.hpp"

namespace cimlab::nn {

struct RunChip {
  std::string device;  // the label in `chips:` (accuracy.json's `device`)
  xbar::ChipConfig chip;
};

struct RunConfig {
  TrainSpec float_spec;      // seed, threads, dataset, model, training
  TrainingSpec hat_training;  // optimizer and epochs of the fine-tuning
  HatSpec hat;               // classes, progressive, calibration_images (chip and from set per chip)
  std::string fidelity = "exact";
  bool double_precision = false;
  EvalSpec eval;
  std::vector<RunChip> chips;
  YAML::Node resolved;
};

// Every schema a run config reads besides the chip sections, for `cimlab describe`.
std::vector<const core::Schema*> run_schemas();

// Loads a run config with `--set` overrides (e.g. chips.rram.device.preset=pcm). Throws ConfigError
// listing every problem at once, then for a `layers:` rule that matches no weight layer of the model.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

// One line of accuracy.json. Accuracies are fractions in [0, 1].
struct AccuracyRow {
  std::string model, dataset, device, stage;  // stage: float | analog | hat | hat_wmc | hat_wmc_unknown_faults
  double mean = 0, std = 0, p5 = 0;
  double ratio_to_float = 0;        // mean / the float stage's accuracy (the original float model)
  double ci95_low = 0, ci95_high = 0;  // 95 % interval of the mean (nn::ChipStats: chips and test images)
  std::int64_t images = 0;          // test images
  std::int64_t chips = 0;           // chip instances; 0 for the float row (no chip: binomial interval only)
  double float_of_stage_model = 0;  // the stage's own model in float: the HAT weights for hat rows
  std::vector<double> per_chip;
};

struct RunResult {
  std::vector<AccuracyRow> rows;  // per chip in config order: float, analog, hat, hat_wmc[, hat_wmc_unknown_faults]
  nlohmann::json details;         // per chip and stage: the evaluation (budget, seconds), HAT metrics
  double seconds = 0;
};

// Exactly the keys of accuracy.json (no per_chip): model, dataset, device, stage, mean, std, p5,
// ratio_to_float, ci95 ([low, high]), images, chips, float_of_stage_model.
nlohmann::json to_json(const AccuracyRow& row);

struct RunOptions {
  bool progress = true;
  bool resume = false;
  spdlog::logger* log = nullptr;
  std::function<void(const AccuracyRow&)> on_row;  // after each row is known (printing)
};

// Runs every stage into `out_dir` (which must exist). Throws as train() and evaluate_chips() do.
RunResult run_accuracy(const RunConfig& cfg, const std::string& out_dir, const RunOptions& options = {});

// The rows as a fixed-width text table (what `cimlab run` prints).
std::string accuracy_table(const std::vector<AccuracyRow>& rows);

}  // namespace cimlab::nn
