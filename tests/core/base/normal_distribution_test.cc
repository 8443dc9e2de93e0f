#include "core/base/normal_distribution.h"

#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>

#include "gtest/gtest.h"

namespace recserve {
namespace {

// The standard normal density.
double Density(double x) {
  return std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
}

TEST(NormalDistributionTest, CdfMatchesKnownValues) {
  EXPECT_DOUBLE_EQ(NormalCdf(0.0), 0.5);
  EXPECT_NEAR(NormalCdf(1.0), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(NormalCdf(-1.959963984540054), 0.025, 1e-15);
  // Deep in the lower tail it keeps its relative accuracy (Mills' ratio:
  // Φ(-x) ≈ φ(x)/x · (1 - 1/x² + 3/x⁴)).
  const double x = 30.0;
  const double mills = Density(x) / x * (1 - 1 / (x * x) + 3 / std::pow(x, 4));
  EXPECT_NEAR(NormalCdf(-x) / mills, 1.0, 1e-5);
}

TEST(NormalDistributionTest, QuantileInvertsTheCdfInEveryRegion) {
  // The central region, both tails, and far into the lower tail.
  for (const double p : {1e-300, 1e-100, 1e-20, 1e-5, 0.01, 0.02425, 0.1, 0.3,
                         0.5, 0.7, 0.9, 0.97575, 0.99, 0.999999}) {
    const double x = NormalQuantile(p);
    EXPECT_NEAR(NormalCdf(x) / p, 1.0, 1e-13) << "p=" << p;
  }
  EXPECT_DOUBLE_EQ(NormalQuantile(0.5), 0.0);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-14);
  EXPECT_EQ(NormalQuantile(0.0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(NormalQuantile(1.0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(NormalQuantile(-0.1)));
  EXPECT_TRUE(std::isnan(NormalQuantile(1.5)));
  EXPECT_TRUE(std::isnan(NormalQuantile(std::nan(""))));
}

// The mean and variance of N(0, 1) restricted to (a, b].
void TruncatedMoments(double a, double b, double* mean, double* variance) {
  const double z = NormalCdf(b) - NormalCdf(a);
  const double da = std::isinf(a) ? 0 : Density(a),
               db = std::isinf(b) ? 0 : Density(b);
  const double ada = std::isinf(a) ? 0 : a * da,
               bdb = std::isinf(b) ? 0 : b * db;
  *mean = (da - db) / z;
  *variance = 1 + (ada - bdb) / z - *mean * *mean;
}

TEST(NormalDistributionTest, TruncatedDrawsStayInsideAndHaveTheRightMoments) {
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    double lower, upper;
  };
  // Around the mean, one-sided either way, an interval far above the mean
  // (sampled mirrored), and one far below.
  const Case cases[] = {{-0.5, 1.0}, {-inf, -1.0}, {1.5, inf},
                        {4.0, 4.5},  {-8.0, -7.0}, {-inf, inf}};
  for (uint64_t i = 0; i < std::size(cases); ++i) {
    const Case c = cases[i];
    const double mean = 2.0, stddev = 0.5;
    RandomStream random(7, i);
    constexpr int kDraws = 40000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < kDraws; ++i) {
      const double x =
          SampleTruncatedNormal(mean, stddev, mean + stddev * c.lower,
                                mean + stddev * c.upper, random);
      ASSERT_GE(x, mean + stddev * c.lower);
      ASSERT_LE(x, mean + stddev * c.upper);
      const double z = (x - mean) / stddev;
      sum += z;
      sum_sq += z * z;
    }
    double want_mean, want_variance;
    TruncatedMoments(c.lower, c.upper, &want_mean, &want_variance);
    const double got_mean = sum / kDraws;
    const double got_variance = sum_sq / kDraws - got_mean * got_mean;
    // Five standard errors of the mean; the variance within 5%.
    EXPECT_NEAR(got_mean, want_mean, 5 * std::sqrt(want_variance / kDraws))
        << c.lower << ".." << c.upper;
    EXPECT_NEAR(got_variance / want_variance, 1.0, 0.05)
        << c.lower << ".." << c.upper;
  }
}

TEST(NormalDistributionTest, AnIntervalBeyondDoublePrecisionStillGetsADraw) {
  // 60 standard deviations below the mean: Φ underflows to 0 at both ends.
  RandomStream random(3);
  for (int i = 0; i < 100; ++i) {
    const double x = SampleTruncatedNormal(0.0, 1.0, -61.0, -60.0, random);
    ASSERT_GE(x, -61.0);
    ASSERT_LE(x, -60.0);
    // Nearly all of the mass lies within a few 1/60ths of the upper end.
    EXPECT_GT(x, -60.2);
  }
  // The same mirrored, far above the mean.
  const double y = SampleTruncatedNormal(0.0, 1.0, 60.0, 61.0, random);
  EXPECT_GE(y, 60.0);
  EXPECT_LT(y, 60.2);
}

}  // namespace
}  // namespace recserve
