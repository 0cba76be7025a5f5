#pragma once
// The small chip the HAT tests fine-tune for (test_train.cpp, test_graph_model.cpp): 32 x 32 arrays,
// 2-bit cells, 5 % relative programming variation, 1 % stuck cells, every effect but IR drop, every
// cheap class drawn per step; 32 calibration images, learning rate 1e-3, from the float checkpoint `from`.
#include <string>

#include "device/device_spec.hpp"
#include "nn/train.hpp"

namespace cimlab::nn {

inline void use_small_hat_chip(TrainSpec& spec, const std::string& from) {
  spec.training.learning_rate = 1e-3;
  spec.hat.enabled = true;
  spec.hat.from = from;
  spec.hat.calibration_images = 32;
  spec.hat.classes = xbar::EffectSet::all();
  xbar::ArraySimSpec& a = spec.hat.chip.array;
  a.circuit.rows = a.circuit.cols = 32;
  a.device.max_cell_bits = 2;
  a.mapping.cell_bits = 2;
  a.device.programming = {device::VariationModel::kRelative, 0.05, {}};
  a.device.faults.p_stuck_on = a.device.faults.p_stuck_off = 0.005;
  spec.hat.chip.effects = xbar::EffectSet::all().set(xbar::Effect::kIrDrop, false);
}

}  // namespace cimlab::nn
