// Distribution of a search over MPI ranks (see explore/mpi.hpp).
#include <mpi.h>

#include <cstdlib>

#include "explore/mpi.hpp"

namespace cimlab::explore::mpi {

namespace {

// A batch as JSON: [[key, text], ...] per point (ranks rebuild the settings; coordinates are not needed).
std::string encode_points(const std::vector<Point>& points) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : points) {
    nlohmann::json settings = nlohmann::json::array();
    for (const auto& s : p.settings) settings.push_back({s.key, s.value.text});
    j.push_back(std::move(settings));
  }
  return j.dump();
}

std::vector<Point> decode_points(const std::string& text) {
  std::vector<Point> out;
  for (const auto& settings : nlohmann::json::parse(text)) {
    Point p;
    for (const auto& s : settings) p.settings.push_back({s[0].get<std::string>(), read_value(s[1].get<std::string>())});
    out.push_back(std::move(p));
  }
  return out;
}

nlohmann::json encode_outcome(std::size_t index, const Evaluation& e) {
  return {{"i", index}, {"status", static_cast<int>(e.status)}, {"metrics", e.metrics}, {"reason", e.reason}};
}

Evaluation decode_outcome(const nlohmann::json& j) {
  return Evaluation{static_cast<Status>(j["status"].get<int>()), j["metrics"].get<std::map<std::string, double>>(),
                    j["reason"].get<std::string>()};
}

// Broadcasts `text` from rank 0 (length first; -1 = stop).
bool broadcast(std::string& text, bool stop) {
  long long n = stop ? -1 : static_cast<long long>(text.size());
  MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  if (n < 0) return false;
  text.resize(static_cast<std::size_t>(n));
  MPI_Bcast(text.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
  return true;
}

// This rank's share of a batch, evaluated with `local`: [{i, status, metrics, reason}] with global indices.
nlohmann::json evaluate_share(BatchEvaluator& local, const std::vector<Point>& all, int rank, int size,
                              const BatchEvaluator::Done& done) {
  std::vector<Point> mine;
  std::vector<std::size_t> index;
  for (std::size_t i = static_cast<std::size_t>(rank); i < all.size(); i += static_cast<std::size_t>(size)) {
    mine.push_back(all[i]);
    index.push_back(i);
  }
  const std::vector<Evaluation> out =
      local.evaluate(mine, [&](std::size_t k, const Evaluation& e) { if (done) done(index[k], e); });
  nlohmann::json j = nlohmann::json::array();
  for (std::size_t k = 0; k < out.size(); ++k) j.push_back(encode_outcome(index[k], out[k]));
  return j;
}

// Gathers every rank's text on rank 0 (empty elsewhere).
std::vector<std::string> gather(const std::string& mine, int rank, int size) {
  int n = static_cast<int>(mine.size());
  std::vector<int> sizes(static_cast<std::size_t>(size)), offsets(static_cast<std::size_t>(size));
  MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string all;
  if (rank == 0) {
    int total = 0;
    for (int r = 0; r < size; ++r) {
      offsets[static_cast<std::size_t>(r)] = total;
      total += sizes[static_cast<std::size_t>(r)];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> out;
  if (rank == 0)
    for (int r = 0; r < size; ++r)
      out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                               static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)])));
  return out;
}

class MpiEvaluator : public BatchEvaluator {
 public:
  MpiEvaluator(BatchEvaluator& local, int size) : local_(local), size_(size) {}
  ~MpiEvaluator() override {
    std::string none;
    broadcast(none, true);
  }

  std::vector<Evaluation> evaluate(const std::vector<Point>& points, const Done& done) override {
    std::string text = encode_points(points);
    broadcast(text, false);
    const nlohmann::json mine = evaluate_share(local_, points, 0, size_, done);
    const std::vector<std::string> parts = gather(mine.dump(), 0, size_);
    std::vector<Evaluation> out(points.size());
    for (const auto& o : mine) out[o["i"].get<std::size_t>()] = decode_outcome(o);
    for (std::size_t r = 1; r < parts.size(); ++r)
      for (const auto& o : nlohmann::json::parse(parts[r])) {
        const auto i = o["i"].get<std::size_t>();
        out[i] = decode_outcome(o);
        if (done) done(i, out[i]);
      }
    return out;
  }

 private:
  BatchEvaluator& local_;
  int size_;
};

}  // namespace

bool available() { return true; }

bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

Session::Session() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Session::~Session() { MPI_Finalize(); }

std::unique_ptr<BatchEvaluator> make_evaluator(BatchEvaluator& local, const Session& session) {
  return std::make_unique<MpiEvaluator>(local, session.size());
}

void serve(BatchEvaluator& local) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (std::string text; broadcast(text, false);) {
    const std::vector<Point> points = decode_points(text);
    gather(evaluate_share(local, points, rank, size, nullptr).dump(), rank, size);
  }
}

}  // namespace cimlab::explore::mpi
