#include "core/train/day_bias_sampler.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace recserve {
namespace {

TEST(DayBiasSamplerTest, RecoversPlantedSessionShifts) {
  // 6 users rate 40 times on each of 3 days; each (user, day) session has
  // its own shift. With everything else explained, the posterior mean of
  // the biases must find each session's shift.
  std::mt19937_64 noise_rng(5);
  std::normal_distribution<double> noise(0.0, 0.3);
  std::vector<Rating> ratings;
  std::vector<float> planted;
  for (int32_t user = 0; user < 6; ++user) {
    for (int64_t day = 100; day < 103; ++day) {
      const float shift = 0.4f * ((user + day) % 3) - 0.4f;
      for (int r = 0; r < 40; ++r) {
        ratings.push_back({user, r,
                           static_cast<float>(shift + noise(noise_rng)),
                           day * kSecondsPerDay + r * 60});
        planted.push_back(shift);
      }
    }
  }
  DayBiasSampler sampler(ratings);
  std::vector<float> residuals;
  for (const Rating& r : ratings) residuals.push_back(r.value);
  std::mt19937_64 rng(1);
  for (int sweep = 0; sweep < 300; ++sweep) {
    sampler.Sample(1.0f / (0.3f * 0.3f), rng, &residuals);
    if (sweep >= 50) sampler.Accumulate();
  }
  // The residuals stayed current with the offsets.
  for (size_t r = 0; r < ratings.size(); ++r) {
    EXPECT_NEAR(residuals[r], ratings[r].value - sampler.offsets()[r], 1e-4);
  }
  const DayBiases mean = sampler.Mean();
  for (size_t r = 0; r < ratings.size(); r += 40) {
    EXPECT_NEAR(mean.Offset(ratings[r].user, ratings[r].timestamp), planted[r],
                0.12)
        << "user " << ratings[r].user << " at " << ratings[r].timestamp;
  }
  EXPECT_FLOAT_EQ(mean.Offset(0, 200 * kSecondsPerDay), 0.0f);
}

TEST(DayBiasSamplerTest, PublishedMeanMovesLevelsIntoTheTimeFreeModel) {
  // One user who only ever rated on one day, 0.5 above everyone: what the
  // user-day bias took of that must reach the user's bias, the part served.
  std::vector<Rating> ratings;
  for (int r = 0; r < 50; ++r) {
    ratings.push_back({0, r, 0.5f, 7 * kSecondsPerDay});
    ratings.push_back({1, r, 0.0f, 7 * kSecondsPerDay + r});
    ratings.push_back({1, r, 0.0f, 8 * kSecondsPerDay + r});
  }
  DayBiasSampler sampler(ratings);
  std::vector<float> residuals;
  for (const Rating& r : ratings) residuals.push_back(r.value);
  std::mt19937_64 rng(3);
  for (int sweep = 0; sweep < 200; ++sweep) {
    sampler.Sample(100.0f, rng, &residuals);
    sampler.Accumulate();
  }
  MfModel model = MakeInitialModel(2, 50, 1, 0.0f, 1);
  const DayBiases raw = sampler.Mean();
  sampler.PublishMean(&model);
  for (const Rating& r : ratings) {
    // Scores on the training days are unchanged.
    EXPECT_NEAR(model.ScoreAt(r.user, r.item, r.timestamp),
                raw.Offset(r.user, r.timestamp), 1e-5);
  }
  // User 0's single day is all in its bias now: the day biases it gets
  // on that day add up to nothing, and the time-free scores keep the 0.5.
  EXPECT_NEAR(model.day_biases.Offset(0, 7 * kSecondsPerDay), 0.0f, 1e-5);
  EXPECT_NEAR(model.Score(0, 0) - model.Score(1, 0), 0.5f, 0.05f);
}

TEST(DayBiasSamplerTest, MeanIsZeroBeforeAnyDraw) {
  std::vector<Rating> ratings = {{0, 0, 1.0f, 0}, {1, 0, 2.0f, kSecondsPerDay}};
  DayBiasSampler sampler(ratings);
  EXPECT_FLOAT_EQ(sampler.Mean().Offset(0, 0), 0.0f);
  EXPECT_EQ(sampler.offsets().size(), 2u);
}

}  // namespace
}  // namespace recserve
