// Cold items through the real server over gRPC: a snapshot with cold items
// (tests/testutil/cold_snapshot.h: a cold item's embedding is exactly its
// genre's direction) answers all three RPCs for them, flags them, reserves
// Recommend's cold_items slots, applies filters to them, predicts their
// ratings from their mapped factors and reports how many it holds. The
// ranking logic itself is checked against brute force in
// tests/core/serve/serving_cold_items_test.cc.

#include <memory>
#include <set>
#include <string>

#include "absl/strings/match.h"
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

using ::testing::HasSubstr;

bool IsColdId(const std::string& id) { return absl::StartsWith(id, "c"); }

class ColdItemsServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    fixture_ =
        new testutil::ColdServingFixture(testutil::MakeColdServingFixture());
    const std::string root = tmp_->Path("snapshots");
    ASSERT_FALSE(testutil::PublishColdServingSnapshot(root, *fixture_).empty());
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
    server_ = server->release();
    ASSERT_TRUE(testutil::WaitFor(
        [] {
          return testutil::HealthCheck(server_->port()) == testutil::kServing;
        },
        absl::Seconds(30)));
    stub_ = v1::Recommender::NewStub(
                grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                    grpc::InsecureChannelCredentials()))
                .release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    if (server_ != nullptr) server_->Shutdown();
    delete server_;
    delete fixture_;
    delete tmp_;
  }
  void SetUp() override { ASSERT_NE(stub_, nullptr); }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
    return c;
  }
  static v1::RecommendResponse Recommend(const v1::RecommendRequest& r) {
    v1::RecommendResponse out;
    const grpc::Status status = stub_->Recommend(Context().get(), r, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }
  static v1::RecommendRequest Request(const std::string& user, int32_t n,
                                      int32_t cold_items) {
    v1::RecommendRequest r;
    r.set_user_id(user);
    r.set_n(n);
    r.set_cold_items(cold_items);
    return r;
  }
  // Counts the items flagged cold, checking each flag against the id.
  static int32_t CountCold(
      const google::protobuf::RepeatedPtrField<v1::ScoredItem>& items) {
    int32_t cold = 0;
    for (const v1::ScoredItem& item : items) {
      EXPECT_EQ(item.cold(), IsColdId(item.item_id())) << item.item_id();
      cold += item.cold() ? 1 : 0;
    }
    return cold;
  }

  static testutil::TempDir* tmp_;
  static testutil::ColdServingFixture* fixture_;
  static RecserveServer* server_;
  static v1::Recommender::Stub* stub_;
};

testutil::TempDir* ColdItemsServerTest::tmp_ = nullptr;
testutil::ColdServingFixture* ColdItemsServerTest::fixture_ = nullptr;
RecserveServer* ColdItemsServerTest::server_ = nullptr;
v1::Recommender::Stub* ColdItemsServerTest::stub_ = nullptr;

TEST_F(ColdItemsServerTest, ModelInfoCountsColdItems) {
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModelInfo(Context().get(), {}, &info).ok());
  EXPECT_EQ(info.cold_items(), 9);
  EXPECT_EQ(info.num_items(), 51);
  EXPECT_EQ(info.retrieval_index().items(), 51);  // cold items are indexed
}

TEST_F(ColdItemsServerTest, SimilarItemsOfAColdItemAreItsContentNeighbours) {
  v1::SimilarItemsRequest request;
  request.set_item_id("c42");  // genre Alpha
  request.set_k(8);
  v1::SimilarItemsResponse response;
  const grpc::Status status =
      stub_->SimilarItems(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.items_size(), 8);
  for (const v1::ScoredItem& item : response.items()) {
    EXPECT_THAT(item.labels(), ::testing::ElementsAre("Alpha"))
        << item.item_id();
  }
  // The other Alpha cold items share its embedding exactly.
  EXPECT_EQ(response.items(0).item_id(), "c45");
  EXPECT_EQ(response.items(1).item_id(), "c48");
  EXPECT_NEAR(response.items(0).score(), 1.0, 1e-5);
  EXPECT_EQ(CountCold(response.items()), 2);
  // Filtered to Beta, the neighbours are Beta (cold ones flagged).
  request.mutable_filter()->add_include_labels("Beta");
  ASSERT_TRUE(stub_->SimilarItems(Context().get(), request, &response).ok());
  for (const v1::ScoredItem& item : response.items()) {
    EXPECT_THAT(item.labels(), ::testing::ElementsAre("Beta"));
  }
  CountCold(response.items());
}

TEST_F(ColdItemsServerTest, RecommendFlagsColdItems) {
  v1::RecommendRequest request = Request("u1", 51, 0);
  request.set_include_seen(true);
  request.set_candidates(51);
  const v1::RecommendResponse response = Recommend(request);
  ASSERT_EQ(response.items_size(), 51);
  EXPECT_EQ(CountCold(response.items()), 9);
  for (const v1::ScoredItem& item : response.items()) {
    EXPECT_FALSE(item.title().empty());
    EXPECT_EQ(item.genres_size(), 1);
  }
}

TEST_F(ColdItemsServerTest, ColdItemsReservesSlots) {
  for (const std::string user : {"u0", "u1", "u2", "u7"}) {
    for (const int32_t m : {1, 2, 4}) {
      const v1::RecommendResponse response = Recommend(Request(user, 5, m));
      ASSERT_EQ(response.items_size(), 5) << user;
      EXPECT_GE(CountCold(response.items()), m) << user << " " << m;
      for (int i = 1; i < response.items_size(); ++i) {
        EXPECT_GE(response.items(i - 1).score(), response.items(i).score());
      }
    }
  }
  // An unknown user: popular items, then the newest cold items.
  const v1::RecommendResponse fallback = Recommend(Request("nobody", 4, 2));
  ASSERT_TRUE(fallback.fallback());
  ASSERT_EQ(fallback.items_size(), 4);
  EXPECT_EQ(fallback.items(2).item_id(), "c50");
  EXPECT_EQ(fallback.items(3).item_id(), "c49");
  EXPECT_EQ(CountCold(fallback.items()), 2);
}

TEST_F(ColdItemsServerTest, FiltersApplyToColdItems) {
  // Only three cold items are Alpha: c42, c45, c48.
  v1::RecommendRequest request = Request("u2", 6, 5);
  request.mutable_filter()->add_include_labels("Alpha");
  v1::RecommendResponse response = Recommend(request);
  ASSERT_EQ(response.items_size(), 6);
  EXPECT_EQ(CountCold(response.items()), 3);
  for (const v1::ScoredItem& item : response.items()) {
    EXPECT_THAT(item.labels(), ::testing::ElementsAre("Alpha"));
  }
  request.add_exclude_item_ids("c48");
  request.mutable_filter()->add_exclude_labels("Beta");
  response = Recommend(request);
  ASSERT_EQ(response.items_size(), 6);
  EXPECT_EQ(CountCold(response.items()), 2);
  for (const v1::ScoredItem& item : response.items()) {
    EXPECT_NE(item.item_id(), "c48");
  }
  // No cold item allowed: no reserved slot can be filled.
  request = Request("u2", 4, 4);
  for (const char* id : {"i3", "i4", "i5", "i6", "i9"}) {
    request.mutable_filter()->add_item_ids(id);
  }
  response = Recommend(request);
  EXPECT_EQ(CountCold(response.items()), 0);
  EXPECT_GE(response.items_size(), 3);
}

TEST_F(ColdItemsServerTest, ColdItemsOutOfRangeIsInvalidArgument) {
  for (const int32_t m : {-1, 6, 1000}) {
    v1::RecommendResponse response;
    const grpc::Status status =
        stub_->Recommend(Context().get(), Request("u1", 5, m), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << m;
    EXPECT_THAT(status.error_message(), HasSubstr("cold_items")) << m;
  }
}

TEST_F(ColdItemsServerTest, PredictRatingOfAColdItemUsesItsMappedFactors) {
  const MfModel& model = *fixture_->model;
  for (const int32_t item : {43, 50}) {
    v1::PredictRatingRequest request;
    request.set_user_id("u3");
    request.set_item_id(absl::StrCat("c", item));
    v1::PredictRatingResponse response;
    const grpc::Status status =
        stub_->PredictRating(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.item_known());
    EXPECT_TRUE(response.item_cold());
    EXPECT_TRUE(response.user_known());
    EXPECT_FALSE(response.fallback());
    EXPECT_NEAR(response.rating(), model.Predict(3, item), 1e-5);
  }
  v1::PredictRatingRequest request;
  request.set_user_id("u3");
  request.set_item_id("i7");
  v1::PredictRatingResponse response;
  ASSERT_TRUE(stub_->PredictRating(Context().get(), request, &response).ok());
  EXPECT_TRUE(response.item_known());
  EXPECT_FALSE(response.item_cold());
}

TEST_F(ColdItemsServerTest, MetricsCountColdItemsReturned) {
  Recommend(Request("u5", 3, 2));
  const std::string metrics =
      testutil::HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("recserve_cold_items_returned_total{method="
                                 "\"Recommend\"}"));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr(
                           "recserve_cold_items_returned_total{method="
                           "\"Recommend\"} 0\n")));
}

}  // namespace
}  // namespace recserve::server
