#pragma once
// The `array:` config section: size and parasitic resistances of one crossbar (physics.md section 3).
#include "core/params.hpp"
#include "xbar/circuit.hpp"

namespace cimlab::xbar {

const core::Schema& array_schema();
CircuitSpec make_circuit_spec(const core::Params& p);

}  // namespace cimlab::xbar
