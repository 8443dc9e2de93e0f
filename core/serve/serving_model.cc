#include "core/serve/serving_model.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/base/top_k.h"
#include "core/model/two_stage_ranker.h"

namespace recserve {
namespace {

absl::Status CheckId(absl::string_view field, absl::string_view id,
                     const ServingLimits& limits) {
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  }
  if (static_cast<int64_t>(id.size()) > limits.max_id_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", id.size(), " bytes long; the maximum is ",
                     limits.max_id_length));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(absl::string_view field, int32_t value,
                        const ServingLimits& limits) {
  if (value < 1 || value > limits.max_results) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be in [1, ", limits.max_results, "], got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckRecommendQuery(const RecommendQuery& q,
                                 const ServingLimits& limits,
                                 const ServingPolicy& policy) {
  RETURN_IF_ERROR(CheckId("user_id", q.user_id, limits));
  RETURN_IF_ERROR(CheckCount("n", q.n, limits));
  if (static_cast<int64_t>(q.exclude_item_ids.size()) > limits.max_exclusions) {
    return absl::InvalidArgumentError(
        absl::StrCat("exclude_item_ids has ", q.exclude_item_ids.size(),
                     " ids; the maximum is ", limits.max_exclusions));
  }
  if (q.candidates < 0 || q.candidates > limits.max_candidates) {
    return absl::InvalidArgumentError(
        absl::StrCat("candidates must be in [0, ", limits.max_candidates,
                     "] (0 = the model's default), got ", q.candidates));
  }
  if (q.ef < 0 || q.ef > limits.max_ef) {
    return absl::InvalidArgumentError(
        absl::StrCat("ef must be in [0, ", limits.max_ef,
                     "] (0 = the server's default), got ", q.ef));
  }
  if (q.exact && !policy.allow_exact) {
    return absl::InvalidArgumentError(
        "exact retrieval is disabled on this server");
  }
  return absl::OkStatus();
}

absl::Status CheckIndex(const char* name, const ItemIndex* index,
                        IndexSpace space,
                        const Eigen::Map<const FactorMatrix>& vectors) {
  if (index == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(name, " index is missing"));
  }
  if (index->space() != space || index->size() != vectors.rows() ||
      index->dimensions() != vectors.cols()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " index (", IndexSpaceName(index->space()), ", ",
                     index->size(), " items x ", index->dimensions(),
                     ") does not match the snapshot (", IndexSpaceName(space),
                     ", ", vectors.rows(), " items x ", vectors.cols(), ")"));
  }
  return absl::OkStatus();
}

// The best `k` of both lists (which score an item alike), best first.
std::vector<ScoredItem> MergeNeighbors(std::vector<ScoredItem> a,
                                       const std::vector<ScoredItem>& b,
                                       int32_t k) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end(), RankingOrder());
  a.erase(std::unique(a.begin(), a.end(),
                      [](const ScoredItem& x, const ScoredItem& y) {
                        return x.item == y.item;
                      }),
          a.end());
  if (static_cast<int32_t>(a.size()) > k) a.resize(k);
  return a;
}

}  // namespace

const char* RetrievalPathName(RetrievalPath path) {
  switch (path) {
    case RetrievalPath::kNone:
      return "none";
    case RetrievalPath::kExact:
      return "exact";
    case RetrievalPath::kNormScan:
      return "norm_scan";
    case RetrievalPath::kHnswMerge:
      return "hnsw";
  }
  return "unknown";
}

Eigen::Map<const FactorMatrix> ItemVectorsOf(const Snapshot& snapshot) {
  return snapshot.has_retrieval() ? snapshot.item_embeddings()
                                  : snapshot.item_factors();
}

Eigen::Map<const FactorMatrix> ServingModel::item_vectors() const {
  return ItemVectorsOf(*snapshot_);
}

Eigen::Map<const FactorMatrix> ServingModel::user_vectors() const {
  return snapshot_->has_retrieval() ? snapshot_->user_embeddings()
                                    : snapshot_->user_factors();
}

absl::StatusOr<std::shared_ptr<const ServingModel>> ServingModel::Create(
    std::shared_ptr<const Snapshot> snapshot,
    std::unique_ptr<ItemIndex> retrieval, std::unique_ptr<ItemIndex> similarity,
    std::string checksum, int32_t norm_scan_items) {
  if (snapshot == nullptr) {
    return absl::InvalidArgumentError("no snapshot");
  }
  const Eigen::Map<const FactorMatrix> vectors = ItemVectorsOf(*snapshot);
  RETURN_IF_ERROR(CheckIndex("retrieval", retrieval.get(),
                             IndexSpace::kInnerProduct, vectors));
  RETURN_IF_ERROR(
      CheckIndex("similarity", similarity.get(), IndexSpace::kCosine, vectors));
  std::shared_ptr<ServingModel> model(new ServingModel());
  const absl::Span<const int32_t> popularity = snapshot->item_popularity();
  model->by_popularity_.resize(popularity.size());
  std::iota(model->by_popularity_.begin(), model->by_popularity_.end(), 0);
  std::sort(model->by_popularity_.begin(), model->by_popularity_.end(),
            [&](int32_t a, int32_t b) {
              return RanksAhead(popularity[a], a, popularity[b], b);
            });
  model->norm_scan_ =
      std::make_unique<NormOrderedScan>(vectors, norm_scan_items);
  model->snapshot_ = std::move(snapshot);
  model->retrieval_ = std::move(retrieval);
  model->similarity_ = std::move(similarity);
  model->checksum_ = std::move(checksum);
  model->created_at_ = absl::Now();
  return std::shared_ptr<const ServingModel>(std::move(model));
}

// The user's training items and the request's exclusions, as bits in a
// per-thread bitmap over the catalog: set on construction, cleared on
// destruction, so a request costs O(removed) and no allocation once the
// thread's bitmap has grown to the catalog. The scan asks about every row it
// keeps, which made binary searches over the seen items a visible share of
// Recommend's profile.
// One live object per thread (a second one, which nothing creates today,
// falls back to binary searches).
class ServingModel::RemovedItems {
 public:
  RemovedItems(int32_t num_items, absl::Span<const int32_t> seen,
               std::vector<int32_t> excluded)
      : seen_(seen), excluded_(std::move(excluded)) {
    std::sort(excluded_.begin(), excluded_.end());
    excluded_.erase(std::unique(excluded_.begin(), excluded_.end()),
                    excluded_.end());
    Bitmap& bitmap = ThreadBitmap();
    if (bitmap.in_use) return;
    bitmap.in_use = true;
    bits_ = &bitmap.bits;
    const size_t words = (static_cast<size_t>(num_items) + 63) / 64;
    if (bits_->size() < words) bits_->resize(words, 0);
    for (const int32_t i : seen_) Set(i);
    for (const int32_t i : excluded_) Set(i);
  }
  ~RemovedItems() {
    if (bits_ == nullptr) return;
    for (const int32_t i : seen_) (*bits_)[i >> 6] = 0;
    for (const int32_t i : excluded_) (*bits_)[i >> 6] = 0;
    ThreadBitmap().in_use = false;
  }
  RemovedItems(const RemovedItems&) = delete;
  RemovedItems& operator=(const RemovedItems&) = delete;

  bool contains(int32_t item) const {
    if (bits_ != nullptr) return ((*bits_)[item >> 6] >> (item & 63)) & 1;
    return std::binary_search(seen_.begin(), seen_.end(), item) ||
           std::binary_search(excluded_.begin(), excluded_.end(), item);
  }
  // At least the number of distinct items removed.
  size_t size() const { return seen_.size() + excluded_.size(); }

 private:
  struct Bitmap {
    std::vector<uint64_t> bits;
    bool in_use = false;
  };
  static Bitmap& ThreadBitmap() {
    thread_local Bitmap bitmap;
    return bitmap;
  }
  void Set(int32_t item) { (*bits_)[item >> 6] |= uint64_t{1} << (item & 63); }

  absl::Span<const int32_t> seen_;
  std::vector<int32_t> excluded_;
  std::vector<uint64_t>* bits_ = nullptr;  // the thread's, while held
};

absl::StatusOr<std::vector<ScoredItem>> ServingModel::Retrieve(
    int32_t user, int32_t pool, const RemovedItems& removed, bool exact,
    int32_t ef, Recommendation* out) const {
  const Eigen::Map<const FactorMatrix> users = user_vectors();
  const absl::Span<const float> query(users.row(user).data(), users.cols());
  const int32_t items = snapshot_->num_items();
  // Ask for enough that the removed items cannot shrink the pool.
  const int32_t wanted = static_cast<int32_t>(std::min<int64_t>(
      items,
      static_cast<int64_t>(pool) + static_cast<int64_t>(removed.size())));
  std::vector<ScoredItem> found;
  out->ef = 0;
  out->items_scanned = 0;
  if (exact) {
    out->retrieval_path = RetrievalPath::kExact;
    found = ExactNeighbors(item_vectors(), IndexSpace::kInnerProduct, query,
                           wanted);
  } else {
    out->retrieval_path = RetrievalPath::kNormScan;
    // The scan skips removed items itself, so it needs only the pool.
    NormScanResult scanned =
        norm_scan_->Top(query, std::min(pool, items),
                        [&](int32_t item) { return removed.contains(item); });
    out->items_scanned = scanned.items_read;
    found = std::move(scanned.top);
    if (!scanned.exact) {
      out->retrieval_path = RetrievalPath::kHnswMerge;
      out->ef = std::max(ef, wanted);
      ASSIGN_OR_RETURN(const std::vector<ScoredItem> searched,
                       retrieval_->Search(query, wanted, out->ef));
      found = MergeNeighbors(std::move(found), searched, wanted);
    }
  }
  std::vector<ScoredItem> kept;
  kept.reserve(std::min<size_t>(found.size(), pool));
  for (const ScoredItem& n : found) {
    if (static_cast<int32_t>(kept.size()) == pool) break;
    if (!removed.contains(n.item)) kept.push_back(n);
  }
  return kept;
}

absl::StatusOr<Recommendation> ServingModel::Recommend(
    const RecommendQuery& q, const ServingLimits& limits,
    const ServingPolicy& policy) const {
  RETURN_IF_ERROR(CheckRecommendQuery(q, limits, policy));
  const Snapshot& s = *snapshot_;
  const int32_t user = s.FindUser(q.user_id);
  if (user == kUnknownIndex && !policy.fallbacks) {
    return absl::NotFoundError(
        absl::StrCat("unknown user_id \"", q.user_id, "\""));
  }
  std::vector<int32_t> excluded;
  excluded.reserve(q.exclude_item_ids.size());
  for (const std::string& id : q.exclude_item_ids) {
    const int32_t item = s.FindItem(id);
    if (item != kUnknownIndex) excluded.push_back(item);
  }
  const RemovedItems removed(s.num_items(),
                             q.include_seen || user == kUnknownIndex
                                 ? absl::Span<const int32_t>()
                                 : s.SeenItems(user),
                             std::move(excluded));

  Recommendation out;
  if (user == kUnknownIndex) {
    out.fallback = true;
    const absl::Span<const int32_t> popularity = s.item_popularity();
    for (const int32_t item : by_popularity_) {
      if (static_cast<int32_t>(out.items.size()) == q.n) break;
      if (removed.contains(item)) continue;
      out.items.push_back({item, static_cast<float>(popularity[item]),
                           s.Predict(kUnknownIndex, item)});
    }
    return out;
  }

  const auto start = std::chrono::steady_clock::now();
  const int32_t pool = std::max(
      q.n, q.candidates > 0
               ? q.candidates
               : std::min(s.ranking().candidates, limits.max_candidates));
  int32_t ef = q.ef > 0 ? q.ef : policy.ef;
  if (ef <= 0) ef = std::max(100, 2 * pool);
  ASSIGN_OR_RETURN(const std::vector<ScoredItem> candidates,
                   Retrieve(user, pool, removed, q.exact, ef, &out));
  out.candidates = pool;
  out.retrieval_seconds = SecondsSince(start);

  const auto rerank_start = std::chrono::steady_clock::now();
  const TwoStageRanker ranker(s.rating_scale(), s.ranking().blend_weight);
  const std::vector<RankedItem> ranked = ranker.Rank(
      candidates, [&](int32_t item) { return s.Score(user, item); }, q.n);
  out.items.reserve(ranked.size());
  for (const RankedItem& r : ranked) {
    out.items.push_back(
        {r.item, r.score, s.rating_scale().Clamp(r.rating_score)});
  }
  out.rerank_seconds = SecondsSince(rerank_start);
  return out;
}

absl::StatusOr<std::vector<SimilarItem>> ServingModel::SimilarItems(
    absl::string_view item_id, int32_t k, const ServingLimits& limits,
    const ServingPolicy& policy) const {
  RETURN_IF_ERROR(CheckId("item_id", item_id, limits));
  RETURN_IF_ERROR(CheckCount("k", k, limits));
  const int32_t item = snapshot_->FindItem(item_id);
  if (item == kUnknownIndex) {
    return absl::NotFoundError(
        absl::StrCat("unknown item_id \"", item_id, "\""));
  }
  const Eigen::Map<const FactorMatrix> vectors = item_vectors();
  const absl::Span<const float> query(vectors.row(item).data(), vectors.cols());
  const int32_t wanted = std::min(k + 1, snapshot_->num_items());
  int32_t ef = policy.ef > 0 ? policy.ef : std::max(100, 2 * wanted);
  ef = std::min(std::max(ef, wanted), std::max(limits.max_ef, wanted));
  ASSIGN_OR_RETURN(const std::vector<ScoredItem> found,
                   similarity_->Search(query, wanted, ef));
  std::vector<SimilarItem> out;
  out.reserve(k);
  for (const ScoredItem& n : found) {
    if (n.item == item) continue;
    if (static_cast<int32_t>(out.size()) == k) break;
    out.push_back({n.item, n.score});
  }
  return out;
}

absl::StatusOr<RatingPrediction> ServingModel::PredictRating(
    absl::string_view user_id, absl::string_view item_id,
    const ServingLimits& limits, const ServingPolicy& policy) const {
  RETURN_IF_ERROR(CheckId("user_id", user_id, limits));
  RETURN_IF_ERROR(CheckId("item_id", item_id, limits));
  const int32_t user = snapshot_->FindUser(user_id);
  const int32_t item = snapshot_->FindItem(item_id);
  if (!policy.fallbacks) {
    if (user == kUnknownIndex) {
      return absl::NotFoundError(
          absl::StrCat("unknown user_id \"", user_id, "\""));
    }
    if (item == kUnknownIndex) {
      return absl::NotFoundError(
          absl::StrCat("unknown item_id \"", item_id, "\""));
    }
  }
  RatingPrediction out;
  out.user_known = user != kUnknownIndex;
  out.item_known = item != kUnknownIndex;
  out.rating = snapshot_->Predict(user, item);
  return out;
}

}  // namespace recserve
