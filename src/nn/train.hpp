#pragma once
// Float training of a zoo or ONNX model on a dataset (`cimlab train`): SGD with momentum, Adam or AdamW, a
// per-step learning-rate schedule (constant, cosine, step), weight decay, label smoothing; evaluation
// on the validation split (carved from the training split, nn/data.hpp) after every epoch; the test
// split scored once, after the last epoch; a checkpoint written atomically after every epoch; exact resume.
//
// This header is free of LibTorch types so that the CLI can use it; the work happens in train.cpp.
//
// Determinism: torch::manual_seed(seed) before the model is built; the shuffle order of epoch e is
// drawn from its own generator seeded from (seed, e); the checkpoint holds the model (parameters and
// BN statistics), the optimizer state, the epoch count, torch's CPU generator state and the metrics
// history. With the same thread count, an interrupted run resumed from its checkpoint ends with the
// same weights, bit for bit, as an uninterrupted one (tested with 1 thread).
//
// Checkpoint (torch::serialize archive): "format" = "cimlab-train-checkpoint-1", "model_name",
// "dataset", "optimizer_name", "epoch" (epochs completed), "model" and "optimizer" (nested archives),
// "rng" (uint8 tensor), "history" (JSON text of the per-epoch metrics).
//
// Thread-safety: train() sets torch's global thread count and seed: one training per process at a time.
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "xbar/chip_config.hpp"

namespace cimlab::nn {

// The network of a config's model section: a zoo model by name (nn/models.hpp) or an ONNX file run by
// nn::GraphModel (model: {onnx: path}). build_model (nn/graph_model.hpp) makes either.
struct ModelSource {
  ModelSource(std::string zoo_name = "lenet5") : name(std::move(zoo_name)) {}  // NOLINT: a zoo name converts
  ModelSource(const char* zoo_name) : name(zoo_name) {}                         // NOLINT
  // An ONNX model: name "onnx:<file name>".
  static ModelSource onnx_file(const std::string& path);
  bool is_onnx() const { return !onnx.empty(); }

  std::string name;  // zoo name, or "onnx:<file name>": what checkpoints, metrics and result rows record
  std::string onnx;  // the ONNX file (resolved against the config's folder); empty for a zoo model
};

struct DatasetSpec {
  std::string name = "mnist";  // mnist | fashion_mnist
  std::string data_dir;        // empty = default_data_dir()
  std::int64_t train_limit = 0;  // images kept of each split (stratified prefix); 0 = all
  std::int64_t test_limit = 0;
  std::int64_t validation = 1000;  // images carved from the training split (seeded, stratified); 0 = none
};

struct TrainingSpec {
  int epochs = 10;
  std::int64_t batch_size = 64;   // images per step; the last incomplete batch of an epoch is dropped
  std::string optimizer = "sgd";  // sgd | adam | adamw
  double learning_rate = 0.05;    // peak rate
  double momentum = 0.9;          // sgd only
  double weight_decay = 5e-4;     // L2 (sgd, adam) or decoupled (adamw)
  std::string schedule = "cosine";  // constant | cosine (per step, to 0 at the end) | step
  int step_epochs = 10;             // step: rate multiplied by step_gamma every step_epochs epochs
  double step_gamma = 0.1;
  double label_smoothing = 0.0;     // in [0, 1)
};

// Hardware-aware fine-tuning (the `hat:` section): the model's weight layers become analog layers of
// the configured chip (fast fidelity) and every training step draws the cheap non-ideality classes
// afresh (nn::HatNoise: quantisation, programming variation, read noise, stuck cells; the inputs see
// input quantisation and the cell I-V), restricted to the chip's effects. IR drop and drift are left
// to evaluation (and to weight-mapping correction). Each layer has its own chip under the chip's
// `layers:` rules; a `digital` layer stays float and draws nothing.
//
// Start: the float checkpoint `from` (same model and dataset); input ranges are calibrated on its
// activations over the first calibration_images training images. Progressive (the CoMN schedule,
// layer by layer from the input side): at epoch e of E, the first ceil(L (e + 1) / E) of the L analog
// layers draw the non-idealities, the rest stay float. The draws of epoch e in layer i come from their
// own seed (seed, e, i), so a resume at an epoch boundary is exact. Per-epoch validation accuracy is
// that of one chip instance (seed) with the HAT classes, fast fidelity. The calibration images are
// nn::calibration_batches(training split, calibration_images, seed), as evaluation draws them. An ONNX
// model may start from its own weights (no `from`).
struct HatSpec {
  bool enabled = false;
  std::string from;                 // float checkpoint; empty: an ONNX model's weights as imported
  xbar::EffectSet classes;          // quantisation, programming, read_noise, faults, nonlinearity
  bool progressive = false;
  std::int64_t calibration_images = 256;
  xbar::ChipConfig chip;            // the chip sections of the config
};

struct TrainSpec {
  std::uint64_t seed = 1;
  int threads = 0;  // torch intra-op threads; 0 = every core
  DatasetSpec dataset;
  ModelSource model;
  TrainingSpec training;
  HatSpec hat;
};

// A validated config: the spec and the resolved YAML (defaults filled in) for the run folder.
struct TrainConfig {
  TrainSpec spec;
  YAML::Node resolved;
};

// Every schema a train config reads (sections run, dataset, model, training, hat and, with hat, the
// chip sections of xbar/chip_config.hpp), for `cimlab describe`.
std::vector<const core::Schema*> train_schemas();

// Specs from validated sections (train_schemas()' "dataset", "training" and "hat"), for configs that
// embed training (cimlab run). set_hat_options sets classes, progressive and calibration_images.
DatasetSpec make_dataset_spec(const core::Params& dataset);
TrainingSpec make_training_spec(const core::Params& training);
void set_hat_options(const core::Params& hat, HatSpec& spec);

// The model section's source from its validated values (train_schemas()' "model", or eval's): `name`
// or `onnx`, not both, and the ONNX file must exist (diagnostics at `section` otherwise). For an ONNX
// model the zoo default `name` is dropped from `resolved` (the section's resolved YAML).
ModelSource make_model_source(const YAML::Node& section, const core::Origin& origin, const core::Params& model,
                              core::Diagnostics& diags, YAML::Node resolved);

// Torch intra-op threads for a `threads` setting: the value itself, or every core for 0.
int thread_count(int requested);

// Loads a train config with `--set` overrides. Throws ConfigError listing every problem at once, then
// (with hat) for a `layers:` rule that matches no weight layer of the model.
TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides);

struct EpochMetrics {
  int epoch = 0;                // 1-based
  double learning_rate = 0.0;   // at the epoch's first step
  double train_loss = 0.0;      // mean cross-entropy over the epoch's batches (with label smoothing)
  double train_accuracy = 0.0;  // fraction in [0, 1], on the training batches as they were trained
  double validation_accuracy = 0.0;  // fraction in [0, 1], on the validation split after the epoch (0: none)
  double seconds = 0.0;         // wall time of the epoch's training steps (evaluation excluded)
};

struct TrainResult {
  std::string model, dataset;
  std::int64_t parameters = 0;
  std::int64_t train_images = 0, validation_images = 0, test_images = 0;
  int threads = 0;
  int resumed_from_epoch = 0;       // epochs the checkpoint held when resuming; 0 = fresh run
  bool hat = false;                 // hardware-aware fine-tuning (accuracies: one analog chip)
  double start_accuracy = 0.0;      // hat: validation accuracy of the `from` weights on that chip before training
  std::vector<EpochMetrics> epochs;  // every epoch so far, including those before a resume
  double validation_accuracy = 0.0;  // after the last epoch (0 without a validation split)
  bool test_scored = false;          // TrainOptions::score_test
  double test_accuracy = 0.0;        // after the last epoch, when test_scored
};

nlohmann::json to_json(const EpochMetrics& m);
nlohmann::json to_json(const TrainResult& r);

struct TrainOptions {
  std::string checkpoint;  // written after every epoch; empty = none
  bool resume = false;     // continue from `checkpoint`
  bool progress = true;    // a core::Progress bar per epoch (drawn only on a terminal)
  spdlog::logger* log = nullptr;                     // per-epoch lines; may be null
  std::function<bool(const EpochMetrics&)> on_epoch;  // after each epoch's checkpoint; false = stop here
  // An ONNX model: the trained weights written back into its graph and exported here (graph::export_onnx)
  // after the last epoch; empty = not written.
  std::string onnx_out;
  // Score the test split once after the last epoch (TrainResult::test_accuracy). cimlab run leaves it to
  // its evaluation of the stage, so that each stage looks at the test split once.
  bool score_test = true;
};

// Trains spec.model on spec.dataset for the epochs not yet done (an ONNX model starts from its imported
// weights). Throws ConfigError / InputError (dataset, checkpoint, ONNX file), ModelError (a model that
// cannot take the dataset's images), NumericalError when a loss is not finite (at the step it happens).
TrainResult train(const TrainSpec& spec, const TrainOptions& options = {});

struct CheckpointInfo {
  std::string model, dataset, optimizer;
  int epoch = 0;  // epochs completed
};

// Reads a checkpoint's header. Throws InputError when the file is missing or not a readable checkpoint.
CheckpointInfo read_checkpoint_info(const std::string& path);

}  // namespace cimlab::nn
