#pragma once
// Typed errors thrown by library code. Only the CLI turns them into messages and exit codes:
// ConfigError / InputError / ModelError -> exit 2 (bad usage or bad input); NumericalError and other
// runtime failures -> exit 1; InternalError (a bug in cimlab) -> exit 3. Thread-safe: plain value types.
#include <stdexcept>
#include <string>
#include <vector>

namespace cimlab::core {

// One problem found in an input, with where it was found (file may be "--set" or a CSV path).
struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
  std::string message;

  std::string to_string() const;
};

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration file or override is wrong. Holds every problem found, not only the first.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  explicit ConfigError(const std::string& message);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

// An input data file (weights, inputs, conductances, fault map, INL table) is missing or malformed.
class InputError : public Error {
 public:
  using Error::Error;
};

// A model or component was asked for something it cannot represent (unknown type, bad shape).
class ModelError : public Error {
 public:
  using Error::Error;
};

// A programming error inside cimlab (e.g. a parameter read that was never declared): not the user's
// fault. The CLI asks for a bug report and exits 3.
class InternalError : public Error {
 public:
  using Error::Error;
};

// A numerical method failed (non-convergence, singular system). Runtime failure, exit 1.
class NumericalError : public Error {
 public:
  using Error::Error;
};

// Collects diagnostics so that all problems of a file are reported at once.
class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  bool empty() const { return items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // Throws ConfigError holding every collected diagnostic if any were added.
  void throw_if_any() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace cimlab::core
