// recserve-bench's engine against a real server on 127.0.0.1: closed and
// open loops, every method, bounded by count and time, and a server that is
// not there.

#include "client/load_generator.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/load_report.h"
#include "client/request_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve::client {
namespace {

using ::testing::HasSubstr;

class LoadGeneratorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    ASSERT_FALSE(testutil::PublishTinySnapshot(tmp_->path(), {}).empty());
    server::ServerOptions o;
    o.snapshot_dir = tmp_->path();
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "";
    auto started = server::RecserveServer::Start(o);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    ASSERT_TRUE(testutil::WaitFor(
        [] {
          return testutil::HealthCheck(server_->port()) == testutil::kServing;
        },
        absl::Seconds(30)));
    auto ids = LoadIdLists(tmp_->path());
    ASSERT_TRUE(ids.ok()) << ids.status();
    ids_ = new IdLists(*std::move(ids));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete ids_;
    delete tmp_;
  }

  static std::vector<PreparedRequest> Mix() {
    RequestPoolOptions o;
    for (double& w : o.weights) w = 1;
    o.size = 100;
    return BuildRequestPool(*ids_, o).value();
  }
  static LoadOptions Local() {
    LoadOptions o;
    o.target = absl::StrCat("127.0.0.1:", server_->port());
    o.deadline = absl::Seconds(10);
    return o;
  }

  static testutil::TempDir* tmp_;
  static server::RecserveServer* server_;
  static IdLists* ids_;
};
testutil::TempDir* LoadGeneratorTest::tmp_ = nullptr;
server::RecserveServer* LoadGeneratorTest::server_ = nullptr;
IdLists* LoadGeneratorTest::ids_ = nullptr;

TEST_F(LoadGeneratorTest, IdListsArePopularFirst) {
  ASSERT_EQ(ids_->users.size(), 40u);
  ASSERT_EQ(ids_->items.size(), 60u);
}

TEST_F(LoadGeneratorTest, ClosedLoopSendsExactlyTotalCallsOfEveryMethod) {
  LoadOptions o = Local();
  o.total = 400;
  o.concurrency = 8;
  o.connections = 2;
  o.threads = 2;
  absl::StatusOr<LoadResult> r = RunLoad(o, Mix());
  ASSERT_TRUE(r.ok()) << r.status();
  const LoadReport report = Summarize(*r);
  EXPECT_EQ(report.count, 400);
  EXPECT_EQ(report.status_codes.at("OK"), 400) << FormatText(report);
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(report.by_method.size(), 4u);
  EXPECT_GT(report.requests_per_second, 0);
  EXPECT_GT(report.latency.fastest_us, 0);
  int64_t in_timeline = 0;
  for (const int64_t ok : report.ok_per_tick) in_timeline += ok;
  EXPECT_EQ(in_timeline, 400);
}

TEST_F(LoadGeneratorTest, OpenLoopSendsAtTheRateForTheDuration) {
  LoadOptions o = Local();
  o.rps = 400;
  o.duration = absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  absl::StatusOr<LoadResult> r = RunLoad(o, Mix());
  ASSERT_TRUE(r.ok()) << r.status();
  // Intended starts at 0, 2.5 ms, ... < 500 ms: exactly 200 calls.
  EXPECT_EQ(r->calls.size(), 200u);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(490));
  EXPECT_GE(r->seconds, 0.49);
  const LoadReport report = Summarize(*r);
  EXPECT_EQ(report.status_codes.at("OK"), 200);
  // Sent over 500 ms, so answered over several 100 ms ticks, not at once
  // (the timeline's point); exact counts per tick depend on the machine.
  int ticks_with_answers = 0;
  int64_t answered = 0;
  for (const int64_t ok : report.ok_per_tick) {
    ticks_with_answers += ok > 0;
    answered += ok;
  }
  EXPECT_EQ(answered, 200);
  EXPECT_GE(ticks_with_answers, 3);
}

TEST_F(LoadGeneratorTest, ServerErrorsAreCountedNotFatal) {
  IdLists unknown;
  unknown.items = {"no-such-item"};
  RequestPoolOptions p;
  p.weights[0] = 0;
  p.weights[1] = 1;  // SimilarItems of an unknown item: NOT_FOUND
  LoadOptions o = Local();
  o.total = 30;
  absl::StatusOr<LoadResult> r =
      RunLoad(o, BuildRequestPool(unknown, p).value());
  ASSERT_TRUE(r.ok());
  const LoadReport report = Summarize(*r);
  EXPECT_EQ(report.status_codes.at("NotFound"), 30);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_THAT(report.errors.begin()->first, HasSubstr("[NotFound]"));
  EXPECT_EQ(report.errors.begin()->second, 30);
}

TEST_F(LoadGeneratorTest, AbsentServerGivesUnavailableAndReturns) {
  LoadOptions o = Local();
  o.target = "127.0.0.1:1";  // nothing listens on port 1
  o.total = 20;
  o.concurrency = 4;
  o.deadline = absl::Seconds(5);
  absl::StatusOr<LoadResult> r = RunLoad(o, Mix());
  ASSERT_TRUE(r.ok());
  const LoadReport report = Summarize(*r);
  EXPECT_EQ(report.count, 20);
  EXPECT_EQ(report.status_codes.count("OK"), 0u);
  EXPECT_FALSE(report.errors.empty());
}

TEST_F(LoadGeneratorTest, BadOptionsAreNamed) {
  LoadOptions o = Local();
  EXPECT_THAT(RunLoad(o, Mix()).status().message(),
              HasSubstr("--total or --duration"));
  o.total = 1;
  o.connections = 0;
  EXPECT_THAT(RunLoad(o, Mix()).status().message(), HasSubstr("--connections"));
  o.connections = 1;
  EXPECT_EQ(RunLoad(o, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recserve::client
