// Float training: learning on a few hundred real digits, exact checkpoint/resume, bad checkpoints and
// config validation. One thread, so that runs are bit-for-bit reproducible.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "core/errors.hpp"
#include "nn/checkpoint.hpp"
#include "nn/data.hpp"
#include "nn/evaluate.hpp"
#include "nn/models.hpp"
#include "nn/analog.hpp"
#include "nn/train.hpp"
#include "hat_test_chip.hpp"

namespace cimlab::nn {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("cimlab_test_train_" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TrainSpec small_spec() {
  TrainSpec s;
  s.seed = 3;
  s.threads = 1;
  s.dataset = {"mnist", CIMLAB_DATA_DIR, 1000, 500, 200};
  s.model = "lenet5";
  s.training.epochs = 2;
  s.training.batch_size = 16;
  s.training.optimizer = "adam";
  s.training.learning_rate = 3e-3;
  return s;
}

TrainOptions quiet(const std::string& checkpoint = "") {
  TrainOptions o;
  o.checkpoint = checkpoint;
  o.progress = false;
  return o;
}

TEST(Train, LeNetLearnsAThousandDigits) {
  const TrainResult r = train(small_spec(), quiet());
  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_EQ(r.train_images, 1000);
  EXPECT_EQ(r.test_images, 500);
  EXPECT_LT(r.epochs[1].train_loss, r.epochs[0].train_loss);
  EXPECT_GT(r.test_accuracy, 0.6) << "chance is 0.1";
}

// All parameters and buffers of the model stored in a checkpoint.
std::vector<std::pair<std::string, torch::Tensor>> checkpoint_state(const std::string& path, const std::string& model) {
  torch::serialize::InputArchive ar, model_ar;
  ar.load_from(path);
  ar.read("model", model_ar);
  torch::nn::AnyModule net = make_model(model);
  net.ptr()->load(model_ar);
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& p : net.ptr()->named_parameters()) state.emplace_back(p.key(), p.value());
  for (const auto& b : net.ptr()->named_buffers()) state.emplace_back(b.key(), b.value());
  return state;
}

TEST(Train, ResumeEqualsAnUninterruptedRun) {
  TrainSpec spec = small_spec();
  spec.model = "vgg8";  // BN statistics are part of the state
  spec.dataset.train_limit = 96;
  spec.dataset.test_limit = 50;
  spec.training.label_smoothing = 0.1;
  const std::string whole = (scratch("whole") / "checkpoint.pt").string();
  const std::string parts = (scratch("parts") / "checkpoint.pt").string();
  const TrainResult a = train(spec, quiet(whole));
  TrainOptions stop_after_one = quiet(parts);
  stop_after_one.on_epoch = [](const EpochMetrics&) { return false; };  // as if killed after epoch 1
  ASSERT_EQ(train(spec, stop_after_one).epochs.size(), 1u);
  EXPECT_EQ(read_checkpoint_info(parts).epoch, 1);
  TrainOptions resume = quiet(parts);
  resume.resume = true;
  const TrainResult b = train(spec, resume);
  EXPECT_EQ(b.resumed_from_epoch, 1);
  ASSERT_EQ(b.epochs.size(), 2u);
  EXPECT_EQ(b.epochs[1].train_loss, a.epochs[1].train_loss);
  EXPECT_EQ(b.test_accuracy, a.test_accuracy);
  const auto sa = checkpoint_state(whole, spec.model.name), sb = checkpoint_state(parts, spec.model.name);
  ASSERT_EQ(sa.size(), sb.size());
  for (std::size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
}

// Hardware-aware fine-tuning of a float LeNet-5 on a small RRAM-like chip (32 x 32 arrays, strong
// programming variation, stuck cells): per-step draws, progressive schedule, exact resume.
TEST(Train, HatResumesExactlyAndKeepsAnalogAccuracy) {
  TrainSpec spec = small_spec();
  spec.dataset.test_limit = 100;  // 1,000 training digits, as in LeNetLearnsAThousandDigits
  const std::string float_ckpt = (scratch("hat_float") / "checkpoint.pt").string();
  const double float_accuracy = train(spec, quiet(float_ckpt)).test_accuracy;
  use_small_hat_chip(spec, float_ckpt);
  spec.hat.progressive = true;
  const std::string whole = (scratch("hat_whole") / "checkpoint.pt").string();
  const std::string parts = (scratch("hat_parts") / "checkpoint.pt").string();
  const TrainResult r = train(spec, quiet(whole));
  EXPECT_TRUE(r.hat);
  EXPECT_GT(float_accuracy, 0.6);
  EXPECT_GT(r.start_accuracy, 0.5 * float_accuracy) << "the float weights on the chip, before HAT";
  EXPECT_GT(r.validation_accuracy, r.start_accuracy - 0.05) << "fine-tuning must not wreck the model";
  TrainOptions stop_after_one = quiet(parts);
  stop_after_one.on_epoch = [](const EpochMetrics&) { return false; };
  train(spec, stop_after_one);
  TrainOptions resume = quiet(parts);
  resume.resume = true;
  const TrainResult b = train(spec, resume);
  EXPECT_EQ(b.epochs[1].train_loss, r.epochs[1].train_loss);
  const auto sa = checkpoint_state(whole, spec.model.name), sb = checkpoint_state(parts, spec.model.name);
  for (std::size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
}

// HAT must measurably help where it should: a float LeNet-5 on a chip whose HAT classes cost it much
// accuracy as it is (3-bit weights on 1-bit cells, 30 % programming variation, 6 % stuck cells), the
// same 5 chip instances before and after 3 epochs of fine-tuning (fast fidelity, 500 test images).
TEST(Train, HatBeatsAsIsByAMarginOnAHarshChip) {
  TrainSpec spec = small_spec();
  spec.training.epochs = 4;
  const std::string float_ckpt = (scratch("hat_margin_float") / "checkpoint.pt").string();
  const double float_accuracy = train(spec, quiet(float_ckpt)).test_accuracy;
  use_small_hat_chip(spec, float_ckpt);
  xbar::ArraySimSpec& a = spec.hat.chip.array;
  a.device.max_cell_bits = 1;
  a.mapping.cell_bits = 1;
  a.mapping.weight_bits = 3;
  a.device.programming = {device::VariationModel::kRelative, 0.3, {}};
  a.device.faults.p_stuck_on = a.device.faults.p_stuck_off = 0.03;
  spec.training.learning_rate = 2e-3;
  spec.training.epochs = 3;
  const std::string hat_ckpt = (scratch("hat_margin") / "checkpoint.pt").string();
  train(spec, quiet(hat_ckpt));
  const DatasetSplit data = load_dataset("mnist", CIMLAB_DATA_DIR, 1000, 500, 200, spec.seed);
  const LayerSpecs chip = LayerSpecs(spec.hat.chip, Fidelity::kFast, false);
  const EvalSpec eval{5, 128, false, 500};
  auto on_chips = [&](const std::string& checkpoint) {
    torch::nn::AnyModule net = make_model("lenet5");
    load_model_checkpoint(checkpoint, *net.ptr());
    return evaluate_chips("lenet5", *net.ptr(), chip, data.train, data.test, eval, 11, false);
  };
  const EvalResult as_is = on_chips(float_ckpt), hat = on_chips(hat_ckpt);
  std::printf("[ hat margin ] float %.3f, as-is %.3f [%.3f, %.3f], hat %.3f [%.3f, %.3f]\n", float_accuracy,
              as_is.analog.mean, as_is.analog.ci95_low, as_is.analog.ci95_high, hat.analog.mean, hat.analog.ci95_low,
              hat.analog.ci95_high);
  EXPECT_GT(float_accuracy - as_is.analog.mean, 0.10) << "the chip must cost the float model much as it is";
  EXPECT_GT(hat.analog.mean - as_is.analog.mean, 0.05) << "HAT must win back a clear share of it";
  for (std::size_t i = 0; i < hat.analog.per_chip.size(); ++i)  // paired: the same chip instance
    EXPECT_GT(hat.analog.per_chip[i], as_is.analog.per_chip[i] + 0.02) << "chip " << i;
}

TEST(Train, BadOrMismatchedCheckpointIsAnInputError) {
  const fs::path dir = scratch("bad");
  EXPECT_THROW(read_checkpoint_info((dir / "checkpoint.pt").string()), core::InputError);
  std::ofstream(dir / "checkpoint.pt") << "not a checkpoint\n";
  EXPECT_THROW(read_checkpoint_info((dir / "checkpoint.pt").string()), core::InputError);
  TrainSpec spec = small_spec();
  spec.model = "mlp";
  spec.dataset.train_limit = 100;
  spec.training.epochs = 1;
  const std::string ckpt = (dir / "mlp.pt").string();
  train(spec, quiet(ckpt));
  spec.model = "lenet5";
  TrainOptions resume = quiet(ckpt);
  resume.resume = true;
  try {
    train(spec, resume);
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint of mlp on mnist"), std::string::npos) << e.what();
  }
}

TEST(TrainConfig, DefaultsAndEveryErrorAtOnce) {
  const fs::path dir = scratch("config");
  std::ofstream(dir / "ok.yaml") << "seed: 5\nmodel: {name: vit}\ntraining: {epochs: 3, optimizer: adamw}\n";
  const TrainConfig ok = load_train_config((dir / "ok.yaml").string(), {"training.batch_size=32"});
  EXPECT_EQ(ok.spec.seed, 5u);
  EXPECT_EQ(ok.spec.model.name, "vit");
  EXPECT_EQ(ok.spec.training.epochs, 3);
  EXPECT_EQ(ok.spec.training.batch_size, 32);
  EXPECT_EQ(ok.spec.training.schedule, "cosine");
  EXPECT_EQ(ok.spec.dataset.name, "mnist");
  EXPECT_EQ(ok.resolved["training"]["optimizer"].as<std::string>(), "adamw");
  std::ofstream(dir / "bad.yaml") << "model: {name: lenet}\ntraining: {epochs: 0, lr: 0.1}\ndataset: {name: mnist}\n";
  try {
    load_train_config((dir / "bad.yaml").string(), {});
    FAIL();
  } catch (const core::ConfigError& e) {
    EXPECT_EQ(e.diagnostics().size(), 3u) << e.what();
  }
}

}  // namespace
}  // namespace cimlab::nn
