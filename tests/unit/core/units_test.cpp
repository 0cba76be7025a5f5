#include "core/units.hpp"

#include <gtest/gtest.h>

using namespace cimlab::core;

TEST(Units, ParsesPrefixesAndUnits) {
  std::string err;
  EXPECT_DOUBLE_EQ(*parse_quantity("1.5 ohm", Dim::kResistance, &err), 1.5);
  EXPECT_DOUBLE_EQ(*parse_quantity("10 uS", Dim::kConductance, &err), 10e-6);
  EXPECT_DOUBLE_EQ(*parse_quantity("0.2 V", Dim::kVoltage, &err), 0.2);
  EXPECT_DOUBLE_EQ(*parse_quantity("10 ns", Dim::kTime, &err), 10e-9);
  EXPECT_DOUBLE_EQ(*parse_quantity("2kohm", Dim::kResistance, &err), 2e3);
  EXPECT_DOUBLE_EQ(*parse_quantity("3 mS", Dim::kConductance, &err), 3e-3);
  EXPECT_DOUBLE_EQ(*parse_quantity("1 MHz", Dim::kFrequency, &err), 1e6);
  EXPECT_DOUBLE_EQ(*parse_quantity("42", Dim::kNone, &err), 42.0);
}

TEST(Units, RejectsBareNumberForDimensionedValue) {
  std::string err;
  EXPECT_FALSE(parse_quantity("50", Dim::kResistance, &err));
  EXPECT_NE(err.find("has no unit"), std::string::npos) << err;
  EXPECT_NE(err.find("ohm"), std::string::npos) << err;
}

TEST(Units, RejectsWrongDimensionAndUnknownUnits) {
  std::string err;
  EXPECT_FALSE(parse_quantity("5 V", Dim::kResistance, &err));
  EXPECT_NE(err.find("is a voltage"), std::string::npos) << err;
  EXPECT_FALSE(parse_quantity("5 furlongs", Dim::kLength, &err));
  EXPECT_NE(err.find("unknown unit"), std::string::npos) << err;
  EXPECT_FALSE(parse_quantity("abc", Dim::kNone, &err));
  EXPECT_FALSE(parse_quantity("nan", Dim::kNone, &err));
  EXPECT_FALSE(parse_quantity("3 V", Dim::kNone, &err));
}

TEST(Units, FormatRoundTrips) {
  for (double v : {1.5, 1e-5, 2.5e-7, 3e3, 0.2, 1234.5678}) {
    std::string err;
    const auto back = parse_quantity(format_quantity(v, Dim::kConductance), Dim::kConductance, &err);
    ASSERT_TRUE(back) << err;
    EXPECT_NEAR(*back, v, 1e-12 * v);
  }
  EXPECT_EQ(format_quantity(1e-5, Dim::kConductance), "10 uS");
}

TEST(Units, DataSizesAndBandwidths) {
  std::string err;
  EXPECT_DOUBLE_EQ(*parse_quantity("64 KB", Dim::kData, &err), 65536.0);  // memory sizes: K = 1024
  EXPECT_DOUBLE_EQ(*parse_quantity("64 KiB", Dim::kData, &err), 65536.0);
  EXPECT_DOUBLE_EQ(*parse_quantity("64 kB", Dim::kData, &err), 64000.0);
  EXPECT_DOUBLE_EQ(*parse_quantity("2 MiB", Dim::kData, &err), 2097152.0);
  EXPECT_DOUBLE_EQ(*parse_quantity("16 bit", Dim::kData, &err), 2.0);
  EXPECT_DOUBLE_EQ(*parse_quantity("8 Kibit", Dim::kData, &err), 1024.0);
  EXPECT_DOUBLE_EQ(*parse_quantity("25.6 GB/s", Dim::kBandwidth, &err), 25.6e9);
  EXPECT_DOUBLE_EQ(*parse_quantity("1 Gbit/s", Dim::kBandwidth, &err), 1.25e8);
  EXPECT_FALSE(parse_quantity("5 KV", Dim::kVoltage, &err));  // binary prefixes only for data
  EXPECT_FALSE(parse_quantity("64", Dim::kData, &err));
  EXPECT_NE(err.find("has no unit"), std::string::npos) << err;
  EXPECT_EQ(format_quantity(65536.0, Dim::kData), "64 KiB");
  EXPECT_EQ(format_quantity(1000.0, Dim::kData), "1 kB");
  for (double v : {65536.0, 1e3, 3.0, 25.6e9}) {
    const auto back = parse_quantity(format_quantity(v, Dim::kData), Dim::kData, &err);
    ASSERT_TRUE(back) << err;
    EXPECT_DOUBLE_EQ(*back, v);
  }
}

TEST(Units, AreaPrefixesScaleTheLength) {
  std::string err;
  EXPECT_DOUBLE_EQ(*parse_quantity("1 um2", Dim::kArea, &err), 1e-12);
  EXPECT_DOUBLE_EQ(*parse_quantity("2.5 mm2", Dim::kArea, &err), 2.5e-6);
  EXPECT_DOUBLE_EQ(*parse_quantity("0.092e-12 m2", Dim::kArea, &err), 0.092e-12);
  EXPECT_EQ(format_quantity(3e-6, Dim::kArea), "3 mm2");
  EXPECT_EQ(format_quantity(0.5e-12, Dim::kArea), "500000 nm2");
  for (double v : {1e-12, 3.3e-9, 2e-6, 0.25}) {
    const auto back = parse_quantity(format_quantity(v, Dim::kArea), Dim::kArea, &err);
    ASSERT_TRUE(back) << err;
    EXPECT_NEAR(*back, v, 1e-12 * v);
  }
}
