#include "core/synthetic/synthetic_oracle.h"

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/synthetic/synthetic_catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve::synthetic {
namespace {

using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(LogNormalCdfTest, MatchesTabulatedValues) {
  EXPECT_DOUBLE_EQ(LogNormalCdf(0.0), std::log(0.5));
  // Φ(−1) and Φ(1.96) from tables (15+ digits).
  EXPECT_NEAR(LogNormalCdf(-1.0), std::log(0.15865525393145707), 1e-14);
  EXPECT_NEAR(LogNormalCdf(1.96), std::log(0.9750021048517795), 1e-14);
  // Upper tail: log(1 − Q(10)) with Q(10) = 7.6198530241605e-24, which a
  // plain log(Φ) would round to 0.
  EXPECT_NEAR(LogNormalCdf(10.0), -7.6198530241605e-24, 1e-36);
  EXPECT_EQ(LogNormalCdf(kInf), 0.0);
}

TEST(LogNormalCdfTest, LowerTailDoesNotUnderflowAndIsContinuous) {
  // Down to x ≈ −37 erfc itself is still representable, so it is the
  // reference for the asymptotic series used below −20.
  for (double x : {-19.999, -20.0, -20.001, -21.0, -25.0, -30.0, -37.0}) {
    const double reference = std::log(0.5 * std::erfc(-x / std::sqrt(2.0)));
    EXPECT_NEAR(LogNormalCdf(x), reference, 1e-8 * std::abs(reference)) << x;
  }
  // Far beyond: −x²/2 − log(−x) − log(2π)/2 to within 1/x².
  const double x = -1000.0;
  EXPECT_NEAR(LogNormalCdf(x),
              -0.5 * x * x - std::log(-x) - 0.5 * std::log(2 * M_PI), 2e-6);
  EXPECT_EQ(LogNormalCdf(-kInf), -kInf);
  // Increasing.
  double previous = -kInf;
  for (double t = -60; t <= 10; t += 0.25) {
    EXPECT_GT(LogNormalCdf(t), previous) << t;
    previous = LogNormalCdf(t);
  }
}

// Two items, one factor: generator item 0 has popularity 4, bias 0 and
// q = 1; item 1 has popularity 1, bias 0.5 and q = −1. Generator user 0 has
// b_u = 0.25 and p_u = 0.5; μ = 3, σ = 0.5, β = 2.
class OracleScorerTest : public ::testing::Test {
 protected:
  OracleScorerTest() {
    items_.popularity = {4, 1};
    items_.bias = {0.0, 0.5};
    items_.factors = {1.0, -1.0};
    model_.items = &items_;
    model_.latent_factors = 1;
    model_.noise = 0.5;
    model_.exposure_taste = 2.0;
    model_.global_mean = 3.0;
    model_.user_taste = [](int32_t user, double* p) {
      EXPECT_EQ(user, 0);
      p[0] = 0.5;
      return 0.25;
    };
    // The data's indices are not the generator's: item "2" comes first.
    data_.items.GetOrAdd("2");
    data_.items.GetOrAdd("1");
    data_.users.GetOrAdd("1");
  }

  std::vector<float> Scores(
      int32_t user, OracleTarget target = OracleTarget::kRatedRelevant) {
    auto scorer = OracleScorer::Create(model_, data_, target);
    EXPECT_TRUE(scorer.ok()) << scorer.status();
    if (!scorer.ok()) return {};
    EXPECT_EQ((*scorer)->num_items(), 2);
    std::vector<float> scores(2);
    (*scorer)->ScoreItems(user, absl::MakeSpan(scores));
    return scores;
  }

  ItemModel items_;
  OracleModel model_;
  Dataset data_;
};

TEST_F(OracleScorerTest, ScoresAreLogProbabilityOfRatedAndRelevant) {
  const std::vector<float> scores = Scores(0);
  ASSERT_EQ(scores.size(), 2u);
  // Generator item 1 (id "2"): s = 3 + 0.25 + 0.5 − 0.5 = 3.25, so
  // log 1 + 2·(−0.5) + log Φ((3.25 − 3.75) / 0.5) = −1 + log Φ(−1).
  EXPECT_NEAR(scores[0], -1.0 + std::log(0.15865525393145707), 1e-6);
  // Generator item 0 (id "1"): s = 3 + 0.25 + 0 + 0.5 = 3.75, right at the
  // threshold: log 4 + 2·0.5 + log ½ = log 2 + 1.
  EXPECT_NEAR(scores[1], std::log(2.0) + 1.0, 1e-6);
}

TEST_F(OracleScorerTest, RatedTargetScoresExposureAlone) {
  const std::vector<float> scores = Scores(0, OracleTarget::kRated);
  ASSERT_EQ(scores.size(), 2u);
  // log popularity + β p·q: log 1 + 2·(−0.5) and log 4 + 2·0.5, whatever the
  // predicted ratings (item "2" would mostly be rated below 4).
  EXPECT_NEAR(scores[0], -1.0, 1e-6);
  EXPECT_NEAR(scores[1], std::log(4.0) + 1.0, 1e-6);
}

TEST_F(OracleScorerTest, PositiveEventTargetDiscountsLikelyDislikes) {
  // μ = 1.5: generator item 1 (id "2") has s = 1.75, item 0 (id "1") 2.25.
  // P(dislike) = 0.35 Φ((2 − s) / 0.5): 0.35 Φ(0.5) and 0.35 Φ(−0.5).
  model_.global_mean = 1.5;
  std::vector<float> scores = Scores(0, OracleTarget::kPositiveEvent);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_NEAR(scores[0], -1.0 + std::log(1 - 0.35 * 0.6914624612740131), 1e-6);
  EXPECT_NEAR(scores[1],
              std::log(4.0) + 1.0 + std::log(1 - 0.35 * 0.3085375387259869),
              1e-6);
  // Without noise, a step at 2.
  model_.noise = 0.0;
  scores = Scores(0, OracleTarget::kPositiveEvent);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_NEAR(scores[0], -1.0 + std::log(0.65), 1e-6);
  EXPECT_NEAR(scores[1], std::log(4.0) + 1.0, 1e-6);
}

TEST_F(OracleScorerTest, UnknownUserHasNoTasteAndNoBias) {
  const std::vector<float> scores = Scores(kUnknownIndex);
  ASSERT_EQ(scores.size(), 2u);
  // s = μ + b_i: 3.5 for item 1, 3.0 for item 0.
  EXPECT_NEAR(scores[0], std::log(0.5 * std::erfc(0.5 / std::sqrt(2.0))), 1e-6);
  EXPECT_NEAR(scores[1],
              std::log(4.0) + std::log(0.5 * std::erfc(1.5 / std::sqrt(2.0))),
              1e-6);
}

TEST_F(OracleScorerTest, NoNoiseIsAHardStepAtTheThreshold) {
  model_.noise = 0.0;
  const std::vector<float> scores = Scores(0);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0], -std::numeric_limits<float>::infinity());  // 3.25
  EXPECT_NEAR(scores[1], std::log(4.0) + 1.0, 1e-6);              // 3.75
}

TEST_F(OracleScorerTest, RejectsIdsTheGeneratorDidNotWrite) {
  for (const char* id : {"0", "3", "x", "-1", ""}) {
    Dataset data = data_;
    data.items.GetOrAdd(id);
    auto scorer = OracleScorer::Create(model_, data);
    EXPECT_EQ(scorer.status().code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_THAT(scorer.status().message(), HasSubstr("item id")) << id;
  }
  Dataset data = data_;
  data.users.GetOrAdd("u7");
  EXPECT_THAT(OracleScorer::Create(model_, data).status().message(),
              HasSubstr("user id \"u7\""));
  OracleModel no_items = model_;
  no_items.items = nullptr;
  EXPECT_EQ(OracleScorer::Create(no_items, data_).status().code(),
            absl::StatusCode::kInvalidArgument);
  OracleModel wrong_rank = model_;
  wrong_rank.latent_factors = 2;  // The items have one factor each.
  EXPECT_EQ(OracleScorer::Create(wrong_rank, data_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recserve::synthetic
