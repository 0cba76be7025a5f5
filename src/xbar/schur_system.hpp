#pragma once
// Internal to cimlab_xbar: the crossbar's nodal equations (physics.md section 3) in line form, solved by
// block conjugate gradients on the Schur complement in the row-wire nodes.
//
// Unknowns: row-wire nodes u (one tridiagonal line per row, matrix Ar) and column-wire nodes v (one
// line per column, Ac), coupled by the cells (D). With v eliminated, S u = f with
// S = Ar - D Ac^-1 D^T (SPD), solved by PCG preconditioned with Ar^-1; each line solve is a Thomas
// sweep whose coefficients depend on the cell conductances only (assemble()).
// Zero resistances are exact: a zero-resistance wire is one node per line; a zero driver / sense
// resistance ties the end node(s) to the terminal (Dirichlet, an identity row in the line).
// Blocks of KB right-hand sides are solved in lockstep, the RHS index innermost and contiguous:
// node n of a u-space block is at [n * KB + k], likewise for v-space blocks.
// Units: siemens, volts, amperes. Not thread-safe (holds workspace).
#include <array>
#include <cstdint>
#include <vector>

#include "xbar/circuit.hpp"

namespace cimlab::xbar::detail {

inline constexpr int kMaxBlock = 8;  // right-hand sides solved in lockstep (two AVX2 registers)

// Node numbering of the reduced network: u node (i, p) = i * row_pitch + p, v node (q, j) = q * cols + j.
// The row pitch is padded to 8 mod 16 doubles so that rows swept together never share a cache set;
// padding nodes hold 0 in every u-space vector and are never solved for.
struct NodeLayout {
  int rows = 0;
  int cols = 0;
  int row_nodes = 0;  // nodes per row wire: cols, or 1 when r_row == 0 (the wire is one node)
  int row_pitch = 0;  // u-space stride between rows, >= row_nodes
  int col_nodes = 0;  // nodes per column wire: rows, or 1 when r_col == 0

  static NodeLayout of(const CircuitSpec& spec);
  int u_count() const { return rows * row_pitch; }
  int v_count() const { return col_nodes * cols; }
  bool full_rows() const { return row_nodes == cols; }
  bool full_cols() const { return col_nodes == rows; }
  int u_node(int i, int j) const { return i * row_pitch + (row_nodes == 1 ? 0 : j); }
  int v_node(int i, int j) const { return (col_nodes == 1 ? 0 : i) * cols + j; }
};

// One family of independent tridiagonal lines (all rows or all columns). Every line has the same wire
// pattern, stored once per position p; the diagonal and the pivots depend on the cells, per node.
struct Lines {
  std::vector<double> term;         // [p] conductance from the node to its line's terminal, S
  std::vector<double> link;         // [p] conductance to node p + 1, S (0 at the end and next to fixed)
  std::vector<std::uint8_t> fixed;  // [p] tied to the terminal by zero resistance (Dirichlet)
  std::vector<double> h;            // [node] diagonal minus links: term + cells, S (1 at fixed nodes)
  std::vector<double> inv;          // [node] 1 / Thomas pivot, 1/S
  bool any_fixed = false;
};

// What drives one block: terminal voltages and (Newton) cell current sources. Null means zero.
struct BlockDrive {
  const double* row_volts = nullptr;     // rows x KB, volts at the row terminals (sources)
  const double* col_volts = nullptr;     // cols x KB, volts at the column terminals (0 = virtual ground)
  const double* cell_sources = nullptr;  // rows x cols x KB, amperes from row node to column node
};

struct PcgControl {
  double tolerance = 1e-12;  // stop when ||r|| <= tolerance * ||f|| ...
  double forcing = 0.0;      // ... or when ||r|| <= forcing * ||r0|| (inexact Newton steps)
  int max_iterations = 5000;
};

struct PcgOutcome {
  int iterations = 0;             // max over the block
  double residual = 0.0;          // max relative residual ||r|| / ||f|| at exit
  double initial_residual = 0.0;  // max relative residual of the initial guess
  bool converged = true;
  int worst = 0;  // block index of the RHS with the largest final residual
};

class SchurSystem {
 public:
  explicit SchurSystem(const CircuitSpec& spec);
  const NodeLayout& layout() const { return layout_; }

  // Cell conductances (rows x cols, row-major, S, all > 0): builds and factors the line systems. O(RC).
  void assemble(const double* cell_g);

  // Solves one block. u: u_count x KB; on entry the initial guess if `warm`, on exit the row-wire node
  // voltages (fixed nodes hold their terminal voltage). v: v_count x KB, on exit the column-wire nodes.
  template <int KB>
  PcgOutcome solve(const BlockDrive& drive, const PcgControl& control, bool warm, double* u, double* v);

 private:
  using Dots = std::array<double, 2 * kMaxBlock>;  // two dot products per RHS: [k] and [KB + k]

  template <int KB>
  bool build_rhs(const BlockDrive& drive, double* bu, double* bv) const;
  template <int KB>
  void forward_cols(const double* z, const double* beta, double* p, double* yc) const;
  template <int KB>
  Dots backward_cols(const double* p, double* yc, double* q) const;
  template <int KB>
  Dots update_rows(const double* alpha, const double* p, double* y, double* r, double* qz) const;
  template <int KB>
  PcgOutcome iterate(const std::array<double, KB>& fnorm, const PcgControl& control, double* y);
  template <int KB>
  void set_fixed_rows(const double* row_volts, double* u) const;

  NodeLayout layout_;
  Lines rows_;
  Lines cols_;
  std::vector<double> g_uv_;  // cell conductances between two free nodes (0 where an end is fixed)
  std::vector<double> cell_g_;
  std::vector<double> r_, p_, q_, w_;  // workspace (q_ holds S p, then the preconditioned residual)
};

}  // namespace cimlab::xbar::detail
