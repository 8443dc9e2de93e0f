#include "core/train/posterior_mean.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace recserve {
namespace {

MfModel RandomModel(int32_t users, int32_t items, int32_t k, uint64_t seed) {
  MfModel m = MakeInitialModel(users, items, k, 1.0f, seed);
  m.global_mean = 3.0f;
  m.user_bias = Eigen::VectorXf::Random(users);
  m.item_bias = Eigen::VectorXf::Random(items);
  return m;
}

double MaxScoreGap(const MfModel& model,
                   const std::vector<MfModel>& averaged_over) {
  double gap = 0.0;
  for (int32_t u = 0; u < model.num_users(); ++u) {
    for (int32_t i = 0; i < model.num_items(); ++i) {
      double mean = 0.0;
      for (const MfModel& s : averaged_over) mean += s.Score(u, i);
      mean /= averaged_over.size();
      gap = std::max(gap, std::abs(mean - model.Score(u, i)));
    }
  }
  return gap;
}

TEST(PosteriorMeanTest, ScoresAreTheMeanScoresAtFullRank) {
  std::vector<MfModel> samples;
  for (uint64_t s = 1; s <= 3; ++s) samples.push_back(RandomModel(7, 5, 2, s));
  PosteriorMean mean(8, 3);
  for (const MfModel& s : samples) mean.Add(s);
  auto model = mean.Model(6);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->factors(), 6);
  EXPECT_LT(MaxScoreGap(*model, samples), 1e-4);
}

TEST(PosteriorMeanTest, RotatedSamplesAverageToTheirCommonScores) {
  // Every sample is the same model in another rotation of its factors, as a
  // Gibbs chain drifts: averaging the factors would shrink the scores, the
  // posterior mean must not.
  const MfModel base = RandomModel(9, 6, 2, 4);
  std::vector<MfModel> samples;
  PosteriorMean mean(8, 4);
  for (int s = 0; s < 4; ++s) {
    const double angle = 0.6 * s;
    Eigen::Matrix2f rotation;
    rotation << std::cos(angle), -std::sin(angle), std::sin(angle),
        std::cos(angle);
    MfModel rotated = base;
    rotated.user_factors = base.user_factors * rotation;
    rotated.item_factors = base.item_factors * rotation;
    samples.push_back(rotated);
    mean.Add(rotated);
  }
  auto model = mean.Model(2);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_LT(MaxScoreGap(*model, {base}), 1e-4);

  MfModel factor_average = base;
  factor_average.user_factors.setZero();
  factor_average.item_factors.setZero();
  for (const MfModel& s : samples) {
    factor_average.user_factors += s.user_factors / 4;
    factor_average.item_factors += s.item_factors / 4;
  }
  EXPECT_GT(MaxScoreGap(factor_average, {base}), 0.1);
}

TEST(PosteriorMeanTest, ThinsEvenlyWhenFullAndAveragesEveryBias) {
  std::vector<MfModel> samples;
  PosteriorMean mean(2, 5);
  for (uint64_t s = 0; s < 5; ++s) {
    samples.push_back(RandomModel(4, 3, 1, s + 10));
    mean.Add(samples.back());
  }
  // Every third sample is kept: 0 and 3.
  EXPECT_EQ(mean.samples(), 2);
  auto model = mean.Model(2);
  ASSERT_TRUE(model.ok()) << model.status();
  MfModel kept_mean = samples[0];
  kept_mean.user_bias.setZero();
  kept_mean.item_bias.setZero();
  for (const MfModel& s : samples) {
    kept_mean.user_bias += s.user_bias / 5;
    kept_mean.item_bias += s.item_bias / 5;
  }
  for (int32_t u = 0; u < 4; ++u) {
    for (int32_t i = 0; i < 3; ++i) {
      const double interaction =
          0.5 *
          (samples[0].user_factors.row(u).dot(samples[0].item_factors.row(i)) +
           samples[3].user_factors.row(u).dot(samples[3].item_factors.row(i)));
      EXPECT_NEAR(model->Score(u, i),
                  kept_mean.global_mean + kept_mean.user_bias[u] +
                      kept_mean.item_bias[i] + interaction,
                  1e-4);
    }
  }
}

TEST(PosteriorMeanTest, PadsWhenFewerDirectionsThanTheRank) {
  PosteriorMean mean(4, 1);
  mean.Add(RandomModel(5, 4, 1, 3));
  auto model = mean.Model(3);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->factors(), 3);
  EXPECT_TRUE(model->user_factors.allFinite());
}

TEST(PosteriorMeanTest, ManyRowsAreReducedBlockByBlock) {
  // More rows than one block of the Gramian's reduction.
  std::vector<MfModel> samples;
  PosteriorMean mean(4, 2);
  for (uint64_t s = 1; s <= 2; ++s) {
    samples.push_back(RandomModel(9000, 5, 2, s));
    mean.Add(samples.back());
  }
  auto model = mean.Model(4);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_LT(MaxScoreGap(*model, samples), 1e-4);
}

TEST(PosteriorMeanTest, AffordableSamplesFitTheBudget) {
  EXPECT_EQ(AffordableSamples(64, 1000, 10, int64_t{1} << 30), 64);
  EXPECT_EQ(AffordableSamples(64, 1'000'000, 10, 400'000'000), 10);
  EXPECT_EQ(AffordableSamples(64, 1'000'000'000, 10, 1000), 1);
}

TEST(PosteriorMeanTest, NeedsASampleAndAPositiveRank) {
  PosteriorMean mean(4, 4);
  EXPECT_EQ(mean.Model(2).status().code(),
            absl::StatusCode::kFailedPrecondition);
  mean.Add(RandomModel(2, 2, 1, 1));
  EXPECT_EQ(mean.Model(0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recserve
