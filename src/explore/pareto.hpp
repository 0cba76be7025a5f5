#pragma once
// Pareto dominance for minimisation (a maximised metric enters negated), non-dominated sorting and
// crowding distance (Deb et al., IEEE TEVC 6(2):182, 2002), and constrained domination (ibid., sec. VI):
// a feasible point dominates an infeasible one, and of two infeasible ones the smaller violation wins.
// Thread-safety: pure functions.
#include <cstddef>
#include <vector>

namespace cimlab::explore {

// a dominates b: no worse in every objective and better in one. Precondition: equal sizes.
bool dominates(const std::vector<double>& a, const std::vector<double>& b);

// Indices of the points no other point dominates, in increasing order (equal vectors are all kept).
std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& points);

// Fronts of the fast non-dominated sort under constrained domination: fronts[0] is non-dominated, etc.
// violation[i] >= 0 (0 = feasible; infinity for a point with no objectives, whose vector is ignored).
std::vector<std::vector<std::size_t>> nondominated_sort(const std::vector<std::vector<double>>& points,
                                                        const std::vector<double>& violation);

// Crowding distance of each member of `front` (same order); boundary points get infinity.
std::vector<double> crowding_distance(const std::vector<std::vector<double>>& points, const std::vector<std::size_t>& front);

}  // namespace cimlab::explore
