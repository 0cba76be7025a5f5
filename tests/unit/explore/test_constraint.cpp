// Constraint expressions: parsing, metric vs key classification, evaluation and violations.
#include <gtest/gtest.h>

#include <map>

#include "core/errors.hpp"
#include "explore/constraint.hpp"

namespace {

using cimlab::explore::Constraint;

cimlab::explore::Lookup table(std::map<std::string, double> values) {
  return [values](const std::string& n) -> std::optional<double> {
    const auto it = values.find(n);
    return it == values.end() ? std::nullopt : std::optional<double>(it->second);
  };
}

TEST(Constraint, ArithmeticBetweenKeys) {
  const Constraint c("adc.bits <= mapping.cell_bits + 6", {"area_mm2"});
  EXPECT_FALSE(c.on_metrics());
  EXPECT_EQ(c.names(), (std::vector<std::string>{"adc.bits", "mapping.cell_bits"}));
  EXPECT_EQ(*c.violation(table({{"adc.bits", 8}, {"mapping.cell_bits", 2}}), nullptr), 0.0);
  std::string why;
  EXPECT_GT(*c.violation(table({{"adc.bits", 9}, {"mapping.cell_bits", 2}}), &why), 0.0);
  EXPECT_NE(why.find("(9 <= 8 is false)"), std::string::npos) << why;
}

TEST(Constraint, MetricsQuantitiesAndPrecedence) {
  const Constraint c("area_mm2 * 2 - (1 + 1) / 2 < 10", {"area_mm2"});
  EXPECT_TRUE(c.on_metrics());
  EXPECT_EQ(*c.violation(table({{"area_mm2", 5.4}}), nullptr), 0.0);   // 10.8 - 1 = 9.8
  EXPECT_GT(*c.violation(table({{"area_mm2", 5.6}}), nullptr), 0.0);   // 10.2
  const Constraint q("tile.input_buffer >= \"16 KiB\"", {});
  EXPECT_EQ(*q.violation(table({{"tile.input_buffer", 16384}}), nullptr), 0.0);
  EXPECT_GT(*q.violation(table({{"tile.input_buffer", 8192}}), nullptr), 0.0);
  const Constraint neg("-x > -3", {});
  EXPECT_EQ(*neg.violation(table({{"x", 2}}), nullptr), 0.0);
}

TEST(Constraint, MissingNameAndMalformedText) {
  const Constraint c("a <= b", {});
  std::string why;
  EXPECT_FALSE(c.violation(table({{"a", 1}}), &why));
  EXPECT_NE(why.find("'b' has no value"), std::string::npos);
  EXPECT_THROW(Constraint("a <= ", {}), cimlab::core::ConfigError);
  EXPECT_THROW(Constraint("a b", {}), cimlab::core::ConfigError);
  EXPECT_THROW(Constraint("(a <= 1", {}), cimlab::core::ConfigError);
  EXPECT_THROW(Constraint("a <= \"3 furlongs\"", {}), cimlab::core::ConfigError);
}

}  // namespace
