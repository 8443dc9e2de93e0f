#ifndef RECSERVE_SERVER_SERVER_OPTIONS_H_
#define RECSERVE_SERVER_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"

namespace recserve::server {

// TLS for the gRPC port, as PEM text (main reads the files). An empty
// cert_chain means plaintext.
struct TlsServerOptions {
  std::string cert_chain;   // the server's certificate (chain), PEM
  std::string private_key;  // its key, PEM
  // CA certificates that client certificates must chain to; non-empty
  // turns on mutual TLS: a client without a valid certificate is refused
  // during the handshake.
  std::string client_ca;
};

// Everything recserve-server is configured with; main parses flags into it.
struct ServerOptions {
  // The snapshot root: LATEST and the version folders. Required.
  std::string snapshot_dir;
  // gRPC address; port 0 picks a free port (see RecserveServer::port).
  std::string listen = "0.0.0.0:50051";
  // Prometheus /metrics address; empty disables it; port 0 picks one.
  std::string metrics_listen = "0.0.0.0:9464";
  // What one request may ask (--max_results, --max_exclusions,
  // --max_candidates, --max_ef, --max_recent, --max_filter_labels,
  // --max_filter_items, --max_seeds).
  ServingLimits limits;
  // How requests are answered (--ef, --allow_exact, --fallbacks).
  ServingPolicy policy;
  ServingModelLoadOptions load;
  // How often the snapshot root is checked for a new version.
  absl::Duration poll_interval = absl::Seconds(5);
  // On shutdown, how long health says NOT_SERVING while calls are still
  // accepted, so that load balancers stop sending first. Default 0.
  absl::Duration drain_delay = absl::ZeroDuration();
  // On shutdown, how long calls in flight may take before being cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Largest request accepted, in bytes (gRPC answers RESOURCE_EXHAUSTED).
  int32_t max_message_bytes = 1 << 20;
  // Calls one client connection may have open at once (HTTP/2
  // SETTINGS_MAX_CONCURRENT_STREAMS); further streams wait in the client
  // until one finishes, so one client cannot take every handler thread.
  // Default 100.
  int32_t max_concurrent_streams = 100;
  TlsServerOptions tls;
};

}  // namespace recserve::server

#endif  // RECSERVE_SERVER_SERVER_OPTIONS_H_
