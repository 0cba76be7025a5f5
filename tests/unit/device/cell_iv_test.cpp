#include "device/cell_iv.hpp"

#include <gtest/gtest.h>

#include <cmath>

using cimlab::device::CellIV;

TEST(CellIV, SlopeIsTheDerivativeAndOperatingPointAgrees) {
  for (CellIV iv : {CellIV{CellIV::Kind::kLinear, 1.0}, CellIV{CellIV::Kind::kCubic, 0.4}, CellIV{CellIV::Kind::kSinh, 0.25}}) {
    const double g = 3e-5;
    for (double v : {-0.3, -0.05, 0.0, 0.1, 0.2, 0.5}) {
      const double h = 1e-6;
      const double numeric = (iv.current(g, v + h) - iv.current(g, v - h)) / (2 * h);
      EXPECT_NEAR(iv.slope(g, v), numeric, 1e-9 * g + 1e-6 * std::fabs(numeric));
      const CellIV::Operating op = iv.operating_point(g, v);
      EXPECT_NEAR(op.current, iv.current(g, v), 1e-15 + 1e-13 * std::fabs(iv.current(g, v)));
      EXPECT_NEAR(op.slope, iv.slope(g, v), 1e-13 * iv.slope(g, v));
    }
    EXPECT_DOUBLE_EQ(iv.slope(g, 0.0), g);  // every form has slope G at 0 V
  }
}

TEST(CellIV, NonlinearFormsExceedTheLinearCurrent) {
  const CellIV cubic{CellIV::Kind::kCubic, 0.5}, sinh{CellIV::Kind::kSinh, 0.5};
  EXPECT_DOUBLE_EQ(cubic.current(1e-5, 0.5), 2.0 * 1e-5 * 0.5);  // (1 + (v/v0)^2) = 2 at v = v0
  EXPECT_NEAR(sinh.current(1e-5, 0.5), 1e-5 * 0.5 * std::sinh(1.0), 1e-18);
  EXPECT_GT(sinh.current(1e-5, 0.2), 1e-5 * 0.2);
}
