#pragma once
// Seeded random generator passed explicitly to every component that draws random numbers.
// Platform-independent: the engine (mt19937_64) is fully specified by the C++ standard and the
// distributions below are written out here (std:: distributions differ between libraries).
// Not thread-safe: give each thread its own stream via fork().
#include <cmath>
#include <cstdint>
#include <random>

namespace cimlab::core {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed), seed_(seed) {}

  std::uint64_t seed() const { return seed_; }
  std::uint64_t next_u64() { return engine_(); }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Standard normal, Marsaglia polar method.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  bool bernoulli(double p) { return uniform() < p; }

  // An independent stream for a named purpose (e.g. "programming", "read_noise"), so that enabling
  // one effect never shifts the random numbers drawn by another.
  Rng fork(std::uint64_t stream) const {
    std::seed_seq seq{static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32),
                      static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)};
    std::uint64_t s[2];
    std::uint32_t w[4];
    seq.generate(w, w + 4);
    s[0] = (std::uint64_t{w[0]} << 32) | w[1];
    s[1] = (std::uint64_t{w[2]} << 32) | w[3];
    return Rng(s[0] ^ (s[1] * 0x9E3779B97F4A7C15ULL));
  }

 private:
  std::mt19937_64 engine_;
  std::uint64_t seed_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// Stable stream ids for Rng::fork, one per kind of random draw.
enum class Stream : std::uint64_t {
  kWeights = 1,
  kInputs = 2,
  kProgramming = 3,
  kReadNoise = 4,
  kDrift = 5,
  kFaults = 6,
};
inline Rng fork(const Rng& rng, Stream s) { return rng.fork(static_cast<std::uint64_t>(s)); }

}  // namespace cimlab::core
