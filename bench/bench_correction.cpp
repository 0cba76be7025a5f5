// Weight-mapping correction and the cheap IR-drop approximations on the peers' reference setting:
// 1 ohm wire segments, 100 ohm driver and sense, inputs uniform in [0, 0.2] V, G uniform in
// [g_max / 100, g_max]; benchmark arguments are {rows = cols, g_max in uS} (100: [1, 100] uS; 10: [0.1, 10] uS).
// Counters: output error after correction vs the ideal product gain * G_target^T V (and before, with the
// uncorrected array's best global gain), gain, iterations; approximations' error vs the exact solver and
// the exact column currents over the ideal product (exact_over_ideal).
#include <benchmark/benchmark.h>

#include <map>
#include <utility>

#include "core/rng.hpp"
#include "xbar/approx_models.hpp"
#include "xbar/correction.hpp"

namespace {

using namespace cimlab;
using namespace cimlab::xbar;

constexpr int kInputs = 64;

struct Problem {
  CircuitSpec circuit;
  double g_min = 0.0, g_max = 0.0;  // S
  Eigen::MatrixXd g_target, V;
};

const Problem& problem(const benchmark::State& state) {
  static std::map<std::pair<int, int>, Problem> cache;
  const int n = static_cast<int>(state.range(0)), g_max_us = static_cast<int>(state.range(1));
  auto it = cache.find({n, g_max_us});
  if (it != cache.end()) return it->second;
  core::Rng rng(2024);
  core::Rng w = core::fork(rng, core::Stream::kWeights), in = core::fork(rng, core::Stream::kInputs);
  Problem p{CircuitSpec{n, n, 1.0, 1.0, 100.0, 100.0}, g_max_us * 1e-8, g_max_us * 1e-6,
            Eigen::MatrixXd(n, n), Eigen::MatrixXd(n, kInputs)};
  for (Eigen::Index k = 0; k < p.g_target.size(); ++k) p.g_target(k) = w.uniform(p.g_min, p.g_max);
  for (Eigen::Index k = 0; k < p.V.size(); ++k) p.V(k) = in.uniform(0.0, 0.2);
  return cache.emplace(std::make_pair(n, g_max_us), std::move(p)).first->second;
}

void correction(benchmark::State& state, const std::string& method) {
  const Problem& p = problem(state);
  CorrectionOptions options;
  options.method = method;
  CorrectionResult r;
  for (auto _ : state) r = correct(p.circuit, p.g_target, p.g_min, p.g_max, options);
  const CorrectionError e = correction_error(p.circuit, p.g_target, r.g_program, r.gain, p.V);
  state.counters["rms_before"] = e.before.rel_rms;
  state.counters["max_before"] = e.before.max_rel;
  state.counters["rms_after"] = e.after.rel_rms;
  state.counters["max_after"] = e.after.max_rel;
  state.counters["gain"] = r.gain;
  state.counters["iterations"] = r.iterations;
  state.counters["converged"] = r.converged;
}

void approximation(benchmark::State& state, const std::string& model) {
  const Problem& p = problem(state);
  ExactSolver exact(p.circuit);
  exact.program(p.g_target);
  const Eigen::MatrixXd reference = exact.currents(p.V);
  std::unique_ptr<IrDropModel> approx;
  if (model == "comn") approx = std::make_unique<ComnModel>(p.circuit);
  else approx = std::make_unique<EffectiveConductanceModel>(p.circuit, 0.1);
  ApproximationError e;
  for (auto _ : state) e = approximation_error(*approx, p.g_target, p.V, reference);
  state.counters["rms_vs_exact"] = e.error.rel_rms;
  state.counters["max_vs_exact"] = e.error.max_rel;
  state.counters["exact_over_ideal"] =
      (reference.array() / ideal_currents(p.g_target, p.V).array()).mean();
}

BENCHMARK_CAPTURE(correction, comn, std::string("comn"))
    ->Args({128, 100})->Args({256, 100})->Args({256, 10})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(correction, multiplicative, std::string("multiplicative"))
    ->Args({128, 100})->Args({256, 100})->Args({256, 10})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(correction, compensated, std::string("compensated"))
    ->Args({128, 100})->Args({256, 100})->Args({256, 10})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(correction, response, std::string("response"))
    ->Args({128, 100})->Args({256, 100})->Args({256, 10})->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(approximation, comn, std::string("comn"))
    ->Args({128, 100})->Args({256, 100})->Args({256, 10})->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(approximation, effective, std::string("effective"))
    ->Args({128, 100})->Args({256, 100})->Args({256, 10})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
