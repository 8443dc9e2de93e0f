#ifndef RECSERVE_CLIENT_REQUEST_POOL_H_
#define RECSERVE_CLIENT_REQUEST_POOL_H_

// The requests recserve-bench sends: serialized once, before the run, so
// that the load generator spends its time on gRPC, not on building messages.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recserve::client {

enum class LoadMethod { kRecommend, kSimilarItems, kPredictRating, kHealth };
inline constexpr int kNumLoadMethods = 4;

// "Recommend", "SimilarItems", "PredictRating", "Health".
const char* LoadMethodName(LoadMethod method);
// The gRPC path, e.g. "/recserve.v1.Recommender/Recommend".
const char* LoadMethodPath(LoadMethod method);

// Ids to draw from, most popular first (items by training ratings, users
// by how many items they rated), as in a snapshot.
struct IdLists {
  std::vector<std::string> users;
  std::vector<std::string> items;
  // The snapshot's rating scale, for the ratings of recent interactions;
  // equal bounds: those interactions are unrated.
  double rating_min = 0;
  double rating_max = 0;
  // A snapshot trained on events: the event types it knows (weights and
  // negative ones, sorted), for the events of recent interactions; empty for
  // a snapshot of ratings.
  std::vector<std::string> events;
};

// Reads the latest snapshot under `snapshot_dir` (its LATEST version).
// Errors: those of loading the snapshot.
absl::StatusOr<IdLists> LoadIdLists(const std::string& snapshot_dir);

enum class IdDistribution {
  kUniform,
  // Rank r (0 = most popular) drawn with probability ∝ 1 / (r + 1)^s.
  kZipf,
};

struct RequestPoolOptions {
  // Relative weights of the methods; at least one positive.
  double weights[kNumLoadMethods] = {1, 0, 0, 0};
  IdDistribution distribution = IdDistribution::kUniform;
  double zipf_exponent = 1.0;
  int32_t n = 10;  // Recommend n
  int32_t k = 10;  // SimilarItems k
  // Distinct requests prepared; the run cycles through them.
  int32_t size = 10'000;
  // Personalization: this share (in [0, 1]) of the Recommend, SimilarItems
  // and PredictRating requests is personalized. Default 0.
  double personalized_share = 0;
  // A personalized Recommend or PredictRating carries this many recent
  // interactions (items drawn like SimilarItems' seeds, whole-number
  // ratings drawn uniformly on the scale, or with events: an event type
  // drawn uniformly from recent_events and no rating), folded in by the
  // server. Default 0.
  int32_t recent_items = 0;
  // Event types for recent interactions (snapshots trained on events);
  // empty: IdLists::events. Default empty.
  std::vector<std::string> recent_events;
  // A personalized Recommend or SimilarItems filters to these labels
  // (include_labels); empty: no filter. They must be labels of the
  // snapshot, else the server answers INVALID_ARGUMENT.
  std::vector<std::string> filter_labels;
  uint64_t seed = 1;
};

struct PreparedRequest {
  LoadMethod method;
  std::string payload;  // the serialized request message
};

// Errors: InvalidArgument for no positive weight, a negative weight, size
// < 1, ids missing for a method that needs them (users for Recommend and
// PredictRating, items for SimilarItems and PredictRating and recent
// interactions), a personalized share outside [0, 1], negative
// recent_items, or a positive share with nothing to personalize (neither
// recent_items nor filter_labels).
absl::StatusOr<std::vector<PreparedRequest>> BuildRequestPool(
    const IdLists& ids, const RequestPoolOptions& options);

// Parses "recommend=8,similar=1,predict=1,health=0" (any subset; names
// may also be the method names) into weights. Errors: InvalidArgument
// naming the bad entry.
absl::Status ParseMix(absl::string_view mix,
                      double (&weights)[kNumLoadMethods]);

}  // namespace recserve::client

#endif  // RECSERVE_CLIENT_REQUEST_POOL_H_
