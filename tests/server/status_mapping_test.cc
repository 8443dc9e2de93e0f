#include "server/status_mapping.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace recserve::server {
namespace {

TEST(StatusMappingTest, OkMapsToOk) {
  const grpc::Status s = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(s.error_message(), "");
}

TEST(StatusMappingTest, EveryErrorCodeMapsToTheSameGrpcCodeWithItsMessage) {
  using absl::StatusCode;
  const std::vector<std::pair<StatusCode, grpc::StatusCode>> cases = {
      {StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
      {StatusCode::kUnknown, grpc::StatusCode::UNKNOWN},
      {StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
      {StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
      {StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {StatusCode::kAborted, grpc::StatusCode::ABORTED},
      {StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
      {StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
      {StatusCode::kInternal, grpc::StatusCode::INTERNAL},
      {StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
      {StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
  };
  for (const auto& [absl_code, grpc_code] : cases) {
    const std::string message =
        "user_id: " + absl::StatusCodeToString(absl_code);
    const grpc::Status s = ToGrpcStatus(absl::Status(absl_code, message));
    EXPECT_FALSE(s.ok()) << message;
    EXPECT_EQ(s.error_code(), grpc_code) << message;
    EXPECT_EQ(s.error_message(), message);
  }
}

TEST(StatusMappingTest, MessagePassesThroughByteForByte) {
  const std::string message("n must be in [1, 1000]\n\xc3\xa9\0tail", 30);
  const grpc::Status s = ToGrpcStatus(absl::InvalidArgumentError(message));
  EXPECT_EQ(s.error_message(), message);
  EXPECT_EQ(ToGrpcStatus(absl::InternalError("")).error_message(), "");
  EXPECT_EQ(ToGrpcStatus(absl::InternalError("")).error_code(),
            grpc::StatusCode::INTERNAL);
}

}  // namespace
}  // namespace recserve::server
