// Monte-Carlo accuracy over chip instances with an error budget, and the `cimlab eval` config (see
// nn/evaluate.hpp).
#include "nn/evaluate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numbers>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>

#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "nn/analog.hpp"
#include "nn/checkpoint.hpp"
#include "nn/data.hpp"
#include "nn/graph_model.hpp"
#include "nn/models.hpp"

namespace cimlab::nn {

using core::ParamSpec;

namespace {

// One row of the budget: a name and the effects it leaves on (in every layer's spec).
struct BudgetCase {
  std::string effect;
  xbar::EffectSet effects;
};

// Whether effect e changes anything on this chip (a budget row of an effect the device does not
// have, e.g. drift on NOR Flash, would only repeat the float accuracy at the cost of a full run).
bool has_effect(const AnalogSpec& spec, xbar::Effect e) {
  const device::DeviceSpec& d = spec.array.device;
  auto varies = [](const device::VariationSpec& v) { return v.model != device::VariationModel::kNone && v.sigma > 0; };
  switch (e) {
    case xbar::Effect::kProgramming: return varies(d.programming);
    case xbar::Effect::kReadNoise: return varies(d.read_noise);
    case xbar::Effect::kDrift: return d.drift.active();
    case xbar::Effect::kFaults: return d.faults.active();
    case xbar::Effect::kNonlinearity: return !d.iv.linear() || !spec.array.adc.inl.empty();
    case xbar::Effect::kIrDrop: return !spec.array.circuit.ideal();
    default: return true;
  }
}

// The budget's rows: each effect that some analog layer has on and that changes anything there, then all.
std::vector<BudgetCase> budget_cases(const std::vector<AnalogSpec>& layers, bool error_budget) {
  std::vector<BudgetCase> cases;
  if (error_budget)
    for (int i = 0; i < xbar::kEffectCount; ++i) {
      const auto e = static_cast<xbar::Effect>(i);
      auto changes = [e](const AnalogSpec& s) { return s.effects.has(e) && has_effect(s, e); };
      if (std::any_of(layers.begin(), layers.end(), changes))
        cases.push_back({std::string(xbar::effect_name(e)), xbar::EffectSet::only(e)});
    }
  cases.push_back({"all", xbar::EffectSet::all()});
  return cases;
}

// The specs of the model's analog layers (digital layers have none).
std::vector<AnalogSpec> analog_layer_specs(const ModelSource& model, const LayerSpecs& specs) {
  std::vector<AnalogSpec> out;
  for (const std::string& name : crossbar_layer_names(model))
    if (std::optional<AnalogSpec> s = specs.layer(name)) out.push_back(std::move(*s));
  return out;
}

// One chip instance of `specs` carrying the weights of `trained`, calibrated, scored on `test`.
double chip_accuracy(const ModelSource& model, torch::nn::Module& trained, const LayerSpecs& specs,
                     const std::vector<torch::Tensor>& calibration, const Dataset& test, std::int64_t batch,
                     std::uint64_t seed) {
  torch::nn::AnyModule analog = build_model(model, AnalogLayerFactory(specs));
  copy_weights(trained, *analog.ptr());
  analog.ptr()->eval();
  program_all(*analog.ptr(), seed);
  calibrate_all(analog, calibration);
  return float_accuracy(analog, test, batch);
}

void check_eval_spec(const EvalSpec& eval, const Dataset& calib) {
  if (eval.chips < 1 || eval.batch < 1 || eval.calibration_images < 1)
    throw core::ModelError(fmt::format("evaluate_chips: chips ({}), batch ({}) and calibration_images ({}) must be >= 1",
                                       eval.chips, eval.batch, eval.calibration_images));
  if (calib.size() == 0) throw core::ModelError("evaluate_chips: the calibration set has no images");
}

}  // namespace

namespace {

// Regularised incomplete beta I_x(a, b) (Numerical Recipes 6.4: continued fraction by Lentz's method).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  if (x > (a + 1.0) / (a + b + 2.0)) return 1.0 - incomplete_beta(b, a, 1.0 - x);
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                                b * std::log1p(-x)) / a;
  constexpr double kTiny = 1e-300;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  d = 1.0 / (std::abs(d) < kTiny ? kTiny : d);
  double f = d;
  for (int m = 1; m <= 500; ++m) {
    for (const double num : {m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
                             -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))}) {
      d = 1.0 + num * d;
      d = 1.0 / (std::abs(d) < kTiny ? kTiny : d);
      c = 1.0 + num / c;
      if (std::abs(c) < kTiny) c = kTiny;
      f *= c * d;
    }
    if (std::abs(c * d - 1.0) < 1e-15) break;
  }
  return front * f;
}

// Student's t CDF at t >= 0 with dof degrees of freedom.
double student_t_cdf(double t, double dof) {
  if (std::isinf(dof)) return 0.5 * std::erfc(-t / std::numbers::sqrt2);
  return 1.0 - 0.5 * incomplete_beta(0.5 * dof, 0.5, dof / (dof + t * t));
}

}  // namespace

double student_t_quantile(double p, double dof) {
  if (!(p > 0.0 && p < 1.0) || !(dof > 0.0)) throw core::ModelError(fmt::format("student_t_quantile({}, {})", p, dof));
  if (p < 0.5) return -student_t_quantile(1.0 - p, dof);
  double lo = 0.0, hi = 1.0;
  while (student_t_cdf(hi, dof) < p) hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, dof) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

ChipStats chip_stats(std::vector<double> per_chip, std::int64_t images) {
  if (per_chip.empty()) throw core::ModelError("chip_stats: no chips");
  ChipStats s;
  const double n = static_cast<double>(per_chip.size());
  s.mean = std::accumulate(per_chip.begin(), per_chip.end(), 0.0) / n;
  double ss = 0.0;
  for (double a : per_chip) ss += (a - s.mean) * (a - s.mean);
  s.std = per_chip.size() > 1 ? std::sqrt(ss / (n - 1.0)) : 0.0;
  std::vector<double> sorted = per_chip;
  std::sort(sorted.begin(), sorted.end());
  const double pos = 0.05 * (n - 1.0);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  s.p5 = sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
  // The interval of nn/evaluate.hpp's ChipStats: between-chip variance of the mean plus binomial
  // sampling variance of the images, Student-t with Welch-Satterthwaite degrees of freedom.
  s.images = images;
  const double chip_var = s.std * s.std / n;
  const double image_var = images > 0 ? s.mean * (1.0 - s.mean) / static_cast<double>(images) : 0.0;
  const double var = chip_var + image_var;
  const double dof = chip_var > 0.0 ? var * var * (n - 1.0) / (chip_var * chip_var) : std::numeric_limits<double>::infinity();
  const double half = var > 0.0 ? student_t_quantile(0.975, dof) * std::sqrt(var) : 0.0;
  s.ci95_low = std::max(0.0, s.mean - half);
  s.ci95_high = std::min(1.0, s.mean + half);
  s.per_chip = std::move(per_chip);
  return s;
}

std::uint64_t chip_seed(std::uint64_t seed, std::int64_t chip) {
  return core::Rng(seed).fork(static_cast<std::uint64_t>(chip) + 1).seed();
}

double float_accuracy(torch::nn::AnyModule& model, const Dataset& test, std::int64_t batch) {
  torch::NoGradGuard no_grad;
  model.ptr()->eval();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < test.size(); i += batch) {
    const std::int64_t end = std::min(test.size(), i + batch);
    const torch::Tensor logits = model.forward(test.images.slice(0, i, end));
    correct += logits.argmax(1).eq(test.labels.slice(0, i, end)).sum().item<std::int64_t>();
  }
  return test.size() ? static_cast<double>(correct) / static_cast<double>(test.size()) : 0.0;
}

EvalResult evaluate_chips(const ModelSource& model, torch::nn::Module& trained, const LayerSpecs& specs,
                          const Dataset& calib, const Dataset& test, const EvalSpec& eval, std::uint64_t seed,
                          bool progress) {
  const auto start = std::chrono::steady_clock::now();
  check_eval_spec(eval, calib);
  torch::NoGradGuard no_grad;
  EvalResult r;
  torch::nn::AnyModule float_model = build_model(model);
  copy_weights(trained, *float_model.ptr());
  r.float_accuracy = float_accuracy(float_model, test, eval.batch);
  r.images = test.size();
  const std::vector<torch::Tensor> calibration = calibration_batches(calib, eval.calibration_images, seed);
  const std::vector<BudgetCase> cases = budget_cases(analog_layer_specs(model, specs), eval.error_budget);
  std::optional<core::Progress> bar;
  if (progress) bar.emplace("chips", static_cast<std::int64_t>(cases.size()) * eval.chips);
  for (const BudgetCase& c : cases) {
    const LayerSpecs row = specs.then(keep_effects(c.effects));
    std::vector<double> per_chip;
    for (std::int64_t i = 0; i < eval.chips; ++i) {
      per_chip.push_back(chip_accuracy(model, trained, row, calibration, test, eval.batch, chip_seed(seed, i)));
      if (bar) bar->advance();
    }
    r.budget.push_back({c.effect, chip_stats(std::move(per_chip), test.size())});
  }
  if (bar) bar->finish();
  r.analog = r.budget.back().stats;
  if (!eval.error_budget) r.budget.clear();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

nlohmann::json to_json(const ChipStats& s) {
  return {{"per_chip", s.per_chip}, {"mean", s.mean}, {"std", s.std}, {"p5", s.p5},
          {"ci95", {s.ci95_low, s.ci95_high}}, {"images", s.images}, {"chips", s.per_chip.size()}};
}

nlohmann::json to_json(const EvalResult& r) {
  nlohmann::json analog = to_json(r.analog);
  analog["ratio_to_float"] = r.float_accuracy > 0 ? r.analog.mean / r.float_accuracy : 0.0;
  nlohmann::json budget = nlohmann::json::array();
  for (const BudgetRow& row : r.budget) {
    nlohmann::json j = to_json(row.stats);
    j["effect"] = row.effect;
    j["drop"] = r.float_accuracy - row.stats.mean;
    budget.push_back(std::move(j));
  }
  return {{"float_accuracy", r.float_accuracy}, {"images", r.images}, {"analog", analog},
          {"budget", budget},                    {"seconds", r.seconds}};
}

namespace {

const core::Schema& run_schema() {
  static const core::Schema s{
      "eval", "top-level settings of an accuracy evaluation (cimlab eval)",
      {ParamSpec::integer("seed", "1", "seed of the chip instances (programming, faults, drift, read noise)").at_least(0),
       ParamSpec::integer("threads", "0", "torch intra-op threads; 0 = every core").at_least(0).at_most(1024)}};
  return s;
}

const core::Schema& model_schema() {
  static const core::Schema s{
      "eval.model", "the network evaluated (cimlab eval's model section): zoo name or ONNX file, and trained weights",
      {ParamSpec::choice("name", model_names(), "lenet5", "zoo model; must be the checkpoint's"),
       ParamSpec::path("onnx", "ONNX model file (relative to the config file), instead of name"),
       ParamSpec::path("checkpoint", "checkpoint.pt written by cimlab train (relative to the config file); "
                                     "required for a zoo model, optional for an ONNX model (else the file's weights)")}};
  return s;
}

const core::Schema& analog_schema() {
  static const core::Schema s{
      "analog", "analog execution and the Monte-Carlo over chip instances",
      {ParamSpec::choice("fidelity", {"fast", "exact"}, "exact",
                         "fast: weight-level perturbation; exact: every ADC conversion (nn/analog.hpp)"),
       ParamSpec::integer("chips", "5", "chip instances drawn (Monte Carlo)").at_least(1).at_most(100000),
       ParamSpec::integer("calibration_images", "256", "training images that calibrate input and ADC ranges")
           .at_least(1),
       ParamSpec::boolean("error_budget", "true", "also evaluate each effect switched on alone"),
       ParamSpec::integer("batch", "500", "images per forward pass").at_least(1).at_most(65536),
       ParamSpec::boolean("double_precision", "false", "exact engine in float64 (reference runs); else float32")}};
  return s;
}

// train's dataset section: one declaration for both commands.
const core::Schema& dataset_schema() {
  for (const core::Schema* s : train_schemas())
    if (s->name == "dataset") return *s;
  throw core::ModelError("train_schemas() has no dataset schema");
}

// The checkpoint (when named) exists, is readable and holds the model and dataset the config names.
void check_checkpoint(const EvalConfig& c) {
  if (c.checkpoint.empty()) return;
  if (!std::filesystem::is_regular_file(c.checkpoint))
    throw core::InputError(fmt::format("{}: checkpoint not found (model.checkpoint; write one with cimlab train)",
                                       c.checkpoint));
  const CheckpointInfo info = read_checkpoint_info(c.checkpoint);
  if (info.model != c.model.name || info.dataset != c.dataset.name)
    throw core::InputError(fmt::format("{}: checkpoint of {} on {}, but the config asks for {} on {}", c.checkpoint,
                                       info.model, info.dataset, c.model.name, c.dataset.name));
}

}  // namespace

std::vector<const core::Schema*> eval_schemas() {
  return {&run_schema(), &dataset_schema(), &model_schema(), &analog_schema()};
}

EvalConfig load_eval_config(const std::string& path, const std::vector<std::string>& overrides) {
  core::ConfigFile cfg = core::load_config(path);
  core::Diagnostics diags;
  core::apply_overrides(cfg, overrides, diags);
  std::vector<std::string> sections{"seed", "threads", "dataset", "model", "analog"};
  for (const auto& s : xbar::chip_section_names()) sections.push_back(s);
  core::check_sections(cfg, sections, diags);
  EvalConfig out;
  out.resolved = YAML::Node(YAML::NodeType::Map);
  const core::Params run = core::validate_top(cfg, {"seed", "threads"}, run_schema(), diags);
  const core::Params data = core::validate_section(cfg, "dataset", dataset_schema(), diags, out.resolved);
  const core::Params model = core::validate_section(cfg, "model", model_schema(), diags, out.resolved);
  const core::Params analog = core::validate_section(cfg, "analog", analog_schema(), diags, out.resolved);
  out.chip = xbar::load_chip(cfg.root, cfg.origin, "", diags, out.resolved);
  out.model = make_model_source(cfg.root["model"], cfg.origin, model, diags, out.resolved["model"]);
  if (!out.model.is_onnx() && !model.has("checkpoint"))
    diags.add(core::at(cfg.root["model"] ? cfg.root["model"] : cfg.root, cfg.origin,
                       fmt::format("missing required key 'model.checkpoint' ({})",
                                   model_schema().find("checkpoint")->description)));
  diags.throw_if_any();
  out.seed = static_cast<std::uint64_t>(run.integer("seed"));
  out.threads = static_cast<int>(run.integer("threads"));
  out.dataset = make_dataset_spec(data);
  out.checkpoint = model.has("checkpoint") ? model.str("checkpoint") : "";
  out.fidelity = analog.str("fidelity");
  out.double_precision = analog.boolean("double_precision");
  out.eval = {analog.integer("chips"), analog.integer("calibration_images"), analog.boolean("error_budget"),
              analog.integer("batch")};
  out.resolved["seed"] = out.seed;
  out.resolved["threads"] = out.threads;
  check_layer_rules(out.chip, out.model);
  check_checkpoint(out);
  return out;
}

EvalResult evaluate(const EvalConfig& cfg, const EvalOptions& options) {
  at::set_num_threads(thread_count(cfg.threads));
  const DatasetSpec& d = cfg.dataset;
  const DatasetSplit data = load_dataset(d.name, d.data_dir, d.train_limit, d.test_limit, d.validation, cfg.seed);
  torch::nn::AnyModule trained = build_model(cfg.model);
  if (!cfg.checkpoint.empty()) load_model_checkpoint(cfg.checkpoint, *trained.ptr());
  const Fidelity fidelity = cfg.fidelity == "fast" ? Fidelity::kFast : Fidelity::kExact;
  const LayerSpecs specs(cfg.chip, fidelity, cfg.double_precision);
  EvalResult r = evaluate_chips(cfg.model, *trained.ptr(), specs, data.train, data.test, cfg.eval, cfg.seed,
                                options.progress);
  if (options.log) {
    options.log->info("float accuracy {:.4f} on {} test images", r.float_accuracy, data.test.size());
    for (const BudgetRow& row : r.budget)
      options.log->info("{}: mean {:.4f} (95 % CI {:.4f} to {:.4f}), std {:.4f}, p5 {:.4f} over {} chips", row.effect,
                        row.stats.mean, row.stats.ci95_low, row.stats.ci95_high, row.stats.std, row.stats.p5,
                        row.stats.per_chip.size());
    options.log->info("analog: mean {:.4f} (95 % CI {:.4f} to {:.4f}), std {:.4f}, p5 {:.4f}; {:.1f} s", r.analog.mean,
                      r.analog.ci95_low, r.analog.ci95_high, r.analog.std, r.analog.p5, r.seconds);
  }
  return r;
}

}  // namespace cimlab::nn
