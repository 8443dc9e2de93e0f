// Fuzzes the Recommender service's handlers: the first byte picks the RPC
// (its value % 4) and the snapshot ((value / 4) % 2: 0 a small snapshot of
// ratings that can fold users in, 1 a small implicit-feedback one, trained on
// events), the rest is parsed as its request message and sent to a real
// server (the same RecserveServer as recserve-server) over gRPC's in-process
// transport. Whatever the request, the
// answer is OK or a client error with a message, and an OK answer keeps the
// API's promises: within n/k, no duplicates, nothing excluded, seen (recent
// included) or a seed, every item passing the filter, explanations only
// when asked for, finite numbers, cold_items within [0, n]. Both snapshots
// end with kFuzzColdItems cold items (fuzz_support.h: "i10".."i14" and
// "i12".."i16"): an item is flagged cold exactly when the snapshot's
// IsColdItem says so, and Recommend with cold_items = m answers at least
// min(m, cold items the filter allows and the request does not remove) of
// them, popularity fallback included.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/snapshot/snapshot.h"
#include "grpcpp/grpcpp.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/log.h"
#include "server/recserve_server.h"
#include "tests/fuzz/fuzz_support.h"

namespace recserve::fuzz {
namespace {

struct Fixture {
  std::unique_ptr<server::RecserveServer> server;
  std::unique_ptr<v1::Recommender::Stub> stub;
  bool implicit = false;
  int32_t num_items = 0;
  // The snapshot's cold items: their ids and labels.
  std::vector<std::pair<std::string, std::set<std::string>>> cold;
  std::set<std::string> cold_ids;
};

Fixture* StartFixture(bool implicit) {
  server::SetLogLevel(server::LogLevel::kError);
  const std::string root = absl::StrCat(
      ScratchDir(), implicit ? "/implicit-snapshots" : "/snapshots");
  if (implicit) {
    PublishTinyImplicitSnapshot(root, kFuzzColdItems);
  } else {
    PublishTinySnapshot(root, /*fold_in=*/true, kFuzzColdItems);
  }
  server::ServerOptions options;
  options.snapshot_dir = root;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "";
  options.poll_interval = absl::Hours(1);
  options.load.save_built_indexes = false;
  absl::StatusOr<std::unique_ptr<server::RecserveServer>> started =
      server::RecserveServer::Start(options);
  FUZZ_CHECK(started.ok());
  auto* f = new Fixture;
  f->server = *std::move(started);
  for (int i = 0; i < 3000 && f->server->models().Current() == nullptr; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  FUZZ_CHECK(f->server->models().Current() != nullptr);
  f->stub = v1::Recommender::NewStub(f->server->InProcessChannel());
  f->implicit = implicit;
  const Snapshot& snapshot = f->server->models().Current()->snapshot();
  FUZZ_CHECK(snapshot.num_cold_items() == kFuzzColdItems);
  f->num_items = snapshot.num_items();
  for (int32_t i = 0; i < snapshot.num_items(); ++i) {
    if (!snapshot.IsColdItem(i)) continue;
    std::set<std::string> labels;
    for (const int32_t label : snapshot.ItemLabels(i)) {
      labels.insert(snapshot.LabelName(label));
    }
    f->cold.emplace_back(snapshot.ItemId(i), std::move(labels));
    f->cold_ids.insert(snapshot.ItemId(i));
  }
  FUZZ_CHECK(static_cast<int32_t>(f->cold.size()) == kFuzzColdItems);
  return f;
}

Fixture& GetFixture(bool implicit) {
  static Fixture* const kExplicit = StartFixture(false);
  if (!implicit) return *kExplicit;
  static Fixture* const kImplicit = StartFixture(true);
  return *kImplicit;
}

// Client mistakes; anything else (INTERNAL, UNKNOWN, ...) is a server bug.
// `precondition`: FAILED_PRECONDITION is the answer's (PredictRating of an
// implicit snapshot).
void CheckStatus(const grpc::Status& status, bool precondition = false) {
  const grpc::StatusCode code = status.error_code();
  FUZZ_CHECK(code == grpc::StatusCode::OK ||
             code == grpc::StatusCode::INVALID_ARGUMENT ||
             code == grpc::StatusCode::NOT_FOUND ||
             (precondition && code == grpc::StatusCode::FAILED_PRECONDITION));
  FUZZ_CHECK(status.ok() || !status.error_message().empty());
}

// Checks the answer's size, ids and cold flags; returns how many items are
// cold.
int32_t CheckItems(
    const google::protobuf::RepeatedPtrField<v1::ScoredItem>& items,
    int32_t limit, const Fixture& f) {
  FUZZ_CHECK(items.size() <= limit);
  std::set<std::string> ids;
  int32_t cold = 0;
  for (const v1::ScoredItem& item : items) {
    FUZZ_CHECK(!item.item_id().empty());
    FUZZ_CHECK(ids.insert(item.item_id()).second);
    FUZZ_CHECK(item.cold() == (f.cold_ids.count(item.item_id()) > 0));
    cold += item.cold() ? 1 : 0;
  }
  return cold;
}

// Whether item `id` with `labels` passes `filter`.
bool Passes(const v1::ItemFilter& filter, const std::string& id,
            const std::set<std::string>& labels) {
  bool included = filter.include_labels().empty();
  for (const std::string& label : filter.include_labels()) {
    included = included || labels.count(label) > 0;
  }
  for (const std::string& label : filter.exclude_labels()) {
    if (labels.count(label) > 0) return false;
  }
  const std::set<std::string> allowed(filter.item_ids().begin(),
                                      filter.item_ids().end());
  return included && (allowed.empty() || allowed.count(id) > 0);
}

// Whether `item` passes `filter`, by the labels the server reported for it.
bool Passes(const v1::ItemFilter& filter, const v1::ScoredItem& item) {
  return Passes(
      filter, item.item_id(),
      std::set<std::string>(item.labels().begin(), item.labels().end()));
}

bool Finite(const v1::Explanation& e) {
  for (const double v :
       {e.global_mean(), e.user_bias(), e.item_bias(), e.interaction(),
        e.retrieval_score(), e.blend_weight()}) {
    if (!std::isfinite(v)) return false;
  }
  for (const v1::Contribution& c : e.because()) {
    if (!std::isfinite(c.share()) || c.item_id().empty()) return false;
  }
  return e.because_size() <= 10;
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

void CheckRequest(const uint8_t* data, size_t size) {
  if (size < 1) return;
  Fixture& f = GetFixture((data[0] / 4) % 2 == 1);
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: {
      v1::RecommendRequest request;
      if (!request.ParseFromString(bytes)) return;
      v1::RecommendResponse response;
      const grpc::Status status =
          f.stub->Recommend(Context().get(), request, &response);
      CheckStatus(status);
      if (!status.ok()) return;
      const int32_t cold = CheckItems(response.items(), request.n(), f);
      FUZZ_CHECK(request.cold_items() >= 0 &&
                 request.cold_items() <= request.n());
      const std::set<std::string> excluded(request.exclude_item_ids().begin(),
                                           request.exclude_item_ids().end());
      std::set<std::string> recent;
      for (const v1::Interaction& r : request.recent())
        recent.insert(r.item_id());
      for (const v1::ScoredItem& item : response.items()) {
        FUZZ_CHECK(excluded.count(item.item_id()) == 0);
        FUZZ_CHECK(request.include_seen() || recent.count(item.item_id()) == 0);
        FUZZ_CHECK(std::isfinite(item.predicted_rating()));
        FUZZ_CHECK(!f.implicit || item.predicted_rating() == 0.0);
        FUZZ_CHECK(Passes(request.filter(), item));
        FUZZ_CHECK(request.explain() || !item.has_explanation());
        FUZZ_CHECK(Finite(item.explanation()));
      }
      FUZZ_CHECK(!response.folded_in() || !request.recent().empty());
      FUZZ_CHECK(response.recent_unknown() >= 0 &&
                 response.recent_unknown() <= request.recent_size());
      FUZZ_CHECK(!(response.folded_in() && response.fallback()));
      // Reserved slots: every allowed, unremoved cold item competes for
      // them, so they are filled up to that many.
      int32_t available = 0;
      for (const auto& [id, labels] : f.cold) {
        available += Passes(request.filter(), id, labels) &&
                             excluded.count(id) == 0 &&
                             (request.include_seen() || recent.count(id) == 0)
                         ? 1
                         : 0;
      }
      FUZZ_CHECK(cold >= std::min(request.cold_items(), available));
      FUZZ_CHECK(!response.model_version().empty());
      break;
    }
    case 1: {
      v1::SimilarItemsRequest request;
      if (!request.ParseFromString(bytes)) return;
      v1::SimilarItemsResponse response;
      const grpc::Status status =
          f.stub->SimilarItems(Context().get(), request, &response);
      CheckStatus(status);
      if (!status.ok()) return;
      CheckItems(response.items(), request.k(), f);
      std::set<std::string> seeds(request.item_ids().begin(),
                                  request.item_ids().end());
      seeds.insert(request.item_id());
      for (const v1::ScoredItem& item : response.items()) {
        FUZZ_CHECK(seeds.count(item.item_id()) == 0);
        FUZZ_CHECK(item.score() >= -1.0001 && item.score() <= 1.0001);
        FUZZ_CHECK(Passes(request.filter(), item));
        FUZZ_CHECK(!item.has_explanation());
      }
      break;
    }
    case 2: {
      v1::PredictRatingRequest request;
      if (!request.ParseFromString(bytes)) return;
      v1::PredictRatingResponse response;
      const grpc::Status status =
          f.stub->PredictRating(Context().get(), request, &response);
      CheckStatus(status, /*precondition=*/f.implicit);
      // An implicit snapshot predicts no ratings, whatever the request.
      FUZZ_CHECK(!f.implicit ||
                 status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
      if (!status.ok()) return;
      FUZZ_CHECK(std::isfinite(response.rating()));
      FUZZ_CHECK(response.rating() >= 1.0 && response.rating() <= 5.0);
      FUZZ_CHECK(!response.folded_in() || !request.recent().empty());
      FUZZ_CHECK(response.item_cold() ==
                 (f.cold_ids.count(request.item_id()) > 0));
      FUZZ_CHECK(!response.item_cold() || response.item_known());
      break;
    }
    default: {
      v1::GetModelInfoRequest request;
      if (!request.ParseFromString(bytes)) return;
      v1::ModelInfo response;
      const grpc::Status status =
          f.stub->GetModelInfo(Context().get(), request, &response);
      FUZZ_CHECK(status.ok());
      FUZZ_CHECK(response.num_items() ==
                 (f.implicit ? 12 : 10) + kFuzzColdItems);
      FUZZ_CHECK(response.num_items() == f.num_items);
      FUZZ_CHECK(response.feedback() == (f.implicit ? "implicit" : "explicit"));
      FUZZ_CHECK(response.cold_items() == kFuzzColdItems);
      break;
    }
  }
}

}  // namespace
}  // namespace recserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recserve::fuzz::CheckRequest(data, size);
  return 0;
}
