#include "core/params.hpp"

#include <gtest/gtest.h>

#include "core/config.hpp"

using namespace cimlab::core;

namespace {
const Schema& test_schema() {
  static const Schema s{"array", "test",
                        {ParamSpec::integer("rows", "128", "rows").at_least(1),
                         ParamSpec::real("wire_resistance.row", Dim::kResistance, "1 ohm", "row wire").at_least(0),
                         ParamSpec::real("wire_resistance.col", Dim::kResistance, "1 ohm", "col wire").at_least(0),
                         ParamSpec::choice("mode", {"fast", "exact"}, "exact", "mode"),
                         ParamSpec::boolean("flag", "false", "a flag"),
                         ParamSpec::real_list("coeffs", Dim::kNone, "[1, 2]", "list")}};
  return s;
}

Params check(const std::string& yaml, Diagnostics& d) {
  const ConfigFile cfg = parse_config(yaml, "t.yaml");
  return validate(cfg.root["array"], test_schema(), "array.", cfg.origin, d);
}
}  // namespace

TEST(Params, DefaultsFilledIn) {
  Diagnostics d;
  const Params p = check("array: {rows: 64}", d);
  ASSERT_TRUE(d.empty());
  EXPECT_EQ(p.integer("rows"), 64);
  EXPECT_DOUBLE_EQ(p.real("wire_resistance.row"), 1.0);
  EXPECT_EQ(p.str("mode"), "exact");
  EXPECT_FALSE(p.boolean("flag"));
  EXPECT_EQ(p.real_list("coeffs"), (std::vector<double>{1, 2}));
}

TEST(Params, NestedTablesAndUnits) {
  Diagnostics d;
  const Params p = check("array:\n  wire_resistance: {row: \"2.5 ohm\", col: \"3 kohm\"}\n", d);
  ASSERT_TRUE(d.empty());
  EXPECT_DOUBLE_EQ(p.real("wire_resistance.row"), 2.5);
  EXPECT_DOUBLE_EQ(p.real("wire_resistance.col"), 3000.0);
}

TEST(Params, AllErrorsReportedWithLinesAndSuggestions) {
  Diagnostics d;
  check("array:\n  rwos: 3\n  wire_resistance:\n    row: 2\n    col: \"-1 ohm\"\n  mode: exakt\n", d);
  ASSERT_EQ(d.items().size(), 4u);
  const auto& it = d.items();
  EXPECT_EQ(it[0].line, 2);
  EXPECT_NE(it[0].message.find("unknown key 'array.rwos' (did you mean 'array.rows'?)"), std::string::npos);
  EXPECT_EQ(it[1].line, 4);
  EXPECT_NE(it[1].message.find("no unit"), std::string::npos);
  EXPECT_EQ(it[2].line, 5);
  EXPECT_NE(it[2].message.find("out of range"), std::string::npos);
  EXPECT_NE(it[3].message.find("did you mean 'exact'"), std::string::npos);
  EXPECT_EQ(it[0].to_string().rfind("t.yaml:2:", 0), 0u);
}

TEST(Params, ResolvedYamlRoundTrips) {
  Diagnostics d;
  const Params p = check("array: {wire_resistance: {row: \"2.5 ohm\"}}", d);
  const YAML::Node y = to_yaml(p, test_schema());
  YAML::Node wrap;
  wrap["array"] = y;
  Diagnostics d2;
  const Params q = validate(wrap["array"], test_schema(), "array.", Origin{"resolved"}, d2);
  ASSERT_TRUE(d2.empty());
  EXPECT_DOUBLE_EQ(q.real("wire_resistance.row"), 2.5);
  EXPECT_EQ(q.integer("rows"), 128);
}

TEST(Config, OverridesApplyAndMalformedYamlHasLine) {
  ConfigFile cfg = parse_config("array: {rows: 4}\n", "t.yaml");
  Diagnostics d;
  apply_overrides(cfg, {"array.rows=8", "array.wire_resistance.row=3 ohm", "bad"}, d);
  ASSERT_EQ(d.items().size(), 1u);
  Diagnostics d2;
  const Params p = validate(cfg.root["array"], test_schema(), "array.", cfg.origin, d2);
  EXPECT_TRUE(d2.empty());
  EXPECT_EQ(p.integer("rows"), 8);
  EXPECT_DOUBLE_EQ(p.real("wire_resistance.row"), 3.0);
  try {
    parse_config("array: {rows: 4\nx: [", "bad.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml:"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("malformed YAML"), std::string::npos);
  }
}

TEST(Config, UnknownSectionSuggested) {
  const ConfigFile cfg = parse_config("arary: {}\n", "t.yaml");
  Diagnostics d;
  check_sections(cfg, {"array", "device"}, d);
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_NE(d.items()[0].message.find("did you mean 'array'"), std::string::npos);
}

TEST(Params, PathsAreRelativeToTheirConfigFile) {
  const Schema schema{"weights", "test", {ParamSpec::path("file", "a file")}};
  const ConfigFile cfg = parse_config("weights: {file: data/w.csv}\nabs: {file: /x/y.csv}\n", "/cfg/dir/exp.yaml");
  Diagnostics d;
  EXPECT_EQ(validate(cfg.root["weights"], schema, "weights.", cfg.origin, d).str("file"), "/cfg/dir/data/w.csv");
  EXPECT_EQ(validate(cfg.root["abs"], schema, "abs.", cfg.origin, d).str("file"), "/x/y.csv");
  EXPECT_TRUE(d.empty());
}

TEST(Params, ReadingAnUndeclaredNameIsAnInternalError) {
  cimlab::core::Params p;
  EXPECT_THROW(p.real("never_declared"), cimlab::core::InternalError);
}
