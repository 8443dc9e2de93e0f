// recserve-server: serves the latest snapshot of --snapshot_dir over gRPC.
//   recserve-server --snapshot_dir snapshots --listen 0.0.0.0:50051
//       --metrics_listen 0.0.0.0:9464
// SIGTERM or SIGINT shuts down gracefully (exit code 0).

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/status_macros.h"
#include "server/log.h"
#include "server/recserve_server.h"

ABSL_FLAG(std::string, snapshot_dir, "",
          "Snapshot root (LATEST and version folders). Required.");
ABSL_FLAG(std::string, listen, "0.0.0.0:50051",
          "gRPC listen address; port 0 picks a free port.");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9464",
          "Prometheus /metrics address; empty disables it.");
ABSL_FLAG(int32_t, max_results, 1000, "Largest n / k a request may ask.");
ABSL_FLAG(int32_t, max_exclusions, 10000,
          "Most exclude_item_ids a request may carry.");
ABSL_FLAG(int32_t, max_candidates, 5000,
          "Largest candidate pool a request may ask for.");
ABSL_FLAG(int32_t, ef, 0,
          "HNSW search breadth; 0 = twice the candidate pool, at least 100.");
ABSL_FLAG(int32_t, max_ef, 20000, "Largest ef a request may ask for.");
ABSL_FLAG(int32_t, max_recent, 500,
          "Most recent interactions a Recommend or PredictRating may carry.");
ABSL_FLAG(int32_t, max_filter_labels, 1000,
          "Most labels a filter may name (include and exclude together).");
ABSL_FLAG(int32_t, max_filter_items, 10000,
          "Most item ids a filter's allow-list may carry.");
ABSL_FLAG(int32_t, max_seeds, 100,
          "Most seed items a SimilarItems request may carry.");
ABSL_FLAG(int32_t, norm_scan_items, 16384,
          "Items Recommend's exact norm-ordered scan may read before it "
          "falls back to HNSW; 0 = always HNSW.");
ABSL_FLAG(bool, allow_exact, true,
          "Let requests ask for exact (brute-force) retrieval.");
ABSL_FLAG(bool, fallbacks, true,
          "Answer unknown users with popular items and unknown items with "
          "bias-only predictions; false makes them NOT_FOUND.");
ABSL_FLAG(int32_t, index_m, 16, "HNSW graph degree M.");
ABSL_FLAG(int32_t, index_ef_construction, 200, "HNSW build breadth.");
ABSL_FLAG(int32_t, index_threads, 0, "Threads building an index; 0 = all.");
ABSL_FLAG(bool, save_indexes, true,
          "Save indexes this server builds beside the snapshot.");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(5),
          "How often to check for a new snapshot.");
ABSL_FLAG(absl::Duration, drain_delay, absl::ZeroDuration(),
          "On SIGTERM, how long to report NOT_SERVING while still accepting "
          "calls, so load balancers stop sending first.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "How long calls in flight may run after SIGTERM.");
ABSL_FLAG(int32_t, max_message_bytes, 1 << 20, "Largest request, in bytes.");
ABSL_FLAG(int32_t, max_concurrent_streams, 100,
          "Calls one client connection may have open at once; more wait in "
          "the client.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain) for the gRPC port; with --tls_key, the "
          "port speaks TLS only. Empty: plaintext.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates; turns on mutual TLS: clients must present a "
          "certificate that chains to one of them.");

namespace {

recserve::server::ServerOptions OptionsFromFlags() {
  recserve::server::ServerOptions o;
  o.snapshot_dir = absl::GetFlag(FLAGS_snapshot_dir);
  o.listen = absl::GetFlag(FLAGS_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.limits.max_results = absl::GetFlag(FLAGS_max_results);
  o.limits.max_exclusions = absl::GetFlag(FLAGS_max_exclusions);
  o.limits.max_candidates = absl::GetFlag(FLAGS_max_candidates);
  o.limits.max_ef = absl::GetFlag(FLAGS_max_ef);
  o.limits.max_recent = absl::GetFlag(FLAGS_max_recent);
  o.limits.max_filter_labels = absl::GetFlag(FLAGS_max_filter_labels);
  o.limits.max_filter_items = absl::GetFlag(FLAGS_max_filter_items);
  o.limits.max_seeds = absl::GetFlag(FLAGS_max_seeds);
  o.load.norm_scan_items = absl::GetFlag(FLAGS_norm_scan_items);
  o.policy.ef = absl::GetFlag(FLAGS_ef);
  o.policy.allow_exact = absl::GetFlag(FLAGS_allow_exact);
  o.policy.fallbacks = absl::GetFlag(FLAGS_fallbacks);
  o.load.index.m = absl::GetFlag(FLAGS_index_m);
  o.load.index.ef_construction = absl::GetFlag(FLAGS_index_ef_construction);
  o.load.index.threads = absl::GetFlag(FLAGS_index_threads);
  o.load.save_built_indexes = absl::GetFlag(FLAGS_save_indexes);
  o.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  o.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  o.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  o.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  o.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  return o;
}

// The file named by --`flag`, or an error naming both.
absl::StatusOr<std::string> ReadFlagFile(const char* flag,
                                         const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path));
  }
  if (contents.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " is not PEM"));
  }
  return contents.str();
}

absl::StatusOr<recserve::server::TlsServerOptions> TlsFromFlags() {
  recserve::server::TlsServerOptions tls;
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (cert.empty() && !client_ca.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca needs --tls_cert and --tls_key");
  }
  if (cert.empty()) return tls;
  ASSIGN_OR_RETURN(tls.cert_chain, ReadFlagFile("tls_cert", cert));
  ASSIGN_OR_RETURN(tls.private_key, ReadFlagFile("tls_key", key));
  if (!client_ca.empty()) {
    ASSIGN_OR_RETURN(tls.client_ca, ReadFlagFile("tls_client_ca", client_ca));
  }
  return tls;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves recommendations from trained snapshots over gRPC.\n"
      "  recserve-server --snapshot_dir DIR [--listen 0.0.0.0:50051] "
      "[--metrics_listen 0.0.0.0:9464]");
  absl::ParseCommandLine(argc, argv);
  // Debian builds Abseil without NDEBUG, which leaves Mutex deadlock
  // detection on: a lock-graph update on every lock, gRPC's included, which
  // shows in a Recommend-heavy server's profile.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  recserve::server::LogLevel level;
  if (!recserve::server::ParseLogLevel(absl::GetFlag(FLAGS_log_level),
                                       &level)) {
    std::fprintf(stderr,
                 "recserve-server: --log_level must be debug, info, "
                 "warning or error\n");
    return 2;
  }
  recserve::server::SetLogLevel(level);

  // Block the shutdown signals in every thread (threads inherit the mask),
  // and take them synchronously below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  recserve::server::ServerOptions options = OptionsFromFlags();
  absl::StatusOr<recserve::server::TlsServerOptions> tls = TlsFromFlags();
  if (!tls.ok()) {
    std::fprintf(stderr, "recserve-server: %s\n",
                 std::string(tls.status().message()).c_str());
    return 2;
  }
  options.tls = *std::move(tls);
  auto server = recserve::server::RecserveServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "recserve-server: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  recserve::server::LogInfo("received ",
                            signal == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown();
  return 0;
}
