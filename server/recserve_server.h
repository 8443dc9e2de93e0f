#ifndef RECSERVE_SERVER_RECSERVE_SERVER_H_
#define RECSERVE_SERVER_RECSERVE_SERVER_H_

// The whole server: the Recommender service, gRPC health checking
// (grpc.health.v1.Health: NOT_SERVING until a snapshot is loaded, SERVING
// after, NOT_SERVING while shutting down), server reflection, Prometheus
// metrics, and the model reloader watching the snapshot root.

#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "core/serve/model_reloader.h"
#include "grpcpp/server.h"
#include "server/recommender_service.h"
#include "server/server_metrics.h"
#include "server/server_options.h"

namespace recserve::server {

class RecserveServer {
 public:
  // Binds the gRPC and metrics ports and starts serving; the first snapshot
  // loads in the background (health says when it is in). Errors:
  // InvalidArgument for bad options; Unavailable when a port cannot be
  // bound, naming the address.
  static absl::StatusOr<std::unique_ptr<RecserveServer>> Start(
      const ServerOptions& options);

  // Shuts down if still running.
  ~RecserveServer();

  // The bound ports (useful with port 0).
  int port() const { return port_; }
  int metrics_port() const { return metrics_->port(); }

  // Graceful shutdown: health NOT_SERVING (for drain_delay while still
  // serving), then no new calls: calls in flight get up to shutdown_grace to
  // finish, then the rest are cancelled; the reloader stops. Calls that
  // reached the server but were not started yet are cancelled by gRPC
  // (clients see CANCELLED or UNAVAILABLE); none is half-executed.
  // Idempotent; thread-safe.
  void Shutdown();

  const ModelReloader& models() const { return *reloader_; }

  // A channel to this server through gRPC's in-process transport: the same
  // handlers, limits and metrics, no socket. For tests and fuzzing.
  std::shared_ptr<grpc::Channel> InProcessChannel();

 private:
  RecserveServer() = default;

  ServerOptions options_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<ModelReloader> reloader_;
  std::unique_ptr<RecommenderService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex shutdown_mu_;  // std::mutex: visible to ThreadSanitizer
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace recserve::server

#endif  // RECSERVE_SERVER_RECSERVE_SERVER_H_
