#include "core/matrix_io.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "core/rng.hpp"

using namespace cimlab::core;

namespace {
std::string temp_file(const std::string& name, const std::string& content) {
  const auto dir = std::filesystem::temp_directory_path() / "cimlab_io_test";
  std::filesystem::create_directories(dir);
  const auto p = (dir / name).string();
  std::ofstream(p, std::ios::binary) << content;
  return p;
}
}  // namespace

TEST(MatrixIo, CsvRoundTripIsExact) {
  Eigen::MatrixXd m(2, 3);
  m << 1.0 / 3.0, -2e-7, 5, 0.1, 1e300, -0.0;
  const auto p = temp_file("rt.csv", "");
  write_csv(p, m);
  EXPECT_EQ(read_matrix(p), m);
}

TEST(MatrixIo, CsvErrorsNameFileAndLine) {
  auto expect_error = [](const std::string& content, const std::string& needle) {
    const auto p = temp_file("bad.csv", content);
    try {
      read_matrix(p);
      FAIL() << "no error for " << content;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("1,2\n3,nan\n", "bad.csv:2: column 2");
  expect_error("1,2\n3\n", "bad.csv:2: 1 values");
  expect_error("", "no data");
  expect_error("1,x\n", "'x' is not a number");
  EXPECT_THROW(read_matrix("/nonexistent/w.csv"), InputError);
}

TEST(MatrixIo, ReadsNpy) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  header.append(118 - header.size() - 1, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + std::string(1, char(header.size())) + std::string(1, '\0') + header;
  const double v[4] = {1.0, 2.0, 3.0, 4.5};
  bytes.append(reinterpret_cast<const char*>(v), sizeof v);
  const Eigen::MatrixXd m = read_matrix(temp_file("m.npy", bytes));
  ASSERT_EQ(m.rows(), 2);
  EXPECT_EQ(m(1, 0), 3.0);
  EXPECT_EQ(m(1, 1), 4.5);
  EXPECT_THROW(read_matrix(temp_file("t.npy", bytes.substr(0, bytes.size() - 4))), InputError);
  EXPECT_THROW(read_matrix(temp_file("x.npy", "garbage")), InputError);
}

TEST(Rng, SameSeedSameNumbersAndIndependentStreams) {
  Rng a(7), b(7);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.normal(), b.normal());
  Rng f1 = fork(Rng(7), Stream::kProgramming), f2 = fork(Rng(7), Stream::kReadNoise);
  EXPECT_NE(f1.next_u64(), f2.next_u64());
  Rng s(1);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = s.normal();
    sum += z;
    sq += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.01);
}
