// `cimlab explore CONFIG --out DIR [--resume] [--set key=value ...]`: a design-space search over a ppa
// experiment (see flow/explore_experiment.hpp and explore/search.hpp). Writes, in DIR:
//   points.jsonl       one line {id, config, metrics, status} per evaluated point, appended as it completes
//   pareto.json        {objectives: [{name, sense}], points: [{id, config, metrics}], provenance}
//   best/<objective>.yaml   the best ok point's complete config, as `cimlab ppa` reads it
//   checkpoint.json    written atomically after each batch: the config's fingerprint and the points done
//   config.resolved.yaml, log.txt
// --resume continues a killed search: the points in points.jsonl are not evaluated again (a line cut short
// by the kill is dropped), and the search ends with the front of an uninterrupted run. Under `mpirun -np N`
// (or srun) the points of each batch are spread over the ranks; rank 0 alone writes.
#include <cimlab/version.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "core/progress.hpp"
#include "core/run_dir.hpp"
#include "explore/mpi.hpp"
#include "flow/explore_experiment.hpp"

namespace cimlab::cli {

namespace {

namespace fs = std::filesystem;

struct ExploreArgs {
  std::string config;
  std::string out;
  bool resume = false;
  std::vector<std::string> overrides;
};

// Reads the points of an interrupted search; truncates a last line cut short by a kill.
std::vector<explore::PointRecord> read_points(const std::string& path) {
  std::vector<explore::PointRecord> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::string line;
  std::streamoff good = 0;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const bool complete = !in.eof();
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !complete) {
      if (in.peek() == EOF) break;  // the last line: cut short by the kill
      throw core::InputError(fmt::format("{}:{}: not a JSON point", path, line_no));
    }
    out.push_back(explore::record_from_json(j));
    good = in.tellg();
  }
  in.close();
  if (static_cast<std::uintmax_t>(good) != fs::file_size(path)) fs::resize_file(path, static_cast<std::uintmax_t>(good));
  return out;
}

// The progress line: points done, rate, ETA, best so far per objective.
class ExploreProgress {
 public:
  explicit ExploreProgress(const explore::SearchSpec& spec)
      : spec_(spec), enabled_(core::progress_wanted(::isatty(STDERR_FILENO) == 1, std::getenv("CIMLAB_PROGRESS"))) {}
  void start(std::int64_t planned) {
    planned_ = planned;
    start_ = std::chrono::steady_clock::now();
  }
  void point(const explore::PointRecord& r) {
    ++done_;
    if (r.status == explore::Status::kOk)
      for (const auto& o : spec_.objectives) {
        const double v = r.metrics.at(o.name);
        auto [it, fresh] = best_.emplace(o.name, v);
        if (!fresh && (o.sense == explore::Sense::kMin ? v < it->second : v > it->second)) it->second = v;
      }
    draw(false);
  }
  void finish() { draw(true); }

 private:
  void draw(bool final_line) {
    if (!enabled_) return;
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (!final_line && t - last_ < 0.1) return;
    last_ = t;
    std::string line = core::render_progress("explore", done_, planned_, t, 24);
    line += fmt::format(" | {:.4g} points/s", t > 0 ? static_cast<double>(done_) / t : 0.0);
    for (const auto& [name, v] : best_) line += fmt::format(" | {} {:.4g}", name, v);
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final_line ? "\n" : "");
    std::fflush(stderr);
  }

  const explore::SearchSpec& spec_;
  bool enabled_;
  std::int64_t planned_ = 0, done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_ = -1;
  std::map<std::string, double> best_;
};

void check_folder(const ExploreArgs& a, const flow::ExploreExperiment& exp) {
  const fs::path points = fs::path(a.out) / "points.jsonl", checkpoint = fs::path(a.out) / "checkpoint.json";
  if (!a.resume && fs::exists(points))
    throw core::InputError(fmt::format("{} already holds a search: pass --resume to continue it, or choose another --out", a.out));
  if (!a.resume || !fs::exists(checkpoint)) return;
  std::ifstream in(checkpoint);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("fingerprint"))
    throw core::InputError(fmt::format("{}: unreadable checkpoint", checkpoint.string()));
  if (j["fingerprint"] != exp.fingerprint)
    throw core::InputError(fmt::format("{} holds a search of another config (or other --set values): resume it with "
                                       "the same ones, or choose another --out", a.out));
}

void write_results(const flow::ExploreExperiment& exp, const explore::SearchResult& result, core::RunDir& dir) {
  nlohmann::json pareto = explore::pareto_json(exp.search, result);
  pareto["provenance"] = dir.provenance();
  dir.write_json("pareto.json", pareto);
  fs::create_directories(dir.file("best"));
  for (const auto& [name, id] : result.best) {
    const YAML::Node cfg = flow::point_config(exp, result.points[static_cast<std::size_t>(id)].point);
    YAML::Emitter e;
    e << cfg;
    core::write_file_atomic(dir.file("best/" + name + ".yaml"),
                            fmt::format("# cimlab explore: the best point (id {}) for {}; run it with cimlab ppa\n{}\n",
                                        id, name, e.c_str()));
  }
}

std::string summary(const flow::ExploreExperiment& exp, const explore::SearchResult& result) {
  std::map<explore::Status, int> count;
  for (const auto& p : result.points) ++count[p.status];
  std::string s = fmt::format("{} points: {} ok, {} rejected, {} failed; {} on the Pareto front\n", result.points.size(),
                              count[explore::Status::kOk], count[explore::Status::kRejected],
                              count[explore::Status::kFailed], result.front.size());
  for (const auto& o : exp.search.objectives) {
    const auto it = result.best.find(o.name);
    if (it == result.best.end()) continue;
    const auto& p = result.points[static_cast<std::size_t>(it->second)];
    s += fmt::format("best {} ({}): {:.6g} at point {} {}\n", o.name, explore::sense_name(o.sense), p.metrics.at(o.name),
                     p.id, explore::config_json(p.point).dump());
  }
  return s;
}

int run_rank0(const ExploreArgs& a, const flow::ExploreExperiment& exp, explore::BatchEvaluator& evaluator) {
  check_folder(a, exp);
  fs::create_directories(a.out);
  const std::string points_path = (fs::path(a.out) / "points.jsonl").string();
  const std::vector<explore::PointRecord> previous = a.resume ? read_points(points_path) : std::vector<explore::PointRecord>{};
  core::RunDir dir(a.out, command_line(), exp.search.seed, a.resume);
  dir.write_yaml("config.resolved.yaml", exp.resolved);
  if (a.resume) dir.log().info("resuming: {} points already evaluated", previous.size());
  std::ofstream points(points_path, std::ios::binary | std::ios::app);
  if (!points) throw core::InputError(fmt::format("{}: cannot write", points_path));
  ExploreProgress progress(exp.search);
  explore::SearchCallbacks cb;
  cb.on_start = [&](std::int64_t planned) { progress.start(planned); };
  cb.on_point = [&](const explore::PointRecord& r) {
    points << explore::to_json(r).dump() << '\n';
    points.flush();
    progress.point(r);
  };
  cb.on_batch = [&](std::int64_t evaluated, std::int64_t planned) {
    dir.write_json("checkpoint.json", {{"fingerprint", exp.fingerprint}, {"points", evaluated}, {"planned", planned},
                                       {"finished", false}});
  };
  const explore::SearchResult result = explore::run_search(exp.search, evaluator, previous, cb);
  progress.finish();
  points.close();
  write_results(exp, result, dir);
  dir.write_json("checkpoint.json", {{"fingerprint", exp.fingerprint}, {"points", result.points.size()},
                                     {"planned", result.points.size()}, {"finished", true}});
  const std::string text = summary(exp, result);
  dir.log().info("{}", text);
  fmt::print("{}results: {} (points.jsonl, pareto.json, best/)\n", text, a.out);
  return 0;
}

int run(const ExploreArgs& a) {
  const flow::ExploreExperiment exp = flow::load_explore_experiment(a.config, a.overrides);
  const auto objective = flow::make_ppa_objective(exp);
  const auto local = explore::make_thread_evaluator(*objective, explore::key_gate(exp.search.constraints), exp.search.threads);
  if (!explore::mpi::launched()) return run_rank0(a, exp, *local);
  explore::mpi::Session session;
  if (session.rank() != 0) {
    explore::mpi::serve(*local);
    return 0;
  }
  auto distributed = explore::mpi::make_evaluator(*local, session);
  return run_rank0(a, exp, *distributed);
}

}  // namespace

Action setup_explore(CLI::App& app) {
  auto* cmd = app.add_subcommand("explore", "Design-space search over a ppa experiment: Pareto front of the objectives");
  auto a = std::make_shared<ExploreArgs>();
  cmd->add_option("config", a->config, "experiment YAML: a ppa config plus an `explore` section")->required();
  cmd->add_option("--out", a->out, "output folder (points.jsonl, pareto.json, best/, checkpoint.json)")->required();
  cmd->add_flag("--resume", a->resume, "continue the search in --out (points already evaluated are kept)");
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  return [a]() { return run(*a); };
}

}  // namespace cimlab::cli
