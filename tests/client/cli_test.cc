// recserve-cli and the Python example against a real recserve-server: a
// small generated data set is trained into a snapshot, the server binary is
// started on a free port, and the clients run as the user would run them.

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/recserve_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/subprocess.h"
#include "tests/testutil/serving_fixture.h"

namespace recserve::client {
namespace {

using client_test::ChildProcess;
using client_test::RunProcess;
using client_test::RunResult;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPython[] = "/usr/bin/python3";
const absl::Duration kCallLimit = absl::Seconds(30);

// Everything the tests share: the scratch folder, the data, the server.
struct Fixture {
  std::string dir;
  // user id -> the items the user rated (all of them are training items:
  // the snapshot is trained with --split none).
  absl::flat_hash_map<std::string, std::set<std::string>> rated;
  std::set<std::string> items;
  std::unique_ptr<ChildProcess> server;
  std::string target;  // 127.0.0.1:PORT
  std::string error;   // why set-up failed, if it did
};
Fixture* fixture = nullptr;

// The gRPC port from the server's "listening on ... (port N)" log line,
// waiting up to `limit` for it; 0 if it never appears.
int WaitForPort(const std::string& log, absl::Duration limit) {
  static const std::regex kListening("listening on \\S+ \\(port (\\d+)\\)");
  const absl::Time end = absl::Now() + limit;
  do {
    const std::string text = client_test::SlurpFile(log);
    std::smatch m;
    if (std::regex_search(text, m, kListening)) return std::stoi(m[1]);
    absl::SleepFor(absl::Milliseconds(20));
  } while (absl::Now() < end);
  return 0;
}

// Starts recserve-server on the fixture's snapshots and waits until health
// says SERVING. Returns "" or what went wrong.
std::string StartServer(const std::string& log,
                        std::unique_ptr<ChildProcess>* server,
                        std::string* target) {
  *server = std::make_unique<ChildProcess>(
      std::vector<std::string>{
          RECSERVE_SERVER_BINARY, "--snapshot_dir", fixture->dir + "/snapshots",
          "--listen", "127.0.0.1:0", "--metrics_listen", "127.0.0.1:0"},
      log + ".out", log);
  if (!(*server)->started()) return "cannot start recserve-server";
  const int port = WaitForPort(log, absl::Seconds(30));
  if (port == 0) {
    return "no 'listening on' line: " + client_test::SlurpFile(log);
  }
  *target = absl::StrCat("127.0.0.1:", port);
  ClientOptions options;
  options.deadline = absl::Seconds(2);
  const RecommenderClient client(*target, options);
  const absl::Time end = absl::Now() + absl::Seconds(60);
  while (absl::Now() < end) {
    absl::StatusOr<ServingStatus> health = client.Health();
    if (health.ok() && *health == ServingStatus::kServing) return "";
    absl::SleepFor(absl::Milliseconds(50));
  }
  return "not SERVING within 60 s: " + client_test::SlurpFile(log);
}

std::string SetUpEverything() {
  std::string tmpl = ::testing::TempDir() + "/recserve_cli_XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return "mkdtemp failed";
  fixture->dir = tmpl;
  const std::string& dir = fixture->dir;
  // Generated ratings (dir/ratings.csv, movies.csv) and the snapshot the
  // training pipeline publishes from them (dir/snapshots).
  testutil::TrainGeneratedSnapshot(dir, 300, 200, 20'000);
  if (!std::filesystem::exists(dir + "/snapshots/LATEST")) {
    return "training the fixture published no snapshot";
  }

  std::istringstream ratings(client_test::SlurpFile(dir + "/ratings.csv"));
  std::string line;
  std::getline(ratings, line);  // header
  while (std::getline(ratings, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() < 2) continue;
    fixture->rated[f[0]].insert(f[1]);
    fixture->items.insert(f[1]);
  }
  if (fixture->rated.size() != 300) return "unexpected ratings.csv";
  return StartServer(dir + "/server.log", &fixture->server, &fixture->target);
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture = new Fixture;
    fixture->error = SetUpEverything();
  }
  static void TearDownTestSuite() {
    if (fixture->server != nullptr) {
      fixture->server->Signal(SIGTERM);
      EXPECT_EQ(fixture->server->Wait(absl::Seconds(30)), 0);
    }
    if (!fixture->dir.empty() && getenv("RECSERVE_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(fixture->dir, ignored);
    }
    delete fixture;
    fixture = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(fixture->error.empty()) << fixture->error;
  }

  // recserve-cli --server TARGET args...
  static RunResult Cli(std::vector<std::string> args,
                       const std::string& target = fixture->target) {
    args.insert(args.begin(), {RECSERVE_CLI_BINARY, "--server", target});
    return RunProcess(args, fixture->dir, kCallLimit);
  }
  static nlohmann::json CliJson(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    const RunResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  }
  static std::vector<std::string> ItemIds(const nlohmann::json& response) {
    std::vector<std::string> ids;
    for (const auto& item : response["items"]) ids.push_back(item["item_id"]);
    return ids;
  }
};

TEST_F(CliTest, HealthIsServing) {
  RunResult r = Cli({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, fixture->target + ": SERVING\n");
  r = Cli({"--json", "health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"status\":\"SERVING\"}\n");
}

TEST_F(CliTest, RecommendReturnsNUnseenItemsAsTableAndJson) {
  const nlohmann::json json = CliJson({"recommend", "--user", "1", "-n", "10"});
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["model_version"], "v000001");
  EXPECT_EQ(json["fallback"], false);
  const std::vector<std::string> ids = ItemIds(json);
  ASSERT_EQ(ids.size(), 10u);
  const std::set<std::string>& rated = fixture->rated.at("1");
  for (const std::string& id : ids) {
    EXPECT_EQ(rated.count(id), 0u) << id << " was rated by user 1";
    EXPECT_EQ(fixture->items.count(id), 1u) << id;
  }
  for (size_t i = 1; i < json["items"].size(); ++i) {
    EXPECT_GE(json["items"][i - 1]["score"], json["items"][i]["score"]);
  }
  EXPECT_FALSE(json["items"][0]["title"].get<std::string>().empty());

  // The table lists the same items in the same order, aligned.
  const RunResult r = Cli({"recommend", "--user", "1", "-n", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 12u) << r.out;
  EXPECT_EQ(lines[0], "Top 10 items for user 1 (model v000001)");
  EXPECT_THAT(lines[1], StartsWith("rank  item id"));
  const size_t score_end = lines[1].find("score") + 5;
  for (int i = 0; i < 10; ++i) {
    const std::string& row = lines[2 + i];
    std::vector<std::string> cells =
        absl::StrSplit(row, ' ', absl::SkipEmpty());
    ASSERT_GE(cells.size(), 3u) << row;
    EXPECT_EQ(cells[0], absl::StrCat(i + 1));
    EXPECT_EQ(cells[1], ids[i]);
    // The score column is right-aligned under its header.
    EXPECT_TRUE(isdigit(row[score_end - 1]) && row[score_end] == ' ') << row;
  }
}

TEST_F(CliTest, RecommendHonoursExclusionsAndFallsBackForUnknownUsers) {
  const std::vector<std::string> top =
      ItemIds(CliJson({"recommend", "--user", "1", "-n", "5"}));
  ASSERT_EQ(top.size(), 5u);
  const std::vector<std::string> rest =
      ItemIds(CliJson({"recommend", "--user", "1", "-n", "5", "--exclude",
                       absl::StrCat(top[0], ",", top[1])}));
  ASSERT_EQ(rest.size(), 5u);
  EXPECT_THAT(rest, ::testing::Not(::testing::Contains(top[0])));
  EXPECT_THAT(rest, ::testing::Not(::testing::Contains(top[1])));
  EXPECT_EQ(rest[0], top[2]);  // the rest moves up
  EXPECT_EQ(ItemIds(CliJson({"recommend", "--user", "1", "-n", "5", "--exact"}))
                .size(),
            5u);

  const nlohmann::json fallback =
      CliJson({"recommend", "--user", "no-such-user", "-n", "3"});
  EXPECT_EQ(fallback["fallback"], true);
  EXPECT_EQ(fallback["items"].size(), 3u);
  const RunResult r = Cli({"recommend", "--user", "no-such-user", "-n", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("\n(fallback: popular items for an unknown user)\n"));
}

TEST_F(CliTest, SimilarPredictAndInfo) {
  const nlohmann::json similar = CliJson({"similar", "--item", "2", "-k", "5"});
  const std::vector<std::string> ids = ItemIds(similar);
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_THAT(ids, ::testing::Not(::testing::Contains("2")));
  for (const auto& item : similar["items"]) {
    EXPECT_FALSE(item.contains("predicted_rating"));
    EXPECT_LE(item["score"].get<double>(), 1.0 + 1e-6);
  }
  RunResult r = Cli({"similar", "--item", "2", "-k", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("5 items similar to item 2 (model v000001)\n"
                                "rank  item id  similarity"));

  const nlohmann::json info = CliJson({"info"});
  EXPECT_EQ(info["num_users"], 300);
  EXPECT_EQ(info["num_items"], static_cast<int>(fixture->items.size()));
  EXPECT_EQ(info["num_ratings"], 20000);
  EXPECT_EQ(info["model_version"], "v000001");
  EXPECT_TRUE(info["metrics"].is_object());
  r = Cli({"info"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("Model v000001\n"));
  EXPECT_THAT(r.out, HasSubstr("  num_ratings        20000\n"));

  const std::string item = *fixture->rated.at("1").begin();
  const nlohmann::json predicted =
      CliJson({"predict", "--user", "1", "--item", item});
  EXPECT_EQ(predicted["fallback"], false);
  EXPECT_GE(predicted["rating"], info["rating_min"]);
  EXPECT_LE(predicted["rating"], info["rating_max"]);
  r = Cli({"predict", "--user", "nobody", "--item", item});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(fallback: unknown user"));
}

TEST_F(CliTest, RecentFiltersAndExplanations) {
  const nlohmann::json info = CliJson({"info"});
  EXPECT_EQ(info["fold_in"], true);
  ASSERT_GT(info["labels"].size(), 1u);
  const std::string label = info["labels"][0];
  const std::string other = info["labels"][1];

  // A visitor with recent items: folded in, none of them returned, every
  // item labelled `label` but not `other`, each explained.
  const std::vector<std::string> recent = {"2", "3", "5"};
  const nlohmann::json json = CliJson(
      {"recommend", "--user", "visitor", "-n", "5", "--recent", "2:5,3,5:1:2",
       "--include_labels", label, "--exclude_labels", other, "--explain"});
  EXPECT_EQ(json["folded_in"], true);
  EXPECT_EQ(json["fallback"], false);
  EXPECT_EQ(json["recent_unknown"], 0);
  ASSERT_GT(json["items"].size(), 0u);
  for (const auto& item : json["items"]) {
    EXPECT_THAT(recent, ::testing::Not(::testing::Contains(item["item_id"])));
    std::vector<std::string> labels = item["labels"];
    EXPECT_THAT(labels, ::testing::Contains(label));
    EXPECT_THAT(labels, ::testing::Not(::testing::Contains(other)));
    ASSERT_TRUE(item.contains("explanation")) << item.dump();
    for (const auto& because : item["explanation"]["because"]) {
      EXPECT_THAT(recent, ::testing::Contains(because["item_id"]));
    }
  }
  RunResult r = Cli({"recommend", "--user", "visitor", "-n", "3", "--recent",
                     "2:5,no-such-item", "--explain"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(folded in from recent interactions)\n"
                               "(skipped 1 recent interaction with unknown "
                               "items)\n"));
  EXPECT_THAT(r.out, HasSubstr("\nWhy:\n  1. "));
  EXPECT_THAT(r.out, HasSubstr("     because: 2 "));

  // An allow-list of two items: at most those two.
  const nlohmann::json listed =
      CliJson({"recommend", "--user", "1", "-n", "5", "--filter_items", "7,8"});
  for (const auto& item : listed["items"]) {
    EXPECT_THAT((std::vector<std::string>{"7", "8"}),
                ::testing::Contains(item["item_id"]));
  }

  // Several seeds, filtered; predict with recent.
  const nlohmann::json similar = CliJson(
      {"similar", "--items", "2,3", "-k", "4", "--include_labels", label});
  ASSERT_EQ(similar["items"].size(), 4u);
  for (const auto& item : similar["items"]) {
    EXPECT_NE(item["item_id"], "2");
    EXPECT_NE(item["item_id"], "3");
    std::vector<std::string> labels = item["labels"];
    EXPECT_THAT(labels, ::testing::Contains(label));
  }
  r = Cli({"similar", "--item", "2", "--items", "3", "-k", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("2 items similar to items 2, 3 (model "));
  const nlohmann::json predicted = CliJson(
      {"predict", "--user", "visitor", "--item", "9", "--recent", "2:5,3:4"});
  EXPECT_EQ(predicted["folded_in"], true);
  EXPECT_EQ(predicted["fallback"], false);

  // The server's errors name the field.
  r = Cli({"recommend", "--user", "1", "--include_labels", "no-such-label"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no-such-label"));
  r = Cli({"recommend", "--user", "1", "--recent", "2:1000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("recent[0].rating"));
}

TEST_F(CliTest, ServerErrorsExitOne) {
  RunResult r = Cli({"similar", "--item", "no-such-item"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("recserve-cli: "));
  EXPECT_THAT(r.err, HasSubstr("no-such-item"));
  EXPECT_EQ(r.out, "");
  r = Cli({"recommend", "--user", "1", "-n", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("n must be"));
}

TEST_F(CliTest, UsageErrorsExitTwoAndSayWhat) {
  RunResult r = Cli({"recommend", "-n", "3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("recommend needs --user"));
  r = Cli({"predict", "--user", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("predict needs --item"));
  r = Cli({"similar"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("similar needs --item or --items"));
  r = Cli({"recommend", "--user", "1", "--recent", "2:5,:3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("recent entry 2 ':3': empty item id"));
  r = Cli({"predict", "--user", "1", "--item", "2", "--recent", "2:x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("rating 'x' is not a finite number"));
  r = Cli({"recommend", "--user", "1", "--recent", "2:4:-1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("weight must be >= 0"));
  r = Cli({"recommand"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'recommand'"));
  r = Cli({"--colour", "info"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown flag --colour"));
  r = Cli({"recommend", "--user", "1", "-n", "ten"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("'ten'"));
  r = RunProcess({RECSERVE_CLI_BINARY}, fixture->dir, kCallLimit);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing command"));
  r = RunProcess({RECSERVE_CLI_BINARY, "--help"}, fixture->dir, kCallLimit);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: recserve-cli"));
}

// A port nothing listens on: the server's, after it stopped.
TEST_F(CliTest, UnreachableServerAndSigterm) {
  std::unique_ptr<ChildProcess> server;
  std::string target;
  const std::string started =
      StartServer(fixture->dir + "/second.log", &server, &target);
  ASSERT_EQ(started, "");
  EXPECT_EQ(Cli({"health"}, target).exit_code, 0);
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(absl::Seconds(30)), 0);
  EXPECT_THAT(client_test::SlurpFile(fixture->dir + "/second.log"),
              HasSubstr("shut down"));

  const absl::Time start = absl::Now();
  RunResult r = Cli({"recommend", "--user", "1"}, target);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // fails fast
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith(absl::StrCat(
                         "recserve-cli: server not reachable at ", target)));
  r = Cli({"health"}, target);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("server not reachable"));
  r = RunProcess(
      {kPython, RECSERVE_SOURCE_DIR "/client/python/recserve_client.py",
       "--stubs", RECSERVE_PYTHON_STUBS, "--server", target, "info"},
      fixture->dir, kCallLimit);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("server not reachable at " + target));
}

TEST_F(CliTest, PythonExampleAgreesWithTheCli) {
  if (::access(kPython, X_OK) != 0) GTEST_SKIP() << "no " << kPython;
  const std::string script =
      RECSERVE_SOURCE_DIR "/client/python/recserve_client.py";
  // Stubs from the environment variable here, from --stubs below.
  const std::vector<std::string> env = {
      absl::StrCat("RECSERVE_PYTHON_STUBS=", RECSERVE_PYTHON_STUBS)};
  RunResult r = RunProcess({kPython, script, "--server", fixture->target,
                            "--json", "recommend", "--user", "1", "-n", "10"},
                           fixture->dir, kCallLimit, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json python = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(python.is_object()) << r.out;
  EXPECT_EQ(ItemIds(python),
            ItemIds(CliJson({"recommend", "--user", "1", "-n", "10"})));

  r = RunProcess({kPython, script, "--stubs", RECSERVE_PYTHON_STUBS, "--server",
                  fixture->target, "recommend", "--user", "1", "-n", "3"},
                 fixture->dir, kCallLimit);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("Top 3 items for user 1 (model v000001)\n"
                                "rank  item id"));
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"similar", "--item", "2", "-k", "3"},
           {"predict", "--user", "1", "--item", "2"},
           {"info"}}) {
    std::vector<std::string> argv = {kPython, script, "--server",
                                     fixture->target};
    argv.insert(argv.end(), args.begin(), args.end());
    r = RunProcess(argv, fixture->dir, kCallLimit, env);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_THAT(r.out, HasSubstr("v000001")) << args[0];
  }
  // Recent interactions, a filter and explanations, as the CLI sends them.
  const std::string label = CliJson({"info"})["labels"][0];
  r = RunProcess({kPython, script, "--server", fixture->target, "--json",
                  "recommend", "--user", "visitor", "-n", "5", "--recent",
                  "2:5,3,5:1:2", "--include_labels", label, "--explain"},
                 fixture->dir, kCallLimit, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json personalized =
      nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(personalized.is_object()) << r.out;
  EXPECT_EQ(personalized["folded_in"], true);
  EXPECT_EQ(
      ItemIds(personalized),
      ItemIds(CliJson({"recommend", "--user", "visitor", "-n", "5", "--recent",
                       "2:5,3,5:1:2", "--include_labels", label})));
  r = RunProcess(
      {kPython, script, "--server", fixture->target, "recommend", "--user",
       "visitor", "-n", "2", "--recent", "2:5", "--explain"},
      fixture->dir, kCallLimit, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(folded in from recent interactions)\n"));
  EXPECT_THAT(r.out, HasSubstr("\nWhy:\n  1. "));
  r = RunProcess({kPython, script, "--server", fixture->target, "similar",
                  "--items", "2,3", "-k", "2"},
                 fixture->dir, kCallLimit, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("2 items similar to items 2, 3 (model "));
  r = RunProcess({kPython, script, "--server", fixture->target, "recommend",
                  "--user", "1", "--recent", "2:x"},
                 fixture->dir, kCallLimit, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("rating 'x' is not a finite number"));
  r = RunProcess({kPython, script, "--server", fixture->target, "health"},
                 fixture->dir, kCallLimit, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, fixture->target + ": SERVING\n");
  r = RunProcess({kPython, script, "--server", fixture->target, "similar",
                  "--item", "no-such-item"},
                 fixture->dir, kCallLimit, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no-such-item"));
}

}  // namespace
}  // namespace recserve::client
