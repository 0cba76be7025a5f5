#pragma once
// Monte-Carlo accuracy of a trained model over chip instances (`cimlab eval`, issue 3): the float
// accuracy, then the accuracy of `chips` analog chips, each a fresh draw of every random non-ideality
// (programming variation, faults, drift, read noise), and an error budget: each non-ideality class
// switched on alone, on the same chip draws (common random numbers), so that the classes' losses can
// be compared with each other and with all of them together.
//
// Chip i (0-based) is programmed with program_all(model, chip_seed(seed, i)); the same chip seeds serve
// every row of the budget. A chip's input and ADC ranges are calibrated on calibration_images images
// of the calibration set (the training split): nn::calibration_batches(calib, calibration_images, seed),
// a seeded class-stratified random sample, the same for every chip and row.
// The weight-mapping correction, when configured, pre-compensates IR drop: it is applied in the rows
// that simulate IR drop (IR drop alone, and all) and left out of the others, which would otherwise
// see a correction of a drop they do not have.
//
// This header is free of LibTorch types so that the CLI can use it: the functions that take tensors
// or modules name them by forward declaration; their callers include nn/analog.hpp and nn/data.hpp.
// Thread-safety: evaluate() and evaluate_chips() build their own models; evaluate() sets torch's
// global thread count: one evaluation per process at a time.
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "nn/train.hpp"
#include "xbar/chip_config.hpp"

namespace torch::nn {
class Module;
class AnyModule;
}  // namespace torch::nn

namespace cimlab::nn {

class LayerSpecs;  // nn/analog.hpp
struct Dataset;    // nn/data.hpp

struct EvalSpec {
  std::int64_t chips = 5;                 // Monte-Carlo chip instances
  std::int64_t calibration_images = 256;  // training images used to calibrate input and ADC ranges
  bool error_budget = true;               // also each effect class alone
  std::int64_t batch = 500;               // images per forward
};

// Accuracies (fractions in [0, 1]) of the chips of one configuration, each on the same `images` test
// images.
//
// ci95: a 95 % interval for the mean over chips, as an estimate of the mean accuracy over the population
// of chips and of test images, so that it accounts for both the chip-to-chip spread and the finite test
// set. Variance of the mean v = s^2 / k + m (1 - m) / n: s^2 / k is the between-chip variance of the mean
// (s the sample std of the k per-chip accuracies; 0 for one chip, whose interval covers the test set
// only), m (1 - m) / n the binomial sampling variance of an accuracy m on n images (an upper bound of
// the images' share, since every chip sees the same images). Student-t interval m +- t v^(1/2) with
// Welch-Satterthwaite degrees of freedom nu = v^2 (k - 1) / (s^2 / k)^2 (the binomial term counted as
// known; nu = infinity, the normal interval, when s = 0), clipped to [0, 1].
struct ChipStats {
  std::vector<double> per_chip;
  double mean = 0, std = 0, p5 = 0;  // std: sample std (0 for one chip); p5: 5th percentile (linear interpolation)
  std::int64_t images = 0;           // test images each chip was scored on (0: the binomial term is left out)
  double ci95_low = 0, ci95_high = 0;
};

struct BudgetRow {
  std::string effect;  // xbar::effect_name(e) for an effect alone, or "all"
  ChipStats stats;
};

struct EvalResult {
  double float_accuracy = 0;      // of the model evaluated, in float, on the test images
  std::int64_t images = 0;        // test images
  ChipStats analog;               // every configured effect on (correction applied when configured)
  std::vector<BudgetRow> budget;  // each effect on in the spec that the chip has (e.g. no drift row for a
                                  // device without drift), alone, in xbar::Effect order; then "all";
                                  // empty without error_budget
  double seconds = 0;             // wall time of the evaluation
};

// Statistics of per-chip accuracies (at least one), each on `images` test images. Pure.
ChipStats chip_stats(std::vector<double> per_chip, std::int64_t images = 0);

// The p-quantile (p in (0, 1)) of Student's t distribution with `dof` > 0 degrees of freedom (real;
// infinity = the standard normal): bisection on the CDF, itself from the regularised incomplete beta
// function (continued fraction, Numerical Recipes 6.4). Accurate to ~1e-9. Pure.
double student_t_quantile(double p, double dof);

// The seed chip `chip` (0-based) of a run seeded with `seed` is programmed with.
std::uint64_t chip_seed(std::uint64_t seed, std::int64_t chip);

// Float accuracy of `trained` (a float model of `model`'s architecture, e.g. loaded from a checkpoint),
// then chips x (budget rows) analog evaluations as described above, each weight layer on its own spec
// (`specs`; a budget row restricts every layer's effects, nn::keep_effects). A row of an effect alone is
// run when some analog layer has it on. Same seed -> same numbers (for a
// given torch thread count). `progress` draws a core::Progress bar (on a terminal only). Throws
// ModelError for an unknown model, chips < 1, batch < 1, calibration_images < 1 or an empty
// calibration set.
EvalResult evaluate_chips(const ModelSource& model, torch::nn::Module& trained, const LayerSpecs& specs,
                          const Dataset& calib, const Dataset& test, const EvalSpec& eval, std::uint64_t seed,
                          bool progress);

// Fraction of `test` classified correctly by `model` in eval mode, `batch` images per forward.
double float_accuracy(torch::nn::AnyModule& model, const Dataset& test, std::int64_t batch);

nlohmann::json to_json(const ChipStats& s);
// float_accuracy, analog (with ratio_to_float), budget (each row with drop = float - mean), seconds.
nlohmann::json to_json(const EvalResult& r);

// A validated `cimlab eval` config: run settings, dataset, model and checkpoint, the analog settings
// and the chip sections (xbar::load_chip at the top level).
struct EvalConfig {
  std::uint64_t seed = 1;
  int threads = 0;  // torch intra-op threads; 0 = every core
  DatasetSpec dataset;
  ModelSource model;
  std::string checkpoint;         // resolved against the config file's folder; empty: an ONNX model's own weights
  std::string fidelity = "exact";  // fast | exact (nn/analog.hpp)
  bool double_precision = false;
  EvalSpec eval;
  xbar::ChipConfig chip;
  YAML::Node resolved;  // every section with its defaults filled in, for the run folder
};

// Every schema an eval config reads besides the chip sections (xbar::chip_schemas()), for describe.
std::vector<const core::Schema*> eval_schemas();

// Loads an eval config with `--set` overrides. Throws ConfigError listing every problem at once (a zoo
// model needs model.checkpoint; an ONNX model may have one, else its weights are the file's), then
// ConfigError for a `layers:` rule that matches no weight layer of the model (xbar::check_layer_rules),
// then InputError when the checkpoint is missing, unreadable, or of another model or dataset than the
// config names.
EvalConfig load_eval_config(const std::string& path, const std::vector<std::string>& overrides);

struct EvalOptions {
  bool progress = true;           // a core::Progress bar (drawn only on a terminal)
  spdlog::logger* log = nullptr;  // one line per budget row; may be null
};

// Loads the dataset and the checkpoint of `cfg` and runs evaluate_chips on the training split
// (calibration) and the test split. Throws as load_dataset, load_model_checkpoint and evaluate_chips.
EvalResult evaluate(const EvalConfig& cfg, const EvalOptions& options = {});

}  // namespace cimlab::nn
