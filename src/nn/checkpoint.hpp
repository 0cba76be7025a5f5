#pragma once
// Reading the model out of a training checkpoint (nn/train.hpp's format) for evaluation and
// fine-tuning. LibTorch types; the CLI uses nn/train.hpp's read_checkpoint_info for headers only.
#include <torch/torch.h>

#include <string>

#include "nn/train.hpp"

namespace cimlab::nn {

// Loads the parameters and buffers of the checkpoint's model into `model`, which must have the
// checkpoint's architecture (a float model or its analog twin: the names are the same). Throws
// InputError when the file is missing, unreadable or of another format, naming the file.
CheckpointInfo load_model_checkpoint(const std::string& path, torch::nn::Module& model);

}  // namespace cimlab::nn
