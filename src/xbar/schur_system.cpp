#include "xbar/schur_system.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace cimlab::xbar::detail {
namespace {

// The KB right-hand sides of one node, as an Eigen packet (AVX2 registers for KB = 4, 8).
template <int KB>
using Pack = Eigen::Array<double, KB, 1>;
template <int KB>
Eigen::Map<Pack<KB>> pk(double* x) {
  return Eigen::Map<Pack<KB>>(x);
}
template <int KB>
Eigen::Map<const Pack<KB>> pk(const double* x) {
  return Eigen::Map<const Pack<KB>>(x);
}

// Rows swept together by the row-line Thomas solves: independent recurrences hide the FMA latency.
template <int KB>
constexpr int kRowGroup = KB >= 8 ? 2 : (KB >= 4 ? 4 : 8);

// The wire pattern of one family (`length` nodes per line, n nodes in all): each line is attached to
// its terminal through r_end ohm at p = 0 (rows) or p = length - 1 (columns, sensed_at_end) and, if
// two_sided, at the other end too (the same node when length == 1). A segment next to a fixed node
// becomes a terminal conductance of its free end.
void init_wires(Lines& L, std::size_t n, int length, double r_wire, double r_end, bool two_sided, bool sensed_at_end) {
  L.term.assign(length, 0.0);
  L.link.assign(length, 0.0);
  L.fixed.assign(length, 0);
  L.h.assign(n, 0.0);
  L.inv.assign(n, 0.0);
  const int first = sensed_at_end ? length - 1 : 0;
  const int ends[2] = {first, length - 1 - first};
  for (int e = 0; e < (two_sided ? 2 : 1); ++e) {
    if (r_end == 0.0) {
      L.fixed[ends[e]] = 1;
    } else {
      L.term[ends[e]] += 1.0 / r_end;
    }
  }
  for (int p = 0; p + 1 < length; ++p) {
    if (!L.fixed[p] && !L.fixed[p + 1]) {
      L.link[p] = 1.0 / r_wire;
    } else if (!L.fixed[p + 1]) {
      L.term[p + 1] += 1.0 / r_wire;
    } else if (!L.fixed[p]) {
      L.term[p] += 1.0 / r_wire;
    }
  }
  L.any_fixed = std::any_of(L.fixed.begin(), L.fixed.end(), [](std::uint8_t f) { return f != 0; });
}

// Thomas factorisation of every line, branch-free: the pivot of node p is its own conductance h plus
// the series combination of the incoming link with the upstream excess plus its outgoing link, a sum
// of positive terms (no cancellation). A fixed node (h = 1, no links) gets pivot 1: an identity row.
void factor_lines(Lines& L, int lines, int length, int line_stride, int pos_stride) {
  std::vector<double> excess(lines, 1.0), prev(lines, 0.0);
  for (int p = 0; p < length; ++p) {
    for (int l = 0; l < lines; ++l) {
      const std::size_t n = static_cast<std::size_t>(l) * line_stride + static_cast<std::size_t>(p) * pos_stride;
      const double t = L.h[n] + prev[l] * excess[l] / (prev[l] + excess[l]);
      L.inv[n] = 1.0 / (t + L.link[p]);
      excess[l] = t;
      prev[l] = L.link[p];
    }
  }
}

// w <- Ac^-1 w on a v-space block: every column line at once, vectorised across columns.
template <int KB>
void solve_cols(const Lines& L, const NodeLayout& lay, double* w) {
  const std::size_t C = lay.cols;
  for (int q = 0; q < lay.col_nodes; ++q) {
    const double* inv = &L.inv[q * C];
    double* wq = w + q * C * KB;
    if (q == 0) {
      for (std::size_t j = 0; j < C; ++j) pk<KB>(wq + j * KB) *= inv[j];
      continue;
    }
    const double link = L.link[q - 1];
    const double* wp = wq - C * KB;
    for (std::size_t j = 0; j < C; ++j)
      pk<KB>(wq + j * KB) = inv[j] * (pk<KB>(wq + j * KB) + link * pk<KB>(wp + j * KB));
  }
  for (int q = lay.col_nodes - 2; q >= 0; --q) {
    const double* inv = &L.inv[q * C];
    const double link = L.link[q];
    double* wq = w + q * C * KB;
    const double* wn = wq + C * KB;
    for (std::size_t j = 0; j < C; ++j) pk<KB>(wq + j * KB) += (link * inv[j]) * pk<KB>(wn + j * KB);
  }
}

// w += D^T p: cell currents of row-node voltages into the column nodes.
template <int KB>
void couple_to_cols(const NodeLayout& lay, const double* g, const double* p, double* w) {
  const std::size_t C = lay.cols;
  const std::size_t ps = lay.full_rows() ? KB : 0;  // stride of p along j (0: the row is one node)
  for (int i = 0; i < lay.rows; ++i) {
    const double* gi = g + i * C;
    const double* pi = p + static_cast<std::size_t>(i) * lay.row_pitch * KB;
    double* wi = w + static_cast<std::size_t>(lay.v_node(i, 0)) * KB;
    for (std::size_t j = 0; j < C; ++j) pk<KB>(wi + j * KB) += gi[j] * pk<KB>(pi + j * ps);
  }
}

// q += D w: cell currents of column-node voltages into the row nodes.
template <int KB>
void couple_to_rows(const NodeLayout& lay, const double* g, const double* w, double* q) {
  const std::size_t C = lay.cols;
  for (int i = 0; i < lay.rows; ++i) {
    const double* gi = g + i * C;
    const double* wi = w + static_cast<std::size_t>(lay.v_node(i, 0)) * KB;
    double* qi = q + static_cast<std::size_t>(i) * lay.row_pitch * KB;
    if (lay.full_rows()) {
      for (std::size_t j = 0; j < C; ++j) pk<KB>(qi + j * KB) += gi[j] * pk<KB>(wi + j * KB);
    } else {
      Pack<KB> s = Pack<KB>::Zero();
      for (std::size_t j = 0; j < C; ++j) s += gi[j] * pk<KB>(wi + j * KB);
      pk<KB>(qi) += s;
    }
  }
}

// acc[k] += a . b over `nodes` nodes: 8-wide packets over the interleaved data, folded per RHS at the
// end (8 is a multiple of KB), with two accumulators to hide the FMA latency.
template <int KB>
void add_dot(const double* a, const double* b, std::size_t nodes, double* acc) {
  const std::size_t n = nodes * KB;
  Pack<8> s0 = Pack<8>::Zero(), s1 = Pack<8>::Zero();
  std::size_t e = 0;
  for (; e + 16 <= n; e += 16) {
    s0 += pk<8>(a + e) * pk<8>(b + e);
    s1 += pk<8>(a + e + 8) * pk<8>(b + e + 8);
  }
  s0 += s1;
  for (int l = 0; l < 8; ++l) acc[l % KB] += s0[l];
  for (; e < n; ++e) acc[e % KB] += a[e] * b[e];
}

// q = Ar p - g x along one full row of n nodes (difference form: h p + link (p - neighbour), accurate
// for smooth p).
template <int KB>
void row_stencil(const double* h, const double* link, const double* g, const double* p, const double* x,
                 double* q, int n) {
  if (n == 1) {
    pk<KB>(q) = h[0] * pk<KB>(p) - g[0] * pk<KB>(x);
    return;
  }
  pk<KB>(q) = h[0] * pk<KB>(p) + link[0] * (pk<KB>(p) - pk<KB>(p + KB)) - g[0] * pk<KB>(x);
  for (int c = 1; c + 1 < n; ++c) {
    const auto pm = pk<KB>(p + c * KB);
    pk<KB>(q + c * KB) = h[c] * pm + link[c - 1] * (pm - pk<KB>(p + (c - 1) * KB)) +
                         link[c] * (pm - pk<KB>(p + (c + 1) * KB)) - g[c] * pk<KB>(x + c * KB);
  }
  const int e = n - 1;
  const auto pm = pk<KB>(p + e * KB);
  pk<KB>(q + e * KB) = h[e] * pm + link[e - 1] * (pm - pk<KB>(p + (e - 1) * KB)) - g[e] * pk<KB>(x + e * KB);
}

// Rows i0 .. i0+NR-1 (n nodes each, `pitch` apart), swept together: y += alpha p, r -= alpha qz
// (skipped when alpha is null), then qz <- Ar^-1 r by Thomas sweeps. Adds r . r to acc[k] and r . z
// to acc[KB + k].
template <int KB, int NR>
void update_row_group(const Lines& L, int n, int pitch, int i0, const double* alpha, const double* p, double* y,
                      double* r, double* qz, double* acc) {
  const std::size_t base = static_cast<std::size_t>(i0) * pitch;
  if (alpha) {
    const auto a = pk<KB>(alpha);
    for (std::size_t e = base * KB; e < (base + static_cast<std::size_t>(NR) * pitch) * KB; e += KB) {
      pk<KB>(y + e) += a * pk<KB>(p + e);
      pk<KB>(r + e) -= a * pk<KB>(qz + e);
    }
  }
  std::array<Pack<KB>, NR> rr, rz;
  rr.fill(Pack<KB>::Zero());
  rz.fill(Pack<KB>::Zero());
  for (int c = 0; c < n; ++c)
    for (int g = 0; g < NR; ++g) {
      const std::size_t m = base + static_cast<std::size_t>(g) * pitch + c;
      const auto rm = pk<KB>(r + m * KB);
      rr[g] += rm * rm;
      if (c == 0) {
        pk<KB>(qz + m * KB) = L.inv[m] * rm;
      } else {
        pk<KB>(qz + m * KB) = L.inv[m] * (rm + L.link[c - 1] * pk<KB>(qz + (m - 1) * KB));
      }
    }
  for (int c = n - 1; c >= 0; --c)
    for (int g = 0; g < NR; ++g) {
      const std::size_t m = base + static_cast<std::size_t>(g) * pitch + c;
      if (c + 1 < n) pk<KB>(qz + m * KB) += (L.link[c] * L.inv[m]) * pk<KB>(qz + (m + 1) * KB);
      rz[g] += pk<KB>(r + m * KB) * pk<KB>(qz + m * KB);
    }
  for (int g = 0; g < NR; ++g) {
    pk<KB>(acc) += rr[g];
    pk<KB>(acc + KB) += rz[g];
  }
}

}  // namespace

NodeLayout NodeLayout::of(const CircuitSpec& spec) {
  NodeLayout lay;
  lay.rows = spec.rows;
  lay.cols = spec.cols;
  lay.row_nodes = spec.r_row == 0.0 ? 1 : spec.cols;
  lay.row_pitch = lay.row_nodes == 1 ? 1 : lay.row_nodes + (24 - lay.row_nodes % 16) % 16;
  lay.col_nodes = spec.r_col == 0.0 ? 1 : spec.rows;
  return lay;
}

SchurSystem::SchurSystem(const CircuitSpec& spec) : layout_(NodeLayout::of(spec)) {
  const NodeLayout& lay = layout_;
  init_wires(rows_, lay.u_count(), lay.row_nodes, spec.r_row, spec.r_driver, spec.two_sided_drive, false);
  init_wires(cols_, lay.v_count(), lay.col_nodes, spec.r_col, spec.r_sense, spec.two_sided_sense, true);
}

void SchurSystem::assemble(const double* cell_g) {
  const NodeLayout& lay = layout_;
  const std::size_t C = lay.cols;
  if (rows_.any_fixed || cols_.any_fixed) cell_g_.assign(cell_g, cell_g + lay.rows * C);
  g_uv_.resize(lay.rows * C);
  for (int i = 0; i < lay.rows; ++i)
    for (int p = 0; p < lay.row_nodes; ++p) rows_.h[i * lay.row_pitch + p] = rows_.fixed[p] ? 1.0 : rows_.term[p];
  for (int q = 0; q < lay.col_nodes; ++q)
    for (std::size_t j = 0; j < C; ++j) cols_.h[q * C + j] = cols_.fixed[q] ? 1.0 : cols_.term[q];
  for (int i = 0; i < lay.rows; ++i) {
    const int q = lay.full_cols() ? i : 0;
    const double* gi = cell_g + i * C;
    double* hu = &rows_.h[static_cast<std::size_t>(i) * lay.row_pitch];
    double* hv = &cols_.h[q * C];
    double* guv = &g_uv_[i * C];
    const double col_free = cols_.fixed[q] ? 0.0 : 1.0;
    for (std::size_t j = 0; j < C; ++j) {
      const std::size_t p = lay.full_rows() ? j : 0;
      const double row_free = rows_.fixed[p] ? 0.0 : 1.0;
      hu[p] += row_free * gi[j];
      hv[j] += col_free * gi[j];
      guv[j] = row_free * col_free * gi[j];
    }
  }
  factor_lines(rows_, lay.rows, lay.row_nodes, lay.row_pitch, 1);
  factor_lines(cols_, lay.cols, lay.col_nodes, 1, lay.cols);
}

// bu: terminal and fixed-neighbour currents into free row nodes (0 at fixed ones); bv: the same for
// column nodes, with the terminal voltage at fixed ones (identity rows of Ac). Returns whether bv may
// be nonzero.
template <int KB>
bool SchurSystem::build_rhs(const BlockDrive& d, double* bu, double* bv) const {
  const NodeLayout& lay = layout_;
  const Pack<KB> zero = Pack<KB>::Zero();
  for (int i = 0; i < lay.rows; ++i)
    for (int p = 0; p < lay.row_nodes; ++p) {
      const std::size_t n = static_cast<std::size_t>(i) * lay.row_pitch + p;
      const double t = rows_.fixed[p] ? 0.0 : rows_.term[p];
      pk<KB>(bu + n * KB) = d.row_volts ? Pack<KB>(t * pk<KB>(d.row_volts + i * KB)) : zero;
    }
  for (int q = 0; q < lay.col_nodes; ++q)
    for (int j = 0; j < lay.cols; ++j) {
      const std::size_t n = static_cast<std::size_t>(q) * lay.cols + j;
      const double t = cols_.fixed[q] ? 1.0 : cols_.term[q];
      pk<KB>(bv + n * KB) = d.col_volts ? Pack<KB>(t * pk<KB>(d.col_volts + j * KB)) : zero;
    }
  const bool bv_nonzero = d.col_volts || (rows_.any_fixed && d.row_volts) || d.cell_sources;
  if (!rows_.any_fixed && !cols_.any_fixed && !d.cell_sources) return bv_nonzero;
  for (int i = 0; i < lay.rows; ++i)
    for (int j = 0; j < lay.cols; ++j) {
      const std::size_t c = static_cast<std::size_t>(i) * lay.cols + j;
      const std::size_t nu = lay.u_node(i, j), nv = lay.v_node(i, j);
      const bool fu = rows_.fixed[lay.full_rows() ? j : 0], fv = cols_.fixed[lay.full_cols() ? i : 0];
      if (fu && !fv && d.row_volts) pk<KB>(bv + nv * KB) += cell_g_[c] * pk<KB>(d.row_volts + i * KB);
      if (fv && !fu && d.col_volts) pk<KB>(bu + nu * KB) += cell_g_[c] * pk<KB>(d.col_volts + j * KB);
      if (d.cell_sources && !fu) pk<KB>(bu + nu * KB) -= pk<KB>(d.cell_sources + c * KB);
      if (d.cell_sources && !fv) pk<KB>(bv + nv * KB) += pk<KB>(d.cell_sources + c * KB);
    }
  return bv_nonzero;
}

// p <- z + beta p, then yc <- the forward half of Ac^-1 D^T p (rows in ascending order).
template <int KB>
void SchurSystem::forward_cols(const double* z, const double* beta, double* p, double* yc) const {
  const NodeLayout& lay = layout_;
  const std::size_t C = lay.cols, nu = static_cast<std::size_t>(lay.row_pitch) * KB;
  const std::size_t ps = lay.full_rows() ? KB : 0;
  const auto b = pk<KB>(beta);
  if (!lay.full_cols()) std::fill(yc, yc + C * KB, 0.0);
  for (int i = 0; i < lay.rows; ++i) {
    double* pi = p + i * nu;
    const double* zi = z + i * nu;
    for (std::size_t e = 0; e < nu; e += KB) pk<KB>(pi + e) = pk<KB>(zi + e) + b * pk<KB>(pi + e);
    const double* gi = &g_uv_[i * C];
    if (!lay.full_cols()) {
      for (std::size_t j = 0; j < C; ++j) pk<KB>(yc + j * KB) += gi[j] * pk<KB>(pi + j * ps);
      continue;
    }
    const double* inv = &cols_.inv[i * C];
    double* yi = yc + i * C * KB;
    if (i == 0) {
      for (std::size_t j = 0; j < C; ++j) pk<KB>(yi + j * KB) = (inv[j] * gi[j]) * pk<KB>(pi + j * ps);
      continue;
    }
    const double link = cols_.link[i - 1];
    const double* yp = yi - C * KB;
    for (std::size_t j = 0; j < C; ++j)
      pk<KB>(yi + j * KB) = inv[j] * (gi[j] * pk<KB>(pi + j * ps) + link * pk<KB>(yp + j * KB));
  }
  if (!lay.full_cols())
    for (std::size_t j = 0; j < C; ++j) pk<KB>(yc + j * KB) *= cols_.inv[j];
}

// Backward half of the column solves (rows in descending order), each row then giving
// q_i = (Ar p)_i - (D Ac^-1 D^T p)_i: q = S p. Returns p . q in [k].
template <int KB>
SchurSystem::Dots SchurSystem::backward_cols(const double* p, double* yc, double* q) const {
  const NodeLayout& lay = layout_;
  const std::size_t C = lay.cols, n = lay.row_nodes, pitch = lay.row_pitch, nu = pitch * KB;
  Dots pq{};
  for (int i = lay.rows - 1; i >= 0; --i) {
    double* x = yc + (lay.full_cols() ? i * C * KB : 0);
    if (lay.full_cols() && i + 1 < lay.rows) {
      const double* inv = &cols_.inv[i * C];
      const double link = cols_.link[i];
      const double* xn = x + C * KB;
      for (std::size_t j = 0; j < C; ++j) pk<KB>(x + j * KB) += (link * inv[j]) * pk<KB>(xn + j * KB);
    }
    const double* pi = p + i * nu;
    double* qi = q + i * nu;
    const double* gi = &g_uv_[i * C];
    if (lay.full_rows()) {
      row_stencil<KB>(&rows_.h[i * pitch], rows_.link.data(), gi, pi, x, qi, static_cast<int>(n));
    } else {
      Pack<KB> s = Pack<KB>::Zero();
      for (std::size_t j = 0; j < C; ++j) s += gi[j] * pk<KB>(x + j * KB);
      pk<KB>(qi) = rows_.h[i * pitch] * pk<KB>(pi) - s;
    }
    add_dot<KB>(pi, qi, n, pq.data());
  }
  return pq;
}

// y += alpha p, r -= alpha qz (alpha null: no update), then qz <- Ar^-1 r. Returns r . r in [k] and
// r . z in [KB + k].
template <int KB>
SchurSystem::Dots SchurSystem::update_rows(const double* alpha, const double* p, double* y, double* r,
                                           double* qz) const {
  constexpr int NR = kRowGroup<KB>;
  const int n = layout_.row_nodes, pitch = layout_.row_pitch;
  Dots acc{};
  int i = 0;
  for (; i + NR <= layout_.rows; i += NR) update_row_group<KB, NR>(rows_, n, pitch, i, alpha, p, y, r, qz, acc.data());
  for (; i < layout_.rows; ++i) update_row_group<KB, 1>(rows_, n, pitch, i, alpha, p, y, r, qz, acc.data());
  return acc;
}

template <int KB>
void SchurSystem::set_fixed_rows(const double* row_volts, double* u) const {
  if (!rows_.any_fixed) return;
  for (int i = 0; i < layout_.rows; ++i)
    for (int p = 0; p < layout_.row_nodes; ++p) {
      const std::size_t n = static_cast<std::size_t>(i) * layout_.row_pitch + p;
      if (!rows_.fixed[p]) continue;
      if (row_volts) {
        pk<KB>(u + n * KB) = pk<KB>(row_volts + i * KB);
      } else {
        pk<KB>(u + n * KB).setZero();
      }
    }
}

template <int KB>
PcgOutcome SchurSystem::solve(const BlockDrive& drive, const PcgControl& control, bool warm, double* u, double* v) {
  const std::size_t nu = static_cast<std::size_t>(layout_.u_count()) * KB;
  const std::size_t nv = static_cast<std::size_t>(layout_.v_count()) * KB;
  for (auto* buf : {&r_, &p_, &q_}) {
    buf->resize(std::max(buf->size(), nu));
    std::fill(buf->begin(), buf->begin() + nu, 0.0);  // padding nodes stay 0
  }
  w_.resize(std::max(w_.size(), nv));
  // f = bu + D Ac^-1 bv into r_; v keeps bv until the final column solve.
  if (build_rhs<KB>(drive, r_.data(), v)) {
    std::copy(v, v + nv, w_.data());
    solve_cols<KB>(cols_, layout_, w_.data());
    couple_to_rows<KB>(layout_, g_uv_.data(), w_.data(), r_.data());
  }
  std::array<double, KB> fnorm{};
  add_dot<KB>(r_.data(), r_.data(), layout_.u_count(), fnorm.data());
  for (double& f : fnorm) f = std::sqrt(f);
  if (warm) {
    const std::array<double, KB> zero{};
    set_fixed_rows<KB>(nullptr, u);
    forward_cols<KB>(u, zero.data(), p_.data(), w_.data());
    backward_cols<KB>(p_.data(), w_.data(), q_.data());
    for (std::size_t n = 0; n < nu; ++n) r_[n] -= q_[n];
  } else {
    std::fill(u, u + nu, 0.0);
  }
  const PcgOutcome out = iterate<KB>(fnorm, control, u);
  couple_to_cols<KB>(layout_, g_uv_.data(), u, v);
  solve_cols<KB>(cols_, layout_, v);
  set_fixed_rows<KB>(drive.row_volts, u);
  return out;
}

// PCG on S y = f from the residual in r_; each RHS stops on its own test, converged ones idle.
// Three fused passes per iteration: forward_cols (p update), backward_cols (q = S p), update_rows
// (y, r update and the preconditioner z = Ar^-1 r, kept in q_).
template <int KB>
PcgOutcome SchurSystem::iterate(const std::array<double, KB>& fnorm, const PcgControl& control, double* y) {
  Dots d = update_rows<KB>(nullptr, p_.data(), y, r_.data(), q_.data());
  std::array<double, KB> rr{}, stop{}, rz{}, alpha{}, beta{};
  std::array<bool, KB> active{};
  PcgOutcome out;
  const auto relative = [&](int k) { return fnorm[k] > 0.0 ? std::sqrt(rr[k]) / fnorm[k] : 0.0; };
  int n_active = 0;
  for (int k = 0; k < KB; ++k) {
    rr[k] = d[k];
    rz[k] = d[KB + k];
    stop[k] = std::max(control.tolerance * fnorm[k], control.forcing * std::sqrt(rr[k]));
    active[k] = std::sqrt(rr[k]) > stop[k];
    n_active += active[k];
    out.initial_residual = std::max(out.initial_residual, relative(k));
  }
  int it = 0;
  while (n_active > 0 && it < control.max_iterations) {
    ++it;
    forward_cols<KB>(q_.data(), beta.data(), p_.data(), w_.data());
    const Dots pq = backward_cols<KB>(p_.data(), w_.data(), q_.data());
    for (int k = 0; k < KB; ++k) alpha[k] = active[k] && pq[k] > 0.0 ? rz[k] / pq[k] : 0.0;
    d = update_rows<KB>(alpha.data(), p_.data(), y, r_.data(), q_.data());
    for (int k = 0; k < KB; ++k) {
      rr[k] = d[k];
      if (active[k] && (std::sqrt(rr[k]) <= stop[k] || !(pq[k] > 0.0))) active[k] = false, --n_active;
      beta[k] = active[k] ? d[KB + k] / rz[k] : 0.0;
      rz[k] = d[KB + k];
    }
  }
  out.iterations = it;
  out.converged = true;
  for (int k = 0; k < KB; ++k) {
    if (relative(k) > out.residual) out.worst = k;
    out.residual = std::max(out.residual, relative(k));
    if (std::sqrt(rr[k]) > stop[k]) out.converged = false;
  }
  return out;
}

template PcgOutcome SchurSystem::solve<1>(const BlockDrive&, const PcgControl&, bool, double*, double*);
template PcgOutcome SchurSystem::solve<4>(const BlockDrive&, const PcgControl&, bool, double*, double*);
template PcgOutcome SchurSystem::solve<8>(const BlockDrive&, const PcgControl&, bool, double*, double*);

}  // namespace cimlab::xbar::detail
