#ifndef RECSERVE_TESTS_SERVER_SERVER_TEST_UTIL_H_
#define RECSERVE_TESTS_SERVER_SERVER_TEST_UTIL_H_

// Helpers for tests that talk to a real server on 127.0.0.1: a raw gRPC
// health check (the health proto is not compiled into this build), an HTTP
// GET for /metrics, and waiting with a bound.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace recserve::testutil {

// grpc.health.v1.HealthCheckResponse.ServingStatus values.
inline constexpr int kServing = 1;
inline constexpr int kNotServing = 2;

// Calls grpc.health.v1.Health/Check for `service` ("" = the whole server).
// Returns the status enum, or -(gRPC code) on an RPC error (e.g. -14 for
// UNAVAILABLE), or -100 for a response it cannot parse.
inline int HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                       const std::string& service = "") {
  // HealthCheckRequest{service = 1}: tag 0x0a, length, bytes.
  std::string request;
  if (!service.empty()) {
    request = absl::StrCat(
        "\x0a", std::string(1, static_cast<char>(service.size())), service);
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request_buffer, &response_buffer,
                 [&done](grpc::Status s) { done.set_value(s); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) return -static_cast<int>(status.error_code());
  std::vector<grpc::Slice> slices;
  if (!response_buffer.Dump(&slices).ok()) return -100;
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // HealthCheckResponse{status = 1 (enum)}: tag 0x08 then the varint; an
  // empty message means UNKNOWN (0).
  if (bytes.empty()) return 0;
  if (bytes.size() != 2 || bytes[0] != '\x08') return -100;
  return bytes[1];
}

// Polls `ready` every 20 ms until it returns true or `limit` passes.
inline bool WaitFor(const std::function<bool()>& ready, absl::Duration limit) {
  const absl::Time end = absl::Now() + limit;
  while (absl::Now() < end) {
    if (ready()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return ready();
}

// GET http://127.0.0.1:`port``path`; returns the body, or "" on failure.
inline std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request =
      absl::StrCat("GET ", path,
                   " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (::write(fd, request.data(), request.size()) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return "";
  }
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0)
    response.append(buffer, n);
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

}  // namespace recserve::testutil

#endif  // RECSERVE_TESTS_SERVER_SERVER_TEST_UTIL_H_
