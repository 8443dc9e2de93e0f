// deploy/prometheus/ and deploy/grafana/: promtool accepts the rules and
// passes their unit tests, which test every alert firing and not firing and
// every recording rule's value; every alert carries a severity, a summary
// and a description; the dashboard is valid JSON whose panels all query the
// datasource variable and have unique ids; and every metric the rules and the
// dashboard name is exported by a real recserve-server (scraped after a few
// calls), recorded by the rules file, or one of the few Kubernetes series the
// rules rely on.
//
// The rules are read line by line (prometheus_text.h); that reading is
// checked against promtool's own rule count, so a layout it misreads fails.

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/recserve_client.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/subprocess.h"
#include "tests/deploy/prometheus_text.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

namespace fs = std::filesystem;
using deploy_test::Lines;
using deploy_test::ParseRules;
using deploy_test::ParseScrape;
using deploy_test::Rule;
using deploy_test::Scrape;
using deploy_test::Selector;
using deploy_test::Selectors;

constexpr char kPromtool[] = "/usr/bin/promtool";
const fs::path kPrometheusDir =
    fs::path(RECSERVE_SOURCE_DIR) / "deploy/prometheus";
const fs::path kRulesFile = kPrometheusDir / "recserve-rules.yaml";
const fs::path kDashboard =
    fs::path(RECSERVE_SOURCE_DIR) / "deploy/grafana/recserve-dashboard.json";

// Series the rules use that recserve-server does not export: Prometheus's
// own per-target `up` and kube-state-metrics' Deployment replica counts.
const std::set<std::string> kExternalMetrics = {
    "up", "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available"};

// Labels Prometheus attaches to every scraped series (target labels), which
// the server itself never exports.
const std::set<std::string> kTargetLabels = {"namespace", "job", "pod",
                                             "instance"};

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> UnitTestFiles() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kPrometheusDir / "tests")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Checks one expression's metric names (see the top of this file) and, for
// the server's own metrics, that each `label="value"` it selects on occurs
// in the scrape, so that result="failed" for "failure" cannot slip through.
void CheckMetricNames(const std::string& where, const std::string& expr,
                      const Scrape& scrape,
                      const std::set<std::string>& recorded) {
  SCOPED_TRACE(absl::StrCat(where, ": ", expr));
  const std::vector<Selector> selectors = Selectors(expr);
  EXPECT_FALSE(selectors.empty()) << "no metric in the expression";
  for (const Selector& s : selectors) {
    if (s.name.find(':') != std::string::npos) {
      EXPECT_TRUE(recorded.count(s.name))
          << s.name << " is not recorded by " << kRulesFile;
      continue;
    }
    if (kExternalMetrics.count(s.name)) continue;
    // Histograms are matched by sample name (name_bucket, name_count,
    // name_sum): the bare family name selects nothing in PromQL.
    const auto samples = scrape.find(s.name);
    if (samples == scrape.end()) {
      ADD_FAILURE() << s.name << " is not in recserve-server's /metrics";
      continue;
    }
    for (const auto& [label, op, value] : s.matchers) {
      if (op != "=" || kTargetLabels.count(label) ||
          value.find('$') != std::string::npos) {
        continue;
      }
      // References by name: clang 14 cannot capture structured bindings.
      const std::string& want_label = label;
      const std::string& want_value = value;
      const bool found = std::any_of(
          samples->second.begin(), samples->second.end(), [&](const auto& l) {
            const auto it = l.find(want_label);
            return it != l.end() && it->second == want_value;
          });
      EXPECT_TRUE(found) << s.name << " has no sample with " << label << "=\""
                         << value << "\"";
    }
  }
}

testutil::CommandResult Promtool(std::vector<std::string> args) {
  args.insert(args.begin(), kPromtool);
  return testutil::RunCommand(args);
}

TEST(PrometheusRulesTest, PromtoolChecksTheRulesAndPassesTheirUnitTests) {
  ASSERT_TRUE(fs::exists(kPromtool))
      << kPromtool << " is missing (Debian package prometheus)";
  const testutil::CommandResult check =
      Promtool({"check", "rules", "--lint-fatal", kRulesFile.string()});
  EXPECT_EQ(check.exit_code, 0) << check.out;

  // Every rule is one promtool counted, so ParseRules misses none.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(check.out, m,
                                std::regex("SUCCESS: (\\d+) rules found")))
      << check.out;
  EXPECT_EQ(std::stoul(m[1].str()), ParseRules(Slurp(kRulesFile)).size());

  std::vector<std::string> args = {"test", "rules"};
  for (const fs::path& file : UnitTestFiles()) args.push_back(file.string());
  ASSERT_GT(args.size(), 2u) << "no unit tests in " << kPrometheusDir / "tests";
  const testutil::CommandResult test = Promtool(args);
  EXPECT_EQ(test.exit_code, 0) << test.out;
  EXPECT_EQ(test.out.find("FAILED"), std::string::npos) << test.out;
}

TEST(PrometheusRulesTest, EveryAlertIsDocumentedAndTestedFiringAndNot) {
  const std::vector<Rule> rules = ParseRules(Slurp(kRulesFile));
  std::set<std::string> alerts, records;
  for (const Rule& rule : rules) {
    SCOPED_TRACE(rule.name);
    EXPECT_FALSE(rule.expr.empty());
    if (rule.kind == "record") {
      records.insert(rule.name);
      continue;
    }
    EXPECT_TRUE(alerts.insert(rule.name).second) << "defined twice";
    const auto severity = rule.labels.find("severity");
    ASSERT_NE(severity, rule.labels.end()) << "no severity label";
    EXPECT_TRUE(severity->second == "warning" || severity->second == "critical")
        << severity->second;
    for (const char* key : {"summary", "description"}) {
      EXPECT_TRUE(rule.annotations.count(key) &&
                  !rule.annotations.at(key).empty())
          << "no " << key << " annotation";
    }
  }
  ASSERT_FALSE(alerts.empty());

  // alertname -> whether some unit test expects it firing / not firing;
  // the expressions promql_expr_test evaluates.
  std::map<std::string, std::pair<bool, bool>> tested;
  std::string evaluated;
  static const std::regex kAlertName(R"(^\s*-?\s*alertname:\s*(\S+)\s*$)");
  static const std::regex kExpAlerts(R"(^\s*exp_alerts:\s*(\[\s*\])?\s*$)");
  static const std::regex kExpr(R"(^\s*- expr:\s*(.*)$)");
  for (const fs::path& file : UnitTestFiles()) {
    std::string alert;
    for (const std::string& line : Lines(Slurp(file))) {
      std::smatch m;
      if (std::regex_match(line, m, kAlertName)) {
        alert = m[1];
      } else if (std::regex_match(line, m, kExpAlerts) && !alert.empty()) {
        (m[1].matched ? tested[alert].second : tested[alert].first) = true;
      } else if (std::regex_match(line, m, kExpr)) {
        absl::StrAppend(&evaluated, m[1].str(), "\n");
      }
    }
  }
  for (const std::string& alert : alerts) {
    EXPECT_TRUE(tested[alert].first) << alert << " is never tested firing";
    EXPECT_TRUE(tested[alert].second) << alert << " is never tested silent";
  }
  for (const auto& [alert, unused] : tested) {
    EXPECT_TRUE(alerts.count(alert)) << "unit test of unknown alert " << alert;
  }
  std::set<std::string> in_tests;
  for (const Selector& s : Selectors(evaluated)) in_tests.insert(s.name);
  for (const std::string& record : records) {
    EXPECT_TRUE(in_tests.count(record))
        << record << " is never evaluated by a promql_expr_test";
  }
}

TEST(GrafanaDashboardTest, PanelsUseTheDatasourceVariableAndHaveUniqueIds) {
  const nlohmann::json dashboard = nlohmann::json::parse(
      Slurp(kDashboard), nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(dashboard.is_discarded()) << kDashboard << " is not JSON";
  bool has_variable = false;
  for (const nlohmann::json& v : dashboard.at("templating").at("list")) {
    has_variable |= v.value("name", "") == "datasource" &&
                    v.value("type", "") == "datasource" &&
                    v.value("query", "") == "prometheus";
  }
  EXPECT_TRUE(has_variable) << "no Prometheus datasource variable";

  const auto uses_variable = [](const nlohmann::json& object) {
    if (!object.contains("datasource") || !object["datasource"].is_object()) {
      return false;
    }
    const std::string uid = object["datasource"].value("uid", "");
    return uid == "${datasource}" || uid == "$datasource";
  };
  std::set<int> ids;
  int queries = 0;
  std::vector<nlohmann::json> panels(dashboard.at("panels").begin(),
                                     dashboard.at("panels").end());
  for (size_t i = 0; i < panels.size(); ++i) {
    const nlohmann::json& panel = panels[i];
    SCOPED_TRACE(panel.value("title", "(untitled)"));
    ASSERT_TRUE(panel.contains("id") && panel["id"].is_number_integer());
    EXPECT_TRUE(ids.insert(panel["id"].get<int>()).second)
        << "panel id " << panel["id"] << " is used twice";
    EXPECT_TRUE(uses_variable(panel)) << "panel datasource is not $datasource";
    if (panel.value("type", "") == "row") {
      for (const nlohmann::json& inner :
           panel.value("panels", nlohmann::json::array())) {
        panels.push_back(inner);
      }
      continue;
    }
    ASSERT_TRUE(panel.contains("targets") && !panel["targets"].empty());
    for (const nlohmann::json& target : panel["targets"]) {
      EXPECT_TRUE(uses_variable(target))
          << "target datasource is not $datasource";
      EXPECT_FALSE(target.value("expr", "").empty());
      ++queries;
    }
  }
  EXPECT_GE(queries, 10);
}

// Starts recserve-server on a small snapshot, makes every kind of call so
// that the labelled series exist, and returns its /metrics.
std::string ScrapeRealServer(const testutil::TempDir& tmp) {
  testutil::PublishTinySnapshot(tmp.path(), testutil::TinySnapshotSpec());
  const std::string log = tmp.Path("server.log");
  client_test::ChildProcess server(
      {RECSERVE_SERVER_BINARY, absl::StrCat("--snapshot_dir=", tmp.path()),
       "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0"},
      tmp.Path("server.out"), log);
  EXPECT_TRUE(server.started());
  static const std::regex kPorts(
      R"(listening on \S+ \(port (\d+)\)[^,]*, metrics on \S+ \(port (\d+)\))");
  std::smatch m;
  std::string text;
  const bool listening = testutil::WaitFor(
      [&] {
        text = testutil::ReadFile(log);
        return std::regex_search(text, m, kPorts);
      },
      absl::Seconds(30));
  if (!listening) {
    ADD_FAILURE() << "no 'listening on' line: " << text;
    return "";
  }
  const int port = std::stoi(m[1]);
  const int metrics_port = std::stoi(m[2]);
  if (!testutil::WaitFor(
          [&] { return testutil::HealthCheck(port) == testutil::kServing; },
          absl::Seconds(60))) {
    ADD_FAILURE() << "not SERVING: " << testutil::ReadFile(log);
    return "";
  }
  const client::RecommenderClient client(absl::StrCat("127.0.0.1:", port));
  v1::RecommendRequest recommend;
  recommend.set_user_id("u2");
  recommend.set_n(5);
  EXPECT_TRUE(client.Recommend(recommend).ok());
  recommend.set_n(0);
  EXPECT_FALSE(client.Recommend(recommend).ok());
  v1::SimilarItemsRequest similar;
  similar.set_item_id("i3");
  similar.set_k(3);
  EXPECT_TRUE(client.SimilarItems(similar).ok());
  v1::PredictRatingRequest predict;
  predict.set_user_id("u1");
  predict.set_item_id("i1");
  EXPECT_TRUE(client.PredictRating(predict).ok());
  EXPECT_TRUE(client.GetModelInfo().ok());
  const std::string metrics = testutil::HttpGet(metrics_port, "/metrics");
  server.Signal(SIGTERM);
  server.Wait(absl::Seconds(30));
  return metrics;
}

TEST(PrometheusRulesTest, EveryMetricNamedExistsInARealServersScrape) {
  testutil::TempDir tmp;
  const Scrape scrape = ParseScrape(ScrapeRealServer(tmp));
  ASSERT_TRUE(scrape.count("recserve_requests_total")) << "empty scrape";

  const std::vector<Rule> rules = ParseRules(Slurp(kRulesFile));
  std::set<std::string> recorded;
  for (const Rule& rule : rules) {
    if (rule.kind == "record") recorded.insert(rule.name);
  }
  for (const Rule& rule : rules) {
    CheckMetricNames(absl::StrCat(rule.kind, " ", rule.name), rule.expr, scrape,
                     recorded);
  }

  const nlohmann::json dashboard = nlohmann::json::parse(
      Slurp(kDashboard), nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(dashboard.is_discarded());
  std::vector<nlohmann::json> panels(dashboard["panels"].begin(),
                                     dashboard["panels"].end());
  for (size_t i = 0; i < panels.size(); ++i) {
    for (const nlohmann::json& inner :
         panels[i].value("panels", nlohmann::json::array())) {
      panels.push_back(inner);
    }
    for (const nlohmann::json& target :
         panels[i].value("targets", nlohmann::json::array())) {
      CheckMetricNames(absl::StrCat("panel ", panels[i].value("title", "")),
                       target.value("expr", ""), scrape, recorded);
    }
  }
  for (const nlohmann::json& a : dashboard["annotations"]["list"]) {
    if (a.contains("expr")) {
      CheckMetricNames(absl::StrCat("annotation ", a.value("name", "")),
                       a["expr"].get<std::string>(), scrape, recorded);
    }
  }
  // label_values(SELECTOR, label): the selector part.
  static const std::regex kLabelValues(R"(label_values\((.+),\s*\w+\)\s*$)");
  for (const nlohmann::json& v : dashboard["templating"]["list"]) {
    if (v.value("type", "") != "query") continue;
    const std::string query = v["query"].is_object()
                                  ? v["query"].value("query", "")
                                  : v["query"].get<std::string>();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(query, m, kLabelValues)) << query;
    CheckMetricNames(absl::StrCat("variable ", v.value("name", "")), m[1].str(),
                     scrape, recorded);
  }
}

}  // namespace
}  // namespace recserve
