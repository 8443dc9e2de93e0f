// HNSW retrieval against brute force at MovieLens 100K scale, on a snapshot
// the real trainer made from generated data with default settings: what the
// server answers must be what exact retrieval would answer.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
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

class ServingRecallTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    const std::string root =
        testutil::TrainGeneratedSnapshot(tmp_->path(), 943, 1682, 100'000);
    absl::StatusOr<std::shared_ptr<const Snapshot>> latest =
        Snapshot::LoadLatest(root);
    ASSERT_TRUE(latest.ok()) << latest.status();
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel((*latest)->dir(), {});
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new std::shared_ptr<const ServingModel>(*model);
    ServingModelLoadOptions hnsw_only;
    hnsw_only.norm_scan_items = 0;
    model = LoadServingModel((*latest)->dir(), hnsw_only);
    ASSERT_TRUE(model.ok()) << model.status();
    hnsw_only_model_ = new std::shared_ptr<const ServingModel>(*model);
  }
  static void TearDownTestSuite() {
    delete hnsw_only_model_;
    delete model_;
    delete tmp_;
  }

  static testutil::TempDir* tmp_;
  static std::shared_ptr<const ServingModel>* model_;
  // Without the norm-ordered scan: every Recommend searches HNSW.
  static std::shared_ptr<const ServingModel>* hnsw_only_model_;
};

testutil::TempDir* ServingRecallTest::tmp_ = nullptr;
std::shared_ptr<const ServingModel>* ServingRecallTest::model_ = nullptr;
std::shared_ptr<const ServingModel>* ServingRecallTest::hnsw_only_model_ =
    nullptr;

double Overlap(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const std::set<int32_t> truth(b.begin(), b.end());
  int hits = 0;
  for (const int32_t x : a) hits += truth.count(x);
  return truth.empty() ? 1.0 : static_cast<double>(hits) / truth.size();
}

// By default the norm-ordered scan reads all 1,682 items when it cannot stop
// early, so the HNSW path is checked on its own too.
TEST_F(ServingRecallTest, RecommendTop10MatchesExactRetrieval) {
  ASSERT_NE(model_, nullptr);
  ASSERT_NE(hnsw_only_model_, nullptr);
  const ServingLimits limits;
  const ServingPolicy policy;
  for (const bool hnsw_only : {false, true}) {
    SCOPED_TRACE(hnsw_only ? "HNSW only" : "default");
    const ServingModel& model = hnsw_only ? **hnsw_only_model_ : **model_;
    const Snapshot& s = model.snapshot();
    ASSERT_TRUE(s.has_retrieval());
    double recall = 0;
    int32_t searched = 0;
    for (int32_t u = 0; u < s.num_users(); ++u) {
      RecommendQuery q;
      q.user_id = s.UserId(u);
      q.n = 10;
      absl::StatusOr<Recommendation> approx =
          model.Recommend(q, limits, policy);
      q.exact = true;
      absl::StatusOr<Recommendation> exact = model.Recommend(q, limits, policy);
      ASSERT_TRUE(approx.ok() && exact.ok());
      std::vector<int32_t> a, e;
      for (const RecommendedItem& i : approx->items) a.push_back(i.item);
      for (const RecommendedItem& i : exact->items) e.push_back(i.item);
      ASSERT_EQ(e.size(), 10u);
      recall += Overlap(a, e);
      searched += approx->ef > 0;
    }
    recall /= s.num_users();
    RecordProperty(hnsw_only ? "recall_at_10_hnsw_only" : "recall_at_10",
                   std::to_string(recall));
    EXPECT_GE(recall, 0.98) << s.num_users() << " users";
    if (hnsw_only) {
      EXPECT_EQ(searched, s.num_users());
    }
  }
}

TEST_F(ServingRecallTest, SimilarItemsMatchExactAndShareGenres) {
  ASSERT_NE(model_, nullptr);
  const ServingModel& model = **model_;
  const Snapshot& s = model.snapshot();
  ASSERT_TRUE(s.has_item_metadata());
  const Eigen::Map<const FactorMatrix> items = model.item_vectors();
  const auto shares_genre = [&](int32_t a, int32_t b) {
    const std::vector<std::string>* ga = s.ItemGenres(a);
    const std::vector<std::string>* gb = s.ItemGenres(b);
    if (ga == nullptr || gb == nullptr) return false;
    for (const std::string& g : *ga) {
      if (std::find(gb->begin(), gb->end(), g) != gb->end()) return true;
    }
    return false;
  };
  double recall = 0;
  int64_t neighbour_pairs = 0, neighbour_shared = 0;
  int64_t random_pairs = 0, random_shared = 0;
  for (int32_t i = 0; i < s.num_items(); ++i) {
    absl::StatusOr<SimilarItemsResult> r =
        model.SimilarItems(SimilarTo(s.ItemId(i), 10), {}, {});
    ASSERT_TRUE(r.ok()) << r.status();
    std::vector<int32_t> a, e;
    for (const SimilarItem& x : r->items) {
      a.push_back(x.item);
      ++neighbour_pairs;
      neighbour_shared += shares_genre(i, x.item);
    }
    for (const ScoredItem& n : ExactNeighbors(
             items, IndexSpace::kCosine,
             absl::Span<const float>(items.row(i).data(), items.cols()), 11)) {
      if (n.item != i && e.size() < 10) e.push_back(n.item);
    }
    recall += Overlap(a, e);
    const int32_t other = (i * 7919 + 13) % s.num_items();
    if (other != i) {
      ++random_pairs;
      random_shared += shares_genre(i, other);
    }
  }
  recall /= s.num_items();
  EXPECT_GE(recall, 0.98);
  const double neighbour_share =
      static_cast<double>(neighbour_shared) / neighbour_pairs;
  const double random_share = static_cast<double>(random_shared) / random_pairs;
  RecordProperty("genre_share_neighbours", std::to_string(neighbour_share));
  RecordProperty("genre_share_random", std::to_string(random_share));
  // Neighbours share the hidden genre far more often than random pairs.
  EXPECT_GT(neighbour_share, 1.5 * random_share)
      << neighbour_share << " vs " << random_share;
}

}  // namespace
}  // namespace recserve
