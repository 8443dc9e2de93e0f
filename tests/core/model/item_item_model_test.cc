#include "core/model/item_item_model.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/recency_factors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;

// 3 × 3 weights with distinct entries, so every term of a sum shows.
ItemItemModel ThreeItems() {
  ItemItemModel model;
  model.weights.resize(3, 3);
  model.weights << 0, 1, 2,  //
      10, 0, 30,             //
      100, 200, 0;
  return model;
}

Dataset WithIds(int32_t users, int32_t items) {
  Dataset d;
  for (int32_t u = 0; u < users; ++u) d.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < items; ++i) d.items.GetOrAdd(absl::StrCat("i", i));
  return d;
}

TEST(ItemItemModelTest, WeighHistoryCountsEachItemOnceAtItsLatestTime) {
  const ItemItemParams params{
      .reg = 1, .recency_weight = 2, .recency_horizon = 1};
  // Item 5 at times 1 and 3 counts once, at 3; the order does not matter.
  const std::vector<double> f =
      RecencyFactors(std::vector<int64_t>{3, 2}, 2, 1);  // items 5, 7
  for (const auto& [items, times] :
       {std::make_pair(std::vector<int32_t>{5, 7, 5},
                       std::vector<int64_t>{1, 2, 3}),
        std::make_pair(std::vector<int32_t>{5, 5, 7},
                       std::vector<int64_t>{3, 1, 2})}) {
    const WeightedHistory h = WeighHistory(items, times, params);
    EXPECT_THAT(h.items, ElementsAre(5, 7));  // ascending
    ASSERT_EQ(h.factors.size(), 2u);
    EXPECT_EQ(h.factors[0], static_cast<float>(f[0]));
    EXPECT_EQ(h.factors[1], static_cast<float>(f[1]));
  }
  // The latest interaction weighs most.
  EXPECT_GT(f[0], f[1]);
}

TEST(ItemItemModelTest, ScoresSumTheHistoryRowsAndSkipItemsWithoutRows) {
  const ItemItemModel model = ThreeItems();
  WeightedHistory h;
  h.items = {0, 2, 4};  // item 4 has no row (a cold item)
  h.factors = {0.5f, 2.0f, 100.0f};
  std::vector<float> scores(5, 7.0f);
  AddItemItemScores(model.weights, h, absl::MakeSpan(scores));
  // Added to what was there; items 3 and 4 beyond the columns untouched.
  EXPECT_THAT(scores,
              ElementsAre(7 + 0.5f * 0 + 2 * 100, 7 + 0.5f * 1 + 2 * 200,
                          7 + 0.5f * 2 + 2 * 0, 7, 7));
}

TEST(ItemItemModelTest, ScorerBuildsEachUsersHistoryFromTheData) {
  const ItemItemModel model = [] {
    ItemItemModel m = ThreeItems();
    m.params.recency_weight = 3;
    m.params.recency_horizon = 1;
    return m;
  }();
  Dataset train = WithIds(3, 4);  // item 3: beyond the model, scores 0
  // User 0: item 0 at times 1 and 9 (it counts once, at the latest, 9),
  // item 1 at 5, a negative interaction with item 2 that does not count.
  train.ratings = {
      {0, 0, 4, 1}, {0, 1, 3, 5}, {0, 0, 5, 9}, {0, 2, -1, 10}, {1, 2, 5, 0}};
  const ItemItemScorer scorer(model, train);
  EXPECT_EQ(scorer.num_items(), 4);
  std::vector<float> scores(4);
  scorer.ScoreItems(0, absl::MakeSpan(scores));
  const std::vector<double> f =
      RecencyFactors(std::vector<int64_t>{9, 5}, 3, 1);  // items 0, 1
  const float f0 = static_cast<float>(f[0]), f1 = static_cast<float>(f[1]);
  EXPECT_FLOAT_EQ(scores[0], f1 * 10);
  EXPECT_FLOAT_EQ(scores[1], f0 * 1);
  EXPECT_FLOAT_EQ(scores[2], f0 * 2 + f1 * 30);
  EXPECT_EQ(scores[3], 0.0f);
  EXPECT_GT(f0, f1);
  scorer.ScoreItems(1, absl::MakeSpan(scores));
  EXPECT_THAT(scores, ElementsAre(100, 200, 0, 0));
  // No interactions, or unknown: 0 everywhere.
  scorer.ScoreItems(2, absl::MakeSpan(scores));
  EXPECT_THAT(scores, ElementsAre(0, 0, 0, 0));
  scorer.ScoreItems(kUnknownIndex, absl::MakeSpan(scores));
  EXPECT_THAT(scores, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace recserve
