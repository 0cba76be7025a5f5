// Search spaces: every form of dimension, units, decoding, and the messages for bad ones.
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "explore/space.hpp"

namespace {

using namespace cimlab;

explore::Space parse(const std::string& text, core::Diagnostics& diags) {
  const core::ConfigFile cfg = core::parse_config(text, "space.yaml");
  return explore::parse_space(cfg.root["space"], cfg.origin, "explore.space.", diags);
}

std::vector<std::string> texts(const explore::Dimension& d) {
  std::vector<std::string> out;
  for (const auto& v : d.values) out.push_back(v.text);
  return out;
}

TEST(Space, ListsRangesFactorsAndPoints) {
  core::Diagnostics diags;
  const auto s = parse(R"(space:
  array.rows: {values: [64, 128, 256], also: [array.cols]}
  tile.macros: [2, 4, 8]
  macro.adcs: {from: 1, to: 16, factor: 2}
  tile.input_buffer: {from: "4 KiB", to: "32 KiB", factor: 2}
  tile.bus_width: {from: 16, to: 64, step: 16}
  chip.clock: {from: "0.5 GHz", to: "2 GHz", points: 4}
  circuits.adc.fom: {from: "1 fJ", to: "100 fJ", scale: log}
  technology.node: {choice: [45nm, 22nm]}
  mapping.cell_bits: {from: 1, to: 4}
)", diags);
  ASSERT_TRUE(diags.empty()) << diags.items()[0].to_string();
  const auto& d = s.dims();
  ASSERT_EQ(d.size(), 9u);
  EXPECT_EQ(d[0].also, std::vector<std::string>{"array.cols"});
  EXPECT_EQ(texts(d[2]), (std::vector<std::string>{"1", "2", "4", "8", "16"}));
  EXPECT_EQ(texts(d[3]), (std::vector<std::string>{"4 KiB", "8 KiB", "16 KiB", "32 KiB"}));
  EXPECT_DOUBLE_EQ(*d[3].values[1].number, 8192.0);
  EXPECT_EQ(d[3].values[1].dim, core::Dim::kData);
  EXPECT_EQ(texts(d[4]), (std::vector<std::string>{"16", "32", "48", "64"}));
  EXPECT_EQ(texts(d[5]), (std::vector<std::string>{"500 MHz", "1 GHz", "1.5 GHz", "2 GHz"}));
  EXPECT_FALSE(d[6].discrete());
  EXPECT_TRUE(d[6].log_scale);
  EXPECT_EQ(d[7].kind, explore::DimensionKind::kChoice);
  EXPECT_EQ(texts(d[8]), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_FALSE(s.finite());
  EXPECT_EQ(s.keys()[1], "array.cols");
}

TEST(Space, DecodeSnapsAndSetsAlsoKeys) {
  core::Diagnostics diags;
  const auto s = parse("space:\n  a: {values: [1, 2, 3, 4], also: b}\n  c: {from: \"1 ns\", to: \"100 ns\", scale: log}\n", diags);
  ASSERT_TRUE(diags.empty());
  const explore::Point p = s.decode({0.6, 0.5});
  ASSERT_EQ(p.settings.size(), 3u);
  EXPECT_EQ(p.settings[0].value.text, "3");
  EXPECT_EQ(p.settings[1].key, "b");
  EXPECT_EQ(p.settings[1].value.text, "3");
  EXPECT_NEAR(*p.settings[2].value.number, 10e-9, 1e-15);
  EXPECT_DOUBLE_EQ(p.u[0], 0.625);
  EXPECT_EQ(p.identity(), s.decode({0.74, 0.5}).identity());
}

TEST(Space, GridCoordinatesEnumerateEveryPointOnce) {
  core::Diagnostics diags;
  const auto s = parse("space:\n  a: [1, 2, 3]\n  b: {choice: [x, y]}\n", diags);
  ASSERT_TRUE(diags.empty());
  ASSERT_DOUBLE_EQ(s.cardinality(), 6.0);
  std::set<std::string> seen;
  for (std::uint64_t i = 0; i < 6; ++i) seen.insert(s.decode(s.grid_coordinates(i)).identity());
  EXPECT_EQ(seen.size(), 6u);
}

TEST(Space, BadDimensionsAreReportedAllAtOnce) {
  core::Diagnostics diags;
  parse(R"(space:
  a: 5
  b: {from: "4 KiB", to: "10 ns"}
  c: {from: 1, to: 8, stp: 1}
  d: {from: 8, to: 1}
  e: {from: 0, to: 8, factor: 2}
  f: {values: [1, 2], choice: [3]}
)", diags);
  std::string all;
  for (const auto& d : diags.items()) all += d.to_string() + "\n";
  EXPECT_EQ(diags.items().size(), 6u) << all;
  EXPECT_NE(all.find("'explore.space.a' must be a list of values"), std::string::npos) << all;
  EXPECT_NE(all.find("same unit dimension"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown key 'stp' (did you mean 'step'?)"), std::string::npos) << all;
  EXPECT_NE(all.find("'from' must not exceed 'to'"), std::string::npos) << all;
  EXPECT_NE(all.find("log-scale range needs 'from' > 0"), std::string::npos) << all;
  EXPECT_NE(all.find("exactly one of"), std::string::npos) << all;
  EXPECT_NE(all.find("space.yaml:2"), std::string::npos) << all;
}

TEST(Space, ReadValueKnowsUnits) {
  EXPECT_EQ(explore::read_value("64 KiB").dim, core::Dim::kData);
  EXPECT_DOUBLE_EQ(*explore::read_value("64 KiB").number, 65536.0);
  EXPECT_DOUBLE_EQ(*explore::read_value("10 uS").number, 1e-5);
  EXPECT_EQ(explore::read_value("10 ns").dim, core::Dim::kTime);
  EXPECT_DOUBLE_EQ(*explore::read_value(" 12 ").number, 12.0);
  EXPECT_FALSE(explore::read_value("sar").number);
}

}  // namespace
