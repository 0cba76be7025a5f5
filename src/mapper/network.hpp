#pragma once
// What the mapper needs to know of a network (issue 10): its crossbar layers with the mapping each uses
// (per-layer `layers:` rules resolved), who feeds whom, and the digital work. Built once per network and
// chip description from the graph IR; the mapping itself (mapper.hpp) runs on it many times in a search.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "xbar/chip_config.hpp"
#include "xbar/mapping.hpp"

namespace cimlab::mapper {

// One crossbar layer: a weight x activation product whose weights sit on arrays.
struct LayerRequest {
  std::string name, op;
  std::int64_t rows = 0, cols = 0, groups = 1;  // the weight matrix per group: fan-in x outputs
  std::int64_t positions = 1;     // output positions per inference (conv: H' W'; tokens); one MVM per group each
  std::int64_t macs = 0;          // per inference
  std::int64_t output_elements = 0;
  xbar::MappingSpec mapping;      // the layer's own (per-layer rules applied)
  int adc_bits = 8;
};

// Activations one crossbar layer sends another per inference (through any digital nodes between them,
// which run at the producer: pooling shrinks what travels).
struct Traffic {
  int from = 0, to = 0;  // indices into NetworkRequest::layers
  double bits = 0;       // elements arriving at `to` x its input bits
};

// A node on digital units: everything that is not a crossbar layer (and crossbar layers kept digital).
struct DigitalWork {
  std::string name, op;
  std::string unit;       // simd (element-wise), pool, norm, softmax, matmul, move (reshapes: no arithmetic)
  std::int64_t ops = 0;   // arithmetic operations per inference (a multiply-accumulate counts once)
  std::int64_t output_elements = 0;
};

struct NetworkRequest {
  std::string model;
  std::vector<LayerRequest> layers;   // graph order
  std::vector<Traffic> traffic;
  std::vector<DigitalWork> digital;   // graph order
  std::int64_t input_elements = 0;    // of the network's input, per inference
};

// The request for `graph` (shapes inferred) on `chip`. Layer rules are resolved per crossbar node with
// xbar::chip_for_layer; a rule that matches no crossbar layer throws core::ConfigError.
NetworkRequest network_request(const graph::Graph& graph, const xbar::ChipConfig& chip);

}  // namespace cimlab::mapper
