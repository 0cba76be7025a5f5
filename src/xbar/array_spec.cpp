#include "xbar/array_spec.hpp"

namespace cimlab::xbar {

using core::Dim;
using core::ParamSpec;

const core::Schema& array_schema() {
  static const core::Schema schema{
      "array",
      "one crossbar: rows (word lines, inputs) x columns (bit lines, outputs) and its parasitic resistances",
      {
          ParamSpec::integer("rows", "128", "rows (word lines) of the array").at_least(1).at_most(8192),
          ParamSpec::integer("cols", "128", "columns (bit lines) of the array").at_least(1).at_most(8192),
          ParamSpec::real("wire_resistance.row", Dim::kResistance, "1 ohm", "row-wire resistance per segment between adjacent cells").at_least(0).at_most(1e6),
          ParamSpec::real("wire_resistance.col", Dim::kResistance, "1 ohm", "column-wire resistance per segment between adjacent cells").at_least(0).at_most(1e6),
          ParamSpec::real("driver_resistance", Dim::kResistance, "0 ohm", "source to the row's first cell").at_least(0).at_most(1e9),
          ParamSpec::real("sense_resistance", Dim::kResistance, "0 ohm", "column's last cell to virtual ground").at_least(0).at_most(1e9),
          ParamSpec::boolean("two_sided_drive", "false", "rows driven from both ends, each through driver_resistance"),
          ParamSpec::boolean("two_sided_sense", "false", "columns sensed at both ends, each through sense_resistance"),
      }};
  return schema;
}

CircuitSpec make_circuit_spec(const core::Params& p) {
  CircuitSpec c;
  c.rows = static_cast<int>(p.integer("rows"));
  c.cols = static_cast<int>(p.integer("cols"));
  c.r_row = p.real("wire_resistance.row");
  c.r_col = p.real("wire_resistance.col");
  c.r_driver = p.real("driver_resistance");
  c.r_sense = p.real("sense_resistance");
  c.two_sided_drive = p.boolean("two_sided_drive");
  c.two_sided_sense = p.boolean("two_sided_sense");
  return c;
}

}  // namespace cimlab::xbar
