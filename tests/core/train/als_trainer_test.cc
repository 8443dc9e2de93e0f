#include "core/train/als_trainer.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/low_rank_ratings.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

TEST(AlsTrainerTest, RecoversALowRankMatrixFromHalfOfItsEntries) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(120, 80, 3, 0.5, 0.0, 7);
  std::vector<Rating> fit, held_out;
  CarveValidation(lr.data.ratings, 0.2, 3, &fit, &held_out);
  AlsOptions options;
  options.factors = 3;
  options.reg = 0.002f;
  options.bias_reg = 0.002f;
  options.max_iterations = 40;
  options.early_stopping.patience = 100;
  RatingScale wide{-100, 100, 0.5f};
  absl::StatusOr<TrainResult> result = TrainAls(
      lr.data.num_users(), lr.data.num_items(), fit, {}, wide, options);
  ASSERT_TRUE(result.ok()) << result.status();
  // Noise-free rank-3 data: both fitted and unseen entries are recovered.
  EXPECT_LT(Rmse(result->model, fit), 0.05);
  EXPECT_LT(Rmse(result->model, held_out), 0.15);
  // The rating spread is about 1.1, so a bias-only model would be far off.
  EXPECT_EQ(result->history.size(), 40u);
}

TEST(AlsTrainerTest, TrainingErrorFallsEveryIteration) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(60, 50, 4, 0.4, 0.3, 11);
  AlsOptions options;
  options.factors = 4;
  options.max_iterations = 8;
  absl::StatusOr<TrainResult> result =
      TrainAls(lr.data.num_users(), lr.data.num_items(), lr.data.ratings, {},
               RatingScale{-100, 100, 0.5f}, options);
  ASSERT_TRUE(result.ok());
  for (size_t e = 1; e < result->history.size(); ++e) {
    // ALS never increases its own regularized objective; the plain train
    // RMSE tracks it closely at this small λ.
    EXPECT_LE(result->history[e].train_rmse,
              result->history[e - 1].train_rmse + 1e-3)
        << "epoch " << e + 1;
  }
}

TEST(AlsTrainerTest, SameResultForAnyThreadCount) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(90, 70, 3, 0.3, 0.5, 5);
  AlsOptions options;
  options.factors = 5;
  options.max_iterations = 5;
  options.threads = 1;
  auto one = TrainAls(lr.data.num_users(), lr.data.num_items(), lr.data.ratings,
                      {}, RatingScale{}, options);
  options.threads = 3;
  auto three = TrainAls(lr.data.num_users(), lr.data.num_items(),
                        lr.data.ratings, {}, RatingScale{}, options);
  ASSERT_TRUE(one.ok() && three.ok());
  EXPECT_EQ(one->model.user_factors, three->model.user_factors);
  EXPECT_EQ(one->model.item_factors, three->model.item_factors);
  EXPECT_EQ(one->model.item_bias, three->model.item_bias);
}

TEST(AlsTrainerTest, EarlyStoppingKeepsTheBestEpoch) {
  // Weak regularization on noisy, sparse data overfits: validation error
  // rises after a few iterations, and the model kept is the best one.
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(80, 60, 2, 0.25, 1.0, 13);
  std::vector<Rating> fit, valid;
  CarveValidation(lr.data.ratings, 0.2, 1, &fit, &valid);
  AlsOptions options;
  options.factors = 10;
  options.reg = 0.001f;
  options.max_iterations = 30;
  options.early_stopping.patience = 2;
  auto result = TrainAls(lr.data.num_users(), lr.data.num_items(), fit, valid,
                         RatingScale{-100, 100, 0.5f}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_LT(result->history.size(), 30u);
  double best = 1e9;
  int32_t best_epoch = 0;
  for (const EpochStats& s : result->history) {
    if (s.valid_rmse < best) {
      best = s.valid_rmse;
      best_epoch = s.epoch;
    }
  }
  EXPECT_EQ(result->best_epoch, best_epoch);
  EXPECT_NEAR(Rmse(result->model, valid), best, 1e-6);
}

TEST(AlsTrainerTest, UsersAndItemsWithoutRatingsGetZeroFactors) {
  // Rows with no ratings happen when tuning on a subsample; they must not
  // reach Eigen's product kernels (which divide by the inner size).
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(30, 20, 2, 0.5, 0.3, 9);
  AlsOptions options;
  options.factors = 4;
  options.max_iterations = 3;
  // Two extra users and items that no rating refers to.
  auto result = TrainAls(32, 22, lr.data.ratings, {}, RatingScale{}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->model.user_factors.row(31).isZero());
  EXPECT_TRUE(result->model.item_factors.row(21).isZero());
  EXPECT_EQ(result->model.user_bias[30], 0.0f);
}

// Options for the conjugate-gradient tests: enough factors for CG to be
// used (kMinConjugateGradientFactors).
AlsOptions CgOptions(int32_t cg_steps) {
  AlsOptions options;
  options.factors = 12;
  options.reg = 0.05f;
  options.max_iterations = 15;
  options.early_stopping.patience = 100;
  options.cg_steps = cg_steps;
  return options;
}

// Three warm-started CG steps per row reach the exact solve's training and
// validation RMSE after 15 iterations, within 1%.
TEST(AlsTrainerTest, ConjugateGradientReachesTheExactSolvesError) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(150, 100, 6, 0.3, 0.3, 21);
  std::vector<Rating> fit, valid;
  CarveValidation(lr.data.ratings, 0.2, 4, &fit, &valid);
  const RatingScale wide{-100, 100, 0.5f};
  auto exact = TrainAls(lr.data.num_users(), lr.data.num_items(), fit, valid,
                        wide, CgOptions(0));
  auto cg = TrainAls(lr.data.num_users(), lr.data.num_items(), fit, valid, wide,
                     CgOptions(3));
  ASSERT_TRUE(exact.ok() && cg.ok());
  const EpochStats& e = exact->history.back();
  const EpochStats& c = cg->history.back();
  EXPECT_LT(c.train_rmse, e.train_rmse * 1.01);
  EXPECT_LT(c.valid_rmse, e.valid_rmse * 1.01);
  // The two are different computations: CG is really used.
  EXPECT_NE(exact->model.user_factors, cg->model.user_factors);
}

TEST(AlsTrainerTest, ConjugateGradientIsDeterministicForAnyThreadCount) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(90, 70, 3, 0.3, 0.5, 5);
  AlsOptions options = CgOptions(3);
  options.max_iterations = 4;
  options.threads = 2;
  auto first = TrainAls(lr.data.num_users(), lr.data.num_items(),
                        lr.data.ratings, {}, RatingScale{}, options);
  auto again = TrainAls(lr.data.num_users(), lr.data.num_items(),
                        lr.data.ratings, {}, RatingScale{}, options);
  options.threads = 1;
  auto one = TrainAls(lr.data.num_users(), lr.data.num_items(), lr.data.ratings,
                      {}, RatingScale{}, options);
  options.threads = 3;
  auto three = TrainAls(lr.data.num_users(), lr.data.num_items(),
                        lr.data.ratings, {}, RatingScale{}, options);
  ASSERT_TRUE(first.ok() && again.ok() && one.ok() && three.ok());
  for (const auto* other : {&again, &one, &three}) {
    EXPECT_EQ(first->model.user_factors, (*other)->model.user_factors);
    EXPECT_EQ(first->model.item_factors, (*other)->model.item_factors);
    EXPECT_EQ(first->model.user_bias, (*other)->model.user_bias);
    EXPECT_EQ(first->model.item_bias, (*other)->model.item_bias);
  }
}

// Warm-started from a converged model, CG iterations keep it converged: the
// training error does not rise.
TEST(AlsTrainerTest, ConjugateGradientFromAConvergedModelStaysConverged) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(100, 80, 4, 0.3, 0.3, 17);
  const RatingScale wide{-100, 100, 0.5f};
  AlsOptions options = CgOptions(0);
  options.max_iterations = 40;
  auto converged = TrainAls(lr.data.num_users(), lr.data.num_items(),
                            lr.data.ratings, {}, wide, options);
  ASSERT_TRUE(converged.ok());
  const double start = converged->history.back().train_rmse;
  options = CgOptions(3);
  options.max_iterations = 3;
  auto warm =
      TrainAls(lr.data.num_users(), lr.data.num_items(), lr.data.ratings, {},
               wide, options, {}, &converged->model);
  ASSERT_TRUE(warm.ok()) << warm.status();
  for (const EpochStats& s : warm->history) {
    EXPECT_LE(s.train_rmse, start + 1e-5) << "epoch " << s.epoch;
  }
}

TEST(AlsTrainerTest, RejectsNegativeConjugateGradientSteps) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(5, 5, 1, 0.5, 0, 1);
  AlsOptions options;
  options.cg_steps = -1;
  auto result = TrainAls(5, 5, lr.data.ratings, {}, RatingScale{}, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("conjugate-gradient"));
}

TEST(AlsTrainerTest, RejectsBadOptions) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(5, 5, 1, 0.5, 0, 1);
  AlsOptions options;
  options.factors = 0;
  auto result = TrainAls(5, 5, lr.data.ratings, {}, RatingScale{}, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("factors must be"));
  options = AlsOptions();
  options.reg = 0;
  EXPECT_FALSE(
      TrainAls(5, 5, lr.data.ratings, {}, RatingScale{}, options).ok());
  EXPECT_THAT(
      TrainAls(5, 5, {}, {}, RatingScale{}, AlsOptions()).status().message(),
      HasSubstr("no training ratings"));
  std::vector<Rating> bad = {{7, 0, 3.0f, 0}};
  EXPECT_THAT(
      TrainAls(5, 5, bad, {}, RatingScale{}, AlsOptions()).status().message(),
      HasSubstr("user index 7"));
  // Validation ratings are checked too: an out-of-range index there would
  // read past the factor matrices.
  EXPECT_THAT(TrainAls(5, 5, lr.data.ratings, bad, RatingScale{}, AlsOptions())
                  .status()
                  .message(),
              HasSubstr("outside the 5 users"));
}

}  // namespace
}  // namespace recserve
