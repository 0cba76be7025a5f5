#include "core/matrix_io.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/errors.hpp"

namespace cimlab::core {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Eigen::MatrixXd read_csv(const std::string& path, std::istream& in) {
  std::vector<std::vector<double>> rows;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    std::vector<double> row;
    int col = 1;
    while (true) {
      const auto comma = l.find(',');
      const std::string_view cell = trim(l.substr(0, comma));
      double v = 0.0;
      const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
      if (ec != std::errc() || end != cell.data() + cell.size() || cell.empty())
        throw InputError(fmt::format("{}:{}: column {}: '{}' is not a number", path, lineno, col, cell));
      if (!std::isfinite(v))
        throw InputError(fmt::format("{}:{}: column {}: {} is not a finite number", path, lineno, col, cell));
      row.push_back(v);
      if (comma == std::string_view::npos) break;
      l = l.substr(comma + 1);
      ++col;
    }
    if (!rows.empty() && row.size() != rows.front().size())
      throw InputError(fmt::format("{}:{}: {} values, but the first row has {}", path, lineno, row.size(),
                                   rows.front().size()));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw InputError(fmt::format("{}: no data", path));
  Eigen::MatrixXd m(rows.size(), rows.front().size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < rows[i].size(); ++j) m(i, j) = rows[i][j];
  return m;
}

struct NpyHeader {
  char kind = 0;    // 'f', 'i', 'u'
  int bytes = 0;
  bool fortran = false;
  std::vector<std::int64_t> shape;
};

NpyHeader parse_npy_header(const std::string& path, const std::string& h) {
  NpyHeader out;
  const auto descr = h.find("'descr'");
  const auto q1 = h.find('\'', descr + 7), q2 = h.find('\'', q1 + 1);
  if (descr == std::string::npos || q2 == std::string::npos)
    throw InputError(fmt::format("{}: corrupt .npy header (no descr)", path));
  const std::string d = h.substr(q1 + 1, q2 - q1 - 1);
  if (d.size() < 3 || (d[0] != '<' && d[0] != '|' && d[0] != '='))
    throw InputError(fmt::format("{}: unsupported .npy dtype '{}' (need little-endian numbers)", path, d));
  out.kind = d[1];
  out.bytes = std::atoi(d.c_str() + 2);
  out.fortran = h.find("'fortran_order': True") != std::string::npos;
  const auto lp = h.find('(', h.find("'shape'")), rp = h.find(')', lp);
  if (lp == std::string::npos || rp == std::string::npos)
    throw InputError(fmt::format("{}: corrupt .npy header (no shape)", path));
  std::stringstream ss(h.substr(lp + 1, rp - lp - 1));
  for (std::string tok; std::getline(ss, tok, ',');) {
    tok = std::string(trim(tok));
    if (tok.empty()) continue;
    const long long v = std::atoll(tok.c_str());
    if (v < 0 || v > (1LL << 31)) throw InputError(fmt::format("{}: absurd .npy dimension {}", path, tok));
    out.shape.push_back(v);
  }
  return out;
}

bool supported(const NpyHeader& h) {
  return (h.kind == 'f' && (h.bytes == 8 || h.bytes == 4)) || (h.kind == 'i' && (h.bytes == 8 || h.bytes == 4)) ||
         (h.kind == 'u' && h.bytes == 1);
}

double npy_value(const char* p, const NpyHeader& h) {
  if (h.kind == 'f' && h.bytes == 8) { double v; std::memcpy(&v, p, 8); return v; }
  if (h.kind == 'f' && h.bytes == 4) { float v; std::memcpy(&v, p, 4); return v; }
  if (h.kind == 'i' && h.bytes == 8) { std::int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
  if (h.kind == 'i' && h.bytes == 4) { std::int32_t v; std::memcpy(&v, p, 4); return v; }
  if (h.kind == 'u' && h.bytes == 1) return static_cast<unsigned char>(*p);
  return std::nan("");
}

Eigen::MatrixXd read_npy(const std::string& path, std::istream& in) {
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw InputError(fmt::format("{}: not a .npy file (bad magic)", path));
  std::uint32_t hlen = 0;
  unsigned char b[4] = {0, 0, 0, 0};
  const int width = magic[6] == 1 ? 2 : 4;
  if (!in.read(reinterpret_cast<char*>(b), width)) throw InputError(fmt::format("{}: truncated .npy header", path));
  hlen = b[0] | (b[1] << 8) | (width == 4 ? (b[2] << 16) | (std::uint32_t{b[3]} << 24) : 0);
  if (hlen > (1u << 20)) throw InputError(fmt::format("{}: corrupt .npy header length", path));
  std::string header(hlen, '\0');
  if (!in.read(header.data(), hlen)) throw InputError(fmt::format("{}: truncated .npy header", path));
  const NpyHeader h = parse_npy_header(path, header);
  if (h.shape.empty() || h.shape.size() > 2)
    throw InputError(fmt::format("{}: .npy must hold a 1-D or 2-D array", path));
  if (!supported(h)) throw InputError(fmt::format("{}: unsupported .npy dtype (use float64, float32, int64, int32 or uint8)", path));
  const std::int64_t rows = h.shape[0], cols = h.shape.size() == 2 ? h.shape[1] : 1;
  if (rows * cols == 0 || rows * cols > (1LL << 28)) throw InputError(fmt::format("{}: empty or absurd .npy shape", path));
  std::vector<char> data(static_cast<std::size_t>(rows * cols * h.bytes));
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size())))
    throw InputError(fmt::format("{}: truncated .npy data", path));
  Eigen::MatrixXd m(rows, cols);
  for (std::int64_t k = 0; k < rows * cols; ++k) {
    const double v = npy_value(data.data() + k * h.bytes, h);
    if (!std::isfinite(v)) throw InputError(fmt::format("{}: element {} is not a finite number", path, k));
    if (h.fortran) m(k % rows, k / rows) = v; else m(k / cols, k % cols) = v;
  }
  return m;
}

}  // namespace

Eigen::MatrixXd read_matrix(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(fmt::format("{}: file not found", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot read file", path));
  if (std::filesystem::path(path).extension() == ".npy") return read_npy(path, in);
  return read_csv(path, in);
}

void write_csv(const std::string& path, const Eigen::MatrixXd& m) {
  std::ofstream out(path);
  if (!out) throw InputError(fmt::format("{}: cannot write file", path));
  std::string line;
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    line.clear();
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      if (j) line += ',';
      line += fmt::format("{:.17g}", m(i, j));
    }
    out << line << '\n';
  }
  if (!out) throw InputError(fmt::format("{}: write failed", path));
}

}  // namespace cimlab::core
