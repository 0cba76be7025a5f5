// IR-drop solver benchmarks (Google Benchmark). One array family throughout: n x n, G uniform in
// [1, 100] uS (seed 1), wires 1 ohm per segment, driver and sense 10 ohm, inputs uniform in [0, 0.2] V.
//   ExactSolve/n        ExactSolver program() + currents() of one input
//   SparseLu/n          Eigen SparseLU factor + solve of the same nodal system (2 n^2 unknowns)
//   SimplicialLdlt/n    Eigen SimplicialLDLT factor + solve of it
//   ExactBlock/256      currents() of 256 inputs at once (PCG in lockstep blocks)
//   TransferMatrix/256  the one-time transfer_matrix() of a 256 x 256 array
//   TransferApply/256   M^T V for 256 inputs with the transfer matrix, vs IdealProduct/256: G^T V
//   NewtonSolve/n       nonlinear cells (sinh, v0 = 0.25 V): program() + Newton for one input
//   Ngspice/n           ngspice -b .op of the same array (netlist written to a temporary directory)
#include <benchmark/benchmark.h>

#include <Eigen/SparseCholesky>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/rng.hpp"
#include "xbar/exact_solver.hpp"
#include "xbar/sparse_lu_solver.hpp"
#include "xbar/spice.hpp"

namespace cimlab::xbar {
namespace {

struct BenchArray {
  CircuitSpec spec;
  Eigen::MatrixXd G;
};

BenchArray bench_array(int n) {
  core::Rng rng(1);
  BenchArray a{CircuitSpec{n, n, 1.0, 1.0, 10.0, 10.0}, Eigen::MatrixXd(n, n)};
  for (Eigen::Index k = 0; k < a.G.size(); ++k) a.G.data()[k] = rng.uniform(1e-6, 100e-6);
  return a;
}

Eigen::MatrixXd bench_inputs(int rows, int k) {
  core::Rng rng(2);
  Eigen::MatrixXd V(rows, k);
  for (Eigen::Index e = 0; e < V.size(); ++e) V.data()[e] = rng.uniform(0.0, 0.2);
  return V;
}

void ExactSolve(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const BenchArray a = bench_array(n);
  const Eigen::MatrixXd v = bench_inputs(n, 1);
  ExactSolver solver(a.spec);
  for (auto _ : state) {
    solver.program(a.G);
    benchmark::DoNotOptimize(solver.currents(v).data());
  }
  state.counters["pcg_iterations"] = solver.last_report().iterations;
  state.counters["ns_per_cell"] = benchmark::Counter(static_cast<double>(n) * n, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(ExactSolve)->RangeMultiplier(2)->Range(64, 512)->Unit(benchmark::kMillisecond);

template <class Factorization>
void direct_solve(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const BenchArray a = bench_array(n);
  const NodalSystem sys = assemble_nodal_system(build_netlist(a.spec, a.G));
  const Eigen::VectorXd rhs = sys.B * bench_inputs(n, 1);
  for (auto _ : state) {
    Factorization f;
    f.compute(sys.A);
    const Eigen::VectorXd x = f.solve(rhs);
    benchmark::DoNotOptimize(x.data());
  }
  state.counters["unknowns"] = static_cast<double>(sys.A.rows());
}

void SparseLu(benchmark::State& state) { direct_solve<Eigen::SparseLU<Eigen::SparseMatrix<double>>>(state); }
BENCHMARK(SparseLu)->RangeMultiplier(2)->Range(64, 256)->Unit(benchmark::kMillisecond);

void SimplicialLdlt(benchmark::State& state) { direct_solve<Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>>>(state); }
BENCHMARK(SimplicialLdlt)->RangeMultiplier(2)->Range(64, 256)->Unit(benchmark::kMillisecond);

void ExactBlock(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const BenchArray a = bench_array(n);
  const Eigen::MatrixXd V = bench_inputs(n, 256);
  ExactSolver solver(a.spec);
  solver.program(a.G);
  for (auto _ : state) benchmark::DoNotOptimize(solver.currents(V).data());
  state.counters["pcg_iterations"] = solver.last_report().iterations;
}
BENCHMARK(ExactBlock)->Arg(256)->Unit(benchmark::kMillisecond);

void TransferMatrix(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const BenchArray a = bench_array(n);
  ExactSolver solver(a.spec);
  solver.program(a.G);
  for (auto _ : state) benchmark::DoNotOptimize(solver.transfer_matrix().data());
}
BENCHMARK(TransferMatrix)->Arg(256)->Unit(benchmark::kMillisecond);

void TransferApply(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const BenchArray a = bench_array(n);
  const Eigen::MatrixXd V = bench_inputs(n, 256);
  ExactSolver solver(a.spec);
  solver.program(a.G);
  const Eigen::MatrixXd M = solver.transfer_matrix();
  Eigen::MatrixXd I(n, 256);
  for (auto _ : state) {
    I.noalias() = M.transpose() * V;
    benchmark::DoNotOptimize(I.data());
  }
}
BENCHMARK(TransferApply)->Arg(256)->Unit(benchmark::kMillisecond);

void IdealProduct(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const BenchArray a = bench_array(n);
  const Eigen::MatrixXd V = bench_inputs(n, 256);
  for (auto _ : state) benchmark::DoNotOptimize(ideal_currents(a.G, V).data());
}
BENCHMARK(IdealProduct)->Arg(256)->Unit(benchmark::kMillisecond);

void NewtonSolve(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const BenchArray a = bench_array(n);
  const Eigen::MatrixXd v = bench_inputs(n, 1);
  ExactSolverOptions options;
  options.iv = {device::CellIV::Kind::kSinh, 0.25};
  ExactSolver solver(a.spec, options);
  for (auto _ : state) {
    solver.program(a.G);
    benchmark::DoNotOptimize(solver.currents(v).data());
  }
  state.counters["newton_steps"] = solver.last_report().iterations;
}
BENCHMARK(NewtonSolve)->Arg(64)->Arg(128)->Arg(256)->Unit(benchmark::kMillisecond);

void Ngspice(benchmark::State& state) {
  namespace fs = std::filesystem;
  const int n = static_cast<int>(state.range(0));
  const BenchArray a = bench_array(n);
  const fs::path dir = fs::temp_directory_path() / ("cimlab_bench_ngspice_" + std::to_string(n));
  fs::create_directories(dir);
  {
    std::ofstream netlist(dir / "crossbar.cir");
    write_spice_netlist(netlist, a.spec, a.G, bench_inputs(n, 1).col(0));
  }
  const std::string cmd = "cd '" + dir.string() + "' && ngspice -b crossbar.cir > ngspice.log 2>&1";
  for (auto _ : state) {
    if (std::system(cmd.c_str()) != 0) state.SkipWithError("ngspice failed or is not installed");
  }
  fs::remove_all(dir);
}
BENCHMARK(Ngspice)->Arg(32)->Arg(64)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace cimlab::xbar

BENCHMARK_MAIN();
