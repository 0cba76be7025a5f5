#pragma once
// Gaussian-process regression for Bayesian optimisation: Matern 5/2 kernel (Rasmussen and Williams,
// Gaussian Processes for Machine Learning, 2006, eq. 4.17) with one length scale picked from a fixed grid
// by the log marginal likelihood (ibid. eq. 2.30), outputs standardised, a small noise term, Eigen's
// Cholesky factorisation. Inputs are points of the unit cube. Not thread-safe (fit mutates).
#include <Eigen/Dense>

namespace cimlab::explore {

class GaussianProcess {
 public:
  // X: n x d inputs (n >= 1), y: n outputs.
  void fit(const Eigen::MatrixXd& X, const Eigen::VectorXd& y);
  // Posterior mean and standard deviation at the rows of Xs (m x d), in the units of y.
  void predict(const Eigen::MatrixXd& Xs, Eigen::VectorXd& mean, Eigen::VectorXd& sd) const;
  double length_scale() const { return length_; }

 private:
  Eigen::MatrixXd kernel(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, double length) const;
  // Fits with `length`; returns the log marginal likelihood (-inf when the factorisation fails).
  double fit_with(double length);

  Eigen::MatrixXd X_;
  Eigen::VectorXd y_;  // standardised
  double mean_ = 0, scale_ = 1, length_ = 0.2;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  Eigen::VectorXd alpha_;
};

// Expected improvement below `best` (minimisation) of a normal N(mean, sd^2), with exploration margin xi
// (Jones, Schonlau and Welch, J. Global Optim. 13:455, 1998, eq. 15).
double expected_improvement(double mean, double sd, double best, double xi);

}  // namespace cimlab::explore
