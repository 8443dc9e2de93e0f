#include "core/model/item_scorer.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;

TEST(MfScorerTest, ScoresAreUnclampedBiasedDotProducts) {
  // μ = 3, b_u = [0.5], b_i = [1.5, 0, -1], p = [[1, 2]],
  // q = [[0.5, 0], [1, 1], [0, 0]], scale [1, 5].
  MfModel m;
  m.global_mean = 3.0f;
  m.user_bias.resize(1);
  m.user_bias << 0.5f;
  m.item_bias.resize(3);
  m.item_bias << 1.5f, 0.0f, -1.0f;
  m.user_factors.resize(1, 2);
  m.user_factors << 1.0f, 2.0f;
  m.item_factors.resize(3, 2);
  m.item_factors << 0.5f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f;
  m.scale = {1.0f, 5.0f, 1.0f};
  const MfScorer scorer(m);
  ASSERT_EQ(scorer.num_items(), 3);
  std::vector<float> scores(3);
  scorer.ScoreItems(0, absl::MakeSpan(scores));
  // 3 + 0.5 + 1.5 + 0.5 = 5.5 (not clamped to 5); 3 + 0.5 + 0 + 3 = 6.5;
  // 3 + 0.5 - 1 + 0 = 2.5.
  EXPECT_THAT(scores, ElementsAre(FloatEq(5.5f), FloatEq(6.5f), FloatEq(2.5f)));
  scorer.ScoreItems(kUnknownIndex, absl::MakeSpan(scores));
  // Unknown user: μ + b_i.
  EXPECT_THAT(scores, ElementsAre(FloatEq(4.5f), FloatEq(3.0f), FloatEq(2.0f)));
  for (int32_t i = 0; i < 3; ++i) {
    scorer.ScoreItems(0, absl::MakeSpan(scores));
    EXPECT_FLOAT_EQ(scores[i], m.Score(0, i));
  }
}

TEST(PopularityScorerTest, ScoresAreTrainingCountsForEveryUser) {
  Dataset train;
  for (const char* u : {"a", "b", "c"}) train.users.GetOrAdd(u);
  for (const char* i : {"x", "y", "z", "w"}) train.items.GetOrAdd(i);
  // y rated 3 times, x once, z twice, w never.
  train.ratings = {{0, 1, 5, 0}, {1, 1, 1, 0}, {2, 1, 3, 0},
                   {0, 0, 4, 0}, {1, 2, 2, 0}, {2, 2, 2, 0}};
  const PopularityScorer scorer(train);
  ASSERT_EQ(scorer.num_items(), 4);
  std::vector<float> scores(4);
  for (int32_t user : {0, 2, kUnknownIndex}) {
    scorer.ScoreItems(user, absl::MakeSpan(scores));
    EXPECT_THAT(scores, ElementsAre(1.0f, 3.0f, 2.0f, 0.0f));
  }
}

}  // namespace
}  // namespace recserve
