// The recserve-server binary as operators run it: started as a process,
// loaded with calls, then sent SIGTERM. Calls in flight finish, new calls are
// refused, and it exits 0.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

extern char** environ;

namespace recserve {
namespace {

using testutil::WaitFor;

// recserve-server with stderr to `log`; killed if still running at the end.
class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& args, const std::string& log)
      : log_(log) {
    std::vector<char*> argv;
    std::vector<std::string> all = {RECSERVE_SERVER_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) !=
        0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // The gRPC port from the "listening on ... (port N)" line, or 0.
  int Port() const {
    const std::string log = testutil::ReadFile(log_);
    std::smatch m;
    static const std::regex kListening("listening on \\S+ \\(port (\\d+)\\)");
    return std::regex_search(log, m, kListening) ? std::stoi(m[1]) : 0;
  }
  void Signal(int signal) const { ::kill(pid_, signal); }
  // The exit code, or -1 if it does not exit within `limit` (or by a signal).
  int Wait(absl::Duration limit) {
    int status = 0;
    const bool exited = WaitFor(
        [&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, limit);
    if (!exited) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  bool started() const { return pid_ > 0; }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

TEST(ShutdownTest, SigtermDrainsCallsInFlightAndExitsZero) {
  testutil::TempDir tmp;
  testutil::TinySnapshotSpec spec;
  spec.users = 400;
  spec.items = 3000;
  spec.retrieval_factors = 32;
  testutil::PublishTinySnapshot(tmp.path(), spec);
  const std::string log = tmp.Path("server.log");
  ServerProcess server(
      {absl::StrCat("--snapshot_dir=", tmp.path()), "--listen=127.0.0.1:0",
       "--metrics_listen=", "--shutdown_grace=5s"},
      log);
  ASSERT_TRUE(server.started());
  ASSERT_TRUE(WaitFor([&] { return server.Port() > 0; }, absl::Seconds(30)))
      << testutil::ReadFile(log);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.Port()),
                                     grpc::InsecureChannelCredentials());
  ASSERT_TRUE(WaitFor(
      [&] {
        return testutil::HealthCheck(server.Port()) == testutil::kServing;
      },
      // Building the indexes takes ~1 s here, minutes under the sanitizers.
      absl::Seconds(240)))
      << testutil::ReadFile(log);

  // Exact retrieval over 3,000 items keeps calls busy long enough to be in
  // flight when the signal lands.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, refused{0};
  std::mutex mu;
  std::vector<std::string> other;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto stub = v1::Recommender::NewStub(channel);
      for (int i = 0; !stop && i < 100'000; ++i) {
        v1::RecommendRequest request;
        request.set_user_id(absl::StrCat("u", (t * 31 + i) % 400));
        request.set_n(10);
        request.set_exact(true);
        request.set_candidates(2000);
        v1::RecommendResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10));
        const grpc::Status s = stub->Recommend(&context, request, &response);
        if (s.ok()) {
          ++ok;
        } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                   s.error_code() == grpc::StatusCode::CANCELLED) {
          // Refused: sent after shutdown began (UNAVAILABLE), or queued in
          // the server but not started when it did (gRPC cancels those).
          // The server's log says whether every started call finished.
          ++refused;
          if (refused > 20) return;
        } else {
          std::lock_guard lock(mu);
          other.push_back(absl::StrCat(s.error_code(), " ", s.error_message()));
        }
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return ok > 50; }, absl::Seconds(60)));
  server.Signal(SIGTERM);
  const int code = server.Wait(absl::Seconds(20));
  stop = true;
  for (std::thread& c : clients) c.join();
  EXPECT_EQ(code, 0) << testutil::ReadFile(log);
  EXPECT_THAT(other, ::testing::IsEmpty()) << "calls failed other than refused";
  EXPECT_GT(ok, 50);
  EXPECT_GT(refused, 0) << "calls after shutdown are refused";
  const std::string text = testutil::ReadFile(log);
  EXPECT_THAT(text, ::testing::HasSubstr("received SIGTERM"));
  EXPECT_THAT(text, ::testing::HasSubstr("every call in flight finished"));
  EXPECT_THAT(text,
              ::testing::Not(::testing::HasSubstr("grace period ran out")));
}

}  // namespace
}  // namespace recserve
