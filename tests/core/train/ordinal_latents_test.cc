#include "core/train/ordinal_latents.h"

#include <cmath>
#include <vector>

#include "core/base/random_stream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

std::vector<Rating> RatingsOf(const std::vector<float>& values) {
  std::vector<Rating> ratings;
  for (size_t r = 0; r < values.size(); ++r) {
    ratings.push_back(Rating{.user = 0,
                             .item = static_cast<int32_t>(r),
                             .value = values[r],
                             .timestamp = 0});
  }
  return ratings;
}

TEST(OrdinalLatentsTest, StartAtTheRatingsAndDrawWithinTheirIntervals) {
  const RatingScale scale{1, 5, 1};
  const std::vector<Rating> ratings = RatingsOf({1, 2, 3, 4, 5, 5, 1});
  auto latents = OrdinalLatents::Create(ratings, scale);
  ASSERT_TRUE(latents.ok()) << latents.status();
  // The end values start at themselves, the others inside their
  // intervals.
  const std::vector<double>& c = latents->cutpoints();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0], 1.5);
  EXPECT_EQ(c[3], 4.5);
  const absl::Span<const float> start = latents->values();
  EXPECT_EQ(start[0], 1.0f);
  EXPECT_EQ(start[4], 5.0f);
  for (int r = 1; r <= 3; ++r) {
    EXPECT_GT(start[r], c[r - 1]);
    EXPECT_LE(start[r], c[r]);
  }
  // Scores far from every rating pull each latent to its interval's edge,
  // never past it; the ends of the scale are open.
  const std::vector<float> scores = {9, -3, 9, -3, 20, -20, -20};
  latents->Sample(scores, 4.0f, 11, 2);
  const std::vector<float> v(latents->values().begin(),
                             latents->values().end());
  EXPECT_GT(v[0], 0.0f);  // rating 1 with a score of 9: just below 1.5
  EXPECT_LE(v[0], 1.5f);
  EXPECT_GT(v[0], 1.0f);
  // Rating 2 with a score of -3: just above its lower cutpoint.
  EXPECT_GT(v[1], c[0]);
  EXPECT_LT(v[1], c[0] + 0.5 * (c[1] - c[0]));
  // Rating 3 with a score of 9: just below its upper cutpoint.
  EXPECT_LE(v[2], c[2]);
  EXPECT_GT(v[2], c[2] - 0.5 * (c[2] - c[1]));
  EXPECT_GT(v[3], c[2]);
  EXPECT_LT(v[3], c[2] + 0.5 * (c[3] - c[2]));
  EXPECT_GT(v[4], 15.0f);  // open above: follows the score
  EXPECT_GT(v[5], 4.5f);   // rating 5 with a score of -20: at 4.5
  EXPECT_LT(v[5], 4.6f);
  EXPECT_LT(v[6], -15.0f);  // open below
}

TEST(OrdinalLatentsTest, DrawsDependOnTheSeedNotTheThreads) {
  const RatingScale scale{0.5f, 5, 0.5f};
  std::vector<float> values, scores;
  for (int r = 0; r < 5000; ++r) {
    values.push_back(0.5f * (1 + r % 10));
    scores.push_back(0.3f * (r % 17));
  }
  const std::vector<Rating> ratings = RatingsOf(values);
  auto one = OrdinalLatents::Create(ratings, scale);
  auto two = OrdinalLatents::Create(ratings, scale);
  auto other = OrdinalLatents::Create(ratings, scale);
  ASSERT_TRUE(one.ok() && two.ok() && other.ok());
  one->Sample(scores, 2.0f, 5, 1);
  two->Sample(scores, 2.0f, 5, 2);
  other->Sample(scores, 2.0f, 6, 2);
  EXPECT_THAT(one->values(), ::testing::ElementsAreArray(two->values()));
  EXPECT_THAT(one->values(),
              ::testing::Not(::testing::ElementsAreArray(other->values())));
}

TEST(OrdinalLatentsTest, CutpointsMoveToWhereTheRatingsSayTheyAre) {
  // Ratings cut from N(score, 0.7²) latents at unevenly spaced cutpoints;
  // the outer two are where the sampler pins them. The scores come in two
  // clusters, so the ratings' shares (which place the starting cutpoints as
  // if the latents were normal) put the interior cutpoints off.
  const std::vector<double> truth = {1.5, 2.1, 3.2, 4.5};
  std::vector<float> values, scores;
  RandomStream random(17);
  for (int r = 0; r < 20000; ++r) {
    const float score = r % 2 == 0 ? 1.8f : 4.2f;
    const double z = score + 0.7 * random.Normal();
    int k = 0;
    while (k < 4 && z > truth[k]) ++k;
    values.push_back(1.0f + k);
    scores.push_back(score);
  }
  auto latents = OrdinalLatents::Create(RatingsOf(values), {1, 5, 1});
  ASSERT_TRUE(latents.ok()) << latents.status();
  const std::vector<double> start = latents->cutpoints();
  ASSERT_GT(std::abs(start[1] - truth[1]) + std::abs(start[2] - truth[2]), 0.2);
  std::vector<double> sum(4, 0.0);
  for (int step = 0; step < 400; ++step) {
    latents->SampleCutpoints(scores, 1 / 0.49f, step, 2, /*adapt=*/step < 200);
    if (step >= 200) {
      for (int j = 0; j < 4; ++j) sum[j] += latents->cutpoints()[j];
    }
  }
  EXPECT_EQ(sum[0] / 200, 1.5);
  EXPECT_NEAR(sum[1] / 200, 2.1, 0.05);
  EXPECT_NEAR(sum[2] / 200, 3.2, 0.05);
  EXPECT_EQ(sum[3] / 200, 4.5);
  // The latents are then drawn within the moved intervals.
  latents->Sample(scores, 1 / 0.49f, 3, 2);
  for (size_t r = 0; r < values.size(); ++r) {
    const int k = static_cast<int>(values[r]) - 1;
    const float z = latents->values()[r];
    if (k > 0) {
      ASSERT_GE(z, static_cast<float>(latents->cutpoints()[k - 1])) << r;
    }
    if (k < 4) {
      ASSERT_LE(z, static_cast<float>(latents->cutpoints()[k])) << r;
    }
  }
}

TEST(OrdinalLatentsTest, OutputIsThePosteriorMeanWithBothSpreads) {
  const RatingScale scale{1, 5, 1};
  auto latents = OrdinalLatents::Create(RatingsOf({1, 2, 3, 4, 5}), scale);
  ASSERT_TRUE(latents.ok()) << latents.status();
  EXPECT_EQ(latents->Output(scale).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const std::vector<double> cutpoints = latents->cutpoints();
  // Two kept sweeps: noise variances 1/4 and 1/2; each rating's time-free
  // score (the score less its offset) differs by 2·d between them, so its
  // posterior variance is d², d = 0.1, 0.2, ..., 0.5.
  const std::vector<float> offsets = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  std::vector<float> first, second;
  double mean_variance = 0.0;
  for (int r = 0; r < 5; ++r) {
    const float d = 0.1f * (r + 1);
    first.push_back(3.0f + offsets[r] - d);
    second.push_back(3.0f + offsets[r] + d);
    mean_variance += double{d} * d / 5;
  }
  latents->Accumulate(first, offsets, 4.0f);
  latents->Accumulate(second, offsets, 2.0f);
  absl::StatusOr<OrdinalOutput> output = latents->Output(scale);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_NEAR(output->stddev, std::sqrt(0.375 + mean_variance), 1e-5);
  ASSERT_EQ(output->cutpoints.size(), cutpoints.size());
  for (size_t j = 0; j < cutpoints.size(); ++j) {
    EXPECT_FLOAT_EQ(output->cutpoints[j], static_cast<float>(cutpoints[j]));
  }
}

TEST(OrdinalLatentsTest, RefusesRatingsOffTheScale) {
  const auto off = OrdinalLatents::Create(RatingsOf({1, 2, 3.5f}), {1, 5, 1});
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(off.status().message(), HasSubstr("rating 3 (3.5)"));
  const auto above = OrdinalLatents::Create(RatingsOf({6}), {1, 5, 1});
  EXPECT_FALSE(above.ok());
  // One cutpoint cannot fix the latent scale's unit: two values are not
  // enough.
  const auto two = OrdinalLatents::Create(RatingsOf({0, 1, 1}), {0, 1, 1});
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(two.status().message(), HasSubstr("fewer than three values"));
  EXPECT_TRUE(OrdinalLatents::Create(RatingsOf({0, 1, 2}), {0, 2, 1}).ok());
}

}  // namespace
}  // namespace recserve
