#include "core/serve/serving_model.h"

#include <algorithm>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/sparse_ratings.h"
#include "core/model/item_scorer.h"
#include "core/model/two_stage_scorer.h"
#include "core/serve/serving_model_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

SimilarItemsQuery SimilarTo(const std::string& item_id, int32_t k) {
  SimilarItemsQuery query;
  query.item_ids = {item_id};
  query.k = k;
  return query;
}

absl::StatusOr<std::vector<SimilarItem>> ItemsOf(
    absl::StatusOr<SimilarItemsResult> result) {
  if (!result.ok()) return result.status();
  return std::move(result->items);
}

PredictQuery Prediction(const std::string& user_id,
                        const std::string& item_id) {
  PredictQuery query;
  query.user_id = user_id;
  query.item_id = item_id;
  return query;
}

using ::testing::HasSubstr;
using ::testing::Not;
using testutil::PublishTinySnapshot;
using testutil::TinySnapshotSpec;

std::vector<int32_t> ItemsOf(const Recommendation& r) {
  std::vector<int32_t> items;
  for (const RecommendedItem& i : r.items) items.push_back(i.item);
  return items;
}

class ServingModelTest : public ::testing::Test {
 protected:
  void Load(const TinySnapshotSpec& spec) {
    const std::string version = PublishTinySnapshot(tmp_.path(), spec);
    ASSERT_FALSE(version.empty());
    LoadVersion(tmp_.Path(version));
  }
  void LoadVersion(const std::string& dir) {
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(dir, {});
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
    version_dir_ = dir;
  }
  const Snapshot& snap() const { return model_->snapshot(); }

  RecommendQuery Query(int32_t user, int32_t n) const {
    RecommendQuery q;
    q.user_id = snap().UserId(user);
    q.n = n;
    return q;
  }

  testutil::TempDir tmp_;
  std::string version_dir_;
  std::shared_ptr<const ServingModel> model_;
  ServingLimits limits_;
  ServingPolicy policy_;
};

// The server must rank exactly as the trainer evaluated: on each snapshot,
// compare the top n of every user, by each retrieval path, with
// TwoStageScorer over the same snapshot.
struct ParityCase {
  const char* name;
  TinySnapshotSpec spec;
  // Instead of `spec`, a snapshot the training pipeline publishes from
  // generated data (with this many ratings; 0 = use spec).
  int64_t trained_ratings = 0;
};
void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.name; }

class RecommendParityTest : public ServingModelTest,
                            public ::testing::WithParamInterface<ParityCase> {};

TEST_P(RecommendParityTest, RecommendMatchesTheEvaluatedTwoStagePipeline) {
  if (GetParam().trained_ratings > 0) {
    const std::string root = testutil::TrainGeneratedSnapshot(
        tmp_.path(), 300, 200, GetParam().trained_ratings);
    absl::StatusOr<std::string> version = ResolveLatestVersion(root);
    ASSERT_TRUE(version.ok()) << version.status();
    LoadVersion(absl::StrCat(root, "/", *version));
  } else {
    Load(GetParam().spec);
  }
  ServingModelLoadOptions hnsw_only;
  hnsw_only.norm_scan_items = 0;
  absl::StatusOr<std::shared_ptr<const ServingModel>> searched =
      LoadServingModel(version_dir_, hnsw_only);
  ASSERT_TRUE(searched.ok()) << searched.status();

  const MfModel rating = snap().ToModel();
  // What retrieval scores with: the embeddings, or the rating factors in
  // format 1.
  const FactorMatrix users = model_->user_vectors();
  const FactorMatrix items = model_->item_vectors();
  const EmbeddingScorer retrieval(users, items);
  std::vector<Rating> seen_ratings;
  for (int32_t u = 0; u < snap().num_users(); ++u) {
    for (const int32_t i : snap().SeenItems(u)) {
      seen_ratings.push_back({u, i, 3.0f, 0});
    }
  }
  const SparseRatings seen =
      GroupRatings(seen_ratings, snap().num_users(), RatingAxis::kUser);
  const TwoStageScorer offline(retrieval, rating, seen, snap().ranking());
  const int32_t n = std::min(10, snap().ranking().candidates);
  std::vector<float> scores(snap().num_items());
  struct Path {
    const char* name;
    const ServingModel* model;
    bool exact;
    RetrievalPath expected;
  };
  const std::vector<Path> paths = {
      {"exact", model_.get(), true, RetrievalPath::kExact},
      {"norm scan", model_.get(), false, RetrievalPath::kNormScan},
      {"hnsw", searched->get(), false, RetrievalPath::kHnswMerge},
  };
  int64_t compared = 0;
  for (int32_t u = 0; u < snap().num_users(); ++u) {
    offline.ScoreItems(u, absl::MakeSpan(scores));
    std::vector<int32_t> order(scores.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return scores[a] > scores[b];
    });
    for (const Path& path : paths) {
      RecommendQuery q = Query(u, n);
      q.exact = path.exact;
      absl::StatusOr<Recommendation> r =
          path.model->Recommend(q, limits_, policy_);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->retrieval_path, path.expected);
      ASSERT_EQ(r->items.size(), static_cast<size_t>(n)) << path.name;
      for (size_t k = 0; k < r->items.size(); ++k) {
        // The same item, or one whose offline score ties within rounding.
        const int32_t item = r->items[k].item;
        if (item != order[k]) {
          EXPECT_NEAR(scores[item], scores[order[k]], 1e-5)
              << path.name << ", user " << u << ", rank " << k;
        }
        EXPECT_NEAR(r->items[k].score, scores[order[k]], 1e-5)
            << path.name << ", user " << u << ", rank " << k;
        EXPECT_FLOAT_EQ(r->items[k].predicted_rating,
                        snap().Predict(u, r->items[k].item));
        ++compared;
      }
      EXPECT_FALSE(r->fallback);
      EXPECT_EQ(r->candidates, snap().ranking().candidates);
    }
  }
  EXPECT_EQ(compared, int64_t{3} * n * snap().num_users());
}

INSTANTIATE_TEST_SUITE_P(
    Snapshots, RecommendParityTest,
    ::testing::Values(
        ParityCase{"Default", {}},
        // Another data set: more users and items, wider factors and
        // embeddings, a bigger pool and a blend leaning on the rating model.
        ParityCase{"OtherSeedBiggerPool",
                   {.users = 90,
                    .items = 400,
                    .factors = 6,
                    .ratings_per_user = 12,
                    .retrieval_factors = 16,
                    .ranking = {.candidates = 60, .blend_weight = 0.3f},
                    .seed = 7}},
        // Retrieval order alone, with items pointing the same way (ties of
        // normalized retrieval scores).
        ParityCase{"RetrievalOnlyWithTies",
                   {.items = 120,
                    .same_direction_items = 30,
                    .ranking = {.candidates = 25, .blend_weight = 1.0f},
                    .seed = 3}},
        // Format 1: no retrieval embeddings; retrieval by the rating
        // factors, reranked by the rating model alone.
        ParityCase{"FormatOneWithoutEmbeddings",
                   {.retrieval_factors = 0, .seed = 5}},
        // What recserve-train publishes: trained embeddings and factors,
        // the pool and blend chosen on validation.
        ParityCase{"TrainedByThePipeline", {}, 20'000}),
    [](const ::testing::TestParamInfo<ParityCase>& info) {
      return std::string(info.param.name);
    });

TEST_F(ServingModelTest, DropsSeenItemsAndExclusionsUnlessAskedToKeepSeen) {
  Load({});
  for (int32_t u = 0; u + 1 < snap().num_users(); ++u) {
    const absl::Span<const int32_t> seen = snap().SeenItems(u);
    ASSERT_FALSE(seen.empty());
    RecommendQuery q = Query(u, 15);
    absl::StatusOr<Recommendation> first =
        model_->Recommend(q, limits_, policy_);
    ASSERT_TRUE(first.ok());
    for (const int32_t item : ItemsOf(*first)) {
      EXPECT_FALSE(std::count(seen.begin(), seen.end(), item)) << item;
    }
    // Excluding the top 3 (and an unknown id) brings in others.
    q.exclude_item_ids = {"no-such-item"};
    for (int k = 0; k < 3; ++k) {
      q.exclude_item_ids.push_back(snap().ItemId(first->items[k].item));
    }
    absl::StatusOr<Recommendation> second =
        model_->Recommend(q, limits_, policy_);
    ASSERT_TRUE(second.ok());
    ASSERT_EQ(second->items.size(), 15u);
    const std::vector<int32_t> second_items = ItemsOf(*second);
    for (int k = 0; k < 3; ++k) {
      EXPECT_FALSE(std::count(second_items.begin(), second_items.end(),
                              first->items[k].item));
    }
  }
  // With include_seen and a pool of the whole catalog, every item can come
  // back, the seen ones included.
  RecommendQuery all = Query(0, snap().num_items());
  all.include_seen = true;
  all.candidates = snap().num_items();
  absl::StatusOr<Recommendation> r = model_->Recommend(all, limits_, policy_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->items.size(), static_cast<size_t>(snap().num_items()));
}

TEST_F(ServingModelTest, UnknownUserGetsPopularItemsOrNotFound) {
  Load({});
  RecommendQuery q;
  q.user_id = "stranger";
  q.n = 5;
  absl::StatusOr<Recommendation> r = model_->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->fallback);
  ASSERT_EQ(r->items.size(), 5u);
  const absl::Span<const int32_t> popularity = snap().item_popularity();
  const int32_t most = *std::max_element(popularity.begin(), popularity.end());
  EXPECT_EQ(popularity[r->items[0].item], most);
  for (size_t k = 1; k < r->items.size(); ++k) {
    EXPECT_GE(popularity[r->items[k - 1].item], popularity[r->items[k].item]);
    EXPECT_FLOAT_EQ(r->items[k].score, popularity[r->items[k].item]);
  }
  ServingPolicy strict = policy_;
  strict.fallbacks = false;
  r = model_->Recommend(q, limits_, strict);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("stranger"));
}

TEST_F(ServingModelTest, RejectsBadRecommendArgumentsNamingTheField) {
  Load({});
  ServingLimits limits;
  limits.max_results = 50;
  limits.max_exclusions = 2;
  limits.max_candidates = 100;
  limits.max_ef = 300;
  ServingPolicy policy;
  policy.allow_exact = false;
  const auto error = [&](const RecommendQuery& q) {
    return model_->Recommend(q, limits, policy).status();
  };
  RecommendQuery q = Query(1, 5);
  ASSERT_TRUE(model_->Recommend(q, limits, policy).ok());
  struct Case {
    const char* field;
    std::function<void(RecommendQuery&)> change;
  };
  const std::vector<Case> cases = {
      {"user_id", [](RecommendQuery& q) { q.user_id.clear(); }},
      {"user_id", [](RecommendQuery& q) { q.user_id = std::string(300, 'x'); }},
      {"n", [](RecommendQuery& q) { q.n = 0; }},
      {"n", [](RecommendQuery& q) { q.n = -3; }},
      {"n", [](RecommendQuery& q) { q.n = 51; }},
      {"exclude_item_ids",
       [](RecommendQuery& q) {
         q.exclude_item_ids = {"a", "b", "c"};
       }},
      {"candidates", [](RecommendQuery& q) { q.candidates = -1; }},
      {"candidates", [](RecommendQuery& q) { q.candidates = 101; }},
      {"ef", [](RecommendQuery& q) { q.ef = 301; }},
      {"exact", [](RecommendQuery& q) { q.exact = true; }},
  };
  for (const Case& c : cases) {
    RecommendQuery bad = q;
    c.change(bad);
    const absl::Status s = error(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(s.message(), HasSubstr(c.field));
    // Core names the request's fields, never the server's flags.
    EXPECT_THAT(s.message(), Not(HasSubstr("--"))) << c.field;
  }
}

TEST_F(ServingModelTest, SimilarItemsAreTheCosineNeighboursWithoutTheItem) {
  Load({});
  const FactorMatrix items = snap().item_embeddings();
  for (int32_t i = 0; i < snap().num_items(); ++i) {
    absl::StatusOr<std::vector<SimilarItem>> r = ItemsOf(
        model_->SimilarItems(SimilarTo(snap().ItemId(i), 5), limits_, policy_));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 5u);
    std::vector<ScoredItem> exact = ExactNeighbors(
        items, IndexSpace::kCosine,
        absl::Span<const float>(items.row(i).data(), items.cols()), 6);
    exact.erase(
        std::remove_if(exact.begin(), exact.end(),
                       [&](const ScoredItem& n) { return n.item == i; }),
        exact.end());
    for (size_t k = 0; k < r->size(); ++k) {
      EXPECT_NE((*r)[k].item, i);
      EXPECT_EQ((*r)[k].item, exact[k].item) << "item " << i << " rank " << k;
      const float cosine =
          items.row(i).dot(items.row((*r)[k].item)) /
          (items.row(i).norm() * items.row((*r)[k].item).norm());
      EXPECT_NEAR((*r)[k].similarity, cosine, 1e-4);
    }
  }
  EXPECT_EQ(model_->SimilarItems(SimilarTo("nope", 5), limits_, policy_)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(model_->SimilarItems(SimilarTo("i1", 0), limits_, policy_)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      model_->SimilarItems(SimilarTo("", 3), limits_, policy_).status().code(),
      absl::StatusCode::kInvalidArgument);
  // k larger than the rest of the catalog: all other items.
  absl::StatusOr<std::vector<SimilarItem>> all =
      ItemsOf(model_->SimilarItems(SimilarTo("i1", 1000), limits_, policy_));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<size_t>(snap().num_items() - 1));
}

TEST_F(ServingModelTest, PredictRatingFallsBackToBiases) {
  Load({});
  absl::StatusOr<RatingPrediction> p =
      model_->PredictRating(Prediction("u3", "i7"), limits_, policy_);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->user_known && p->item_known);
  EXPECT_FLOAT_EQ(p->rating, snap().Predict(3, snap().FindItem("i7")));
  p = model_->PredictRating(Prediction("u3", "new-item"), limits_, policy_);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->item_known);
  EXPECT_FLOAT_EQ(p->rating, snap().rating_scale().Clamp(
                                 snap().global_mean() + snap().user_bias()[3]));
  p = model_->PredictRating(Prediction("new-user", "new-item"), limits_,
                            policy_);
  ASSERT_TRUE(p.ok());
  EXPECT_FLOAT_EQ(p->rating, snap().rating_scale().Clamp(snap().global_mean()));
  ServingPolicy strict = policy_;
  strict.fallbacks = false;
  EXPECT_EQ(model_->PredictRating(Prediction("u3", "new-item"), limits_, strict)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(model_->PredictRating(Prediction("", "i1"), limits_, policy_)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ServingModelTest, FormatOneSnapshotsRetrieveWithRatingFactors) {
  TinySnapshotSpec spec;
  spec.retrieval_factors = 0;
  Load(spec);
  EXPECT_FALSE(snap().has_retrieval());
  EXPECT_EQ(model_->retrieval_index().dimensions(), snap().factors());
  RecommendQuery q = Query(2, 5);
  absl::StatusOr<Recommendation> approx =
      model_->Recommend(q, limits_, policy_);
  q.exact = true;
  absl::StatusOr<Recommendation> exact = model_->Recommend(q, limits_, policy_);
  ASSERT_TRUE(approx.ok() && exact.ok());
  EXPECT_EQ(ItemsOf(*approx), ItemsOf(*exact));
  // Format 1 reranks by the rating model alone: best predicted first.
  for (size_t k = 1; k < exact->items.size(); ++k) {
    EXPECT_GE(exact->items[k - 1].predicted_rating,
              exact->items[k].predicted_rating);
  }
}

TEST_F(ServingModelTest, ReportsHowThePoolWasFound) {
  Load({});
  RecommendQuery q = Query(1, 5);
  absl::StatusOr<Recommendation> r = model_->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok()) << r.status();
  // 60 items fit the scan's budget: read them all, exact, no HNSW search.
  EXPECT_EQ(r->retrieval_path, RetrievalPath::kNormScan);
  EXPECT_EQ(r->items_scanned, 60);
  EXPECT_EQ(r->ef, 0);
  q.exact = true;
  r = model_->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->retrieval_path, RetrievalPath::kExact);
  q.user_id = "nobody";
  r = model_->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->retrieval_path, RetrievalPath::kNone);

  ServingModelLoadOptions hnsw_only;
  hnsw_only.norm_scan_items = 0;
  absl::StatusOr<std::shared_ptr<const ServingModel>> searched =
      LoadServingModel(tmp_.Path(snap().version()), hnsw_only);
  ASSERT_TRUE(searched.ok()) << searched.status();
  r = (*searched)->Recommend(Query(1, 5), limits_, policy_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->retrieval_path, RetrievalPath::kHnswMerge);
  EXPECT_EQ(r->items_scanned, 0);
  EXPECT_GE(r->ef, 20);  // at least the pool
  absl::StatusOr<Recommendation> scanned =
      model_->Recommend(Query(1, 5), limits_, policy_);
  ASSERT_TRUE(scanned.ok());
  EXPECT_EQ(ItemsOf(*r), ItemsOf(*scanned));
}

// Implicit ALS gives every item rated by one same user the same direction;
// such ties must neither fail the load's sanity check nor break SimilarItems.
TEST_F(ServingModelTest, LoadsItemsThatPointTheSameWay) {
  TinySnapshotSpec spec;
  spec.items = 200;
  spec.same_direction_items = 150;
  Load(spec);
  absl::StatusOr<std::vector<SimilarItem>> similar = ItemsOf(
      model_->SimilarItems(SimilarTo(snap().ItemId(3), 10), limits_, policy_));
  ASSERT_TRUE(similar.ok()) << similar.status();
  ASSERT_EQ(similar->size(), 10u);
  for (const SimilarItem& s : *similar) {
    EXPECT_NE(s.item, 3);
    EXPECT_LT(s.item, spec.same_direction_items);
    EXPECT_NEAR(s.similarity, 1.0f, 1e-4f);
  }
}

TEST_F(ServingModelTest, CreateRejectsIndexesOfOtherVectors) {
  Load({});
  std::shared_ptr<const Snapshot> snapshot =
      Snapshot::Load(tmp_.Path(snap().version())).value();
  const FactorMatrix wrong = FactorMatrix::Ones(snapshot->num_items(), 3);
  auto a = ItemIndex::Build(wrong, IndexSpace::kInnerProduct, {});
  auto b = ItemIndex::Build(wrong, IndexSpace::kCosine, {});
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::shared_ptr<const ServingModel>> model =
      ServingModel::Create(snapshot, std::move(*a), std::move(*b));
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("does not match"));
}

}  // namespace
}  // namespace recserve
