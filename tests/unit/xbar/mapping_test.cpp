#include "xbar/mapping.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/errors.hpp"
#include "core/rng.hpp"

namespace cimlab::xbar {
namespace {

constexpr double kGmin = 1e-6, kGmax = 100e-6;

MappingSpec spec_from(const std::string& yaml, int max_cell_bits, core::Diagnostics& diags) {
  device::DeviceSpec dev;
  dev.max_cell_bits = max_cell_bits;
  const core::Params p = core::validate(YAML::Load(yaml), mapping_schema(), "mapping.", {"test.yaml"}, diags);
  return make_mapping_spec(p, dev, {"test.yaml"}, diags);
}

std::string all_messages(const core::Diagnostics& d) {
  std::string s;
  for (const auto& x : d.items()) s += x.message + "\n";
  return s;
}

Eigen::MatrixXd random_weights(int rows, int cols, std::uint64_t seed) {
  core::Rng rng(seed);
  return Eigen::MatrixXd::NullaryExpr(rows, cols, [&]() { return rng.uniform(-0.7, 0.7); });
}

CircuitSpec array(int rows, int cols) {
  CircuitSpec c;
  c.rows = rows;
  c.cols = cols;
  return c;
}

TEST(MappingSpec, DefaultsAndDacDefault) {
  core::Diagnostics diags;
  const MappingSpec m = spec_from("{input: multilevel, input_bits: 6}", 1, diags);
  EXPECT_TRUE(diags.empty()) << all_messages(diags);
  EXPECT_EQ(m.signed_mode, SignedMode::kDifferential);
  EXPECT_EQ(m.weight_bits, 8);
  EXPECT_EQ(m.cell_bits, 1);
  EXPECT_EQ(m.dac_bits, 6);
  EXPECT_EQ(m.input_cycles(), 1);
  EXPECT_EQ(m.slices(), 8);
}

TEST(MappingSpec, CellBitsAboveDeviceIsAClearError) {
  core::Diagnostics diags;
  spec_from("{cell_bits: 4}", 2, diags);
  EXPECT_NE(all_messages(diags).find("mapping.cell_bits = 4 exceeds device.max_cell_bits = 2"), std::string::npos)
      << all_messages(diags);
}

TEST(MappingSpec, CrossFieldErrors) {
  core::Diagnostics diags;
  spec_from("{weight_range: value, dac_bits: 4}", 1, diags);
  const std::string msg = all_messages(diags);
  EXPECT_NE(msg.find("needs mapping.w_max"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dac_bits applies only to input: multilevel"), std::string::npos) << msg;
  core::Diagnostics range;
  core::validate(YAML::Load("{weight_bits: 17}"), mapping_schema(), "mapping.", {"test.yaml"}, range);
  EXPECT_FALSE(range.empty());
}

TEST(SplitDigits, IntegerCodesGiveExactDigits) {
  Eigen::MatrixXd code(1, 4);
  code << 0, 5, 200, 255;
  const auto d = split_digits(code, 2, 4);  // base 4
  for (int k = 0; k < 4; ++k) {
    int v = static_cast<int>(code(0, k));
    for (int s = 0; s < 4; ++s, v /= 4) EXPECT_EQ(d[s](0, k), v % 4);
  }
}

TEST(SplitDigits, RealCodesRecombineWithDigitsInRange) {
  core::Rng rng(3);
  const Eigen::MatrixXd code = Eigen::MatrixXd::NullaryExpr(20, 20, [&]() { return rng.uniform(0.0, 63.0); });
  const auto d = split_digits(code, 1, 6);
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(20, 20);
  for (int s = 0; s < 6; ++s) {
    EXPECT_GE(d[s].minCoeff(), 0.0);
    EXPECT_LE(d[s].maxCoeff(), 1.0);
    sum += std::ldexp(1.0, s) * d[s];
  }
  EXPECT_LT((sum - code).cwiseAbs().maxCoeff(), 1e-12);
}

// Weights -> conductances -> ideal digital recombination reproduces the quantised weights.
TEST(WeightMapping, RoundTripAllCellBitsBothSignedModes) {
  const Eigen::MatrixXd W = random_weights(16, 3, 4);
  for (SignedMode mode : {SignedMode::kDifferential, SignedMode::kOffset})
    for (int weight_bits : {1, 3, 8, 12})
      for (int cell_bits = 1; cell_bits <= 8; ++cell_bits) {
        MappingSpec m;
        m.signed_mode = mode;
        m.weight_bits = weight_bits;
        m.cell_bits = cell_bits;
        const WeightMapping map(m, kGmin, kGmax, array(20, 80), W);
        const Eigen::MatrixXd G = map.conductances(true);
        ASSERT_GE(G.minCoeff(), kGmin);
        ASSERT_LE(G.maxCoeff(), kGmax);
        const Eigen::MatrixXd wq = map.quantised_weights();
        EXPECT_LT((map.recombine(G) - wq).cwiseAbs().maxCoeff(), 1e-9 * map.w_max())
            << "mode " << static_cast<int>(mode) << " B_w " << weight_bits << " b_cell " << cell_bits;
        EXPECT_LE((wq - W).cwiseAbs().maxCoeff(), map.weight_step() / 2 + 1e-12);
        // Unquantised: conductances hold the real weights.
        EXPECT_LT((map.recombine(map.conductances(false)) - W).cwiseAbs().maxCoeff(), 1e-9 * map.w_max());
      }
}

TEST(WeightMapping, QuantisedCellsSitOnLevels) {
  MappingSpec m;
  m.weight_bits = 6;
  m.cell_bits = 2;
  const WeightMapping map(m, kGmin, kGmax, array(16, 64), random_weights(16, 4, 5));
  const Eigen::ArrayXXd level = (map.conductances(true).array() - kGmin) / ((kGmax - kGmin) / 3.0);
  EXPECT_LT((level - level.round()).abs().maxCoeff(), 1e-9);
}

TEST(WeightMapping, LayoutAndReference) {
  MappingSpec m;
  m.signed_mode = SignedMode::kOffset;
  m.weight_bits = 4;
  m.cell_bits = 2;
  const WeightMapping map(m, kGmin, kGmax, array(8, 16), random_weights(5, 3, 6));
  const Layout& L = map.layout();
  EXPECT_EQ(L.slices, 2);
  EXPECT_EQ(L.cols_used(), 3 * 2 + 1);
  const Eigen::MatrixXd G = map.conductances(true);
  EXPECT_DOUBLE_EQ(G(0, L.reference_column()), (kGmin + kGmax) / 2);
  EXPECT_DOUBLE_EQ(G(6, 0), kGmin);                   // unused row
  EXPECT_DOUBLE_EQ(G(0, L.cols_used()), kGmin);       // unused column
}

TEST(WeightMapping, WeightRangeValueClips) {
  MappingSpec m;
  m.weight_range = WeightRange::kValue;
  m.w_max = 0.5;
  Eigen::MatrixXd W(1, 2);
  W << 2.0, -0.25;
  const WeightMapping map(m, kGmin, kGmax, array(4, 32), W);
  const Eigen::MatrixXd wq = map.quantised_weights();
  EXPECT_DOUBLE_EQ(wq(0, 0), 0.5);
  EXPECT_NEAR(wq(0, 1), -0.25, map.weight_step() / 2);
}

TEST(WeightMapping, DoesNotFitIsAnError) {
  MappingSpec m;  // 8 slices x 2 cells = 16 columns per output
  EXPECT_THROW(WeightMapping(m, kGmin, kGmax, array(8, 31), random_weights(8, 2, 7)), core::ModelError);
  EXPECT_THROW(WeightMapping(m, kGmin, kGmax, array(7, 64), random_weights(8, 2, 7)), core::ModelError);
  EXPECT_NO_THROW(WeightMapping(m, kGmin, kGmax, array(8, 32), random_weights(8, 2, 7)));
}

TEST(InputEncoding, BitSerialPulsesRecombineToQuantisedInputs) {
  MappingSpec m;
  m.input_bits = 5;
  const InputEncoding enc(m, 0.2);
  core::Rng rng(8);
  const Eigen::MatrixXd X = Eigen::MatrixXd::NullaryExpr(6, 7, [&]() { return rng.uniform(); });
  const Eigen::MatrixXd V = enc.voltages(X, true);
  ASSERT_EQ(V.cols(), 5 * 7);
  EXPECT_TRUE((V.array() == 0.0 || V.array() == 0.2).all());
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(6, 7);
  for (int c = 0; c < enc.cycles(); ++c) sum += enc.cycle_weight(c) * V.middleCols(c * 7, 7);
  EXPECT_LT((sum - enc.quantised(X) * enc.volts_per_unit()).cwiseAbs().maxCoeff(), 1e-12);
  // Unquantised: the pulses still recombine to X itself.
  const Eigen::MatrixXd Vr = enc.voltages(X, false);
  sum.setZero();
  for (int c = 0; c < enc.cycles(); ++c) sum += enc.cycle_weight(c) * Vr.middleCols(c * 7, 7);
  EXPECT_LT((sum - X * enc.volts_per_unit()).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(InputEncoding, MultilevelDacCycles) {
  MappingSpec m;
  m.input = InputMode::kMultilevel;
  m.input_bits = 8;
  m.dac_bits = 3;
  const InputEncoding enc(m, 0.3);
  EXPECT_EQ(enc.cycles(), 3);
  Eigen::MatrixXd X(1, 1);
  X << 1.0;
  const Eigen::MatrixXd V = enc.voltages(X, true);  // code 255 = 7 + 7*8 + 3*64
  EXPECT_NEAR(V(0, 0), 0.3, 1e-15);
  EXPECT_NEAR(V(0, 1), 0.3, 1e-15);
  EXPECT_NEAR(V(0, 2), 0.3 * 3 / 7, 1e-15);
  m.dac_bits = 8;
  EXPECT_NEAR(InputEncoding(m, 0.3).voltages(X * 0.5, false)(0, 0), 0.15, 1e-15);
}

TEST(Mapping, MaxOutputsMatchesTheLayout) {
  for (const auto mode : {SignedMode::kDifferential, SignedMode::kOffset}) {
    for (int cell_bits : {1, 2, 3}) {
      MappingSpec spec;
      spec.signed_mode = mode;
      spec.weight_bits = 8;
      spec.cell_bits = cell_bits;
      for (int cols : {1, 16, 17, 128}) {
        const int n = max_outputs(spec, cols);
        EXPECT_LE(Layout::of(spec, 4, n).cols_used(), cols);
        EXPECT_GT(Layout::of(spec, 4, n + 1).cols_used(), cols);
      }
    }
  }
}

TEST(Layout, PartnersPairTheTwoPolaritiesOfEachSlice) {
  MappingSpec m;
  m.weight_bits = 4;
  m.cell_bits = 2;  // 2 slices
  const Layout d = Layout::of(m, 5, 3);
  const std::vector<int> p = d.partners(16);  // 12 used columns, 4 unused
  ASSERT_EQ(p.size(), 16u);
  for (int o = 0; o < 3; ++o)
    for (int s = 0; s < 2; ++s) {
      EXPECT_EQ(p[static_cast<std::size_t>(d.column(o, s, 0))], d.column(o, s, 1));
      EXPECT_EQ(p[static_cast<std::size_t>(d.column(o, s, 1))], d.column(o, s, 0));
    }
  for (int j = 12; j < 16; ++j) EXPECT_EQ(p[static_cast<std::size_t>(j)], -1);
  m.signed_mode = SignedMode::kOffset;  // one cell per slice plus a reference: nothing paired
  const std::vector<int> q = Layout::of(m, 5, 3).partners(8);
  EXPECT_EQ(q, std::vector<int>(8, -1));
}

}  // namespace
}  // namespace cimlab::xbar
