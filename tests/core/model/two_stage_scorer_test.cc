#include "core/model/two_stage_scorer.h"

#include <cmath>
#include <vector>

#include "core/data/sparse_ratings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

// One user, five items, no factors: the rating model's score is μ + b_i.
MfModel BiasOnlyModel(const std::vector<float>& item_bias) {
  MfModel m =
      MakeInitialModel(1, static_cast<int32_t>(item_bias.size()), 1, 0.0f, 0);
  m.global_mean = 3.0f;
  for (size_t i = 0; i < item_bias.size(); ++i) m.item_bias[i] = item_bias[i];
  m.scale = {1.0f, 5.0f, 1.0f};
  return m;
}

TEST(TwoStageScorerTest, RetrievesUnseenCandidatesThenBlends) {
  // Retrieval order: item 0 (seen), 1, 2, 3, 4.
  const FixedScorer retrieval({0.9f, 0.8f, 0.6f, 0.4f, 0.1f});
  // Predicted ratings: 3 + bias = 4, 2, 5, 3, 5.
  const MfModel model = BiasOnlyModel({1.0f, -1.0f, 2.0f, 0.0f, 2.0f});
  const std::vector<Rating> train = {{0, 0, 4.0f, 0}};
  const SparseRatings seen = GroupRatings(train, 1, RatingAxis::kUser);
  std::vector<float> scores(5);

  // C = 3 among unseen: items 1, 2, 3. Retrieval normalized over them:
  // (0.8, 0.6, 0.4) → (1, 0.5, 0). Ratings normalized: (2, 5, 3) → (0.25,
  // 1, 0.5). Weight 0.5: 0.625, 0.75, 0.25.
  TwoStageScorer half(retrieval, model, seen, {3, 0.5f});
  half.ScoreItems(0, absl::MakeSpan(scores));
  EXPECT_TRUE(std::isinf(scores[0]) && scores[0] < 0) << "seen item";
  EXPECT_FLOAT_EQ(scores[1], 0.625f);
  EXPECT_FLOAT_EQ(scores[2], 0.75f);
  EXPECT_FLOAT_EQ(scores[3], 0.25f);
  EXPECT_TRUE(std::isfinite(scores[4]) && scores[4] < scores[3])
      << "item 4 has the best rating but is outside the pool";

  // Weight 0: the pool by predicted rating; weight 1: the retrieval order.
  TwoStageScorer rating_only(retrieval, model, seen, {3, 0.0f});
  rating_only.ScoreItems(0, absl::MakeSpan(scores));
  EXPECT_GT(scores[2], scores[3]);
  EXPECT_GT(scores[3], scores[1]);
  TwoStageScorer retrieval_only(retrieval, model, seen, {3, 1.0f});
  retrieval_only.ScoreItems(0, absl::MakeSpan(scores));
  EXPECT_GT(scores[1], scores[2]);
  EXPECT_GT(scores[2], scores[3]);
}

TEST(TwoStageScorerTest, ItemsOutsideThePoolFollowInRetrievalOrder) {
  // Items 3, 4 and 5 fall outside a pool of 2; item 5 has the best rating.
  const FixedScorer retrieval({0.9f, 0.8f, 0.7f, 0.5f, 0.3f, 0.1f});
  const MfModel model = BiasOnlyModel({0.0f, -2.0f, 2.0f, 0.0f, 0.0f, 2.0f});
  const SparseRatings seen = GroupRatings({}, 1, RatingAxis::kUser);
  std::vector<float> scores(6);
  TwoStageScorer scorer(retrieval, model, seen, {2, 0.0f});
  scorer.ScoreItems(0, absl::MakeSpan(scores));
  // The pool (items 0, 1) by predicted rating, then 2, 3, 4, 5 by retrieval.
  EXPECT_GT(scores[0], scores[1]);
  EXPECT_GT(scores[1], scores[2]);
  EXPECT_GT(scores[2], scores[3]);
  EXPECT_GT(scores[3], scores[4]);
  EXPECT_GT(scores[4], scores[5]);
  EXPECT_TRUE(std::isfinite(scores[5]));
}

TEST(TwoStageScorerTest, PoolLargerThanTheUnseenItemsKeepsThemAll) {
  const FixedScorer retrieval({0.9f, 0.8f, 0.6f});
  const MfModel model = BiasOnlyModel({0.0f, 0.0f, 0.0f});
  const std::vector<Rating> train = {{0, 1, 4.0f, 0}};
  const SparseRatings seen = GroupRatings(train, 1, RatingAxis::kUser);
  std::vector<float> scores(3);
  TwoStageScorer scorer(retrieval, model, seen, {50, 1.0f});
  scorer.ScoreItems(0, absl::MakeSpan(scores));
  EXPECT_FLOAT_EQ(scores[0], 1.0f);
  EXPECT_TRUE(std::isinf(scores[1]));
  EXPECT_FLOAT_EQ(scores[2], 0.0f);
}

}  // namespace
}  // namespace recserve
