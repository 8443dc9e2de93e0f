#include "core/pipeline/fold_in_evaluation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/data/sparse_ratings.h"
#include "core/model/item_item_model.h"
#include "core/model/two_stage_scorer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/generated_data.h"
#include "tests/testutil/low_rank_ratings.h"

namespace recserve {
namespace {

using ::testing::IsEmpty;

// (user id, item id) -> rating, of every rating of `data` whose user
// `keep` accepts.
template <typename Keep>
std::map<std::pair<std::string, std::string>, float> RatingsOf(
    const Dataset& data, absl::Span<const Rating> ratings, Keep keep) {
  std::map<std::pair<std::string, std::string>, float> out;
  for (const Rating& r : ratings) {
    const std::string& user = data.users.Id(r.user);
    if (!keep(user)) continue;
    out[{user, r.item == kUnknownIndex ? "?" : data.items.Id(r.item)}] =
        r.value;
  }
  return out;
}

// 60 users with 1 to 12 ratings of 60 items, timestamps running backwards
// through the input (so "oldest first" is the reverse of input order), and
// a few equal timestamps.
Dataset SmallData() {
  Dataset data = testutil::MakeLowRankRatings(60, 60, 2, 0.5, 0.1, 3).data;
  // Cut each user's ratings to between 1 and 12.
  std::vector<int32_t> kept(data.num_users(), 0);
  std::vector<Rating> ratings;
  for (const Rating& r : data.ratings) {
    if (kept[r.user] >= 1 + r.user % 12) continue;
    ++kept[r.user];
    ratings.push_back(r);
  }
  for (size_t p = 0; p < ratings.size(); ++p) {
    ratings[p].timestamp = 1000000 - static_cast<int64_t>(p / 2);
  }
  data.ratings = std::move(ratings);
  return data;
}

TEST(SplitFoldInUsersTest, HoldsOutUsersAndCutsTheirHistoriesByTime) {
  const Dataset data = SmallData();
  const FoldInSplit split = SplitFoldInUsers(data, 0.25, 7);
  // Users with at least 2 ratings: 55 of the 60 (those with u % 12 != 0).
  ASSERT_EQ(split.users.size(), 14u);
  std::set<std::string> held_out;
  for (const int32_t u : split.users) {
    ASSERT_GE(u, 0);
    held_out.insert(split.with_recent.users.Id(u));
  }
  // Model A's data holds none of their ratings, and every other rating.
  for (const std::string& id : held_out) {
    EXPECT_EQ(split.without_users.users.Find(id), kUnknownIndex) << id;
  }
  auto is_held_out = [&](const std::string& id) {
    return held_out.count(id) > 0;
  };
  auto is_other = [&](const std::string& id) { return !is_held_out(id); };
  EXPECT_EQ(
      RatingsOf(split.without_users, split.without_users.ratings, is_other),
      RatingsOf(data, data.ratings, is_other));
  EXPECT_EQ(
      RatingsOf(split.without_users, split.without_users.ratings, is_held_out),
      (std::map<std::pair<std::string, std::string>, float>()));
  // Model B's data: the same, and the held-out users' older halves; the
  // test holds their newer halves.
  EXPECT_EQ(RatingsOf(split.with_recent, split.with_recent.ratings, is_other),
            RatingsOf(data, data.ratings, is_other));
  for (const int32_t u : split.users) {
    const std::string& id = split.with_recent.users.Id(u);
    std::vector<const Rating*> history;
    for (const Rating& r : data.ratings) {
      if (data.users.Id(r.user) == id) history.push_back(&r);
    }
    std::stable_sort(history.begin(), history.end(),
                     [](const Rating* a, const Rating* b) {
                       return a->timestamp < b->timestamp;
                     });
    std::vector<std::string> recent, test;
    for (const Rating& r : split.with_recent.ratings) {
      if (r.user == u) recent.push_back(split.with_recent.items.Id(r.item));
    }
    for (const Rating& r : split.test) {
      ASSERT_NE(r.user, kUnknownIndex);
      if (r.user == u) test.push_back(split.with_recent.items.Id(r.item));
    }
    ASSERT_EQ(recent.size(), history.size() / 2) << id;
    ASSERT_EQ(recent.size() + test.size(), history.size()) << id;
    std::vector<std::string> expected_recent, expected_test;
    for (size_t j = 0; j < history.size(); ++j) {
      (j < recent.size() ? expected_recent : expected_test)
          .push_back(data.items.Id(history[j]->item));
    }
    std::sort(recent.begin(), recent.end());
    std::sort(test.begin(), test.end());
    std::sort(expected_recent.begin(), expected_recent.end());
    std::sort(expected_test.begin(), expected_test.end());
    EXPECT_EQ(recent, expected_recent) << id;
    EXPECT_EQ(test, expected_test) << id;
  }
  // Model B's first users and items are model A's, in order.
  for (int32_t u = 0; u < split.without_users.num_users(); ++u) {
    EXPECT_EQ(split.with_recent.users.Id(u), split.without_users.users.Id(u));
  }
  for (int32_t i = 0; i < split.without_users.num_items(); ++i) {
    EXPECT_EQ(split.with_recent.items.Id(i), split.without_users.items.Id(i));
  }
}

std::set<std::string> HeldOut(const FoldInSplit& split) {
  std::set<std::string> ids;
  for (const int32_t u : split.users) ids.insert(split.with_recent.users.Id(u));
  return ids;
}

TEST(SplitFoldInUsersTest, SeededShareOfEligibleUsers) {
  const Dataset data = SmallData();
  const std::set<std::string> a = HeldOut(SplitFoldInUsers(data, 0.25, 7));
  EXPECT_EQ(a, HeldOut(SplitFoldInUsers(data, 0.25, 7)));
  EXPECT_NE(a, HeldOut(SplitFoldInUsers(data, 0.25, 8)));
  EXPECT_THAT(SplitFoldInUsers(data, 0, 7).users, IsEmpty());
  // A tiny share still holds out one user; a user with one rating is never
  // held out.
  EXPECT_EQ(SplitFoldInUsers(data, 1e-6, 7).users.size(), 1u);
  const FoldInSplit all = SplitFoldInUsers(data, 0.999, 7);
  EXPECT_EQ(all.users.size(), 55u);
  for (const int32_t u : all.users) {
    EXPECT_NE(data.users.Find(all.with_recent.users.Id(u)) % 12, 0);
  }
}

TEST(SplitFoldInUsersTest, WithoutTimestampsInputOrderDecides) {
  Dataset data;
  for (const char* item : {"a", "b", "c", "d", "e"}) {
    data.ratings.push_back(
        {data.users.GetOrAdd("u"), data.items.GetOrAdd(item), 4.0f, 0});
  }
  data.ratings.push_back(
      {data.users.GetOrAdd("v"), data.items.GetOrAdd("a"), 3.0f, 0});
  const FoldInSplit split = SplitFoldInUsers(data, 0.5, 1);
  ASSERT_EQ(split.users.size(), 1u);
  std::vector<std::string> recent, test;
  for (const Rating& r : split.with_recent.ratings) {
    if (r.user == split.users[0]) {
      recent.push_back(split.with_recent.items.Id(r.item));
    }
  }
  for (const Rating& r : split.test) {
    test.push_back(
        r.item == kUnknownIndex ? "?" : split.with_recent.items.Id(r.item));
  }
  EXPECT_EQ(recent, (std::vector<std::string>{"a", "b"}));
  // c, d and e were rated by nobody else: unknown to both models.
  EXPECT_EQ(test, (std::vector<std::string>{"?", "?", "?"}));
}

// Fixed settings, as the pipeline passes them after validation.
TwoStageTrainingOptions FixedSettings() {
  TwoStageTrainingOptions o;
  RatingTrainingOptions& r = o.rating;
  r.algorithm = Algorithm::kAls;
  r.tune_reg = false;
  r.factor_grid.clear();
  r.validation_fraction = 0;
  r.als.factors = 8;
  r.als.reg = 0.06f;
  r.als.max_iterations = 10;
  o.retrieval.factors = 16;
  o.retrieval.reg = 10;
  o.retrieval_reg_grid = {10};
  o.tune_blend = false;
  o.ranking = {.candidates = 100, .blend_weight = 0.5f};
  return o;
}

// Users who mostly rate what they like (the generator's default β): their
// recent ratings say what they like, so folding them in ranks far better
// than popularity and about as well as training on them.
TEST(EvaluateFoldInTest, FoldInBeatsPopularityOnStructuredData) {
  const testutil::GeneratedSplit gen =
      testutil::GenerateAndSplit(3.0, "random:0.1");
  const FoldInSplit split = SplitFoldInUsers(gen.data.train, 0.1, 1);
  ASSERT_NEAR(static_cast<double>(split.users.size()), 200, 2);
  auto result = EvaluateFoldIn(split, FixedSettings(), TopNOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  const FoldInEvaluation& f = *result;
  EXPECT_EQ(f.users, static_cast<int32_t>(split.users.size()));
  EXPECT_EQ(f.model_a_users + f.users, gen.data.train.num_users());
  EXPECT_EQ(f.model_a_ratings,
            static_cast<int64_t>(split.without_users.ratings.size()));
  EXPECT_EQ(f.recent_ratings + f.test_ratings + f.model_a_ratings,
            static_cast<int64_t>(gen.data.train.ratings.size()));
  EXPECT_EQ(f.fold_in.loo_users, f.users);
  EXPECT_EQ(f.trained.users, f.fold_in.users);
  EXPECT_EQ(f.popularity.users, f.fold_in.users);
  EXPECT_GT(f.fold_in.users, 150);
  for (const TopNMetrics* m : {&f.fold_in, &f.trained, &f.popularity,
                               &f.fold_in_retrieval, &f.trained_retrieval}) {
    EXPECT_GE(m->recall, 0);
    EXPECT_LE(m->recall, 1);
    EXPECT_GE(m->loo_hr, 0);
    EXPECT_LE(m->loo_hr, 1);
  }
  RecordProperty("fold_in_recall", std::to_string(f.fold_in.recall));
  RecordProperty("trained_recall", std::to_string(f.trained.recall));
  RecordProperty("popularity_recall", std::to_string(f.popularity.recall));
  EXPECT_GE(f.RecallVsPopularity(), 1.3)
      << f.fold_in.recall << " vs " << f.popularity.recall;
  EXPECT_GE(f.RecallVsTrained(), 0.85)
      << f.fold_in.recall << " vs " << f.trained.recall;
  EXPECT_GT(f.fold_in.loo_hr, f.popularity.loo_hr);
  EXPECT_GT(f.seconds, 0);

  const nlohmann::json json = FoldInToJson(f);
  EXPECT_EQ(json["users"], f.users);
  EXPECT_DOUBLE_EQ(json["methods"]["fold_in"]["recall@10"].get<double>(),
                   f.fold_in.recall);
  EXPECT_DOUBLE_EQ(json["recall_vs_popularity"].get<double>(),
                   f.RecallVsPopularity());
  nlohmann::json metrics = nlohmann::json::object();
  AddFoldInMetrics(f, &metrics);
  EXPECT_DOUBLE_EQ(metrics["fold_in/recall@10"].get<double>(),
                   f.fold_in.recall);
  EXPECT_DOUBLE_EQ(metrics["fold_in/popularity/recall@10"].get<double>(),
                   f.popularity.recall);
  for (const auto& [key, value] : metrics.items()) {
    EXPECT_TRUE(value.is_number() || value.is_null()) << key;
  }
}

// With an item-item model in the settings, the two-stage rankings start
// from it, as the server's do: the trained users' figures are exactly its
// two-stage ranking of them, and the folded-in users' differ from the
// embeddings-first ranking (at blend weight 1 the two-stage order is the
// first stage's), while the embeddings alone are the same as without it.
TEST(EvaluateFoldInTest, TwoStageRankingsStartFromTheItemItemModel) {
  const testutil::GeneratedSplit gen =
      testutil::GenerateAndSplit(3.0, "random:0.1");
  const FoldInSplit split = SplitFoldInUsers(gen.data.train, 0.1, 1);
  TwoStageTrainingOptions embeddings_first = FixedSettings();
  embeddings_first.ranking = {.candidates = 100, .blend_weight = 1.0f};
  TwoStageTrainingOptions item_item_first = embeddings_first;
  item_item_first.item_item = ItemItemParams{.reg = 300.0f};
  auto with = EvaluateFoldIn(split, item_item_first, TopNOptions());
  auto without = EvaluateFoldIn(split, embeddings_first, TopNOptions());
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_TRUE(without.ok()) << without.status();

  absl::StatusOr<TwoStageTrainingResult> b =
      TrainTwoStage(split.with_recent, item_item_first);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(b->item_item.has_value());
  const ItemItemScorer first(*b->item_item, split.with_recent);
  const SparseRatings seen =
      GroupRatings(split.with_recent.ratings, split.with_recent.num_users(),
                   RatingAxis::kUser);
  const TwoStageScorer ranking(first, b->rating.train.model, seen, b->ranking);
  const TopNMetrics expected =
      EvaluateTopN(ranking, split.with_recent, split.test, TopNOptions());
  EXPECT_DOUBLE_EQ(with->trained.recall, expected.recall);
  EXPECT_DOUBLE_EQ(with->trained.ndcg, expected.ndcg);
  EXPECT_NE(with->trained.ndcg, without->trained.ndcg);

  EXPECT_NE(with->fold_in.ndcg, without->fold_in.ndcg);
  EXPECT_NE(with->fold_in.ndcg, with->fold_in_retrieval.ndcg);
  EXPECT_DOUBLE_EQ(without->fold_in.ndcg, without->fold_in_retrieval.ndcg);
  EXPECT_DOUBLE_EQ(with->fold_in_retrieval.ndcg,
                   without->fold_in_retrieval.ndcg);
  EXPECT_GT(with->fold_in.recall, with->popularity.recall);
}

TEST(EvaluateFoldInTest, NeedsRetrievalEmbeddings) {
  TwoStageTrainingOptions settings = FixedSettings();
  settings.train_retrieval = false;
  const FoldInSplit split = SplitFoldInUsers(SmallData(), 0.25, 7);
  auto result = EvaluateFoldIn(split, settings, TopNOptions());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace recserve
