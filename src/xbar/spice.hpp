#pragma once
// The crossbar (physics.md section 3) as an ngspice netlist for one DC operating point: a voltage source
// per row terminal (V_i volts), a resistor per wire segment, driver, sense and linear cell (zero
// resistances merged into shared nodes, crossbar_netlist.hpp, so ngspice never sees a 0-ohm element),
// nonlinear cells as B-sources carrying the device::CellIV law, and a 0 V source per column terminal
// whose current i(vcolJ) (amperes, into the virtual ground) is the column output. The .control block
// runs `op`, writes those currents to an ASCII raw file (16 significant digits) and ends with `quit 0`
// (toolchain.md). Pure functions: thread-safe.
#include <Eigen/Dense>

#include <ostream>
#include <string>

#include "device/cell_iv.hpp"
#include "xbar/circuit.hpp"

namespace cimlab::xbar {

struct SpiceOptions {
  device::CellIV iv{};                    // nonlinear cells become B-sources
  std::string raw_file = "currents.raw";  // written by ngspice, relative to its working directory
  std::string title = "cimlab crossbar";
};

// Preconditions: G is spec.rows x spec.cols (S, > 0), V has spec.rows entries (V).
void write_spice_netlist(std::ostream& os, const CircuitSpec& spec, const Eigen::MatrixXd& G,
                         const Eigen::VectorXd& V, const SpiceOptions& options = {});

// Name of column j's output current vector in ngspice's raw file: "i(vcolJ)".
std::string spice_column_current(int j);

}  // namespace cimlab::xbar
