#ifndef RECSERVE_CLIENT_LOAD_GENERATOR_H_
#define RECSERVE_CLIENT_LOAD_GENERATOR_H_

// recserve-bench's engine: asynchronous gRPC calls (one completion queue per
// thread) over `connections` channels, in a closed or an open loop.
//
// Closed loop: `concurrency` calls in flight; each answer sends the next.
// Open loop: calls start at fixed intended times, 1/rps apart, whatever the
// server does, and latency runs from the intended time, not from when the
// call actually went out: a server that stalls shows its queueing in the
// latency instead of slowing the generator down (coordinated omission).
// At most max_in_flight calls wait at once; beyond that the sender waits,
// and the late starts still count from their intended times. The sender
// sleeps only when more than 200 µs ahead and sends what is due in a burst
// (a call sent early counts from when it went out).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client_tls.h"
#include "client/request_pool.h"

namespace recserve::client {

struct LoadOptions {
  std::string target;        // host:port
  int32_t connections = 1;   // separate TCP connections (channels), >= 1
  int32_t concurrency = 50;  // closed loop: calls in flight, >= 1
  double rps = 0.0;          // > 0: open loop at this rate
  // When to stop sending: after `duration` (0 = no limit) or `total` calls
  // (0 = no limit); at least one of them must be set.
  absl::Duration duration = absl::ZeroDuration();
  int64_t total = 0;
  absl::Duration deadline = absl::Seconds(5);  // per call
  int32_t max_in_flight = 10'000;              // open loop, >= 1
  int32_t threads = 1;                         // completion-queue threads, >= 1
  ClientTlsOptions tls;                        // plaintext unless enabled
};

struct CallRecord {
  LoadMethod method;
  int32_t code;  // grpc::StatusCode
  float micros;  // latency
};

struct LoadResult {
  std::vector<CallRecord> calls;  // in completion order per thread
  // "[Code] message" -> count, for failed calls.
  absl::flat_hash_map<std::string, int64_t> errors;
  double seconds = 0.0;  // first intended start to last answer
  // Answers per kTimelineTick since the start, by when they arrived: the
  // throughput over time (e.g. across a snapshot reload).
  std::vector<int64_t> ok_per_tick;
  std::vector<int64_t> failed_per_tick;
};

inline constexpr absl::Duration kTimelineTick = absl::Milliseconds(100);

// gRPC's name of a status code, as ghz prints it: "OK", "Unavailable", ...
const char* StatusCodeName(int32_t code);

// Runs the load against options.target, cycling through `requests` (must
// not be empty). Errors: InvalidArgument for bad options (the message names
// them). Calls that fail are results, not errors. Blocks until every call
// has finished; each has a deadline, so this returns.
absl::StatusOr<LoadResult> RunLoad(
    const LoadOptions& options, const std::vector<PreparedRequest>& requests);

}  // namespace recserve::client

#endif  // RECSERVE_CLIENT_LOAD_GENERATOR_H_
