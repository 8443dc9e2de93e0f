// recserve-bench: a gRPC load generator for recserve-server (see
// load_generator.h and docs/benchmarks.md).
//
//   recserve-bench --server 127.0.0.1:50051 --snapshot_dir snapshots
//     --mix recommend=8,similar=1,predict=1 --concurrency 32 --duration 10s
//   recserve-bench ... --rps 2000 --duration 30s --json
//   recserve-bench ... --personalized_share 0.5 --recent_items 20
//     --filter_labels Comedy,Drama

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "client/load_generator.h"
#include "client/load_report.h"
#include "client/request_pool.h"

ABSL_FLAG(std::string, server, "localhost:50051", "Server host:port.");
ABSL_FLAG(std::string, snapshot_dir, "",
          "Snapshot root whose latest version's ids the requests use; "
          "needed unless the mix is health only.");
ABSL_FLAG(std::string, mix, "recommend=1",
          "Method weights: recommend=W,similar=W,predict=W,health=W.");
ABSL_FLAG(std::string, ids, "uniform",
          "How ids are drawn: uniform, or zipf (by popularity rank).");
ABSL_FLAG(double, zipf_exponent, 1.0, "s of the Zipf draw, P ∝ 1/rank^s.");
ABSL_FLAG(int32_t, n, 10, "Recommend n.");
ABSL_FLAG(int32_t, k, 10, "SimilarItems k.");
ABSL_FLAG(double, personalized_share, 0,
          "Share of Recommend, SimilarItems and PredictRating requests that "
          "are personalized (--recent_items, --filter_labels), 0 to 1.");
ABSL_FLAG(int32_t, recent_items, 0,
          "Recent interactions a personalized Recommend or PredictRating "
          "carries (rated items drawn like SimilarItems' seeds).");
ABSL_FLAG(std::vector<std::string>, recent_events, {},
          "Event types of recent interactions, comma-separated, drawn "
          "uniformly (snapshots trained on events); empty = every type the "
          "snapshot knows, or ratings for a snapshot of ratings.");
ABSL_FLAG(std::vector<std::string>, filter_labels, {},
          "include_labels of a personalized Recommend's or SimilarItems' "
          "filter, comma-separated; empty = no filter.");
ABSL_FLAG(int32_t, concurrency, 50,
          "Closed loop: calls in flight (ignored with --rps).");
ABSL_FLAG(double, rps, 0,
          "Open loop: calls started per second, latency from each call's "
          "intended start; 0 = closed loop.");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "How long to send (e.g. 10s); 0 = until --total.");
ABSL_FLAG(int64_t, total, 0, "How many calls; 0 = until --duration.");
ABSL_FLAG(int32_t, connections, 1, "TCP connections (gRPC channels).");
ABSL_FLAG(int32_t, threads, 1, "Client completion-queue threads.");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5), "Deadline per call.");
ABSL_FLAG(int32_t, max_in_flight, 10000,
          "Open loop: most calls waiting at once.");
ABSL_FLAG(int32_t, distinct_requests, 10000,
          "Distinct requests prepared and cycled through.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the id draws.");
ABSL_FLAG(bool, json, false, "Print the report as JSON.");
ABSL_FLAG(bool, tls, false,
          "Connect with TLS (implied by --tls_ca or --tls_cert).");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA certificates to trust.");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mutual TLS).");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert.");

namespace {

// Prints "recserve-bench: <context><message>" and returns the exit code 2.
int Fail(const absl::Status& status, const char* context = "") {
  std::fprintf(stderr, "recserve-bench: %s%s\n", context,
               std::string(status.message()).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "gRPC load generator for recserve-server: recserve-bench --server "
      "HOST:PORT --snapshot_dir DIR [--mix ...] (--duration D | --total N) "
      "[--rps R | --concurrency C]");
  absl::ParseCommandLine(argc, argv);
  using namespace recserve::client;

  RequestPoolOptions pool_options;
  if (absl::Status s = ParseMix(absl::GetFlag(FLAGS_mix), pool_options.weights);
      !s.ok()) {
    return Fail(s, "--mix: ");
  }
  const std::string ids = absl::GetFlag(FLAGS_ids);
  if (ids != "uniform" && ids != "zipf") {
    return Fail(absl::InvalidArgumentError("--ids must be uniform or zipf"));
  }
  pool_options.distribution =
      ids == "zipf" ? IdDistribution::kZipf : IdDistribution::kUniform;
  pool_options.zipf_exponent = absl::GetFlag(FLAGS_zipf_exponent);
  pool_options.n = absl::GetFlag(FLAGS_n);
  pool_options.k = absl::GetFlag(FLAGS_k);
  pool_options.size = absl::GetFlag(FLAGS_distinct_requests);
  pool_options.seed = absl::GetFlag(FLAGS_seed);
  pool_options.personalized_share = absl::GetFlag(FLAGS_personalized_share);
  pool_options.recent_items = absl::GetFlag(FLAGS_recent_items);
  for (const std::string& event : absl::GetFlag(FLAGS_recent_events)) {
    if (!event.empty()) pool_options.recent_events.push_back(event);
  }
  for (const std::string& label : absl::GetFlag(FLAGS_filter_labels)) {
    if (!label.empty()) pool_options.filter_labels.push_back(label);
  }

  IdLists id_lists;
  if (const std::string dir = absl::GetFlag(FLAGS_snapshot_dir); !dir.empty()) {
    absl::StatusOr<IdLists> loaded = LoadIdLists(dir);
    if (!loaded.ok()) {
      return Fail(loaded.status());
    }
    id_lists = *std::move(loaded);
  }
  absl::StatusOr<std::vector<PreparedRequest>> requests =
      BuildRequestPool(id_lists, pool_options);
  if (!requests.ok()) {
    return Fail(requests.status());
  }

  LoadOptions load;
  load.target = absl::GetFlag(FLAGS_server);
  load.connections = absl::GetFlag(FLAGS_connections);
  load.concurrency = absl::GetFlag(FLAGS_concurrency);
  load.rps = absl::GetFlag(FLAGS_rps);
  load.duration = absl::GetFlag(FLAGS_duration);
  load.total = absl::GetFlag(FLAGS_total);
  load.deadline = absl::GetFlag(FLAGS_deadline);
  load.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  load.threads = absl::GetFlag(FLAGS_threads);
  absl::StatusOr<ClientTlsOptions> tls =
      ClientTlsFromFiles({.use_tls = absl::GetFlag(FLAGS_tls),
                          .ca_path = absl::GetFlag(FLAGS_tls_ca),
                          .cert_path = absl::GetFlag(FLAGS_tls_cert),
                          .key_path = absl::GetFlag(FLAGS_tls_key)});
  if (!tls.ok()) {
    return Fail(tls.status());
  }
  load.tls = *std::move(tls);
  absl::StatusOr<LoadResult> result = RunLoad(load, *requests);
  if (!result.ok()) {
    return Fail(result.status());
  }
  const LoadReport report = Summarize(*result);
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(report).dump(2) << "\n";
  } else {
    std::cout << FormatText(report);
  }
  return 0;
}
