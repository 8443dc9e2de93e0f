#ifndef RECSERVE_CORE_BASE_RANDOM_STREAM_H_
#define RECSERVE_CORE_BASE_RANDOM_STREAM_H_

// A small counter-seeded random generator: RandomStream(seed, a, b) gives
// the same numbers for the same arguments on any thread, which lets parallel
// loops draw per-row randomness independent of scheduling.

#include <cmath>
#include <cstdint>

namespace recserve {

class RandomStream {
 public:
  RandomStream(uint64_t seed, uint64_t a = 0, uint64_t b = 0)
      : state_(Mix(seed ^ Mix(a + 0x632be59bd9b4e019ull) ^
                   Mix(b + 0x9e3779b97f4a7c15ull))) {}

  // The stream whose splitmix64 state starts at `state` as given, without
  // the constructor's mixing: for streams whose numbers must stay as they
  // were (the sampling of EvaluateTopN, topn_evaluation.h).
  static RandomStream FromState(uint64_t state) {
    RandomStream stream(0);
    stream.state_ = state;
    return stream;
  }

  // splitmix64 (Steele, Lea, Flood 2014).
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    return Mix(z);
  }
  // Uniform in [0, 1).
  double Uniform() { return (Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n), n >= 1 (multiply-shift; bias below n / 2^64).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }
  // Standard normal (Box–Muller; the second value is cached).
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1;
    do {
      u1 = Uniform();
    } while (u1 <= 0.0);
    const double u2 = Uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_RANDOM_STREAM_H_
