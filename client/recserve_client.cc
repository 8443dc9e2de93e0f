#include "client/recserve_client.h"

#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace recserve::client {
namespace {

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

// Whether a failed call was answered by the server, as opposed to failing
// in the transport (no connection, connection lost). gRPC reports both as
// UNAVAILABLE; after a call the server answered, the channel is still READY,
// after a failed connection it is not.
bool ReachedServer(grpc::Channel& channel) {
  return channel.GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

absl::Status FromGrpc(const grpc::Status& status, grpc::Channel& channel,
                      const std::string& target, absl::Duration deadline) {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::DeadlineExceededError(
          absl::StrCat("no answer from ", target, " within ",
                       absl::FormatDuration(deadline)));
    case grpc::StatusCode::UNAVAILABLE:
      if (!ReachedServer(channel)) {
        return absl::UnavailableError(
            absl::StrCat("server not reachable at ", target, " (",
                         status.error_message(), ")"));
      }
      break;
    default:
      break;
  }
  if (status.error_message().empty()) {
    return absl::Status(code, absl::StatusCodeToString(code));
  }
  return absl::Status(code, status.error_message());
}

void Prepare(grpc::ClientContext& context, absl::Duration deadline) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(deadline));
  context.set_wait_for_ready(false);
}

// One unary call through `invoke(context, response)`, with the deadline set
// and the status translated.
template <typename Response, typename Invoke>
absl::StatusOr<Response> CallUnary(const Invoke& invoke, grpc::Channel& channel,
                                   const std::string& target,
                                   absl::Duration deadline) {
  grpc::ClientContext context;
  Prepare(context, deadline);
  Response response;
  const grpc::Status status = invoke(&context, &response);
  if (!status.ok()) return FromGrpc(status, channel, target, deadline);
  return response;
}

// HealthCheckRequest{string service = 1;} in protobuf wire format.
std::string EncodeHealthCheckRequest(absl::string_view service) {
  std::string bytes;
  if (service.empty()) return bytes;  // proto3 leaves out default values
  bytes.push_back('\x0a');            // field 1, length-delimited
  for (uint64_t n = service.size();; n >>= 7) {
    if (n < 0x80) {
      bytes.push_back(static_cast<char>(n));
      break;
    }
    bytes.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  bytes.append(service.data(), service.size());
  return bytes;
}

// Reads a varint at `*pos`; false if it runs past the end or is too long.
bool ReadVarint(absl::string_view bytes, size_t* pos, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *pos < bytes.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(bytes[(*pos)++]);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// HealthCheckResponse{ServingStatus status = 1;}; other fields are skipped.
absl::StatusOr<ServingStatus> DecodeHealthCheckResponse(
    absl::string_view bytes) {
  const absl::Status malformed =
      absl::InternalError("malformed health check response");
  uint64_t status = 0;
  size_t pos = 0;
  while (pos < bytes.size()) {
    uint64_t tag = 0;
    uint64_t value = 0;
    if (!ReadVarint(bytes, &pos, &tag)) return malformed;
    switch (tag & 7) {
      case 0:  // varint
        if (!ReadVarint(bytes, &pos, &value)) return malformed;
        if (tag >> 3 == 1) status = value;
        break;
      case 1:  // 64-bit
        if (bytes.size() - pos < 8) return malformed;
        pos += 8;
        break;
      case 2:  // length-delimited
        if (!ReadVarint(bytes, &pos, &value) || bytes.size() - pos < value) {
          return malformed;
        }
        pos += value;
        break;
      case 5:  // 32-bit
        if (bytes.size() - pos < 4) return malformed;
        pos += 4;
        break;
      default:
        return malformed;
    }
  }
  if (status > 3) return ServingStatus::kUnknown;
  return static_cast<ServingStatus>(status);
}

}  // namespace

absl::string_view ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kUnknown:
      return "UNKNOWN";
    case ServingStatus::kServing:
      return "SERVING";
    case ServingStatus::kNotServing:
      return "NOT_SERVING";
    case ServingStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
  }
  return "UNKNOWN";
}

RecommenderClient::RecommenderClient(std::string target, ClientOptions options)
    : target_(std::move(target)),
      options_(options),
      channel_(
          grpc::CreateChannel(target_, MakeChannelCredentials(options.tls))),
      stub_(v1::Recommender::NewStub(channel_)) {}

RecommenderClient::~RecommenderClient() = default;

absl::StatusOr<v1::RecommendResponse> RecommenderClient::Recommend(
    const v1::RecommendRequest& request) const {
  return CallUnary<v1::RecommendResponse>(
      [&](grpc::ClientContext* context, v1::RecommendResponse* response) {
        return stub_->Recommend(context, request, response);
      },
      *channel_, target_, options_.deadline);
}

absl::StatusOr<v1::SimilarItemsResponse> RecommenderClient::SimilarItems(
    const v1::SimilarItemsRequest& request) const {
  return CallUnary<v1::SimilarItemsResponse>(
      [&](grpc::ClientContext* context, v1::SimilarItemsResponse* response) {
        return stub_->SimilarItems(context, request, response);
      },
      *channel_, target_, options_.deadline);
}

absl::StatusOr<v1::PredictRatingResponse> RecommenderClient::PredictRating(
    const v1::PredictRatingRequest& request) const {
  return CallUnary<v1::PredictRatingResponse>(
      [&](grpc::ClientContext* context, v1::PredictRatingResponse* response) {
        return stub_->PredictRating(context, request, response);
      },
      *channel_, target_, options_.deadline);
}

absl::StatusOr<v1::ModelInfo> RecommenderClient::GetModelInfo() const {
  const v1::GetModelInfoRequest request;
  return CallUnary<v1::ModelInfo>(
      [&](grpc::ClientContext* context, v1::ModelInfo* response) {
        return stub_->GetModelInfo(context, request, response);
      },
      *channel_, target_, options_.deadline);
}

absl::StatusOr<ServingStatus> RecommenderClient::Health(
    absl::string_view service) const {
  grpc::Slice request_slice(EncodeHealthCheckRequest(service));
  grpc::ByteBuffer request(&request_slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  Prepare(context, options_.deadline);
  grpc::GenericStub stub(channel_);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, kHealthCheckMethod, grpc::StubOptions(), &request,
                 &response, [&done](grpc::Status s) { done.set_value(s); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    return FromGrpc(status, *channel_, target_, options_.deadline);
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) {
    return absl::InternalError("cannot read the health check response");
  }
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return DecodeHealthCheckResponse(bytes);
}

}  // namespace recserve::client
