// The real server in this process, on 127.0.0.1 with ephemeral ports, serving
// a snapshot the real trainer made from generated data, called over gRPC.

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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
using testutil::HealthCheck;
using testutil::kNotServing;
using testutil::kServing;
using testutil::WaitFor;

ServerOptions LocalOptions(const std::string& root) {
  ServerOptions o;
  o.snapshot_dir = root;
  o.listen = "127.0.0.1:0";
  o.metrics_listen = "127.0.0.1:0";
  o.poll_interval = absl::Milliseconds(50);
  o.shutdown_grace = absl::Seconds(2);
  return o;
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    root_ = new std::string(
        testutil::TrainGeneratedSnapshot(tmp_->path(), 300, 200, 20'000));
    absl::StatusOr<std::shared_ptr<const Snapshot>> s =
        Snapshot::LoadLatest(*root_);
    ASSERT_TRUE(s.ok()) << s.status();
    snapshot_ = new std::shared_ptr<const Snapshot>(*s);
  }
  static void TearDownTestSuite() {
    delete snapshot_;
    delete root_;
    delete tmp_;
  }

  void StartServer(ServerOptions options) {
    absl::StatusOr<std::unique_ptr<RecserveServer>> server =
        RecserveServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Recommender::NewStub(channel_);
  }
  void StartServer() { StartServer(LocalOptions(*root_)); }
  void WaitServing() {
    ASSERT_TRUE(
        WaitFor([&] { return HealthCheck(server_->port()) == kServing; },
                absl::Seconds(60)));
  }
  const Snapshot& snap() const { return **snapshot_; }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
    return c;
  }
  grpc::Status Recommend(const v1::RecommendRequest& r,
                         v1::RecommendResponse* out) {
    return stub_->Recommend(Context().get(), r, out);
  }

  static testutil::TempDir* tmp_;
  static std::string* root_;
  static std::shared_ptr<const Snapshot>* snapshot_;
  std::unique_ptr<RecserveServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Recommender::Stub> stub_;
};

testutil::TempDir* ServerTest::tmp_ = nullptr;
std::string* ServerTest::root_ = nullptr;
std::shared_ptr<const Snapshot>* ServerTest::snapshot_ = nullptr;

TEST_F(ServerTest, EveryRpcAnswersFromTheSnapshot) {
  StartServer();
  WaitServing();
  const int32_t user = 7;
  v1::RecommendRequest request;
  request.set_user_id(snap().UserId(user));
  request.set_n(10);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_EQ(response.model_version(), snap().version());
  EXPECT_FALSE(response.fallback());
  ASSERT_EQ(response.items_size(), 10);
  const absl::Span<const int32_t> seen = snap().SeenItems(user);
  std::set<std::string> ids;
  for (const v1::ScoredItem& item : response.items()) {
    const int32_t index = snap().FindItem(item.item_id());
    ASSERT_NE(index, kUnknownIndex) << item.item_id();
    EXPECT_FALSE(std::count(seen.begin(), seen.end(), index)) << "seen";
    EXPECT_FALSE(item.title().empty());
    EXPECT_GT(item.genres_size(), 0);
    EXPECT_NEAR(item.predicted_rating(), snap().Predict(user, index), 1e-5);
    EXPECT_GE(item.predicted_rating(), snap().rating_scale().min);
    EXPECT_LE(item.predicted_rating(), snap().rating_scale().max);
    ids.insert(item.item_id());
  }
  EXPECT_EQ(ids.size(), 10u) << "no duplicates";
  for (int k = 1; k < response.items_size(); ++k) {
    EXPECT_GE(response.items(k - 1).score(), response.items(k).score());
  }

  v1::SimilarItemsRequest similar;
  similar.set_item_id(snap().ItemId(3));
  similar.set_k(5);
  v1::SimilarItemsResponse similar_response;
  ASSERT_TRUE(
      stub_->SimilarItems(Context().get(), similar, &similar_response).ok());
  ASSERT_EQ(similar_response.items_size(), 5);
  for (const v1::ScoredItem& item : similar_response.items()) {
    EXPECT_NE(item.item_id(), snap().ItemId(3));
    EXPECT_LE(item.score(), 1.0 + 1e-5);
  }

  v1::PredictRatingRequest predict;
  predict.set_user_id(snap().UserId(user));
  predict.set_item_id(snap().ItemId(3));
  v1::PredictRatingResponse prediction;
  ASSERT_TRUE(stub_->PredictRating(Context().get(), predict, &prediction).ok());
  EXPECT_NEAR(prediction.rating(), snap().Predict(user, 3), 1e-5);
  EXPECT_FALSE(prediction.fallback());

  v1::ModelInfo info;
  ASSERT_TRUE(
      stub_->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info)
          .ok());
  EXPECT_EQ(info.model_version(), snap().version());
  EXPECT_EQ(info.num_users(), snap().num_users());
  EXPECT_EQ(info.num_items(), snap().num_items());
  EXPECT_EQ(info.num_ratings(), snap().manifest().num_ratings);
  EXPECT_EQ(info.retrieval_factors(), snap().retrieval_factors());
  EXPECT_EQ(info.candidates(), snap().ranking().candidates);
  EXPECT_EQ(info.retrieval_index().space(), "ip");
  EXPECT_EQ(info.similarity_index().space(), "cosine");
  EXPECT_EQ(info.retrieval_index().items(), snap().num_items());
  EXPECT_TRUE(info.metrics().contains("rmse"));
  EXPECT_EQ(info.checksum().size(), 8u);
  EXPECT_EQ(info.retrieval_model(), "embeddings");
  EXPECT_EQ(info.item_item_items(), 0);
  // ALS: no ordinal output.
  EXPECT_EQ(info.ordinal_cutpoints_size(), 0);
  EXPECT_EQ(info.ordinal_stddev(), 0.0f);
}

TEST_F(ServerTest, FallbacksAreFlaggedOrRefused) {
  StartServer();
  WaitServing();
  v1::RecommendRequest request;
  request.set_user_id("someone-new");
  request.set_n(4);
  v1::RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_TRUE(response.fallback());
  EXPECT_EQ(response.items_size(), 4);
  v1::PredictRatingRequest predict;
  predict.set_user_id(snap().UserId(1));
  predict.set_item_id("new-film");
  v1::PredictRatingResponse prediction;
  ASSERT_TRUE(stub_->PredictRating(Context().get(), predict, &prediction).ok());
  EXPECT_TRUE(prediction.fallback());
  EXPECT_TRUE(prediction.user_known());
  EXPECT_FALSE(prediction.item_known());

  server_.reset();
  ServerOptions strict = LocalOptions(*root_);
  strict.policy.fallbacks = false;
  StartServer(strict);
  WaitServing();
  grpc::Status status = Recommend(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("someone-new"));
  status = stub_->PredictRating(Context().get(), predict, &prediction);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, BadRequestsGetClearErrors) {
  ServerOptions options = LocalOptions(*root_);
  options.policy.allow_exact = false;
  options.max_message_bytes = 64 * 1024;
  StartServer(options);
  WaitServing();
  struct Case {
    const char* name;
    std::function<void(v1::RecommendRequest&)> change;
    grpc::StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty user", [](auto& r) { r.clear_user_id(); },
       grpc::StatusCode::INVALID_ARGUMENT, "user_id"},
      {"n zero", [](auto& r) { r.set_n(0); },
       grpc::StatusCode::INVALID_ARGUMENT, "n must be"},
      {"n huge", [](auto& r) { r.set_n(1'000'000); },
       grpc::StatusCode::INVALID_ARGUMENT, "n must be"},
      {"pool", [](auto& r) { r.set_candidates(-5); },
       grpc::StatusCode::INVALID_ARGUMENT, "candidates"},
      {"ef", [](auto& r) { r.set_ef(1'000'000); },
       grpc::StatusCode::INVALID_ARGUMENT, "ef"},
      {"exact refused", [](auto& r) { r.set_exact(true); },
       grpc::StatusCode::INVALID_ARGUMENT, "exact"},
      {"too many exclusions",
       [](auto& r) {
         // Assigning the repeated field at once: g++ 12 at -O3 warns
         // (-Wrestrict, a false positive) on add_...("x") in a loop.
         const std::vector<std::string> ids(10'001, "x");
         r.mutable_exclude_item_ids()->Assign(ids.begin(), ids.end());
       },
       grpc::StatusCode::INVALID_ARGUMENT, "exclude_item_ids"},
      {"oversized message",
       [](auto& r) {
         for (int i = 0; i < 100; ++i) {
           r.add_exclude_item_ids(std::string(1000, 'y'));
         }
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, ""},
  };
  for (const Case& c : cases) {
    v1::RecommendRequest request;
    request.set_user_id(snap().UserId(0));
    request.set_n(5);
    c.change(request);
    v1::RecommendResponse response;
    const grpc::Status status = Recommend(request, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.name;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.name;
  }
  v1::SimilarItemsRequest similar;
  similar.set_item_id("no-such-item");
  similar.set_k(3);
  v1::SimilarItemsResponse similar_response;
  grpc::Status status =
      stub_->SimilarItems(Context().get(), similar, &similar_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("no-such-item"));
  similar.set_item_id(snap().ItemId(0));
  similar.set_k(0);
  status = stub_->SimilarItems(Context().get(), similar, &similar_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::PredictRatingRequest predict;
  predict.set_item_id(snap().ItemId(0));
  v1::PredictRatingResponse prediction;
  status = stub_->PredictRating(Context().get(), predict, &prediction);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("user_id"));
  // Still serving after all of that.
  EXPECT_EQ(HealthCheck(server_->port()), kServing);
}

TEST_F(ServerTest, HealthFollowsTheSnapshotAndShutdown) {
  testutil::TempDir empty;
  StartServer(LocalOptions(empty.path()));
  EXPECT_EQ(HealthCheck(server_->port()), kNotServing);
  // Alive, though not ready: liveness probes must not restart it.
  EXPECT_EQ(HealthCheck(server_->port(), "liveness"), kServing);
  v1::ModelInfo info;
  grpc::Status status =
      stub_->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("no snapshot"));

  testutil::PublishTinySnapshot(empty.path(), {});
  WaitServing();
  EXPECT_EQ(HealthCheck(server_->port(), "recserve.v1.Recommender"), kServing);
  ASSERT_TRUE(
      stub_->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info)
          .ok());
  EXPECT_EQ(info.model_version(), "v000001");

  server_->Shutdown();
  EXPECT_NE(HealthCheck(server_->port()), kServing);
  EXPECT_NE(HealthCheck(server_->port(), "liveness"), kServing);
  status =
      stub_->GetModelInfo(Context().get(), v1::GetModelInfoRequest(), &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServerTest, MetricsPassPromtoolAndCountRequests) {
  StartServer();
  WaitServing();
  v1::RecommendRequest request;
  request.set_user_id(snap().UserId(2));
  request.set_n(5);
  v1::RecommendResponse response;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Recommend(request, &response).ok());
  request.set_n(0);
  EXPECT_FALSE(Recommend(request, &response).ok());

  const std::string metrics =
      testutil::HttpGet(server_->metrics_port(), "/metrics");
  ASSERT_FALSE(metrics.empty());
  for (const char* expected : {
           "recserve_request_duration_seconds_bucket{method=\"Recommend\",le="
           "\"5e-05\"}",
           "recserve_requests_total{code=\"OK\",method=\"Recommend\"} 3",
           "recserve_requests_total{code=\"INVALID_ARGUMENT\",method="
           "\"Recommend\"} 1",
           "recserve_requests_in_flight 0",
           "recserve_stage_duration_seconds_count{stage=\"retrieval\"} 3",
           "recserve_candidate_pool_size_count 3",
           // 60 items: the norm-ordered scan reads them all.
           "recserve_retrievals_total{path=\"norm_scan\"} 3",
           "recserve_snapshot_version 1",
           "recserve_snapshot_reloads_total{result=\"success\"} 1",
           "recserve_snapshot_age_seconds ",
       }) {
    EXPECT_THAT(metrics, HasSubstr(expected));
  }
  const std::string file = absl::StrCat(tmp_->path(), "/metrics.txt");
  testutil::WriteFile(file, metrics);
  const testutil::CommandResult promtool = testutil::RunCommand(
      {"/bin/sh", "-c", absl::StrCat("promtool check metrics < ", file)});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
  EXPECT_EQ(promtool.out, "") << "promtool reports nothing";
}

TEST_F(ServerTest, ReflectionListsTheService) {
  StartServer();
  WaitServing();
  const testutil::CommandResult result = testutil::RunCommand(
      {"/usr/bin/python3",
       absl::StrCat(RECSERVE_SOURCE_DIR, "/tests/server/reflection_check.py"),
       absl::StrCat("127.0.0.1:", server_->port())});
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.out, HasSubstr("recserve.v1.Recommender"));
  EXPECT_THAT(result.out, HasSubstr("recserve/v1/recommender.proto"));
}

}  // namespace
}  // namespace recserve::server
