// add-items while the real server serves: the new version is picked up by
// the usual hot reload, with the extended indexes as published, while
// Recommend and SimilarItems calls keep succeeding; then the new items have
// neighbours.

#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/pipeline/add_items.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/recserve_server.h"
#include "tests/core/snapshot/cold_snapshot_fixture.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

using testutil::WaitFor;

constexpr int32_t kUsers = 30;
constexpr int32_t kWarm = 60;
constexpr int32_t kCold = 2;

ItemIndexOptions SmallIndex() {
  ItemIndexOptions o;
  o.m = 8;
  o.ef_construction = 40;
  o.threads = 1;
  return o;
}

// Client threads alternating Recommend and SimilarItems of known items, each
// a bounded number of calls, counting failures.
class Load {
 public:
  Load(int port, int threads) {
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this, t] { Run(t); });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& w : workers_) {
      if (w.joinable()) w.join();
    }
  }
  int64_t calls() const { return calls_; }
  std::vector<std::string> failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  void Run(int t) {
    auto stub = v1::Recommender::NewStub(channel_);
    for (int i = 0; !stop_ && i < 20'000; ++i) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
      grpc::Status status;
      if (i % 2 == 0) {
        v1::RecommendRequest request;
        request.set_user_id(absl::StrCat("u", (t * 7 + i) % kUsers));
        request.set_n(5);
        v1::RecommendResponse response;
        status = stub->Recommend(&context, request, &response);
      } else {
        v1::SimilarItemsRequest request;
        request.set_item_id(absl::StrCat(1 + (t * 5 + i) % kWarm));
        request.set_k(5);
        v1::SimilarItemsResponse response;
        status = stub->SimilarItems(&context, request, &response);
      }
      ++calls_;
      if (!status.ok()) {
        std::lock_guard lock(mu_);
        failures_.push_back(status.error_message());
      }
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> calls_{0};
  std::mutex mu_;
  std::vector<std::string> failures_;
};

ino_t Inode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(AddItemsReloadTest, ServerPicksUpAddedItemsUnderLoad) {
  testutil::TempDir tmp;
  const std::string root = tmp.Path("snapshots");
  const testutil::ColdSnapshotFixture fixture =
      testutil::MakeColdFixture(kUsers, kWarm, kCold, 4, 6);
  absl::StatusOr<std::string> first =
      PublishSnapshot(root, testutil::ContentsOf(fixture));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(
      BuildSnapshotIndexes(absl::StrCat(root, "/", *first), SmallIndex()).ok());

  ServerOptions o;
  o.snapshot_dir = root;
  o.listen = "127.0.0.1:0";
  o.metrics_listen = "";
  o.poll_interval = absl::Milliseconds(50);
  o.load.index = SmallIndex();
  absl::StatusOr<std::unique_ptr<RecserveServer>> server =
      RecserveServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(WaitFor([&] { return (*server)->models().Current() != nullptr; },
                      absl::Seconds(30)));

  Load load((*server)->port(), 3);
  ASSERT_TRUE(WaitFor([&] { return load.calls() > 200; }, absl::Seconds(30)));
  const std::string items = tmp.Path("new.csv");
  testutil::WriteFile(items,
                      testutil::MoviesCsv(kWarm - 5, kWarm + kCold + 20));
  AddItemsOptions add;
  add.root = root;
  add.items_path = items;
  add.threads = 1;
  absl::StatusOr<AddItemsReport> report = AddItems(add);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->added, 20);
  ASSERT_EQ(report->indexes_extended, 2);
  const std::string checksum = *SnapshotChecksum(report->dir);
  const std::string similarity_file =
      absl::StrCat(report->dir, "/",
                   IndexFileName(checksum, IndexSpace::kCosine, SmallIndex()));
  const ino_t published_inode = Inode(similarity_file);
  ASSERT_NE(published_inode, 0u);

  ASSERT_TRUE(WaitFor(
      [&] {
        auto model = (*server)->models().Current();
        return model != nullptr && model->snapshot().version() == "v000002";
      },
      absl::Seconds(30)));
  const int64_t at_swap = load.calls();
  ASSERT_TRUE(
      WaitFor([&] { return load.calls() > at_swap + 200; }, absl::Seconds(30)));
  load.Stop();
  EXPECT_THAT(load.failures(), ::testing::IsEmpty());
  // The server loaded the extended index rather than building (and saving)
  // its own.
  EXPECT_EQ(Inode(similarity_file), published_inode);

  // A new item has neighbours.
  auto stub = v1::Recommender::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  v1::SimilarItemsRequest request;
  request.set_item_id(absl::StrCat(kWarm + kCold + 20));
  request.set_k(5);
  v1::SimilarItemsResponse response;
  const grpc::Status status = stub->SimilarItems(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.items_size(), 5);
  EXPECT_EQ(response.model_version(), "v000002");
}

}  // namespace
}  // namespace recserve::server
