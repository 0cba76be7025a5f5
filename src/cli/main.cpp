// The `cimlab` command: parses the command line, runs one subcommand, and turns library errors into
// messages and exit codes (0 ok, 1 runtime failure, 2 bad usage or bad input, 3 internal error: a bug).
#include <cimlab/version.hpp>
#include <fmt/format.h>
#include <yaml-cpp/exceptions.h>

#include <cstdio>
#include <exception>
#include <map>

#include "cli/commands.hpp"
#include "core/errors.hpp"

namespace cimlab::cli {
namespace {
std::string g_command_line;
}
void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) g_command_line += (i ? " " : "") + std::string(argv[i]);
}
const std::string& command_line() { return g_command_line; }
}  // namespace cimlab::cli

int main(int argc, char** argv) {
  using namespace cimlab;
  cli::set_command_line(argc, argv);
  CLI::App app{"cimlab: design and evaluate neural-network accelerators that compute in NVM crossbars"};
  app.set_version_flag("--version", fmt::format("cimlab {} ({})", kVersion, kGitCommit));
  app.require_subcommand(1);
  std::map<CLI::App*, cli::Action> actions;
  auto add = [&](cli::Action (*setup)(CLI::App&)) {
    const std::size_t before = app.get_subcommands({}).size();
    cli::Action action = setup(app);
    actions[app.get_subcommands({}).at(before)] = std::move(action);
  };
  add(&cli::setup_xbar);
  add(&cli::setup_describe);
  add(&cli::setup_graph);
  add(&cli::setup_map);
  add(&cli::setup_ppa);
  add(&cli::setup_silicon);
  add(&cli::setup_explore);
#ifdef CIMLAB_HAVE_TORCH
  add(&cli::setup_train);
  add(&cli::setup_eval);
  add(&cli::setup_run);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action();
  } catch (const core::InternalError& e) {
    std::fprintf(stderr,
                 "internal error: %s\nThis is a bug in cimlab %s (%s), not a problem with your input; please report it "
                 "with the command line and the config.\n",
                 e.what(), kVersion, kGitCommit);
    return 3;
  } catch (const core::NumericalError& e) {
    std::fprintf(stderr, "error: numerical failure: %s\n", e.what());
    return 1;
  } catch (const core::ConfigError& e) {
    std::fprintf(stderr, "error: invalid configuration\n%s\n", e.what());
    return 2;
  } catch (const core::Error& e) {  // InputError, ModelError: bad input files or requests
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const YAML::Exception& e) {  // a value of the wrong shape deep in a config
    std::fprintf(stderr, "error: invalid configuration: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 2;
}
