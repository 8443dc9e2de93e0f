// Clients that misbehave, against the real server on 127.0.0.1: calls whose
// deadline passes, calls cancelled mid-flight, a client process killed with
// calls open, and one connection opening far more streams than the server
// allows. The server stays healthy, its in-flight gauge returns to zero and,
// under ASan, LeakSanitizer checks nothing is left behind at exit.

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/recserve_server.h"
#include "tests/client/subprocess.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

using testutil::WaitFor;

constexpr int kMaxStreams = 4;

// Async Recommend calls on one channel, waited for together.
class CallBatch {
 public:
  explicit CallBatch(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::Recommender::NewStub(std::move(channel))) {}

  // Starts a call; `deadline` from now (may be zero: already passed).
  grpc::ClientContext* Start(const std::string& user, bool exact,
                             absl::Duration deadline) {
    auto call = std::make_unique<Call>();
    call->request.set_user_id(user);
    call->request.set_n(10);
    call->request.set_exact(exact);
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    Call* raw = call.get();
    {
      std::lock_guard lock(mu_);
      calls_.push_back(std::move(call));
      ++open_;
    }
    stub_->async()->Recommend(&raw->context, &raw->request, &raw->response,
                              [this, raw](grpc::Status status) {
                                std::lock_guard lock(mu_);
                                raw->status = std::move(status);
                                if (--open_ == 0) done_.notify_all();
                              });
    return &raw->context;
  }

  // Waits (at most 60 s) for every call; returns the count per status code.
  std::map<grpc::StatusCode, int> Wait() {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(done_.wait_for(lock, std::chrono::seconds(60),
                               [&] { return open_ == 0; }));
    std::map<grpc::StatusCode, int> codes;
    for (const auto& call : calls_) ++codes[call->status.error_code()];
    return codes;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::RecommendRequest request;
    v1::RecommendResponse response;
    grpc::Status status;
  };
  std::unique_ptr<v1::Recommender::Stub> stub_;
  std::mutex mu_;
  std::condition_variable done_;
  std::vector<std::unique_ptr<Call>> calls_;
  int open_ = 0;
};

class ClientFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Exact retrieval over 3,000 items keeps a call busy long enough for a
    // client to give up on it while it runs.
    testutil::TinySnapshotSpec spec;
    spec.users = 400;
    spec.items = 3000;
    spec.retrieval_factors = 32;
    testutil::PublishTinySnapshot(tmp_.path(), spec);
    ServerOptions o;
    o.snapshot_dir = tmp_.path();
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "127.0.0.1:0";
    o.max_concurrent_streams = kMaxStreams;
    absl::StatusOr<std::unique_ptr<RecserveServer>> server =
        RecserveServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_TRUE(WaitFor(
        [&] {
          return testutil::HealthCheck(server_->port()) == testutil::kServing;
        },
        absl::Seconds(240)));
  }

  std::shared_ptr<grpc::Channel> NewChannel() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // its own connection
    return grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", server_->port()),
        grpc::InsecureChannelCredentials(), args);
  }

  // The sum of recserve_requests_in_flight over its labels; -1 if absent.
  double InFlight() {
    const std::string metrics =
        testutil::HttpGet(server_->metrics_port(), "/metrics");
    static const std::regex kSample(
        "\nrecserve_requests_in_flight(\\{[^}]*\\})? ([0-9.e+-]+)");
    double sum = 0;
    bool found = false;
    for (auto it =
             std::sregex_iterator(metrics.begin(), metrics.end(), kSample);
         it != std::sregex_iterator(); ++it) {
      sum += std::stod((*it)[2]);
      found = true;
    }
    return found ? sum : -1;
  }

  // Healthy afterwards: nothing in flight, health SERVING, a call answers.
  void ExpectHealthy() {
    EXPECT_TRUE(WaitFor([&] { return InFlight() == 0; }, absl::Seconds(30)))
        << "in flight: " << InFlight();
    EXPECT_EQ(testutil::HealthCheck(server_->port()), testutil::kServing);
    CallBatch batch(NewChannel());
    batch.Start("u1", false, absl::Seconds(10));
    EXPECT_EQ(batch.Wait()[grpc::StatusCode::OK], 1);
  }

  testutil::TempDir tmp_;
  std::unique_ptr<RecserveServer> server_;
};

TEST_F(ClientFaultsTest, PassedDeadlinesAndCancelledCallsLeaveNothingBehind) {
  CallBatch batch(NewChannel());
  std::vector<grpc::ClientContext*> to_cancel;
  for (int i = 0; i < 300; ++i) {
    const std::string user = absl::StrCat("u", i % 400);
    switch (i % 3) {
      case 0:  // gone before it starts, or while it runs
        batch.Start(user, true, absl::Microseconds(50 * (i % 40)));
        break;
      case 1:
        to_cancel.push_back(batch.Start(user, true, absl::Seconds(30)));
        break;
      default:
        batch.Start(user, true, absl::Seconds(30));
    }
  }
  for (grpc::ClientContext* context : to_cancel) context->TryCancel();
  std::map<grpc::StatusCode, int> codes = batch.Wait();
  EXPECT_GT(codes[grpc::StatusCode::DEADLINE_EXCEEDED], 0);
  EXPECT_GT(codes[grpc::StatusCode::CANCELLED], 0);
  EXPECT_EQ(codes[grpc::StatusCode::OK] +
                codes[grpc::StatusCode::DEADLINE_EXCEEDED] +
                codes[grpc::StatusCode::CANCELLED],
            300);
  ExpectHealthy();
}

TEST_F(ClientFaultsTest, ClientKilledWithCallsOpen) {
  // recserve-bench holding 64 calls open on 4 connections, then SIGKILL:
  // its connections close under the server's feet.
  const std::string bench = absl::StrCat(
      std::filesystem::path(RECSERVE_SERVER_BINARY).parent_path().string(),
      "/recserve-bench");
  client_test::ChildProcess client(
      {bench, absl::StrCat("--server=127.0.0.1:", server_->port()),
       absl::StrCat("--snapshot_dir=", tmp_.path()), "--concurrency=64",
       "--connections=4", "--duration=60s", "--mix=recommend=1"},
      tmp_.Path("bench.out"), tmp_.Path("bench.err"));
  ASSERT_TRUE(client.started());
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string m =
            testutil::HttpGet(server_->metrics_port(), "/metrics");
        return m.find(
                   "recserve_requests_total{code=\"OK\",method="
                   "\"Recommend\"}") != std::string::npos;
      },
      absl::Seconds(60)))
      << testutil::ReadFile(tmp_.Path("bench.err"));
  absl::SleepFor(absl::Milliseconds(500));  // calls in flight now
  client.Signal(SIGKILL);
  EXPECT_EQ(client.Wait(absl::Seconds(10)), -1) << "killed by the signal";
  ExpectHealthy();
}

// Reads the server's first SETTINGS frame over a raw HTTP/2 connection and
// returns its SETTINGS_MAX_CONCURRENT_STREAMS, or -1.
int64_t AdvertisedStreamLimit(int port) {
  const int fd = testutil::ConnectLoopback(port);
  if (fd < 0) return -1;
  int64_t limit = -1;
  // The client preface, then an empty SETTINGS frame.
  static const char kPreface[] =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
  if (::send(fd, kPreface, sizeof(kPreface) - 1, 0) ==
      static_cast<ssize_t>(sizeof(kPreface) - 1)) {
    unsigned char header[9];
    if (::recv(fd, header, 9, MSG_WAITALL) == 9 && header[3] == 0x4) {
      const size_t length = (header[0] << 16) | (header[1] << 8) | header[2];
      std::vector<unsigned char> payload(length);
      if (::recv(fd, payload.data(), length, MSG_WAITALL) ==
          static_cast<ssize_t>(length)) {
        for (size_t at = 0; at + 6 <= length; at += 6) {
          const int id = (payload[at] << 8) | payload[at + 1];
          if (id == 0x3) {  // SETTINGS_MAX_CONCURRENT_STREAMS
            limit = (int64_t{payload[at + 2]} << 24) | (payload[at + 3] << 16) |
                    (payload[at + 4] << 8) | payload[at + 5];
          }
        }
      }
    }
  }
  ::close(fd);
  return limit;
}

TEST_F(ClientFaultsTest, OneConnectionGetsAtMostTheStreamLimit) {
  EXPECT_EQ(AdvertisedStreamLimit(server_->port()), kMaxStreams);
  // Far more calls than streams on one connection: the rest wait in the
  // client and every call still succeeds.
  CallBatch batch(NewChannel());
  for (int i = 0; i < 200; ++i) {
    batch.Start(absl::StrCat("u", i % 400), i % 2 == 0, absl::Seconds(60));
  }
  std::map<grpc::StatusCode, int> codes = batch.Wait();
  EXPECT_EQ(codes[grpc::StatusCode::OK], 200);
  ExpectHealthy();
}

}  // namespace
}  // namespace recserve::server
