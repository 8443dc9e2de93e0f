#include "core/train/rating_model_trainer.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/low_rank_ratings.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

TEST(RatingModelTrainerTest, ParsesAlgorithmNames) {
  EXPECT_EQ(*ParseAlgorithm("als"), Algorithm::kAls);
  EXPECT_EQ(*ParseAlgorithm("sgd"), Algorithm::kSgd);
  EXPECT_EQ(*ParseAlgorithm("bpmf"), Algorithm::kBpmf);
  EXPECT_EQ(AlgorithmName(Algorithm::kSgd), "sgd");
  absl::StatusOr<Algorithm> bad = ParseAlgorithm("svd++");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("svd++"));
}

// An observer callback that appends "rating_fit", "tuning factors=2
// reg=0.001", ... to `phases`.
std::function<void(const PhaseEvent&)> RecordPhases(
    std::vector<std::string>* phases) {
  return [phases](const PhaseEvent& e) {
    phases->push_back(e.phase == TrainingPhase::kRatingTuning
                          ? absl::StrCat("tuning factors=", e.factors,
                                         " reg=", e.reg)
                          : std::string(TrainingPhaseName(e.phase)));
  };
}

TEST(RatingModelTrainerTest, EarlyStopsOnValidationThenRefitsOnEverything) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(100, 80, 3, 0.3, 0.5, 17);
  RatingTrainingOptions options;
  options.algorithm = Algorithm::kAls;
  options.als.factors = 6;
  options.validation_fraction = 0.1;
  options.tune_reg = false;
  std::vector<std::string> phases;
  int epochs_seen = 0;
  TrainingObserver observer;
  observer.on_phase = RecordPhases(&phases);
  observer.on_epoch = [&](const EpochStats&) { ++epochs_seen; };
  auto result = TrainRatingModel(lr.data, options, observer);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->refitted);
  EXPECT_THAT(phases, ::testing::ElementsAre("rating_fit", "rating_refit"));
  EXPECT_GT(result->validation_ratings, 0);
  EXPECT_FALSE(std::isnan(result->validation_rmse));
  // The refit runs exactly the epochs that validation chose, without
  // validation.
  EXPECT_EQ(static_cast<int32_t>(result->train.history.size()),
            result->chosen_epochs);
  EXPECT_TRUE(std::isnan(result->train.history.back().valid_rmse));
  EXPECT_GT(epochs_seen, result->chosen_epochs);

  options.refit = false;
  auto no_refit = TrainRatingModel(lr.data, options);
  ASSERT_TRUE(no_refit.ok());
  EXPECT_FALSE(no_refit->refitted);
  EXPECT_EQ(no_refit->chosen_epochs, result->chosen_epochs);
  // Trained on more data, the refitted model fits all ratings better.
  EXPECT_LT(Rmse(result->train.model, lr.data.ratings),
            Rmse(no_refit->train.model, lr.data.ratings));
}

TEST(RatingModelTrainerTest, ChoosesTheRegularizationWithTheBestValidationRmse) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(100, 80, 3, 0.3, 0.5, 17);
  RatingTrainingOptions options;
  options.algorithm = Algorithm::kSgd;
  options.factor_grid = {2, 6};
  options.reg_grid = {0.001f, 0.03f, 0.3f, 3.0f};
  std::vector<std::string> phases;
  TrainingObserver observer;
  observer.on_phase = RecordPhases(&phases);
  auto result = TrainRatingModel(lr.data, options, observer);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_GE(result->reg_trials.size(), 3u);
  const RegTrial* best = &result->reg_trials[0];
  for (const RegTrial& t : result->reg_trials) {
    if (t.validation_rmse < best->validation_rmse) best = &t;
  }
  EXPECT_EQ(result->reg, best->reg);
  EXPECT_EQ(result->factors, best->factors);
  EXPECT_EQ(result->train.model.factors(), best->factors);
  // Both factor counts were tried.
  EXPECT_EQ(result->reg_trials.front().factors, 2);
  EXPECT_EQ(result->reg_trials.back().factors, 6);
  // λ = 3 shrinks everything to the biases; far too strong for this data.
  EXPECT_NE(result->reg, 3.0f);
  EXPECT_EQ(phases.front(), "tuning factors=2 reg=0.001");
  EXPECT_EQ(phases.back(), "rating_refit");
  EXPECT_NEAR(result->validation_rmse, best->validation_rmse, 1e-9);

  // Tuning on a subsample of the fitting ratings still picks from the grid.
  options.tuning_sample = 2000;
  auto sampled = TrainRatingModel(lr.data, options);
  ASSERT_TRUE(sampled.ok());
  EXPECT_FALSE(sampled->reg_trials.empty());
  EXPECT_NE(sampled->reg, 3.0f);
}

TEST(RatingModelTrainerTest, BpmfUsesNoValidationSet) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(40, 30, 2, 0.4, 0.5, 3);
  RatingTrainingOptions options;
  options.bpmf.factors = 3;
  options.bpmf.sweeps = 5;
  options.bpmf.burn_in = 1;
  auto result = TrainRatingModel(lr.data, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->validation_ratings, 0);
  EXPECT_FALSE(result->refitted);
  EXPECT_EQ(result->chosen_epochs, 5);
  // The scale recorded in the model is inferred from the ratings.
  EXPECT_EQ(result->train.model.scale.step, 0.5f);
}

}  // namespace
}  // namespace recserve
