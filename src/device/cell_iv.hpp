#pragma once
// Cell current-voltage characteristic (physics.md section 2, class 4), shared by the crossbar solvers,
// the device model and (later) the analog training layers: one copy of each formula.
//   linear: I = G * V
//   cubic:  I = G * V * (1 + (V / v0)^2)          (polynomial form, alpha = 1 / v0^2)
//   sinh:   I = G * v0 * sinh(V / v0)             (Yang et al., Nat. Nanotechnol. 2008; slope G at V = 0)
// G in siemens, V and v0 in volts. Pure functions, thread-safe.
#include <cmath>

namespace cimlab::device {

struct CellIV {
  enum class Kind { kLinear, kCubic, kSinh };
  Kind kind = Kind::kLinear;
  double v0 = 1.0;  // characteristic voltage, > 0

  bool linear() const { return kind == Kind::kLinear; }

  double current(double g, double v) const {
    switch (kind) {
      case Kind::kLinear: return g * v;
      case Kind::kCubic: { const double x = v / v0; return g * v * (1.0 + x * x); }
      case Kind::kSinh: return g * v0 * std::sinh(v / v0);
    }
    return g * v;
  }
  // Current and slope together (Newton's method needs both): one exponential for sinh and cosh.
  struct Operating {
    double current;  // A
    double slope;    // S
  };
  Operating operating_point(double g, double v) const {
    if (kind != Kind::kSinh) return {current(g, v), slope(g, v)};
    const double e = std::exp(v / v0), inv = 1.0 / e;
    return {g * v0 * 0.5 * (e - inv), g * 0.5 * (e + inv)};
  }
  // dI/dV at V: the small-signal conductance (used by Newton's method).
  double slope(double g, double v) const {
    switch (kind) {
      case Kind::kLinear: return g;
      case Kind::kCubic: { const double x = v / v0; return g * (1.0 + 3.0 * x * x); }
      case Kind::kSinh: return g * std::cosh(v / v0);
    }
    return g;
  }
};

}  // namespace cimlab::device
