// Pareto fronts (see explore/pareto.hpp).
#include "explore/pareto.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

namespace cimlab::explore {

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool better = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

// Sorted lexicographically, a point can be dominated only by points before it, and if by any, then by one
// on the front so far: O(n log n + n x front size).
std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& points) {
  std::vector<std::size_t> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return points[a] < points[b]; });
  std::vector<std::size_t> front;
  for (const std::size_t i : order) {
    const bool dominated =
        std::any_of(front.begin(), front.end(), [&](std::size_t f) { return dominates(points[f], points[i]); });
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end());
  return front;
}

namespace {
bool constrained_dominates(const std::vector<std::vector<double>>& p, const std::vector<double>& v, std::size_t a,
                           std::size_t b) {
  if (v[a] == 0 && v[b] == 0) return dominates(p[a], p[b]);
  if (v[a] == 0) return true;
  if (v[b] == 0) return false;
  return v[a] < v[b];
}
}  // namespace

std::vector<std::vector<std::size_t>> nondominated_sort(const std::vector<std::vector<double>>& points,
                                                        const std::vector<double>& violation) {
  const std::size_t n = points.size();
  std::vector<std::vector<std::size_t>> dominated_by_me(n);
  std::vector<int> count(n, 0);
  std::vector<std::vector<std::size_t>> fronts(1);
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      if (constrained_dominates(points, violation, a, b)) {
        dominated_by_me[a].push_back(b);
        ++count[b];
      } else if (constrained_dominates(points, violation, b, a)) {
        dominated_by_me[b].push_back(a);
        ++count[a];
      }
    }
  }
  for (std::size_t a = 0; a < n; ++a)
    if (count[a] == 0) fronts[0].push_back(a);
  while (!fronts.back().empty()) {
    std::vector<std::size_t> next;
    for (const std::size_t a : fronts.back())
      for (const std::size_t b : dominated_by_me[a])
        if (--count[b] == 0) next.push_back(b);
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(next));
  }
  fronts.pop_back();
  return fronts;
}

std::vector<double> crowding_distance(const std::vector<std::vector<double>>& points, const std::vector<std::size_t>& front) {
  const std::size_t n = front.size();
  std::vector<double> d(n, 0.0);
  if (n == 0) return d;
  const double inf = std::numeric_limits<double>::infinity();
  const std::size_t m = points[front[0]].size();
  std::vector<std::size_t> order(n);
  for (std::size_t k = 0; k < m; ++k) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return points[front[a]][k] < points[front[b]][k]; });
    const double lo = points[front[order.front()]][k], hi = points[front[order.back()]][k];
    d[order.front()] = d[order.back()] = inf;
    if (!(hi > lo)) continue;
    for (std::size_t i = 1; i + 1 < n; ++i)
      d[order[i]] += (points[front[order[i + 1]]][k] - points[front[order[i - 1]]][k]) / (hi - lo);
  }
  return d;
}

}  // namespace cimlab::explore
