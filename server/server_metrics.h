#ifndef RECSERVE_SERVER_SERVER_METRICS_H_
#define RECSERVE_SERVER_SERVER_METRICS_H_

// The server's Prometheus metrics (prometheus-cpp), served on /metrics:
//   recserve_request_duration_seconds{method}     histogram, 50 µs .. 1 s
//   recserve_requests_total{method,code}          counter, gRPC status code
//   recserve_requests_in_flight                   gauge
//   recserve_stage_duration_seconds{stage}        histogram: retrieval, rerank
//   recserve_candidate_pool_size                  histogram
//   recserve_retrievals_total{path}               counter: exact, norm_scan,
//                                                 hnsw (serving_model.h)
//   recserve_fold_ins_total{method}               counter: requests whose
//                                                 user was folded in from
//                                                 recent interactions
//   recserve_recent_unknown_items_total           counter: recent
//                                                 interactions naming items
//                                                 the snapshot does not know
//   recserve_filtered_requests_total{method}      counter: requests with a
//                                                 filter
//   recserve_filter_allowed_fraction{method}      histogram: the share of
//                                                 the catalog a filter lets
//                                                 through
//   recserve_explanations_total                   counter: Recommend
//                                                 requests that asked to
//                                                 explain
//   recserve_cold_items_returned_total{method}    counter: cold items in
//                                                 answers (Recommend,
//                                                 SimilarItems)
//   recserve_snapshot_version                     gauge: the number of vNNNNNN
//   recserve_snapshot_created_timestamp_seconds   gauge
//   recserve_snapshot_age_seconds                 gauge, computed per scrape
//   recserve_snapshot_users / _items              gauges
//   recserve_snapshot_loaded_timestamp_seconds    gauge
//   recserve_snapshot_reloads_total{result}       counter: success, failure
// Thread-safe: every method may be called from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace recserve::server {

enum class Method { kRecommend, kSimilarItems, kPredictRating, kGetModelInfo };
inline constexpr int kNumMethods = 4;

// The gRPC method name, e.g. "Recommend".
const char* MethodName(Method method);

class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();

  // Serves /metrics on `address` ("host:port"; port 0 picks a free one).
  // Errors are the exposer's (e.g. the port is taken), as a message; returns
  // false then.
  bool Serve(const std::string& address, std::string* error);
  // The port /metrics listens on, 0 when not serving.
  int port() const;

  // A finished request: its latency and gRPC status code (0 = OK).
  void RecordRequest(Method method, int grpc_code, double seconds);
  void RequestStarted() { in_flight_->Increment(); }
  void RequestFinished() { in_flight_->Decrement(); }
  // RPCs being served now.
  int64_t in_flight() const {
    return static_cast<int64_t>(in_flight_->Value());
  }
  // One Recommend's retrieval and rerank; `path` is a RetrievalPathName.
  void RecordStages(double retrieval_seconds, double rerank_seconds,
                    int32_t pool, const char* path);
  // One answered request's personalization: whether its user was folded in
  // from recent interactions and how many of those named unknown items.
  // Counted for Recommend and PredictRating only.
  void RecordFoldIn(Method method, bool folded_in, int32_t recent_unknown);
  // One answered request with a filter letting `allowed_fraction` of the
  // catalog through. Counted for Recommend and SimilarItems only.
  void RecordFilter(Method method, double allowed_fraction);
  // One answered Recommend with explanations.
  void RecordExplanation() { explanations_->Increment(); }
  // `count` cold items in one answer. Counted for Recommend and
  // SimilarItems only.
  void RecordColdItems(Method method, int32_t count);
  // A snapshot swapped in.
  void RecordReload(const std::string& version, absl::Time created,
                    int32_t users, int32_t items);
  void RecordReloadFailure();

  // The registry, for tests and extra collectors.
  prometheus::Registry& registry() { return *registry_; }

 private:
  class AgeCollector;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<AgeCollector> age_;
  std::unique_ptr<prometheus::Exposer> exposer_;

  prometheus::Family<prometheus::Histogram>* latency_family_;
  prometheus::Family<prometheus::Counter>* requests_family_;
  prometheus::Histogram* latency_[kNumMethods];
  prometheus::Gauge* in_flight_;
  prometheus::Histogram* retrieval_seconds_;
  prometheus::Histogram* rerank_seconds_;
  prometheus::Histogram* pool_size_;
  prometheus::Family<prometheus::Counter>* retrievals_family_;
  // By method; null for methods without recent interactions or filters.
  prometheus::Counter* fold_ins_[kNumMethods] = {};
  prometheus::Counter* recent_unknown_;
  prometheus::Counter* filtered_[kNumMethods] = {};
  prometheus::Histogram* allowed_fraction_[kNumMethods] = {};
  prometheus::Counter* explanations_;
  prometheus::Counter* cold_returned_[kNumMethods] = {};
  prometheus::Gauge* snapshot_version_;
  prometheus::Gauge* snapshot_created_;
  prometheus::Gauge* snapshot_loaded_;
  prometheus::Gauge* snapshot_users_;
  prometheus::Gauge* snapshot_items_;
  prometheus::Counter* reload_success_;
  prometheus::Counter* reload_failure_;
};

// RAII: counts a request in flight from construction to Finish, which
// records its latency and code.
class RequestScope {
 public:
  RequestScope(ServerMetrics& metrics, Method method);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;
  // Records the outcome once; returns `code` for convenience.
  int Finish(int grpc_code);

 private:
  ServerMetrics& metrics_;
  Method method_;
  absl::Time start_;
  bool finished_ = false;
};

}  // namespace recserve::server

#endif  // RECSERVE_SERVER_SERVER_METRICS_H_
