#include "device/device_model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/errors.hpp"

namespace cimlab::device {
namespace {

constexpr int kRows = 100, kCols = 1000;  // 10^5 samples

DeviceSpec base_spec() {
  DeviceSpec d;
  d.g_min = 1e-6;
  d.g_max = 100e-6;
  return d;
}

double mean(const Eigen::MatrixXd& m) { return m.mean(); }
double stddev(const Eigen::MatrixXd& m) {
  const double mu = m.mean();
  return std::sqrt((m.array() - mu).square().sum() / static_cast<double>(m.size() - 1));
}

Eigen::MatrixXd constant(double g) { return Eigen::MatrixXd::Constant(kRows, kCols, g); }

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("cimlab_device_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(DeviceModel, RelativeProgrammingVariation) {
  DeviceSpec d = base_spec();
  d.programming = {VariationModel::kRelative, 0.1, {}};
  const Eigen::MatrixXd g = DeviceModel(d).program(constant(50e-6), core::Rng(1));
  EXPECT_NEAR(mean(g), 50e-6, 0.01 * 5e-6);
  EXPECT_NEAR(stddev(g), 5e-6, 0.01 * 5e-6);
}

TEST(DeviceModel, AbsoluteProgrammingVariation) {
  DeviceSpec d = base_spec();
  d.programming = {VariationModel::kAbsolute, 0.05, {}};
  const Eigen::MatrixXd g = DeviceModel(d).program(constant(50e-6), core::Rng(2));
  const double sigma = 0.05 * (d.g_max - d.g_min);
  EXPECT_NEAR(mean(g), 50e-6, 0.01 * sigma);
  EXPECT_NEAR(stddev(g), sigma, 0.01 * sigma);
}

TEST(DeviceModel, StateDependentProgrammingVariationFollowsJoshiFit) {
  DeviceSpec d = base_spec();
  d.programming = {VariationModel::kStateDependent, 1.0 / 25.0, {0.2635, 1.9650, -1.1731}};
  const double gt = 0.5 * d.g_max, x = 0.5;
  const double sigma = d.g_max * (-1.1731 * x * x + 1.9650 * x + 0.2635) / 25.0;
  const Eigen::MatrixXd g = DeviceModel(d).program(constant(gt), core::Rng(3));
  EXPECT_NEAR(mean(g), gt, 0.01 * sigma);
  EXPECT_NEAR(stddev(g), sigma, 0.01 * sigma);
}

TEST(DeviceModel, StateDependentSigmaIsZeroWherePolynomialIsNegative) {
  DeviceSpec d = base_spec();
  d.programming = {VariationModel::kStateDependent, 1.0, {-1.0, 1.0}};  // negative for g < 1
  const Eigen::MatrixXd g = DeviceModel(d).program(constant(0.5 * d.g_max), core::Rng(3));
  EXPECT_EQ(g, constant(0.5 * d.g_max));
}

TEST(DeviceModel, LognormalProgrammingVariation) {
  DeviceSpec d = base_spec();
  d.programming = {VariationModel::kLognormal, 0.2, {}};
  const Eigen::MatrixXd g = DeviceModel(d).program(constant(20e-6), core::Rng(4));
  const Eigen::MatrixXd log_ratio = (g.array() / 20e-6).log().matrix();
  EXPECT_NEAR(mean(log_ratio), 0.0, 0.01 * 0.2);
  EXPECT_NEAR(stddev(log_ratio), 0.2, 0.01 * 0.2);
}

TEST(DeviceModel, ProgrammedConductanceNeverBelowFloorNorNaN) {
  DeviceSpec d = base_spec();
  d.programming = {VariationModel::kAbsolute, 0.5, {}};
  const DeviceModel model(d);
  const Eigen::MatrixXd g = model.program(constant(d.g_min), core::Rng(5));
  EXPECT_TRUE(g.allFinite());
  EXPECT_GT(model.floor(), 0.0);
  EXPECT_DOUBLE_EQ(g.minCoeff(), model.floor());
  EXPECT_THROW(model.program(constant(std::nan("")), core::Rng(5)), core::ModelError);
}

TEST(DeviceModel, NoVariationKeepsTargets) {
  const Eigen::MatrixXd t = Eigen::MatrixXd::Random(10, 10).cwiseAbs() * 1e-4 + constant(1e-6).topLeftCorner(10, 10);
  EXPECT_EQ(DeviceModel(base_spec()).program(t, core::Rng(6)), t);
}

TEST(DeviceModel, StuckRatesAndValues) {
  DeviceSpec d = base_spec();
  d.faults.p_stuck_on = 0.05;
  d.faults.p_stuck_off = 0.10;
  const DeviceModel model(d);
  const Eigen::MatrixXi f = model.sample_faults(kRows, kCols, core::Rng(7));
  const double n = static_cast<double>(f.size());
  EXPECT_NEAR((f.array() == kStuckOn).count() / n, 0.05, 0.003);
  EXPECT_NEAR((f.array() == kStuckOff).count() / n, 0.10, 0.003);
  const Eigen::MatrixXd g = model.apply_faults(constant(50e-6), f);
  EXPECT_TRUE(((f.array() == kStuckOn) == (g.array() == d.g_max)).all());
  EXPECT_TRUE(((f.array() == kStuckOff) == (g.array() == d.g_min)).all());
  EXPECT_TRUE(((f.array() == kHealthy) == (g.array() == 50e-6)).all());
}

TEST(DeviceModel, FaultMapFile) {
  DeviceSpec d = base_spec();
  d.faults.map_file = write_temp("faults.csv", "0,1,-1\n0,0,1\n");
  const DeviceModel model(d);
  Eigen::MatrixXi want(2, 3);
  want << 0, 1, -1, 0, 0, 1;
  EXPECT_EQ(model.sample_faults(2, 3, core::Rng(8)), want);
  try {
    model.sample_faults(3, 3, core::Rng(8));
    FAIL() << "shape mismatch accepted";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(d.faults.map_file), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 x 3"), std::string::npos) << e.what();
  }
  d.faults.map_file = write_temp("bad_faults.csv", "0,2\n");
  EXPECT_THROW(DeviceModel(d).sample_faults(1, 2, core::Rng(8)), core::InputError);
}

TEST(DeviceModel, DriftFollowsPowerLaw) {
  DeviceSpec d = base_spec();
  d.drift = {0.05, 0.0, 1.0, 1000.0, false};
  const DeviceModel model(d);
  const Eigen::MatrixXd g0 = constant(40e-6);
  const Eigen::MatrixXd gt = model.apply_drift(g0, model.drift_exponents(kRows, kCols, core::Rng(9)));
  EXPECT_NEAR(gt(3, 7), 40e-6 * std::pow(1000.0, -0.05), 1e-18);
  EXPECT_NEAR(DeviceModel::drift_gain(g0, gt), std::pow(1000.0, -0.05), 1e-12);
}

TEST(DeviceModel, DriftExponentStatistics) {
  DeviceSpec d = base_spec();
  d.drift = {0.06, 0.02, 1.0, 100.0, false};
  const Eigen::MatrixXd nu = DeviceModel(d).drift_exponents(kRows, kCols, core::Rng(10));
  EXPECT_NEAR(mean(nu), 0.06, 0.01 * 0.02);
  EXPECT_NEAR(stddev(nu), 0.02, 0.01 * 0.02);
}

TEST(DeviceModel, InactiveDriftChangesNothing) {
  DeviceSpec d = base_spec();
  d.drift = {0.05, 0.01, 1.0, 1.0, false};  // read at t0
  const DeviceModel model(d);
  const Eigen::MatrixXd g0 = constant(40e-6);
  EXPECT_EQ(model.apply_drift(g0, model.drift_exponents(kRows, kCols, core::Rng(11))), g0);
}

TEST(DeviceModel, RelativeReadNoiseIsResampledEveryRead) {
  DeviceSpec d = base_spec();
  d.read_noise = {VariationModel::kRelative, 0.03, {}};
  const DeviceModel model(d);
  core::Rng rng(12);
  const Eigen::MatrixXd a = model.read(constant(30e-6), rng);
  const Eigen::MatrixXd b = model.read(constant(30e-6), rng);
  EXPECT_NE(a, b);
  EXPECT_NEAR(mean(a), 30e-6, 0.01 * 0.9e-6);
  EXPECT_NEAR(stddev(a), 0.9e-6, 0.01 * 0.9e-6);
}

TEST(DeviceModel, StateDependentReadNoise) {
  DeviceSpec d = base_spec();
  d.read_noise = {VariationModel::kStateDependent, 0.01, {0.5, 1.0}};
  const DeviceModel model(d);
  core::Rng rng(13);
  const double sigma = 0.01 * d.g_max * (0.5 + 0.2);
  const Eigen::MatrixXd a = model.read(constant(0.2 * d.g_max), rng);
  EXPECT_NEAR(stddev(a), sigma, 0.01 * sigma);
}

TEST(DeviceModel, SameSeedSameChipAndEffectsUseIndependentStreams) {
  DeviceSpec d = base_spec();
  d.programming = {VariationModel::kRelative, 0.1, {}};
  d.drift = {0.0, 1.0, 1.0, 10.0, false};
  d.faults.p_stuck_on = 0.5;
  const DeviceModel model(d);
  const core::Rng chip(14);
  const Eigen::MatrixXd g1 = model.program(constant(50e-6), chip);
  model.sample_faults(kRows, kCols, chip);  // drawing faults does not shift programming
  EXPECT_EQ(model.program(constant(50e-6), chip), g1);
  EXPECT_NE(model.program(constant(50e-6), core::Rng(15)), g1);
  // Programming z and drift z come from different streams: uncorrelated.
  const Eigen::ArrayXXd zp = (g1.array() / 50e-6 - 1.0) / 0.1;
  const Eigen::ArrayXXd zd = model.drift_exponents(kRows, kCols, chip).array();
  EXPECT_LT(std::abs((zp * zd).mean()), 0.02);
}

}  // namespace
}  // namespace cimlab::device
