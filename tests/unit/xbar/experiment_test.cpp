#include "xbar/experiment.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "device/presets.hpp"

using namespace cimlab;

namespace {
// Each test writes into its own folder: ctest runs tests in parallel processes.
std::string write_config(const std::string& name, const std::string& text) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const auto dir = std::filesystem::temp_directory_path() / "cimlab_experiment_test" / info->name();
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST(Experiment, EveryPresetValidatesAndCitesItsValues) {
  const auto names = device::preset_names();
  for (const char* expected : {"rram", "pcm", "nor_flash", "fefet"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (const auto& name : names) {
    const auto path = write_config(name + ".yaml", "device: {preset: " + name + "}\n");
    const xbar::XbarExperiment exp = xbar::load_xbar_experiment(path, {});
    EXPECT_GT(exp.device.g_max, exp.device.g_min) << name;
    std::ifstream preset(device::presets_dir() + "/" + name + ".yaml");
    for (std::string line; std::getline(preset, line);) {
      const bool is_value = line.find(':') != std::string::npos && line.find(": ") != std::string::npos &&
                            line.back() != ':' && line.rfind("description", 0) != 0;
      if (is_value) {
        EXPECT_NE(line.find('#'), std::string::npos) << name << ": value without a source: " << line;
      }
    }
  }
}

TEST(Experiment, PresetKeysAreOverriddenAndResolvedConfigReloads) {
  const auto path = write_config("pcm.yaml", "seed: 9\ndevice: {preset: pcm, g_max: \"20 uS\"}\narray: {rows: 32}\n");
  const xbar::XbarExperiment exp = xbar::load_xbar_experiment(path, {"array.cols=48", "device.read_noise.model=none"});
  EXPECT_DOUBLE_EQ(exp.device.g_max, 20e-6);
  EXPECT_EQ(exp.device.read_noise.model, device::VariationModel::kNone);
  EXPECT_EQ(exp.device.programming.model, device::VariationModel::kStateDependent);
  EXPECT_EQ(exp.circuit.rows, 32);
  EXPECT_EQ(exp.circuit.cols, 48);
  YAML::Emitter em;
  em << exp.resolved;
  const auto again_path = write_config("resolved.yaml", em.c_str());
  const xbar::XbarExperiment again = xbar::load_xbar_experiment(again_path, {});
  EXPECT_EQ(again.seed, 9u);
  EXPECT_DOUBLE_EQ(again.device.g_max, exp.device.g_max);
  EXPECT_DOUBLE_EQ(again.device.drift.t0, exp.device.drift.t0);
  EXPECT_EQ(again.device.programming.coefficients, exp.device.programming.coefficients);
  EXPECT_EQ(again.circuit.cols, 48);
  EXPECT_EQ(again.mapping.weight_bits, exp.mapping.weight_bits);
}

TEST(Experiment, AllProblemsOfAFileAreReportedTogether) {
  const auto path = write_config("bad.yaml",
                                 "array: {rows: 0, driver_resistance: 5}\ndevice: {g_mn: \"1 uS\"}\nadc: {range: ful}\n");
  try {
    xbar::load_xbar_experiment(path, {"mapping.weight_bits=40"});
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_EQ(e.diagnostics().size(), 5u) << e.what();
    const std::string msg = e.what();
    EXPECT_NE(msg.find("did you mean 'device.g_min'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("did you mean 'full'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'mapping.weight_bits' = 40"), std::string::npos) << msg;
  }
}
