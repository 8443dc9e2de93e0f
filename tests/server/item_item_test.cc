// The item-item retrieval model through the real server: a snapshot the real
// trainer made from generated data, on which validation chooses the
// item-item model, served on 127.0.0.1 with ephemeral ports and called over
// gRPC. The answers are the in-process ServingModel's (which
// tests/core/serve/serving_item_item_test.cc holds to the trainer's
// evaluation), a visitor sending a user's ratings in order is retrieved like
// that user, and the metrics count the path and pass promtool.

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
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

class ItemItemServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testutil::TrainGeneratedSnapshot(tmp_.path(), 300, 200, 20'000,
                                             {.item_item = true});
    absl::StatusOr<std::string> version = ResolveLatestVersion(root_);
    ASSERT_TRUE(version.ok()) << version.status();
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(absl::StrCat(root_, "/", *version), {});
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
    ASSERT_TRUE(model_->snapshot().has_item_item())
        << "validation should choose the item-item model on this data";
    ServerOptions o;
    o.snapshot_dir = root_;
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "127.0.0.1:0";
    o.poll_interval = absl::Milliseconds(50);
    o.shutdown_grace = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<RecserveServer>> server =
        RecserveServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_TRUE(testutil::WaitFor(
        [&] {
          return testutil::HealthCheck(server_->port()) == testutil::kServing;
        },
        absl::Seconds(60)));
    stub_ = v1::Recommender::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials()));
  }
  const Snapshot& snap() const { return model_->snapshot(); }

  v1::RecommendResponse Recommend(const v1::RecommendRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::RecommendResponse response;
    const grpc::Status status = stub_->Recommend(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  testutil::TempDir tmp_;
  std::string root_;
  std::shared_ptr<const ServingModel> model_;
  std::unique_ptr<RecserveServer> server_;
  std::unique_ptr<v1::Recommender::Stub> stub_;
};

TEST_F(ItemItemServerTest, AnswersAsTheServingModelAndCountsThePath) {
  int32_t compared = 0;
  for (int32_t u = 0; u < snap().num_users(); u += 37) {
    v1::RecommendRequest request;
    request.set_user_id(snap().UserId(u));
    request.set_n(10);
    const v1::RecommendResponse response = Recommend(request);
    RecommendQuery q;
    q.user_id = snap().UserId(u);
    q.n = 10;
    absl::StatusOr<Recommendation> expected =
        model_->Recommend(q, ServingLimits(), ServingPolicy());
    ASSERT_TRUE(expected.ok()) << expected.status();
    EXPECT_EQ(expected->retrieval_path, RetrievalPath::kItemItem);
    ASSERT_EQ(response.items_size(), static_cast<int>(expected->items.size()));
    for (int k = 0; k < response.items_size(); ++k) {
      EXPECT_EQ(response.items(k).item_id(),
                snap().ItemId(expected->items[k].item));
      EXPECT_FLOAT_EQ(response.items(k).score(), expected->items[k].score);
      ++compared;
    }
  }
  EXPECT_GE(compared, 70);
  grpc::ClientContext context;
  v1::ModelInfo info;
  ASSERT_TRUE(
      stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
  EXPECT_EQ(info.retrieval_model(), "item_item");
  EXPECT_EQ(info.item_item_items(), snap().item_item_weights().rows());
  EXPECT_GT(info.item_item_items(), 0);
  const std::string metrics =
      testutil::HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_THAT(metrics,
              HasSubstr("recserve_retrievals_total{path=\"item_item\"} 9"));
  const std::string file = absl::StrCat(tmp_.path(), "/metrics.txt");
  testutil::WriteFile(file, metrics);
  const testutil::CommandResult promtool = testutil::RunCommand(
      {"/bin/sh", "-c", absl::StrCat("promtool check metrics < ", file)});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
}

TEST_F(ItemItemServerTest, AVisitorWithAUsersRatingsIsRetrievedLikeThatUser) {
  const int32_t user = 5;
  // The user's ratings in the order they were made: the snapshot's seen
  // order (later counts, largest first).
  const absl::Span<const int32_t> seen = snap().SeenItems(user);
  const absl::Span<const float> ratings = snap().SeenRatings(user);
  const absl::Span<const int32_t> later = snap().SeenLater(user);
  ASSERT_FALSE(later.empty());
  std::vector<size_t> order(seen.size());
  for (size_t j = 0; j < order.size(); ++j) order[j] = j;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return later[a] > later[b]; });
  for (size_t k = 1; k < order.size(); ++k) {
    ASSERT_NE(later[order[k]], later[order[k - 1]]) << "needs distinct times";
  }
  const auto explained = [&](v1::RecommendRequest request) {
    request.set_n(snap().num_items());
    request.set_candidates(snap().num_items());
    request.set_explain(true);
    std::map<std::string, double> scores;
    const v1::RecommendResponse response = Recommend(request);
    for (const v1::ScoredItem& item : response.items()) {
      scores[item.item_id()] = item.explanation().retrieval_score();
    }
    return scores;
  };
  v1::RecommendRequest trained;
  trained.set_user_id(snap().UserId(user));
  v1::RecommendRequest visitor;
  visitor.set_user_id("visitor");
  for (const size_t j : order) {
    v1::Interaction* x = visitor.add_recent();
    x->set_item_id(snap().ItemId(seen[j]));
    x->set_rating(ratings[j]);
  }
  const std::map<std::string, double> a = explained(trained);
  const std::map<std::string, double> b = explained(visitor);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 100u);
  int32_t nonzero = 0;
  for (const auto& [item, score] : a) {
    ASSERT_EQ(b.count(item), 1u) << item;
    EXPECT_FLOAT_EQ(b.at(item), score) << item;
    nonzero += score != 0.0;
  }
  EXPECT_GT(nonzero, 50);
}

}  // namespace
}  // namespace recserve::server
