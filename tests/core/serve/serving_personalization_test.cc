// Request-time personalization of ServingModel: recent interactions folded
// in, item filters on every retrieval path, explanations, multi-seed
// SimilarItems and the argument checks, each compared with an answer
// computed here from the snapshot's arrays.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/dot_product.h"
#include "core/base/top_k.h"
#include "core/model/two_stage_ranker.h"
#include "core/model/user_fold_in.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/snapshot_tampering.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

ItemFilterSpec Labels(std::vector<std::string> include,
                      std::vector<std::string> exclude) {
  ItemFilterSpec spec;
  spec.include_labels = std::move(include);
  spec.exclude_labels = std::move(exclude);
  return spec;
}

using ::testing::HasSubstr;

constexpr int32_t kUsers = 60;
constexpr int32_t kItems = 6000;
constexpr int32_t kFactors = 4;
constexpr int32_t kRetrievalFactors = 8;
constexpr int32_t kCandidates = 50;

// Labels: genres "big" (80% of the items: more than kExactAllowedItems) and
// "small" (60 items); item_labels.txt "odd" (half), "rare" (10 items) and
// "one" (item 4242 only).
bool IsBig(int32_t i) { return i % 10 < 8; }
bool IsSmall(int32_t i) { return i % 100 == 3; }
bool IsOdd(int32_t i) { return i % 2 == 1; }
bool IsRare(int32_t i) { return i % 600 == 1; }
bool IsOne(int32_t i) { return i == 4242; }

// A user's vectors, as the server should rank with them.
struct UserVectors {
  Eigen::RowVectorXf retrieval;
  Eigen::RowVectorXf factors;
  float bias = 0.0f;
};

class ServingPersonalizationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    const testutil::TinyModel tiny =
        testutil::MakeTinyModel(kUsers, kItems, kFactors, 6, /*seed=*/5);
    RetrievalModel retrieval =
        testutil::MakeTinyRetrieval(kUsers, kItems, kRetrievalFactors, 6);
    FoldInParams params;
    params.rating = RatingUserPrior::Ridge(kFactors, 0.05f, 0.02f);
    params.retrieval = {.reg = 1.5f, .alpha = 0.5f, .unobserved_weight = 1.0f};
    // Stored user embeddings are the fold-in of each user's training
    // ratings (means of repeated pairs), as implicit ALS leaves them.
    {
      const UserFoldIn fold_in(
          Eigen::Map<const FactorMatrix>(tiny.model.item_factors.data(), kItems,
                                         kFactors),
          Eigen::Map<const Eigen::VectorXf>(tiny.model.item_bias.data(),
                                            kItems),
          tiny.model.global_mean,
          Eigen::Map<const FactorMatrix>(retrieval.item_factors.data(), kItems,
                                         kRetrievalFactors),
          params);
      std::vector<std::map<int32_t, std::pair<double, int>>> sums(kUsers);
      for (const Rating& r : tiny.train.ratings) {
        auto& [sum, count] = sums[r.user][r.item];
        sum += r.value;
        ++count;
      }
      for (int32_t u = 0; u < kUsers; ++u) {
        std::vector<UserInteraction> xs;
        for (const auto& [item, sc] : sums[u]) {
          xs.push_back({item, static_cast<float>(sc.first / sc.second), 1.0f});
        }
        retrieval.user_factors.row(u) = fold_in.FoldIn(xs).embedding;
      }
    }
    ItemCatalog catalog;
    ItemLabelMap labels;
    for (int32_t i = 0; i < kItems; ++i) {
      const std::string id = tiny.train.items.Id(i);
      ItemMetadata& m = catalog[id];
      m.title = absl::StrCat("title ", i);
      if (IsBig(i)) m.genres.push_back("big");
      if (IsSmall(i)) m.genres.push_back("small");
      std::vector<std::string>& l = labels[id];
      if (IsOdd(i)) l.push_back("odd");
      if (IsRare(i)) l.push_back("rare");
      if (IsOne(i)) l.push_back("one");
    }
    SnapshotContents contents;
    contents.train = &tiny.train;
    contents.model = &tiny.model;
    contents.items = &catalog;
    contents.algo = "als";
    contents.retrieval = &retrieval;
    contents.ranking = {.candidates = kCandidates, .blend_weight = 0.5f};
    contents.fold_in = &params;
    contents.labels = &labels;
    absl::StatusOr<std::string> version =
        PublishSnapshot(tmp_->Path("root"), contents);
    ASSERT_TRUE(version.ok()) << version.status();
    const std::string dir = tmp_->Path(absl::StrCat("root/", *version));
    // One build thread: the graph, and so what HNSW finds, is then the
    // same on every run.
    ServingModelLoadOptions options;
    options.index.threads = 1;
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(dir, options);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = new std::shared_ptr<const ServingModel>(*model);
    ServingModelLoadOptions hnsw = options;
    hnsw.norm_scan_items = 0;
    model = LoadServingModel(dir, hnsw);
    ASSERT_TRUE(model.ok()) << model.status();
    hnsw_ = new std::shared_ptr<const ServingModel>(*model);
    const Snapshot& s = (*model_)->snapshot();
    ASSERT_NE(s.fold_in(), nullptr);
    fold_in_ = new UserFoldIn(s.item_factors(), s.item_bias(), s.global_mean(),
                              s.item_embeddings(), *s.fold_in());
  }
  static void TearDownTestSuite() {
    delete fold_in_;
    delete hnsw_;
    delete model_;
    delete tmp_;
    fold_in_ = nullptr;
    hnsw_ = nullptr;
    model_ = nullptr;
    tmp_ = nullptr;
  }

  static const ServingModel& model() { return **model_; }
  static const ServingModel& hnsw() { return **hnsw_; }
  static const Snapshot& snap() { return model().snapshot(); }

  static RecentInteraction Recent(int32_t item, double rating,
                                  double weight = 0.0) {
    return {snap().ItemId(item), rating, weight, ""};
  }
  static std::vector<RecentInteraction> SomeRecent() {
    return {Recent(17, 5.0), Recent(250, 4.0, 2.0), Recent(999, 0.0),
            Recent(3001, 2.0), Recent(4500, 1.0, 0.5)};
  }

  // The interactions the server folds in: a known user's training items,
  // then the known recent ones.
  static std::vector<UserInteraction> Interactions(
      int32_t user, const std::vector<RecentInteraction>& recent) {
    std::vector<UserInteraction> xs;
    if (user != kUnknownIndex) {
      const auto seen = snap().SeenItems(user);
      const auto ratings = snap().SeenRatings(user);
      for (size_t j = 0; j < seen.size(); ++j) {
        xs.push_back({seen[j], ratings[j], 1.0f});
      }
    }
    for (const RecentInteraction& x : recent) {
      const int32_t item = snap().FindItem(x.item_id);
      if (item == kUnknownIndex) continue;
      xs.push_back({item, static_cast<float>(x.rating),
                    x.weight == 0.0 ? 1.0f : static_cast<float>(x.weight)});
    }
    return xs;
  }
  static UserVectors Folded(int32_t user,
                            const std::vector<RecentInteraction>& recent) {
    const FoldedInUser f = fold_in_->FoldIn(Interactions(user, recent));
    return {f.embedding, f.factors, f.bias};
  }
  static UserVectors Stored(int32_t user) {
    return {snap().user_embeddings().row(user), snap().user_factors().row(user),
            snap().user_bias()[user]};
  }
  static float RatingScore(const UserVectors& u, int32_t item) {
    return snap().global_mean() + u.bias + snap().item_bias()[item] +
           u.factors.dot(snap().item_factors().row(item));
  }
  static float RetrievalScore(const UserVectors& u, int32_t item) {
    return Dot(u.retrieval.data(), snap().item_embeddings().row(item).data(),
               kRetrievalFactors);
  }

  // Brute force: every allowed, unremoved item scored, the best `pool`
  // reranked by TwoStageRanker, the top n.
  static std::vector<int32_t> Offline(
      const UserVectors& u, const std::set<int32_t>& removed,
      const std::function<bool(int32_t)>& allowed, int32_t n,
      int32_t pool = kCandidates) {
    std::vector<ScoredItem> scored;
    for (int32_t i = 0; i < kItems; ++i) {
      if (removed.count(i) > 0 || !allowed(i)) continue;
      scored.push_back({i, RetrievalScore(u, i)});
    }
    std::sort(scored.begin(), scored.end(), RankingOrder());
    if (static_cast<int32_t>(scored.size()) > std::max(pool, n)) {
      scored.resize(std::max(pool, n));
    }
    const TwoStageRanker ranker(snap().rating_scale(),
                                snap().ranking().blend_weight);
    std::vector<int32_t> items;
    for (const RankedItem& r : ranker.Rank(
             scored, [&](int32_t i) { return RatingScore(u, i); }, n)) {
      items.push_back(r.item);
    }
    return items;
  }
  static std::set<int32_t> Removed(
      int32_t user, const std::vector<RecentInteraction>& recent) {
    std::set<int32_t> removed;
    if (user != kUnknownIndex) {
      for (const int32_t i : snap().SeenItems(user)) removed.insert(i);
    }
    for (const RecentInteraction& x : recent) {
      const int32_t item = snap().FindItem(x.item_id);
      if (item != kUnknownIndex) removed.insert(item);
    }
    return removed;
  }

  static std::vector<int32_t> ItemsOf(const Recommendation& r) {
    std::vector<int32_t> items;
    for (const RecommendedItem& i : r.items) items.push_back(i.item);
    return items;
  }

  absl::StatusOr<Recommendation> Recommend(const RecommendQuery& q,
                                           const ServingModel* m = nullptr) {
    return (m == nullptr ? model() : *m).Recommend(q, limits_, policy_);
  }

  static testutil::TempDir* tmp_;
  static std::shared_ptr<const ServingModel>* model_;
  static std::shared_ptr<const ServingModel>* hnsw_;
  static UserFoldIn* fold_in_;
  ServingLimits limits_;
  ServingPolicy policy_;
};

testutil::TempDir* ServingPersonalizationTest::tmp_ = nullptr;
std::shared_ptr<const ServingModel>* ServingPersonalizationTest::model_ =
    nullptr;
std::shared_ptr<const ServingModel>* ServingPersonalizationTest::hnsw_ =
    nullptr;
UserFoldIn* ServingPersonalizationTest::fold_in_ = nullptr;

bool AllowAll(int32_t) { return true; }

TEST_F(ServingPersonalizationTest, SnapshotIsFormat3WithLabels) {
  EXPECT_EQ(snap().manifest().format_version, 3);
  EXPECT_EQ(snap().num_labels(), 5);
  EXPECT_NE(snap().FindLabel("one"), kUnknownIndex);
  EXPECT_NE(snap().FindLabel("big"), kUnknownIndex);
}

TEST_F(ServingPersonalizationTest, UnknownUserWithRecentIsFoldedIn) {
  RecommendQuery q;
  q.user_id = "nobody";
  q.n = 10;
  q.recent = SomeRecent();
  const absl::StatusOr<Recommendation> r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->folded_in);
  EXPECT_FALSE(r->fallback);
  EXPECT_EQ(r->recent_unknown, 0);
  EXPECT_EQ(r->retrieval_path, RetrievalPath::kNormScan);
  ASSERT_EQ(r->items.size(), 10u);
  const std::set<int32_t> removed = Removed(kUnknownIndex, q.recent);
  for (const RecommendedItem& item : r->items) {
    EXPECT_EQ(removed.count(item.item), 0u) << "recent item " << item.item;
  }
  const std::vector<int32_t> offline =
      Offline(Folded(kUnknownIndex, q.recent), removed, AllowAll, q.n);
  EXPECT_EQ(ItemsOf(*r), offline);

  q.exact = true;
  const absl::StatusOr<Recommendation> exact = Recommend(q);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->retrieval_path, RetrievalPath::kExact);
  EXPECT_TRUE(exact->folded_in);
  EXPECT_EQ(ItemsOf(*exact), ItemsOf(*r));

  // The HNSW path (with a broad search) agrees too.
  q.exact = false;
  q.ef = 3000;
  const absl::StatusOr<Recommendation> searched = Recommend(q, &hnsw());
  ASSERT_TRUE(searched.ok()) << searched.status();
  EXPECT_EQ(searched->retrieval_path, RetrievalPath::kHnswMerge);
  EXPECT_EQ(ItemsOf(*searched), offline);
}

TEST_F(ServingPersonalizationTest, KnownUserWithRecentFoldsInTrainingItems) {
  const int32_t user = 7;
  RecommendQuery q;
  q.user_id = snap().UserId(user);
  q.n = 12;
  q.recent = SomeRecent();
  const absl::StatusOr<Recommendation> r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->folded_in);
  const std::set<int32_t> removed = Removed(user, q.recent);
  EXPECT_EQ(ItemsOf(*r),
            Offline(Folded(user, q.recent), removed, AllowAll, 12));
  // Different from ranking with the stored vectors.
  EXPECT_NE(ItemsOf(*r), Offline(Stored(user), removed, AllowAll, 12));
}

TEST_F(ServingPersonalizationTest, KnownUserWithoutRecentUsesStoredVectors) {
  for (const int32_t user : {0, 3, 31}) {
    RecommendQuery q;
    q.user_id = snap().UserId(user);
    q.n = 10;
    const absl::StatusOr<Recommendation> r = Recommend(q);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->folded_in);
    EXPECT_FALSE(r->fallback);
    EXPECT_EQ(ItemsOf(*r),
              Offline(Stored(user), Removed(user, {}), AllowAll, 10))
        << "user " << user;
  }
}

TEST_F(ServingPersonalizationTest, UnknownRecentItemsAreCounted) {
  RecommendQuery q;
  q.user_id = "nobody";
  q.n = 5;
  q.recent = {Recent(17, 5.0),
              {"no-such-item", 3.0, 0.0, ""},
              Recent(250, 4.0),
              {"another-unknown", 0.0, 1.0, ""}};
  absl::StatusOr<Recommendation> r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->folded_in);
  EXPECT_EQ(r->recent_unknown, 2);
  EXPECT_EQ(ItemsOf(*r),
            Offline(Folded(kUnknownIndex, q.recent),
                    Removed(kUnknownIndex, q.recent), AllowAll, 5));

  // All unknown: the popularity fallback.
  q.recent = {{"x1", 3.0, 0.0, ""}, {"x2", 0.0, 0.0, ""}, {"x3", 1.0, 2.0, ""}};
  r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->fallback);
  EXPECT_FALSE(r->folded_in);
  EXPECT_EQ(r->recent_unknown, 3);
  EXPECT_EQ(r->items.size(), 5u);
  // Without fallbacks: NotFound.
  policy_.fallbacks = false;
  r = Recommend(q);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
}

TEST_F(ServingPersonalizationTest, IncludeSeenReturnsRecentItemsAgain) {
  RecommendQuery q;
  q.user_id = "nobody";
  q.n = 40;
  q.include_seen = true;
  // Strong interactions: the folded-in user points at these items.
  q.recent = {Recent(17, 5.0, 5.0), Recent(250, 5.0, 5.0),
              Recent(3001, 5.0, 5.0)};
  const absl::StatusOr<Recommendation> r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ItemsOf(*r),
            Offline(Folded(kUnknownIndex, q.recent), {}, AllowAll, 40));
  const std::vector<int32_t> items = ItemsOf(*r);
  int returned = 0;
  for (const int32_t i : {17, 250, 3001}) {
    returned += std::count(items.begin(), items.end(), i);
  }
  EXPECT_GT(returned, 0) << "some recent item is recommended again";
}

TEST_F(ServingPersonalizationTest, RecentNeedsAFoldInSnapshot) {
  testutil::TempDir tmp;
  testutil::TinySnapshotSpec spec;  // format 2
  const std::string version = testutil::PublishTinySnapshot(tmp.path(), spec);
  ASSERT_FALSE(version.empty());
  absl::StatusOr<std::shared_ptr<const ServingModel>> format2 =
      LoadServingModel(tmp.Path(version), {});
  ASSERT_TRUE(format2.ok()) << format2.status();
  const Snapshot& s = (*format2)->snapshot();
  EXPECT_EQ(s.manifest().format_version, 2);
  EXPECT_EQ(s.fold_in(), nullptr);
  RecommendQuery q;
  q.user_id = s.UserId(0);
  q.n = 3;
  q.recent = {{s.ItemId(1), 4.0, 0.0, ""}};
  absl::StatusOr<Recommendation> r = (*format2)->Recommend(q, limits_, policy_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
      << r.status();
  PredictQuery p;
  p.user_id = s.UserId(0);
  p.item_id = s.ItemId(2);
  p.recent = q.recent;
  EXPECT_EQ((*format2)->PredictRating(p, limits_, policy_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Without recent it serves as before.
  q.recent.clear();
  r = (*format2)->Recommend(q, limits_, policy_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->items.size(), 3u);
}

// One filter, the model to ask, the path it must take and the test of an
// item it allows.
struct FilterCase {
  const char* name;
  ItemFilterSpec spec;
  bool use_hnsw = false;
  // The paths it may take: the routing between the label lists and the
  // catalog's scan is a cost choice, both exact.
  std::set<RetrievalPath> paths;
  std::function<bool(int32_t)> allows;
};

std::vector<FilterCase> FilterCases(const Snapshot& s) {
  std::vector<FilterCase> cases;
  {
    FilterCase c{"allow_list", {}, false, {RetrievalPath::kAllowedScan}, {}};
    std::set<int32_t> allowed;
    for (int32_t i = 5; i < kItems; i += 97) {
      c.spec.item_ids.push_back(s.ItemId(i));
      allowed.insert(i);
    }
    // The training items of users 3 and 7, which the filter must still drop
    // as seen, and an unknown id, which it ignores.
    for (const int32_t u : {3, 7}) {
      for (const int32_t i : s.SeenItems(u)) {
        c.spec.item_ids.push_back(s.ItemId(i));
        allowed.insert(i);
      }
    }
    c.spec.item_ids.push_back("no-such-item");
    c.allows = [allowed](int32_t i) { return allowed.count(i) > 0; };
    cases.push_back(c);
  }
  // Included labels: their own lists, or the catalog's scan.
  cases.push_back({"include_small",
                   Labels({"small"}, {}),
                   false,
                   {RetrievalPath::kLabelScan, RetrievalPath::kNormScan},
                   IsSmall});
  cases.push_back(
      {"include_small_or_rare_exclude_odd",
       Labels({"small", "rare"}, {"odd"}),
       false,
       {RetrievalPath::kLabelScan, RetrievalPath::kNormScan},
       [](int32_t i) { return (IsSmall(i) || IsRare(i)) && !IsOdd(i); }});
  // Excluded labels only: the catalog's norm-ordered scan, skipping them.
  cases.push_back({"exclude_odd",
                   Labels({}, {"odd"}),
                   false,
                   {RetrievalPath::kNormScan},
                   [](int32_t i) { return !IsOdd(i); }});
  cases.push_back({"include_big",
                   Labels({"big"}, {}),
                   false,
                   {RetrievalPath::kLabelScan, RetrievalPath::kNormScan},
                   IsBig});
  cases.push_back(
      {"include_big_or_small_exclude_odd",
       Labels({"big", "small"}, {"odd"}),
       false,
       {RetrievalPath::kLabelScan, RetrievalPath::kNormScan},
       [](int32_t i) { return (IsBig(i) || IsSmall(i)) && !IsOdd(i); }});
  cases.push_back({"exclude_rare",
                   Labels({}, {"rare"}),
                   false,
                   {RetrievalPath::kNormScan},
                   [](int32_t i) { return !IsRare(i); }});
  // Without a norm-scan budget every scan is unsettled: HNSW with
  // over-fetch, merged with what the scans read.
  cases.push_back({"exclude_rare_hnsw",
                   Labels({}, {"rare"}),
                   true,
                   {RetrievalPath::kHnswMerge},
                   [](int32_t i) { return !IsRare(i); }});
  cases.push_back({"include_big_hnsw",
                   Labels({"big"}, {}),
                   true,
                   {RetrievalPath::kHnswMerge},
                   IsBig});
  cases.push_back({"include_big_exclude_small_hnsw",
                   Labels({"big"}, {"small"}),
                   true,
                   {RetrievalPath::kHnswMerge},
                   [](int32_t i) { return IsBig(i) && !IsSmall(i); }});
  {
    FilterCase c{
        "allow_list_hnsw", {}, true, {RetrievalPath::kAllowedScan}, {}};
    c.spec.item_ids = {s.ItemId(11), s.ItemId(12), s.ItemId(5999)};
    c.allows = [](int32_t i) { return i == 11 || i == 12 || i == 5999; };
    cases.push_back(c);
  }
  return cases;
}

TEST_F(ServingPersonalizationTest, FiltersGiveTheFilteredBruteForceTopN) {
  std::set<RetrievalPath> paths_taken;
  for (const FilterCase& c : FilterCases(snap())) {
    for (const int32_t user : {3, 7, static_cast<int32_t>(kUnknownIndex)}) {
      SCOPED_TRACE(absl::StrCat(c.name, " user ", user));
      RecommendQuery q;
      q.user_id = user == kUnknownIndex ? "nobody" : snap().UserId(user);
      q.n = 20;
      q.filter = c.spec;
      q.ef = 4000;  // broad enough that HNSW is exact on this catalog
      if (user == kUnknownIndex) q.recent = SomeRecent();
      const ServingModel& m = c.use_hnsw ? hnsw() : model();
      const absl::StatusOr<Recommendation> r = Recommend(q, &m);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(c.paths.count(r->retrieval_path), 1u)
          << RetrievalPathName(r->retrieval_path);
      paths_taken.insert(r->retrieval_path);
      EXPECT_TRUE(r->filtered);
      EXPECT_GT(r->allowed_fraction, 0.0);
      EXPECT_LE(r->allowed_fraction, 1.0);
      const UserVectors u =
          user == kUnknownIndex ? Folded(user, q.recent) : Stored(user);
      const std::set<int32_t> removed = Removed(user, q.recent);
      const std::vector<int32_t> offline = Offline(u, removed, c.allows, q.n);
      EXPECT_EQ(ItemsOf(*r), offline);
      int64_t available = 0;
      for (int32_t i = 0; i < kItems; ++i) {
        available += c.allows(i) && removed.count(i) == 0;
      }
      EXPECT_EQ(static_cast<int64_t>(r->items.size()),
                std::min<int64_t>(q.n, available));
      for (const RecommendedItem& item : r->items) {
        EXPECT_TRUE(c.allows(item.item)) << item.item;
      }
      q.exact = true;
      const absl::StatusOr<Recommendation> exact = Recommend(q, &m);
      ASSERT_TRUE(exact.ok()) << exact.status();
      EXPECT_EQ(exact->retrieval_path, RetrievalPath::kExact);
      EXPECT_EQ(ItemsOf(*exact), offline);
    }
  }
  // Every filtered path answered exactly.
  for (const RetrievalPath path :
       {RetrievalPath::kAllowedScan, RetrievalPath::kLabelScan,
        RetrievalPath::kNormScan, RetrievalPath::kHnswMerge}) {
    EXPECT_EQ(paths_taken.count(path), 1u) << RetrievalPathName(path);
  }
}

// A small allowed set without a norm-scan budget: the over-fetch asks HNSW
// for the whole catalog ((pool + removed) / share > items). An HNSW graph in
// inner-product space leaves some items unreachable (here 56 of 6,000, one
// of them an allowed item that belongs in the pool), so an answer taken from
// that search is not the filtered top n, although scoring the 60 allowed
// items would have been both exact and cheaper than the search.
TEST_F(ServingPersonalizationTest, OverFetchOfTheWholeCatalogIsExact) {
  for (const int32_t user : {3, 7, static_cast<int32_t>(kUnknownIndex)}) {
    SCOPED_TRACE(absl::StrCat("user ", user));
    RecommendQuery q;
    q.user_id = user == kUnknownIndex ? "nobody" : snap().UserId(user);
    q.n = 20;
    q.filter.include_labels = {"small"};
    q.ef = 6000;
    if (user == kUnknownIndex) q.recent = SomeRecent();
    const absl::StatusOr<Recommendation> r = Recommend(q, &hnsw());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->retrieval_path, RetrievalPath::kHnswMerge);
    const UserVectors u =
        user == kUnknownIndex ? Folded(user, q.recent) : Stored(user);
    EXPECT_EQ(ItemsOf(*r), Offline(u, Removed(user, q.recent), IsSmall, q.n));
  }
}

TEST_F(ServingPersonalizationTest, FilterAllowedFraction) {
  RecommendQuery q;
  q.user_id = snap().UserId(3);
  q.n = 5;
  q.filter.include_labels = {"small"};
  absl::StatusOr<Recommendation> r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->allowed_fraction, 60.0 / kItems);
  q.filter = {};
  r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->filtered);
  EXPECT_EQ(r->allowed_fraction, 1.0);
}

TEST_F(ServingPersonalizationTest, FilterAllowingOneItemOrNone) {
  for (const int32_t user : {3, static_cast<int32_t>(kUnknownIndex)}) {
    RecommendQuery q;
    q.user_id = user == kUnknownIndex ? "nobody" : snap().UserId(user);
    q.n = 10;
    q.filter.include_labels = {"one"};
    absl::StatusOr<Recommendation> r = Recommend(q);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->items.size(), 1u);
    EXPECT_EQ(r->items[0].item, 4242);
    // Unknown users without recent get the fallback, filtered alike.
    EXPECT_EQ(r->fallback, user == kUnknownIndex);

    q.filter.exclude_labels = {"one"};
    r = Recommend(q);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->items.empty());

    q.filter = {};
    q.filter.item_ids = {"no-such-item"};
    r = Recommend(q);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->items.empty());
    EXPECT_EQ(r->allowed_fraction, 0.0);
  }
}

TEST_F(ServingPersonalizationTest, FallbackHonoursTheFilter) {
  RecommendQuery q;
  q.user_id = "nobody";
  q.n = 15;
  q.filter.include_labels = {"small"};
  const absl::StatusOr<Recommendation> r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->fallback);
  ASSERT_EQ(r->items.size(), 15u);
  const auto popularity = snap().item_popularity();
  for (size_t j = 0; j < r->items.size(); ++j) {
    EXPECT_TRUE(IsSmall(r->items[j].item));
    if (j > 0) {
      EXPECT_GE(popularity[r->items[j - 1].item], popularity[r->items[j].item]);
    }
  }
}

void ExpectExplained(const Recommendation& r, const UserVectors& u,
                     const std::vector<UserInteraction>& interactions,
                     const Snapshot& s) {
  ASSERT_TRUE(r.explained);
  ASSERT_FALSE(r.items.empty());
  std::set<int32_t> interacted;
  for (const UserInteraction& x : interactions) interacted.insert(x.item);
  ASSERT_LE(interacted.size(), static_cast<size_t>(kMaxContributions));
  for (const RecommendedItem& item : r.items) {
    SCOPED_TRACE(absl::StrCat("item ", item.item));
    const ItemExplanation& e = item.explanation;
    const float unclamped = s.global_mean() + u.bias +
                            s.item_bias()[item.item] +
                            u.factors.dot(s.item_factors().row(item.item));
    EXPECT_NEAR(e.global_mean + e.user_bias + e.item_bias + e.interaction,
                unclamped, 1e-4f);
    EXPECT_FLOAT_EQ(e.global_mean, s.global_mean());
    EXPECT_NEAR(e.user_bias, u.bias, 1e-5f);
    EXPECT_FLOAT_EQ(e.item_bias, s.item_bias()[item.item]);
    EXPECT_FLOAT_EQ(s.rating_scale().Clamp(unclamped), item.predicted_rating);
    EXPECT_FLOAT_EQ(e.blend_weight, s.ranking().blend_weight);
    const float retrieval = u.retrieval.dot(s.item_embeddings().row(item.item));
    EXPECT_NEAR(e.retrieval_score, retrieval, 1e-4f);
    // Every interaction listed (each item once), summing to the score.
    ASSERT_EQ(e.because.size(), interacted.size());
    float sum = 0.0f;
    std::set<int32_t> listed;
    for (size_t j = 0; j < e.because.size(); ++j) {
      sum += e.because[j].share;
      listed.insert(e.because[j].item);
      if (j > 0) {
        EXPECT_GE(e.because[j - 1].share, e.because[j].share);
      }
    }
    EXPECT_EQ(listed, interacted);
    EXPECT_NEAR(sum, e.retrieval_score, 1e-3f * (1 + std::abs(retrieval)));
  }
}

TEST_F(ServingPersonalizationTest, ExplanationsOfAFoldedInUser) {
  RecommendQuery q;
  q.user_id = "nobody";
  q.n = 8;
  q.recent = SomeRecent();
  q.explain = true;
  const absl::StatusOr<Recommendation> r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectExplained(*r, Folded(kUnknownIndex, q.recent),
                  Interactions(kUnknownIndex, q.recent), snap());
  // Explaining changes nothing else.
  q.explain = false;
  const absl::StatusOr<Recommendation> plain = Recommend(q);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(ItemsOf(*plain), ItemsOf(*r));
  EXPECT_FALSE(plain->explained);
  EXPECT_TRUE(plain->items[0].explanation.because.empty());
}

TEST_F(ServingPersonalizationTest, ExplanationsOfAKnownUser) {
  // User 1 has 6 training items; with and without one recent interaction
  // that repeats a training item (listed once, both terms).
  const int32_t user = 1;
  ASSERT_LE(snap().SeenItems(user).size(), 9u);
  RecommendQuery q;
  q.user_id = snap().UserId(user);
  q.n = 8;
  q.explain = true;
  absl::StatusOr<Recommendation> r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->folded_in);
  ExpectExplained(*r, Stored(user), Interactions(user, {}), snap());

  q.recent = {Recent(snap().SeenItems(user)[0], 4.0), Recent(77, 3.0)};
  r = Recommend(q);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->folded_in);
  ExpectExplained(*r, Folded(user, q.recent), Interactions(user, q.recent),
                  snap());
}

TEST_F(ServingPersonalizationTest, PredictRatingWithRecentFoldsIn) {
  for (const int32_t user : {static_cast<int32_t>(kUnknownIndex), 5}) {
    PredictQuery p;
    p.user_id = user == kUnknownIndex ? "nobody" : snap().UserId(user);
    p.item_id = snap().ItemId(1234);
    p.recent = SomeRecent();
    p.recent.push_back({"unknown-item", 2.0, 0.0, ""});
    const absl::StatusOr<RatingPrediction> r =
        model().PredictRating(p, limits_, policy_);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->folded_in);
    EXPECT_EQ(r->recent_unknown, 1);
    EXPECT_EQ(r->user_known, user != kUnknownIndex);
    EXPECT_TRUE(r->item_known);
    const float want =
        snap().rating_scale().Clamp(RatingScore(Folded(user, p.recent), 1234));
    EXPECT_NEAR(r->rating, want, 1e-4f);
    // Not the prediction without them.
    p.recent.clear();
    const absl::StatusOr<RatingPrediction> before =
        model().PredictRating(p, limits_, policy_);
    ASSERT_TRUE(before.ok());
    EXPECT_FALSE(before->folded_in);
    EXPECT_FLOAT_EQ(before->rating, snap().Predict(user, 1234));
    EXPECT_NE(before->rating, r->rating);
  }
}

// cos(mean of the seeds' unit vectors, item), seeds left out, best first.
std::vector<int32_t> BruteSimilar(const Snapshot& s,
                                  const std::vector<int32_t>& seeds,
                                  const std::function<bool(int32_t)>& allowed,
                                  int32_t k) {
  const auto v = s.item_embeddings();
  Eigen::RowVectorXd q = Eigen::RowVectorXd::Zero(v.cols());
  for (const int32_t seed : seeds) {
    q += v.row(seed).cast<double>() / v.row(seed).cast<double>().norm();
  }
  q /= static_cast<double>(seeds.size());
  std::vector<std::pair<double, int32_t>> scored;
  for (int32_t i = 0; i < v.rows(); ++i) {
    if (std::count(seeds.begin(), seeds.end(), i) > 0 || !allowed(i)) continue;
    const Eigen::RowVectorXd x = v.row(i).cast<double>();
    scored.push_back({-q.dot(x) / (q.norm() * x.norm()), i});
  }
  std::sort(scored.begin(), scored.end());
  std::vector<int32_t> items;
  for (int32_t j = 0; j < k && j < static_cast<int32_t>(scored.size()); ++j) {
    items.push_back(scored[j].second);
  }
  return items;
}

TEST_F(ServingPersonalizationTest, SimilarItemsWithSeveralSeeds) {
  const std::vector<int32_t> seeds = {10, 1203, 4444};
  policy_.ef = 4000;  // broad: HNSW exact on this catalog
  struct Case {
    const char* name;
    ItemFilterSpec filter;
    std::function<bool(int32_t)> allows;
  };
  const std::vector<Case> cases = {
      {"none", {}, AllowAll},
      {"include_small", Labels({"small"}, {}), IsSmall},
      {"include_big_exclude_odd", Labels({"big"}, {"odd"}),
       [](int32_t i) { return IsBig(i) && !IsOdd(i); }},
      {"include_big", Labels({"big"}, {}), IsBig},
      {"exclude_rare", Labels({}, {"rare"}),
       [](int32_t i) { return !IsRare(i); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SimilarItemsQuery q;
    for (const int32_t seed : seeds) q.item_ids.push_back(snap().ItemId(seed));
    q.item_ids.push_back("unknown-seed");
    q.item_ids.push_back(snap().ItemId(seeds[0]));  // repeated
    q.k = 12;
    q.filter = c.filter;
    const absl::StatusOr<SimilarItemsResult> r =
        model().SimilarItems(q, limits_, policy_);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->filtered, !c.filter.empty());
    std::vector<int32_t> got;
    for (const SimilarItem& item : r->items) {
      got.push_back(item.item);
      EXPECT_GE(item.similarity, -1.0001f);
      EXPECT_LE(item.similarity, 1.0001f);
    }
    EXPECT_EQ(got, BruteSimilar(snap(), seeds, c.allows, q.k));
  }
}

TEST_F(ServingPersonalizationTest, SimilarItemsOneSeedAndUnknownSeeds) {
  SimilarItemsQuery q;
  q.item_ids = {snap().ItemId(99)};
  q.k = 5;
  q.filter.include_labels = {"small"};
  absl::StatusOr<SimilarItemsResult> r =
      model().SimilarItems(q, limits_, policy_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(
      [&] {
        std::vector<int32_t> items;
        for (const SimilarItem& i : r->items) items.push_back(i.item);
        return items;
      }(),
      BruteSimilar(snap(), {99}, IsSmall, 5));
  q.item_ids = {"a", "b"};
  r = model().SimilarItems(q, limits_, policy_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  // A filter allowing only a seed: nothing left.
  q.item_ids = {snap().ItemId(4242), snap().ItemId(1)};
  q.filter = Labels({"one"}, {});
  r = model().SimilarItems(q, limits_, policy_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->items.empty());
}

// CheckRecent accepts any finite weight >= 0; a huge one must give finite
// answers (or be refused as InvalidArgument naming the weight), never NaN.
TEST_F(ServingPersonalizationTest, HugeWeightsGiveFiniteAnswersOrAreRefused) {
  // (1e39 is finite as the request's double but not as a float.)
  for (const double weight : {1e12, 1e30, 3e38, 1e39}) {
    SCOPED_TRACE(absl::StrCat("weight ", weight));
    RecommendQuery q;
    q.user_id = snap().UserId(4);
    q.n = 5;
    q.recent = {Recent(17, 5.0, weight), Recent(250, 4.0)};
    q.explain = true;
    const absl::StatusOr<Recommendation> r = Recommend(q);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(r.status().message(), HasSubstr("recent[0].weight"));
      continue;
    }
    ASSERT_FALSE(r->items.empty());
    for (const RecommendedItem& item : r->items) {
      EXPECT_TRUE(std::isfinite(item.score)) << item.item;
      EXPECT_TRUE(std::isfinite(item.predicted_rating)) << item.item;
      EXPECT_TRUE(std::isfinite(item.explanation.retrieval_score)) << item.item;
    }
    PredictQuery p;
    p.user_id = q.user_id;
    p.item_id = snap().ItemId(9);
    p.recent = q.recent;
    const absl::StatusOr<RatingPrediction> rating =
        model().PredictRating(p, limits_, policy_);
    ASSERT_TRUE(rating.ok()) << rating.status();
    EXPECT_GE(rating->rating, snap().rating_scale().min);
    EXPECT_LE(rating->rating, snap().rating_scale().max);
  }
}

TEST_F(ServingPersonalizationTest, BadArgumentsNameTheField) {
  const auto expect_invalid = [](const absl::Status& status,
                                 const std::string& field) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << field << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(field));
  };
  RecommendQuery base;
  base.user_id = snap().UserId(2);
  base.n = 5;
  ASSERT_TRUE(Recommend(base).ok());
  {
    RecommendQuery q = base;
    q.recent = SomeRecent();
    limits_.max_recent = 4;
    expect_invalid(Recommend(q).status(), "recent");
    limits_ = {};
  }
  {
    RecommendQuery q = base;
    q.recent = {Recent(1, 3.0), Recent(2, NAN)};
    expect_invalid(Recommend(q).status(), "recent[1].rating");
    q.recent = {Recent(1, 7.0)};
    expect_invalid(Recommend(q).status(), "recent[0].rating");
    q.recent = {Recent(1, 0.5)};
    expect_invalid(Recommend(q).status(), "recent[0].rating");
    q.recent = {Recent(1, -2.0)};
    expect_invalid(Recommend(q).status(), "recent[0].rating");
    q.recent = {Recent(1, 3.0), Recent(2, 3.0, -1.0)};
    expect_invalid(Recommend(q).status(), "recent[1].weight");
    q.recent = {Recent(1, 3.0, INFINITY)};
    expect_invalid(Recommend(q).status(), "recent[0].weight");
    q.recent = {{"", 3.0, 0.0, ""}};
    expect_invalid(Recommend(q).status(), "recent[0].item_id");
  }
  {
    RecommendQuery q = base;
    q.filter.include_labels = {"big", "no-such-label"};
    expect_invalid(Recommend(q).status(), "filter.include_labels[1]");
    q.filter = Labels({}, {"no-such-label"});
    expect_invalid(Recommend(q).status(), "filter.exclude_labels[0]");
    q.filter = Labels({"big", "small"}, {"odd"});
    limits_.max_filter_labels = 2;
    expect_invalid(Recommend(q).status(), "labels");
    limits_ = {};
    q.filter = Labels({""}, {});
    expect_invalid(Recommend(q).status(), "filter.include_labels[0]");
    q.filter = {};
    q.filter.item_ids = {snap().ItemId(1), snap().ItemId(2), snap().ItemId(3)};
    limits_.max_filter_items = 2;
    expect_invalid(Recommend(q).status(), "filter.item_ids");
    limits_ = {};
    q.filter = {};
    q.filter.item_ids = {snap().ItemId(1), ""};
    expect_invalid(Recommend(q).status(), "filter.item_ids[1]");
  }
  {
    PredictQuery p;
    p.user_id = "nobody";
    p.item_id = snap().ItemId(3);
    p.recent = {Recent(1, NAN)};
    expect_invalid(model().PredictRating(p, limits_, policy_).status(),
                   "recent[0].rating");
    p.recent = SomeRecent();
    limits_.max_recent = 2;
    expect_invalid(model().PredictRating(p, limits_, policy_).status(),
                   "recent");
    limits_ = {};
  }
  {
    SimilarItemsQuery q;
    q.k = 3;
    expect_invalid(model().SimilarItems(q, limits_, policy_).status(),
                   "item_id");
    q.item_ids = {snap().ItemId(1), snap().ItemId(2), snap().ItemId(3)};
    limits_.max_seeds = 2;
    expect_invalid(model().SimilarItems(q, limits_, policy_).status(),
                   "item_ids");
    limits_ = {};
    q.item_ids = {snap().ItemId(1), ""};
    expect_invalid(model().SimilarItems(q, limits_, policy_).status(),
                   "item_ids[1]");
    q.item_ids = {""};
    expect_invalid(model().SimilarItems(q, limits_, policy_).status(),
                   "item_id");
    q.item_ids = {snap().ItemId(1)};
    q.filter.include_labels = {"no-such-label"};
    expect_invalid(model().SimilarItems(q, limits_, policy_).status(),
                   "filter.include_labels[0]");
  }
}

}  // namespace
}  // namespace recserve

namespace recserve {
namespace {

// user_seen_ratings.npy is checked to be finite, not to lie on the rating
// scale; a snapshot whose seen ratings are huge (size and checksum kept
// right) must still answer with finite, in-scale numbers or refuse to load.
TEST(ServingPersonalizationLoadTest, HugeSeenRatingsGiveFiniteAnswers) {
  testutil::TempDir tmp;
  const testutil::TinyModel tiny = testutil::MakeTinyModel(6, 12, 3, 4);
  const RetrievalModel retrieval = testutil::MakeTinyRetrieval(6, 12, 4);
  const FoldInParams params = {
      .rating = RatingUserPrior::Ridge(3, 0.1f, 0.1f),
      .retrieval = {.reg = 0.1f, .alpha = 1.0f, .unobserved_weight = 1.0f}};
  SnapshotContents contents;
  contents.train = &tiny.train;
  contents.model = &tiny.model;
  contents.algo = "als";
  contents.retrieval = &retrieval;
  contents.ranking = {.candidates = 6, .blend_weight = 0.5f};
  contents.fold_in = &params;
  absl::StatusOr<std::string> version = PublishSnapshot(tmp.path(), contents);
  ASSERT_TRUE(version.ok()) << version.status();
  const std::string dir = tmp.Path(*version);
  const std::string path = absl::StrCat(dir, "/", kUserSeenRatingsFile);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 10u);
  const size_t header = 10 + static_cast<uint8_t>(bytes[8]) +
                        256 * static_cast<uint8_t>(bytes[9]);
  const float huge = 3e38f;
  for (size_t at = header; at + 4 <= bytes.size(); at += 4) {
    std::memcpy(&bytes[at], &huge, 4);
  }
  testutil::ReplaceFileKeepingManifestValid(dir, kUserSeenRatingsFile, bytes);
  absl::StatusOr<std::shared_ptr<const ServingModel>> model =
      LoadServingModel(dir, {});
  if (!model.ok()) {
    SUCCEED() << "refused: " << model.status();
    return;
  }
  const Snapshot& s = (*model)->snapshot();
  const ServingLimits limits;
  const ServingPolicy policy;
  for (int32_t u = 0; u < s.num_users(); ++u) {
    if (s.SeenItems(u).empty()) continue;
    RecommendQuery q;
    q.user_id = s.UserId(u);
    q.n = 4;
    q.recent = {{s.ItemId(0), 5.0, 0.0, ""}};
    q.explain = true;
    const absl::StatusOr<Recommendation> r =
        (*model)->Recommend(q, limits, policy);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const RecommendedItem& item : r->items) {
      EXPECT_TRUE(std::isfinite(item.score)) << "user " << u;
      EXPECT_TRUE(std::isfinite(item.predicted_rating)) << "user " << u;
      EXPECT_TRUE(std::isfinite(item.explanation.retrieval_score))
          << "user " << u;
    }
    PredictQuery p;
    p.user_id = s.UserId(u);
    p.item_id = s.ItemId(1);
    p.recent = q.recent;
    const absl::StatusOr<RatingPrediction> rating =
        (*model)->PredictRating(p, limits, policy);
    ASSERT_TRUE(rating.ok()) << rating.status();
    EXPECT_GE(rating->rating, s.rating_scale().min) << "user " << u;
    EXPECT_LE(rating->rating, s.rating_scale().max) << "user " << u;
  }
}

}  // namespace
}  // namespace recserve
