#include "core/train/rating_model_trainer.h"

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/label_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/low_rank_ratings.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

TEST(RatingModelTrainerTest, ParsesAlgorithmNames) {
  EXPECT_EQ(*ParseAlgorithm("auto"), Algorithm::kAuto);
  EXPECT_EQ(AlgorithmName(Algorithm::kAuto), "auto");
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
    phases->push_back(
        e.phase == TrainingPhase::kRatingTuning
            ? absl::StrCat("tuning factors=", e.factors, " reg=", e.reg)
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
  // ALS's refit goes on from the early-stopped model for warm_epochs
  // iterations, without validation.
  EXPECT_EQ(static_cast<int32_t>(result->train.history.size()),
            options.warm_epochs);
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

TEST(RatingModelTrainerTest,
     ChoosesTheRegularizationWithTheBestValidationRmse) {
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

TEST(RatingModelTrainerTest, AutoPicksBpmfOnSmallDataAndAlsOnLarge) {
  RatingTrainingOptions options;
  EXPECT_EQ(options.algorithm, Algorithm::kAuto);
  options.bpmf_max_ratings = 1000;
  EXPECT_EQ(ResolveAlgorithm(options, 1000), Algorithm::kBpmf);
  EXPECT_EQ(ResolveAlgorithm(options, 1001), Algorithm::kAls);
  options.algorithm = Algorithm::kSgd;
  EXPECT_EQ(ResolveAlgorithm(options, 1), Algorithm::kSgd);

  // TrainRatingModel resolves it and says what it used.
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(60, 50, 2, 0.4, 0.5, 5);
  RatingTrainingOptions automatic;
  automatic.bpmf_max_ratings = lr.data.ratings.size() - 1;
  automatic.factor_grid = {2};
  auto large = TrainRatingModel(lr.data, automatic);
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(large->algorithm, Algorithm::kAls);
  EXPECT_FALSE(large->reg_trials.empty());
  automatic.bpmf_max_ratings = lr.data.ratings.size();
  automatic.bpmf.sweeps = 4;
  automatic.bpmf.burn_in = 1;
  auto small = TrainRatingModel(lr.data, automatic);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->algorithm, Algorithm::kBpmf);
  EXPECT_EQ(small->chosen_epochs, 4);
}

TEST(RatingModelTrainerTest, AlsGoesOnFromAnEarlierModel) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(100, 80, 3, 0.3, 0.5, 17);
  RatingTrainingOptions options;
  options.algorithm = Algorithm::kAls;
  options.als.factors = 4;
  options.tune_reg = false;
  options.validation_fraction = 0;
  options.als.max_iterations = 20;
  auto converged = TrainRatingModel(lr.data, options);
  ASSERT_TRUE(converged.ok()) << converged.status();
  ASSERT_EQ(converged->train.history.size(), 20u);

  // Without early stopping, warm_epochs iterations from the model, which
  // stays where it had converged.
  options.warm_epochs = 3;
  auto warm = TrainRatingModel(lr.data, options, {}, &converged->train.model);
  ASSERT_TRUE(warm.ok()) << warm.status();
  EXPECT_EQ(warm->train.history.size(), 3u);
  EXPECT_TRUE(warm->refitted);
  const double converged_rmse = Rmse(converged->train.model, lr.data.ratings);
  EXPECT_NEAR(Rmse(warm->train.model, lr.data.ratings), converged_rmse, 0.002);
  // The same 3 iterations from scratch are far from it.
  options.als.max_iterations = 1;
  auto cold = TrainRatingModel(lr.data, options);
  ASSERT_TRUE(cold.ok());
  EXPECT_GT(Rmse(cold->train.model, lr.data.ratings), converged_rmse + 0.01);

  // A model of another shape is refused, naming the mismatch.
  options.als.factors = 5;
  auto mismatch =
      TrainRatingModel(lr.data, options, {}, &converged->train.model);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.status().message(), HasSubstr("factors"));

  options.als.factors = 4;
  options.warm_epochs = 0;
  EXPECT_EQ(TrainRatingModel(lr.data, options).status().code(),
            absl::StatusCode::kInvalidArgument);
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

TEST(RatingModelTrainerTest, BpmfFindsItemLabelsByItemId) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(40, 30, 2, 0.4, 0.5, 3);
  RatingTrainingOptions options;
  options.bpmf.factors = 3;
  options.bpmf.sweeps = 6;
  options.bpmf.burn_in = 2;
  options.bpmf.day_biases = false;
  auto plain = TrainRatingModel(lr.data, options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  const auto trained_with = [&](const ItemLabelMap& labels) {
    RatingTrainingOptions with = options;
    with.item_labels = std::make_shared<const LabelIndex>(
        LabelIndex::FromLabels(labels));
    auto result = TrainRatingModel(lr.data, with);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->train.model.item_factors : FactorMatrix();
  };
  // Labels of the data's items change the model; labels of items it does
  // not have leave it as without labels.
  ItemLabelMap known, unknown;
  for (int32_t i = 0; i < lr.data.num_items(); ++i) {
    known[lr.data.items.Id(i)] = {i % 2 == 0 ? "even" : "odd"};
    unknown[absl::StrCat("not-", lr.data.items.Id(i))] = {"even"};
  }
  EXPECT_FALSE(trained_with(known).isApprox(plain->train.model.item_factors));
  EXPECT_EQ(trained_with(unknown), plain->train.model.item_factors);
  // Switched off, they are not used.
  options.bpmf.item_labels = false;
  EXPECT_EQ(trained_with(known), plain->train.model.item_factors);
}

}  // namespace
}  // namespace recserve
