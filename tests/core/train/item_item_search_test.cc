#include "core/train/item_item_search.h"

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "core/train/item_item_trainer.h"
#include "core/train/retrieval_tuning.h"
#include "gtest/gtest.h"
#include "tests/testutil/low_rank_ratings.h"

namespace recserve {
namespace {

// 80 users × 40 items, every rating at its own time, with each user's latest
// rating held out, and a random 20% of each user's ratings held out.
struct Splits {
  TrainTest latest;
  TrainTest random;
};

Splits MakeSplits() {
  Dataset data = testutil::MakeLowRankRatings(80, 40, 2, 0.4, 0.1, 5).data;
  for (size_t p = 0; p < data.ratings.size(); ++p)
    data.ratings[p].timestamp = static_cast<int64_t>(p);
  Splits s;
  s.latest =
      SplitDataset(data, SplitSpec{SplitSpec::Kind::kLeaveOneOut}, 1).value();
  s.random = HoldOutPerUser(data, 0.2, 2);
  return s;
}

TwoStageTrainingOptions SearchOptions() {
  TwoStageTrainingOptions o;
  o.item_item_reg_grid = {1.0f, 10.0f, 100.0f};
  o.item_item_recency_grid = {0.0f, 10.0f};
  o.retrieval_horizon_grid = {3.0f};
  o.validation.threads = 1;
  return o;
}

TopNOptions FullRankingOptions() {
  TopNOptions topn;
  topn.relevance_threshold = -std::numeric_limits<float>::infinity();
  topn.loo_negatives = 0;
  return topn;
}

TEST(ItemItemSearchTest, WithoutTheGuardTheBestLatestSettingIsChosen) {
  const Splits s = MakeSplits();
  ItemItemJudges judges{.latest = &s.latest, .topn = FullRankingOptions()};
  judges.embeddings_latest = -1;  // anything beats it
  std::vector<ItemItemTrial> trials;
  std::optional<ItemItemModel> chosen;
  ASSERT_TRUE(ChooseItemItem(SearchOptions(), judges, &trials, &chosen).ok());
  ASSERT_GE(trials.size(), 4u);  // each λ, then the weight
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_EQ(trials[t].params.reg, SearchOptions().item_item_reg_grid[t]);
    EXPECT_EQ(trials[t].params.recency_weight, 0.0f);
  }
  const ItemItemTrial* best = &trials[0];
  for (const ItemItemTrial& t : trials) {
    EXPECT_TRUE(std::isnan(t.random_ndcg));  // no guard: nothing judged
    if (t.ndcg > best->ndcg) best = &t;
  }
  ASSERT_TRUE(chosen.has_value());
  EXPECT_EQ(chosen->params.reg, best->params.reg);
  EXPECT_EQ(chosen->params.recency_weight, best->params.recency_weight);
  EXPECT_EQ(chosen->params.recency_horizon, best->params.recency_horizon);
  // The chosen model is the latest split's, solved at its λ.
  const absl::StatusOr<ItemItemModel> expected =
      TrainItemItem(s.latest.train, best->params, 1);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(chosen->weights, expected->weights);
}

TEST(ItemItemSearchTest, NothingIsChosenThatDoesNotBeatTheEmbeddings) {
  const Splits s = MakeSplits();
  ItemItemJudges judges{.latest = &s.latest, .topn = FullRankingOptions()};
  judges.embeddings_latest = 2.0;  // NDCG never exceeds 1
  std::vector<ItemItemTrial> trials;
  std::optional<ItemItemModel> chosen;
  ASSERT_TRUE(ChooseItemItem(SearchOptions(), judges, &trials, &chosen).ok());
  EXPECT_FALSE(chosen.has_value());
  EXPECT_GE(trials.size(), 3u);
}

TEST(ItemItemSearchTest, TheGuardJudgesOnlyWinnersAndCanKeepTheEmbeddings) {
  const Splits s = MakeSplits();
  ItemItemJudges judges{
      .latest = &s.latest, .random = &s.random, .topn = FullRankingOptions()};
  judges.embeddings_latest = -1;
  judges.embeddings_random = 2.0;  // no setting can rank the hold-out as well
  std::vector<ItemItemTrial> trials;
  std::optional<ItemItemModel> chosen;
  ASSERT_TRUE(ChooseItemItem(SearchOptions(), judges, &trials, &chosen).ok());
  EXPECT_FALSE(chosen.has_value());
  for (const ItemItemTrial& t : trials) {
    EXPECT_TRUE(std::isfinite(t.random_ndcg));
    EXPECT_GE(t.random_ndcg, 0.0);
    EXPECT_LE(t.random_ndcg, 1.0);
  }

  // A guard every setting passes chooses as if there were none.
  judges.embeddings_random = -1;
  std::vector<ItemItemTrial> guarded_trials;
  ASSERT_TRUE(
      ChooseItemItem(SearchOptions(), judges, &guarded_trials, &chosen).ok());
  ASSERT_TRUE(chosen.has_value());
  judges.random = nullptr;
  std::vector<ItemItemTrial> free_trials;
  std::optional<ItemItemModel> free_choice;
  ASSERT_TRUE(
      ChooseItemItem(SearchOptions(), judges, &free_trials, &free_choice).ok());
  ASSERT_TRUE(free_choice.has_value());
  EXPECT_EQ(chosen->params.reg, free_choice->params.reg);
  EXPECT_EQ(chosen->params.recency_weight, free_choice->params.recency_weight);
}

TEST(ItemItemSearchTest, EarlierTrialsPlayNoPartAndAnEmptyGridIsAnError) {
  const Splits s = MakeSplits();
  ItemItemJudges judges{.latest = &s.latest, .topn = FullRankingOptions()};
  judges.embeddings_latest = -1;
  std::vector<ItemItemTrial> fresh;
  std::optional<ItemItemModel> fresh_choice;
  ASSERT_TRUE(
      ChooseItemItem(SearchOptions(), judges, &fresh, &fresh_choice).ok());
  // The same search appended after its own trials chooses the same.
  std::vector<ItemItemTrial> trials = fresh;
  std::optional<ItemItemModel> chosen;
  ASSERT_TRUE(ChooseItemItem(SearchOptions(), judges, &trials, &chosen).ok());
  ASSERT_EQ(trials.size(), 2 * fresh.size());
  ASSERT_TRUE(chosen.has_value() && fresh_choice.has_value());
  EXPECT_EQ(chosen->weights, fresh_choice->weights);

  TwoStageTrainingOptions no_grid = SearchOptions();
  no_grid.item_item_reg_grid.clear();
  EXPECT_EQ(ChooseItemItem(no_grid, judges, &trials, &chosen).code(),
            absl::StatusCode::kInvalidArgument);
  judges.latest = nullptr;
  EXPECT_EQ(ChooseItemItem(SearchOptions(), judges, &trials, &chosen).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recserve
