#include "xbar/crossbar_netlist.hpp"

#include <numeric>

namespace cimlab::xbar {
namespace {

// Union-find over the raw nodes: u(i, j), v(i, j), row terminals, column terminals.
class RawNodes {
 public:
  RawNodes(int rows, int cols) : rows_(rows), cols_(cols), parent_(2 * rows * cols + rows + cols) {
    std::iota(parent_.begin(), parent_.end(), 0);
  }
  int u(int i, int j) const { return i * cols_ + j; }
  int v(int i, int j) const { return rows_ * cols_ + i * cols_ + j; }
  int row_terminal(int i) const { return 2 * rows_ * cols_ + i; }
  int col_terminal(int j) const { return 2 * rows_ * cols_ + rows_ + j; }
  int size() const { return static_cast<int>(parent_.size()); }
  int find(int x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void join(int a, int b) { parent_[find(a)] = find(b); }

 private:
  int rows_, cols_;
  std::vector<int> parent_;
};

// Each raw element of the circuit, before merging: (raw a, raw b, resistance in ohm, cell or -1).
struct RawBranch {
  int a, b;
  double resistance;
  int cell;
};

std::vector<RawBranch> raw_branches(const CircuitSpec& s, const Eigen::MatrixXd& G, const RawNodes& n) {
  std::vector<RawBranch> out;
  for (int i = 0; i < s.rows; ++i) {
    for (int j = 0; j + 1 < s.cols; ++j) out.push_back({n.u(i, j), n.u(i, j + 1), s.r_row, -1});
    out.push_back({n.row_terminal(i), n.u(i, 0), s.r_driver, -1});
    if (s.two_sided_drive) out.push_back({n.row_terminal(i), n.u(i, s.cols - 1), s.r_driver, -1});
  }
  for (int j = 0; j < s.cols; ++j) {
    for (int i = 0; i + 1 < s.rows; ++i) out.push_back({n.v(i, j), n.v(i + 1, j), s.r_col, -1});
    out.push_back({n.v(s.rows - 1, j), n.col_terminal(j), s.r_sense, -1});
    if (s.two_sided_sense) out.push_back({n.v(0, j), n.col_terminal(j), s.r_sense, -1});
  }
  for (int i = 0; i < s.rows; ++i)
    for (int j = 0; j < s.cols; ++j) out.push_back({n.u(i, j), n.v(i, j), 1.0 / G(i, j), i * s.cols + j});
  return out;
}

}  // namespace

CrossbarNetlist build_netlist(const CircuitSpec& spec, const Eigen::MatrixXd& G) {
  RawNodes raw(spec.rows, spec.cols);
  const std::vector<RawBranch> branches = raw_branches(spec, G, raw);
  for (const RawBranch& b : branches)
    if (b.resistance == 0.0) raw.join(b.a, b.b);
  // Name every class: the terminal it holds, else the next free index.
  std::vector<NetNode> name(raw.size());
  std::vector<int> named(raw.size(), 0);
  for (int i = 0; i < spec.rows; ++i) {
    const int root = raw.find(raw.row_terminal(i));
    name[root] = {NetNode::Kind::kRowTerminal, i};
    named[root] = 1;
  }
  for (int j = 0; j < spec.cols; ++j) {
    const int root = raw.find(raw.col_terminal(j));
    name[root] = {NetNode::Kind::kColTerminal, j};
    named[root] = 1;
  }
  CrossbarNetlist net;
  net.rows = spec.rows;
  net.cols = spec.cols;
  const auto node = [&](int x) {
    const int root = raw.find(x);
    if (!named[root]) name[root] = {NetNode::Kind::kFree, net.free_count++}, named[root] = 1;
    return name[root];
  };
  for (int i = 0; i < spec.rows; ++i)
    for (int j = 0; j < spec.cols; ++j) {
      net.u_nodes.push_back(node(raw.u(i, j)));
      net.v_nodes.push_back(node(raw.v(i, j)));
    }
  for (const RawBranch& b : branches) {
    if (b.resistance == 0.0) continue;
    const NetNode a = node(b.a), c = node(b.b);
    if (a == c) continue;
    const double g = b.cell >= 0 ? G(b.cell / spec.cols, b.cell % spec.cols) : 1.0 / b.resistance;
    net.branches.push_back({a, c, g, b.cell});
  }
  return net;
}

}  // namespace cimlab::xbar
