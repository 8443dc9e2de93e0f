#include "core/model/two_stage_ranker.h"

#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace recserve {
namespace {

std::vector<int32_t> Items(const std::vector<RankedItem>& ranked) {
  std::vector<int32_t> items;
  for (const RankedItem& r : ranked) items.push_back(r.item);
  return items;
}

TEST(TwoStageRankerTest, BlendsRetrievalAndRatingAndKeepsTheTopN) {
  const TwoStageRanker ranker(RatingScale{1, 5, 1}, 0.5f);
  // Retrieval favours 7, the rating model 9.
  const std::vector<ScoredItem> pool = {{7, 2.0f}, {8, 1.5f}, {9, 1.0f}};
  const auto rating = [](int32_t item) { return item == 9 ? 5.0f : 1.0f; };
  const std::vector<RankedItem> ranked = ranker.Rank(pool, rating, 2);
  // 7: 0.5·1 + 0.5·0 = 0.5; 8: 0.25; 9: 0.5·0 + 0.5·1 = 0.5, the tie to 7.
  ASSERT_EQ(Items(ranked), (std::vector<int32_t>{7, 9}));
  EXPECT_FLOAT_EQ(ranked[0].score, 0.5f);
  EXPECT_FLOAT_EQ(ranked[1].rating_score, 5.0f);
  EXPECT_TRUE(ranker.Rank(pool, rating, 0).empty());
  EXPECT_EQ(ranker.Rank(pool, rating, 10).size(), 3u);
}

TEST(TwoStageRankerTest, ANonFiniteRetrievalScoreDoesNotEraseTheOthers) {
  const TwoStageRanker ranker(RatingScale{1, 5, 1}, 1.0f);
  const auto rating = [](int32_t) { return 3.0f; };
  for (const float odd : {std::numeric_limits<float>::quiet_NaN(),
                          -std::numeric_limits<float>::infinity()}) {
    // The odd score first: it once seeded the pool's best and worst.
    const std::vector<ScoredItem> pool = {{1, odd}, {2, 3.0f}, {3, 1.0f}};
    const std::vector<RankedItem> ranked = ranker.Rank(pool, rating, 3);
    ASSERT_EQ(Items(ranked), (std::vector<int32_t>{2, 3, 1})) << odd;
    EXPECT_FLOAT_EQ(ranked[0].score, 1.0f);
    EXPECT_FLOAT_EQ(ranked[1].score, 0.0f);
  }
}

}  // namespace
}  // namespace recserve
