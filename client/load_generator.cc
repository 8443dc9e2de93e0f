#include "client/load_generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"

namespace recserve::client {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kEarly = std::chrono::microseconds(200);

absl::Status CheckOptions(const LoadOptions& o, size_t requests) {
  if (o.target.empty()) return absl::InvalidArgumentError("no target");
  if (requests == 0) return absl::InvalidArgumentError("no requests");
  if (o.connections < 1 || o.concurrency < 1 || o.threads < 1 ||
      o.max_in_flight < 1) {
    return absl::InvalidArgumentError(
        "--connections, --concurrency, --threads and --max_in_flight must "
        "be >= 1");
  }
  if (o.rps < 0) return absl::InvalidArgumentError("--rps must be >= 0");
  if (o.total < 0 || o.duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--total and --duration must be >= 0");
  }
  if (o.total == 0 && o.duration == absl::ZeroDuration()) {
    return absl::InvalidArgumentError("set --total or --duration");
  }
  if (o.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--deadline must be positive");
  }
  return absl::OkStatus();
}

struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  Clock::time_point intended;
  LoadMethod method = LoadMethod::kRecommend;
};

// Shared by all threads: what may still be sent.
class Budget {
 public:
  Budget(const LoadOptions& o, Clock::time_point start)
      : total_(o.total),
        end_(o.duration > absl::ZeroDuration()
                 ? start + absl::ToChronoNanoseconds(o.duration)
                 : Clock::time_point::max()) {}

  // Claims the next call's sequence number, or -1 when the run is over.
  int64_t Claim(Clock::time_point now) {
    if (now >= end_) return -1;
    const int64_t n = next_.fetch_add(1, std::memory_order_relaxed);
    return total_ > 0 && n >= total_ ? -1 : n;
  }
  Clock::time_point end() const { return end_; }

 private:
  const int64_t total_;
  const Clock::time_point end_;
  std::atomic<int64_t> next_{0};
};

class Worker {
 public:
  Worker(const LoadOptions& o, const std::vector<PreparedRequest>& requests,
         std::vector<std::unique_ptr<grpc::GenericStub>>& stubs,
         std::vector<grpc::ByteBuffer>& payloads)
      : options_(o), requests_(requests), stubs_(stubs), payloads_(payloads) {}

  // Starts call number `n` at `intended`. Thread-safe with Drain.
  void Start(int64_t n, Clock::time_point intended) {
    auto call = std::make_unique<Call>();
    const size_t r = static_cast<size_t>(n) % requests_.size();
    call->method = requests_[r].method;
    call->intended = intended;
    call->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoNanoseconds(options_.deadline));
    grpc::GenericStub& stub = *stubs_[static_cast<size_t>(n) % stubs_.size()];
    call->reader = stub.PrepareUnaryCall(
        &call->context, LoadMethodPath(call->method), payloads_[r], &queue_);
    call->reader->StartCall();
    Call* raw = call.release();
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    raw->reader->Finish(&raw->response, &raw->status, raw);
  }

  // Processes answers until the queue shuts down. In a closed loop each
  // answer starts the next call from `budget`.
  void Drain(Budget* closed_loop_budget) {
    void* tag = nullptr;
    bool ok = false;
    while (queue_.Next(&tag, &ok)) {
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      const Clock::time_point now = Clock::now();
      Record(*call, now);
      if (closed_loop_budget != nullptr) {
        const int64_t n = closed_loop_budget->Claim(now);
        if (n >= 0) Start(n, now);
      }
      if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
          closed_loop_budget != nullptr) {
        queue_.Shutdown();  // closed loop: nothing left in flight
      }
    }
  }

  void Shutdown() { queue_.Shutdown(); }
  int64_t in_flight() const {
    return in_flight_.load(std::memory_order_relaxed);
  }
  LoadResult& result() { return result_; }
  Clock::time_point last_answer() const { return last_answer_; }

  void set_start(Clock::time_point start) { start_ = start; }

 private:
  void Record(const Call& call, Clock::time_point now) {
    const auto tick = static_cast<size_t>(std::max<int64_t>(
        0, (now - start_) / absl::ToChronoNanoseconds(kTimelineTick)));
    std::vector<int64_t>& timeline =
        call.status.ok() ? result_.ok_per_tick : result_.failed_per_tick;
    if (timeline.size() <= tick) timeline.resize(tick + 1, 0);
    ++timeline[tick];
    const float micros =
        std::chrono::duration<float, std::micro>(now - call.intended).count();
    const grpc::StatusCode code = call.status.error_code();
    result_.calls.push_back({call.method, static_cast<int32_t>(code), micros});
    if (code != grpc::StatusCode::OK) {
      ++result_.errors[absl::StrCat("[", StatusCodeName(code), "] ",
                                    call.status.error_message())];
    }
    last_answer_ = std::max(last_answer_, now);
  }

  const LoadOptions& options_;
  const std::vector<PreparedRequest>& requests_;
  std::vector<std::unique_ptr<grpc::GenericStub>>& stubs_;
  std::vector<grpc::ByteBuffer>& payloads_;
  grpc::CompletionQueue queue_;
  std::atomic<int64_t> in_flight_{0};
  LoadResult result_;
  Clock::time_point last_answer_{};
  Clock::time_point start_{};
};

// a += b, elementwise, growing a.
void AddInto(std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() < b.size()) a.resize(b.size(), 0);
  for (size_t i = 0; i < b.size(); ++i) a[i] += b[i];
}

}  // namespace

const char* StatusCodeName(int32_t code) {
  static constexpr const char* kNames[] = {"OK",
                                           "Canceled",
                                           "Unknown",
                                           "InvalidArgument",
                                           "DeadlineExceeded",
                                           "NotFound",
                                           "AlreadyExists",
                                           "PermissionDenied",
                                           "ResourceExhausted",
                                           "FailedPrecondition",
                                           "Aborted",
                                           "OutOfRange",
                                           "Unimplemented",
                                           "Internal",
                                           "Unavailable",
                                           "DataLoss",
                                           "Unauthenticated"};
  return code >= 0 && code < 17 ? kNames[code] : "Unknown";
}

absl::StatusOr<LoadResult> RunLoad(
    const LoadOptions& o, const std::vector<PreparedRequest>& requests) {
  if (absl::Status s = CheckOptions(o, requests.size()); !s.ok()) return s;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int32_t c = 0; c < o.connections; ++c) {
    grpc::ChannelArguments args;
    // Distinct arguments and a local pool: one TCP connection per channel.
    args.SetInt("recserve.bench.connection", c);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(
        std::make_unique<grpc::GenericStub>(grpc::CreateCustomChannel(
            o.target, MakeChannelCredentials(o.tls), args)));
  }
  std::vector<grpc::ByteBuffer> payloads;
  payloads.reserve(requests.size());
  for (const PreparedRequest& r : requests) {
    grpc::Slice slice(r.payload);
    payloads.emplace_back(&slice, 1);
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (int32_t t = 0; t < o.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(o, requests, stubs, payloads));
  }

  const Clock::time_point start = Clock::now();
  for (auto& w : workers) w->set_start(start);
  Budget budget(o, start);
  std::vector<std::thread> threads;
  if (o.rps <= 0) {
    // Closed loop: spread the calls in flight over the threads.
    for (int32_t c = 0; c < o.concurrency; ++c) {
      const int64_t n = budget.Claim(start);
      if (n < 0) break;
      workers[c % o.threads]->Start(n, start);
    }
    for (auto& w : workers) {
      if (w->in_flight() == 0) w->Shutdown();
      threads.emplace_back([&w, &budget] { w->Drain(&budget); });
    }
  } else {
    for (auto& w : workers) {
      threads.emplace_back([&w] { w->Drain(nullptr); });
    }
    const auto interval = std::chrono::duration<double>(1.0 / o.rps);
    for (int64_t n = 0;; ++n) {
      const Clock::time_point intended =
          start + std::chrono::duration_cast<Clock::duration>(interval * n);
      if (intended >= budget.end() || (o.total > 0 && n >= o.total)) break;
      // Sleep only when well ahead: a sleep per call at tens of thousands
      // of calls per second would take the CPU the server needs (client and
      // server share the machine). A call sent up to kEarly before its time
      // counts from when it was sent; a late one from its intended time.
      if (intended - Clock::now() > kEarly) {
        std::this_thread::sleep_until(intended - kEarly / 2);
      }
      Worker& w = *workers[n % o.threads];
      while (w.in_flight() >= std::max(1, o.max_in_flight / o.threads)) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      w.Start(n, std::max(intended, Clock::now()));
    }
    // Let the answers arrive, then stop the queues.
    for (auto& w : workers) {
      while (w->in_flight() > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      w->Shutdown();
    }
  }
  for (std::thread& t : threads) t.join();

  LoadResult merged;
  Clock::time_point last = start;
  for (auto& w : workers) {
    LoadResult& r = w->result();
    merged.calls.insert(merged.calls.end(), r.calls.begin(), r.calls.end());
    for (const auto& [error, count] : r.errors) merged.errors[error] += count;
    AddInto(merged.ok_per_tick, r.ok_per_tick);
    AddInto(merged.failed_per_tick, r.failed_per_tick);
    if (!r.calls.empty()) last = std::max(last, w->last_answer());
  }
  merged.seconds = std::chrono::duration<double>(last - start).count();
  return merged;
}

}  // namespace recserve::client
