#include "core/train/sgd_trainer.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/low_rank_ratings.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

TEST(SgdTrainerTest, LearnsALowRankMatrix) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(120, 80, 3, 0.5, 0.0, 7);
  std::vector<Rating> fit, held_out;
  CarveValidation(lr.data.ratings, 0.2, 3, &fit, &held_out);
  SgdOptions options;
  options.factors = 3;
  options.learning_rate = 0.02f;
  options.learning_rate_decay = 0.99f;
  options.reg = 0.001f;
  options.bias_reg = 0.001f;
  options.max_epochs = 300;
  auto result = TrainSgd(lr.data.num_users(), lr.data.num_items(), fit, {},
                         RatingScale{-100, 100, 0.5f}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LT(Rmse(result->model, fit), 0.1);
  EXPECT_LT(Rmse(result->model, held_out), 0.25);
}

TEST(SgdTrainerTest, DeterministicForASeedAndDifferentAcrossSeeds) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(50, 40, 2, 0.4, 0.3, 3);
  SgdOptions options;
  options.max_epochs = 3;
  options.seed = 9;
  auto a = TrainSgd(50, 40, lr.data.ratings, {}, RatingScale{}, options);
  auto b = TrainSgd(50, 40, lr.data.ratings, {}, RatingScale{}, options);
  options.seed = 10;
  auto c = TrainSgd(50, 40, lr.data.ratings, {}, RatingScale{}, options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->model.user_factors, b->model.user_factors);
  EXPECT_EQ(a->model.item_bias, b->model.item_bias);
  EXPECT_NE(a->model.user_factors, c->model.user_factors);
}

TEST(SgdTrainerTest, EarlyStoppingKeepsTheBestEpoch) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(80, 60, 2, 0.25, 1.0, 13);
  std::vector<Rating> fit, valid;
  CarveValidation(lr.data.ratings, 0.2, 1, &fit, &valid);
  SgdOptions options;
  options.factors = 20;
  options.reg = 0.0f;
  options.learning_rate = 0.05f;
  options.learning_rate_decay = 1.0f;
  options.max_epochs = 200;
  options.early_stopping.patience = 3;
  auto result =
      TrainSgd(80, 60, fit, valid, RatingScale{-100, 100, 0.5f}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_LT(result->history.size(), 200u);
  EXPECT_NEAR(Rmse(result->model, valid), result->best_valid_rmse, 1e-6);
  for (const EpochStats& s : result->history) {
    EXPECT_GE(s.valid_rmse, result->best_valid_rmse - 1e-9);
  }
}

TEST(SgdTrainerTest, RejectsBadOptions) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(5, 5, 1, 0.5, 0, 1);
  SgdOptions options;
  options.learning_rate = -1;
  auto result = TrainSgd(5, 5, lr.data.ratings, {}, RatingScale{}, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("learning_rate"));
  options = SgdOptions();
  options.max_epochs = 0;
  EXPECT_THAT(TrainSgd(5, 5, lr.data.ratings, {}, RatingScale{}, options)
                  .status()
                  .message(),
              HasSubstr("epochs must be"));
}

}  // namespace
}  // namespace recserve
