// recserve-cli against a snapshot trained on events (implicit feedback):
// `info` shows the feedback kind and event weights, `recommend --recent`
// sends events (item@event[*weight]), and the server's refusals (PredictRating,
// an unknown event type) come back as RPC errors naming the cause. The
// server runs in process on 127.0.0.1; the CLI is the real binary.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/implicit_snapshot.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

class CliImplicitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    const testutil::ImplicitFixture fixture = testutil::MakeImplicitFixture();
    ASSERT_FALSE(
        testutil::PublishImplicitSnapshot(tmp_->Path("snapshots"), fixture)
            .empty());
    server::ServerOptions o;
    o.snapshot_dir = tmp_->Path("snapshots");
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "";
    o.shutdown_grace = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<server::RecserveServer>> started =
        server::RecserveServer::Start(o);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    ASSERT_TRUE(testutil::WaitFor(
        [] {
          return testutil::HealthCheck(server_->port()) == testutil::kServing;
        },
        absl::Seconds(30)));
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->Shutdown();
    delete server_;
    delete tmp_;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static testutil::CommandResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {RECSERVE_CLI_BINARY, "--server",
                               absl::StrCat("127.0.0.1:", server_->port())});
    return testutil::RunCommand(args);
  }

  static testutil::TempDir* tmp_;
  static server::RecserveServer* server_;
};

testutil::TempDir* CliImplicitTest::tmp_ = nullptr;
server::RecserveServer* CliImplicitTest::server_ = nullptr;

TEST_F(CliImplicitTest, InfoShowsFeedbackAndEvents) {
  testutil::CommandResult r = Cli({"info"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("implicit (events: ranks by preference, "
                               "predicts no ratings)"));
  EXPECT_THAT(r.out, HasSubstr("cart=3, dislike=2 (negative), purchase=5, "
                               "view=1"));
  r = Cli({"--json", "info"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["feedback"], "implicit");
  EXPECT_EQ(info["event_weights"]["purchase"], 5.0);
  EXPECT_EQ(info["negative_events"], nlohmann::json::array({"dislike"}));
}

TEST_F(CliImplicitTest, RecommendSendsEvents) {
  testutil::CommandResult r =
      Cli({"--json", "recommend", "--user", "visitor", "-n", "3", "--recent",
           "i2@purchase,i5@view*3,i8@dislike,i11"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json answer = nlohmann::json::parse(r.out);
  EXPECT_EQ(answer["folded_in"], true);
  EXPECT_EQ(answer["fallback"], false);
  ASSERT_EQ(answer["items"].size(), 3u);
  for (const nlohmann::json& item : answer["items"]) {
    for (const char* sent : {"i2", "i5", "i8", "i11"}) {
      EXPECT_NE(item["item_id"], sent);
    }
  }
  r = Cli({"recommend", "--user", "u1", "--recent", "i2@teleport"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("recent[0].event \"teleport\""));
  r = Cli({"recommend", "--user", "u1", "--recent", "i2:5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("recent[0].rating"));
  r = Cli({"recommend", "--user", "u1", "--recent", "i2@"});
  EXPECT_EQ(r.exit_code, 2) << "a usage error";
  EXPECT_THAT(r.out, HasSubstr("empty event type"));
}

TEST_F(CliImplicitTest, PredictIsRefused) {
  const testutil::CommandResult r =
      Cli({"predict", "--user", "u1", "--item", "i2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("predicts no ratings"));
}

}  // namespace
}  // namespace recserve
