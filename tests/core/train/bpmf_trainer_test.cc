#include "core/train/bpmf_trainer.h"

#include <cmath>
#include <random>
#include <utility>
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

TEST(BpmfTrainerTest, DayBiasesFindSessionShifts) {
  // Each user rates on two days, and one of the two sessions is shifted by
  // +0.8 (a mood); held-out ratings of the same sessions are predicted at
  // their time. With day biases the model explains the shift.
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(120, 80, 2, 0.4, 0.3, 17);
  std::vector<Rating> ratings = lr.data.ratings;
  // Which day a rating fell on is random, so no low-rank pattern can stand
  // in for the sessions.
  std::mt19937_64 coin(8);
  for (Rating& r : ratings) {
    const bool second_day = coin() % 2 == 1;
    r.timestamp = (1000 + (second_day ? 1 : 0)) * kSecondsPerDay + r.item;
    if (second_day == (r.user % 2 == 0)) r.value += 0.8f;
  }
  std::vector<Rating> fit, held_out;
  CarveValidation(ratings, 0.2, 3, &fit, &held_out);
  BpmfOptions options;
  options.factors = 4;
  options.sweeps = 80;
  options.burn_in = 20;
  auto rmse_at_time = [&](const MfModel& m) {
    double sse = 0.0;
    for (const Rating& r : held_out) {
      const double e = r.value - m.ScoreAt(r.user, r.item, r.timestamp);
      sse += e * e;
    }
    return std::sqrt(sse / held_out.size());
  };
  auto with_days = TrainBpmf(lr.data.num_users(), lr.data.num_items(), fit, {},
                             RatingScale{-100, 100, 0.5f}, options);
  options.day_biases = false;
  auto without = TrainBpmf(lr.data.num_users(), lr.data.num_items(), fit, {},
                           RatingScale{-100, 100, 0.5f}, options);
  ASSERT_TRUE(with_days.ok() && without.ok());
  EXPECT_FALSE(with_days->model.day_biases.empty());
  EXPECT_TRUE(without->model.day_biases.empty());
  // A 0.8 shift on half the ratings is 0.4 of RMSE unexplained; the day
  // biases must take most of it out.
  EXPECT_LT(rmse_at_time(with_days->model), 0.3 * 1.3);
  EXPECT_GT(rmse_at_time(without->model), 0.45);
}

TEST(BpmfTrainerTest, SweepsFollowTheDataSizeUnlessGiven) {
  BpmfOptions options;
  EXPECT_EQ(ResolveSweeps(options, 80'000), kMaxAutoSweeps);
  EXPECT_EQ(ResolveSweeps(options, 200'000), 200);
  EXPECT_EQ(ResolveSweeps(options, 20'000'000), kMinAutoSweeps);
  options.sweeps = 7;
  EXPECT_EQ(ResolveSweeps(options, 80'000), 7);
}

TEST(BpmfTrainerTest, ImplicitTermsChangeTheModelAndKeepItNearTheNoise) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(150, 100, 2, 0.3, 0.5, 23);
  std::vector<Rating> fit, held_out;
  CarveValidation(lr.data.ratings, 0.2, 3, &fit, &held_out);
  BpmfOptions options;
  options.factors = 4;
  options.sweeps = 60;
  options.burn_in = 15;
  auto with = TrainBpmf(lr.data.num_users(), lr.data.num_items(), fit, held_out,
                        RatingScale{-100, 100, 0.5f}, options);
  options.implicit_terms = false;
  auto without = TrainBpmf(lr.data.num_users(), lr.data.num_items(), fit,
                           held_out, RatingScale{-100, 100, 0.5f}, options);
  ASSERT_TRUE(with.ok() && without.ok());
  EXPECT_NE(with->model.user_factors, without->model.user_factors);
  EXPECT_LT(Rmse(with->model, held_out), 0.5 * 1.15);
}

// Ratings where a row's label (one of three) sets its ratings: a bias per
// label, and +1 or -1 by which half of the other side rates it. The rows are
// items, or users when `users_labelled`. 200 rows have many ratings, 100
// only 3; the held-out ratings are the rest of those 100's, which the labels
// place and their 3 ratings cannot. Returns the held-out RMSE of BPMF with
// the labels, and without them.
std::pair<double, double> PlantedLabelRmse(bool users_labelled) {
  constexpr int32_t kRows = 300, kCommon = 200, kOthers = 200;
  const float label_bias[3] = {-0.8f, 0.0f, 0.8f};
  const float label_taste[3] = {1.0f, -1.0f, 0.0f};
  std::mt19937_64 rng(31);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::vector<Rating> fit, held_out;
  std::uniform_int_distribution<int32_t> other(0, kOthers - 1);
  for (int32_t row = 0; row < kRows; ++row) {
    std::vector<bool> rated(kOthers, false);
    const int32_t ratings = row < kCommon ? 60 : 13;
    for (int32_t n = 0; n < ratings; ++n) {
      int32_t o = other(rng);
      while (rated[o]) o = other(rng);
      rated[o] = true;
      const int32_t l = row % 3;
      const float value = 3.0f + label_bias[l] +
                          (o % 2 == 0 ? 1 : -1) * label_taste[l] + noise(rng);
      const Rating r =
          users_labelled ? Rating{row, o, value, 0} : Rating{o, row, value, 0};
      (row >= kCommon && n >= 3 ? held_out : fit).push_back(r);
    }
  }
  std::vector<std::vector<int32_t>> labels(kRows);
  for (int32_t row = 0; row < kRows; ++row) labels[row] = {row % 3};
  const BpmfLabels given = users_labelled ? BpmfLabels{.users = labels}
                                          : BpmfLabels{.items = labels};
  const int32_t users = users_labelled ? kRows : kOthers;
  const int32_t items = users_labelled ? kOthers : kRows;
  BpmfOptions options;
  options.factors = 4;
  options.sweeps = 80;
  options.burn_in = 20;
  options.day_biases = false;
  auto with = TrainBpmf(users, items, fit, {}, RatingScale{-100, 100, 0.5f},
                        options, {}, given);
  // Switched off, the labels given are not used.
  (users_labelled ? options.user_labels : options.item_labels) = false;
  auto without = TrainBpmf(users, items, fit, {}, RatingScale{-100, 100, 0.5f},
                           options, {}, given);
  EXPECT_TRUE(with.ok()) << with.status();
  EXPECT_TRUE(without.ok()) << without.status();
  if (!with.ok() || !without.ok()) return {0, 0};
  return {Rmse(with->model, held_out), Rmse(without->model, held_out)};
}

TEST(BpmfTrainerTest, ItemLabelsPlaceRarelyRatedItems) {
  const auto [with, without] = PlantedLabelRmse(/*users_labelled=*/false);
  EXPECT_LT(with, 0.75 * without) << with << " vs " << without;
  EXPECT_LT(with, 0.5);
}

TEST(BpmfTrainerTest, UserLabelsPlaceUsersWithFewRatings) {
  const auto [with, without] = PlantedLabelRmse(/*users_labelled=*/true);
  EXPECT_LT(with, 0.75 * without) << with << " vs " << without;
  EXPECT_LT(with, 0.5);
}

TEST(BpmfTrainerTest, RejectsNegativeLabels) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(10, 10, 1, 0.5, 0.1, 3);
  BpmfOptions options;
  options.factors = 2;
  options.sweeps = 3;
  options.burn_in = 1;
  std::vector<std::vector<int32_t>> labels = {{0}, {-1}};
  for (const BpmfLabels& given :
       {BpmfLabels{.items = labels}, BpmfLabels{.users = labels}}) {
    auto result = TrainBpmf(10, 10, lr.data.ratings, {}, RatingScale{}, options,
                            {}, given);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(result.status().message(), HasSubstr("label index -1"));
  }
}

// Ratings 1..5 cut from a low-rank model's real values at unevenly spaced
// thresholds, so that the rating scale is ordinal, not linear.
struct OrdinalRatings {
  std::vector<Rating> fit, held_out;
  int32_t users = 0, items = 0;
};
OrdinalRatings MakeOrdinalRatings(const std::vector<float>& thresholds) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(200, 150, 3, 0.3, 0.5, 41);
  std::vector<Rating> rated = lr.data.ratings;
  for (Rating& r : rated) {
    int32_t k = 0;
    while (k < 4 && r.value > thresholds[k]) ++k;
    r.value = 1.0f + k;
  }
  OrdinalRatings out;
  out.users = lr.data.num_users();
  out.items = lr.data.num_items();
  CarveValidation(rated, 0.2, 3, &out.fit, &out.held_out);
  return out;
}

TEST(BpmfTrainerTest, OrdinalOutputLearnsUnevenCutpointsAndPredictsBetter) {
  const std::vector<float> thresholds = {2.4f, 3.5f, 3.8f, 4.1f};
  const OrdinalRatings data = MakeOrdinalRatings(thresholds);
  BpmfOptions options;
  options.factors = 4;
  options.sweeps = 120;
  options.burn_in = 30;
  const RatingScale scale{1, 5, 1};
  auto ordinal =
      TrainBpmf(data.users, data.items, data.fit, {}, scale, options);
  options.ordinal_output = false;
  auto gaussian =
      TrainBpmf(data.users, data.items, data.fit, {}, scale, options);
  ASSERT_TRUE(ordinal.ok()) << ordinal.status();
  ASSERT_TRUE(gaussian.ok()) << gaussian.status();
  EXPECT_TRUE(gaussian->model.ordinal.empty());
  const OrdinalOutput& output = ordinal->model.ordinal;
  ASSERT_EQ(output.cutpoints.size(), 4u);
  // The outer cutpoints pin the latent scale; the interior ones land where
  // the thresholds lie relative to the outer two.
  EXPECT_FLOAT_EQ(output.cutpoints[0], 1.5f);
  EXPECT_FLOAT_EQ(output.cutpoints[3], 4.5f);
  const auto pinned = [&](int k) {
    return 1.5 + 3.0 * (thresholds[k] - thresholds[0]) /
                     (thresholds[3] - thresholds[0]);
  };
  EXPECT_NEAR(output.cutpoints[1], pinned(1), 0.15);
  EXPECT_NEAR(output.cutpoints[2], pinned(2), 0.15);
  // The latent noise, 0.5 in the thresholds' units, in the pinned units,
  // plus the scores' posterior spread.
  const double noise = 0.5 * 3.0 / (thresholds[3] - thresholds[0]);
  EXPECT_GT(output.stddev, noise * 0.9);
  EXPECT_LT(output.stddev, noise * 1.5);
  const double ordinal_rmse = Rmse(ordinal->model, data.held_out);
  const double gaussian_rmse = Rmse(gaussian->model, data.held_out);
  EXPECT_LT(ordinal_rmse, gaussian_rmse * 0.98)
      << ordinal_rmse << " vs " << gaussian_rmse;
}

TEST(BpmfTrainerTest, OrdinalOutputIsTheSameForAnyThreadCount) {
  const OrdinalRatings data = MakeOrdinalRatings({2.4f, 3.5f, 3.8f, 4.1f});
  BpmfOptions options;
  options.factors = 3;
  options.sweeps = 12;
  options.burn_in = 4;
  // The path without day biases, whose scores the sampler computes itself
  // (the learning test above has them).
  options.day_biases = false;
  options.threads = 1;
  auto one = TrainBpmf(data.users, data.items, data.fit, {},
                       RatingScale{1, 5, 1}, options);
  options.threads = 2;
  auto two = TrainBpmf(data.users, data.items, data.fit, {},
                       RatingScale{1, 5, 1}, options);
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_FALSE(one->model.ordinal.empty());
  EXPECT_EQ(one->model.ordinal.cutpoints, two->model.ordinal.cutpoints);
  EXPECT_EQ(one->model.ordinal.stddev, two->model.ordinal.stddev);
  EXPECT_EQ(one->model.user_factors, two->model.user_factors);
  EXPECT_EQ(one->model.item_bias, two->model.item_bias);
}

TEST(BpmfTrainerTest, RatingsOffTheScaleKeepTheGaussianOutput) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(40, 30, 2, 0.5, 0.3, 9);
  BpmfOptions options;
  options.factors = 2;
  options.sweeps = 6;
  options.burn_in = 2;
  ASSERT_TRUE(options.ordinal_output);
  auto result =
      TrainBpmf(40, 30, lr.data.ratings, {}, RatingScale{1, 5, 1}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->model.ordinal.empty());
  // Nor does a scale of two values, whose one cutpoint cannot fix the
  // latent scale.
  std::vector<Rating> binary = lr.data.ratings;
  for (Rating& r : binary) r.value = r.value > 3.5f ? 1.0f : 0.0f;
  auto two_values =
      TrainBpmf(40, 30, binary, {}, RatingScale{0, 1, 1}, options);
  ASSERT_TRUE(two_values.ok()) << two_values.status();
  EXPECT_TRUE(two_values->model.ordinal.empty());
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
