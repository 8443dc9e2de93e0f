#include "core/train/recency_weights.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace recserve {
namespace {

TEST(RecencyWeightsTest, LaterInteractionsWeighMoreAndEachUserKeepsItsTotal) {
  // User 0: three interactions at times 30, 10, 20 (the latest first in
  // weight); user 1: one.
  const std::vector<Rating> ratings = {
      {0, 0, 1.0f, 30}, {0, 1, 1.0f, 10}, {0, 2, 2.0f, 20}, {1, 0, 4.0f, 5}};
  const std::vector<Rating> weighted = WeightByRecency(ratings, 2, 2.0f, 1.0f);
  ASSERT_EQ(weighted.size(), 4u);
  const double f0 = 1 + 2 * std::exp(0.0), f1 = 1 + 2 * std::exp(-1.0),
               f2 = 1 + 2 * std::exp(-2.0);
  const double mean = (f0 + f1 + f2) / 3;
  EXPECT_NEAR(weighted[0].value, f0 / mean, 1e-5);
  EXPECT_NEAR(weighted[2].value, 2 * f1 / mean, 1e-5);
  EXPECT_NEAR(weighted[1].value, f2 / mean, 1e-5);
  // A single interaction is its own mean.
  EXPECT_FLOAT_EQ(weighted[3].value, 4.0f);
  // Everything else is kept.
  EXPECT_EQ(weighted[2].item, 2);
  EXPECT_EQ(weighted[2].timestamp, 20);
}

TEST(RecencyWeightsTest, TiesShareARankSoUntimedDataIsUnchanged) {
  const std::vector<Rating> ratings = {
      {0, 0, 3.0f, 0}, {0, 1, -2.0f, 0}, {0, 2, 5.0f, 0}};
  const std::vector<Rating> weighted = WeightByRecency(ratings, 1, 3.0f, 30.0f);
  for (size_t i = 0; i < ratings.size(); ++i)
    EXPECT_FLOAT_EQ(weighted[i].value, ratings[i].value);
}

TEST(RecencyWeightsTest, NegativeValuesKeepTheirSign) {
  const std::vector<Rating> ratings = {{0, 0, -1.0f, 2}, {0, 1, 1.0f, 1}};
  const std::vector<Rating> weighted = WeightByRecency(ratings, 1, 1.0f, 1.0f);
  EXPECT_LT(weighted[0].value, -1.0f);
  EXPECT_GT(weighted[1].value, 0.0f);
  EXPECT_LT(weighted[1].value, 1.0f);
}

TEST(RecencyWeightsTest,
     AnyUserHasTwoTimesOnlyWhenWeightingCanChangeSomething) {
  Dataset data;
  data.users.GetOrAdd("a");
  data.users.GetOrAdd("b");
  data.items.GetOrAdd("x");
  data.items.GetOrAdd("y");
  data.ratings = {{0, 0, 1.0f, 7}, {0, 1, 1.0f, 7}, {1, 0, 1.0f, 3}};
  EXPECT_FALSE(AnyUserHasTwoTimes(data));  // b has another time, not two
  data.ratings.push_back({1, 1, 1.0f, 4});
  EXPECT_TRUE(AnyUserHasTwoTimes(data));
  data.ratings.clear();
  EXPECT_FALSE(AnyUserHasTwoTimes(data));
}

}  // namespace
}  // namespace recserve
