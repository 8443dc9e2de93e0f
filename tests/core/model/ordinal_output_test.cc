#include "core/model/ordinal_output.h"

#include <cmath>
#include <limits>

#include "core/base/normal_distribution.h"
#include "core/model/mf_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

TEST(OrdinalOutputTest, CountsTheScalesValues) {
  EXPECT_EQ(ScaleValues(RatingScale{1, 5, 1}), 5);
  EXPECT_EQ(ScaleValues(RatingScale{0.5f, 5, 0.5f}), 10);
  EXPECT_EQ(ScaleValues(RatingScale{3, 3, 1}), 1);
  EXPECT_EQ(ScaleValues(RatingScale{1, 5, 0}), 1);
}

TEST(OrdinalOutputTest, IsTheExpectedRatingOfTheLatentScore) {
  const RatingScale scale{1, 5, 1};
  const OrdinalOutput output{.cutpoints = {1.5f, 2.3f, 3.3f, 4.5f},
                             .stddev = 0.8f};
  const float score = 3.3f;
  // P(rating = v) is the latent's mass on v's interval.
  double expected = 0;
  for (int v = 1; v <= 5; ++v) {
    const double lo =
        v == 1 ? -INFINITY : (output.cutpoints[v - 2] - score) / 0.8;
    const double hi =
        v == 5 ? INFINITY : (output.cutpoints[v - 1] - score) / 0.8;
    expected += v * (NormalCdf(hi) - NormalCdf(lo));
  }
  EXPECT_NEAR(ExpectedOrdinalRating(score, scale, output), expected, 1e-5);
}

TEST(OrdinalOutputTest, StaysInsideTheScaleAndRanksAsTheScore) {
  const RatingScale scale{0.5f, 5, 0.5f};
  OrdinalOutput output{.cutpoints = {}, .stddev = 0.7f};
  for (int k = 1; k < 10; ++k) output.cutpoints.push_back(0.25f + 0.5f * k);
  float previous = 0;
  for (float s = -10; s <= 15; s += 0.25f) {
    const float r = ExpectedOrdinalRating(s, scale, output);
    EXPECT_GE(r, 0.5f);
    EXPECT_LE(r, 5.0f);
    if (s > -10) {
      EXPECT_GE(r, previous) << s;
    }
    previous = r;
  }
  EXPECT_NEAR(ExpectedOrdinalRating(-10, scale, output), 0.5f, 1e-5);
  EXPECT_NEAR(ExpectedOrdinalRating(15, scale, output), 5.0f, 1e-5);
  // With evenly spaced cutpoints the expectation halfway up the scale is
  // the score itself (symmetry).
  EXPECT_NEAR(ExpectedOrdinalRating(2.75f, scale, output), 2.75f, 1e-5);
}

TEST(OrdinalOutputTest, TheModelPredictsWithItOnlyWhenItHasOne) {
  MfModel model = MakeInitialModel(1, 1, 2, 0.0f, 1);
  model.global_mean = 5.4f;
  model.scale = RatingScale{1, 5, 1};
  EXPECT_FLOAT_EQ(model.Predict(0, 0), 5.0f);  // clamped
  model.ordinal = {.cutpoints = {1.5f, 2.4f, 3.4f, 4.5f}, .stddev = 0.9f};
  EXPECT_FLOAT_EQ(model.Predict(0, 0),
                  ExpectedOrdinalRating(5.4f, model.scale, model.ordinal));
  EXPECT_LT(model.Predict(0, 0), 5.0f);
  EXPECT_FLOAT_EQ(model.Rate(5.4f), model.Predict(0, 0));
}

TEST(OrdinalOutputTest, ValidationNamesWhatIsWrong) {
  const RatingScale scale{1, 5, 1};
  EXPECT_TRUE(ValidateOrdinalOutput({}, scale).ok());
  EXPECT_TRUE(ValidateOrdinalOutput(
                  {.cutpoints = {1.5f, 2, 3, 4.5f}, .stddev = 1}, scale)
                  .ok());
  const auto message = [&](const OrdinalOutput& o) {
    const absl::Status status = ValidateOrdinalOutput(o, scale);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    return std::string(status.message());
  };
  EXPECT_THAT(message({.cutpoints = {1.5f, 2.5f}, .stddev = 1}),
              HasSubstr("2 cutpoints for a rating scale of 5 values"));
  EXPECT_THAT(message({.cutpoints = {1.5f, 3, 2.5f, 4.5f}, .stddev = 1}),
              HasSubstr("cutpoint 3"));
  EXPECT_THAT(message({.cutpoints = {1.5f, NAN, 3, 4.5f}, .stddev = 1}),
              HasSubstr("cutpoint 2"));
  EXPECT_THAT(message({.cutpoints = {1.5f, 2, 3, 4.5f}, .stddev = 0}),
              HasSubstr("stddev"));
  EXPECT_THAT(message({.cutpoints = {1.5f, 2, 3, 4.5f},
                       .stddev = std::numeric_limits<float>::infinity()}),
              HasSubstr("stddev"));
}

}  // namespace
}  // namespace recserve
