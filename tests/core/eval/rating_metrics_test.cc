#include "core/eval/rating_metrics.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace recserve {
namespace {

// μ = 3, b_u = [0.5, -0.5], b_i = [1.5, 0], p = [[1], [2]], q = [[0.5], [0]],
// scale [1, 5]. Scores:
//   (0, 0) = 3 + 0.5 + 1.5 + 1 * 0.5 = 5.5 -> clamped to 5
//   (1, 1) = 3 - 0.5 + 0 + 2 * 0 = 2.5
//   (?, 0) = 3 + 1.5 = 4.5        (unknown user: μ + b_i)
//   (0, ?) = 3 + 0.5 = 3.5        (unknown item: μ + b_u)
MfModel ToyModel() {
  MfModel m;
  m.global_mean = 3.0f;
  m.user_bias.resize(2);
  m.user_bias << 0.5f, -0.5f;
  m.item_bias.resize(2);
  m.item_bias << 1.5f, 0.0f;
  m.user_factors.resize(2, 1);
  m.user_factors << 1.0f, 2.0f;
  m.item_factors.resize(2, 1);
  m.item_factors << 0.5f, 0.0f;
  m.scale = {1.0f, 5.0f, 1.0f};
  return m;
}

TEST(EvaluateRatingsTest, HandComputedToyCase) {
  const std::vector<Rating> test = {
      {0, 0, 4.0f, 0},              // predicted 5:   error  1
      {1, 1, 2.0f, 0},              // predicted 2.5: error  0.5
      {kUnknownIndex, 0, 5.0f, 0},  // predicted 4.5: error -0.5
      {0, kUnknownIndex, 3.0f, 0},  // predicted 3.5: error  0.5
  };
  const RatingMetrics m = EvaluateRatings(ToyModel(), test);
  EXPECT_EQ(m.count, 4);
  // SSE = 1 + 0.25 + 0.25 + 0.25 = 1.75; RMSE = sqrt(1.75 / 4).
  EXPECT_NEAR(m.rmse, std::sqrt(0.4375), 1e-9);  // 0.661437...
  // MAE = (1 + 0.5 + 0.5 + 0.5) / 4.
  EXPECT_NEAR(m.mae, 0.625, 1e-9);
  // Test mean = (4 + 2 + 5 + 3) / 4 = 3.5; SST = 0.25 + 2.25 + 2.25 + 0.25
  // = 5; R² = 1 - 1.75 / 5.
  EXPECT_NEAR(m.r2, 0.65, 1e-9);
}

TEST(EvaluateRatingsTest, PredictionsAreClamped) {
  // Unclamped, (0, 0) scores 5.5 and the error would be 0.5, not 0.
  const std::vector<Rating> test = {{0, 0, 5.0f, 0}, {1, 1, 3.5f, 0}};
  const RatingMetrics m = EvaluateRatings(ToyModel(), test);
  // Errors 0 and -1: RMSE = sqrt(1 / 2), MAE = 0.5; mean 4.25, SST =
  // 0.5625 * 2 = 1.125, R² = 1 - 1 / 1.125 = 0.111...
  EXPECT_NEAR(m.rmse, std::sqrt(0.5), 1e-9);
  EXPECT_NEAR(m.mae, 0.5, 1e-9);
  EXPECT_NEAR(m.r2, 1.0 - 1.0 / 1.125, 1e-9);
}

TEST(EvaluateRatingsTest, EmptyTestGivesNaN) {
  const RatingMetrics m = EvaluateRatings(ToyModel(), {});
  EXPECT_EQ(m.count, 0);
  EXPECT_TRUE(std::isnan(m.rmse));
  EXPECT_TRUE(std::isnan(m.mae));
  EXPECT_TRUE(std::isnan(m.r2));
}

TEST(EvaluateRatingsTest, ConstantTestRatingsHaveUndefinedR2) {
  // Predictions 5 and 2.5 against 3 and 3: errors 2 and -0.5.
  const std::vector<Rating> test = {{0, 0, 3.0f, 0}, {1, 1, 3.0f, 0}};
  const RatingMetrics m = EvaluateRatings(ToyModel(), test);
  EXPECT_NEAR(m.rmse, std::sqrt((4.0 + 0.25) / 2), 1e-9);
  EXPECT_NEAR(m.mae, 1.25, 1e-9);
  EXPECT_TRUE(std::isnan(m.r2));
}

}  // namespace
}  // namespace recserve
