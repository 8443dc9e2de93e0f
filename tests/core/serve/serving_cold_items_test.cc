// Cold items in ServingModel: results mark them, Recommend's cold_items
// reserves slots for the best-scoring ones (filters and exclusions apply to
// them like to any item; popularity fallbacks take the newest), SimilarItems
// of a cold seed finds its content neighbours, PredictRating uses a cold
// item's mapped factors. The fixture (tests/testutil/cold_snapshot.h) puts a
// cold item exactly on its genre's direction. The oracles rank the
// snapshot's own vectors by brute force. The gRPC view is
// tests/server/cold_items_test.cc.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/model/two_stage_ranker.h"
#include "core/serve/cold_slots.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/cold_snapshot.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Ranked {
  int32_t item = 0;
  float score = 0.0f;
};

std::vector<int32_t> Items(const std::vector<Ranked>& ranked) {
  std::vector<int32_t> out;
  for (const Ranked& r : ranked) out.push_back(r.item);
  return out;
}

RecommendQuery Query(const std::string& user, int32_t n, int32_t cold_items) {
  RecommendQuery q;
  q.user_id = user;
  q.n = n;
  q.cold_items = cold_items;
  return q;
}

SimilarItemsQuery Similar(const std::string& item, int32_t k) {
  SimilarItemsQuery q;
  q.item_ids = {item};
  q.k = k;
  return q;
}

PredictQuery Predict(const std::string& user, const std::string& item) {
  PredictQuery q;
  q.user_id = user;
  q.item_id = item;
  return q;
}

// Items >= 100 are cold.
bool Cold(int32_t item) { return item >= 100; }

std::vector<Ranked> RankedOf(const std::vector<int32_t>& items) {
  std::vector<Ranked> out;
  float score = 1.0f;
  for (const int32_t item : items) out.push_back({item, score -= 0.01f});
  return out;
}

TEST(SelectWithColdSlotsTest, NoReservationKeepsTheFirstN) {
  const auto ranked = RankedOf({1, 100, 2, 3});
  EXPECT_THAT(Items(SelectWithColdSlots(ranked, 3, 0, Cold)),
              ElementsAre(1, 100, 2));
}

TEST(SelectWithColdSlotsTest, ReservesTheBestColdItemsInOrder) {
  const auto ranked = RankedOf({1, 2, 3, 100, 4, 101, 102});
  EXPECT_THAT(Items(SelectWithColdSlots(ranked, 4, 2, Cold)),
              ElementsAre(1, 2, 100, 101));
}

TEST(SelectWithColdSlotsTest, ColdItemsPastTheReservationCompete) {
  const auto ranked = RankedOf({100, 101, 1, 102, 2});
  // One reserved (100); 101 then wins a slot of its own.
  EXPECT_THAT(Items(SelectWithColdSlots(ranked, 3, 1, Cold)),
              ElementsAre(100, 101, 1));
}

TEST(SelectWithColdSlotsTest, FewerColdItemsThanReserved) {
  const auto ranked = RankedOf({1, 2, 3, 4, 100});
  EXPECT_THAT(Items(SelectWithColdSlots(ranked, 3, 3, Cold)),
              ElementsAre(1, 2, 100));
}

TEST(SelectWithColdSlotsTest, ShortRankingAndAllCold) {
  EXPECT_THAT(Items(SelectWithColdSlots(RankedOf({100, 1}), 5, 5, Cold)),
              ElementsAre(100, 1));
  EXPECT_THAT(Items(SelectWithColdSlots(RankedOf({100, 101, 102}), 2, 2, Cold)),
              ElementsAre(100, 101));
  EXPECT_TRUE(SelectWithColdSlots(std::vector<Ranked>{}, 2, 1, Cold).empty());
}

class ServingColdItemsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    explicit_ =
        new testutil::ColdServingFixture(testutil::MakeColdServingFixture());
    implicit_fixture_ = new testutil::ColdServingFixture(
        testutil::MakeColdServingFixture({.implicit = true}));
    for (const auto& [fixture, model, name] :
         {std::tuple{explicit_, &model_, "explicit"},
          std::tuple{implicit_fixture_, &implicit_model_, "implicit"}}) {
      const std::string root = tmp_->Path(name);
      const std::string version =
          testutil::PublishColdServingSnapshot(root, *fixture);
      ASSERT_FALSE(version.empty());
      absl::StatusOr<std::shared_ptr<const ServingModel>> loaded =
          LoadServingModel(absl::StrCat(root, "/", version), {});
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      *model = new std::shared_ptr<const ServingModel>(*loaded);
    }
  }
  static void TearDownTestSuite() {
    delete model_;
    delete implicit_model_;
    delete explicit_;
    delete implicit_fixture_;
    delete tmp_;
  }
  void SetUp() override {
    ASSERT_NE(model_, nullptr);
    ASSERT_NE(implicit_model_, nullptr);
  }
  static const ServingModel& model() { return **model_; }
  static const Snapshot& snap() { return model().snapshot(); }
  static const testutil::ColdServingFixture& fixture() { return *explicit_; }

  static int32_t CountCold(const Recommendation& r) {
    int32_t cold = 0;
    for (const RecommendedItem& item : r.items) {
      EXPECT_EQ(item.cold, item.item >= fixture().first_cold()) << item.item;
      cold += item.cold ? 1 : 0;
    }
    EXPECT_EQ(r.cold_returned, cold);
    return cold;
  }

  // The oracle of an exact Recommend of a known user without filter:
  // the `candidates` best unseen items by retrieval score plus the best
  // `m` unseen cold ones, reranked (TwoStageBlend), the best m cold and
  // n - m others.
  static std::vector<int32_t> ExpectedExplicit(int32_t user, int32_t n,
                                               int32_t m) {
    const Snapshot& s = snap();
    const absl::Span<const int32_t> seen = s.SeenItems(user);
    std::vector<ScoredItem> all;
    for (int32_t i = 0; i < s.num_items(); ++i) {
      if (std::find(seen.begin(), seen.end(), i) != seen.end()) continue;
      all.push_back(
          {i, s.user_embeddings().row(user).dot(s.item_embeddings().row(i))});
    }
    std::sort(all.begin(), all.end(), RankingOrder());
    std::vector<ScoredItem> pool(
        all.begin(),
        all.begin() + std::min<size_t>(all.size(), s.ranking().candidates));
    const size_t retrieved = pool.size();
    int32_t cold_added = 0;
    for (const ScoredItem& c : all) {
      if (cold_added == m) break;
      if (!s.IsColdItem(c.item)) continue;
      ++cold_added;
      if (std::none_of(pool.begin(), pool.end(),
                       [&](const ScoredItem& p) { return p.item == c.item; })) {
        pool.push_back(c);
      }
    }
    const TwoStageRanker ranker(s.rating_scale(), s.ranking().blend_weight);
    const std::vector<RankedItem> ranked = ranker.Rank(
        pool, [&](int32_t item) { return s.Score(user, item); },
        static_cast<int32_t>(pool.size()), retrieved);
    std::vector<int32_t> out;
    for (const RankedItem& r : SelectWithColdSlots(
             ranked, n, m, [&](int32_t i) { return s.IsColdItem(i); })) {
      out.push_back(r.item);
    }
    return out;
  }

  static testutil::TempDir* tmp_;
  static testutil::ColdServingFixture* explicit_;
  static testutil::ColdServingFixture* implicit_fixture_;
  static std::shared_ptr<const ServingModel>* model_;
  static std::shared_ptr<const ServingModel>* implicit_model_;
};

testutil::TempDir* ServingColdItemsTest::tmp_ = nullptr;
testutil::ColdServingFixture* ServingColdItemsTest::explicit_ = nullptr;
testutil::ColdServingFixture* ServingColdItemsTest::implicit_fixture_ = nullptr;
std::shared_ptr<const ServingModel>* ServingColdItemsTest::model_ = nullptr;
std::shared_ptr<const ServingModel>* ServingColdItemsTest::implicit_model_ =
    nullptr;

TEST_F(ServingColdItemsTest, SnapshotHoldsTheColdTail) {
  EXPECT_EQ(snap().num_cold_items(), 9);
  EXPECT_EQ(snap().first_cold_item(), 42);
  EXPECT_EQ(snap().item_popularity()[45], 0);
}

TEST_F(ServingColdItemsTest, EveryItemMarkedWhenAllAreReturned) {
  RecommendQuery q;
  q.user_id = "u1";
  q.n = snap().num_items();
  q.include_seen = true;
  q.candidates = snap().num_items();
  absl::StatusOr<Recommendation> r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(static_cast<int32_t>(r->items.size()), snap().num_items());
  EXPECT_EQ(CountCold(*r), 9);
}

TEST_F(ServingColdItemsTest, ReservedSlotsMatchTheOracle) {
  // Cases where the reservation changes the answer: it must, or the test
  // would prove nothing.
  int32_t changed = 0;
  for (const int32_t user : {0, 1, 2, 7, 13}) {
    changed += ExpectedExplicit(user, 5, 2) != ExpectedExplicit(user, 5, 0);
    for (const int32_t m : {0, 1, 2, 5}) {
      RecommendQuery q;
      q.user_id = snap().UserId(user);
      q.n = 5;
      q.cold_items = m;
      q.exact = true;
      absl::StatusOr<Recommendation> r = model().Recommend(q, {}, {});
      ASSERT_TRUE(r.ok()) << r.status();
      std::vector<int32_t> got;
      for (const RecommendedItem& item : r->items) got.push_back(item.item);
      EXPECT_EQ(got, ExpectedExplicit(user, q.n, m))
          << "user " << user << " cold_items " << m;
      EXPECT_GE(CountCold(*r), m);
      for (size_t i = 1; i < r->items.size(); ++i) {
        EXPECT_GE(r->items[i - 1].score, r->items[i].score);
      }
    }
  }
  EXPECT_GE(changed, 3);
}

TEST_F(ServingColdItemsTest, ReservingLeavesTheOtherItemsOrderAndScores) {
  for (const int32_t user : {0, 1, 2, 7, 13}) {
    RecommendQuery q;
    q.user_id = snap().UserId(user);
    q.n = 8;
    q.candidates = 8;  // a pool without most cold items: they are added
    q.exact = true;
    absl::StatusOr<Recommendation> unreserved = model().Recommend(q, {}, {});
    q.cold_items = 3;
    absl::StatusOr<Recommendation> reserved = model().Recommend(q, {}, {});
    ASSERT_TRUE(unreserved.ok() && reserved.ok());
    // The warm items of the reserved answer are the first warm items of
    // the unreserved one, in the same order, with the same scores.
    std::vector<std::pair<int32_t, float>> warm_before, warm_after;
    for (const RecommendedItem& r : unreserved->items) {
      if (!r.cold) warm_before.emplace_back(r.item, r.score);
    }
    for (const RecommendedItem& r : reserved->items) {
      if (!r.cold) warm_after.emplace_back(r.item, r.score);
    }
    ASSERT_LE(warm_after.size(), warm_before.size());
    warm_before.resize(warm_after.size());
    EXPECT_EQ(warm_after, warm_before) << "user " << user;
  }
}

TEST_F(ServingColdItemsTest, ReservationThroughTheApproximatePathsToo) {
  RecommendQuery q;
  q.user_id = "u4";
  q.n = 4;
  q.cold_items = 3;
  absl::StatusOr<Recommendation> r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->items.size(), 4u);
  EXPECT_GE(CountCold(*r), 3);
}

TEST_F(ServingColdItemsTest, FiltersAndExclusionsApplyToColdItems) {
  // Alpha is genre 0: cold items 42, 45 and 48 only.
  RecommendQuery q;
  q.user_id = "u2";
  q.n = 6;
  q.cold_items = 5;
  q.filter.include_labels = {"Alpha"};
  absl::StatusOr<Recommendation> r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->items.size(), 6u);
  EXPECT_EQ(CountCold(*r), 3);
  for (const RecommendedItem& item : r->items) {
    EXPECT_EQ(item.item % 3, 0) << item.item;
  }
  q.exclude_item_ids = {"c45"};
  r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(CountCold(*r), 2);
  for (const RecommendedItem& item : r->items) EXPECT_NE(item.item, 45);
  // An allow-list.
  q = Query("u2", 3, 2);
  q.filter.item_ids = {"i3", "i4", "c43", "c50", "i6"};
  r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  std::set<int32_t> cold;
  for (const RecommendedItem& item : r->items) {
    if (item.cold) cold.insert(item.item);
  }
  EXPECT_EQ(cold, (std::set<int32_t>{43, 50}));
}

TEST_F(ServingColdItemsTest, ColdItemsOutsideZeroToNAreInvalid) {
  for (const int32_t m : {-1, 4}) {
    RecommendQuery q = Query("u1", 3, m);
    absl::StatusOr<Recommendation> r = model().Recommend(q, {}, {});
    ASSERT_FALSE(r.ok()) << m;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("cold_items"));
  }
}

TEST_F(ServingColdItemsTest, FallbackReservesTheNewestColdItems) {
  RecommendQuery q = Query("stranger", 5, 2);
  absl::StatusOr<Recommendation> r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->fallback);
  ASSERT_EQ(r->items.size(), 5u);
  EXPECT_EQ(CountCold(*r), 2);
  EXPECT_EQ(r->items[3].item, 50);
  EXPECT_EQ(r->items[4].item, 49);
  EXPECT_EQ(r->items[4].score, 0.0f);
  for (int i = 0; i < 3; ++i) EXPECT_GT(r->items[i].score, 0.0f);
  // Filtered: the newest Alpha ones.
  q.filter.include_labels = {"Alpha"};
  r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->items.size(), 5u);
  EXPECT_EQ(r->items[3].item, 48);
  EXPECT_EQ(r->items[4].item, 45);
  // Without a reservation no cold item shows (there are enough popular
  // ones).
  q = Query("stranger", 5, 0);
  r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(CountCold(*r), 0);
}

TEST_F(ServingColdItemsTest, ImplicitReservationRanksByRetrieval) {
  const ServingModel& implicit = **implicit_model_;
  const Snapshot& s = implicit.snapshot();
  ASSERT_FALSE(s.has_rating_model());
  ASSERT_EQ(s.num_cold_items(), 9);
  const int32_t user = 1;
  RecommendQuery q = Query("u1", 4, 2);
  q.exact = true;
  absl::StatusOr<Recommendation> r = implicit.Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  // Oracle: all unseen items by retrieval score, two cold slots.
  const absl::Span<const int32_t> seen = s.SeenItems(user);
  std::vector<ScoredItem> all;
  for (int32_t i = 0; i < s.num_items(); ++i) {
    if (std::find(seen.begin(), seen.end(), i) != seen.end()) continue;
    all.push_back(
        {i, s.user_embeddings().row(user).dot(s.item_embeddings().row(i))});
  }
  std::sort(all.begin(), all.end(), RankingOrder());
  const std::vector<ScoredItem> expected = SelectWithColdSlots(
      all, 4, 2, [&](int32_t i) { return s.IsColdItem(i); });
  ASSERT_EQ(r->items.size(), expected.size());
  int32_t cold = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r->items[i].item, expected[i].item) << i;
    EXPECT_FLOAT_EQ(r->items[i].score, expected[i].score) << i;
    EXPECT_EQ(r->items[i].cold, s.IsColdItem(r->items[i].item));
    cold += r->items[i].cold ? 1 : 0;
  }
  EXPECT_GE(cold, 2);
}

TEST_F(ServingColdItemsTest, SimilarItemsOfAColdSeedShareItsGenre) {
  // c42 is Alpha; the other Alpha cold items have the very same embedding.
  SimilarItemsQuery q = Similar("c42", 6);
  absl::StatusOr<SimilarItemsResult> r = model().SimilarItems(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->items.size(), 6u);
  for (const SimilarItem& item : r->items) {
    EXPECT_EQ(item.item % 3, 0) << item.item;
    EXPECT_EQ(item.cold, item.item >= 42) << item.item;
    EXPECT_NE(item.item, 42);
  }
  EXPECT_EQ(r->items[0].item, 45);
  EXPECT_EQ(r->items[1].item, 48);
  EXPECT_NEAR(r->items[0].similarity, 1.0f, 1e-5);
  EXPECT_TRUE(r->items[0].cold);
  // A warm seed's neighbours may be cold, and are marked.
  q = Similar("i4", 8);
  r = model().SimilarItems(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  int32_t cold = 0;
  for (const SimilarItem& item : r->items) {
    EXPECT_EQ(item.item % 3, 1) << item.item;
    EXPECT_EQ(item.cold, item.item >= 42);
    cold += item.cold ? 1 : 0;
  }
  EXPECT_GT(cold, 0);
}

TEST_F(ServingColdItemsTest, PredictRatingUsesTheMappedFactors) {
  const MfModel& m = *fixture().model;
  for (const int32_t item : {42, 47, 50}) {
    PredictQuery q = Predict("u3", snap().ItemId(item));
    absl::StatusOr<RatingPrediction> p = model().PredictRating(q, {}, {});
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_TRUE(p->item_known);
    EXPECT_TRUE(p->item_cold);
    EXPECT_NEAR(p->rating, m.scale.Clamp(m.Score(3, item)), 1e-5);
  }
  PredictQuery q = Predict("u3", "i5");
  absl::StatusOr<RatingPrediction> p = model().PredictRating(q, {}, {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->item_known);
  EXPECT_FALSE(p->item_cold);
}

}  // namespace
}  // namespace recserve
