// RecommenderClient against an in-process fake Recommender service on
// 127.0.0.1: requests arrive intact, answers come back, and every kind of
// failure (server error, server UNAVAILABLE, no server, deadline) reads as
// the header promises.

#include "client/recserve_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"

namespace recserve::client {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Answers from the request so tests can check what arrived: Recommend
// returns n items "<user>-<i>"; user "missing" is NOT_FOUND, "loading" is
// UNAVAILABLE from the server itself, "slow" sleeps 2 s, "silent" fails
// INTERNAL without a message.
class FakeRecommender final : public v1::Recommender::Service {
 public:
  grpc::Status Recommend(grpc::ServerContext*,
                         const v1::RecommendRequest* request,
                         v1::RecommendResponse* response) override {
    if (request->user_id() == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "unknown user 'missing'");
    }
    if (request->user_id() == "loading") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "no snapshot loaded yet");
    }
    if (request->user_id() == "slow") {
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
    if (request->user_id() == "silent") {
      return grpc::Status(grpc::StatusCode::INTERNAL, "");
    }
    for (int i = 0; i < request->n(); ++i) {
      v1::ScoredItem* item = response->add_items();
      item->set_item_id(absl::StrCat(request->user_id(), "-", i));
      item->set_score(1.0 / (i + 1));
    }
    response->set_model_version("v000007");
    response->set_fallback(request->include_seen());
    response->set_candidates(request->exclude_item_ids_size());
    response->set_ef(request->exact() ? 1 : 0);
    return grpc::Status::OK;
  }
  grpc::Status SimilarItems(grpc::ServerContext*,
                            const v1::SimilarItemsRequest* request,
                            v1::SimilarItemsResponse* response) override {
    for (int i = 0; i < request->k(); ++i) {
      response->add_items()->set_item_id(
          absl::StrCat(request->item_id(), "~", i));
    }
    response->set_model_version("v000007");
    return grpc::Status::OK;
  }
  grpc::Status PredictRating(grpc::ServerContext*,
                             const v1::PredictRatingRequest* request,
                             v1::PredictRatingResponse* response) override {
    response->set_rating(request->user_id().size() + 0.5);
    response->set_user_known(true);
    response->set_item_known(request->item_id() == "known");
    response->set_fallback(request->item_id() != "known");
    response->set_model_version("v000007");
    return grpc::Status::OK;
  }
  grpc::Status GetModelInfo(grpc::ServerContext*,
                            const v1::GetModelInfoRequest*,
                            v1::ModelInfo* info) override {
    info->set_model_version("v000007");
    info->set_num_items(200);
    (*info->mutable_metrics())["rmse"] = 0.875;
    return grpc::Status::OK;
  }
};

// A port nothing listens on (bound, then released).
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RecommenderClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    target_ = absl::StrCat("127.0.0.1:", port_);
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now());
  }

  FakeRecommender service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string target_;
};

TEST_F(RecommenderClientTest, RecommendSendsEveryFieldAndReturnsTheAnswer) {
  RecommenderClient client(target_);
  EXPECT_EQ(client.target(), target_);
  EXPECT_EQ(client.options().deadline, absl::Seconds(5));
  v1::RecommendRequest request;
  request.set_user_id("u1");
  request.set_n(3);
  request.add_exclude_item_ids("a");
  request.add_exclude_item_ids("b");
  request.set_include_seen(true);
  request.set_exact(true);
  absl::StatusOr<v1::RecommendResponse> response = client.Recommend(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->items_size(), 3);
  EXPECT_EQ(response->items(0).item_id(), "u1-0");
  EXPECT_EQ(response->items(2).item_id(), "u1-2");
  EXPECT_DOUBLE_EQ(response->items(1).score(), 0.5);
  EXPECT_EQ(response->model_version(), "v000007");
  EXPECT_TRUE(response->fallback());     // echoes include_seen
  EXPECT_EQ(response->candidates(), 2);  // echoes the exclusion count
  EXPECT_EQ(response->ef(), 1);          // echoes exact
}

TEST_F(RecommenderClientTest, OtherRpcsReturnTheirAnswers) {
  RecommenderClient client(target_);
  v1::SimilarItemsRequest similar;
  similar.set_item_id("i9");
  similar.set_k(2);
  absl::StatusOr<v1::SimilarItemsResponse> items = client.SimilarItems(similar);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->items_size(), 2);
  EXPECT_EQ(items->items(1).item_id(), "i9~1");

  v1::PredictRatingRequest predict;
  predict.set_user_id("abc");
  predict.set_item_id("other");
  absl::StatusOr<v1::PredictRatingResponse> rating =
      client.PredictRating(predict);
  ASSERT_TRUE(rating.ok()) << rating.status();
  EXPECT_DOUBLE_EQ(rating->rating(), 3.5);
  EXPECT_TRUE(rating->fallback());
  EXPECT_FALSE(rating->item_known());

  absl::StatusOr<v1::ModelInfo> info = client.GetModelInfo();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->num_items(), 200);
  EXPECT_DOUBLE_EQ(info->metrics().at("rmse"), 0.875);
}

TEST_F(RecommenderClientTest, ServerErrorKeepsCodeAndMessage) {
  RecommenderClient client(target_);
  v1::RecommendRequest request;
  request.set_user_id("missing");
  request.set_n(1);
  absl::StatusOr<v1::RecommendResponse> response = client.Recommend(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(response.status().message(), "unknown user 'missing'");
}

TEST_F(RecommenderClientTest, ServerErrorWithoutMessageNamesTheCode) {
  RecommenderClient client(target_);
  v1::RecommendRequest request;
  request.set_user_id("silent");
  absl::StatusOr<v1::RecommendResponse> response = client.Recommend(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(response.status().message(), "INTERNAL");
}

TEST_F(RecommenderClientTest, UnavailableFromTheServerIsNotUnreachable) {
  RecommenderClient client(target_);
  v1::RecommendRequest request;
  request.set_user_id("loading");
  absl::StatusOr<v1::RecommendResponse> response = client.Recommend(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(response.status().message(), "no snapshot loaded yet");
}

TEST_F(RecommenderClientTest, DeadlineNamesTargetAndDuration) {
  ClientOptions options;
  options.deadline = absl::Milliseconds(300);
  RecommenderClient client(target_, options);
  v1::RecommendRequest request;
  request.set_user_id("slow");
  request.set_n(1);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::RecommendResponse> response = client.Recommend(request);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(response.status().message(),
            absl::StrCat("no answer from ", target_, " within 300ms"));
}

TEST_F(RecommenderClientTest, HealthFollowsTheServingStatus) {
  RecommenderClient client(target_);
  server_->GetHealthCheckService()->SetServingStatus(false);
  absl::StatusOr<ServingStatus> health = client.Health();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, ServingStatus::kNotServing);
  server_->GetHealthCheckService()->SetServingStatus(true);
  health = client.Health();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, ServingStatus::kServing);
  EXPECT_EQ(ServingStatusName(*health), "SERVING");

  // A named service goes through the request encoding.
  server_->GetHealthCheckService()->SetServingStatus("recserve.v1.Recommender",
                                                     false);
  health = client.Health("recserve.v1.Recommender");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, ServingStatus::kNotServing);
  // 200 bytes: the length takes a two-byte varint.
  const std::string long_name(200, 's');
  server_->GetHealthCheckService()->SetServingStatus(long_name, true);
  health = client.Health(long_name);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, ServingStatus::kServing);

  health = client.Health("no.such.Service");
  EXPECT_EQ(health.status().code(), absl::StatusCode::kNotFound);
}

TEST(RecommenderClientNoServerTest, ClosedPortIsNotReachableAndFailsFast) {
  const std::string target = absl::StrCat("127.0.0.1:", ClosedPort());
  RecommenderClient client(target);
  v1::RecommendRequest request;
  request.set_user_id("u1");
  request.set_n(1);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::RecommendResponse> response = client.Recommend(request);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));  // no waiting for ready
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(
      std::string(response.status().message()),
      StartsWith(absl::StrCat("server not reachable at ", target, " (")));
  absl::StatusOr<ServingStatus> health = client.Health();
  EXPECT_EQ(health.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(health.status().message()),
              HasSubstr(absl::StrCat("server not reachable at ", target)));
  absl::StatusOr<v1::ModelInfo> info = client.GetModelInfo();
  EXPECT_THAT(std::string(info.status().message()),
              HasSubstr("server not reachable"));
}

}  // namespace
}  // namespace recserve::client
