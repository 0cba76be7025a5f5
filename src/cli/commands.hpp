#pragma once
// The subcommands of the `cimlab` executable, one file each. setup_* adds the subcommand to the app
// and returns the function to run once parsing succeeded (its return value is the exit code).
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace cimlab::cli {

using Action = std::function<int()>;

// The command line as typed, for provenance (set once by main).
void set_command_line(int argc, char** argv);
const std::string& command_line();

Action setup_xbar(CLI::App& app);
Action setup_describe(CLI::App& app);
Action setup_graph(CLI::App& app);  // built with or without LibTorch
Action setup_map(CLI::App& app);    // built with or without LibTorch
Action setup_ppa(CLI::App& app);    // built with or without LibTorch
Action setup_silicon(CLI::App& app);  // built with or without LibTorch
Action setup_explore(CLI::App& app);  // built with or without LibTorch
Action setup_train(CLI::App& app);  // built only with LibTorch (CIMLAB_HAVE_TORCH)
Action setup_eval(CLI::App& app);   // built only with LibTorch (CIMLAB_HAVE_TORCH)
Action setup_run(CLI::App& app);    // built only with LibTorch (CIMLAB_HAVE_TORCH)

}  // namespace cimlab::cli
