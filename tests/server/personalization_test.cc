// Request-time personalization through the real server: recent interactions
// folded into the user's vectors, item filters, explanations and
// SimilarItems of several seeds, called over gRPC against a snapshot the
// real trainer made from generated data (whose genres are item labels).
//
// The oracles are the snapshot itself and the server's own exact answers:
// a filtered ranking must equal the rerank (TwoStageBlend, the formula the
// proto documents) of the best allowed items, computed here from the
// retrieval scores and rating terms an unfiltered, explained, exact request
// reports for every unseen item.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/model/two_stage_ranker.h"
#include "core/serve/serving_model.h"
#include "core/snapshot/snapshot.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// What an unfiltered, explained, exact Recommend reports of one item.
struct ItemTerms {
  double retrieval = 0;  // Explanation.retrieval_score
  double rating = 0;     // the unclamped predicted rating, summed from terms
};

class PersonalizationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    const std::string root =
        testutil::TrainGeneratedSnapshot(tmp_->path(), 300, 200, 20'000);
    absl::StatusOr<std::shared_ptr<const Snapshot>> s =
        Snapshot::LoadLatest(root);
    ASSERT_TRUE(s.ok()) << s.status();
    snapshot_ = new std::shared_ptr<const Snapshot>(*s);
    ServerOptions o;
    o.snapshot_dir = root;
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "127.0.0.1:0";
    o.poll_interval = absl::Milliseconds(50);
    o.shutdown_grace = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<RecserveServer>> server =
        RecserveServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_TRUE(testutil::WaitFor(
        [] {
          return testutil::HealthCheck(server_->port()) == testutil::kServing;
        },
        absl::Seconds(60)));
    stub_ = v1::Recommender::NewStub(
                grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                    grpc::InsecureChannelCredentials()))
                .release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    if (server_ != nullptr) server_->Shutdown();
    delete server_;
    delete snapshot_;
    delete tmp_;
  }
  void SetUp() override {
    ASSERT_NE(stub_, nullptr);
    ASSERT_NE(snapshot_->get()->fold_in(), nullptr)
        << "the trainer published no fold-in parameters";
  }

  static const Snapshot& snap() { return **snapshot_; }
  static std::unique_ptr<grpc::ClientContext> Context() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
    return c;
  }
  static grpc::Status Recommend(const v1::RecommendRequest& r,
                                v1::RecommendResponse* out) {
    out->Clear();
    return stub_->Recommend(Context().get(), r, out);
  }
  static grpc::Status Similar(const v1::SimilarItemsRequest& r,
                              v1::SimilarItemsResponse* out) {
    out->Clear();
    return stub_->SimilarItems(Context().get(), r, out);
  }
  static grpc::Status Predict(const v1::PredictRatingRequest& r,
                              v1::PredictRatingResponse* out) {
    out->Clear();
    return stub_->PredictRating(Context().get(), r, out);
  }

  static v1::Interaction Recent(int32_t item, double rating,
                                double weight = 0) {
    v1::Interaction r;
    r.set_item_id(snap().ItemId(item));
    r.set_rating(rating);
    r.set_weight(weight);
    return r;
  }
  // A visitor the snapshot does not know, with five recent interactions
  // (rated, unrated and weighted) and one with an unknown item.
  static v1::RecommendRequest NewVisitor(int32_t n) {
    v1::RecommendRequest r;
    r.set_user_id("visitor-not-in-training");
    r.set_n(n);
    const RatingScale& scale = snap().rating_scale();
    *r.add_recent() = Recent(3, scale.max);
    *r.add_recent() = Recent(17, scale.max, 2.0);
    *r.add_recent() = Recent(42, 0.0);
    *r.add_recent() = Recent(77, scale.min);
    *r.add_recent() = Recent(120, (scale.min + scale.max) / 2);
    v1::Interaction unknown;
    unknown.set_item_id("no-such-item");
    unknown.set_rating(scale.max);
    *r.add_recent() = unknown;
    return r;
  }
  static std::vector<std::string> Ids(
      const google::protobuf::RepeatedPtrField<v1::ScoredItem>& items) {
    std::vector<std::string> ids;
    for (const v1::ScoredItem& item : items) ids.push_back(item.item_id());
    return ids;
  }

  // Every item `request` may return without a filter (n and candidates set
  // to the whole catalog, exact, explained), with its terms.
  static absl::flat_hash_map<int32_t, ItemTerms> AllTerms(
      v1::RecommendRequest request) {
    request.set_n(snap().num_items());
    request.set_candidates(snap().num_items());
    request.set_exact(true);
    request.set_explain(true);
    request.clear_filter();
    v1::RecommendResponse response;
    const grpc::Status status = Recommend(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    absl::flat_hash_map<int32_t, ItemTerms> terms;
    for (const v1::ScoredItem& item : response.items()) {
      const v1::Explanation& e = item.explanation();
      terms[snap().FindItem(item.item_id())] = {
          .retrieval = e.retrieval_score(),
          .rating = e.global_mean() + e.user_bias() + e.item_bias() +
                    e.interaction()};
    }
    return terms;
  }

  // The answer a filtered request with pool `candidates` must give: the
  // `candidates` best allowed items by retrieval score, reranked, the best
  // n; (item, score) pairs.
  static std::vector<std::pair<int32_t, double>> Oracle(
      const absl::flat_hash_map<int32_t, ItemTerms>& terms,
      const std::function<bool(int32_t)>& allowed, int32_t candidates,
      int32_t n) {
    std::vector<std::pair<int32_t, ItemTerms>> pool;
    for (const auto& [item, t] : terms) {
      if (allowed(item)) pool.push_back({item, t});
    }
    std::sort(pool.begin(), pool.end(), [](const auto& a, const auto& b) {
      return a.second.retrieval > b.second.retrieval;
    });
    if (static_cast<int32_t>(pool.size()) > candidates) pool.resize(candidates);
    std::vector<std::pair<int32_t, double>> ranked;
    if (pool.empty()) return ranked;
    const float best = pool.front().second.retrieval;
    const float worst = pool.back().second.retrieval;
    for (const auto& [item, t] : pool) {
      ranked.push_back({item, TwoStageBlend(t.retrieval, best, worst, t.rating,
                                            snap().rating_scale(),
                                            snap().ranking().blend_weight)});
    }
    std::sort(ranked.begin(), ranked.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    if (static_cast<int32_t>(ranked.size()) > n) ranked.resize(n);
    return ranked;
  }

  // `response` is `oracle`: the same scores, and the same items wherever the
  // oracle's neighbours are not tied within float noise.
  static void ExpectOracle(
      const v1::RecommendResponse& response,
      const std::vector<std::pair<int32_t, double>>& oracle) {
    ASSERT_EQ(response.items_size(), static_cast<int>(oracle.size()));
    constexpr double kNoise = 1e-4;
    for (int k = 0; k < response.items_size(); ++k) {
      EXPECT_NEAR(response.items(k).score(), oracle[k].second, kNoise) << k;
      const bool tied =
          (k > 0 && oracle[k - 1].second - oracle[k].second < kNoise) ||
          (k + 1 < static_cast<int>(oracle.size()) &&
           oracle[k].second - oracle[k + 1].second < kNoise);
      if (!tied) {
        EXPECT_EQ(response.items(k).item_id(), snap().ItemId(oracle[k].first))
            << "rank " << k;
      }
    }
  }

  // Label ids of `item`, as a set.
  static bool HasLabel(int32_t item, int32_t label) {
    const absl::Span<const int32_t> labels = snap().ItemLabels(item);
    return std::find(labels.begin(), labels.end(), label) != labels.end();
  }
  // The label carried by the most items, and the second most.
  static std::pair<int32_t, int32_t> CommonLabels() {
    std::vector<int32_t> count(snap().num_labels());
    for (int32_t i = 0; i < snap().num_items(); ++i) {
      for (const int32_t l : snap().ItemLabels(i)) ++count[l];
    }
    std::vector<int32_t> order(count.size());
    for (size_t l = 0; l < order.size(); ++l) order[l] = l;
    std::sort(order.begin(), order.end(),
              [&](int32_t a, int32_t b) { return count[a] > count[b]; });
    return {order[0], order[1]};
  }

  static testutil::TempDir* tmp_;
  static std::shared_ptr<const Snapshot>* snapshot_;
  static RecserveServer* server_;
  static v1::Recommender::Stub* stub_;
};

testutil::TempDir* PersonalizationTest::tmp_ = nullptr;
std::shared_ptr<const Snapshot>* PersonalizationTest::snapshot_ = nullptr;
RecserveServer* PersonalizationTest::server_ = nullptr;
v1::Recommender::Stub* PersonalizationTest::stub_ = nullptr;

TEST_F(PersonalizationTest, ModelInfoListsLabelsAndFoldIn) {
  v1::ModelInfo info;
  ASSERT_TRUE(
      stub_->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info)
          .ok());
  EXPECT_TRUE(info.fold_in());
  ASSERT_EQ(info.labels_size(), snap().num_labels());
  ASSERT_GT(info.labels_size(), 1) << "generated genres are labels";
  EXPECT_TRUE(std::is_sorted(info.labels().begin(), info.labels().end()));
  for (int l = 0; l < info.labels_size(); ++l) {
    EXPECT_EQ(info.labels(l), snap().LabelName(l));
  }
}

TEST_F(PersonalizationTest, UnknownUserWithRecentIsFoldedIn) {
  const v1::RecommendRequest request = NewVisitor(10);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_TRUE(response.folded_in());
  EXPECT_FALSE(response.fallback());
  EXPECT_EQ(response.recent_unknown(), 1);
  ASSERT_EQ(response.items_size(), 10);
  std::set<std::string> recent;
  for (const v1::Interaction& r : request.recent()) recent.insert(r.item_id());
  for (const v1::ScoredItem& item : response.items()) {
    EXPECT_EQ(recent.count(item.item_id()), 0u)
        << item.item_id() << ": recent items count as seen";
    EXPECT_FALSE(item.has_explanation()) << "not asked for";
    const int32_t index = snap().FindItem(item.item_id());
    ASSERT_NE(index, kUnknownIndex);
    EXPECT_EQ(item.labels_size(),
              static_cast<int>(snap().ItemLabels(index).size()));
  }

  // Not the popularity fallback the same user gets without recent items.
  v1::RecommendRequest plain = request;
  plain.clear_recent();
  v1::RecommendResponse fallback;
  ASSERT_TRUE(Recommend(plain, &fallback).ok());
  EXPECT_TRUE(fallback.fallback());
  EXPECT_FALSE(fallback.folded_in());

  // Only unknown recent items: nothing to fold in, the fallback.
  v1::RecommendRequest unknown_only = plain;
  unknown_only.add_recent()->set_item_id("no-such-item");
  v1::RecommendResponse unknown_response;
  ASSERT_TRUE(Recommend(unknown_only, &unknown_response).ok());
  EXPECT_TRUE(unknown_response.fallback());
  EXPECT_FALSE(unknown_response.folded_in());
  EXPECT_EQ(unknown_response.recent_unknown(), 1);
}

TEST_F(PersonalizationTest, FoldedInRankingIsTheSameExactOrNot) {
  v1::RecommendRequest request = NewVisitor(20);
  v1::RecommendResponse approximate, exact;
  ASSERT_TRUE(Recommend(request, &approximate).ok());
  request.set_exact(true);
  ASSERT_TRUE(Recommend(request, &exact).ok());
  EXPECT_EQ(Ids(approximate.items()), Ids(exact.items()));
  ASSERT_EQ(approximate.items_size(), exact.items_size());
  for (int k = 0; k < exact.items_size(); ++k) {
    EXPECT_NEAR(approximate.items(k).score(), exact.items(k).score(), 1e-5);
  }
}

TEST_F(PersonalizationTest, KnownUserWithRecentIsFoldedInToo) {
  const int32_t user = 11;
  v1::RecommendRequest request;
  request.set_user_id(snap().UserId(user));
  request.set_n(10);
  const absl::Span<const int32_t> seen = snap().SeenItems(user);
  int32_t unseen = 0;
  while (std::count(seen.begin(), seen.end(), unseen)) ++unseen;
  *request.add_recent() = Recent(unseen, snap().rating_scale().max);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_TRUE(response.folded_in());
  EXPECT_FALSE(response.fallback());
  for (const v1::ScoredItem& item : response.items()) {
    const int32_t index = snap().FindItem(item.item_id());
    EXPECT_NE(index, unseen);
    EXPECT_FALSE(std::count(seen.begin(), seen.end(), index));
  }
}

TEST_F(PersonalizationTest, PredictRatingWithRecentIsFoldedIn) {
  const RatingScale& scale = snap().rating_scale();
  v1::PredictRatingRequest request;
  request.set_user_id("visitor-not-in-training");
  request.set_item_id(snap().ItemId(9));
  v1::PredictRatingResponse plain;
  ASSERT_TRUE(Predict(request, &plain).ok());
  EXPECT_TRUE(plain.fallback());
  EXPECT_FALSE(plain.folded_in());

  *request.add_recent() = Recent(3, scale.max);
  *request.add_recent() = Recent(17, scale.max);
  *request.add_recent() = Recent(77, scale.min);
  v1::PredictRatingResponse folded;
  ASSERT_TRUE(Predict(request, &folded).ok());
  EXPECT_TRUE(folded.folded_in());
  EXPECT_FALSE(folded.user_known());
  EXPECT_TRUE(folded.item_known());
  EXPECT_FALSE(folded.fallback()) << "the user's vector came from recent";
  EXPECT_GE(folded.rating(), scale.min);
  EXPECT_LE(folded.rating(), scale.max);

  // The prediction is the one Recommend explains for the same interactions.
  v1::RecommendRequest recommend;
  recommend.set_user_id(request.user_id());
  recommend.set_n(snap().num_items());
  recommend.set_candidates(snap().num_items());
  recommend.set_exact(true);
  *recommend.mutable_recent() = request.recent();
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(recommend, &response).ok());
  bool found = false;
  for (const v1::ScoredItem& item : response.items()) {
    if (item.item_id() != request.item_id()) continue;
    found = true;
    EXPECT_NEAR(item.predicted_rating(), folded.rating(), 1e-4);
  }
  EXPECT_TRUE(found) << "item 9 is neither recent nor excluded";
}

TEST_F(PersonalizationTest, LabelFilterIsTheExactTopNOfTheAllowedItems) {
  const auto [common, second] = CommonLabels();
  const auto allowed = [&, common = common, second = second](int32_t item) {
    return HasLabel(item, common) && !HasLabel(item, second);
  };
  for (const bool visitor : {false, true}) {
    SCOPED_TRACE(visitor ? "folded-in visitor" : "known user");
    v1::RecommendRequest request = NewVisitor(10);
    if (!visitor) {
      request.clear_recent();
      request.set_user_id(snap().UserId(5));
    }
    const absl::flat_hash_map<int32_t, ItemTerms> terms = AllTerms(request);
    ASSERT_FALSE(terms.empty());
    request.mutable_filter()->add_include_labels(snap().LabelName(common));
    request.mutable_filter()->add_exclude_labels(snap().LabelName(second));
    request.set_exact(true);
    // The snapshot's pool, and one covering every allowed item.
    for (const int32_t candidates : {0, snap().num_items()}) {
      request.set_candidates(candidates);
      v1::RecommendResponse response;
      ASSERT_TRUE(Recommend(request, &response).ok());
      for (const v1::ScoredItem& item : response.items()) {
        EXPECT_TRUE(allowed(snap().FindItem(item.item_id()))) << item.item_id();
      }
      const int32_t pool = candidates > 0
                               ? candidates
                               : std::max(snap().ranking().candidates, 10);
      ExpectOracle(response, Oracle(terms, allowed, pool, 10));
      // Without exact, the same answer.
      request.set_exact(false);
      v1::RecommendResponse approximate;
      ASSERT_TRUE(Recommend(request, &approximate).ok());
      EXPECT_EQ(Ids(approximate.items()), Ids(response.items()));
      request.set_exact(true);
    }
  }
}

TEST_F(PersonalizationTest, ItemAllowListAndFiltersThatAllowOneOrNone) {
  const int32_t user = 5;
  v1::RecommendRequest request;
  request.set_user_id(snap().UserId(user));
  request.set_n(10);
  request.set_exact(true);
  const absl::flat_hash_map<int32_t, ItemTerms> terms = AllTerms(request);

  // An allow-list of 29 items (some seen, one unknown): the best of them.
  absl::flat_hash_set<int32_t> listed;
  for (int32_t i = 0; i < snap().num_items(); i += 7) {
    listed.insert(i);
    request.mutable_filter()->add_item_ids(snap().ItemId(i));
  }
  request.mutable_filter()->add_item_ids("no-such-item");
  request.set_candidates(snap().num_items());
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  ExpectOracle(response,
               Oracle(
                   terms, [&](int32_t item) { return listed.contains(item); },
                   snap().num_items(), 10));

  // One allowed item the user has not seen.
  int32_t only = terms.begin()->first;
  request.mutable_filter()->clear_item_ids();
  request.mutable_filter()->add_item_ids(snap().ItemId(only));
  ASSERT_TRUE(Recommend(request, &response).ok());
  ASSERT_EQ(response.items_size(), 1);
  EXPECT_EQ(response.items(0).item_id(), snap().ItemId(only));

  // None: a label both included and excluded; an allow-list of unknown ids.
  request.clear_filter();
  const std::string label = snap().LabelName(CommonLabels().first);
  request.mutable_filter()->add_include_labels(label);
  request.mutable_filter()->add_exclude_labels(label);
  grpc::Status status = Recommend(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.items(), IsEmpty());
  request.clear_filter();
  request.mutable_filter()->add_item_ids("no-such-item");
  status = Recommend(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.items(), IsEmpty())
      << "an allow-list of unknown ids allows nothing";
}

TEST_F(PersonalizationTest, ExplanationsAddUp) {
  // A visitor with at most 10 known recent items: `because` lists all of
  // them, so the shares add up to the retrieval score.
  v1::RecommendRequest request = NewVisitor(0);
  const int32_t pool = snap().num_items() - 5;  // every unseen item
  request.set_n(pool);
  request.set_candidates(pool);
  request.set_explain(true);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  ASSERT_EQ(response.items_size(), pool);
  std::set<std::string> recent;
  for (const v1::Interaction& r : request.recent()) recent.insert(r.item_id());
  double best = -std::numeric_limits<double>::infinity();
  double worst = std::numeric_limits<double>::infinity();
  for (const v1::ScoredItem& item : response.items()) {
    best = std::max(best, item.explanation().retrieval_score());
    worst = std::min(worst, item.explanation().retrieval_score());
  }
  const RatingScale& scale = snap().rating_scale();
  for (const v1::ScoredItem& item : response.items()) {
    SCOPED_TRACE(item.item_id());
    ASSERT_TRUE(item.has_explanation());
    const v1::Explanation& e = item.explanation();
    EXPECT_NEAR(e.global_mean(), snap().global_mean(), 1e-5);
    EXPECT_NEAR(e.blend_weight(), snap().ranking().blend_weight, 1e-6);
    EXPECT_NEAR(e.item_bias(),
                snap().item_bias()(snap().FindItem(item.item_id())), 1e-5);
    const double rating =
        e.global_mean() + e.user_bias() + e.item_bias() + e.interaction();
    EXPECT_NEAR(item.predicted_rating(),
                std::clamp(rating, double{scale.min}, double{scale.max}), 1e-4);
    EXPECT_NEAR(item.score(),
                TwoStageBlend(e.retrieval_score(), best, worst, rating, scale,
                              e.blend_weight()),
                1e-4);
    ASSERT_GT(e.because_size(), 0);
    EXPECT_LE(e.because_size(), 5) << "the visitor's known recent items";
    double shares = 0;
    for (int c = 0; c < e.because_size(); ++c) {
      const v1::Contribution& because = e.because(c);
      EXPECT_EQ(recent.count(because.item_id()), 1u) << because.item_id();
      EXPECT_FALSE(because.title().empty());
      if (c > 0) {
        EXPECT_GE(e.because(c - 1).share(), because.share()) << "largest first";
      }
      shares += because.share();
    }
    EXPECT_NEAR(shares, e.retrieval_score(),
                1e-3 * std::max(1.0, std::abs(e.retrieval_score())));
  }
}

TEST_F(PersonalizationTest, SimilarItemsOfSeveralSeedsWithAFilter) {
  const Eigen::Map<const FactorMatrix> v = ItemVectorsOf(snap());
  const std::vector<int32_t> seeds = {3, 17, 42};
  Eigen::RowVectorXf mean = Eigen::RowVectorXf::Zero(v.cols());
  for (const int32_t s : seeds) mean += v.row(s).normalized();
  const auto brute_force = [&](const std::function<bool(int32_t)>& allowed,
                               int32_t k) {
    std::vector<std::pair<double, int32_t>> scored;
    for (int32_t i = 0; i < snap().num_items(); ++i) {
      if (std::count(seeds.begin(), seeds.end(), i) || !allowed(i)) continue;
      scored.push_back(
          {mean.dot(v.row(i)) / (mean.norm() * v.row(i).norm()), i});
    }
    std::sort(scored.rbegin(), scored.rend());
    scored.resize(std::min<size_t>(scored.size(), k));
    return scored;
  };
  const auto expect = [&](const v1::SimilarItemsResponse& response,
                          const std::vector<std::pair<double, int32_t>>& want) {
    ASSERT_EQ(response.items_size(), static_cast<int>(want.size()));
    for (int k = 0; k < response.items_size(); ++k) {
      EXPECT_NEAR(response.items(k).score(), want[k].first, 1e-4) << k;
      EXPECT_EQ(response.items(k).item_id(), snap().ItemId(want[k].second))
          << k;
    }
  };

  // item_id and item_ids together are the seeds; an unknown one is skipped.
  v1::SimilarItemsRequest request;
  request.set_item_id(snap().ItemId(seeds[0]));
  request.add_item_ids(snap().ItemId(seeds[1]));
  request.add_item_ids("no-such-item");
  request.add_item_ids(snap().ItemId(seeds[2]));
  request.set_k(8);
  v1::SimilarItemsResponse response;
  ASSERT_TRUE(Similar(request, &response).ok());
  expect(response, brute_force([](int32_t) { return true; }, 8));

  const int32_t label = CommonLabels().first;
  request.mutable_filter()->add_include_labels(snap().LabelName(label));
  ASSERT_TRUE(Similar(request, &response).ok());
  expect(response,
         brute_force([&](int32_t i) { return HasLabel(i, label); }, 8));
  for (const v1::ScoredItem& item : response.items()) {
    EXPECT_THAT(item.labels(), ::testing::Contains(snap().LabelName(label)));
  }

  // Only item_ids, one seed: as item_id alone.
  v1::SimilarItemsRequest one, classic;
  one.add_item_ids(snap().ItemId(seeds[0]));
  one.set_k(5);
  classic.set_item_id(snap().ItemId(seeds[0]));
  classic.set_k(5);
  v1::SimilarItemsResponse one_response, classic_response;
  ASSERT_TRUE(Similar(one, &one_response).ok());
  ASSERT_TRUE(Similar(classic, &classic_response).ok());
  EXPECT_EQ(Ids(one_response.items()), Ids(classic_response.items()));

  // Every seed unknown: NOT_FOUND.
  v1::SimilarItemsRequest unknown;
  unknown.add_item_ids("no-such-item");
  unknown.add_item_ids("nor-this-one");
  unknown.set_k(5);
  EXPECT_EQ(Similar(unknown, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(PersonalizationTest, BadInputIsInvalidArgumentNamingTheField) {
  const auto expect_invalid = [](const grpc::Status& status,
                                 const std::string& field) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << field << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  };
  const RatingScale& scale = snap().rating_scale();
  v1::RecommendResponse response;

  v1::RecommendRequest request = NewVisitor(5);
  request.mutable_filter()->add_include_labels("no-such-label");
  expect_invalid(Recommend(request, &response), "include_labels");
  request = NewVisitor(5);
  request.mutable_filter()->add_exclude_labels("no-such-label");
  expect_invalid(Recommend(request, &response), "exclude_labels");

  request = NewVisitor(5);
  request.mutable_recent(1)->set_rating(std::nan(""));
  expect_invalid(Recommend(request, &response), "recent[1].rating");
  request = NewVisitor(5);
  request.mutable_recent(2)->set_rating(scale.max + 1);
  expect_invalid(Recommend(request, &response), "recent[2].rating");
  request = NewVisitor(5);
  request.mutable_recent(0)->set_weight(-1);
  expect_invalid(Recommend(request, &response), "recent[0].weight");
  request = NewVisitor(5);
  request.mutable_recent(0)->set_weight(
      std::numeric_limits<double>::infinity());
  expect_invalid(Recommend(request, &response), "recent[0].weight");

  // Over the default limits (ServingLimits).
  const ServingLimits limits;
  request = NewVisitor(5);
  while (request.recent_size() <= limits.max_recent) {
    *request.add_recent() = Recent(request.recent_size() % 50, 0);
  }
  expect_invalid(Recommend(request, &response), "recent");
  request = NewVisitor(5);
  for (int i = 0; i <= limits.max_filter_labels; ++i) {
    request.mutable_filter()->add_include_labels(snap().LabelName(0));
  }
  expect_invalid(Recommend(request, &response), "labels");
  request = NewVisitor(5);
  for (int i = 0; i <= limits.max_filter_items; ++i) {
    request.mutable_filter()->add_item_ids(snap().ItemId(i % 100));
  }
  expect_invalid(Recommend(request, &response), "item_ids");

  v1::SimilarItemsRequest similar;
  similar.set_k(5);
  for (int i = 0; i <= limits.max_seeds; ++i) {
    similar.add_item_ids(snap().ItemId(i));
  }
  v1::SimilarItemsResponse similar_response;
  expect_invalid(Similar(similar, &similar_response), "item_ids");
  similar.clear_item_ids();
  similar.set_item_id(snap().ItemId(1));
  similar.mutable_filter()->add_include_labels("no-such-label");
  expect_invalid(Similar(similar, &similar_response), "include_labels");

  v1::PredictRatingRequest predict;
  predict.set_user_id("visitor");
  predict.set_item_id(snap().ItemId(1));
  *predict.add_recent() = Recent(2, scale.min - 1);
  v1::PredictRatingResponse prediction;
  expect_invalid(Predict(predict, &prediction), "recent[0].rating");
}

TEST_F(PersonalizationTest, MetricsCountPersonalizationAndPassPromtool) {
  v1::RecommendRequest request = NewVisitor(5);
  request.set_explain(true);
  request.mutable_filter()->add_include_labels(
      snap().LabelName(CommonLabels().first));
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  v1::SimilarItemsRequest similar;
  similar.set_item_id(snap().ItemId(1));
  similar.set_k(3);
  similar.mutable_filter()->add_item_ids(snap().ItemId(2));
  v1::SimilarItemsResponse similar_response;
  ASSERT_TRUE(Similar(similar, &similar_response).ok());

  const std::string metrics =
      testutil::HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_FALSE(metrics.empty());
  for (const char* expected : {
           "recserve_fold_ins_total{method=\"Recommend\"} ",
           "recserve_fold_ins_total{method=\"PredictRating\"} ",
           "recserve_recent_unknown_items_total ",
           "recserve_filtered_requests_total{method=\"Recommend\"} ",
           "recserve_filtered_requests_total{method=\"SimilarItems\"} ",
           "recserve_filter_allowed_fraction_bucket{method=\"SimilarItems\","
           "le=\"0.01\"} ",
           "recserve_explanations_total ",
       }) {
    EXPECT_THAT(metrics, HasSubstr(expected));
  }
  // Counts at least this test's: the suite shares one server.
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr(
                           "recserve_fold_ins_total{method=\"Recommend\"} 0")));
  EXPECT_THAT(metrics,
              ::testing::Not(HasSubstr("recserve_explanations_total 0")));
  EXPECT_THAT(metrics, ::testing::Not(
                           HasSubstr("recserve_recent_unknown_items_total 0")));
  // One item of 200 passes SimilarItems' filter: 0.005.
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr(
                           "recserve_filter_allowed_fraction_bucket{method="
                           "\"SimilarItems\",le=\"0.01\"} 0")));
  const std::string file = tmp_->Path("metrics.txt");
  testutil::WriteFile(file, metrics);
  const testutil::CommandResult promtool = testutil::RunCommand(
      {"/bin/sh", "-c", absl::StrCat("promtool check metrics < ", file)});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
  EXPECT_EQ(promtool.out, "") << "promtool reports nothing";
}

}  // namespace
}  // namespace recserve::server
