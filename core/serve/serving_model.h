#ifndef RECSERVE_CORE_SERVE_SERVING_MODEL_H_
#define RECSERVE_CORE_SERVE_SERVING_MODEL_H_

// What the server answers requests with: one loaded snapshot and its two
// HNSW item indexes, behind the operations of the API (proto/recserve/v1),
// with the validation of their arguments. No gRPC here: the server maps
// these Status codes to gRPC's.
//
// Recommend runs the two stages of two_stage_ranker.h, the way the trainer
// evaluated them:
//  1. retrieval: the `candidates` best items by the retrieval score (the
//     user's retrieval embedding · each item's, or the rating factors'
//     p_u·q_i in format-1 snapshots) among the items not removed (the user's
//     training items unless include_seen, and the exclusions). The best
//     candidates + removed items (so that removing never shrinks the pool)
//     come from a norm-ordered scan (norm_ordered_scan.h) when it proves them
//     exact within the model's norm_scan_items reads; otherwise from the
//     HNSW inner-product index merged with what the scan read. With exact,
//     by brute force over every item;
//  2. rerank: TwoStageRanker (the code TwoStageScorer runs offline) with the
//     snapshot's rating scale and blend weight; the top n.
// An unknown user gets the most popular unremoved items (training rating
// count, ties to the lower index), flagged as a fallback.
//
// What a request may ask is bounded by ServingLimits; how the server answers
// what a request leaves open (search breadth, exact retrieval, unknown ids)
// is its ServingPolicy. Both are the server's configuration, passed with
// each call.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/index/item_index.h"
#include "core/index/norm_ordered_scan.h"
#include "core/snapshot/snapshot.h"

namespace recserve {

// Items Recommend's norm-ordered scan reads at most, by default: 4 MB of
// 64-d vectors. Chosen so that the scan settles every request on the 1M-item
// catalogs of the serving benchmark (docs/benchmarks.md).
inline constexpr int32_t kDefaultNormScanItems = 16384;

// Bounds on what one request may ask; a request outside them is
// InvalidArgument, naming the field. The server sets them from flags.
struct ServingLimits {
  // n of Recommend and k of SimilarItems: 1..max_results. Default 1000.
  int32_t max_results = 1000;
  // Recommend's exclude_item_ids. Default 10,000.
  int32_t max_exclusions = 10'000;
  // User and item ids: 1..max_id_length bytes. Default 256.
  int32_t max_id_length = 256;
  // Recommend's candidates: 0 (the snapshot's pool, capped at this) to
  // max_candidates. Default 5,000.
  int32_t max_candidates = 5'000;
  // Recommend's ef: 0 (ServingPolicy::ef) to max_ef; also caps
  // ServingPolicy::ef for SimilarItems. Default 20,000.
  int32_t max_ef = 20'000;
};

// How the server answers what a request leaves open. The server sets it
// from flags.
struct ServingPolicy {
  // HNSW search breadth when a request does not set one; 0 = automatic:
  // twice the pool (Recommend) or the items asked for (SimilarItems), at
  // least 100. A search always uses at least the number of items it asks
  // for. Default 0.
  int32_t ef = 0;
  // Whether a request may ask for exact retrieval (else InvalidArgument).
  // Default true.
  bool allow_exact = true;
  // Unknown users (Recommend, PredictRating) and items (PredictRating) get
  // fallback answers; false makes them NotFound. Default true.
  bool fallbacks = true;
};

struct RecommendQuery {
  std::string user_id;
  int32_t n = 0;
  std::vector<std::string> exclude_item_ids;
  bool include_seen = false;
  bool exact = false;
  int32_t candidates = 0;  // 0 = the snapshot's
  int32_t ef = 0;          // 0 = ServingPolicy::ef
};

// How Recommend found its candidate pool.
enum class RetrievalPath {
  kNone,       // popularity fallback: no retrieval
  kExact,      // brute force over every item (RecommendQuery::exact)
  kNormScan,   // the norm-ordered scan proved its pool exact alone
  kHnswMerge,  // HNSW search merged with the scan's partial pool
};
const char* RetrievalPathName(RetrievalPath path);  // "none", "exact", ...

struct RecommendedItem {
  int32_t item = 0;
  // The rerank blend, or the training rating count for a fallback.
  float score = 0.0f;
  float predicted_rating = 0.0f;  // clamped to the rating scale
};

struct Recommendation {
  std::vector<RecommendedItem> items;  // best first, at most n
  bool fallback = false;               // unknown user: popularity
  int32_t candidates = 0;              // pool size asked of retrieval
  int32_t ef = 0;                      // HNSW breadth used; 0 if none
  int32_t items_scanned = 0;           // by the norm-ordered scan
  RetrievalPath retrieval_path = RetrievalPath::kNone;
  double retrieval_seconds = 0.0;
  double rerank_seconds = 0.0;
};

struct SimilarItem {
  int32_t item = 0;
  float similarity = 0.0f;  // cosine, in [-1, 1]
};

struct RatingPrediction {
  float rating = 0.0f;  // clamped to the rating scale
  bool user_known = false;
  bool item_known = false;
};

// Immutable: every method is const and may be called from any number of
// threads. Share as std::shared_ptr<const ServingModel>; it owns its
// snapshot reference and indexes, so a request holding one keeps all of
// them alive while the server swaps in a newer model.
class ServingModel final {
 public:
  // `retrieval` must index, in kInnerProduct space, the snapshot's item
  // embeddings (item factors without retrieval); `similarity` the same
  // vectors in kCosine space. Errors: InvalidArgument when an index does not
  // match (space, dimensions or size).
  // `checksum` identifies the snapshot content (SnapshotChecksum), for
  // reporting. `norm_scan_items`: how many items Recommend's norm-ordered
  // scan may read before it needs HNSW (0 = always HNSW); that many item
  // vectors are copied.
  static absl::StatusOr<std::shared_ptr<const ServingModel>> Create(
      std::shared_ptr<const Snapshot> snapshot,
      std::unique_ptr<ItemIndex> retrieval,
      std::unique_ptr<ItemIndex> similarity, std::string checksum = "",
      int32_t norm_scan_items = kDefaultNormScanItems);

  // Errors: InvalidArgument when user_id is empty or too long, n is outside
  // [1, max_results], there are too many exclusions, candidates or ef is
  // negative or above its maximum, or exact is asked for and the policy does
  // not allow it; NotFound for an unknown user without fallbacks. Each
  // message names the field.
  absl::StatusOr<Recommendation> Recommend(const RecommendQuery& query,
                                           const ServingLimits& limits,
                                           const ServingPolicy& policy) const;

  // The k items with the most similar embeddings (cosine), the item itself
  // left out. Errors: InvalidArgument for an empty or too long id or k
  // outside [1, max_results]; NotFound for an unknown item.
  absl::StatusOr<std::vector<SimilarItem>> SimilarItems(
      absl::string_view item_id, int32_t k, const ServingLimits& limits,
      const ServingPolicy& policy) const;

  // The clamped rating prediction; an unknown side contributes neither bias
  // nor factors. Errors: InvalidArgument for an empty or too long id;
  // NotFound for an unknown user or item without fallbacks.
  absl::StatusOr<RatingPrediction> PredictRating(
      absl::string_view user_id, absl::string_view item_id,
      const ServingLimits& limits, const ServingPolicy& policy) const;

  const Snapshot& snapshot() const { return *snapshot_; }
  const std::string& checksum() const { return checksum_; }
  // When Create made it.
  absl::Time created_at() const { return created_at_; }
  const ItemIndex& retrieval_index() const { return *retrieval_; }
  const ItemIndex& similarity_index() const { return *similarity_; }

  // The item vectors both indexes hold: the item embeddings, or the item
  // factors in snapshots without retrieval embeddings; and the user rows
  // retrieval queries with.
  Eigen::Map<const FactorMatrix> item_vectors() const;
  Eigen::Map<const FactorMatrix> user_vectors() const;

 private:
  ServingModel() = default;

  class RemovedItems;  // what a request drops, in serving_model.cc

  // The pool: up to `pool` (item, retrieval score) pairs, best first.
  // Sets out->ef (0 when HNSW was not searched) and out->items_scanned.
  absl::StatusOr<std::vector<ScoredItem>> Retrieve(int32_t user, int32_t pool,
                                                   const RemovedItems& removed,
                                                   bool exact, int32_t ef,
                                                   Recommendation* out) const;

  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<ItemIndex> retrieval_;
  std::unique_ptr<ItemIndex> similarity_;
  std::unique_ptr<NormOrderedScan> norm_scan_;  // over item_vectors()
  std::vector<int32_t> by_popularity_;          // items, most rated first
  std::string checksum_;
  absl::Time created_at_;
};

// Where the item vectors of a snapshot come from for indexing (see
// ServingModel::item_vectors).
Eigen::Map<const FactorMatrix> ItemVectorsOf(const Snapshot& snapshot);

}  // namespace recserve

#endif  // RECSERVE_CORE_SERVE_SERVING_MODEL_H_
