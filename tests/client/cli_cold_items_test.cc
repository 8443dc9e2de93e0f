// recserve-cli and the Python example against a snapshot with cold items
// (tests/testutil/cold_snapshot.h): `recommend --cold_items` reserves slots
// and marks cold items (a "cold" column, "cold": true in JSON), `similar`
// and `predict` show them, `info` counts them. The server runs in process on
// 127.0.0.1; the CLI and the Python script are the real programs.

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/cold_snapshot.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

constexpr char kPython[] = "/usr/bin/python3";

class CliColdItemsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    const testutil::ColdServingFixture fixture =
        testutil::MakeColdServingFixture();
    ASSERT_FALSE(
        testutil::PublishColdServingSnapshot(tmp_->Path("snapshots"), fixture)
            .empty());
    server::ServerOptions o;
    o.snapshot_dir = tmp_->Path("snapshots");
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "";
    o.shutdown_grace = absl::Seconds(2);
    o.load.save_built_indexes = false;
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

  static std::string Target() {
    return absl::StrCat("127.0.0.1:", server_->port());
  }
  static testutil::CommandResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {RECSERVE_CLI_BINARY, "--server", Target()});
    return testutil::RunCommand(args);
  }
  static nlohmann::json CliJson(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    const testutil::CommandResult r = Cli(std::move(args));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  // Counts the items marked cold, checking each mark against the id.
  static int CountCold(const nlohmann::json& answer) {
    int cold = 0;
    for (const auto& item : answer["items"]) {
      const bool is_cold = item["cold"].get<bool>();
      EXPECT_EQ(is_cold,
                absl::StartsWith(item["item_id"].get<std::string>(), "c"));
      cold += is_cold ? 1 : 0;
    }
    return cold;
  }

  static testutil::TempDir* tmp_;
  static server::RecserveServer* server_;
};

testutil::TempDir* CliColdItemsTest::tmp_ = nullptr;
server::RecserveServer* CliColdItemsTest::server_ = nullptr;

TEST_F(CliColdItemsTest, RecommendReservesAndMarksColdItems) {
  const nlohmann::json json =
      CliJson({"recommend", "--user", "u1", "-n", "5", "--cold_items", "2"});
  ASSERT_EQ(json["items"].size(), 5u) << json;
  EXPECT_GE(CountCold(json), 2);
  testutil::CommandResult r =
      Cli({"recommend", "--user", "u1", "-n", "5", "--cold_items", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("predicted rating  cold  title"));
  EXPECT_THAT(r.out, HasSubstr("  cold  Item 4"));  // a cold item's row
  r = Cli({"recommend", "--user", "u1", "-n", "2", "--cold_items", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("cold_items"));
}

TEST_F(CliColdItemsTest, SimilarPredictAndInfoShowColdItems) {
  const nlohmann::json similar =
      CliJson({"similar", "--item", "c42", "-k", "3"});
  ASSERT_EQ(similar["items"].size(), 3u);
  EXPECT_EQ(CountCold(similar), 2);
  const nlohmann::json predicted =
      CliJson({"predict", "--user", "u3", "--item", "c43"});
  EXPECT_EQ(predicted["item_known"], true);
  EXPECT_EQ(predicted["item_cold"], true);
  testutil::CommandResult r = Cli({"predict", "--user", "u3", "--item", "c43"});
  EXPECT_THAT(r.out, HasSubstr("(cold item: "));
  EXPECT_EQ(CliJson({"info"})["cold_items"], 9);
}

TEST_F(CliColdItemsTest, PythonExamplePassesColdItems) {
  if (::access(kPython, X_OK) != 0) GTEST_SKIP() << "no " << kPython;
  const testutil::CommandResult r = testutil::RunCommand(
      {kPython, RECSERVE_SOURCE_DIR "/client/python/recserve_client.py",
       "--stubs", RECSERVE_PYTHON_STUBS, "--server", Target(), "--json",
       "recommend", "--user", "u1", "-n", "4", "--cold_items", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json json = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << r.out;
  int cold = 0;
  for (const auto& item : json["items"]) {
    cold += item.value("cold", false) ? 1 : 0;
  }
  EXPECT_GE(cold, 3);
}

}  // namespace
}  // namespace recserve
