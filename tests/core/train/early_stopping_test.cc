#include "core/train/early_stopping.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A model that remembers which epoch it came from (in global_mean).
MfModel ModelOfEpoch(int32_t epoch) {
  MfModel model = MakeInitialModel(2, 3, 2, 0.0f, 1);
  model.global_mean = static_cast<float>(epoch);
  return model;
}

EpochStats Stats(int32_t epoch, double valid_rmse) {
  return EpochStats{.epoch = epoch,
                    .train_rmse = 0.5,
                    .valid_rmse = valid_rmse,
                    .seconds = 0.1 * epoch};
}

// Feeds the validation RMSEs in order (epochs 1, 2, ...) and returns what
// each Update returned.
std::vector<bool> Feed(EarlyStopper& stopper, const std::vector<double>& rmse) {
  std::vector<bool> stops;
  for (size_t i = 0; i < rmse.size(); ++i) {
    const int32_t epoch = static_cast<int32_t>(i) + 1;
    stops.push_back(stopper.Update(Stats(epoch, rmse[i]), ModelOfEpoch(epoch)));
  }
  return stops;
}

TEST(EarlyStopperTest, KeepsTheBestEpochsModelAndRmse) {
  EarlyStopper stopper(EarlyStoppingOptions{.patience = 5},
                       EarlyStopper::ValidationSet::kPresent);
  Feed(stopper, {1.0, 0.8, 0.9, 0.85});
  std::vector<EpochStats> history = {Stats(1, 1.0), Stats(2, 0.8)};
  TrainResult result = std::move(stopper).Finish(history, 12.5);
  EXPECT_EQ(result.best_epoch, 2);
  EXPECT_DOUBLE_EQ(result.best_valid_rmse, 0.8);
  EXPECT_FLOAT_EQ(result.model.global_mean, 2.0f);
  EXPECT_EQ(result.model.num_users(), 2);
  EXPECT_EQ(result.model.num_items(), 3);
  ASSERT_EQ(result.history.size(), 2u);
  EXPECT_EQ(result.history[1].epoch, 2);
  EXPECT_DOUBLE_EQ(result.history[1].valid_rmse, 0.8);
  EXPECT_DOUBLE_EQ(result.seconds, 12.5);
}

TEST(EarlyStopperTest, StopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopper stopper(EarlyStoppingOptions{.patience = 2},
                       EarlyStopper::ValidationSet::kPresent);
  EXPECT_THAT(Feed(stopper, {1.0, 1.1, 1.2}),
              ::testing::ElementsAre(false, false, true));
  EXPECT_EQ(std::move(stopper).Finish({}, 0).best_epoch, 1);
}

TEST(EarlyStopperTest, PatienceOneStopsAtTheFirstEpochWithoutImprovement) {
  EarlyStopper stopper(EarlyStoppingOptions{.patience = 1},
                       EarlyStopper::ValidationSet::kPresent);
  EXPECT_THAT(Feed(stopper, {1.0, 0.9, 0.9}),
              ::testing::ElementsAre(false, false, true));
}

TEST(EarlyStopperTest, AnImprovementRestartsThePatienceCount) {
  EarlyStopper stopper(EarlyStoppingOptions{.patience = 2},
                       EarlyStopper::ValidationSet::kPresent);
  EXPECT_THAT(Feed(stopper, {1.0, 1.1, 0.5, 0.6, 0.7}),
              ::testing::ElementsAre(false, false, false, false, true));
  TrainResult result = std::move(stopper).Finish({}, 0);
  EXPECT_EQ(result.best_epoch, 3);
  EXPECT_FLOAT_EQ(result.model.global_mean, 3.0f);
}

TEST(EarlyStopperTest, ImprovementsOfAtMostMinDeltaDoNotCount) {
  // 0.25 steps are exact in binary, so "more than min_delta" is tested at
  // the boundary: 1.0 -> 0.75 improves by exactly min_delta.
  EarlyStopper stopper(EarlyStoppingOptions{.patience = 3, .min_delta = 0.25},
                       EarlyStopper::ValidationSet::kPresent);
  EXPECT_THAT(Feed(stopper, {1.0, 0.75, 0.8, 0.76}),
              ::testing::ElementsAre(false, false, false, true));
  TrainResult result = std::move(stopper).Finish({}, 0);
  EXPECT_EQ(result.best_epoch, 1);
  EXPECT_DOUBLE_EQ(result.best_valid_rmse, 1.0);
  EXPECT_FLOAT_EQ(result.model.global_mean, 1.0f);
}

TEST(EarlyStopperTest, ImprovementLargerThanMinDeltaCounts) {
  EarlyStopper stopper(EarlyStoppingOptions{.patience = 1, .min_delta = 0.25},
                       EarlyStopper::ValidationSet::kPresent);
  EXPECT_THAT(Feed(stopper, {1.0, 0.5, 0.5}),
              ::testing::ElementsAre(false, false, true));
  EXPECT_EQ(std::move(stopper).Finish({}, 0).best_epoch, 2);
}

TEST(EarlyStopperTest, WithoutValidationKeepsTheLastModelAndNeverStops) {
  EarlyStopper stopper(EarlyStoppingOptions{.patience = 1},
                       EarlyStopper::ValidationSet::kAbsent);
  EXPECT_THAT(Feed(stopper, {kNaN, kNaN, kNaN, kNaN}),
              ::testing::ElementsAre(false, false, false, false));
  TrainResult result = std::move(stopper).Finish({Stats(4, kNaN)}, 3.0);
  EXPECT_EQ(result.best_epoch, 4);
  EXPECT_FLOAT_EQ(result.model.global_mean, 4.0f);
  EXPECT_TRUE(std::isnan(result.best_valid_rmse));
  ASSERT_EQ(result.history.size(), 1u);
  EXPECT_DOUBLE_EQ(result.seconds, 3.0);
}

TEST(EarlyStopperTest, WithoutValidationBestRmseIsNanEvenIfStatsHaveOne) {
  EarlyStopper stopper(EarlyStoppingOptions{},
                       EarlyStopper::ValidationSet::kAbsent);
  Feed(stopper, {0.9, 0.8});
  EXPECT_TRUE(std::isnan(std::move(stopper).Finish({}, 0).best_valid_rmse));
}

// 60 users x 40 items, every pair rated; the timestamp identifies a rating.
std::vector<Rating> Grid(int32_t users = 60, int32_t items = 40) {
  std::vector<Rating> ratings;
  for (int32_t u = 0; u < users; ++u) {
    for (int32_t i = 0; i < items; ++i) {
      ratings.push_back(
          {u, i, static_cast<float>(1 + (u + i) % 5), int64_t{u} * items + i});
    }
  }
  return ratings;
}

std::vector<int64_t> SortedTimestamps(const std::vector<Rating>& ratings) {
  std::vector<int64_t> ts;
  for (const Rating& r : ratings) ts.push_back(r.timestamp);
  std::sort(ts.begin(), ts.end());
  return ts;
}

TEST(CarveValidationTest, SplitsIntoAPartitionOfAboutTheFraction) {
  const std::vector<Rating> all = Grid();
  std::vector<Rating> fit = {{9, 9, 9.0f, -1}}, valid = {{9, 9, 9.0f, -2}};
  CarveValidation(all, 0.2, 7, &fit, &valid);
  EXPECT_NEAR(static_cast<double>(valid.size()), 0.2 * all.size(),
              0.02 * all.size());
  std::vector<Rating> both = fit;
  both.insert(both.end(), valid.begin(), valid.end());
  EXPECT_EQ(SortedTimestamps(both), SortedTimestamps(all))
      << "every input rating in exactly one part, nothing else";
}

TEST(CarveValidationTest, SameSeedSameSplitOtherSeedAnother) {
  const std::vector<Rating> all = Grid();
  std::vector<Rating> fit1, valid1, fit2, valid2, fit3, valid3;
  CarveValidation(all, 0.3, 11, &fit1, &valid1);
  CarveValidation(all, 0.3, 11, &fit2, &valid2);
  CarveValidation(all, 0.3, 12, &fit3, &valid3);
  EXPECT_EQ(SortedTimestamps(valid1), SortedTimestamps(valid2));
  EXPECT_EQ(SortedTimestamps(fit1), SortedTimestamps(fit2));
  EXPECT_NE(SortedTimestamps(valid1), SortedTimestamps(valid3));
}

TEST(CarveValidationTest, EveryUserAndItemKeepsAFittingRating) {
  // Sparse: users 0..29 have 1..3 ratings, items are shared unevenly, and a
  // fraction near 1 asks for more than the constraint allows.
  std::vector<Rating> all;
  int64_t ts = 0;
  for (int32_t u = 0; u < 30; ++u) {
    for (int32_t j = 0; j <= u % 3; ++j) {
      all.push_back({u, (u * 5 + j) % 17, 3.0f, ts++});
    }
  }
  all.push_back({40, 30, 4.0f, ts++});  // a user and an item seen once
  for (const double fraction : {0.5, 0.9, 1.0}) {
    std::vector<Rating> fit, valid;
    CarveValidation(all, fraction, 3, &fit, &valid);
    EXPECT_FALSE(valid.empty()) << fraction;
    for (const Rating& r : all) {
      EXPECT_TRUE(
          std::any_of(fit.begin(), fit.end(),
                      [&](const Rating& f) { return f.user == r.user; }))
          << "user " << r.user << " has no fitting rating at " << fraction;
      EXPECT_TRUE(
          std::any_of(fit.begin(), fit.end(),
                      [&](const Rating& f) { return f.item == r.item; }))
          << "item " << r.item << " has no fitting rating at " << fraction;
    }
  }
}

TEST(CarveValidationTest, ZeroFractionAndEmptyInputGiveNoValidation) {
  const std::vector<Rating> all = Grid(5, 5);
  std::vector<Rating> fit, valid;
  CarveValidation(all, 0.0, 1, &fit, &valid);
  EXPECT_TRUE(valid.empty());
  EXPECT_EQ(fit.size(), all.size());
  CarveValidation({}, 0.5, 1, &fit, &valid);
  EXPECT_TRUE(fit.empty());
  EXPECT_TRUE(valid.empty());
}

TEST(ValidateTrainingRatingsTest, AcceptsIndicesInRange) {
  const std::vector<Rating> fit = {{0, 0, 3.0f, 0}, {2, 3, 4.0f, 0}};
  const std::vector<Rating> valid = {{1, 3, 2.0f, 0}};
  EXPECT_TRUE(ValidateTrainingRatings("als", 3, 4, fit, valid).ok());
  EXPECT_TRUE(ValidateTrainingRatings("als", 3, 4, fit, {}).ok());
}

TEST(ValidateTrainingRatingsTest, EmptyFitIsAnErrorNamingTheAlgorithm) {
  const std::vector<Rating> valid = {{0, 0, 3.0f, 0}};
  const absl::Status s = ValidateTrainingRatings("sgd", 3, 4, {}, valid);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("sgd"));
  EXPECT_THAT(s.message(), HasSubstr("no training ratings"));
}

TEST(ValidateTrainingRatingsTest, OutOfRangeIndicesInEitherPartAreErrors) {
  const std::vector<Rating> good = {{0, 0, 3.0f, 0}};
  using Case = std::tuple<Rating, bool>;  // the bad rating, in fit or valid
  for (const auto& [bad, in_fit] :
       {Case{{3, 0, 1.0f, 0}, true}, Case{{-1, 0, 1.0f, 0}, true},
        Case{{0, 4, 1.0f, 0}, true}, Case{{0, -1, 1.0f, 0}, false},
        Case{{0, 4, 1.0f, 0}, false}, Case{{3, 0, 1.0f, 0}, false}}) {
    const std::vector<Rating> with_bad = {good[0], bad};
    const absl::Status s =
        in_fit ? ValidateTrainingRatings("bpmf", 3, 4, with_bad, good)
               : ValidateTrainingRatings("bpmf", 3, 4, good, with_bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << bad.user << "," << bad.item << " in_fit=" << in_fit;
    EXPECT_THAT(s.message(), HasSubstr("bpmf"));
    EXPECT_THAT(s.message(), HasSubstr("outside the 3 users and 4 items"));
  }
}

}  // namespace
}  // namespace recserve
