#include "core/train/bpmf_trainer.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/low_rank_ratings.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

TEST(BpmfTrainerTest, PredictsUnseenEntriesNearTheNoiseLevel) {
  // σ = 0.5 noise: no model can beat ~0.5 on held-out entries; the posterior
  // mean should come close without any regularization to tune.
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(200, 150, 3, 0.3, 0.5, 21);
  std::vector<Rating> fit, held_out;
  CarveValidation(lr.data.ratings, 0.2, 3, &fit, &held_out);
  BpmfOptions options;
  options.factors = 8;
  options.sweeps = 60;
  options.burn_in = 15;
  auto result = TrainBpmf(lr.data.num_users(), lr.data.num_items(), fit,
                          held_out, RatingScale{-100, 100, 0.5f}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  const double rmse = Rmse(result->model, held_out);
  EXPECT_LT(rmse, 0.5 * 1.15);
  EXPECT_GT(rmse, 0.5 * 0.8);  // better than the noise would be suspicious
  EXPECT_DOUBLE_EQ(result->history.back().valid_rmse, rmse);
  EXPECT_EQ(result->history.size(), 60u);
}

TEST(BpmfTrainerTest, SameResultForAnyThreadCount) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(70, 60, 2, 0.3, 0.5, 5);
  BpmfOptions options;
  options.factors = 4;
  options.sweeps = 6;
  options.burn_in = 2;
  options.threads = 1;
  auto one = TrainBpmf(70, 60, lr.data.ratings, {}, RatingScale{}, options);
  options.threads = 2;
  auto two = TrainBpmf(70, 60, lr.data.ratings, {}, RatingScale{}, options);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->model.user_factors, two->model.user_factors);
  EXPECT_EQ(one->model.item_factors, two->model.item_factors);
  EXPECT_EQ(one->model.user_bias, two->model.user_bias);
}

TEST(BpmfTrainerTest, RowsWithoutRatingsAreDrawnFromThePrior) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(30, 20, 2, 0.5, 0.3, 9);
  BpmfOptions options;
  options.factors = 3;
  options.sweeps = 4;
  options.burn_in = 1;
  auto result = TrainBpmf(32, 22, lr.data.ratings, {}, RatingScale{}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->model.user_factors.allFinite());
  EXPECT_TRUE(result->model.item_factors.allFinite());
}

TEST(BpmfTrainerTest, RejectsBurnInNotBelowSweeps) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(5, 5, 1, 0.5, 0, 1);
  BpmfOptions options;
  options.sweeps = 10;
  options.burn_in = 10;
  auto result = TrainBpmf(5, 5, lr.data.ratings, {}, RatingScale{}, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("burn-in"));
}

}  // namespace
}  // namespace recserve
