#pragma once
// The electrical description of one crossbar array, in SI units (physics.md section 3).
// Row i is driven at column 0 (and at column C-1 when two_sided_drive) through r_driver from a
// source V_i; column j is held at virtual ground (0 V) at row R-1 (and at row 0 when two_sided_sense)
// through r_sense. Wire segments between adjacent cells have r_row (rows) and r_col (columns).
// The output of column j is the current flowing into the virtual ground(s) of that column.
// Any of the four resistances may be exactly zero (an ideal wire / source / sense amplifier).
namespace cimlab::xbar {

struct CircuitSpec {
  int rows = 0;
  int cols = 0;
  double r_row = 0.0;     // ohm per row-wire segment, >= 0
  double r_col = 0.0;     // ohm per column-wire segment, >= 0
  double r_driver = 0.0;  // ohm, source to the row's end cell, >= 0
  double r_sense = 0.0;   // ohm, column's end cell to virtual ground, >= 0
  bool two_sided_drive = false;
  bool two_sided_sense = false;

  bool ideal() const { return r_row == 0.0 && r_col == 0.0 && r_driver == 0.0 && r_sense == 0.0; }
};

}  // namespace cimlab::xbar
