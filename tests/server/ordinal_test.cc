// A snapshot with an ordinal output (format 8) through the real server over
// gRPC: PredictRating and Recommend's predicted_rating are the expected
// ratings of the model's scores, as MfModel::Predict computes them offline.
// The serving logic is checked in tests/core/serve/serving_ordinal_test.cc.

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/cold_snapshot.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

TEST(OrdinalServerTest, AnswersExpectedRatings) {
  testutil::TempDir tmp;
  testutil::ColdServingFixture fixture = testutil::MakeColdServingFixture();
  ASSERT_TRUE(fixture.model.has_value());
  MfModel& model = *fixture.model;
  model.global_mean = 3.0f;
  for (int32_t u = 0; u < model.num_users(); ++u) {
    model.user_bias[u] = 1.1f * static_cast<float>(u % 5 - 2);
  }
  model.scale = RatingScale{1, 5, 1};
  model.ordinal = {.cutpoints = {1.5f, 2.2f, 3.4f, 4.5f}, .stddev = 0.6f};
  const std::string root = tmp.Path("snapshots");
  ASSERT_FALSE(testutil::PublishColdServingSnapshot(root, fixture).empty());

  ServerOptions o;
  o.snapshot_dir = root;
  o.listen = "127.0.0.1:0";
  o.metrics_listen = "127.0.0.1:0";
  o.poll_interval = absl::Milliseconds(50);
  o.shutdown_grace = absl::Seconds(2);
  o.load.save_built_indexes = false;
  absl::StatusOr<std::unique_ptr<RecserveServer>> server =
      RecserveServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(testutil::WaitFor(
      [&] {
        return testutil::HealthCheck((*server)->port()) == testutil::kServing;
      },
      absl::Seconds(30)));
  auto stub = v1::Recommender::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials()));
  const auto context = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
    return c;
  };

  int32_t away_from_clamped = 0;
  for (int32_t user = 0; user < 5; ++user) {
    const std::string user_id = fixture.train.users.Id(user);
    for (int32_t item = 0; item < fixture.first_cold(); ++item) {
      v1::PredictRatingRequest request;
      request.set_user_id(user_id);
      request.set_item_id(fixture.train.items.Id(item));
      v1::PredictRatingResponse response;
      const grpc::Status status =
          stub->PredictRating(context().get(), request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_NEAR(response.rating(), model.Predict(user, item), 1e-5);
      const float clamped = model.scale.Clamp(model.Score(user, item));
      if (std::abs(response.rating() - clamped) > 0.05) ++away_from_clamped;
    }
    v1::RecommendRequest recommend;
    recommend.set_user_id(user_id);
    recommend.set_n(4);
    v1::RecommendResponse response;
    const grpc::Status status =
        stub->Recommend(context().get(), recommend, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_GT(response.items_size(), 0);
    for (const v1::ScoredItem& item : response.items()) {
      const int32_t index = fixture.train.items.Find(item.item_id());
      ASSERT_NE(index, kUnknownIndex);
      EXPECT_NEAR(item.predicted_rating(), model.Predict(user, index), 1e-5);
    }
  }
  EXPECT_GT(away_from_clamped, 0);

  v1::GetModelInfoRequest info_request;
  v1::ModelInfo info;
  const grpc::Status status =
      stub->GetModelInfo(context().get(), info_request, &info);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(info.ordinal_cutpoints(),
              ::testing::ElementsAreArray(model.ordinal.cutpoints));
  EXPECT_EQ(info.ordinal_stddev(), model.ordinal.stddev);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace recserve::server
