// Hot reload on the real server under load: a new version is swapped in
// without a failed request, and a corrupt one is rejected while the old one
// keeps serving.

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/snapshot.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

using ::testing::HasSubstr;
using testutil::WaitFor;

// Client threads calling Recommend in a loop until stopped, counting
// failures and the versions that answered.
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
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  std::set<std::string> versions() {
    absl::MutexLock lock(&mu_);
    return versions_;
  }
  bool Saw(const std::string& version) {
    absl::MutexLock lock(&mu_);
    return versions_.count(version) > 0;
  }

 private:
  void Run(int t) {
    auto stub = v1::Recommender::NewStub(channel_);
    // Bounded: stops when told, or after 20,000 calls per thread.
    for (int i = 0; !stop_ && i < 20'000; ++i) {
      v1::RecommendRequest request;
      request.set_user_id(absl::StrCat("u", (t * 7 + i) % 40));
      request.set_n(5);
      v1::RecommendResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
      const grpc::Status status = stub->Recommend(&context, request, &response);
      ++calls_;
      absl::MutexLock lock(&mu_);
      if (!status.ok()) {
        failures_.push_back(status.error_message());
      } else {
        versions_.insert(response.model_version());
      }
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> calls_{0};
  absl::Mutex mu_;
  std::vector<std::string> failures_;
  std::set<std::string> versions_;
};

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    first_ = testutil::PublishTinySnapshot(tmp_.path(), {});
    ServerOptions o;
    o.snapshot_dir = tmp_.path();
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "127.0.0.1:0";
    o.poll_interval = absl::Milliseconds(50);
    absl::StatusOr<std::unique_ptr<RecserveServer>> server =
        RecserveServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_TRUE(WaitFor([&] { return server_->models().Current() != nullptr; },
                        absl::Seconds(30)));
  }

  std::string Metrics() {
    return testutil::HttpGet(server_->metrics_port(), "/metrics");
  }

  testutil::TempDir tmp_;
  std::string first_;
  std::unique_ptr<RecserveServer> server_;
};

TEST_F(ReloadTest, SwapsUnderLoadWithoutAFailedRequest) {
  Load load(server_->port(), 4);
  ASSERT_TRUE(WaitFor([&] { return load.calls() > 200; }, absl::Seconds(30)));
  testutil::TinySnapshotSpec spec;
  spec.seed = 3;
  const std::string second = testutil::PublishTinySnapshot(tmp_.path(), spec);
  ASSERT_TRUE(WaitFor([&] { return load.Saw(second); }, absl::Seconds(30)));
  const int64_t at_swap = load.calls();
  ASSERT_TRUE(
      WaitFor([&] { return load.calls() > at_swap + 200; }, absl::Seconds(30)));
  load.Stop();
  EXPECT_THAT(load.failures(), ::testing::IsEmpty());
  EXPECT_EQ(load.versions(), (std::set<std::string>{first_, second}));
  EXPECT_THAT(
      Metrics(),
      HasSubstr("recserve_snapshot_reloads_total{result=\"success\"} 2"));
}

TEST_F(ReloadTest, RejectsACorruptSnapshotAndKeepsServing) {
  Load load(server_->port(), 2);
  testutil::TinySnapshotSpec spec;
  spec.seed = 4;
  const std::string bad = testutil::PublishTinySnapshot(tmp_.path(), spec);
  // Truncate a published file after the fact: the manifest no longer
  // matches it.
  std::filesystem::resize_file(
      absl::StrCat(tmp_.Path(bad), "/", kUserFactorsFile), 10);
  ASSERT_TRUE(WaitFor(
      [&] {
        return Metrics().find(
                   "recserve_snapshot_reloads_total{result=\"failure\"} 1") !=
               std::string::npos;
      },
      absl::Seconds(30)));
  const int64_t after = load.calls();
  ASSERT_TRUE(
      WaitFor([&] { return load.calls() > after + 100; }, absl::Seconds(30)));
  load.Stop();
  EXPECT_THAT(load.failures(), ::testing::IsEmpty());
  EXPECT_EQ(load.versions(), (std::set<std::string>{first_}));
  EXPECT_EQ(server_->models().Current()->snapshot().version(), first_);
  EXPECT_EQ(testutil::HealthCheck(server_->port()), testutil::kServing);
}

}  // namespace
}  // namespace recserve::server
