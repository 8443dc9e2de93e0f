// The item-item retrieval model through ServingModel (format 7): Recommend
// ranks exactly as the trainer evaluated (ItemItemScorer then TwoStageScorer
// on the published data), a user folded in from recent interactions is
// retrieved exactly like a trained user with the same interactions in the
// same order, explanations are the model's terms, and filters apply inside
// retrieval.

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/top_k.h"
#include "core/data/sparse_ratings.h"
#include "core/model/item_item_model.h"
#include "core/model/two_stage_scorer.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"
#include "core/train/item_item_trainer.h"
#include "gtest/gtest.h"
#include "tests/testutil/cold_snapshot.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

constexpr int32_t kUsers = 20;
constexpr int32_t kItems = 40;
constexpr int32_t kFactors = 3;
constexpr int32_t kPool = 15;

class ServingItemItemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny_ = testutil::MakeTinyModel(kUsers, kItems, kFactors, 8, /*seed=*/5);
    // One rating per pair; each user's ratings at distinct times, in another
    // order than listed.
    tiny_.train.ratings.resize(tiny_.train.ratings.size() - 2);
    std::map<int32_t, int64_t> count;
    for (Rating& r : tiny_.train.ratings) {
      r.timestamp = 1000 * int64_t{r.user} + (count[r.user]++ * 5) % 11;
    }
    retrieval_ = testutil::MakeTinyRetrieval(kUsers, kItems, 4);
    absl::StatusOr<ItemItemModel> item_item = TrainItemItem(
        tiny_.train,
        {.reg = 2.0f, .recency_weight = 30.0f, .recency_horizon = 2.0f});
    ASSERT_TRUE(item_item.ok()) << item_item.status();
    item_item_ = *std::move(item_item);
    params_.rating = RatingUserPrior::Ridge(kFactors, 0.05f, 0.02f);
    params_.retrieval = {.reg = 0.5f, .alpha = 0.4f, .unobserved_weight = 1.0f};
    model_ = Publish(tmp_.path(), item_item_);
    ASSERT_NE(model_, nullptr);
    ASSERT_TRUE(snap().has_item_item());
  }

  // The fixture's data and models with `item_item`, published under `root`
  // and loaded; null (and a failure) on error.
  std::shared_ptr<const ServingModel> Publish(const std::string& root,
                                              const ItemItemModel& item_item) {
    SnapshotContents contents;
    contents.train = &tiny_.train;
    contents.model = &tiny_.model;
    contents.algo = "als";
    contents.retrieval = &retrieval_;
    contents.ranking = {.candidates = kPool, .blend_weight = 0.5f};
    contents.fold_in = &params_;
    contents.items = &tiny_.catalog;
    contents.item_item = &item_item;
    absl::StatusOr<std::string> version = PublishSnapshot(root, contents);
    EXPECT_TRUE(version.ok()) << version.status();
    if (!version.ok()) return nullptr;
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(absl::StrCat(root, "/", *version), {});
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? *model : nullptr;
  }
  const Snapshot& snap() const { return model_->snapshot(); }

  RecommendQuery Query(const std::string& user, int32_t n) const {
    RecommendQuery q;
    q.user_id = user;
    q.n = n;
    return q;
  }

  // User u's training items, oldest first, as recent interactions.
  std::vector<RecentInteraction> HistoryOf(int32_t u) const {
    std::vector<Rating> mine;
    for (const Rating& r : tiny_.train.ratings) {
      if (r.user == u) mine.push_back(r);
    }
    std::sort(mine.begin(), mine.end(), [](const Rating& a, const Rating& b) {
      return a.timestamp < b.timestamp;
    });
    std::vector<RecentInteraction> recent;
    for (const Rating& r : mine) {
      RecentInteraction x;
      x.item_id = snap().ItemId(r.item);
      x.rating = r.value;
      recent.push_back(x);
    }
    return recent;
  }

  testutil::TempDir tmp_;
  testutil::TinyModel tiny_;
  RetrievalModel retrieval_;
  ItemItemModel item_item_;
  FoldInParams params_;
  std::shared_ptr<const ServingModel> model_;
  ServingLimits limits_;
  ServingPolicy policy_;
};

TEST_F(ServingItemItemTest, RecommendRanksAsTheTrainerEvaluated) {
  const ItemItemScorer retrieval(item_item_, tiny_.train);
  const SparseRatings seen = GroupRatings(
      tiny_.train.ratings, tiny_.train.num_users(), RatingAxis::kUser);
  const MfModel rating = snap().ToModel();
  const TwoStageScorer offline(retrieval, rating, seen, snap().ranking());
  std::vector<float> scores(kItems);
  int64_t compared = 0;
  for (int32_t u = 0; u + 1 < kUsers; ++u) {  // the last user rated nothing
    offline.ScoreItems(u, absl::MakeSpan(scores));
    TopK<> top(10);
    for (int32_t i = 0; i < kItems; ++i) top.Offer({i, scores[i]});
    const std::vector<ScoredItem> expected = top.Take();
    for (const bool exact : {false, true}) {
      RecommendQuery q = Query(snap().UserId(u), 10);
      q.exact = exact;  // changes nothing: the model scores every item
      absl::StatusOr<Recommendation> r = model_->Recommend(q, limits_, policy_);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->retrieval_path, RetrievalPath::kItemItem);
      EXPECT_STREQ(RetrievalPathName(r->retrieval_path), "item_item");
      EXPECT_EQ(r->candidates, kPool);
      ASSERT_EQ(r->items.size(), expected.size()) << "user " << u;
      for (size_t k = 0; k < expected.size(); ++k) {
        EXPECT_EQ(r->items[k].item, expected[k].item)
            << "user " << u << ", rank " << k;
        EXPECT_FLOAT_EQ(r->items[k].score, expected[k].score);
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 2 * 19 * 10);
}

TEST_F(ServingItemItemTest, AFoldedInUserIsRetrievedLikeTheTrainedOne) {
  for (const int32_t u : {0, 3, 11}) {
    RecommendQuery trained = Query(snap().UserId(u), kItems);
    trained.candidates = kItems;
    trained.explain = true;
    RecommendQuery visitor = Query("visitor", kItems);
    visitor.candidates = kItems;
    visitor.explain = true;
    visitor.recent = HistoryOf(u);
    absl::StatusOr<Recommendation> a =
        model_->Recommend(trained, limits_, policy_);
    absl::StatusOr<Recommendation> b =
        model_->Recommend(visitor, limits_, policy_);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_FALSE(a->folded_in);
    EXPECT_TRUE(b->folded_in);
    EXPECT_EQ(b->retrieval_path, RetrievalPath::kItemItem);
    // The same items are left (the history is removed either way), each at
    // the same retrieval score.
    std::map<int32_t, float> trained_scores;
    for (const RecommendedItem& r : a->items) {
      trained_scores[r.item] = r.explanation.retrieval_score;
    }
    ASSERT_EQ(a->items.size(), b->items.size());
    int32_t nonzero = 0;
    for (const RecommendedItem& r : b->items) {
      ASSERT_EQ(trained_scores.count(r.item), 1u) << r.item;
      EXPECT_FLOAT_EQ(r.explanation.retrieval_score, trained_scores[r.item])
          << "user " << u << ", item " << r.item;
      nonzero += r.explanation.retrieval_score != 0.0f;
    }
    EXPECT_GT(nonzero, 0);
  }
  // The order of the recent interactions matters: reversed, the latest is
  // another item, and the scores move.
  RecommendQuery forward = Query("visitor", kItems);
  forward.candidates = kItems;
  forward.explain = true;
  forward.recent = HistoryOf(3);
  RecommendQuery backward = forward;
  std::reverse(backward.recent.begin(), backward.recent.end());
  absl::StatusOr<Recommendation> f =
      model_->Recommend(forward, limits_, policy_);
  absl::StatusOr<Recommendation> b =
      model_->Recommend(backward, limits_, policy_);
  ASSERT_TRUE(f.ok() && b.ok());
  std::map<int32_t, float> backward_scores;
  for (const RecommendedItem& r : b->items) {
    backward_scores[r.item] = r.explanation.retrieval_score;
  }
  int32_t moved = 0;
  for (const RecommendedItem& r : f->items) {
    moved += r.explanation.retrieval_score != backward_scores[r.item];
  }
  EXPECT_GT(moved, 0);
}

TEST_F(ServingItemItemTest, ExplanationsAreTheModelsTerms) {
  RecommendQuery q = Query(snap().UserId(4), 10);
  q.explain = true;
  absl::StatusOr<Recommendation> r = model_->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->items.size(), 10u);
  const absl::Span<const int32_t> seen = snap().SeenItems(4);
  ASSERT_LE(seen.size(), static_cast<size_t>(kMaxContributions));
  for (const RecommendedItem& item : r->items) {
    // Every history item is listed (at most kMaxContributions of them), so
    // the shares add up to the retrieval score.
    EXPECT_EQ(item.explanation.because.size(), seen.size());
    double sum = 0;
    for (const Contribution& c : item.explanation.because) {
      EXPECT_TRUE(std::binary_search(seen.begin(), seen.end(), c.item));
      sum += c.share;
    }
    EXPECT_NEAR(sum, item.explanation.retrieval_score, 1e-4);
    EXPECT_EQ(item.explanation.blend_weight, 0.5f);
  }
  // Largest share first.
  const std::vector<Contribution>& because = r->items[0].explanation.because;
  for (size_t k = 1; k < because.size(); ++k) {
    EXPECT_GE(because[k - 1].share, because[k].share);
  }
}

TEST_F(ServingItemItemTest, FiltersApplyInsideRetrieval) {
  RecommendQuery q = Query(snap().UserId(2), 10);
  for (int32_t i = 0; i < kItems; i += 4) {
    q.filter.item_ids.push_back(snap().ItemId(i));
  }
  absl::StatusOr<Recommendation> r = model_->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->filtered);
  EXPECT_EQ(r->retrieval_path, RetrievalPath::kItemItem);
  const absl::Span<const int32_t> seen = snap().SeenItems(2);
  int32_t allowed_unseen = 0;
  for (int32_t i = 0; i < kItems; i += 4) {
    allowed_unseen += !std::binary_search(seen.begin(), seen.end(), i);
  }
  // Every allowed item the user has not seen, and nothing else.
  ASSERT_EQ(static_cast<int32_t>(r->items.size()), allowed_unseen);
  for (const RecommendedItem& item : r->items) {
    EXPECT_EQ(item.item % 4, 0) << item.item;
    EXPECT_FALSE(std::binary_search(seen.begin(), seen.end(), item.item));
  }
  // Exclusions too.
  RecommendQuery excluding = Query(snap().UserId(2), kItems);
  excluding.exclude_item_ids = {snap().ItemId(1), snap().ItemId(2)};
  absl::StatusOr<Recommendation> e =
      model_->Recommend(excluding, limits_, policy_);
  ASSERT_TRUE(e.ok()) << e.status();
  for (const RecommendedItem& item : e->items) {
    EXPECT_NE(item.item, 1);
    EXPECT_NE(item.item, 2);
  }
}

}  // namespace
}  // namespace recserve

namespace recserve {
namespace {

std::map<int32_t, float> RetrievalScores(const Recommendation& r) {
  std::map<int32_t, float> scores;
  for (const RecommendedItem& item : r.items) {
    scores[item.item] = item.explanation.retrieval_score;
  }
  return scores;
}

// An item both trained on and sent again, or sent twice, counts once, at
// its latest time, as training counts it.
TEST_F(ServingItemItemTest, AnItemSentAgainCountsOnceAtItsLatestTime) {
  const int32_t u = 6;
  const std::vector<RecentInteraction> history = HistoryOf(u);
  ASSERT_GE(history.size(), 3u);
  RecommendQuery known = Query(snap().UserId(u), kItems);
  known.candidates = kItems;
  known.explain = true;
  known.recent = {history[0]};  // the user's oldest item, now the latest
  RecommendQuery visitor = Query("visitor", kItems);
  visitor.candidates = kItems;
  visitor.explain = true;
  visitor.recent = history;
  visitor.recent.push_back(history[0]);
  absl::StatusOr<Recommendation> a = model_->Recommend(known, limits_, policy_);
  absl::StatusOr<Recommendation> b =
      model_->Recommend(visitor, limits_, policy_);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  const std::map<int32_t, float> x = RetrievalScores(*a);
  const std::map<int32_t, float> y = RetrievalScores(*b);
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [item, score] : x) {
    ASSERT_EQ(y.count(item), 1u);
    EXPECT_EQ(y.at(item), score) << item;
  }
  // And it moved: the same user without the repeat scores otherwise.
  RecommendQuery plain = known;
  plain.recent.clear();
  absl::StatusOr<Recommendation> c = model_->Recommend(plain, limits_, policy_);
  ASSERT_TRUE(c.ok());
  const std::map<int32_t, float> z = RetrievalScores(*c);
  int32_t moved = 0;
  for (const auto& [item, score] : x)
    moved += z.count(item) && z.at(item) != score;
  EXPECT_GT(moved, 0);
  // Explanations list the repeated item once.
  for (const RecommendedItem& item : b->items) {
    std::map<int32_t, int> listed;
    for (const Contribution& c : item.explanation.because) ++listed[c.item];
    for (const auto& [i, times] : listed) EXPECT_EQ(times, 1) << i;
  }
}

// A history with no item the model has weights for is retrieved by the
// embeddings, not ranked by index.
TEST_F(ServingItemItemTest, AHistoryTheModelCannotScoreUsesTheEmbeddings) {
  // The model over the first 30 items only.
  Dataset first = tiny_.train;
  first.items = IdMap();
  for (int32_t i = 0; i < 30; ++i) first.items.GetOrAdd(snap().ItemId(i));
  first.ratings.clear();
  for (const Rating& r : tiny_.train.ratings) {
    if (r.item < 30) first.ratings.push_back(r);
  }
  absl::StatusOr<ItemItemModel> partial =
      TrainItemItem(first, item_item_.params);
  ASSERT_TRUE(partial.ok()) << partial.status();
  const std::shared_ptr<const ServingModel> model =
      Publish(tmp_.Path("partial"), *partial);
  ASSERT_NE(model, nullptr);
  RecommendQuery q = Query("visitor", 10);
  for (const int32_t item : {31, 35, 38}) {
    RecentInteraction x;
    x.item_id = snap().ItemId(item);
    x.rating = 4;
    q.recent.push_back(x);
  }
  absl::StatusOr<Recommendation> r = model->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->folded_in);
  EXPECT_NE(r->retrieval_path, RetrievalPath::kItemItem);
  // One item the model knows is enough for it.
  RecentInteraction known;
  known.item_id = snap().ItemId(3);
  q.recent.push_back(known);
  r = model->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->retrieval_path, RetrievalPath::kItemItem);
}

}  // namespace
}  // namespace recserve

namespace recserve {
namespace {

// Reserved cold slots with the item-item model: the cold items are the
// best by the embeddings (the model has no weights for them) and join the
// pool at its score for them, 0.
TEST(ServingItemItemColdTest, ReservedSlotsComeFromTheEmbeddingsAtScoreZero) {
  testutil::TempDir tmp;
  const testutil::ColdServingFixture fixture =
      testutil::MakeColdServingFixture();
  // The model over the warm items, the ones with interactions.
  Dataset warm = fixture.train;
  warm.items = IdMap();
  for (int32_t i = 0; i < fixture.first_cold(); ++i) {
    warm.items.GetOrAdd(fixture.train.items.Id(i));
  }
  absl::StatusOr<ItemItemModel> item_item = TrainItemItem(warm, {.reg = 1.0f});
  ASSERT_TRUE(item_item.ok()) << item_item.status();
  SnapshotContents contents = fixture.Contents();
  contents.item_item = &*item_item;
  absl::StatusOr<std::string> version = PublishSnapshot(tmp.path(), contents);
  ASSERT_TRUE(version.ok()) << version.status();
  absl::StatusOr<std::shared_ptr<const ServingModel>> model =
      LoadServingModel(tmp.Path(*version), {});
  ASSERT_TRUE(model.ok()) << model.status();
  const Snapshot& s = (*model)->snapshot();
  ASSERT_TRUE(s.has_item_item());
  ASSERT_GT(s.num_cold_items(), 2);
  int32_t checked = 0;
  for (const int32_t user : {0, 1, 2, 7}) {
    RecommendQuery q;
    q.user_id = s.UserId(user);
    q.n = 5;
    q.cold_items = 2;
    q.explain = true;
    absl::StatusOr<Recommendation> r = (*model)->Recommend(q, {}, {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->retrieval_path, RetrievalPath::kItemItem);
    // The two cold items the embeddings rank best for this user.
    TopK<> best(2);
    for (int32_t item = s.first_cold_item(); item < s.num_items(); ++item) {
      best.Offer({item, s.user_embeddings().row(user).dot(
                            s.item_embeddings().row(item))});
    }
    std::vector<int32_t> expected;
    for (const ScoredItem& c : best.Take()) expected.push_back(c.item);
    std::vector<int32_t> cold;
    for (const RecommendedItem& item : r->items) {
      if (!item.cold) continue;
      cold.push_back(item.item);
      EXPECT_EQ(item.explanation.retrieval_score, 0.0f);
      EXPECT_TRUE(item.explanation.because.empty() ||
                  item.explanation.because[0].share == 0.0f);
    }
    std::sort(cold.begin(), cold.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(cold, expected) << "user " << user;
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

}  // namespace
}  // namespace recserve
