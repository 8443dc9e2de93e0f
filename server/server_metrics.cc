#include "server/server_metrics.h"

#include <exception>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace recserve::server {
namespace {

// 50 µs to ~1 s, about three buckets per decade.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
          0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1.0};
}

// Filters from one item in ten thousand to the whole catalog.
prometheus::Histogram::BucketBoundaries FractionBuckets() {
  return {0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0};
}

prometheus::Histogram::BucketBoundaries PoolBuckets() {
  return {10, 25, 50, 100, 200, 400, 800, 1600, 3200, 6400};
}

const char* kGrpcCodeNames[] = {"OK",
                                "CANCELLED",
                                "UNKNOWN",
                                "INVALID_ARGUMENT",
                                "DEADLINE_EXCEEDED",
                                "NOT_FOUND",
                                "ALREADY_EXISTS",
                                "PERMISSION_DENIED",
                                "RESOURCE_EXHAUSTED",
                                "FAILED_PRECONDITION",
                                "ABORTED",
                                "OUT_OF_RANGE",
                                "UNIMPLEMENTED",
                                "INTERNAL",
                                "UNAVAILABLE",
                                "DATA_LOSS",
                                "UNAUTHENTICATED"};

}  // namespace

const char* MethodName(Method method) {
  switch (method) {
    case Method::kRecommend:
      return "Recommend";
    case Method::kSimilarItems:
      return "SimilarItems";
    case Method::kPredictRating:
      return "PredictRating";
    case Method::kGetModelInfo:
      return "GetModelInfo";
  }
  return "?";
}

// recserve_snapshot_age_seconds, computed when scraped.
class ServerMetrics::AgeCollector final : public prometheus::Collectable {
 public:
  void Set(absl::Time created) {
    std::lock_guard<std::mutex> lock(mu_);
    created_ = created;
    set_ = true;
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!set_) return {};
    prometheus::MetricFamily family;
    family.name = "recserve_snapshot_age_seconds";
    family.help = "Seconds since the serving snapshot was published.";
    family.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric metric;
    metric.gauge.value = absl::ToDoubleSeconds(absl::Now() - created_);
    family.metric.push_back(metric);
    return {family};
  }

 private:
  mutable std::mutex mu_;
  absl::Time created_;
  bool set_ = false;
};

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      age_(std::make_shared<AgeCollector>()) {
  prometheus::Registry& r = *registry_;
  latency_family_ = &prometheus::BuildHistogram()
                         .Name("recserve_request_duration_seconds")
                         .Help("Latency of RPCs, by method.")
                         .Register(r);
  for (int m = 0; m < kNumMethods; ++m) {
    latency_[m] = &latency_family_->Add(
        {{"method", MethodName(static_cast<Method>(m))}}, LatencyBuckets());
  }
  requests_family_ =
      &prometheus::BuildCounter()
           .Name("recserve_requests_total")
           .Help("Finished RPCs, by method and gRPC status code.")
           .Register(r);
  in_flight_ = &prometheus::BuildGauge()
                    .Name("recserve_requests_in_flight")
                    .Help("RPCs being served now.")
                    .Register(r)
                    .Add({});
  auto& stages = prometheus::BuildHistogram()
                     .Name("recserve_stage_duration_seconds")
                     .Help("Time spent in each stage of Recommend.")
                     .Register(r);
  retrieval_seconds_ = &stages.Add({{"stage", "retrieval"}}, LatencyBuckets());
  rerank_seconds_ = &stages.Add({{"stage", "rerank"}}, LatencyBuckets());
  retrievals_family_ =
      &prometheus::BuildCounter()
           .Name("recserve_retrievals_total")
           .Help("Recommend retrievals, by how the candidate pool was found.")
           .Register(r);
  pool_size_ = &prometheus::BuildHistogram()
                    .Name("recserve_candidate_pool_size")
                    .Help("Candidates retrieved per Recommend.")
                    .Register(r)
                    .Add({}, PoolBuckets());
  auto& fold_ins =
      prometheus::BuildCounter()
          .Name("recserve_fold_ins_total")
          .Help("Requests whose user was folded in from recent interactions.")
          .Register(r);
  auto& filtered = prometheus::BuildCounter()
                       .Name("recserve_filtered_requests_total")
                       .Help("Requests with an item filter, by method.")
                       .Register(r);
  auto& allowed = prometheus::BuildHistogram()
                      .Name("recserve_filter_allowed_fraction")
                      .Help("Share of the catalog a request's filter allows.")
                      .Register(r);
  // Only the methods that take recent interactions or filters get series
  // (the others stay null), all created at zero so that rates start at once.
  const auto label = [](Method m) {
    return prometheus::Labels{{"method", MethodName(m)}};
  };
  for (const Method m : {Method::kRecommend, Method::kPredictRating}) {
    fold_ins_[static_cast<int>(m)] = &fold_ins.Add(label(m));
  }
  auto& cold = prometheus::BuildCounter()
                   .Name("recserve_cold_items_returned_total")
                   .Help(
                       "Cold items (mapped from metadata) in answers, by "
                       "method.")
                   .Register(r);
  for (const Method m : {Method::kRecommend, Method::kSimilarItems}) {
    cold_returned_[static_cast<int>(m)] = &cold.Add(label(m));
    filtered_[static_cast<int>(m)] = &filtered.Add(label(m));
    allowed_fraction_[static_cast<int>(m)] =
        &allowed.Add(label(m), FractionBuckets());
  }
  recent_unknown_ =
      &prometheus::BuildCounter()
           .Name("recserve_recent_unknown_items_total")
           .Help(
               "Recent interactions naming items the snapshot does not "
               "know (skipped).")
           .Register(r)
           .Add({});
  explanations_ = &prometheus::BuildCounter()
                       .Name("recserve_explanations_total")
                       .Help("Recommend requests answered with explanations.")
                       .Register(r)
                       .Add({});
  const auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
  };
  snapshot_version_ = gauge("recserve_snapshot_version",
                            "Number of the serving snapshot version.");
  snapshot_created_ =
      gauge("recserve_snapshot_created_timestamp_seconds",
            "When the serving snapshot was published, Unix time.");
  snapshot_loaded_ =
      gauge("recserve_snapshot_loaded_timestamp_seconds",
            "When this server swapped in the serving snapshot, Unix time.");
  snapshot_users_ =
      gauge("recserve_snapshot_users", "Users in the serving snapshot.");
  snapshot_items_ =
      gauge("recserve_snapshot_items", "Items in the serving snapshot.");
  auto& reloads = prometheus::BuildCounter()
                      .Name("recserve_snapshot_reloads_total")
                      .Help("Snapshot loads, by result.")
                      .Register(r);
  reload_success_ = &reloads.Add({{"result", "success"}});
  reload_failure_ = &reloads.Add({{"result", "failure"}});
}

ServerMetrics::~ServerMetrics() = default;

bool ServerMetrics::Serve(const std::string& address, std::string* error) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    // civetweb reports a taken port by throwing.
    *error = e.what();
    return false;
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(age_);
  return true;
}

int ServerMetrics::port() const {
  if (exposer_ == nullptr) return 0;
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void ServerMetrics::RecordRequest(Method method, int grpc_code,
                                  double seconds) {
  latency_[static_cast<int>(method)]->Observe(seconds);
  const char* code =
      grpc_code >= 0 && grpc_code <= 16 ? kGrpcCodeNames[grpc_code] : "UNKNOWN";
  // Family::Add returns the existing child for known labels.
  requests_family_->Add({{"method", MethodName(method)}, {"code", code}})
      .Increment();
}

void ServerMetrics::RecordStages(double retrieval_seconds,
                                 double rerank_seconds, int32_t pool,
                                 const char* path) {
  retrievals_family_->Add({{"path", path}}).Increment();
  retrieval_seconds_->Observe(retrieval_seconds);
  rerank_seconds_->Observe(rerank_seconds);
  pool_size_->Observe(pool);
}

void ServerMetrics::RecordFoldIn(Method method, bool folded_in,
                                 int32_t recent_unknown) {
  prometheus::Counter* fold_ins = fold_ins_[static_cast<int>(method)];
  if (folded_in && fold_ins != nullptr) fold_ins->Increment();
  if (recent_unknown > 0) recent_unknown_->Increment(recent_unknown);
}

void ServerMetrics::RecordFilter(Method method, double allowed_fraction) {
  const int m = static_cast<int>(method);
  if (filtered_[m] == nullptr) return;
  filtered_[m]->Increment();
  allowed_fraction_[m]->Observe(allowed_fraction);
}

void ServerMetrics::RecordColdItems(Method method, int32_t count) {
  prometheus::Counter* counter = cold_returned_[static_cast<int>(method)];
  if (counter != nullptr && count > 0) counter->Increment(count);
}

void ServerMetrics::RecordReload(const std::string& version, absl::Time created,
                                 int32_t users, int32_t items) {
  int64_t number = 0;
  if (version.size() > 1 && absl::SimpleAtoi(version.substr(1), &number)) {
    snapshot_version_->Set(static_cast<double>(number));
  }
  snapshot_created_->Set(absl::ToDoubleSeconds(created - absl::UnixEpoch()));
  snapshot_loaded_->Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  snapshot_users_->Set(users);
  snapshot_items_->Set(items);
  age_->Set(created);
  reload_success_->Increment();
}

void ServerMetrics::RecordReloadFailure() { reload_failure_->Increment(); }

RequestScope::RequestScope(ServerMetrics& metrics, Method method)
    : metrics_(metrics), method_(method), start_(absl::Now()) {
  metrics_.RequestStarted();
}

RequestScope::~RequestScope() {
  if (!finished_) Finish(2 /* UNKNOWN */);
  metrics_.RequestFinished();
}

int RequestScope::Finish(int grpc_code) {
  if (!finished_) {
    finished_ = true;
    metrics_.RecordRequest(method_, grpc_code,
                           absl::ToDoubleSeconds(absl::Now() - start_));
  }
  return grpc_code;
}

}  // namespace recserve::server
