// Placement of tiles on the mesh by traffic x hops (see mapper/placement.hpp).
#include "mapper/placement.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/rng.hpp"
#include "mapper/hierarchy.hpp"
#include "mapper/network.hpp"

namespace cimlab::mapper {

namespace {

constexpr std::uint64_t kPlacementStream = 101;

// Sum over pairs (i from a, j from b) of |i - j| for two histograms over the same axis, in one pass.
double pair_distance(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  double total = 0, count_a = 0, sum_a = 0, count_b = 0, sum_b = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = static_cast<double>(i);
    total += static_cast<double>(a[i]) * (x * count_b - sum_b) + static_cast<double>(b[i]) * (x * count_a - sum_a);
    count_a += static_cast<double>(a[i]);
    sum_a += x * static_cast<double>(a[i]);
    count_b += static_cast<double>(b[i]);
    sum_b += x * static_cast<double>(b[i]);
  }
  return total;
}

struct Edge {
  int a, b;
  double bits;
};

// Pairs of layers with their traffic summed (both directions count alike for hops).
std::vector<Edge> merge_edges(const std::vector<Traffic>& traffic) {
  std::map<std::pair<int, int>, double> sum;
  for (const auto& t : traffic)
    if (t.from != t.to) sum[{std::min(t.from, t.to), std::max(t.from, t.to)}] += t.bits;
  std::vector<Edge> out;
  for (const auto& [k, bits] : sum) out.push_back({k.first, k.second, bits});
  return out;
}

// The assignment with per-layer column / row histograms and per-edge costs kept current.
class State {
 public:
  State(std::vector<int> slot_layer, int width, int height, int layers, const std::vector<Edge>& edges)
      : slot_(std::move(slot_layer)), width_(width), edges_(edges),
        hx_(static_cast<std::size_t>(layers), std::vector<std::int64_t>(static_cast<std::size_t>(width), 0)),
        hy_(static_cast<std::size_t>(layers), std::vector<std::int64_t>(static_cast<std::size_t>(height), 0)),
        count_(static_cast<std::size_t>(layers), 0), adjacent_(static_cast<std::size_t>(layers)) {
    for (std::size_t s = 0; s < slot_.size(); ++s) shift(static_cast<int>(s), slot_[s], +1);
    for (std::size_t e = 0; e < edges_.size(); ++e) {
      adjacent_[static_cast<std::size_t>(edges_[e].a)].push_back(static_cast<int>(e));
      adjacent_[static_cast<std::size_t>(edges_[e].b)].push_back(static_cast<int>(e));
      cost_.push_back(edge_cost(edges_[e]));
      total_ += cost_.back();
    }
  }

  double total() const { return total_; }
  const std::vector<int>& slots() const { return slot_; }
  int layer_at(int s) const { return slot_[static_cast<std::size_t>(s)]; }

  // Cost change of swapping slots s1 and s2 (applied; undo() reverts it).
  double swap(int s1, int s2) {
    const int a = slot_[static_cast<std::size_t>(s1)], b = slot_[static_cast<std::size_t>(s2)];
    shift(s1, a, -1);
    shift(s2, b, -1);
    std::swap(slot_[static_cast<std::size_t>(s1)], slot_[static_cast<std::size_t>(s2)]);
    shift(s1, b, +1);
    shift(s2, a, +1);
    touched_.clear();
    for (const int l : {a, b})
      if (l >= 0)
        for (const int e : adjacent_[static_cast<std::size_t>(l)])
          if (std::find(touched_.begin(), touched_.end(), e) == touched_.end()) touched_.push_back(e);
    double delta = 0;
    old_.clear();
    for (const int e : touched_) {
      old_.push_back(cost_[static_cast<std::size_t>(e)]);
      const double c = edge_cost(edges_[static_cast<std::size_t>(e)]);
      delta += c - cost_[static_cast<std::size_t>(e)];
      cost_[static_cast<std::size_t>(e)] = c;
    }
    total_ += delta;
    last_ = {s1, s2};
    last_delta_ = delta;
    return delta;
  }

  void undo() {
    const auto [s1, s2] = last_;
    const int a = slot_[static_cast<std::size_t>(s2)], b = slot_[static_cast<std::size_t>(s1)];
    shift(s1, b, -1);
    shift(s2, a, -1);
    std::swap(slot_[static_cast<std::size_t>(s1)], slot_[static_cast<std::size_t>(s2)]);
    shift(s1, a, +1);
    shift(s2, b, +1);
    for (std::size_t i = 0; i < touched_.size(); ++i) cost_[static_cast<std::size_t>(touched_[i])] = old_[i];
    total_ -= last_delta_;
  }

 private:
  void shift(int s, int layer, int by) {
    if (layer < 0) return;
    const auto l = static_cast<std::size_t>(layer);
    hx_[l][static_cast<std::size_t>(s % width_)] += by;
    hy_[l][static_cast<std::size_t>(s / width_)] += by;
    count_[l] += by;
  }
  double edge_cost(const Edge& e) const {
    const auto a = static_cast<std::size_t>(e.a), b = static_cast<std::size_t>(e.b);
    if (count_[a] == 0 || count_[b] == 0) return 0.0;
    const double pairs = static_cast<double>(count_[a]) * static_cast<double>(count_[b]);
    return e.bits / pairs * (pair_distance(hx_[a], hx_[b]) + pair_distance(hy_[a], hy_[b]));
  }

  std::vector<int> slot_;
  int width_;
  std::vector<Edge> edges_;
  std::vector<std::vector<std::int64_t>> hx_, hy_;
  std::vector<std::int64_t> count_;
  std::vector<std::vector<int>> adjacent_;
  std::vector<double> cost_;
  double total_ = 0;
  std::vector<int> touched_;
  std::vector<double> old_;
  std::pair<int, int> last_{0, 0};
  double last_delta_ = 0;
};

// Layers' tiles in network order along the slots visited row by row (serpentine: odd rows reversed).
std::vector<int> in_order(const std::vector<std::int64_t>& tiles, int width, int height, bool serpentine) {
  std::vector<int> slots(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), -1);
  std::size_t next = 0;
  for (std::size_t l = 0; l < tiles.size(); ++l)
    for (std::int64_t t = 0; t < tiles[l]; ++t, ++next) {
      const int y = static_cast<int>(next) / width, i = static_cast<int>(next) % width;
      const int x = serpentine && (y % 2 == 1) ? width - 1 - i : i;
      slots[static_cast<std::size_t>(y * width + x)] = static_cast<int>(l);
    }
  return slots;
}

// Simulated annealing over slot swaps from `state`; returns the best assignment seen.
std::vector<int> anneal(State& state, std::int64_t iterations, std::uint64_t seed, std::int64_t* moves) {
  core::Rng rng = core::Rng(seed).fork(kPlacementStream);
  const int slots = static_cast<int>(state.slots().size());
  auto pick = [&] { return static_cast<int>(rng.next_u64() % static_cast<std::uint64_t>(slots)); };
  // Starting temperature: the mean cost change of random moves (tried and undone).
  double sum = 0;
  int tried = 0;
  for (int i = 0; i < 64 && slots > 1; ++i) {
    const int s1 = pick(), s2 = pick();
    if (state.layer_at(s1) == state.layer_at(s2)) continue;
    sum += std::fabs(state.swap(s1, s2));
    state.undo();
    ++tried;
  }
  std::vector<int> best = state.slots();
  double best_cost = state.total();
  if (tried == 0 || sum == 0) return best;
  const double t0 = sum / tried, t_end = t0 * 1e-4;
  for (std::int64_t it = 0; it < iterations; ++it) {
    const int s1 = pick(), s2 = pick();
    ++*moves;
    if (state.layer_at(s1) == state.layer_at(s2)) continue;
    const double t = t0 * std::pow(t_end / t0, static_cast<double>(it) / static_cast<double>(iterations));
    const double delta = state.swap(s1, s2);
    if (delta > 0 && rng.uniform() >= std::exp(-delta / t)) {
      state.undo();
      continue;
    }
    if (state.total() < best_cost - 1e-9 * std::fabs(best_cost)) {
      best_cost = state.total();
      best = state.slots();
    }
  }
  return best;
}

// Loads of the directed links under XY routing: the most loaded one.
void link_loads(Placement& p, const std::vector<Traffic>& traffic) {
  const int w = p.width, slots = p.width * p.height;
  std::vector<std::vector<int>> tiles_of;
  for (int s = 0; s < slots; ++s) {
    const int l = p.slot_layer[static_cast<std::size_t>(s)];
    if (l < 0) continue;
    if (tiles_of.size() <= static_cast<std::size_t>(l)) tiles_of.resize(static_cast<std::size_t>(l) + 1);
    tiles_of[static_cast<std::size_t>(l)].push_back(s);
  }
  std::vector<double> load(static_cast<std::size_t>(slots) * 4, 0.0);  // +x, -x, +y, -y out of each slot
  for (const auto& t : traffic) {
    if (static_cast<std::size_t>(std::max(t.from, t.to)) >= tiles_of.size()) continue;
    const auto& from = tiles_of[static_cast<std::size_t>(t.from)];
    const auto& to = tiles_of[static_cast<std::size_t>(t.to)];
    if (from.empty() || to.empty()) continue;
    const double share = t.bits / (static_cast<double>(from.size()) * static_cast<double>(to.size()));
    for (const int a : from)
      for (const int b : to) {
        int x = a % w, y = a / w;
        const int bx = b % w, by = b / w;
        for (; x != bx; x += bx > x ? 1 : -1) load[static_cast<std::size_t>((y * w + x) * 4 + (bx > x ? 0 : 1))] += share;
        for (; y != by; y += by > y ? 1 : -1) load[static_cast<std::size_t>((y * w + x) * 4 + (by > y ? 2 : 3))] += share;
      }
  }
  const auto it = std::max_element(load.begin(), load.end());
  if (it == load.end() || *it <= 0) return;
  const int link = static_cast<int>(it - load.begin()), s = link / 4, dir = link % 4;
  p.max_link_bits = *it;
  p.max_link_from = s;
  p.max_link_to = s + (dir == 0 ? 1 : dir == 1 ? -1 : dir == 2 ? w : -w);
}

}  // namespace

double traffic_hops(const std::vector<int>& slot_layer, int width, int height, int layers,
                    const std::vector<Traffic>& traffic) {
  return State(slot_layer, width, height, layers, merge_edges(traffic)).total();
}

Placement place(const std::vector<std::int64_t>& tiles, const std::vector<Traffic>& traffic, int width, int height,
                const PlacementSpec& spec) {
  const int layers = static_cast<int>(tiles.size());
  const std::vector<Edge> edges = merge_edges(traffic);
  Placement p;
  p.width = width;
  p.height = height;
  const std::vector<int> row_major = in_order(tiles, width, height, false);
  const State baseline(row_major, width, height, layers, edges);
  p.row_major_traffic_hops = baseline.total();
  p.slot_layer = row_major;
  p.method = "row_major";
  if (spec.method != PlacementMethod::kRowMajor) {
    State snake(in_order(tiles, width, height, true), width, height, layers, edges);
    State start = snake.total() <= baseline.total() ? snake : baseline;
    p.slot_layer = start.slots();
    p.method = spec.method == PlacementMethod::kSnake ? "snake" : "anneal";
    if (spec.method == PlacementMethod::kAnneal) p.slot_layer = anneal(start, spec.iterations, spec.seed, &p.iterations);
  }
  p.traffic_hops = traffic_hops(p.slot_layer, width, height, layers, traffic);
  link_loads(p, traffic);
  return p;
}

}  // namespace cimlab::mapper
