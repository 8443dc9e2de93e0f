#include "server/proto_conversion.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve::server {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

TEST(FromProtoTest, CopiesEveryField) {
  v1::RecommendRequest request;
  request.set_user_id("u\xc3\xa9 7");
  request.set_n(12);
  request.add_exclude_item_ids("i3");
  request.add_exclude_item_ids("");
  request.add_exclude_item_ids("i3");
  request.set_include_seen(true);
  request.set_exact(true);
  request.set_candidates(300);
  request.set_ef(77);
  v1::Interaction* recent = request.add_recent();
  recent->set_item_id("i5");
  recent->set_rating(4.5);
  recent->set_weight(2);
  request.add_recent()->set_item_id("i6");
  request.add_recent()->set_event("purchase");
  request.mutable_filter()->add_include_labels("Comedy");
  request.mutable_filter()->add_exclude_labels("Horror");
  request.mutable_filter()->add_exclude_labels("War");
  request.mutable_filter()->add_item_ids("i9");
  request.set_explain(true);
  request.set_cold_items(4);
  const RecommendQuery q = FromProto(request);
  EXPECT_EQ(q.user_id, "u\xc3\xa9 7");
  EXPECT_EQ(q.n, 12);
  EXPECT_THAT(q.exclude_item_ids, ElementsAre("i3", "", "i3"));
  EXPECT_TRUE(q.include_seen);
  EXPECT_TRUE(q.exact);
  EXPECT_EQ(q.candidates, 300);
  EXPECT_EQ(q.ef, 77);
  ASSERT_EQ(q.recent.size(), 3u);
  EXPECT_EQ(q.recent[2].event, "purchase");
  EXPECT_EQ(q.recent[0].event, "");
  EXPECT_EQ(q.recent[0].item_id, "i5");
  EXPECT_EQ(q.recent[0].rating, 4.5);
  EXPECT_EQ(q.recent[0].weight, 2);
  EXPECT_EQ(q.recent[1].item_id, "i6");
  EXPECT_EQ(q.recent[1].rating, 0) << "unrated";
  EXPECT_EQ(q.recent[1].weight, 0) << "0 = 1, core's to read";
  EXPECT_THAT(q.filter.include_labels, ElementsAre("Comedy"));
  EXPECT_THAT(q.filter.exclude_labels, ElementsAre("Horror", "War"));
  EXPECT_THAT(q.filter.item_ids, ElementsAre("i9"));
  EXPECT_TRUE(q.explain);
  EXPECT_EQ(q.cold_items, 4);
}

TEST(FromProtoTest, SimilarItemsSeedsAreItemIdThenItemIds) {
  v1::SimilarItemsRequest request;
  request.set_item_id("i1");
  request.add_item_ids("i2");
  request.add_item_ids("i1");
  request.set_k(4);
  request.mutable_filter()->add_include_labels("Drama");
  SimilarItemsQuery q = FromProto(request);
  EXPECT_THAT(q.item_ids, ElementsAre("i1", "i2", "i1"));
  EXPECT_EQ(q.k, 4);
  EXPECT_THAT(q.filter.include_labels, ElementsAre("Drama"));
  // Without item_id: item_ids alone; with neither: no seeds (core's error).
  request.clear_item_id();
  EXPECT_THAT(FromProto(request).item_ids, ElementsAre("i2", "i1"));
  request.clear_item_ids();
  EXPECT_THAT(FromProto(request).item_ids, IsEmpty());
  EXPECT_TRUE(FromProto(v1::SimilarItemsRequest()).filter.empty());
}

TEST(FromProtoTest, PredictRatingCopiesRecent) {
  v1::PredictRatingRequest request;
  request.set_user_id("u1");
  request.set_item_id("i2");
  request.add_recent()->set_item_id("i3");
  request.mutable_recent(0)->set_rating(5);
  const PredictQuery q = FromProto(request);
  EXPECT_EQ(q.user_id, "u1");
  EXPECT_EQ(q.item_id, "i2");
  ASSERT_EQ(q.recent.size(), 1u);
  EXPECT_EQ(q.recent[0].item_id, "i3");
  EXPECT_EQ(q.recent[0].rating, 5);
}

TEST(FromProtoTest, UnsetFieldsGiveTheQueryDefaults) {
  const RecommendQuery q = FromProto(v1::RecommendRequest());
  const RecommendQuery defaults;
  EXPECT_EQ(q.user_id, "");
  EXPECT_EQ(q.n, defaults.n);
  EXPECT_THAT(q.exclude_item_ids, IsEmpty());
  EXPECT_EQ(q.include_seen, defaults.include_seen);
  EXPECT_EQ(q.exact, defaults.exact);
  EXPECT_EQ(q.candidates, 0) << "0 = the snapshot's";
  EXPECT_EQ(q.ef, 0) << "0 = the server's";
  EXPECT_THAT(q.recent, IsEmpty());
  EXPECT_TRUE(q.filter.empty());
  EXPECT_FALSE(q.explain);
  EXPECT_EQ(q.cold_items, 0) << "no reserved slots";
}

// A published tiny snapshot with titles on even items, metrics and
// retrieval embeddings, loaded as a ServingModel.
class ToProtoTest : public ::testing::Test {
 protected:
  static constexpr int32_t kUsers = 30, kItems = 50, kFactors = 4,
                           kRetrievalFactors = 6;

  void SetUp() override {
    tiny_ = testutil::MakeTinyModel(kUsers, kItems, kFactors, 4);
    const RetrievalModel retrieval =
        testutil::MakeTinyRetrieval(kUsers, kItems, kRetrievalFactors);
    SnapshotContents contents;
    contents.train = &tiny_.train;
    contents.model = &tiny_.model;
    contents.items = &tiny_.catalog;
    contents.algo = "sgd";
    contents.metrics = {{"rmse", 0.91},
                        {"test", {{"mae", 0.72}, {"skipped", nullptr}}},
                        {"topn", {{"at10", {{"recall", 0.25}}}}}};
    contents.retrieval = &retrieval;
    contents.ranking = {.candidates = 17, .blend_weight = 0.25f};
    absl::StatusOr<std::string> version =
        PublishSnapshot(tmp_.path(), contents);
    ASSERT_TRUE(version.ok()) << version.status();
    version_dir_ = tmp_.Path(*version);
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(version_dir_, {});
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
  }

  const std::string& Version() const { return model_->snapshot().version(); }
  // The snapshot's title of `item` (the writer turns tabs and newlines of
  // the catalog's titles into spaces).
  const std::string& Title(int32_t item) const {
    const std::string* title = model_->snapshot().ItemTitle(item);
    EXPECT_NE(title, nullptr) << item;
    static const std::string kNone;
    return title == nullptr ? kNone : *title;
  }

  testutil::TempDir tmp_;
  testutil::TinyModel tiny_;
  std::string version_dir_;
  std::shared_ptr<const ServingModel> model_;
};

TEST_F(ToProtoTest, RecommendationFillsEveryField) {
  Recommendation rec;
  rec.items = {
      {.item = 2, .score = 0.75f, .predicted_rating = 4.5f, .explanation = {}},
      {.item = 3, .score = -0.5f, .predicted_rating = 1.0f, .explanation = {}}};
  rec.fallback = true;
  rec.candidates = 17;
  rec.ef = 33;
  v1::RecommendResponse response;
  ToProto(*model_, rec, &response);
  EXPECT_EQ(response.model_version(), Version());
  EXPECT_FALSE(response.model_version().empty());
  EXPECT_TRUE(response.fallback());
  EXPECT_EQ(response.candidates(), 17);
  EXPECT_EQ(response.ef(), 33);
  ASSERT_EQ(response.items_size(), 2);
  const v1::ScoredItem& titled = response.items(0);
  EXPECT_EQ(titled.item_id(), "i2");
  EXPECT_DOUBLE_EQ(titled.score(), 0.75);
  EXPECT_DOUBLE_EQ(titled.predicted_rating(), 4.5);
  EXPECT_EQ(titled.title(), Title(2));
  EXPECT_THAT(titled.title(), StartsWith("Am\xc3\xa9lie 2 "));
  EXPECT_THAT(titled.genres(), ElementsAre("Comedy", "Romance"));
  // Odd items have no catalog entry: no title, no genres.
  const v1::ScoredItem& untitled = response.items(1);
  EXPECT_EQ(untitled.item_id(), "i3");
  EXPECT_DOUBLE_EQ(untitled.score(), -0.5);
  EXPECT_DOUBLE_EQ(untitled.predicted_rating(), 1.0);
  EXPECT_EQ(untitled.title(), "");
  EXPECT_THAT(untitled.genres(), IsEmpty());
  EXPECT_THAT(untitled.labels(), IsEmpty());
  // Genres are labels; nothing was asked to be explained.
  EXPECT_THAT(titled.labels(), ElementsAre("Comedy", "Romance"));
  EXPECT_FALSE(titled.has_explanation());
  EXPECT_FALSE(response.folded_in());
  EXPECT_EQ(response.recent_unknown(), 0);
}

TEST_F(ToProtoTest, ExplanationsNameTheContributingItems) {
  Recommendation rec;
  rec.folded_in = true;
  rec.recent_unknown = 3;
  rec.explained = true;
  RecommendedItem item;
  item.item = 5;
  item.score = 0.5f;
  item.predicted_rating = 4.0f;
  item.explanation = {
      .global_mean = 3.25f,
      .user_bias = 0.5f,
      .item_bias = -0.25f,
      .interaction = 0.75f,
      .retrieval_score = 1.5f,
      .blend_weight = 0.25f,
      .because = {{.item = 2, .share = 1.0f}, {.item = 3, .share = 0.5f}}};
  rec.items = {item};
  v1::RecommendResponse response;
  ToProto(*model_, rec, &response);
  EXPECT_TRUE(response.folded_in());
  EXPECT_EQ(response.recent_unknown(), 3);
  ASSERT_EQ(response.items_size(), 1);
  ASSERT_TRUE(response.items(0).has_explanation());
  const v1::Explanation& e = response.items(0).explanation();
  EXPECT_DOUBLE_EQ(e.global_mean(), 3.25);
  EXPECT_DOUBLE_EQ(e.user_bias(), 0.5);
  EXPECT_DOUBLE_EQ(e.item_bias(), -0.25);
  EXPECT_DOUBLE_EQ(e.interaction(), 0.75);
  EXPECT_DOUBLE_EQ(e.retrieval_score(), 1.5);
  EXPECT_DOUBLE_EQ(e.blend_weight(), 0.25);
  ASSERT_EQ(e.because_size(), 2);
  EXPECT_EQ(e.because(0).item_id(), "i2");
  EXPECT_EQ(e.because(0).title(), Title(2));
  EXPECT_DOUBLE_EQ(e.because(0).share(), 1.0);
  EXPECT_EQ(e.because(1).item_id(), "i3");
  EXPECT_EQ(e.because(1).title(), "") << "odd items have no title";
  EXPECT_DOUBLE_EQ(e.because(1).share(), 0.5);
}

TEST_F(ToProtoTest, EmptyRecommendationStillNamesTheVersion) {
  v1::RecommendResponse response;
  ToProto(*model_, Recommendation(), &response);
  EXPECT_EQ(response.model_version(), Version());
  EXPECT_EQ(response.items_size(), 0);
  EXPECT_FALSE(response.fallback());
  EXPECT_EQ(response.candidates(), 0);
  EXPECT_EQ(response.ef(), 0);
}

TEST_F(ToProtoTest, SimilarItemsCarryIdsSimilarityAndMetadata) {
  SimilarItemsResult result;
  result.items = {{.item = 4, .similarity = 0.5f},
                  {.item = 7, .similarity = -0.25f}};
  v1::SimilarItemsResponse response;
  ToProto(*model_, result, &response);
  EXPECT_EQ(response.model_version(), Version());
  ASSERT_EQ(response.items_size(), 2);
  EXPECT_EQ(response.items(0).item_id(), "i4");
  EXPECT_DOUBLE_EQ(response.items(0).score(), 0.5);
  EXPECT_EQ(response.items(0).title(), Title(4));
  EXPECT_THAT(response.items(0).title(), StartsWith("Am\xc3\xa9lie 4 "));
  EXPECT_THAT(response.items(0).genres(), ElementsAre("Comedy", "Romance"));
  EXPECT_THAT(response.items(0).labels(), ElementsAre("Comedy", "Romance"));
  EXPECT_EQ(response.items(1).item_id(), "i7");
  EXPECT_DOUBLE_EQ(response.items(1).score(), -0.25);
  EXPECT_EQ(response.items(1).title(), "");
  EXPECT_DOUBLE_EQ(response.items(1).predicted_rating(), 0.0)
      << "similar items have no rating prediction";
}

TEST_F(ToProtoTest, ColdMarksAreCopied) {
  Recommendation rec;
  rec.items = {{.item = 2, .cold = true, .explanation = {}},
               {.item = 3, .cold = false, .explanation = {}}};
  v1::RecommendResponse response;
  ToProto(*model_, rec, &response);
  ASSERT_EQ(response.items_size(), 2);
  EXPECT_TRUE(response.items(0).cold());
  EXPECT_FALSE(response.items(1).cold());
  SimilarItemsResult similar;
  similar.items = {{.item = 4, .similarity = 0.5f, .cold = true}};
  v1::SimilarItemsResponse similar_response;
  ToProto(*model_, similar, &similar_response);
  EXPECT_TRUE(similar_response.items(0).cold());
  RatingPrediction prediction{.rating = 3.0f,
                              .user_known = true,
                              .item_known = true,
                              .item_cold = true};
  v1::PredictRatingResponse predicted;
  ToProto(*model_, prediction, &predicted);
  EXPECT_TRUE(predicted.item_cold());
  EXPECT_TRUE(predicted.item_known());
  EXPECT_FALSE(predicted.fallback()) << "a cold item is known";
  v1::ModelInfo info;
  ToProto(*model_, 0, &info);
  EXPECT_EQ(info.cold_items(), 0) << "the tiny snapshot has none";
}

TEST_F(ToProtoTest, PredictionIsAFallbackWhenEitherSideIsUnknown) {
  struct Case {
    bool user_known, item_known, fallback;
  };
  for (const Case c : {Case{true, true, false}, Case{false, true, true},
                       Case{true, false, true}, Case{false, false, true}}) {
    v1::PredictRatingResponse response;
    ToProto(*model_, RatingPrediction{3.5f, c.user_known, c.item_known},
            &response);
    EXPECT_EQ(response.model_version(), Version());
    EXPECT_DOUBLE_EQ(response.rating(), 3.5);
    EXPECT_EQ(response.user_known(), c.user_known);
    EXPECT_EQ(response.item_known(), c.item_known);
    EXPECT_EQ(response.fallback(), c.fallback)
        << "user_known=" << c.user_known << " item_known=" << c.item_known;
    EXPECT_FALSE(response.folded_in());
  }
  // A folded-in unknown user is no fallback; an unknown item still is.
  RatingPrediction folded{
      .rating = 4.0f, .item_known = true, .folded_in = true};
  v1::PredictRatingResponse response;
  ToProto(*model_, folded, &response);
  EXPECT_TRUE(response.folded_in());
  EXPECT_FALSE(response.user_known());
  EXPECT_FALSE(response.fallback());
  folded.item_known = false;
  ToProto(*model_, folded, &response);
  EXPECT_TRUE(response.fallback());
}

TEST_F(ToProtoTest, ModelInfoDescribesTheSnapshotAndIndexes) {
  v1::ModelInfo info;
  ToProto(*model_, 123, &info);
  const SnapshotManifest& manifest = model_->snapshot().manifest();
  EXPECT_EQ(info.model_version(), Version());
  EXPECT_EQ(info.created_at(), manifest.created_at);
  EXPECT_FALSE(info.created_at().empty());
  EXPECT_EQ(info.algo(), "sgd");
  EXPECT_EQ(info.num_users(), kUsers);
  EXPECT_EQ(info.num_items(), kItems);
  EXPECT_EQ(info.num_ratings(),
            static_cast<int64_t>(tiny_.train.ratings.size()));
  EXPECT_EQ(info.factors(), kFactors);
  EXPECT_EQ(info.retrieval_factors(), kRetrievalFactors);
  EXPECT_DOUBLE_EQ(info.global_mean(), 3.25);
  EXPECT_DOUBLE_EQ(info.rating_min(), 1.0);
  EXPECT_DOUBLE_EQ(info.rating_max(), 5.0);
  EXPECT_EQ(info.candidates(), 17);
  EXPECT_DOUBLE_EQ(info.blend_weight(), 0.25);
  // Nested metrics flatten to "a/b" keys; nulls are left out.
  EXPECT_THAT(info.metrics(),
              UnorderedElementsAre(Pair("rmse", 0.91), Pair("test/mae", 0.72),
                                   Pair("topn/at10/recall", 0.25)));
  const ItemIndexOptions index_defaults;
  for (const v1::IndexInfo* index :
       {&info.retrieval_index(), &info.similarity_index()}) {
    EXPECT_EQ(index->dimensions(), kRetrievalFactors);
    EXPECT_EQ(index->items(), kItems);
    EXPECT_EQ(index->m(), index_defaults.m);
    EXPECT_EQ(index->ef_construction(), index_defaults.ef_construction);
    EXPECT_EQ(index->ef(), 123);
  }
  EXPECT_EQ(info.retrieval_index().space(), "ip");
  EXPECT_EQ(info.similarity_index().space(), "cosine");
  absl::StatusOr<std::string> checksum = SnapshotChecksum(version_dir_);
  ASSERT_TRUE(checksum.ok()) << checksum.status();
  EXPECT_EQ(info.checksum(), *checksum);
  const Snapshot& s = model_->snapshot();
  ASSERT_EQ(info.labels_size(), s.num_labels());
  for (int l = 0; l < info.labels_size(); ++l) {
    EXPECT_EQ(info.labels(l), s.LabelName(l));
  }
  EXPECT_THAT(info.labels(), ::testing::IsSupersetOf({"Comedy", "Romance"}));
  EXPECT_EQ(info.fold_in(), s.fold_in() != nullptr);
  EXPECT_EQ(info.feedback(), "explicit");
  EXPECT_EQ(info.event_weights_size(), 0);
  EXPECT_EQ(info.negative_events_size(), 0);
  // loaded_at is the model's creation time, RFC 3339 UTC to the second.
  absl::Time loaded;
  std::string error;
  ASSERT_TRUE(
      absl::ParseTime(absl::RFC3339_full, info.loaded_at(), &loaded, &error))
      << info.loaded_at() << ": " << error;
  EXPECT_EQ(info.loaded_at().back(), 'Z');
  EXPECT_LE(absl::AbsDuration(loaded - model_->created_at()), absl::Seconds(1));
}

TEST_F(ToProtoTest, ModelInfoReportsAutomaticEfAsZero) {
  v1::ModelInfo info;
  ToProto(*model_, 0, &info);
  EXPECT_EQ(info.retrieval_index().ef(), 0);
  EXPECT_EQ(info.similarity_index().ef(), 0);
}

}  // namespace
}  // namespace recserve::server
