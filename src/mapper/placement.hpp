#pragma once
// Placement of the layers' tiles on the W x H mesh (issue 10). Cost: sum over producer -> consumer pairs
// of layers of traffic x hops, where a layer's traffic is spread evenly over the pairs (producer tile,
// consumer tile) and hops are Manhattan distances (XY routing). The cost of a pair of layers depends
// only on their tiles' column and row histograms, so a move is scored in O(W + H) per affected pair.
// Methods: row_major (layers in network order, row by row: the baseline), snake (the same along a
// serpentine, so consecutive layers stay adjacent at row ends), anneal (the better of the two as a
// start, then simulated annealing over swaps of two mesh slots, keeping the best placement seen: never
// worse than the start). The same seed gives the same placement.
// Thread-safety: pure functions of their arguments.
#include <cstdint>
#include <string>
#include <vector>

namespace cimlab::mapper {

struct Traffic;  // mapper/network.hpp
enum class PlacementMethod;
struct PlacementSpec;

struct Placement {
  int width = 0, height = 0;
  std::vector<int> slot_layer;     // per mesh slot y * width + x: the layer (index into layers) or -1
  double traffic_hops = 0;         // bits x hops per inference
  double row_major_traffic_hops = 0;
  double max_link_bits = 0;        // the most loaded directed link, bits per inference
  int max_link_from = -1, max_link_to = -1;  // its slots
  std::int64_t iterations = 0;     // annealing moves made
  std::string method;
};

// Places tiles[l] tiles of each layer l (sum <= width x height) minimising traffic x hops.
Placement place(const std::vector<std::int64_t>& tiles, const std::vector<Traffic>& traffic, int width, int height,
                const PlacementSpec& spec);

// Traffic x hops of a given assignment (slot -> layer), recomputed from scratch.
double traffic_hops(const std::vector<int>& slot_layer, int width, int height, int layers,
                    const std::vector<Traffic>& traffic);

}  // namespace cimlab::mapper
