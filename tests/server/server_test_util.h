#ifndef RECSERVE_TESTS_SERVER_SERVER_TEST_UTIL_H_
#define RECSERVE_TESTS_SERVER_SERVER_TEST_UTIL_H_

// Helpers for tests that talk to a real server on 127.0.0.1: a health check,
// an HTTP GET for /metrics, and waiting with a bound.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/recserve_client.h"

namespace recserve::testutil {

// grpc.health.v1.HealthCheckResponse.ServingStatus values.
inline constexpr int kServing = 1;
inline constexpr int kNotServing = 2;

// grpc.health.v1.Health/Check on 127.0.0.1:`port` for `service` ("" = the
// whole server), through the client library. Returns kServing, kNotServing,
// 0 for any other status, or -(absl code) on an RPC error (e.g. -14 for
// UNAVAILABLE).
inline int HealthCheck(int port, const std::string& service = "") {
  const client::RecommenderClient client(absl::StrCat("127.0.0.1:", port));
  const absl::StatusOr<client::ServingStatus> status = client.Health(service);
  if (!status.ok()) return -static_cast<int>(status.status().code());
  switch (*status) {
    case client::ServingStatus::kServing:
      return kServing;
    case client::ServingStatus::kNotServing:
      return kNotServing;
    default:
      return 0;
  }
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

// A TCP connection to 127.0.0.1:`port` whose reads time out after 5 s, or
// -1. The caller closes it.
inline int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// GET http://127.0.0.1:`port``path`; returns the body, or "" on failure.
inline std::string HttpGet(int port, const std::string& path) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return "";
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
