// `cimlab train CONFIG [--out DIR] [--set k=v ...] [--resume]`: float training of a zoo or ONNX model, or
// hardware-aware fine-tuning of a float checkpoint (or of an ONNX model's own weights) with a `hat:`
// section (see nn/train.hpp). The run folder receives config.resolved.yaml, checkpoint.pt (after every
// epoch), metrics.json, log.txt and, for an ONNX model, model.onnx (the trained weights written back);
// --resume continues from DIR/checkpoint.pt. Built only with LibTorch.
#ifdef CIMLAB_HAVE_TORCH
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "core/run_dir.hpp"
#include "nn/train.hpp"

namespace cimlab::cli {

namespace {

struct TrainArgs {
  std::string config;
  std::string out = "runs/train";
  std::vector<std::string> overrides;
  bool resume = false;
};

int run(const TrainArgs& a) {
  const nn::TrainConfig cfg = nn::load_train_config(a.config, a.overrides);
  const std::string checkpoint = (std::filesystem::path(a.out) / "checkpoint.pt").string();
  if (a.resume) {  // checked before the run folder is touched
    const nn::CheckpointInfo info = nn::read_checkpoint_info(checkpoint);
    fmt::print("resuming {} on {} after epoch {}\n", info.model, info.dataset, info.epoch);
  }
  core::RunDir run(a.out, command_line(), cfg.spec.seed, a.resume);
  run.write_yaml("config.resolved.yaml", cfg.resolved);
  nn::TrainOptions options;
  options.checkpoint = checkpoint;
  options.resume = a.resume;
  options.log = &run.log();
  if (cfg.spec.model.is_onnx()) options.onnx_out = (std::filesystem::path(a.out) / "model.onnx").string();
  options.on_epoch = [&](const nn::EpochMetrics& m) {
    fmt::print("epoch {:>3}/{}  loss {:.4f}  train {:.2f}%  validation {:.2f}%  {:.1f} s\n", m.epoch,
               cfg.spec.training.epochs, m.train_loss, 100 * m.train_accuracy, 100 * m.validation_accuracy, m.seconds);
    std::fflush(stdout);
    return true;
  };
  const nn::TrainResult r = nn::train(cfg.spec, options);
  nlohmann::json metrics = nn::to_json(r);
  metrics["provenance"] = run.provenance();
  run.write_json("metrics.json", metrics);
  run.log().info("test accuracy {:.4f}", r.test_accuracy);
  fmt::print("{} on {} ({} parameters, {} train / {} validation / {} test images, {} threads): test accuracy "
             "{:.2f}%\n",
             r.model, r.dataset, r.parameters, r.train_images, r.validation_images, r.test_images, r.threads,
             100 * r.test_accuracy);
  if (r.hat)
    fmt::print("hardware-aware training on one analog chip: validation accuracy {:.2f}% before, {:.2f}% after; "
               "test accuracy {:.2f}%\n",
               100 * r.start_accuracy, 100 * r.validation_accuracy, 100 * r.test_accuracy);
  fmt::print("results: {} (metrics.json, checkpoint.pt{})\n", run.path(), options.onnx_out.empty() ? "" : ", model.onnx");
  return 0;
}

}  // namespace

Action setup_train(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "Train a zoo model on MNIST or Fashion-MNIST (float, or hardware-aware with hat:), with checkpoints");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("config", a->config, "training YAML")->required();
  cmd->add_option("--out", a->out, "output folder")->capture_default_str();
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  cmd->add_flag("--resume", a->resume, "continue from OUT/checkpoint.pt");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
#endif  // CIMLAB_HAVE_TORCH
