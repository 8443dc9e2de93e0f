// An implicit-feedback (events-only) snapshot served through the real
// server over gRPC: built here from a small event log with a negative event
// type (TrainImplicitAls, PublishSnapshot), then Recommend, SimilarItems,
// PredictRating and GetModelInfo as a client sees them; and the same log
// trained with recency-weighted confidence, where fold-in weighs a user's
// interactions by their order.
//
// The oracles are computed here, independently of the serving code: the
// retrieval model's exact top n over the user's unseen items (the embeddings
// the test trained), and for fold-in the implicit-ALS user row solved
// densely in double precision from the confidences the snapshot prescribes.

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/confidence.h"
#include "core/model/implicit_row_solver.h"
#include "core/serve/serving_model.h"
#include "core/snapshot/snapshot.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/implicit_snapshot.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<RecserveServer> StartServer(const std::string& root) {
  ServerOptions o;
  o.snapshot_dir = root;
  o.listen = "127.0.0.1:0";
  o.metrics_listen = "127.0.0.1:0";
  o.poll_interval = absl::Milliseconds(50);
  o.shutdown_grace = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<RecserveServer>> server =
      RecserveServer::Start(o);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  RecserveServer* s = server->get();
  EXPECT_TRUE(testutil::WaitFor(
      [s] { return testutil::HealthCheck(s->port()) == testutil::kServing; },
      absl::Seconds(30)));
  return *std::move(server);
}

std::unique_ptr<v1::Recommender::Stub> Connect(const RecserveServer& server) {
  return v1::Recommender::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                          grpc::InsecureChannelCredentials()));
}

class ImplicitServingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { Start(testutil::MakeImplicitFixture()); }
  // Publishes `fixture` and serves it.
  static void Start(testutil::ImplicitFixture fixture) {
    tmp_ = new testutil::TempDir();
    fixture_ = new testutil::ImplicitFixture(std::move(fixture));
    ASSERT_FALSE(
        testutil::PublishImplicitSnapshot(tmp_->Path("implicit"), *fixture_)
            .empty());
    server_ = StartServer(tmp_->Path("implicit")).release();
    ASSERT_NE(server_, nullptr);
    stub_ = Connect(*server_).release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    if (server_ != nullptr) server_->Shutdown();
    delete server_;
    delete fixture_;
    delete tmp_;
  }
  void SetUp() override { ASSERT_NE(stub_, nullptr); }

  static const testutil::ImplicitFixture& f() { return *fixture_; }
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
  static v1::Interaction Event(int32_t item, const std::string& event,
                               double weight = 0) {
    v1::Interaction r;
    r.set_item_id(f().train.items.Id(item));
    r.set_event(event);
    r.set_weight(weight);
    return r;
  }
  static int32_t ItemIndex(const std::string& id) {
    return f().train.items.Find(id);
  }

  // Each user's training cells: item -> signed value.
  static std::map<int32_t, float> Cells(int32_t user) {
    std::map<int32_t, float> cells;
    for (const Rating& r : f().train.ratings) {
      if (r.user == user) cells[r.item] += r.value;
    }
    return cells;
  }

  // The exact top n by `embedding` · item embedding over items not in
  // `removed`, best first, ties to the lower index: (item, score).
  static std::vector<std::pair<int32_t, double>> TopN(
      const Eigen::VectorXd& embedding, const std::set<int32_t>& removed,
      int32_t n) {
    const FactorMatrix& items = f().retrieval.item_factors;
    std::vector<std::pair<int32_t, double>> scored;
    for (int32_t i = 0; i < items.rows(); ++i) {
      if (removed.count(i)) continue;
      scored.push_back({i, items.row(i).cast<double>().dot(embedding)});
    }
    std::stable_sort(
        scored.begin(), scored.end(),
        [](const auto& a, const auto& b) { return a.second > b.second; });
    if (static_cast<int32_t>(scored.size()) > n) scored.resize(n);
    return scored;
  }

  static void ExpectRanking(
      const v1::RecommendResponse& response,
      const std::vector<std::pair<int32_t, double>>& expected) {
    ASSERT_EQ(response.items_size(), static_cast<int>(expected.size()));
    for (size_t r = 0; r < expected.size(); ++r) {
      const v1::ScoredItem& item = response.items(static_cast<int>(r));
      // Items whose exact scores differ by less than float rounding may
      // come in either order; any other item must be the oracle's.
      const auto tied = [&](size_t other) {
        return other < expected.size() &&
               f().train.items.Id(expected[other].first) == item.item_id() &&
               std::abs(expected[other].second - expected[r].second) < 1e-6;
      };
      if (f().train.items.Id(expected[r].first) != item.item_id() &&
          (tied(r - 1) || tied(r + 1))) {
        EXPECT_NEAR(item.score(), expected[r].second, 1e-4) << "rank " << r;
        EXPECT_EQ(item.predicted_rating(), 0.0);
        continue;
      }
      EXPECT_EQ(item.item_id(), f().train.items.Id(expected[r].first))
          << "rank " << r;
      EXPECT_NEAR(item.score(), expected[r].second, 1e-4) << "rank " << r;
      EXPECT_EQ(item.predicted_rating(), 0.0);
    }
  }

  static testutil::TempDir* tmp_;
  static testutil::ImplicitFixture* fixture_;
  static RecserveServer* server_;
  static v1::Recommender::Stub* stub_;
};

testutil::TempDir* ImplicitServingTest::tmp_ = nullptr;
testutil::ImplicitFixture* ImplicitServingTest::fixture_ = nullptr;
RecserveServer* ImplicitServingTest::server_ = nullptr;
v1::Recommender::Stub* ImplicitServingTest::stub_ = nullptr;

TEST_F(ImplicitServingTest, RecommendEqualsTheOfflineRanking) {
  for (int32_t u = 0; u + 1 < f().train.num_users(); ++u) {
    SCOPED_TRACE(u);
    std::set<int32_t> seen;
    for (const auto& [item, value] : Cells(u)) seen.insert(item);
    v1::RecommendRequest request;
    request.set_user_id(f().train.users.Id(u));
    request.set_n(10);
    v1::RecommendResponse response;
    const grpc::Status status = Recommend(request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.fallback());
    EXPECT_FALSE(response.folded_in());
    EXPECT_EQ(response.candidates(), 10);
    ExpectRanking(
        response,
        TopN(f().retrieval.user_factors.row(u).transpose().cast<double>(), seen,
             10));
  }
}

TEST_F(ImplicitServingTest, NegativeItemsAreNeverReturned) {
  const int32_t items = f().train.num_items();
  int negatives = 0;
  for (int32_t u = 0; u + 1 < f().train.num_users(); ++u) {
    v1::RecommendRequest request;
    request.set_user_id(f().train.users.Id(u));
    request.set_n(items);
    for (const bool exact : {false, true}) {
      request.set_exact(exact);
      v1::RecommendResponse response;
      ASSERT_TRUE(Recommend(request, &response).ok());
      std::set<int32_t> returned;
      for (const v1::ScoredItem& item : response.items()) {
        returned.insert(ItemIndex(item.item_id()));
      }
      for (const auto& [item, value] : Cells(u)) {
        EXPECT_EQ(returned.count(item), 0u) << u << " " << item;
        negatives += value < 0;
      }
      // Every unseen item, and only those.
      EXPECT_EQ(static_cast<int>(returned.size()),
                items - static_cast<int>(Cells(u).size()));
    }
  }
  EXPECT_GT(negatives, 0);
}

TEST_F(ImplicitServingTest, UnknownUsersGetItemsPeopleLiked) {
  // Popularity counts positive cells only.
  std::vector<int32_t> liked(f().train.num_items(), 0);
  for (int32_t u = 0; u < f().train.num_users(); ++u) {
    for (const auto& [item, value] : Cells(u)) liked[item] += value >= 0;
  }
  v1::RecommendRequest request;
  request.set_user_id("stranger");
  request.set_n(5);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_TRUE(response.fallback());
  ASSERT_EQ(response.items_size(), 5);
  std::vector<int32_t> order(liked.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return liked[a] > liked[b]; });
  for (int r = 0; r < 5; ++r) {
    EXPECT_EQ(response.items(r).item_id(), f().train.items.Id(order[r]));
    EXPECT_EQ(response.items(r).score(), liked[order[r]]);
    EXPECT_EQ(response.items(r).predicted_rating(), 0.0);
  }
}

TEST_F(ImplicitServingTest, PredictRatingIsFailedPrecondition) {
  v1::PredictRatingRequest request;
  request.set_user_id("u1");
  request.set_item_id("i2");
  v1::PredictRatingResponse response;
  const grpc::Status status =
      stub_->PredictRating(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), kPredictsNoRatingsMessage);
  EXPECT_THAT(status.error_message(), HasSubstr("implicit feedback"));
  EXPECT_THAT(status.error_message(), HasSubstr("predicts no ratings"));
}

TEST_F(ImplicitServingTest, ModelInfoSaysImplicit) {
  v1::ModelInfo info;
  const grpc::Status status =
      stub_->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(info.feedback(), "implicit");
  EXPECT_EQ(info.factors(), 0);
  EXPECT_EQ(info.retrieval_factors(), f().retrieval.item_factors.cols());
  EXPECT_TRUE(info.fold_in());
  EXPECT_EQ(info.algo(), "ials");
  EXPECT_EQ(info.blend_weight(), 1.0);
  ASSERT_EQ(info.event_weights_size(), 4);
  EXPECT_EQ(info.event_weights().at("view"), 1.0);
  EXPECT_EQ(info.event_weights().at("cart"), 3.0);
  EXPECT_EQ(info.event_weights().at("purchase"), 5.0);
  EXPECT_EQ(info.event_weights().at("dislike"), 2.0);
  ASSERT_EQ(info.negative_events_size(), 1);
  EXPECT_EQ(info.negative_events(0), "dislike");
}

// The implicit-ALS user row, solved densely: (w0 YᵀY + Σ (c_j − w0) y_j
// y_jᵀ + reg·scale·I) x = Σ c_j p_j y_j over the user's cells.
Eigen::VectorXd DenseFoldIn(const std::map<int32_t, float>& cells,
                            const FoldInParams& params,
                            const FactorMatrix& items) {
  const RetrievalFoldInParams& r = params.retrieval;
  const Eigen::MatrixXd y = items.cast<double>();
  const Eigen::Index k = y.cols();
  Eigen::MatrixXd a = r.unobserved_weight * y.transpose() * y;
  Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
  for (const auto& [item, value] : cells) {
    const double c = 1.0 + r.alpha * std::log1p(std::fabs(value) / r.epsilon);
    a += (c - r.unobserved_weight) * y.row(item).transpose() * y.row(item);
    if (value >= 0) b += c * y.row(item).transpose();
  }
  const double unobserved =
      static_cast<double>(r.unobserved_weight) * static_cast<double>(y.rows());
  const double scale =
      std::pow((static_cast<double>(cells.size()) + unobserved) / unobserved,
               r.reg_exponent);
  a.diagonal().array() += r.reg * scale;
  return a.ldlt().solve(b);
}

TEST_F(ImplicitServingTest, RecentEventsAreFoldedIn) {
  ASSERT_EQ(f().fold_in.retrieval.scale, ConfidenceScale::kLog);
  // A known user of group 0 buys and carts items of group 1 and dislikes
  // another one.
  const int32_t user = 3;
  std::map<int32_t, float> cells = Cells(user);
  const int32_t bought_a = 1, bought_b = 4, disliked = 7;
  ASSERT_EQ(cells.count(bought_a) + cells.count(bought_b), 0u);
  v1::RecommendRequest request;
  request.set_user_id(f().train.users.Id(user));
  request.set_n(8);
  *request.add_recent() = Event(bought_a, "purchase", 2.0);
  *request.add_recent() = Event(bought_b, "cart");
  *request.add_recent() = Event(disliked, "dislike");
  *request.add_recent() = Event(bought_b, "");  // plain positive, weight 1
  v1::Interaction unknown;
  unknown.set_item_id("no-such-item");
  unknown.set_event("view");
  *request.add_recent() = unknown;
  v1::RecommendResponse response;
  const grpc::Status status = Recommend(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.folded_in());
  EXPECT_EQ(response.recent_unknown(), 1);

  // The cells as the server forms them: training values, then recent
  // strengths (weight · event weight), negative for "dislike"; a repeated
  // item's strengths add up (the last polarity wins).
  std::set<int32_t> removed;
  for (const auto& [item, value] : cells) removed.insert(item);
  cells[bought_a] += 5.0f * 2.0f;
  cells[bought_b] += 3.0f + 1.0f;
  const bool was_seen = cells.count(disliked) > 0;
  const float before = was_seen ? cells[disliked] : 0.0f;
  cells[disliked] = -(2.0f + (before < 0 ? -before : 0.0f));
  removed.insert({bought_a, bought_b, disliked});
  const Eigen::VectorXd x =
      DenseFoldIn(cells, f().fold_in, f().retrieval.item_factors);
  ExpectRanking(response, TopN(x, removed, 8));

  // The events changed the ranking.
  request.clear_recent();
  v1::RecommendResponse plain;
  ASSERT_TRUE(Recommend(request, &plain).ok());
  std::vector<std::string> with, without;
  for (const auto& item : response.items()) with.push_back(item.item_id());
  for (const auto& item : plain.items()) without.push_back(item.item_id());
  EXPECT_NE(with, without);
}

TEST_F(ImplicitServingTest, NewVisitorGetsTheirTaste) {
  // A stranger who bought items of group 2 gets group-2 items first.
  v1::RecommendRequest request;
  request.set_user_id("visitor");
  request.set_n(3);
  for (const int32_t item : {2, 5, 8, 11}) {
    *request.add_recent() = Event(item, "purchase");
  }
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_FALSE(response.fallback());
  EXPECT_TRUE(response.folded_in());
  std::map<int32_t, float> cells;
  for (const int32_t item : {2, 5, 8, 11}) cells[item] = 5.0f;
  ExpectRanking(response, TopN(DenseFoldIn(cells, f().fold_in,
                                           f().retrieval.item_factors),
                               {2, 5, 8, 11}, 3));
  for (const v1::ScoredItem& item : response.items()) {
    EXPECT_EQ(ItemIndex(item.item_id()) % 3, 2) << item.item_id();
  }
}

TEST_F(ImplicitServingTest, BadRecentEventsAreInvalidArgument) {
  v1::RecommendRequest request;
  request.set_user_id("u1");
  request.set_n(3);
  *request.add_recent() = Event(1, "view");
  *request.add_recent() = Event(2, "teleport");
  v1::RecommendResponse response;
  grpc::Status status = Recommend(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("recent[1].event"));
  EXPECT_THAT(status.error_message(), HasSubstr("teleport"));
  EXPECT_THAT(status.error_message(), HasSubstr("purchase"));
  EXPECT_THAT(status.error_message(), HasSubstr("dislike (negative)"));

  request.clear_recent();
  v1::Interaction rated = Event(1, "");
  rated.set_rating(4);
  *request.add_recent() = rated;
  status = Recommend(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("recent[0].rating"));

  request.clear_recent();
  *request.add_recent() = Event(1, std::string(300, 'e'));
  status = Recommend(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("recent[0].event"));
}

TEST_F(ImplicitServingTest, ExplanationsHoldRetrievalTermsOnly) {
  v1::RecommendRequest request;
  request.set_user_id("u4");
  request.set_n(5);
  request.set_explain(true);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  ASSERT_EQ(response.items_size(), 5);
  for (const v1::ScoredItem& item : response.items()) {
    const v1::Explanation& e = item.explanation();
    EXPECT_NEAR(e.retrieval_score(), item.score(), 1e-6);
    EXPECT_EQ(e.global_mean(), 0.0);
    EXPECT_EQ(e.user_bias(), 0.0);
    EXPECT_EQ(e.item_bias(), 0.0);
    EXPECT_EQ(e.interaction(), 0.0);
    // The user has fewer than 10 cells: every share is listed, and they
    // add up to the score of the user row folded in from them, which is
    // close to the trained one.
    EXPECT_FALSE(e.because().empty());
    double sum = 0;
    for (const v1::Contribution& c : e.because()) sum += c.share();
    const Eigen::VectorXd x =
        DenseFoldIn(Cells(4), f().fold_in, f().retrieval.item_factors);
    const int32_t i = ItemIndex(item.item_id());
    EXPECT_NEAR(sum, f().retrieval.item_factors.row(i).cast<double>().dot(x),
                1e-3);
  }
}

TEST_F(ImplicitServingTest, SimilarItemsWorks) {
  v1::SimilarItemsRequest request;
  request.set_item_id("i0");
  request.set_k(5);
  v1::SimilarItemsResponse response;
  const grpc::Status status =
      stub_->SimilarItems(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.items_size(), 5);
  // Brute-force cosine.
  const FactorMatrix& y = f().retrieval.item_factors;
  std::vector<std::pair<int32_t, double>> cosine;
  for (int32_t i = 1; i < y.rows(); ++i) {
    // Items nobody interacted with have zero embeddings: similarity 0.
    const double norms =
        y.row(0).cast<double>().norm() * y.row(i).cast<double>().norm();
    cosine.push_back(
        {i, norms > 0
                ? y.row(0).cast<double>().dot(y.row(i).cast<double>()) / norms
                : 0.0});
  }
  std::stable_sort(
      cosine.begin(), cosine.end(),
      [](const auto& a, const auto& b) { return a.second > b.second; });
  for (int r = 0; r < 5; ++r) {
    EXPECT_EQ(response.items(r).item_id(), f().train.items.Id(cosine[r].first));
    EXPECT_NEAR(response.items(r).score(), cosine[r].second, 1e-4);
  }
}

TEST_F(ImplicitServingTest, MetricsStillPassPromtool) {
  const std::string metrics =
      testutil::HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_FALSE(metrics.empty());
  const std::string file = tmp_->Path("metrics.txt");
  testutil::WriteFile(file, metrics);
  const testutil::CommandResult promtool = testutil::RunCommand(
      {"/bin/sh", "-c", absl::StrCat("promtool check metrics < ", file)});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
  EXPECT_EQ(promtool.out, "") << "promtool reports nothing";
}

// Trained with recency-weighted confidence (format 6): fold-in ranks a
// known user's training cells by the snapshot's seen order and a request's
// recent interactions by position, after them.
class RecencyServingTest : public ImplicitServingTest {
 protected:
  static constexpr float kWeight = 100.0f;
  static constexpr float kHorizon = 1.0f;
  static void SetUpTestSuite() {
    Start(testutil::MakeImplicitFixture(30, 45, 6, kWeight, kHorizon));
  }

  // A user's cells: signed value and time.
  struct TimedCell {
    float value = 0;
    int64_t time = 0;
  };
  static std::map<int32_t, TimedCell> TimedCells(int32_t user) {
    std::map<int32_t, TimedCell> cells;
    for (const Rating& r : f().train.ratings) {
      if (r.user == user) cells[r.item] = {r.value, r.timestamp};
    }
    return cells;
  }
  // The cells' values scaled by recency, computed here from the formula:
  // (1 + W e^(−rank/H)) / its mean, rank = the cells strictly later.
  static std::map<int32_t, float> Weighted(
      const std::map<int32_t, TimedCell>& cells) {
    std::map<int32_t, double> factor;
    double sum = 0;
    for (const auto& [item, cell] : cells) {
      int rank = 0;
      for (const auto& [other, o] : cells) rank += o.time > cell.time ? 1 : 0;
      factor[item] = 1 + kWeight * std::exp(-rank / double{kHorizon});
      sum += factor[item];
    }
    std::map<int32_t, float> out;
    for (const auto& [item, cell] : cells) {
      out[item] = static_cast<float>(cell.value * factor[item] /
                                     (sum / static_cast<double>(cells.size())));
    }
    return out;
  }
  static Eigen::VectorXd FoldedIn(const std::map<int32_t, float>& values) {
    return DenseFoldIn(values, f().fold_in, f().retrieval.item_factors);
  }
};

TEST_F(RecencyServingTest, SnapshotRecordsTheWeighting) {
  ASSERT_EQ(f().fold_in.retrieval.recency_weight, kWeight);
  const absl::StatusOr<std::shared_ptr<const Snapshot>> s =
      Snapshot::LoadLatest(tmp_->Path("implicit"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->manifest().format_version, 6);
  EXPECT_EQ((*s)->fold_in()->retrieval.recency_weight, kWeight);
  EXPECT_EQ((*s)->fold_in()->retrieval.recency_horizon, kHorizon);
  EXPECT_FALSE((*s)->SeenLater(0).empty());
}

// A known user without recent interactions is served their trained vector;
// the explanations decompose the fold-in of their training cells in the
// snapshot's order, whose scores are the trained ones. Unweighted, they
// would not be.
TEST_F(RecencyServingTest, ExplanationsOfAKnownUserAddUpToTheTrainedScores) {
  const int32_t user = 4;
  v1::RecommendRequest request;
  request.set_user_id(f().train.users.Id(user));
  request.set_n(6);
  request.set_explain(true);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  ASSERT_EQ(response.items_size(), 6);
  EXPECT_FALSE(response.folded_in());
  const Eigen::VectorXd unweighted = FoldedIn(Cells(user));
  double unweighted_gap = 0;
  for (const v1::ScoredItem& item : response.items()) {
    const v1::Explanation& e = item.explanation();
    // Fewer than 10 cells: every share is listed.
    double sum = 0;
    for (const v1::Contribution& c : e.because()) sum += c.share();
    const Eigen::RowVectorXd o =
        f().retrieval.item_factors.row(ItemIndex(item.item_id()))
            .cast<double>();
    const double trained =
        o.dot(f().retrieval.user_factors.row(user).cast<double>());
    EXPECT_NEAR(e.retrieval_score(), trained, 1e-5);
    EXPECT_NEAR(sum, trained, 1e-3 * (1 + std::abs(trained))) << item.item_id();
    EXPECT_NEAR(o.dot(FoldedIn(Weighted(TimedCells(user)))), trained,
                1e-3 * (1 + std::abs(trained)));
    unweighted_gap =
        std::max(unweighted_gap, std::abs(o.dot(unweighted) - trained));
  }
  // Far beyond the tolerance above: the check can tell.
  EXPECT_GT(unweighted_gap, 0.02) << "the weighting made no difference";
}

// A visitor's purchases of one group, then of another: the later ones weigh
// more, so the later group's items score higher against the earlier
// group's than in the other order.
TEST_F(RecencyServingTest, TheLatestRecentInteractionsWeighMost) {
  const std::vector<int32_t> group0 = {0, 3}, group2 = {2, 5};
  const int32_t n = f().train.num_items() - 4;  // every other item
  std::vector<double> group2_lead;
  for (const bool group2_last : {false, true}) {
    SCOPED_TRACE(group2_last);
    std::vector<int32_t> order = group2_last ? group0 : group2;
    for (const int32_t item : group2_last ? group2 : group0) {
      order.push_back(item);
    }
    v1::RecommendRequest request;
    request.set_user_id("visitor");
    request.set_n(n);
    std::map<int32_t, TimedCell> cells;
    for (size_t p = 0; p < order.size(); ++p) {
      *request.add_recent() = Event(order[p], "purchase");
      cells[order[p]] = {5.0f, static_cast<int64_t>(p)};
    }
    v1::RecommendResponse response;
    ASSERT_TRUE(Recommend(request, &response).ok());
    EXPECT_TRUE(response.folded_in());
    ExpectRanking(response, TopN(FoldedIn(Weighted(cells)),
                                 {order.begin(), order.end()}, n));
    // How much higher group 2's items score than group 0's, on average.
    double sums[3] = {0, 0, 0};
    int counts[3] = {0, 0, 0};
    for (const v1::ScoredItem& item : response.items()) {
      const int32_t group = ItemIndex(item.item_id()) % 3;
      sums[group] += item.score();
      ++counts[group];
    }
    ASSERT_GT(counts[0] * counts[2], 0);
    group2_lead.push_back(sums[2] / counts[2] - sums[0] / counts[0]);
  }
  EXPECT_GT(group2_lead[1], group2_lead[0] + 0.05)
      << "group 2 last: " << group2_lead[1]
      << ", group 0 last: " << group2_lead[0];
}

// A known user's training cells rank behind every recent interaction; a
// recent interaction with a training item moves its cell to that time.
TEST_F(RecencyServingTest, KnownUserRanksTrainingBehindRecent) {
  const int32_t user = 3;
  std::map<int32_t, TimedCell> cells = TimedCells(user);
  int32_t trained_item = -1;
  for (const auto& [item, cell] : cells) {
    if (cell.value > 0) trained_item = item;
  }
  ASSERT_GE(trained_item, 0);
  const int32_t bought = 1, carted = 4;
  ASSERT_EQ(cells.count(bought) + cells.count(carted), 0u);
  std::set<int32_t> removed;
  for (const auto& [item, cell] : cells) removed.insert(item);
  removed.insert({bought, carted});

  v1::RecommendRequest request;
  request.set_user_id(f().train.users.Id(user));
  request.set_n(8);
  *request.add_recent() = Event(bought, "purchase");
  *request.add_recent() = Event(trained_item, "view");
  *request.add_recent() = Event(carted, "cart");
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_TRUE(response.folded_in());
  // Recent times after every training timestamp, in request order.
  const int64_t after = 1'000'000'000;
  cells[bought] = {5.0f, after + 1};
  cells[trained_item] = {cells[trained_item].value + 1.0f, after + 2};
  cells[carted] = {3.0f, after + 3};
  ExpectRanking(response, TopN(FoldedIn(Weighted(cells)), removed, 8));
}

// An explicit snapshot (ratings) takes no events.
TEST(ExplicitServingTest, EventsAreInvalidArgument) {
  testutil::TempDir tmp;
  testutil::PublishTinySnapshot(tmp.Path("explicit"), {});
  std::unique_ptr<RecserveServer> server = StartServer(tmp.Path("explicit"));
  ASSERT_NE(server, nullptr);
  std::unique_ptr<v1::Recommender::Stub> stub = Connect(*server);
  v1::RecommendRequest request;
  request.set_user_id("u1");
  request.set_n(3);
  v1::Interaction event;
  event.set_item_id("i2");
  event.set_event("view");
  *request.add_recent() = event;
  v1::RecommendResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub->Recommend(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("recent[0].event"));
  EXPECT_THAT(status.error_message(), HasSubstr("learned from ratings"));

  v1::ModelInfo info;
  grpc::ClientContext info_context;
  ASSERT_TRUE(
      stub->GetModelInfo(&info_context, v1::GetModelInfoRequest(), &info).ok());
  EXPECT_EQ(info.feedback(), "explicit");
  EXPECT_EQ(info.event_weights_size(), 0);
  EXPECT_EQ(info.negative_events_size(), 0);
  server->Shutdown();
}

}  // namespace
}  // namespace recserve::server
