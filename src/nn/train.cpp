#include "nn/train.hpp"

#include "nn/analog.hpp"
#include "nn/checkpoint.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <thread>

#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "graph/onnx.hpp"
#include "nn/data.hpp"
#include "nn/graph_model.hpp"
#include "nn/models.hpp"

namespace cimlab::nn {

using core::Dim;
using core::ParamSpec;

namespace {

constexpr const char* kCheckpointFormat = "cimlab-train-checkpoint-1";
constexpr std::uint64_t kShuffleStream = 0x5348554646;  // core::Rng stream of the epoch shuffles ("SHUFF")
constexpr std::uint64_t kHatStream = 0x484154;          // core::Rng stream of the HAT draws ("HAT")
constexpr std::int64_t kEvalBatch = 500;                  // images per evaluation forward pass

const core::Schema& run_schema() {
  static const core::Schema s{
      "train", "top-level settings of a training run",
      {ParamSpec::integer("seed", "1", "seed of the weight initialisation and the shuffles").at_least(0),
       ParamSpec::integer("threads", "0", "torch intra-op threads; 0 = every core").at_least(0).at_most(1024)}};
  return s;
}

const core::Schema& dataset_schema() {
  static const core::Schema s{
      "dataset", "the images trained and tested on (prepared by scripts/bootstrap)",
      {ParamSpec::choice("name", dataset_names(), "mnist", "mnist (8,000 / 2,000 stratified) or fashion_mnist (60,000 / 10,000)"),
       ParamSpec::path("data_dir", "folder holding mnist/ and fashion-mnist/; unset = $CIMLAB_DATA_DIR or data/"),
       ParamSpec::integer("train_limit", "0", "training images kept (stratified prefix); 0 = all").at_least(0),
       ParamSpec::integer("test_limit", "0", "test images kept (stratified prefix); 0 = all").at_least(0),
       ParamSpec::integer("validation", "1000",
                          "validation images carved from the training split (seeded, stratified random sample, "
                          "before train_limit), scored after every epoch; 0 = none")
           .at_least(0)}};
  return s;
}

const core::Schema& model_schema() {
  static const core::Schema s{
      "model", "the network: a built-in zoo model, or an imported ONNX file",
      {ParamSpec::choice("name", model_names(), "lenet5", "zoo model"),
       ParamSpec::path("onnx", "ONNX model file (relative to the config file), instead of name; N x 1 x 28 x 28 "
                               "inputs, class logits out")}};
  return s;
}

const core::Schema& training_schema() {
  static const core::Schema s{
      "training", "float training: optimizer, learning-rate schedule, regularisation",
      {ParamSpec::integer("epochs", "10", "passes over the training split").at_least(1).at_most(100000),
       ParamSpec::integer("batch_size", "64", "images per step").at_least(1).at_most(65536),
       ParamSpec::choice("optimizer", {"sgd", "adam", "adamw"}, "sgd", "sgd (with momentum), adam, or adamw"),
       ParamSpec::real("learning_rate", Dim::kNone, "0.05", "peak learning rate").above(0).at_most(10),
       ParamSpec::real("momentum", Dim::kNone, "0.9", "sgd momentum").at_least(0).below(1),
       ParamSpec::real("weight_decay", Dim::kNone, "5e-4", "L2 (sgd, adam) or decoupled (adamw) decay").at_least(0),
       ParamSpec::choice("schedule", {"constant", "cosine", "step"}, "cosine",
                         "constant, cosine (per step, to 0 at the end) or step"),
       ParamSpec::integer("step_epochs", "10", "step schedule: epochs between rate cuts").at_least(1),
       ParamSpec::real("step_gamma", Dim::kNone, "0.1", "step schedule: factor of each cut").above(0).at_most(1),
       ParamSpec::real("label_smoothing", Dim::kNone, "0", "label smoothing of the cross-entropy").at_least(0).below(1)}};
  return s;
}

const core::Schema& hat_schema() {
  static const core::Schema s{
      "hat", "hardware-aware fine-tuning of a float checkpoint on the chip of the chip sections",
      {ParamSpec::path("from", "float training checkpoint to start from (relative to the config file)"),
       ParamSpec::boolean("quantisation", "true", "draw weight and input quantisation"),
       ParamSpec::boolean("programming", "true", "draw programming variation (fluctuation)"),
       ParamSpec::boolean("read_noise", "true", "draw read noise (fluctuation)"),
       ParamSpec::boolean("faults", "true", "draw stuck-at-ON/OFF cells (defects)"),
       ParamSpec::boolean("nonlinearity", "true", "apply the cell I-V to the inputs"),
       ParamSpec::boolean("progressive", "false", "CoMN layer-wise schedule: layers join one by one over the epochs"),
       ParamSpec::integer("calibration_images", "256", "training images that calibrate the input ranges").at_least(1)}};
  return s;
}

TrainSpec make_spec(const core::Params& run, const core::Params& data, const core::Params& t) {
  TrainSpec s;
  s.seed = static_cast<std::uint64_t>(run.integer("seed"));
  s.threads = static_cast<int>(run.integer("threads"));
  s.dataset = make_dataset_spec(data);
  s.training = make_training_spec(t);
  return s;
}

}  // namespace

ModelSource ModelSource::onnx_file(const std::string& path) {
  ModelSource m("onnx:" + std::filesystem::path(path).filename().string());
  m.onnx = path;
  return m;
}

ModelSource make_model_source(const YAML::Node& section, const core::Origin& origin, const core::Params& model,
                              core::Diagnostics& diags, YAML::Node resolved) {
  if (!model.has("onnx")) return ModelSource(model.str("name"));
  if (section && section.IsMap() && section["name"])
    diags.add(core::at(section["name"], origin,
                       "'model.name' and 'model.onnx' exclude each other: name a zoo model or an ONNX file"));
  if (resolved && resolved.IsMap()) resolved.remove("name");
  const std::string& path = model.str("onnx");
  if (!std::filesystem::is_regular_file(path))
    diags.add(core::at(section["onnx"], origin, fmt::format("model.onnx: {} not found", path)));
  return ModelSource::onnx_file(path);
}

DatasetSpec make_dataset_spec(const core::Params& data) {
  return {data.str("name"), data.has("data_dir") ? data.str("data_dir") : "", data.integer("train_limit"),
          data.integer("test_limit"), data.integer("validation")};
}

TrainingSpec make_training_spec(const core::Params& t) {
  return {static_cast<int>(t.integer("epochs")), t.integer("batch_size"), t.str("optimizer"),
          t.real("learning_rate"), t.real("momentum"), t.real("weight_decay"), t.str("schedule"),
          static_cast<int>(t.integer("step_epochs")), t.real("step_gamma"), t.real("label_smoothing")};
}

void set_hat_options(const core::Params& hat, HatSpec& h) {
  h.classes = xbar::EffectSet::none();
  for (const auto effect : {xbar::Effect::kQuantisation, xbar::Effect::kProgramming, xbar::Effect::kReadNoise,
                            xbar::Effect::kFaults, xbar::Effect::kNonlinearity})
    h.classes.set(effect, hat.boolean(std::string(xbar::effect_name(effect))));
  h.progressive = hat.boolean("progressive");
  h.calibration_images = hat.integer("calibration_images");
}

std::vector<const core::Schema*> train_schemas() {
  std::vector<const core::Schema*> out{&run_schema(), &dataset_schema(), &model_schema(), &training_schema(),
                                       &hat_schema()};
  for (const auto* c : xbar::chip_schemas()) out.push_back(c);
  return out;
}

namespace {

// The `hat:` section and the chip sections (only with `hat:`).
void load_hat(const core::ConfigFile& cfg, TrainConfig& out, core::Diagnostics& diags) {
  if (!cfg.root["hat"]) {
    for (const auto& name : xbar::chip_section_names())
      if (cfg.root[name])
        diags.add(core::at(cfg.root[name], cfg.origin,
                           fmt::format("section '{}' describes a chip for hardware-aware training: add a 'hat:' "
                                       "section (with hat.from: a float checkpoint) or remove it",
                                       name)));
    return;
  }
  const core::Params hat = core::validate_section(cfg, "hat", hat_schema(), diags, out.resolved);
  HatSpec& h = out.spec.hat;
  h.chip = xbar::load_chip(cfg.root, cfg.origin, "", diags, out.resolved);
  if (!hat.has("from") && !out.spec.model.is_onnx()) {
    diags.add(core::at(cfg.root["hat"], cfg.origin, "'hat.from' is missing: name the float checkpoint to fine-tune"));
    return;
  }
  h.enabled = true;
  h.from = hat.has("from") ? hat.str("from") : "";
  set_hat_options(hat, h);
}

}  // namespace

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  core::ConfigFile cfg = core::load_config(path);
  core::Diagnostics diags;
  core::apply_overrides(cfg, overrides, diags);
  std::vector<std::string> known{"seed", "threads", "dataset", "model", "training", "hat"};
  for (const auto& name : xbar::chip_section_names()) known.push_back(name);
  core::check_sections(cfg, known, diags);
  TrainConfig out;
  out.resolved = YAML::Node(YAML::NodeType::Map);
  const core::Params run = core::validate_top(cfg, {"seed", "threads"}, run_schema(), diags);
  const core::Params data = core::validate_section(cfg, "dataset", dataset_schema(), diags, out.resolved);
  const core::Params model = core::validate_section(cfg, "model", model_schema(), diags, out.resolved);
  const core::Params training = core::validate_section(cfg, "training", training_schema(), diags, out.resolved);
  diags.throw_if_any();
  out.spec = make_spec(run, data, training);
  out.spec.model = make_model_source(cfg.root["model"], cfg.origin, model, diags, out.resolved["model"]);
  load_hat(cfg, out, diags);
  diags.throw_if_any();
  if (out.spec.hat.enabled) check_layer_rules(out.spec.hat.chip, out.spec.model);
  out.resolved["seed"] = out.spec.seed;
  out.resolved["threads"] = out.spec.threads;
  return out;
}

nlohmann::json to_json(const EpochMetrics& m) {
  return {{"epoch", m.epoch},           {"learning_rate", m.learning_rate}, {"train_loss", m.train_loss},
          {"train_accuracy", m.train_accuracy}, {"validation_accuracy", m.validation_accuracy},
          {"seconds", m.seconds}};
}

nlohmann::json to_json(const TrainResult& r) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& m : r.epochs) epochs.push_back(to_json(m));
  return {{"model", r.model},
          {"dataset", r.dataset},
          {"parameters", r.parameters},
          {"train_images", r.train_images},
          {"validation_images", r.validation_images},
          {"test_images", r.test_images},
          {"threads", r.threads},
          {"resumed_from_epoch", r.resumed_from_epoch},
          {"hat", r.hat},
          {"start_accuracy", r.start_accuracy},
          {"epochs", epochs},
          {"validation_accuracy", r.validation_accuracy},
          {"test_accuracy", r.test_scored ? nlohmann::json(r.test_accuracy) : nlohmann::json(nullptr)}};
}

namespace {

EpochMetrics epoch_from_json(const nlohmann::json& j) {
  return {j.at("epoch").get<int>(),          j.at("learning_rate").get<double>(), j.at("train_loss").get<double>(),
          j.at("train_accuracy").get<double>(), j.value("validation_accuracy", 0.0), j.at("seconds").get<double>()};
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainingSpec& t, const std::vector<torch::Tensor>& params) {
  if (t.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(t.learning_rate).momentum(t.momentum).weight_decay(t.weight_decay));
  if (t.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(params,
                                                torch::optim::AdamOptions(t.learning_rate).weight_decay(t.weight_decay));
  if (t.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(t.learning_rate).weight_decay(t.weight_decay));
  throw core::ModelError(fmt::format("unknown optimizer '{}' (sgd, adam, adamw)", t.optimizer));
}

// The learning rate at `step` (0-based, counted over the whole run) of `total_steps`.
double learning_rate(const TrainingSpec& t, std::int64_t step, std::int64_t steps_per_epoch) {
  const std::int64_t total = static_cast<std::int64_t>(t.epochs) * steps_per_epoch;
  if (t.schedule == "cosine")
    return t.learning_rate * 0.5 * (1.0 + std::cos(std::numbers::pi * static_cast<double>(step) / total));
  if (t.schedule == "step")
    return t.learning_rate * std::pow(t.step_gamma, static_cast<double>(step / steps_per_epoch / t.step_epochs));
  return t.learning_rate;
}

// Everything a training run holds between epochs.
struct Session {
  const TrainSpec& spec;
  DatasetSplit data;
  torch::nn::AnyModule net;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<EpochMetrics> history;
  std::int64_t batch = 0;  // images per step
  std::int64_t steps_per_epoch = 0;
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

[[noreturn]] void bad_checkpoint(const std::string& path, const std::string& why) {
  throw core::InputError(fmt::format("{}: not a usable cimlab training checkpoint ({}); remove it to start over, "
                                     "or resume from the run folder that wrote it",
                                     path, why));
}

c10::IValue read_value(torch::serialize::InputArchive& ar, const std::string& key) {
  c10::IValue v;
  ar.read(key, v);
  return v;
}

void save_checkpoint(const Session& s, int epoch, const std::string& path) {
  torch::serialize::OutputArchive ar, model_ar, optimizer_ar;
  ar.write("format", c10::IValue(std::string(kCheckpointFormat)));
  ar.write("model_name", c10::IValue(s.spec.model.name));
  ar.write("dataset", c10::IValue(s.spec.dataset.name));
  ar.write("optimizer_name", c10::IValue(s.spec.training.optimizer));
  ar.write("epoch", c10::IValue(static_cast<std::int64_t>(epoch)));
  s.net.ptr()->save(model_ar);
  ar.write("model", model_ar);
  s.optimizer->save(optimizer_ar);
  ar.write("optimizer", optimizer_ar);
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    ar.write("rng", gen.get_state());
  }
  nlohmann::json history = nlohmann::json::array();
  for (const auto& m : s.history) history.push_back(to_json(m));
  ar.write("history", c10::IValue(history.dump()));
  const std::string tmp = path + ".tmp";
  ar.save_to(tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw core::InputError(fmt::format("{}: cannot rename checkpoint into place: {}", path, ec.message()));
}

CheckpointInfo read_info(torch::serialize::InputArchive& ar) {
  if (read_value(ar, "format").toStringRef() != kCheckpointFormat) throw std::runtime_error("unknown format");
  CheckpointInfo info;
  info.model = read_value(ar, "model_name").toStringRef();
  info.dataset = read_value(ar, "dataset").toStringRef();
  info.optimizer = read_value(ar, "optimizer_name").toStringRef();
  info.epoch = static_cast<int>(read_value(ar, "epoch").toInt());
  return info;
}

torch::serialize::InputArchive open_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path))
    throw core::InputError(fmt::format("{}: checkpoint not found", path));
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path);
  } catch (const std::exception& e) {
    bad_checkpoint(path, first_line(e.what()));
  }
  return ar;
}

// Restores model, optimizer, generator and history; returns the epochs completed.
int load_checkpoint(Session& s, const std::string& path) {
  torch::serialize::InputArchive ar = open_checkpoint(path);
  try {
    const CheckpointInfo info = read_info(ar);
    if (info.model != s.spec.model.name || info.dataset != s.spec.dataset.name ||
        info.optimizer != s.spec.training.optimizer)
      throw core::InputError(fmt::format("{}: checkpoint of {} on {} with {}, but the config asks for {} on {} with {}",
                                         path, info.model, info.dataset, info.optimizer, s.spec.model.name,
                                         s.spec.dataset.name, s.spec.training.optimizer));
    torch::serialize::InputArchive model_ar, optimizer_ar;
    ar.read("model", model_ar);
    s.net.ptr()->load(model_ar);
    ar.read("optimizer", optimizer_ar);
    s.optimizer->load(optimizer_ar);
    torch::Tensor rng;
    ar.read("rng", rng);
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
    s.history.clear();
    for (const auto& j : nlohmann::json::parse(read_value(ar, "history").toStringRef())) s.history.push_back(epoch_from_json(j));
    return info.epoch;
  } catch (const core::Error&) {
    throw;
  } catch (const std::exception& e) {
    bad_checkpoint(path, first_line(e.what()));
  }
}

double evaluate(torch::nn::AnyModule& net, const Dataset& d) {
  torch::NoGradGuard no_grad;
  net.ptr()->eval();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < d.size(); i += kEvalBatch) {
    const std::int64_t end = std::min(d.size(), i + kEvalBatch);
    const torch::Tensor logits = net.forward(d.images.slice(0, i, end));
    correct += logits.argmax(1).eq(d.labels.slice(0, i, end)).sum().item<std::int64_t>();
  }
  return d.size() ? static_cast<double>(correct) / static_cast<double>(d.size()) : 0.0;
}

}  // namespace

namespace {

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

// One pass over the training split in the order drawn for `epoch` (0-based).
EpochMetrics train_epoch(Session& s, int epoch, bool progress) {
  const TrainingSpec& t = s.spec.training;
  const Dataset& train = s.data.train;
  const auto start = std::chrono::steady_clock::now();
  const core::Rng shuffle = core::Rng(s.spec.seed).fork(kShuffleStream).fork(static_cast<std::uint64_t>(epoch));
  const torch::Tensor order =
      torch::randperm(train.size(), at::make_generator<at::CPUGeneratorImpl>(shuffle.seed()), torch::kInt64);
  const auto loss_options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(t.label_smoothing);
  core::Progress bar(fmt::format("epoch {}/{}", epoch + 1, t.epochs), progress ? s.steps_per_epoch : 0);
  EpochMetrics m;
  m.epoch = epoch + 1;
  m.learning_rate = learning_rate(t, static_cast<std::int64_t>(epoch) * s.steps_per_epoch, s.steps_per_epoch);
  s.net.ptr()->train();
  double loss_sum = 0.0;
  std::int64_t correct = 0;
  for (std::int64_t step = 0; step < s.steps_per_epoch; ++step) {
    const torch::Tensor idx = order.slice(0, step * s.batch, (step + 1) * s.batch);
    const torch::Tensor x = train.images.index_select(0, idx), y = train.labels.index_select(0, idx);
    set_learning_rate(*s.optimizer, learning_rate(t, epoch * s.steps_per_epoch + step, s.steps_per_epoch));
    s.optimizer->zero_grad();
    const torch::Tensor logits = s.net.forward(x);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y, loss_options);
    const double value = loss.item<double>();
    if (!std::isfinite(value))
      throw core::NumericalError(fmt::format("training loss is {} at epoch {}, step {} (learning rate {:g}); "
                                             "lower training.learning_rate",
                                             value, epoch + 1, step + 1, m.learning_rate));
    loss.backward();
    s.optimizer->step();
    loss_sum += value;
    correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
    if (progress) bar.advance();
  }
  bar.finish();
  m.train_loss = loss_sum / static_cast<double>(s.steps_per_epoch);
  m.train_accuracy = static_cast<double>(correct) / static_cast<double>(s.steps_per_epoch * s.batch);
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return m;
}

// The analog twin of the model for HAT: each layer's chip (its `layers:` rules applied; digital layers
// stay float), its effects restricted to the HAT classes, no correction, fast fidelity.
torch::nn::AnyModule make_net(const TrainSpec& spec) {
  if (!spec.hat.enabled) return build_model(spec.model);
  const LayerSpecs specs = LayerSpecs(spec.hat.chip, Fidelity::kFast, false)
                               .then(keep_effects(spec.hat.classes))
                               .then(use_correction(false));
  return build_model(spec.model, AnalogLayerFactory(specs));
}

// HAT start: the float weights of hat.from, one chip instance for the per-epoch validation, input and
// ADC ranges calibrated on the float activations. Returns that chip's validation accuracy before training.
double prepare_hat(Session& s) {
  const HatSpec& h = s.spec.hat;
  if (!h.from.empty()) {
    const CheckpointInfo info = load_model_checkpoint(h.from, *s.net.ptr());
    if (info.model != s.spec.model.name || info.dataset != s.spec.dataset.name)
      throw core::InputError(fmt::format("{}: hat.from is a checkpoint of {} on {}, but the config trains {} on {}",
                                         h.from, info.model, info.dataset, s.spec.model.name, s.spec.dataset.name));
  }
  program_all(*s.net.ptr(), s.spec.seed);
  calibrate_all(s.net, calibration_batches(s.data.train, h.calibration_images, s.spec.seed));
  for (AnalogCore* c : analog_cores(*s.net.ptr())) c->enable_hat(h.classes);
  return evaluate(s.net, s.data.validation);
}

// Which layers draw non-idealities in `epoch` (all, or the progressive schedule) and their seeds.
void schedule_hat(Session& s, int epoch) {
  const std::vector<AnalogCore*> cores = analog_cores(*s.net.ptr());
  const auto layers = static_cast<std::int64_t>(cores.size());
  const std::int64_t epochs = s.spec.training.epochs;
  const std::int64_t active = s.spec.hat.progressive ? (layers * (epoch + 1) + epochs - 1) / epochs : layers;
  const core::Rng root = core::Rng(s.spec.seed).fork(kHatStream).fork(static_cast<std::uint64_t>(epoch));
  for (std::int64_t i = 0; i < layers; ++i)
    cores[static_cast<std::size_t>(i)]->set_hat(i < active, root.fork(static_cast<std::uint64_t>(i + 1)).seed());
}

// An ONNX model's trained weights written back into its graph and exported.
void export_trained(torch::nn::Module& net, const std::string& path) {
  const auto* model = dynamic_cast<const GraphModelImpl*>(&net);
  if (model == nullptr) throw core::ModelError("export of trained weights: the model is not an imported graph");
  graph::Graph g = model->graph();
  model->write_back(g);
  graph::export_onnx(g, path);
}

}  // namespace

int thread_count(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

TrainResult train(const TrainSpec& spec, const TrainOptions& options) {
  TrainResult r;
  r.threads = thread_count(spec.threads);
  at::set_num_threads(r.threads);
  torch::manual_seed(spec.seed);
  const DatasetSpec& d = spec.dataset;
  Session s{spec, load_dataset(d.name, d.data_dir, d.train_limit, d.test_limit, d.validation, spec.seed),
            make_net(spec), nullptr, {}};
  r.hat = spec.hat.enabled;
  if (r.hat) r.start_accuracy = prepare_hat(s);  // before a resume: the calibration comes from hat.from
  s.optimizer = make_optimizer(spec.training, s.net.ptr()->parameters());
  s.batch = std::min(spec.training.batch_size, s.data.train.size());
  if (s.batch == 0) throw core::InputError(fmt::format("dataset '{}' has no training images", d.name));
  s.steps_per_epoch = s.data.train.size() / s.batch;
  if (options.resume) r.resumed_from_epoch = load_checkpoint(s, options.checkpoint);
  r.model = spec.model.name;
  r.dataset = d.name;
  r.parameters = count_parameters(*s.net.ptr());
  r.train_images = s.data.train.size();
  r.validation_images = s.data.validation.size();
  r.test_images = s.data.test.size();
  for (int epoch = r.resumed_from_epoch; epoch < spec.training.epochs; ++epoch) {
    if (r.hat) schedule_hat(s, epoch);
    EpochMetrics m = train_epoch(s, epoch, options.progress);
    m.validation_accuracy = evaluate(s.net, s.data.validation);
    s.history.push_back(m);
    if (!options.checkpoint.empty()) save_checkpoint(s, epoch + 1, options.checkpoint);
    if (options.log)
      options.log->info("epoch {}/{}: lr {:.4g}, loss {:.4f}, train accuracy {:.4f}, validation accuracy {:.4f} "
                        "({} images), {:.2f} s",
                        m.epoch, spec.training.epochs, m.learning_rate, m.train_loss, m.train_accuracy,
                        m.validation_accuracy, s.data.validation.size(), m.seconds);
    if (options.on_epoch && !options.on_epoch(m)) break;
  }
  r.epochs = s.history;
  r.validation_accuracy = s.history.empty() ? evaluate(s.net, s.data.validation) : s.history.back().validation_accuracy;
  r.test_scored = options.score_test;
  if (r.test_scored) r.test_accuracy = evaluate(s.net, s.data.test);
  if (spec.model.is_onnx() && !options.onnx_out.empty()) export_trained(*s.net.ptr(), options.onnx_out);
  return r;
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  torch::serialize::InputArchive ar = open_checkpoint(path);
  try {
    return read_info(ar);
  } catch (const std::exception& e) {
    bad_checkpoint(path, first_line(e.what()));
  }
}

CheckpointInfo load_model_checkpoint(const std::string& path, torch::nn::Module& model) {
  torch::serialize::InputArchive ar = open_checkpoint(path);
  try {
    const CheckpointInfo info = read_info(ar);
    torch::serialize::InputArchive model_ar;
    ar.read("model", model_ar);
    model.load(model_ar);
    return info;
  } catch (const core::Error&) {
    throw;
  } catch (const std::exception& e) {
    bad_checkpoint(path, first_line(e.what()));
  }
}

}  // namespace cimlab::nn
