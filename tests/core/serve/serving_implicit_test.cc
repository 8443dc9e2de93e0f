// ServingModel on an implicit-feedback snapshot (events, no rating model):
// Recommend ranks by the retrieval score alone, filters and exclusions as
// for ratings, PredictRating is FailedPrecondition, and recent interactions
// carry event types checked against the snapshot's. The gRPC view of the
// same is tests/server/implicit_test.cc.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/serve/request_checks.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/implicit_snapshot.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

class ServingImplicitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    fixture_ = new testutil::ImplicitFixture(testutil::MakeImplicitFixture());
    const std::string version =
        testutil::PublishImplicitSnapshot(tmp_->path(), *fixture_);
    ASSERT_FALSE(version.empty());
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(tmp_->Path(version), {});
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new std::shared_ptr<const ServingModel>(*model);
  }
  static void TearDownTestSuite() {
    delete model_;
    delete fixture_;
    delete tmp_;
  }
  void SetUp() override { ASSERT_NE(model_, nullptr); }
  static const ServingModel& model() { return **model_; }
  static const Snapshot& snap() { return model().snapshot(); }

  static testutil::TempDir* tmp_;
  static testutil::ImplicitFixture* fixture_;
  static std::shared_ptr<const ServingModel>* model_;
};

testutil::TempDir* ServingImplicitTest::tmp_ = nullptr;
testutil::ImplicitFixture* ServingImplicitTest::fixture_ = nullptr;
std::shared_ptr<const ServingModel>* ServingImplicitTest::model_ = nullptr;

TEST_F(ServingImplicitTest, RecommendRanksByRetrievalWithFilters) {
  const int32_t user = 5;
  RecommendQuery q;
  q.user_id = snap().UserId(user);
  q.n = 4;
  q.candidates = 40;  // no rerank: ignored
  q.exclude_item_ids = {"i0", "i3"};
  q.filter.include_labels = {"g0"};
  absl::StatusOr<Recommendation> r = model().Recommend(q, {}, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->candidates, 4);
  const absl::Span<const int32_t> seen = snap().SeenItems(user);
  std::vector<std::pair<float, int32_t>> oracle;
  for (int32_t i = 0; i < snap().num_items(); ++i) {
    if (i % 3 != 0 || i == 0 || i == 3 ||
        std::find(seen.begin(), seen.end(), i) != seen.end()) {
      continue;
    }
    oracle.push_back({snap().user_embeddings().row(user).dot(
                          snap().item_embeddings().row(i)),
                      i});
  }
  std::sort(oracle.begin(), oracle.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  ASSERT_EQ(r->items.size(), 4u);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(r->items[k].item, oracle[k].second);
    EXPECT_FLOAT_EQ(r->items[k].score, oracle[k].first);
    EXPECT_EQ(r->items[k].predicted_rating, 0.0f);
  }
}

TEST_F(ServingImplicitTest, PredictRatingIsFailedPrecondition) {
  const absl::StatusOr<RatingPrediction> p = model().PredictRating(
      {.user_id = "u1", .item_id = "i1", .recent = {}}, {}, {});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.status().message(), kPredictsNoRatingsMessage);
}

TEST_F(ServingImplicitTest, RecentEventsAreChecked) {
  const RecentRules rules = RecentRules::Of(snap());
  EXPECT_EQ(rules.feedback, Feedback::kImplicit);
  const ServingLimits limits;
  EXPECT_TRUE(
      CheckRecent(
          {{.item_id = "i1", .rating = 0, .weight = 0, .event = "view"},
           {.item_id = "i2", .rating = 0, .weight = 3, .event = "dislike"},
           {.item_id = "i3", .rating = 0, .weight = 0, .event = ""}},
          rules, limits)
          .ok());
  absl::Status s = CheckRecent(
      {{.item_id = "i1", .rating = 0, .weight = 0, .event = ""},
       {.item_id = "i2", .rating = 0, .weight = 0, .event = "like"}},
      rules, limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("recent[1].event \"like\""));
  EXPECT_THAT(s.message(),
              HasSubstr("cart, dislike (negative), purchase, view"));
  s = CheckRecent({{.item_id = "i1", .rating = 4, .weight = 0, .event = ""}},
                  rules, limits);
  EXPECT_THAT(s.message(), HasSubstr("recent[0].rating"));
  s = CheckRecent({{.item_id = "i1",
                    .rating = 0,
                    .weight = 0,
                    .event = std::string(257, 'x')}},
                  rules, limits);
  EXPECT_THAT(s.message(), HasSubstr("recent[0].event is 257 bytes"));
  // Explicit rules refuse any event.
  s = CheckRecent(
      {{.item_id = "i1", .rating = 4, .weight = 0, .event = "view"}},
      RatingScale{1, 5, 1}, limits);
  EXPECT_THAT(s.message(), HasSubstr("learned from ratings"));
}

TEST_F(ServingImplicitTest, ANegativeRecentEventRemovesAndDemotes) {
  // A stranger who bought items 2 and 5 and dislikes item 8: item 8 is never
  // returned, and it scores lower than without the dislike.
  RecommendQuery q;
  q.user_id = "stranger";
  q.n = snap().num_items();
  q.explain = true;
  q.recent = {{.item_id = "i2", .rating = 0, .weight = 0, .event = "purchase"},
              {.item_id = "i5", .rating = 0, .weight = 0, .event = "purchase"}};
  absl::StatusOr<Recommendation> liked = model().Recommend(q, {}, {});
  ASSERT_TRUE(liked.ok()) << liked.status();
  q.recent.push_back(
      {.item_id = "i8", .rating = 0, .weight = 0, .event = "dislike"});
  absl::StatusOr<Recommendation> disliked = model().Recommend(q, {}, {});
  ASSERT_TRUE(disliked.ok()) << disliked.status();
  EXPECT_TRUE(disliked->folded_in);
  float before = 0;
  for (const RecommendedItem& item : liked->items) {
    if (item.item == 8) before = item.score;
  }
  for (const RecommendedItem& item : disliked->items) {
    EXPECT_NE(item.item, 8);
    EXPECT_EQ(item.explanation.global_mean, 0.0f);
    EXPECT_FLOAT_EQ(item.explanation.retrieval_score, item.score);
  }
  // Its score after the dislike, from the explanation of an include_seen
  // request.
  q.include_seen = true;
  absl::StatusOr<Recommendation> all = model().Recommend(q, {}, {});
  ASSERT_TRUE(all.ok());
  bool found = false;
  for (const RecommendedItem& item : all->items) {
    if (item.item != 8) continue;
    found = true;
    EXPECT_LT(item.score, before);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace recserve
