// Gaussian-process regression (see explore/gp.hpp).
#include "explore/gp.hpp"

#include <cmath>
#include <limits>

namespace cimlab::explore {

namespace {
constexpr double kNoise = 1e-6;  // variance of the standardised outputs' noise (keeps the factorisation stable)
constexpr double kLengths[] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0};
}  // namespace

Eigen::MatrixXd GaussianProcess::kernel(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, double length) const {
  const Eigen::VectorXd a2 = A.rowwise().squaredNorm(), b2 = B.rowwise().squaredNorm();
  Eigen::MatrixXd d2 = (-2.0 * A * B.transpose()).colwise() + a2;
  d2.rowwise() += b2.transpose();
  const double s5 = std::sqrt(5.0);
  return d2.unaryExpr([&](double x) {
    const double r = std::sqrt(std::max(x, 0.0)) / length;
    return (1.0 + s5 * r + 5.0 * r * r / 3.0) * std::exp(-s5 * r);
  });
}

double GaussianProcess::fit_with(double length) {
  Eigen::MatrixXd K = kernel(X_, X_, length);
  K.diagonal().array() += kNoise;
  llt_.compute(K);
  if (llt_.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
  alpha_ = llt_.solve(y_);
  const Eigen::MatrixXd& L = llt_.matrixLLT();
  return -0.5 * y_.dot(alpha_) - L.diagonal().array().log().sum();
}

void GaussianProcess::fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
  X_ = X;
  mean_ = y.mean();
  const double var = (y.array() - mean_).square().mean();
  scale_ = var > 0 ? std::sqrt(var) : 1.0;
  y_ = (y.array() - mean_) / scale_;
  double best = -std::numeric_limits<double>::infinity();
  for (const double l : kLengths) {
    const double lml = fit_with(l);
    if (lml > best) {
      best = lml;
      length_ = l;
    }
  }
  fit_with(length_);
}

void GaussianProcess::predict(const Eigen::MatrixXd& Xs, Eigen::VectorXd& mean, Eigen::VectorXd& sd) const {
  const Eigen::MatrixXd Ks = kernel(Xs, X_, length_);  // m x n
  mean = (Ks * alpha_).array() * scale_ + mean_;
  const Eigen::MatrixXd v = llt_.matrixL().solve(Ks.transpose());  // n x m
  sd = (1.0 + kNoise - v.colwise().squaredNorm().transpose().array()).max(1e-12).sqrt() * scale_;
}

double expected_improvement(double mean, double sd, double best, double xi) {
  if (!(sd > 0)) return std::max(best - mean - xi, 0.0);
  const double z = (best - mean - xi) / sd;
  const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
  const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
  return (best - mean - xi) * cdf + sd * pdf;
}

}  // namespace cimlab::explore
