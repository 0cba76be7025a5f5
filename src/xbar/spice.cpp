#include "xbar/spice.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/errors.hpp"
#include "xbar/crossbar_netlist.hpp"

namespace cimlab::xbar {
namespace {

std::string node_name(const NetNode& n) {
  switch (n.kind) {
    case NetNode::Kind::kFree: return fmt::format("n{}", n.index);
    case NetNode::Kind::kRowTerminal: return fmt::format("in{}", n.index);
    case NetNode::Kind::kColTerminal: return fmt::format("out{}", n.index);
  }
  return "0";
}

// The cell law of `iv` for conductance g (S) as a B-source current expression of v(a, b).
std::string cell_current_expression(const device::CellIV& iv, double g, const std::string& a, const std::string& b) {
  const std::string v = fmt::format("v({},{})", a, b);
  switch (iv.kind) {
    case device::CellIV::Kind::kCubic:
      return fmt::format("{:.17g}*{}*(1+({}/{:.17g})*({}/{:.17g}))", g, v, v, iv.v0, v, iv.v0);
    case device::CellIV::Kind::kSinh: return fmt::format("{:.17g}*sinh({}/{:.17g})", g * iv.v0, v, iv.v0);
    case device::CellIV::Kind::kLinear: break;
  }
  return fmt::format("{:.17g}*{}", g, v);
}

void write_branches(std::ostream& os, const CrossbarNetlist& net, const device::CellIV& iv) {
  int index = 0;
  for (const NetBranch& b : net.branches) {
    const std::string a = node_name(b.a), c = node_name(b.b);
    if (b.cell >= 0 && !iv.linear()) {
      fmt::print(os, "b{} {} {} i={}\n", index++, a, c, cell_current_expression(iv, b.conductance, a, c));
    } else {
      fmt::print(os, "r{} {} {} {:.17g}\n", index++, a, c, 1.0 / b.conductance);
    }
  }
}

}  // namespace

std::string spice_column_current(int j) { return fmt::format("i(vcol{})", j); }

void write_spice_netlist(std::ostream& os, const CircuitSpec& spec, const Eigen::MatrixXd& G,
                         const Eigen::VectorXd& V, const SpiceOptions& options) {
  if (G.rows() != spec.rows || G.cols() != spec.cols || V.size() != spec.rows)
    throw core::ModelError(fmt::format("spice: G is {} x {} and V has {} entries for a {} x {} array", G.rows(),
                                       G.cols(), V.size(), spec.rows, spec.cols));
  const CrossbarNetlist net = build_netlist(spec, G);
  fmt::print(os, "* {}\n", options.title);
  fmt::print(os, "* {} x {} crossbar: r_row {} ohm, r_col {} ohm, r_driver {} ohm, r_sense {} ohm{}{}\n", spec.rows,
             spec.cols, spec.r_row, spec.r_col, spec.r_driver, spec.r_sense,
             spec.two_sided_drive ? ", two-sided drive" : "", spec.two_sided_sense ? ", two-sided sense" : "");
  for (int i = 0; i < spec.rows; ++i) fmt::print(os, "vin{} in{} 0 dc {:.17g}\n", i, i, V(i));
  for (int j = 0; j < spec.cols; ++j) fmt::print(os, "vcol{} out{} 0 dc 0\n", j, j);
  write_branches(os, net, options.iv);
  if (!options.iv.linear()) fmt::print(os, ".options reltol=1e-9 abstol=1e-18 vntol=1e-12\n");
  fmt::print(os, ".control\nset filetype=ascii\nop\nwrite {}", options.raw_file);
  for (int j = 0; j < spec.cols; ++j) fmt::print(os, " {}", spice_column_current(j));
  fmt::print(os, "\nquit 0\n.endc\n.end\n");
}

}  // namespace cimlab::xbar
