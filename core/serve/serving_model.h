#ifndef RECSERVE_CORE_SERVE_SERVING_MODEL_H_
#define RECSERVE_CORE_SERVE_SERVING_MODEL_H_

// What the server answers requests with: one loaded snapshot and its two
// HNSW item indexes, behind the operations of the API (proto/recserve/v1),
// with the validation of their arguments. No gRPC here: the server maps
// these Status codes to gRPC's.
//
// Recommend runs the two stages of two_stage_ranker.h, the way the trainer
// evaluated them, with the user's stored vectors or, given recent
// interactions, vectors folded in from them at request time (UserFoldIn;
// nothing is stored, so every replica answers alike):
//  1. retrieval: the `candidates` best items by the retrieval score (the
//     user's retrieval embedding · each item's, or the rating factors'
//     p_u·q_i in format-1 snapshots) among the items not removed (the user's
//     training and recent items unless include_seen, and the exclusions) and
//     allowed by the request's filter (see Recommend for how). The best
//     candidates + removed items (so that removing never shrinks the pool)
//     come from a norm-ordered scan (norm_ordered_scan.h) when it proves them
//     exact within the model's norm_scan_items reads; otherwise from the
//     HNSW inner-product index merged with what the scan read. With exact,
//     by brute force over every item;
//  2. rerank: TwoStageRanker (the code TwoStageScorer runs offline) with the
//     snapshot's rating scale and blend weight; the top n.
// An unknown user without known recent items gets the most popular
// unremoved, allowed items (training rating count, ties to the lower index;
// implicit feedback: users with a positive interaction), flagged as a
// fallback.
//
// A snapshot with an item-item model (Snapshot::has_item_item) retrieves
// with it instead: every item the request allows is scored from the user's
// history (training items in the snapshot's seen order, then the recent
// ones; item_item_model.h), exactly and in O(history × items), so neither
// exact nor ef changes anything and a folded-in user is exactly a trained
// one with the same interactions (an item once, at its latest time). A
// history with no item the model has weights for (only cold items, or no
// positive rating) is retrieved by the embeddings as above instead.
// Reserved cold slots are found by the embeddings as above and join the
// pool at their item-item score (0: they have no interactions).
//
// A snapshot of implicit feedback (events; Snapshot::feedback) has no rating
// model: Recommend skips stage 2 and returns the n best items of stage 1 by
// retrieval score, PredictRating is FailedPrecondition, and recent
// interactions carry event types (weighted as the snapshot's "events" say)
// instead of ratings.
//
// Cold items (Snapshot::IsColdItem: the last num_cold_items() items, held
// without interactions, their vectors mapped from their attributes) are in
// both indexes and compete like any other item; results mark them.
// RecommendQuery::cold_items reserves slots for them (see Recommend).
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
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/index/item_index.h"
#include "core/index/norm_ordered_lists.h"
#include "core/index/norm_ordered_scan.h"
#include "core/model/item_item_model.h"
#include "core/model/user_fold_in.h"
#include "core/snapshot/snapshot.h"

namespace recserve {

// Items Recommend's norm-ordered scan reads at most, by default: 4 MB of
// 64-d vectors. Chosen so that the scan settles every request on the 1M-item
// catalogs of the serving benchmark (docs/benchmarks.md).
inline constexpr int32_t kDefaultNormScanItems = 16384;

// A filtered SimilarItems scores the allowed items one by one when there
// are at most this many of them, and searches HNSW with over-fetch above.
// Chosen by measurement (docs/benchmarks.md).
inline constexpr int32_t kExactAllowedItems = 4096;

// Recommend's cold_items scores every cold item when the snapshot holds at
// most this many (a contiguous range of item vectors, read once), and
// searches HNSW restricted to them above.
inline constexpr int32_t kExactColdItems = 65536;

// PredictRating's FailedPrecondition message for implicit feedback.
inline constexpr char kPredictsNoRatingsMessage[] =
    "this snapshot was trained on events (implicit feedback): it ranks items "
    "by preference and predicts no ratings; use Recommend";

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
  // Recommend's and PredictRating's recent interactions. Default 500.
  int32_t max_recent = 500;
  // A filter's include_labels and exclude_labels together. Default 1,000.
  int32_t max_filter_labels = 1'000;
  // A filter's item_ids. Default 10,000.
  int32_t max_filter_items = 10'000;
  // SimilarItems' seed items. Default 100.
  int32_t max_seeds = 100;
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

// One interaction of a request (proto Interaction): an external item id, a
// rating on the snapshot's scale (0 = unrated) and a confidence multiplier
// (0 = 1); for implicit-feedback snapshots instead of a rating an event type
// ("" = a plain positive interaction). Checked by the operations
// (CheckRecent, request_checks.h): finite, rating 0 or on the scale (always 0
// for implicit feedback), weight >= 0, event empty for explicit feedback and
// a known type for implicit.
//
// How it counts for implicit feedback: strength = the event's weight
// (EventWeights, 1 for "") · weight (0 = 1), negative (preference 0) when
// the event is a negative type; a known user's training cells count with
// their stored signed values (user_fold_in.h).
//
// Order: a request's recent interactions are in the order they happened,
// oldest first, and all after the user's training interactions. A snapshot
// trained with recency-weighted confidence (fold_in.retrieval.recency_weight
// > 0) weighs them by that order, as training weighed each user's
// interactions by time: the training ones ranked by the snapshot's seen
// order (Snapshot::SeenLater) behind every recent one, the recent ones by
// position (the last is the latest).
struct RecentInteraction {
  std::string item_id;
  double rating = 0.0;
  double weight = 0.0;
  std::string event;
};

// Which items may be returned (proto ItemFilter): at least one of
// include_labels (when any), none of exclude_labels, and among item_ids
// (when any; unknown ids ignored). Unknown labels are InvalidArgument.
struct ItemFilterSpec {
  std::vector<std::string> include_labels;
  std::vector<std::string> exclude_labels;
  std::vector<std::string> item_ids;

  bool empty() const {
    return include_labels.empty() && exclude_labels.empty() && item_ids.empty();
  }
};

struct RecommendQuery {
  std::string user_id;
  int32_t n = 0;
  std::vector<std::string> exclude_item_ids;
  bool include_seen = false;
  bool exact = false;
  int32_t candidates = 0;  // 0 = the snapshot's; unused without rerank
  int32_t ef = 0;          // 0 = ServingPolicy::ef
  // Folded in (see user_fold_in.h), oldest first (RecentInteraction); they
  // count as seen.
  std::vector<RecentInteraction> recent;
  ItemFilterSpec filter;
  bool explain = false;
  // Reserve up to this many of the n slots for cold items, in [0, n]
  // (InvalidArgument outside); 0 = no reservation. See Recommend.
  int32_t cold_items = 0;
};

// How Recommend found its candidate pool.
enum class RetrievalPath {
  kNone,         // popularity fallback: no retrieval
  kExact,        // brute force over every item (RecommendQuery::exact)
  kNormScan,     // the norm-ordered scan proved its pool exact alone
  kHnswMerge,    // HNSW search merged with the scan's partial pool
  kAllowedScan,  // a filter's allow-list, each item scored
  kLabelScan,    // norm-ordered scans of the included labels' items
  kItemItem,     // the item-item model: every allowed item scored
};
const char* RetrievalPathName(RetrievalPath path);  // "none", "exact", ...

// One of the user's interactions and its share of a retrieval score.
struct Contribution {
  int32_t item = 0;
  float share = 0.0f;
};

// The terms of a recommended item's scores (proto Explanation). Implicit
// feedback: retrieval_score and because only (no rating model terms).
struct ItemExplanation {
  float global_mean = 0.0f;
  float user_bias = 0.0f;
  float item_bias = 0.0f;
  float interaction = 0.0f;  // p_u · q_i
  float retrieval_score = 0.0f;
  float blend_weight = 0.0f;
  // The user's interactions with the largest shares (signed: an item can
  // pull the score down), largest first, at most kMaxContributions; the
  // shares of all of them sum to retrieval_score (UserFoldIn::Explain). An
  // item both trained on and recent appears once, with both terms. Empty
  // when the snapshot cannot fold in, and for fallbacks.
  std::vector<Contribution> because;
};
inline constexpr int32_t kMaxContributions = 10;

struct RecommendedItem {
  int32_t item = 0;
  // The rerank blend, or the training rating count for a fallback; implicit
  // feedback: the retrieval score.
  float score = 0.0f;
  // Snapshot::Rate of the rating score; 0 for implicit feedback.
  float predicted_rating = 0.0f;
  bool cold = false;            // Snapshot::IsColdItem
  ItemExplanation explanation;  // filled when the query asked to explain
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
  bool folded_in = false;      // the user's vectors came from recent
  int32_t recent_unknown = 0;  // recent interactions with unknown items
  bool filtered = false;       // the query had a non-empty filter
  // The share of the catalog the filter lets through (1 when unfiltered).
  double allowed_fraction = 1.0;
  bool explained = false;     // items carry explanations
  int32_t cold_returned = 0;  // items that are cold
};

struct SimilarItemsQuery {
  // One or more seeds; unknown ones are skipped (all unknown: NotFound).
  std::vector<std::string> item_ids;
  int32_t k = 0;
  ItemFilterSpec filter;
};

struct SimilarItem {
  int32_t item = 0;
  float similarity = 0.0f;  // cosine, in [-1, 1]
  bool cold = false;        // Snapshot::IsColdItem
};

struct SimilarItemsResult {
  std::vector<SimilarItem> items;  // most similar first, at most k
  bool filtered = false;
  double allowed_fraction = 1.0;
};

struct PredictQuery {
  std::string user_id;
  std::string item_id;
  std::vector<RecentInteraction> recent;
};

struct RatingPrediction {
  float rating = 0.0f;  // Snapshot::Rate of the score
  bool user_known = false;
  bool item_known = false;
  // The item is cold: known, its factors and bias mapped from attributes.
  bool item_cold = false;
  bool folded_in = false;      // the user's vector came from recent
  int32_t recent_unknown = 0;  // recent interactions with unknown items
};

// Immutable: every method is const and may be called from any number of
// threads. Share as std::shared_ptr<const ServingModel>; it owns its
// snapshot reference and indexes, so a request holding one keeps all of
// them alive while the server swaps in a newer model.
class ResolvedFilter;  // item_filter.h
class RemovedItems;    // removed_items.h

class ServingModel final {
 public:
  // `retrieval` must index, in kInnerProduct space, the snapshot's item
  // embeddings (item factors without retrieval); `similarity` the same
  // vectors in kCosine space. Errors: InvalidArgument when an index does not
  // match (space, dimensions or size).
  // `checksum` identifies the snapshot content (SnapshotChecksum), for
  // reporting. `norm_scan_items`: how many items Recommend's norm-ordered
  // scan may read before it needs HNSW (0 = always HNSW); that many item
  // vectors are copied, and as many of each label's items (all of a label
  // with fewer), for filters.
  static absl::StatusOr<std::shared_ptr<const ServingModel>> Create(
      std::shared_ptr<const Snapshot> snapshot,
      std::unique_ptr<ItemIndex> retrieval,
      std::unique_ptr<ItemIndex> similarity, std::string checksum = "",
      int32_t norm_scan_items = kDefaultNormScanItems);

  // Errors: InvalidArgument when user_id is empty or too long, n is outside
  // [1, max_results], there are too many exclusions, candidates or ef is
  // negative or above its maximum, exact is asked for and the policy does
  // not allow it, recent is too long or holds a bad rating or weight, or the
  // filter names an unknown label or is too long; FailedPrecondition for
  // recent interactions when the snapshot cannot fold in (no fold-in
  // parameters); NotFound for an unknown user without fallbacks (and
  // without known recent items). Each message names the field.
  //
  // With recent interactions whose items the snapshot knows, the user's
  // vectors are folded in from them plus the user's training interactions
  // (UserFoldIn) and retrieval queries with them; otherwise a known user's
  // stored vectors serve. A filter restricts retrieval itself: the pool is
  // the best allowed items, found by scoring each item of an allow-list, by
  // norm-ordered scans of the included labels' own item lists, or by the
  // catalog's norm-ordered scan skipping rejected items (exclusions alone);
  // when a scan cannot prove its pool within the norm-scan budget, by HNSW
  // with over-fetch merged with it (and every allowed item scored if HNSW
  // cannot find enough of them).
  //
  // Cold items: with cold_items = m > 0, the m cold items (fewer when fewer
  // pass the filter and are not removed) with the highest retrieval score
  // (every allowed cold item scored when there are at most
  // kExactColdItems cold items, else HNSW restricted to them) join the
  // rerank pool; the answer is the best m cold items of the pool by the
  // final score plus the best n - (their count) of the rest (cold or not),
  // ordered by the final score. Implicit feedback: the same by retrieval
  // score. A popularity fallback reserves its m slots for the allowed,
  // unremoved cold items of the highest indices (they have no ratings to
  // rank by; add-items appends, so these are the most recently added),
  // after the popular items.
  absl::StatusOr<Recommendation> Recommend(const RecommendQuery& query,
                                           const ServingLimits& limits,
                                           const ServingPolicy& policy) const;

  // The k items whose embeddings are most similar (cosine) to the seeds' (the
  // mean of their unit vectors), the seeds left out, among the items the
  // filter allows. Errors: InvalidArgument for no seeds, an empty or too
  // long id, too many seeds, k outside [1, max_results] or a bad filter;
  // NotFound when no seed is known.
  absl::StatusOr<SimilarItemsResult> SimilarItems(
      const SimilarItemsQuery& query, const ServingLimits& limits,
      const ServingPolicy& policy) const;

  // The rating prediction (Snapshot::Rate of the score: clamped, or the
  // expected rating of an ordinal output); an unknown side contributes neither
  // bias nor factors. With known recent items, the user's factors and bias are
  // folded in (as in Recommend). Errors: FailedPrecondition for a snapshot
  // of implicit feedback (no rating model: kPredictsNoRatingsMessage);
  // InvalidArgument for an empty or too long id or bad recent interactions;
  // FailedPrecondition as in Recommend; NotFound for an unknown user
  // (without known recent items) or item without fallbacks.
  absl::StatusOr<RatingPrediction> PredictRating(
      const PredictQuery& query, const ServingLimits& limits,
      const ServingPolicy& policy) const;

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

  struct UserSide;  // a request's user vectors, in serving_model.cc

  // The user side a request ranks with: the stored vectors of a known user,
  // or vectors folded in from `recent` (and the user's training items).
  // Unknown recent items are counted in *recent_unknown. Sets
  // side->interactions when `keep_interactions` (explanations need them).
  absl::Status ResolveUser(int32_t user,
                           const std::vector<RecentInteraction>& recent,
                           bool keep_interactions, UserSide* side,
                           int32_t* recent_unknown) const;

  // serving_retrieval.cc:
  // The pool: up to `pool` (item, retrieval score) pairs, best first, among
  // the items neither removed nor filtered out. Sets out->ef (0 when HNSW
  // was not searched), out->items_scanned and out->retrieval_path.
  absl::StatusOr<std::vector<ScoredItem>> Retrieve(
      absl::Span<const float> query, int32_t pool, const RemovedItems& removed,
      const ResolvedFilter& filter, bool exact, int32_t ef,
      Recommendation* out) const;
  // The items `filter` allows and `removed` does not hold, every one; for
  // small allowed sets and exact retrieval.
  std::vector<int32_t> AllowedItems(
      const ResolvedFilter& filter,
      absl::FunctionRef<bool(int32_t)> removed) const;
  // An upper bound of the number of items the filter allows, cheap.
  int64_t AllowedBound(const ResolvedFilter& filter) const;
  // HNSW search of `index` for the best `wanted` items passing `keep`,
  // asking for more as long as too few pass, then scoring every allowed
  // item when the index cannot give enough. Merged with `partial`.
  absl::StatusOr<std::vector<ScoredItem>> SearchPassing(
      const ItemIndex& index, IndexSpace space, absl::Span<const float> query,
      int32_t wanted, int32_t ef, double fraction, const ResolvedFilter& filter,
      absl::FunctionRef<bool(int32_t)> removed, int64_t removed_count,
      std::vector<ScoredItem> partial, int32_t* ef_used) const;
  // The best `m` cold items by retrieval score, neither removed nor
  // filtered out, best first (fewer when fewer exist).
  absl::StatusOr<std::vector<ScoredItem>> RetrieveCold(
      absl::Span<const float> query, int32_t m, const RemovedItems& removed,
      const ResolvedFilter& filter, int32_t ef) const;
  // The user's history as the item-item model weighs it (positive
  // interactions only): the training items of a known user, then the known
  // recent items.
  WeightedHistory ItemItemHistory(const UserSide& side) const;
  // The best `pool` items by the item-item model among those neither removed
  // nor filtered out, best first. Sets out->retrieval_path.
  std::vector<ScoredItem> RetrieveItemItem(const WeightedHistory& history,
                                           int32_t pool,
                                           const RemovedItems& removed,
                                           const ResolvedFilter& filter,
                                           Recommendation* out) const;
  // `history`, when not null, explains the retrieval scores (the item-item
  // model's terms) instead of the fold-in.
  void Explain(const UserSide& side, absl::Span<const ScoredItem> pool,
               Recommendation* out,
               const WeightedHistory* history = nullptr) const;

  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<ItemIndex> retrieval_;
  std::unique_ptr<ItemIndex> similarity_;
  std::unique_ptr<NormOrderedScan> norm_scan_;  // over item_vectors()
  // Each label's items over item_vectors(); null without labels.
  std::unique_ptr<NormOrderedLists> label_lists_;
  // Null when the snapshot cannot fold users in.
  std::unique_ptr<UserFoldIn> fold_in_;
  std::vector<int32_t> by_popularity_;  // items, most rated first
  std::string checksum_;
  absl::Time created_at_;
};

// Where the item vectors of a snapshot come from for indexing (see
// ServingModel::item_vectors).
Eigen::Map<const FactorMatrix> ItemVectorsOf(const Snapshot& snapshot);

}  // namespace recserve

#endif  // RECSERVE_CORE_SERVE_SERVING_MODEL_H_
