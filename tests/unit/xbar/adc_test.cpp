#include "xbar/adc.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/errors.hpp"

namespace cimlab::xbar {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("cimlab_adc_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}

AdcSpec spec_from(const std::string& yaml, core::Diagnostics& diags) {
  const core::Params p = core::validate(YAML::Load(yaml), adc_schema(), "adc.", {"test.yaml"}, diags);
  return make_adc_spec(p, {"test.yaml"}, diags);
}

TEST(AdcSpec, ZeroBitsIsAClearError) {
  core::Diagnostics diags;
  spec_from("{bits: 0}", diags);
  ASSERT_FALSE(diags.empty());
  EXPECT_NE(diags.items().back().message.find("adc.bits = 0"), std::string::npos);
  core::Diagnostics too_many;
  core::validate(YAML::Load("{bits: 17}"), adc_schema(), "adc.", {"test.yaml"}, too_many);
  EXPECT_FALSE(too_many.empty());
}

TEST(AdcSpec, DefaultsAndInlFile) {
  core::Diagnostics diags;
  const AdcSpec a = spec_from("{}", diags);
  EXPECT_TRUE(diags.empty());
  EXPECT_EQ(a.bits, 8);
  EXPECT_EQ(a.range, AdcRange::kFull);
  const std::string inl = write_temp("inl2.csv", "0.1\n-0.2\n0\n0.3\n");
  const AdcSpec b = spec_from("{bits: 2, inl_file: " + inl + "}", diags);
  EXPECT_EQ(b.inl, (std::vector<double>{0.1, -0.2, 0.0, 0.3}));
  try {
    spec_from("{bits: 3, inl_file: " + inl + "}", diags);
    FAIL() << "wrong INL length accepted";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(inl), std::string::npos) << e.what();
  }
}

TEST(Adc, CodesClipAndQuantise) {
  AdcSpec s;
  s.bits = 3;
  const Adc adc(s, 7e-3);  // LSB = 1 mA
  Eigen::MatrixXd I(1, 7);
  I << -1.0, 0.0, 2.4e-3, 2.6e-3, 7e-3, 1.0, 6.5e-3;
  Eigen::MatrixXi want(1, 7);
  want << 0, 0, 2, 3, 7, 7, 7;
  EXPECT_EQ(adc.codes(I), want);
  EXPECT_LT((adc.convert(I, false) - want.cast<double>() * 1e-3).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(Adc, QuantisationErrorBoundedByHalfLsbInsideRange) {
  AdcSpec s;
  s.bits = 10;
  const Adc adc(s, 1e-4);
  const Eigen::MatrixXd I = (Eigen::MatrixXd::Random(50, 50).array() * 0.5 + 0.5).matrix() * 1e-4;
  EXPECT_LE((adc.convert(I, false) - I).cwiseAbs().maxCoeff(), adc.lsb() / 2 * (1 + 1e-9));
}

TEST(Adc, StaticInlPerCode) {
  AdcSpec s;
  s.bits = 2;
  s.inl = {0.0, 0.25, -0.5, 0.0};
  const Adc adc(s, 3.0);  // LSB = 1 A
  Eigen::MatrixXd I(1, 4);
  I << 0.0, 1.0, 2.0, 3.0;
  Eigen::MatrixXd want(1, 4);
  want << 0.0, 1.25, 1.5, 3.0;
  EXPECT_EQ(adc.convert(I, true), want);
  EXPECT_EQ(adc.convert(I, false), I);
}

TEST(Adc, CalibratedRangeFromPercentile) {
  AdcSpec s;
  s.bits = 4;
  s.range = AdcRange::kCalibrated;
  s.percentile = 90.0;
  Adc adc(s, 1.0);
  EXPECT_THROW(adc.convert(Eigen::MatrixXd::Zero(1, 1), false), core::ModelError);
  Eigen::MatrixXd sample(10, 100);
  for (int k = 0; k < 1000; ++k) sample(k % 10, k / 10) = k;
  adc.calibrate(sample);
  EXPECT_TRUE(adc.calibrated());
  EXPECT_DOUBLE_EQ(adc.hi(), 899.0);
  EXPECT_DOUBLE_EQ(adc.convert(Eigen::MatrixXd::Constant(1, 1, 5000.0), false)(0, 0), 899.0);
}

TEST(Adc, BadConstructionThrows) {
  AdcSpec s;
  s.bits = 0;
  EXPECT_THROW(Adc(s, 1.0), core::ModelError);
  s.bits = 4;
  EXPECT_THROW(Adc(s, 0.0), core::ModelError);
}

}  // namespace
}  // namespace cimlab::xbar
