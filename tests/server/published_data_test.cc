// What a user publishes is what they expect to serve: a snapshot trained
// with the default held-out split (and so evaluated without 10% of the
// ratings) still knows every input rating. Every user of the input file,
// asked through the real server over gRPC, gets none of the items they rated
// anywhere in it, for the default refit and for --publish_evaluated.

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/data/rating_reader.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

class PublishedDataTest
    : public ::testing::TestWithParam<PublishedModels> {};

TEST_P(PublishedDataTest, RecommendNeverReturnsAnItemTheUserRated) {
  testutil::TempDir tmp;
  const std::string root = testutil::TrainGeneratedSnapshot(
      tmp.path(), 300, 200, 20'000, {.published = GetParam()});
  Dataset input;
  ASSERT_TRUE(ReadRatings(tmp.Path("ratings.csv"), {}, &input).ok());
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> rated;
  for (const Rating& r : input.ratings) {
    rated[input.users.Id(r.user)].insert(input.items.Id(r.item));
  }

  ServerOptions options;
  options.snapshot_dir = root;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "127.0.0.1:0";
  auto server = RecserveServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_TRUE(testutil::WaitFor(
      [&] { return testutil::HealthCheck(port) == testutil::kServing; },
      absl::Seconds(60)));
  auto stub = v1::Recommender::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  int64_t returned = 0, already_rated = 0;
  for (const auto& [user, items] : rated) {
    v1::RecommendRequest request;
    request.set_user_id(user);
    request.set_n(20);
    v1::RecommendResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    const grpc::Status status = stub->Recommend(&context, request, &response);
    ASSERT_TRUE(status.ok()) << user << ": " << status.error_message();
    EXPECT_FALSE(response.fallback()) << user;
    for (const v1::ScoredItem& item : response.items()) {
      ++returned;
      if (items.contains(item.item_id())) {
        ++already_rated;
        ADD_FAILURE() << "user " << user << " rated item " << item.item_id();
      }
    }
  }
  EXPECT_EQ(already_rated, 0);
  EXPECT_GE(returned, static_cast<int64_t>(rated.size()) * 10);
  (*server)->Shutdown();
}

INSTANTIATE_TEST_SUITE_P(Published, PublishedDataTest,
                         ::testing::Values(PublishedModels::kRefit,
                                           PublishedModels::kEvaluated),
                         [](const auto& info) {
                           return info.param == PublishedModels::kRefit
                                      ? "Refit"
                                      : "Evaluated";
                         });

}  // namespace
}  // namespace recserve::server
