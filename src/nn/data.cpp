#include "nn/data.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <cimlab/version.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <tuple>

#include "core/errors.hpp"
#include "core/rng.hpp"

namespace cimlab::nn {

namespace {

constexpr const char* kFix = "run scripts/bootstrap, or make setup, to prepare the datasets";
constexpr std::uint32_t kImagesMagic = 0x00000803;  // IDX: unsigned byte, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // IDX: unsigned byte, 1 dimension
constexpr std::int64_t kPixels = kImageSide * kImageSide;
constexpr std::uint64_t kValidationStream = 0x56414C4944;  // core::Rng stream of the validation split ("VALID")
constexpr std::uint64_t kCalibrationStream = 0x43414C4942;  // core::Rng stream of the calibration sample ("CALIB")

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw core::InputError(fmt::format("{}: {}; {}", path, what, kFix));
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) fail(path, "file not found");
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) fail(path, "cannot read file");
  return bytes;
}

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

// Checks the header (magic, dimensions) and the payload size of an IDX file; returns the item count.
std::int64_t check_idx(const std::string& path, const std::vector<std::uint8_t>& b, std::uint32_t magic,
                       std::size_t header, std::int64_t item_bytes) {
  if (b.size() < header) fail(path, fmt::format("truncated IDX header ({} bytes, expected {})", b.size(), header));
  const std::uint32_t found = big_endian_u32(b, 0);
  if (found != magic) fail(path, fmt::format("not an IDX file of this kind (magic 0x{:08x}, expected 0x{:08x})", found, magic));
  const std::int64_t n = big_endian_u32(b, 4);
  if (header == 16 && (big_endian_u32(b, 8) != kImageSide || big_endian_u32(b, 12) != kImageSide))
    fail(path, fmt::format("images are {}x{}, expected {}x{}", big_endian_u32(b, 8), big_endian_u32(b, 12), kImageSide,
                           kImageSide));
  const auto expected = static_cast<std::size_t>(header + n * item_bytes);
  if (b.size() < expected) fail(path, fmt::format("truncated: {} bytes for {} items, expected {}", b.size(), n, expected));
  if (b.size() > expected) fail(path, fmt::format("{} unexpected trailing bytes after {} items", b.size() - expected, n));
  return n;
}

std::vector<std::int64_t> class_counts(const torch::Tensor& labels) {
  const torch::Tensor counts = torch::bincount(labels, {}, kNumClasses);
  return {counts.data_ptr<std::int64_t>(), counts.data_ptr<std::int64_t>() + kNumClasses};
}

Dataset select(const Dataset& d, const std::vector<std::int64_t>& indices) {
  const torch::Tensor idx = torch::tensor(indices, torch::kInt64);
  return {d.images.index_select(0, idx), d.labels.index_select(0, idx)};
}

// Splits `d` by class: the first quota[c] items of class c (file order) go to the first part.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> split_by_quota(const Dataset& d,
                                                                               const std::vector<std::int64_t>& quota) {
  std::vector<std::int64_t> taken(kNumClasses, 0), first, rest;
  const auto* labels = d.labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < d.size(); ++i) {
    const std::int64_t c = labels[i];
    (taken[c]++ < quota[c] ? first : rest).push_back(i);
  }
  return {first, rest};
}

Dataset stratified_prefix(const Dataset& d, std::int64_t limit) {
  if (limit <= 0 || limit >= d.size()) return d;
  return select(d, split_by_quota(d, apportion(class_counts(d.labels), limit)).first);
}

torch::Tensor randperm(std::int64_t n, at::Generator& gen) {
  return torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64));
}

std::string join(const std::string& dir, const std::string& a, const std::string& b) {
  return (std::filesystem::path(dir) / a / b).string();
}

}  // namespace

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names{"mnist", "fashion_mnist"};
  return names;
}

std::string default_data_dir() {
  const char* env = std::getenv("CIMLAB_DATA_DIR");
  if (env && *env) return env;
  return (std::filesystem::path(kSourceDir) / "data").string();
}

std::vector<std::int64_t> apportion(const std::vector<std::int64_t>& class_counts, std::int64_t total) {
  const std::int64_t n = std::accumulate(class_counts.begin(), class_counts.end(), std::int64_t{0});
  std::vector<std::int64_t> quota(class_counts.size(), 0);
  if (n == 0) return quota;
  total = std::clamp<std::int64_t>(total, 0, n);
  std::vector<std::size_t> order(class_counts.size());
  std::iota(order.begin(), order.end(), 0);
  std::int64_t given = 0;
  for (std::size_t c = 0; c < quota.size(); ++c) given += quota[c] = class_counts[c] * total / n;
  const auto remainder = [&](std::size_t c) { return class_counts[c] * total % n; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return remainder(a) > remainder(b); });
  for (std::size_t k = 0; given < total; ++k, ++given) ++quota[order[k]];
  return quota;
}

std::pair<Dataset, Dataset> stratified_split(const Dataset& d, std::int64_t count, std::uint64_t seed) {
  const std::vector<std::int64_t> quota = apportion(class_counts(d.labels), count);
  std::vector<std::vector<std::int64_t>> by_class(kNumClasses);
  const auto* labels = d.labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < d.size(); ++i) by_class[static_cast<std::size_t>(labels[i])].push_back(i);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::int64_t> sample, rest;
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    const std::vector<std::int64_t>& items = by_class[c];
    const torch::Tensor order = randperm(static_cast<std::int64_t>(items.size()), gen);
    const auto* o = order.data_ptr<std::int64_t>();
    for (std::int64_t k = 0; k < order.numel(); ++k)
      (k < quota[c] ? sample : rest).push_back(items[static_cast<std::size_t>(o[k])]);
  }
  std::sort(rest.begin(), rest.end());
  const torch::Tensor mix = randperm(static_cast<std::int64_t>(sample.size()), gen);
  const auto* m = mix.data_ptr<std::int64_t>();
  std::vector<std::int64_t> mixed(sample.size());
  for (std::size_t k = 0; k < sample.size(); ++k) mixed[k] = sample[static_cast<std::size_t>(m[k])];
  return {select(d, mixed), select(d, rest)};
}

std::vector<torch::Tensor> calibration_batches(const Dataset& train, std::int64_t count, std::uint64_t seed,
                                               std::int64_t batch) {
  const Dataset sample = stratified_split(train, count, core::Rng(seed).fork(kCalibrationStream).seed()).first;
  std::vector<torch::Tensor> batches;
  for (std::int64_t i = 0; i < sample.size(); i += batch)
    batches.push_back(sample.images.slice(0, i, std::min(sample.size(), i + batch)));
  return batches;
}

Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  std::vector<std::uint8_t> images = read_bytes(images_path);
  std::vector<std::uint8_t> labels = read_bytes(labels_path);
  const std::int64_t n = check_idx(images_path, images, kImagesMagic, 16, kPixels);
  const std::int64_t n_labels = check_idx(labels_path, labels, kLabelsMagic, 8, 1);
  if (n != n_labels) fail(labels_path, fmt::format("{} labels for {} images in {}", n_labels, n, images_path));
  for (std::int64_t i = 0; i < n; ++i)
    if (labels[8 + i] >= kNumClasses)
      fail(labels_path, fmt::format("label {} of item {} is not a class in [0, {})", labels[8 + i], i, kNumClasses));
  Dataset d;
  d.images = torch::from_blob(images.data() + 16, {n, 1, kImageSide, kImageSide}, torch::kUInt8)
                 .to(torch::kFloat32)
                 .div_(255.0);
  d.labels = torch::from_blob(labels.data() + 8, {n}, torch::kUInt8).to(torch::kInt64);
  return d;
}

DatasetSplit load_dataset(const std::string& name, const std::string& data_dir, std::int64_t train_limit,
                          std::int64_t test_limit, std::int64_t validation, std::uint64_t seed) {
  const std::string dir = data_dir.empty() ? default_data_dir() : data_dir;
  DatasetSplit s;
  s.name = name;
  if (name == "mnist") {
    const Dataset all = read_idx_pair(join(dir, "mnist", "images-idx3-ubyte"), join(dir, "mnist", "labels-idx1-ubyte"));
    const auto [train, test] = split_by_quota(all, apportion(class_counts(all.labels), all.size() * 4 / 5));
    s.train = select(all, train);
    s.test = select(all, test);
  } else if (name == "fashion_mnist") {
    s.train = read_idx_pair(join(dir, "fashion-mnist", "train-images-idx3-ubyte"),
                            join(dir, "fashion-mnist", "train-labels-idx1-ubyte"));
    s.test = read_idx_pair(join(dir, "fashion-mnist", "t10k-images-idx3-ubyte"),
                           join(dir, "fashion-mnist", "t10k-labels-idx1-ubyte"));
  } else {
    throw core::ModelError(fmt::format("unknown dataset '{}' (known: mnist, fashion_mnist)", name));
  }
  if (validation > 0 && validation >= s.train.size())
    throw core::InputError(fmt::format("dataset.validation = {} leaves no training image: the {} training split has {} "
                                       "images; take fewer for validation",
                                       validation, name, s.train.size()));
  if (validation > 0)
    std::tie(s.validation, s.train) =
        stratified_split(s.train, validation, core::Rng(seed).fork(kValidationStream).seed());
  s.train = stratified_prefix(s.train, train_limit);
  s.test = stratified_prefix(s.test, test_limit);
  return s;
}

}  // namespace cimlab::nn
