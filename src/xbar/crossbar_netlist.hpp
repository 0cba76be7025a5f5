#pragma once
// The crossbar (physics.md section 3) as resistive branches between nodes, after merging every
// zero-resistance connection: the one assembly shared by the sparse direct reference solver and the
// SPICE writer. Terminals: row source i (held at V_i) and column virtual ground j (held at 0 V; the
// column's output is the current into it). A zero r_row merges a row into one node, a zero r_driver
// makes the driven node(s) the row terminal itself; likewise for columns. Units: siemens.
// Pure functions and plain values: thread-safe.
#include <Eigen/Dense>

#include <vector>

#include "xbar/circuit.hpp"

namespace cimlab::xbar {

// A node of the reduced network: a free node (index 0 .. free_count - 1) or a terminal.
struct NetNode {
  enum class Kind { kFree, kRowTerminal, kColTerminal };
  Kind kind = Kind::kFree;
  int index = 0;  // free-node number, row i or column j

  bool operator==(const NetNode&) const = default;
};

struct NetBranch {
  NetNode a;
  NetNode b;
  double conductance = 0.0;  // S, > 0
  int cell = -1;             // i * cols + j when the branch is cell (i, j) (a = row side), else -1
};

struct CrossbarNetlist {
  int rows = 0;
  int cols = 0;
  int free_count = 0;
  std::vector<NetBranch> branches;  // wire segments, drivers, senses, cells
  std::vector<NetNode> u_nodes;     // rows * cols, row-major: the row-wire node of each cell
  std::vector<NetNode> v_nodes;     // rows * cols, row-major: the column-wire node of each cell
};

// The network of `spec` with cell conductances G (rows x cols, S, > 0). Branches whose two ends merged
// into one node (they carry no current) are left out.
CrossbarNetlist build_netlist(const CircuitSpec& spec, const Eigen::MatrixXd& G);

}  // namespace cimlab::xbar
