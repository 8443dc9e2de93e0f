#ifndef RECSERVE_CLIENT_RECSERVE_CLIENT_H_
#define RECSERVE_CLIENT_RECSERVE_CLIENT_H_

// A C++ client of the recserve Recommender service
// (proto/recserve/v1/recommender.proto) and of the server's standard gRPC
// health check (grpc.health.v1.Health/Check).
//
//   recserve::client::RecommenderClient client("localhost:50051");
//   recserve::v1::RecommendRequest request;
//   request.set_user_id("42");
//   request.set_n(10);
//   absl::StatusOr<recserve::v1::RecommendResponse> response =
//       client.Recommend(request);
//
// Every call has a deadline (ClientOptions::deadline) and fails fast: when
// the server cannot be reached the call returns at once instead of waiting
// for a connection (gRPC's wait-for-ready is off).
//
// Errors: the gRPC status code becomes the absl::Status code of the same
// number, with a message saying what went wrong:
//   Unavailable       "server not reachable at HOST:PORT (<gRPC's message>)"
//                     when no connection could be made; a server that
//                     answers UNAVAILABLE itself (no snapshot loaded yet,
//                     shutting down) keeps its own message.
//   DeadlineExceeded  "no answer from HOST:PORT within 5s" (the deadline).
//   anything else     the server's status message (e.g. InvalidArgument
//                     "n must be ..." or NotFound "unknown item ..."), or
//                     the code's name when the server sent no message.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/client_tls.h"
#include "recserve/v1/recommender.grpc.pb.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace recserve::client {

struct ClientOptions {
  // How long each call may take, from the moment it is made until the
  // answer arrives. Default 5 s. Must be positive.
  absl::Duration deadline = absl::Seconds(5);
  // Plaintext unless tls.enabled. A TLS handshake that fails (untrusted
  // server certificate, client certificate refused) shows up as
  // Unavailable from the calls.
  ClientTlsOptions tls;
};

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class ServingStatus {
  kUnknown = 0,
  kServing = 1,
  // The server runs but does not serve yet (no snapshot loaded) or any more
  // (shutting down).
  kNotServing = 2,
  kServiceUnknown = 3,
};

// "UNKNOWN", "SERVING", "NOT_SERVING" or "SERVICE_UNKNOWN", as in the
// health proto.
absl::string_view ServingStatusName(ServingStatus status);

// One connection (a gRPC channel over TCP, plaintext or TLS) to one server.
//
// Thread-safe: every method is const and may be called from many threads at
// once; the calls share the channel. Not copyable.
class RecommenderClient final {
 public:
  // A client for `target` ("host:port", e.g. "localhost:50051" or
  // "127.0.0.1:50051"; any gRPC target string is accepted). Connects lazily,
  // on the first call, and reconnects as needed; constructing never fails —
  // a bad or unreachable target shows up as Unavailable from the calls.
  explicit RecommenderClient(std::string target, ClientOptions options = {});
  ~RecommenderClient();

  RecommenderClient(const RecommenderClient&) = delete;
  RecommenderClient& operator=(const RecommenderClient&) = delete;

  // The Recommender RPCs; see recommender.proto for what they return and
  // their errors, and the top of this file for how errors read.
  absl::StatusOr<v1::RecommendResponse> Recommend(
      const v1::RecommendRequest& request) const;
  absl::StatusOr<v1::SimilarItemsResponse> SimilarItems(
      const v1::SimilarItemsRequest& request) const;
  absl::StatusOr<v1::PredictRatingResponse> PredictRating(
      const v1::PredictRatingRequest& request) const;
  absl::StatusOr<v1::ModelInfo> GetModelInfo() const;

  // grpc.health.v1.Health/Check for `service` ("" = the whole server, the
  // only name recserve-server answers). A server that runs but does not
  // serve yet answers kNotServing, which is a successful call. Errors as
  // above; NotFound when the server does not know `service`; Internal when
  // the answer cannot be decoded.
  absl::StatusOr<ServingStatus> Health(absl::string_view service = "") const;

  const std::string& target() const { return target_; }
  const ClientOptions& options() const { return options_; }

 private:
  const std::string target_;
  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::Recommender::Stub> stub_;
};

}  // namespace recserve::client

#endif  // RECSERVE_CLIENT_RECSERVE_CLIENT_H_
