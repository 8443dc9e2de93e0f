#ifndef RECSERVE_CORE_BASE_NORMAL_DISTRIBUTION_H_
#define RECSERVE_CORE_BASE_NORMAL_DISTRIBUTION_H_

// The standard normal distribution's CDF and quantile, and draws from a
// normal distribution restricted to an interval (the latent ratings of an
// ordinal output, core/train/ordinal_latents.h). Pure functions; thread-safe.

#include "core/base/random_stream.h"

namespace recserve {

// Φ(x), accurate to a few ulps far into both tails (through erfc).
double NormalCdf(double x);

// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation refined by one
// Halley step against NormalCdf, so Φ(Φ⁻¹(p)) = p to about 1e-15
// relative. ±infinity at p = 0 and 1; NaN outside [0, 1].
double NormalQuantile(double p);

// A draw from N(mean, stddev²) restricted to (lower, upper]; either bound
// may be infinite; needs lower < upper and stddev > 0. First by a few
// tries of rejection (uniform proposals for a bounded interval, normal ones
// for an open interval near the mean); when they all miss, by inversion,
// computed on the side of the mean where the CDF is small, so an interval far
// in a tail is still sampled from its own shape; an interval beyond about 37
// standard deviations, whose probability is below the smallest double, gets the
// exponential tail approximation.
double SampleTruncatedNormal(double mean, double stddev, double lower,
                             double upper, RandomStream& random);

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_NORMAL_DISTRIBUTION_H_
