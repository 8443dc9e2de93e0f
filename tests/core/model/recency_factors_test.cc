#include "core/model/recency_factors.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;

TEST(RecencyFactorsTest, LaterCountsRankTiesTogether) {
  // Two interactions at the latest time share rank 0; the next one is
  // behind both of them.
  const std::vector<int64_t> times = {30, 10, 20, 30, 5};
  EXPECT_THAT(LaterCounts(times), ElementsAre(0, 3, 2, 0, 4));
  EXPECT_THAT(LaterCounts(std::vector<int64_t>{7, 7, 7}), ElementsAre(0, 0, 0));
  EXPECT_TRUE(LaterCounts({}).empty());
  // Only the order counts: negative times and a shift change nothing.
  EXPECT_THAT(LaterCounts(std::vector<int64_t>{-3, -1, -2}),
              ElementsAre(2, 0, 1));
}

TEST(RecencyFactorsTest, FactorsFollowTheFormulaAndAverageOne) {
  const std::vector<int64_t> times = {30, 10, 20, 30};
  const float weight = 2.0f, horizon = 1.5f;
  const std::vector<double> factors = RecencyFactors(times, weight, horizon);
  ASSERT_EQ(factors.size(), 4u);
  const double f0 = 1 + 2 * std::exp(0.0), f2 = 1 + 2 * std::exp(-2 / 1.5),
               f3 = 1 + 2 * std::exp(-3 / 1.5);
  const double mean = (2 * f0 + f2 + f3) / 4;
  EXPECT_NEAR(factors[0], f0 / mean, 1e-12);
  EXPECT_NEAR(factors[1], f3 / mean, 1e-12);
  EXPECT_NEAR(factors[2], f2 / mean, 1e-12);
  EXPECT_NEAR(factors[3], f0 / mean, 1e-12);
  double sum = 0;
  for (const double f : factors) sum += f;
  EXPECT_NEAR(sum / 4, 1.0, 1e-12);
  EXPECT_GT(factors[0], factors[2]);
  EXPECT_GT(factors[2], factors[1]);
}

TEST(RecencyFactorsTest, TiesAndZeroWeightAreUnweighted) {
  for (const double f :
       RecencyFactors(std::vector<int64_t>{4, 4, 4, 4, 4, 4}, 0.3f, 30.0f)) {
    EXPECT_EQ(static_cast<float>(f), 1.0f);
  }
  for (const double f :
       RecencyFactors(std::vector<int64_t>{1, 2, 3}, 0.0f, 30.0f)) {
    EXPECT_EQ(f, 1.0);
  }
  EXPECT_TRUE(RecencyFactors({}, 3.0f, 30.0f).empty());
}

}  // namespace
}  // namespace recserve
