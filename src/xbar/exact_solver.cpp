#include "xbar/exact_solver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/errors.hpp"
#include "xbar/schur_system.hpp"

namespace cimlab::xbar {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Clock = std::chrono::steady_clock;

constexpr int kMaxNewtonSteps = 100;
// PCG stops a Newton step once it has cut that step's initial residual by this factor (inexact
// Newton, Eisenstat & Walker 1996) or reached the tolerance. Small, because a linearisation (two
// transcendental functions per cell) costs about as much as ten PCG iterations.
constexpr double kNewtonForcing = 1e-5;
// Newton stagnating within this factor of the tolerance has reached the rounding floor: accepted.
constexpr double kNewtonFloor = 1e3;
// Inputs solved in lockstep: 8 while a block's vectors stay in cache (up to this many u nodes, about
// 128 x 128), else 4 (measured on Zen 3: 8 is fastest below, 4 above).
constexpr int kWideBlockNodes = 24576;

void check_spec(const CircuitSpec& s) {
  if (s.rows < 1 || s.cols < 1)
    throw core::ModelError(fmt::format("exact solver: array must be at least 1 x 1, got {} x {}", s.rows, s.cols));
  for (double r : {s.r_row, s.r_col, s.r_driver, s.r_sense})
    if (!(r >= 0.0) || !std::isfinite(r))
      throw core::ModelError(fmt::format("exact solver: resistances must be finite and >= 0 ohm, got {}", r));
}

void check_options(const ExactSolverOptions& o) {
  if (!(o.tolerance > 0.0) || !std::isfinite(o.tolerance))
    throw core::ModelError(fmt::format("exact solver: tolerance must be > 0, got {}", o.tolerance));
  if (o.max_iterations < 1)
    throw core::ModelError(fmt::format("exact solver: max_iterations must be >= 1, got {}", o.max_iterations));
  if (!o.iv.linear() && !(o.iv.v0 > 0.0))
    throw core::ModelError(fmt::format("exact solver: cell v0 must be > 0 V, got {}", o.iv.v0));
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

struct ExactSolver::Impl {
  Impl(const CircuitSpec& spec, const ExactSolverOptions& options)
      : options(options), system(spec), lay(system.layout()) {}

  const ExactSolverOptions& options;  // the owning ExactSolver's
  detail::SchurSystem system;
  detail::NodeLayout lay;
  RowMajorMatrix g;  // programmed conductances, S
  bool programmed = false;
  Eigen::MatrixXd response;  // linear cells: the exact transfer matrix, once a block made it worth it
  int width = 1;  // RHS interleave of the buffers below (the last block's KB)
  std::vector<double> row_volts, col_volts, u, v, acc, slope, source;

  int block_width() const { return lay.u_count() <= kWideBlockNodes ? detail::kMaxBlock : 4; }
  void require_programmed() const {
    if (!programmed) throw core::ModelError("exact solver: currents() before program()");
  }
  void solve_chunk(const Eigen::MatrixXd* V, int k0, int kk, SolveReport& report);
  template <int KB>
  detail::PcgOutcome solve_block(const Eigen::MatrixXd* V, int k0, int kk);
  void column_currents(int kk, Eigen::Ref<Eigen::MatrixXd> out);
  void row_currents(int kk, Eigen::Ref<Eigen::MatrixXd> out);
  int newton(const double* volts, double* currents, int input, SolveReport& report);
  void linearize();
  NodeVoltages expand() const;
  [[noreturn]] void fail(const detail::PcgOutcome& o, int input, const char* what) const;
};

// Solves problems k0 .. k0+kk-1 of a batch: inputs V(:, k0 + k) at the row terminals, or (V null) the
// adjoint problems with 1 V at column terminal k0 + k and all rows at 0 V. Leaves u, v (width KB).
template <int KB>
detail::PcgOutcome ExactSolver::Impl::solve_block(const Eigen::MatrixXd* V, int k0, int kk) {
  width = KB;
  detail::BlockDrive drive;
  if (V) {
    row_volts.assign(static_cast<std::size_t>(lay.rows) * KB, 0.0);
    for (int i = 0; i < lay.rows; ++i)
      for (int k = 0; k < kk; ++k) row_volts[i * KB + k] = (*V)(i, k0 + k);
    drive.row_volts = row_volts.data();
  } else {
    col_volts.assign(static_cast<std::size_t>(lay.cols) * KB, 0.0);
    for (int k = 0; k < kk; ++k) col_volts[(k0 + k) * KB + k] = 1.0;
    drive.col_volts = col_volts.data();
  }
  u.resize(static_cast<std::size_t>(lay.u_count()) * KB);
  v.resize(static_cast<std::size_t>(lay.v_count()) * KB);
  const detail::PcgControl control{options.tolerance, 0.0, options.max_iterations};
  return system.template solve<KB>(drive, control, false, u.data(), v.data());
}

// Solves problems k0 .. k0+kk-1 (kk <= 8) with the narrowest block that holds them.
void ExactSolver::Impl::solve_chunk(const Eigen::MatrixXd* V, int k0, int kk, SolveReport& report) {
  detail::PcgOutcome o;
  if (kk == 1) {
    o = solve_block<1>(V, k0, kk);
  } else if (kk <= 4) {
    o = solve_block<4>(V, k0, kk);
  } else {
    o = solve_block<8>(V, k0, kk);
  }
  if (!o.converged) fail(o, k0 + o.worst, "PCG");
  report.iterations = std::max(report.iterations, o.iterations);
  report.residual = std::max(report.residual, o.residual);
}

void ExactSolver::Impl::fail(const detail::PcgOutcome& o, int input, const char* what) const {
  throw core::NumericalError(fmt::format(
      "exact IR-drop solver ({}): no convergence after {} iterations, relative residual {:.3g} > "
      "tolerance {:.3g} (input vector {}, {} x {} array)",
      what, o.iterations, o.residual, options.tolerance, input, lay.rows, lay.cols));
}

// out(j, k) = current into column j's terminal(s) = sum over the column's cells of the device current.
void ExactSolver::Impl::column_currents(int kk, Eigen::Ref<Eigen::MatrixXd> out) {
  const std::size_t C = lay.cols, W = width;
  const std::size_t us = lay.full_rows() ? W : 0;  // stride of u along a row (0: the row is one node)
  acc.assign(C * W, 0.0);
  for (int i = 0; i < lay.rows; ++i) {
    const double* gi = g.data() + i * C;
    const double* ui = &u[static_cast<std::size_t>(lay.u_node(i, 0)) * W];
    const double* vi = &v[static_cast<std::size_t>(lay.v_node(i, 0)) * W];
    if (options.iv.linear()) {
      for (std::size_t j = 0; j < C; ++j)
        for (std::size_t k = 0; k < W; ++k) acc[j * W + k] += gi[j] * (ui[j * us + k] - vi[j * W + k]);
    } else {
      for (std::size_t j = 0; j < C; ++j)
        for (std::size_t k = 0; k < W; ++k) acc[j * W + k] += options.iv.current(gi[j], ui[j * us + k] - vi[j * W + k]);
    }
  }
  for (std::size_t j = 0; j < C; ++j)
    for (int k = 0; k < kk; ++k) out(j, k) = acc[j * W + k];
}

// out(i, k) = current from the network into row i's terminal (linear cells; adjoint problems).
void ExactSolver::Impl::row_currents(int kk, Eigen::Ref<Eigen::MatrixXd> out) {
  const int W = width;
  for (int i = 0; i < lay.rows; ++i) {
    std::array<double, detail::kMaxBlock> a{};
    for (int j = 0; j < lay.cols; ++j) {
      const double* un = &u[static_cast<std::size_t>(lay.u_node(i, j)) * W];
      const double* vn = &v[static_cast<std::size_t>(lay.v_node(i, j)) * W];
      for (int k = 0; k < W; ++k) a[k] += g(i, j) * (vn[k] - un[k]);
    }
    for (int k = 0; k < kk; ++k) out(i, k) = a[k];
  }
}

// Small-signal conductances and companion current sources of every cell at the voltages in u, v.
void ExactSolver::Impl::linearize() {
  const std::size_t cells = static_cast<std::size_t>(lay.rows) * lay.cols;
  slope.resize(cells);
  source.resize(cells);
  for (int i = 0; i < lay.rows; ++i)
    for (int j = 0; j < lay.cols; ++j) {
      const std::size_t c = static_cast<std::size_t>(i) * lay.cols + j;
      const double dv = u[lay.u_node(i, j)] - v[lay.v_node(i, j)];
      const device::CellIV::Operating op = options.iv.operating_point(g(i, j), dv);
      slope[c] = op.slope;
      source[c] = op.current - op.slope * dv;
    }
}

// Newton's method for one input (volts: R entries). Each step linearises the cells at the present
// voltages and solves that network by PCG warm-started from them; it stops once the present voltages
// already satisfy the linearised network to the tolerance. Returns the Newton steps taken.
int ExactSolver::Impl::newton(const double* volts, double* currents, int input, SolveReport& report) {
  width = 1;
  u.assign(lay.u_count(), 0.0);
  v.assign(lay.v_count(), 0.0);
  double previous = std::numeric_limits<double>::infinity();
  for (int step = 1; step <= kMaxNewtonSteps; ++step) {
    linearize();
    system.assemble(slope.data());
    const detail::BlockDrive drive{volts, nullptr, source.data()};
    const detail::PcgControl control{options.tolerance, kNewtonForcing, options.max_iterations};
    const detail::PcgOutcome o = system.solve<1>(drive, control, step > 1, u.data(), v.data());
    if (!o.converged) fail(o, input, "Newton step");
    const double r0 = o.initial_residual;
    const bool stalled = r0 <= kNewtonFloor * options.tolerance && r0 > 0.5 * previous;
    if (step > 1 && (r0 <= options.tolerance || stalled)) {
      report.residual = std::max(report.residual, o.residual);
      column_currents(1, Eigen::Map<Eigen::MatrixXd>(currents, lay.cols, 1));
      return step;
    }
    previous = r0;
  }
  throw core::NumericalError(fmt::format(
      "exact IR-drop solver (Newton): no convergence after {} iterations, relative residual {:.3g} > "
      "tolerance {:.3g} (input vector {}, {} x {} array)",
      kMaxNewtonSteps, previous, options.tolerance, input, lay.rows, lay.cols));
}

NodeVoltages ExactSolver::Impl::expand() const {
  NodeVoltages out{Eigen::MatrixXd(lay.rows, lay.cols), Eigen::MatrixXd(lay.rows, lay.cols)};
  for (int i = 0; i < lay.rows; ++i)
    for (int j = 0; j < lay.cols; ++j) {
      out.u(i, j) = u[static_cast<std::size_t>(lay.u_node(i, j)) * width];
      out.v(i, j) = v[static_cast<std::size_t>(lay.v_node(i, j)) * width];
    }
  return out;
}

ExactSolver::ExactSolver(const CircuitSpec& spec, ExactSolverOptions options) : spec_(spec), options_(options) {
  check_spec(spec_);
  check_options(options_);
  report_.method = options_.iv.linear() ? "schur-pcg" : "newton-schur-pcg";
  impl_ = std::make_unique<Impl>(spec_, options_);
}

ExactSolver::~ExactSolver() = default;

void ExactSolver::program(const Eigen::MatrixXd& G) {
  if (G.rows() != spec_.rows || G.cols() != spec_.cols)
    throw core::ModelError(
        fmt::format("exact solver: G is {} x {}, the array is {} x {}", G.rows(), G.cols(), spec_.rows, spec_.cols));
  for (Eigen::Index c = 0; c < G.cols(); ++c)
    for (Eigen::Index r = 0; r < G.rows(); ++r)
      if (!(G(r, c) > 0.0) || !std::isfinite(G(r, c)))
        throw core::ModelError(
            fmt::format("exact solver: conductance G({}, {}) = {} S must be finite and > 0", r, c, G(r, c)));
  impl_->g = G;
  if (options_.iv.linear()) impl_->system.assemble(impl_->g.data());
  impl_->response.resize(0, 0);
  impl_->programmed = true;
}

Eigen::MatrixXd ExactSolver::currents(const Eigen::MatrixXd& V) {
  impl_->require_programmed();
  if (V.rows() != spec_.rows)
    throw core::ModelError(fmt::format("exact solver: V has {} rows, the array has {}", V.rows(), spec_.rows));
  if (!V.allFinite()) throw core::ModelError("exact solver: input voltages must be finite");
  const auto t0 = Clock::now();
  report_ = SolveReport{};
  const int K = static_cast<int>(V.cols());
  Eigen::MatrixXd I(spec_.cols, K);
  if (!options_.iv.linear()) {
    report_.method = "newton-schur-pcg";
    Eigen::VectorXd x(spec_.rows), y(spec_.cols);
    for (int k = 0; k < K; ++k) {
      x = V.col(k);
      report_.iterations = std::max(report_.iterations, impl_->newton(x.data(), y.data(), k, report_));
      I.col(k) = y;
    }
  } else if (spec_.ideal()) {
    report_.method = "ideal";
    I = ideal_currents(impl_->g, V);
  } else if (impl_->response.size() > 0 || K >= std::min(spec_.rows, spec_.cols)) {
    // A block at least as wide as min(R, C) costs as many solves as the array's exact linear response;
    // computed once per programmed array, it answers this and every later block with one product.
    if (impl_->response.size() == 0) impl_->response = transfer_matrix();
    report_.method = "linear-response";
    I.noalias() = impl_->response.transpose() * V;
  } else {
    report_.method = "schur-pcg";
    const int width = impl_->block_width();
    for (int k0 = 0; k0 < K; k0 += width) {
      const int kk = std::min(width, K - k0);
      impl_->solve_chunk(&V, k0, kk, report_);
      impl_->column_currents(kk, I.middleCols(k0, kk));
    }
  }
  report_.seconds = seconds_since(t0);
  return I;
}

NodeVoltages ExactSolver::nodes(const Eigen::VectorXd& x) {
  impl_->require_programmed();
  if (x.size() != spec_.rows)
    throw core::ModelError(
        fmt::format("exact solver: input has {} entries, the array has {} rows", x.size(), spec_.rows));
  if (!x.allFinite()) throw core::ModelError("exact solver: input voltages must be finite");
  const auto t0 = Clock::now();
  report_ = SolveReport{};
  report_.method = options_.iv.linear() ? "schur-pcg" : "newton-schur-pcg";
  if (options_.iv.linear()) {
    const Eigen::MatrixXd V = x;
    impl_->solve_chunk(&V, 0, 1, report_);
  } else {
    Eigen::VectorXd volts = x, y(spec_.cols);
    report_.iterations = impl_->newton(volts.data(), y.data(), 0, report_);
  }
  report_.seconds = seconds_since(t0);
  return impl_->expand();
}

Eigen::MatrixXd ExactSolver::transfer_matrix() {
  impl_->require_programmed();
  if (!options_.iv.linear()) throw core::ModelError("exact solver: transfer_matrix() needs linear cells");
  const auto t0 = Clock::now();
  report_ = SolveReport{};
  report_.method = spec_.ideal() ? "ideal" : "schur-pcg";
  Eigen::MatrixXd M(spec_.rows, spec_.cols);
  const int width = impl_->block_width();
  if (spec_.ideal()) {
    M = impl_->g;
  } else if (spec_.rows <= spec_.cols) {
    // Row i of M: the column currents for a unit input on row i.
    const Eigen::MatrixXd unit = Eigen::MatrixXd::Identity(spec_.rows, spec_.rows);
    Eigen::MatrixXd block(spec_.cols, width);
    for (int k0 = 0; k0 < spec_.rows; k0 += width) {
      const int kk = std::min(width, spec_.rows - k0);
      impl_->solve_chunk(&unit, k0, kk, report_);
      impl_->column_currents(kk, block.leftCols(kk));
      M.middleRows(k0, kk) = block.leftCols(kk).transpose();
    }
  } else {
    // Column j of M by reciprocity: the row-terminal currents for 1 V at column j's terminal.
    for (int k0 = 0; k0 < spec_.cols; k0 += width) {
      const int kk = std::min(width, spec_.cols - k0);
      impl_->solve_chunk(nullptr, k0, kk, report_);
      impl_->row_currents(kk, M.middleCols(k0, kk));
    }
  }
  report_.seconds = seconds_since(t0);
  return M;
}

const core::Schema& exact_solver_schema() {
  using core::ParamSpec;
  static const core::Schema schema{
      "ir_drop.exact",
      "exact nodal solution of the array's resistor network (Schur-complement PCG with line solves)",
      {
          ParamSpec::real("tolerance", core::Dim::kNone, "1e-12",
                          "relative residual ||f - S u|| / ||f|| at which the iterative solve stops")
              .above(0.0)
              .at_most(1e-3),
          ParamSpec::integer("max_iterations", "5000", "PCG iterations before the solve is reported as failed")
              .at_least(1),
      }};
  return schema;
}

std::unique_ptr<IrDropModel> make_exact_solver(const CircuitSpec& spec, const core::Params& params) {
  ExactSolverOptions options;
  options.tolerance = params.real("tolerance");
  options.max_iterations = static_cast<int>(params.integer("max_iterations"));
  return std::make_unique<ExactSolver>(spec, options);
}

}  // namespace cimlab::xbar
