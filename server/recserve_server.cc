#include "server/recserve_server.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/log.h"

namespace recserve::server {
namespace {

constexpr char kServiceName[] = "recserve.v1.Recommender";
// For liveness probes: SERVING from start to shutdown whether or not a
// snapshot is loaded, so that a pod waiting for its first snapshot is not
// restarted (readiness and startup probes ask for "" instead).
constexpr char kLivenessService[] = "liveness";

std::shared_ptr<grpc::ServerCredentials> Credentials(
    const TlsServerOptions& tls) {
  if (tls.cert_chain.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      tls.client_ca.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = tls.client_ca;
  ssl.pem_key_cert_pairs.push_back({tls.private_key, tls.cert_chain});
  return grpc::SslServerCredentials(ssl);
}

absl::Status CheckOptions(const ServerOptions& o) {
  if (o.snapshot_dir.empty()) {
    return absl::InvalidArgumentError("--snapshot_dir is required");
  }
  if (o.listen.empty()) return absl::InvalidArgumentError("--listen is empty");
  const ServingLimits& l = o.limits;
  // 0 recent interactions, filter labels or filter items refuses them all.
  if (l.max_results < 1 || l.max_exclusions < 0 || l.max_id_length < 1 ||
      l.max_candidates < 1 || o.policy.ef < 0 || l.max_ef < 1 ||
      o.load.norm_scan_items < 0 || l.max_recent < 0 ||
      l.max_filter_labels < 0 || l.max_filter_items < 0 || l.max_seeds < 1) {
    return absl::InvalidArgumentError(
        "limits must be positive (--max_results, --max_candidates, --max_ef, "
        "--max_id_length, --max_seeds) or non-negative (--max_exclusions, "
        "--ef, --norm_scan_items, --max_recent, --max_filter_labels, "
        "--max_filter_items)");
  }
  if (o.load.index.m < 2 || o.load.index.ef_construction < 1) {
    return absl::InvalidArgumentError(
        "--index_m must be >= 2 and --index_ef_construction >= 1");
  }
  if (o.max_message_bytes < 1024) {
    return absl::InvalidArgumentError("--max_message_bytes must be >= 1024");
  }
  if (o.max_concurrent_streams < 1) {
    return absl::InvalidArgumentError("--max_concurrent_streams must be >= 1");
  }
  return absl::OkStatus();
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) absl::StrAppend(&out, "; ", l);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecserveServer>> RecserveServer::Start(
    const ServerOptions& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  std::unique_ptr<RecserveServer> server(new RecserveServer());
  server->options_ = options;
  server->metrics_ = std::make_unique<ServerMetrics>();
  if (!options.metrics_listen.empty()) {
    std::string error;
    if (!server->metrics_->Serve(options.metrics_listen, &error)) {
      return absl::UnavailableError(absl::StrCat(
          "cannot serve metrics on ", options.metrics_listen, ": ", error));
    }
  }

  ServerMetrics* metrics = server->metrics_.get();
  RecserveServer* self = server.get();
  ModelReloaderOptions reload;
  reload.snapshot_root = options.snapshot_dir;
  reload.load = options.load;
  reload.poll_interval = options.poll_interval;
  reload.on_loaded = [metrics, self](const ServingModel& model,
                                     const ServingModelLoadReport& report) {
    const Snapshot& s = model.snapshot();
    LogInfo("serving snapshot ", s.version(), " (", s.num_users(), " users, ",
            s.num_items(), " items, checksum ", report.checksum,
            "): snapshot loaded in ", report.snapshot_seconds, " s, indexes ",
            report.retrieval_index_loaded && report.similarity_index_loaded
                ? "loaded"
                : "built",
            " in ", report.index_seconds, " s", Join(report.warnings));
    absl::Time created = absl::UnixEpoch();
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, s.manifest().created_at, &created,
                         &error)) {
      created = absl::Now();
    }
    metrics->RecordReload(s.version(), created, s.num_users(), s.num_items());
    std::lock_guard lock(self->shutdown_mu_);
    if (!self->shut_down_ && self->server_ != nullptr) {
      self->server_->GetHealthCheckService()->SetServingStatus(true);
    }
  };
  reload.on_rejected = [metrics](const std::string& version,
                                 const absl::Status& status) {
    LogError("rejected snapshot ", version,
             ", still serving the previous "
             "one (if any): ",
             status.ToString());
    metrics->RecordReloadFailure();
  };
  server->reloader_ = std::make_unique<ModelReloader>(std::move(reload));
  server->service_ = std::make_unique<RecommenderService>(
      *server->reloader_, options.limits, options.policy, *server->metrics_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, Credentials(options.tls),
                           &server->port_);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  {
    std::lock_guard lock(server->shutdown_mu_);
    server->server_ = builder.BuildAndStart();
    if (server->server_ == nullptr || server->port_ == 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", options.listen,
          options.tls.cert_chain.empty()
              ? ""
              : " with TLS (is --tls_key the key of --tls_cert, both PEM?)"));
    }
    // Probes may ask for the whole server ("") or the service by name.
    grpc::HealthCheckServiceInterface* health =
        server->server_->GetHealthCheckService();
    health->SetServingStatus(false);
    health->SetServingStatus(kServiceName, false);
    health->SetServingStatus(kLivenessService, true);
  }
  LogInfo("listening on ", options.listen, " (port ", server->port_, ") ",
          options.tls.cert_chain.empty()  ? "in plaintext"
          : options.tls.client_ca.empty() ? "with TLS"
                                          : "with mutual TLS",
          ", metrics on ",
          options.metrics_listen.empty()
              ? std::string("none")
              : absl::StrCat(options.metrics_listen, " (port ",
                             server->metrics_->port(), ")"),
          "; snapshots from ", options.snapshot_dir, "; max_results ",
          options.limits.max_results, ", max_candidates ",
          options.limits.max_candidates, ", max_recent ",
          options.limits.max_recent, ", ef ",
          options.policy.ef == 0 ? std::string("auto")
                                 : absl::StrCat(options.policy.ef),
          ", norm_scan_items ", options.load.norm_scan_items, ", exact ",
          options.policy.allow_exact ? "allowed" : "refused", ", fallbacks ",
          options.policy.fallbacks ? "on" : "off", "; max_message_bytes ",
          options.max_message_bytes, ", max_concurrent_streams ",
          options.max_concurrent_streams);
  server->reloader_->Start();
  return server;
}

RecserveServer::~RecserveServer() { Shutdown(); }

std::shared_ptr<grpc::Channel> RecserveServer::InProcessChannel() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return server_->InProcessChannel(args);
}

void RecserveServer::Shutdown() {
  {
    std::lock_guard lock(shutdown_mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
    server_->GetHealthCheckService()->SetServingStatus(false);
  }
  if (options_.drain_delay > absl::ZeroDuration()) {
    LogInfo("draining: health NOT_SERVING for ",
            absl::FormatDuration(options_.drain_delay),
            " before refusing calls");
    absl::SleepFor(options_.drain_delay);
  }
  const absl::Time start = absl::Now();
  LogInfo("shutting down: refusing new calls; ", metrics_->in_flight(),
          " calls in flight get up to ",
          absl::FormatDuration(options_.shutdown_grace), " to finish");
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(options_.shutdown_grace));
  server_->Wait();
  reloader_->Stop();
  const absl::Duration took = absl::Now() - start;
  if (took >= options_.shutdown_grace) {
    LogWarning("shut down after ", absl::FormatDuration(took),
               ": the grace period ran out and calls still running were "
               "cancelled");
  } else {
    LogInfo("shut down in ", absl::FormatDuration(took),
            ": every call in flight finished");
  }
}

}  // namespace recserve::server
