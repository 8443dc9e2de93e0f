#include "core/base/normal_distribution.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace recserve {
namespace {

// Acklam's coefficients: the central region, then the tails.
constexpr double kA[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                         -2.759285104469687e+02, 1.383577518672690e+02,
                         -3.066479806614716e+01, 2.506628277459239e+00};
constexpr double kB[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                         -1.556989798598866e+02, 6.680131188771972e+01,
                         -1.328068155288572e+01};
constexpr double kC[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                         -2.400758277161838e+00, -2.549732539343734e+00,
                         4.374664141464968e+00,  2.938163982698783e+00};
constexpr double kD[] = {7.784695709041462e-03, 3.224671290700398e-01,
                         2.445134137142996e+00, 3.754408661907416e+00};
constexpr double kTail = 0.02425;
// SampleTruncatedNormal tries rejection this many times first; plain normal
// draws for an open interval only when it reaches within kRejectionReach
// standard deviations of the mean.
constexpr double kRejectionReach = 2.0;
constexpr int kRejectionTries = 4;

// Φ⁻¹(p) in the lower tail (p <= kTail), to about 1e-9 relative.
double LowerTailQuantile(double p) {
  const double q = std::sqrt(-2.0 * std::log(p));
  return (((((kC[0] * q + kC[1]) * q + kC[2]) * q + kC[3]) * q + kC[4]) * q +
          kC[5]) /
         ((((kD[0] * q + kD[1]) * q + kD[2]) * q + kD[3]) * q + 1.0);
}

// A standard normal draw restricted to (a, b], a <= 0 (the caller mirrors
// intervals above the mean), so Φ(a) is computed where it is small.
double SampleStandardTruncated(double a, double b, RandomStream& random) {
  const double fa = NormalCdf(a), fb = NormalCdf(b);
  const double u = random.Uniform();
  if (!(fb > fa)) {
    // Both bounds deep in the lower tail: the density falls off like
    // e^{b·(x - b)} below b.
    const double x = b + std::log1p(-u) / std::max(-b, 1.0);
    return std::max(x, a);
  }
  const double x = NormalQuantile(fa + u * (fb - fa));
  return std::clamp(x, a, b);
}

}  // namespace

double NormalCdf(double x) { return 0.5 * std::erfc(-x * M_SQRT1_2); }

double NormalQuantile(double p) {
  if (std::isnan(p) || p < 0.0 || p > 1.0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  double x;
  if (p < kTail) {
    x = LowerTailQuantile(p);
  } else if (p > 1.0 - kTail) {
    x = -LowerTailQuantile(1.0 - p);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((kA[0] * r + kA[1]) * r + kA[2]) * r + kA[3]) * r + kA[4]) * r +
         kA[5]) *
        q /
        (((((kB[0] * r + kB[1]) * r + kB[2]) * r + kB[3]) * r + kB[4]) * r +
         1.0);
  }
  // One Halley step on Φ(x) - p.
  const double e = NormalCdf(x) - p;
  const double u = e * std::sqrt(2.0 * M_PI) * std::exp(0.5 * x * x);
  if (!std::isfinite(u)) return x;
  return x - u / (1.0 + 0.5 * x * u);
}

double SampleTruncatedNormal(double mean, double stddev, double lower,
                             double upper, RandomStream& random) {
  const double a = (lower - mean) / stddev, b = (upper - mean) / stddev;
  // Rejection first, which is cheaper than inversion's CDFs and quantile
  // when it is likely to succeed within a few tries: for a bounded interval
  // from uniform proposals over it (Robert 1995), for an open one near the
  // mean from plain normal draws. Whether the tries succeed does not depend
  // on where a success lands, so falling back to inversion after them
  // keeps the draw exact.
  if (std::isfinite(a) && std::isfinite(b)) {
    // -2 log of the density's peak over the interval, against the mean's.
    const double peak = a > 0.0 ? a * a : (b < 0.0 ? b * b : 0.0);
    for (int tries = 0; tries < kRejectionTries; ++tries) {
      const double z = a + (b - a) * random.Uniform();
      if (random.Uniform() < std::exp(0.5 * (peak - z * z))) {
        return mean + stddev * z;
      }
    }
  } else if (a < kRejectionReach && b > -kRejectionReach) {
    for (int tries = 0; tries < kRejectionTries; ++tries) {
      const double z = random.Normal();
      if (z > a && z <= b) return mean + stddev * z;
    }
  }
  if (a > 0.0) return mean - stddev * SampleStandardTruncated(-b, -a, random);
  return mean + stddev * SampleStandardTruncated(a, b, random);
}

}  // namespace recserve
