// deploy/k8s: every overlay renders with `kubectl kustomize`, every rendered
// object passes the Kubernetes schemas with unknown fields rejected
// (deploy/k8s/validate/validate.js, its packages installed by
// scripts/setup.sh), and the server's Deployment has what operating it
// relies on: probes on the right health services, a locked-down security
// context, resources, a grace period above the server's own drain and
// shutdown deadlines, and flags the server accepts.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace recserve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kK8s = fs::path(RECSERVE_SOURCE_DIR) / "deploy" / "k8s";

struct ShellResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` with sh; stdout and stderr captured.
ShellResult Shell(const std::string& command) {
  const fs::path err_file =
      fs::temp_directory_path() /
      absl::StrCat("k8s_manifests_test.", ::getpid(), ".err");
  ShellResult r;
  FILE* pipe =
      ::popen(absl::StrCat(command, " 2>", err_file.string()).c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[65536];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    r.out.append(buffer, n);
  }
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  std::stringstream s;
  s << in.rdbuf();
  r.err = s.str();
  fs::remove(err_file);
  return r;
}

std::string Validator() {
  return absl::StrCat("node ", (kK8s / "validate" / "validate.js").string());
}

// The overlay rendered and validated, as JSON objects.
json RenderAndValidate(const std::string& overlay) {
  const fs::path rendered =
      fs::temp_directory_path() /
      absl::StrCat("k8s_manifests_test.", ::getpid(), ".yaml");
  const ShellResult render = Shell(
      absl::StrCat("kubectl kustomize ", (kK8s / "overlays" / overlay).string(),
                   " > ", rendered.string()));
  EXPECT_EQ(render.exit_code, 0) << overlay << ":\n" << render.err;
  const ShellResult r =
      Shell(absl::StrCat(Validator(), " < ", rendered.string()));
  fs::remove(rendered);
  EXPECT_EQ(r.exit_code, 0) << overlay << ":\n" << r.err;
  if (render.exit_code != 0 || r.out.empty()) return json::array();
  return json::parse(r.out);
}

const json* Find(const json& objects, const std::string& kind,
                 const std::string& name_prefix) {
  for (const json& o : objects) {
    if (o.value("kind", "") == kind &&
        absl::StartsWith(o["metadata"].value("name", ""), name_prefix)) {
      return &o;
    }
  }
  return nullptr;
}

// "--name=value" lines of the server's flagfile.
std::map<std::string, std::string> Flags(const std::string& flagfile) {
  std::map<std::string, std::string> flags;
  for (absl::string_view line : absl::StrSplit(flagfile, '\n')) {
    if (!absl::StartsWith(line, "--")) continue;
    std::pair<std::string, std::string> kv =
        absl::StrSplit(line.substr(2), absl::MaxSplits('=', 1));
    flags[kv.first] = kv.second;
  }
  return flags;
}

absl::Duration FlagDuration(const std::map<std::string, std::string>& flags,
                            const std::string& name) {
  absl::Duration d = absl::InfiniteDuration();
  const auto it = flags.find(name);
  if (it == flags.end() || !absl::ParseDuration(it->second, &d)) {
    ADD_FAILURE() << "flag --" << name << " missing or not a duration";
  }
  return d;
}

class K8sOverlayTest : public testing::TestWithParam<std::string> {};

TEST_P(K8sOverlayTest, RendersValidObjectsWithTheOperationalSettings) {
  const json objects = RenderAndValidate(GetParam());
  for (const char* kind :
       {"Namespace", "ServiceAccount", "ConfigMap", "Deployment",
        "HorizontalPodAutoscaler", "PodDisruptionBudget", "CronJob",
        "ServiceMonitor", "PrometheusRule"}) {
    EXPECT_NE(Find(objects, kind, ""), nullptr) << kind;
  }
  for (const json& o : objects) {
    if (o["kind"] != "Namespace") {
      EXPECT_EQ(o["metadata"].value("namespace", ""), "recserve")
          << o["kind"] << "/" << o["metadata"]["name"];
    }
  }

  const json* deployment = Find(objects, "Deployment", "recserve");
  ASSERT_NE(deployment, nullptr);
  const json& pod = (*deployment)["spec"]["template"]["spec"];
  ASSERT_EQ(pod["containers"].size(), 1u);
  const json& server = pod["containers"][0];

  // Probes: readiness and startup on the whole server ("" is SERVING once a
  // snapshot is loaded), liveness on the snapshot-independent service.
  const json& ready = server["readinessProbe"]["grpc"];
  const json& startup = server["startupProbe"]["grpc"];
  const json& live = server["livenessProbe"]["grpc"];
  EXPECT_EQ(ready["port"], 50051);
  EXPECT_EQ(ready.value("service", ""), "");
  EXPECT_EQ(startup["port"], 50051);
  EXPECT_EQ(startup.value("service", ""), "");
  EXPECT_EQ(live["port"], 50051);
  EXPECT_EQ(live.value("service", ""), "liveness");
  // Sized for building both indexes of a ~1M-item snapshot (~4 min).
  const json& startup_probe = server["startupProbe"];
  EXPECT_GE(startup_probe["periodSeconds"].get<int>() *
                startup_probe["failureThreshold"].get<int>(),
            300);

  // Security: non-root, read-only root, nothing to escalate to.
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_GT(pod["securityContext"]["runAsUser"].get<int>(), 0);
  EXPECT_EQ(server["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(server["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(server["securityContext"]["capabilities"]["drop"],
            json::array({"ALL"}));
  EXPECT_EQ(pod["automountServiceAccountToken"], false);

  // Resources: requests for scheduling and the HPA, a memory limit.
  EXPECT_TRUE(server["resources"]["requests"].contains("cpu"));
  EXPECT_TRUE(server["resources"]["requests"].contains("memory"));
  EXPECT_TRUE(server["resources"]["limits"].contains("memory"));

  // Ports: the ones the flags listen on, named as the Services expect.
  std::map<std::string, int> ports;
  for (const json& p : server["ports"]) ports[p["name"]] = p["containerPort"];
  EXPECT_EQ(ports["grpc"], 50051);
  EXPECT_EQ(ports["metrics"], 9464);

  // The flags the ConfigMap carries, and the grace period above them.
  const json* config = Find(objects, "ConfigMap", "recserve-server-flags");
  ASSERT_NE(config, nullptr);
  const auto flags = Flags((*config)["data"]["server.flags"]);
  EXPECT_EQ(flags.at("listen"), "0.0.0.0:50051");
  EXPECT_EQ(flags.at("metrics_listen"), "0.0.0.0:9464");
  EXPECT_EQ(flags.at("snapshot_dir"), "/snapshots");
  const absl::Duration deadlines = FlagDuration(flags, "drain_delay") +
                                   FlagDuration(flags, "shutdown_grace");
  EXPECT_GT(absl::Seconds(pod["terminationGracePeriodSeconds"].get<int>()),
            deadlines + absl::Seconds(5));
  bool mounts_flags = false, snapshots_read_only = false;
  for (const json& m : server["volumeMounts"]) {
    if (m["mountPath"] == "/etc/recserve") mounts_flags = true;
    if (m["mountPath"] == "/snapshots") {
      snapshots_read_only = m.value("readOnly", false);
    }
  }
  EXPECT_TRUE(mounts_flags);
  EXPECT_TRUE(snapshots_read_only);
  EXPECT_THAT(server["args"].dump(),
              testing::HasSubstr("--flagfile=/etc/recserve/server.flags"));

  // Services: balanced gRPC, headless gRPC for client-side balancing, and
  // metrics behind the ServiceMonitor.
  const json* headless = Find(objects, "Service", "recserve-headless");
  ASSERT_NE(headless, nullptr);
  EXPECT_EQ((*headless)["spec"]["clusterIP"], "None");
  const json* metrics = Find(objects, "Service", "recserve-metrics");
  ASSERT_NE(metrics, nullptr);
  const json* monitor = Find(objects, "ServiceMonitor", "recserve");
  ASSERT_NE(monitor, nullptr);
  EXPECT_EQ((*monitor)["spec"]["endpoints"][0]["port"],
            (*metrics)["spec"]["ports"][0]["name"]);
  for (const auto& [key, value] :
       (*monitor)["spec"]["selector"]["matchLabels"].items()) {
    EXPECT_EQ((*metrics)["metadata"]["labels"].value(key, ""), value) << key;
  }

  // The trainer writes where the servers read.
  const json* cronjob = Find(objects, "CronJob", "recserve-trainer");
  ASSERT_NE(cronjob, nullptr);
  EXPECT_EQ((*cronjob)["spec"]["concurrencyPolicy"], "Forbid");
  const json& job_pod = (*cronjob)["spec"]["jobTemplate"]["spec"]["template"];
  EXPECT_EQ(job_pod["spec"]["securityContext"]["runAsNonRoot"], true);
  std::string server_claim, trainer_claim;
  for (const json& v : pod["volumes"]) {
    if (v["name"] == "snapshots") {
      server_claim = v["persistentVolumeClaim"]["claimName"];
    }
  }
  for (const json& v : job_pod["spec"]["volumes"]) {
    if (v["name"] == "snapshots") {
      trainer_claim = v["persistentVolumeClaim"]["claimName"];
    }
  }
  EXPECT_FALSE(server_claim.empty());
  EXPECT_EQ(server_claim, trainer_claim);
}

INSTANTIATE_TEST_SUITE_P(Overlays, K8sOverlayTest,
                         testing::Values("dev", "prod"));

TEST(K8sManifestsTest, ProdSpreadsOverNodesAndSharesSnapshotsAcrossThem) {
  const json objects = RenderAndValidate("prod");
  const json* deployment = Find(objects, "Deployment", "recserve");
  ASSERT_NE(deployment, nullptr);
  EXPECT_GE((*deployment)["spec"]["replicas"].get<int>(), 3);
  bool hosts_enforced = false;
  for (const json& c :
       (*deployment)["spec"]["template"]["spec"]["topologySpreadConstraints"]) {
    if (c["topologyKey"] == "kubernetes.io/hostname" &&
        c["whenUnsatisfiable"] == "DoNotSchedule") {
      hosts_enforced = true;
    }
  }
  EXPECT_TRUE(hosts_enforced);
  const json* claim = Find(objects, "PersistentVolumeClaim", "recserve-snap");
  ASSERT_NE(claim, nullptr);
  EXPECT_EQ((*claim)["spec"]["accessModes"], json::array({"ReadWriteMany"}));
  const json* pdb = Find(objects, "PodDisruptionBudget", "recserve");
  ASSERT_NE(pdb, nullptr);
  EXPECT_EQ((*pdb)["spec"]["maxUnavailable"], 1);
}

// The checks above can fail: a misspelt field and a malformed quantity are
// reported by the validator.
TEST(K8sManifestsTest, ValidatorRejectsUnknownFieldsAndBadValues) {
  const std::string deployment = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: i
)";
  EXPECT_EQ(
      Shell(absl::StrCat("printf '%s' '", deployment, "' | ", Validator()))
          .exit_code,
      0);
  const ShellResult misspelt =
      Shell(absl::StrCat("printf '%s' '", deployment,
                         "          readinesProbe: {}\n' | ", Validator()));
  EXPECT_EQ(misspelt.exit_code, 1);
  EXPECT_THAT(misspelt.err, testing::HasSubstr("readinesProbe"));
  const ShellResult quantity = Shell(absl::StrCat(
      "printf '%s' '", deployment,
      "          resources: {requests: {cpu: two cores}}\n' | ", Validator()));
  EXPECT_EQ(quantity.exit_code, 1);
  EXPECT_THAT(quantity.err, testing::HasSubstr("cpu"));
}

// The PrometheusRule carries exactly deploy/prometheus/recserve-rules.yaml
// (which prometheus_rules_test checks with promtool).
TEST(K8sManifestsTest, PrometheusRuleIsGeneratedFromTheRulesFile) {
  const ShellResult made = Shell((fs::path(RECSERVE_SOURCE_DIR) / "deploy" /
                                  "prometheus" / "make-prometheusrule.sh")
                                     .string());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::ifstream in(kK8s / "base" / "prometheusrule.yaml");
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_EQ(committed.str(), made.out)
      << "rerun deploy/prometheus/make-prometheusrule.sh > "
         "deploy/k8s/base/prometheusrule.yaml";
  EXPECT_THAT(made.out, testing::HasSubstr("alert: "));
}

// Every flag in the ConfigMap's flagfile is one recserve-server knows.
TEST(K8sManifestsTest, ServerAcceptsTheFlagfile) {
  const auto check = [](const std::string& flagfile) {
    return Shell(absl::StrCat(RECSERVE_SERVER_BINARY, " --flagfile=", flagfile,
                              " --helpon=none"));
  };
  const ShellResult good = check((kK8s / "base" / "server.flags").string());
  EXPECT_THAT(good.err, testing::Not(testing::HasSubstr("ERROR"))) << good.err;
  const fs::path bad = fs::temp_directory_path() /
                       absl::StrCat("k8s_flags.", ::getpid(), ".flags");
  std::ofstream(bad) << "--snapshot_dir=/snapshots\n--lisen=0.0.0.0:1\n";
  const ShellResult rejected = check(bad.string());
  fs::remove(bad);
  EXPECT_THAT(rejected.err, testing::HasSubstr("lisen"));
}

}  // namespace
}  // namespace recserve
