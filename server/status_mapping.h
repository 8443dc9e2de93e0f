#ifndef RECSERVE_SERVER_STATUS_MAPPING_H_
#define RECSERVE_SERVER_STATUS_MAPPING_H_

// The one place absl::Status becomes grpc::Status: the codes share their
// numbering (both follow google.rpc.Code), and the message passes through.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace recserve::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace recserve::server

#endif  // RECSERVE_SERVER_STATUS_MAPPING_H_
