// ServingModel's retrieval stage: the candidate pool of Recommend, with or
// without a filter, and the filtered search SimilarItems shares.

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/base/status_macros.h"
#include "core/base/top_k.h"
#include "core/serve/item_filter.h"
#include "core/serve/removed_items.h"
#include "core/serve/serving_model.h"

namespace recserve {
namespace {

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

int64_t ServingModel::AllowedBound(const ResolvedFilter& filter) const {
  const int64_t items = snapshot_->num_items();
  if (!filter.active()) return items;
  if (filter.has_allow_list()) {
    return static_cast<int64_t>(filter.allow_list().size());
  }
  if (label_lists_ == nullptr) return items;
  if (!filter.include_labels().empty()) {
    int64_t sum = 0;
    for (const int32_t label : filter.include_labels()) {
      sum += static_cast<int64_t>(label_lists_->List(label).size());
    }
    return std::min(sum, items);
  }
  int64_t most_excluded = 0;
  for (const int32_t label : filter.exclude_labels()) {
    most_excluded = std::max(
        most_excluded, static_cast<int64_t>(label_lists_->List(label).size()));
  }
  return items - most_excluded;
}

std::vector<int32_t> ServingModel::AllowedItems(
    const ResolvedFilter& filter,
    absl::FunctionRef<bool(int32_t)> removed) const {
  std::vector<int32_t> rows;
  const auto offer = [&](int32_t item) {
    if (!removed(item) && filter.Allows(item)) rows.push_back(item);
  };
  if (filter.has_allow_list()) {
    for (const int32_t item : filter.allow_list()) offer(item);
  } else if (!filter.include_labels().empty() && label_lists_ != nullptr) {
    for (const int32_t label : filter.include_labels()) {
      for (const int32_t item : label_lists_->List(label)) offer(item);
    }
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  } else {
    for (int32_t item = 0; item < snapshot_->num_items(); ++item) offer(item);
  }
  return rows;
}

absl::StatusOr<std::vector<ScoredItem>> ServingModel::SearchPassing(
    const ItemIndex& index, IndexSpace space, absl::Span<const float> query,
    int32_t wanted, int32_t ef, double fraction, const ResolvedFilter& filter,
    absl::FunctionRef<bool(int32_t)> removed, int64_t removed_count,
    std::vector<ScoredItem> partial, int32_t* ef_used) const {
  const int64_t items = index.size();
  // Enough that `wanted` allowed items are likely among the results, with a
  // margin; then four times more, twice; then every allowed item scored.
  const double share = std::max(fraction, 1.0 / static_cast<double>(items));
  int64_t ask = std::min<int64_t>(
      items, static_cast<int64_t>(std::ceil(
                 static_cast<double>(wanted + removed_count) / share * 1.25)) +
                 1);
  // Asking for the whole catalog: the graph may not reach every item, and
  // scoring the allowed ones is exact and cheaper.
  for (int round = 0; round < 3 && ask < items; ++round) {
    *ef_used = std::max<int32_t>(ef, static_cast<int32_t>(ask));
    ASSIGN_OR_RETURN(const std::vector<ScoredItem> found,
                     index.Search(query, static_cast<int32_t>(ask), *ef_used));
    std::vector<ScoredItem> passing;
    passing.reserve(std::min<size_t>(found.size(), wanted));
    for (const ScoredItem& f : found) {
      if (!removed(f.item) && filter.Allows(f.item)) passing.push_back(f);
    }
    passing = MergeNeighbors(passing, partial, wanted);
    if (static_cast<int32_t>(passing.size()) >= wanted) return passing;
    ask = std::min<int64_t>(items, ask * 4);
  }
  const std::vector<int32_t> rows = AllowedItems(filter, removed);
  const Eigen::Map<const FactorMatrix> vectors = item_vectors();
  return ExactNeighborsAmong(vectors, space, query, rows, wanted);
}

absl::StatusOr<std::vector<ScoredItem>> ServingModel::RetrieveCold(
    absl::Span<const float> query, int32_t m, const RemovedItems& removed,
    const ResolvedFilter& filter, int32_t ef) const {
  const Snapshot& s = *snapshot_;
  const int32_t first = s.first_cold_item();
  const int32_t items = s.num_items();
  if (m <= 0 || first >= items) return std::vector<ScoredItem>();
  const auto passes = [&](int32_t item) {
    return !removed.contains(item) && filter.Allows(item);
  };
  std::vector<int32_t> rows;
  if (filter.has_allow_list()) {
    const std::vector<int32_t>& allowed = filter.allow_list();
    for (auto it = std::lower_bound(allowed.begin(), allowed.end(), first);
         it != allowed.end(); ++it) {
      if (passes(*it)) rows.push_back(*it);
    }
  } else if (items - first <= kExactColdItems) {
    rows.reserve(items - first);
    for (int32_t item = first; item < items; ++item) {
      if (passes(item)) rows.push_back(item);
    }
  } else {
    // Many cold items: HNSW, keeping cold items only.
    const auto dropped = [&](int32_t item) {
      return item < first || removed.contains(item);
    };
    const double fraction = static_cast<double>(items - first) / items *
                            static_cast<double>(AllowedBound(filter)) / items;
    int32_t ef_used = 0;
    return SearchPassing(*retrieval_, IndexSpace::kInnerProduct, query, m, ef,
                         fraction, filter, dropped,
                         static_cast<int64_t>(removed.size()), {}, &ef_used);
  }
  return ExactNeighborsAmong(item_vectors(), IndexSpace::kInnerProduct, query,
                             rows, m);
}

absl::StatusOr<std::vector<ScoredItem>> ServingModel::Retrieve(
    absl::Span<const float> query, int32_t pool, const RemovedItems& removed,
    const ResolvedFilter& filter, bool exact, int32_t ef,
    Recommendation* out) const {
  const int32_t items = snapshot_->num_items();
  // Ask for enough that the removed items cannot shrink the pool.
  const int32_t wanted = static_cast<int32_t>(std::min<int64_t>(
      items,
      static_cast<int64_t>(pool) + static_cast<int64_t>(removed.size())));
  const auto is_removed = [&](int32_t item) { return removed.contains(item); };
  const auto is_dropped = [&](int32_t item) {
    return removed.contains(item) || !filter.Allows(item);
  };
  std::vector<ScoredItem> found;
  out->ef = 0;
  out->items_scanned = 0;
  if (filter.active()) {
    const int64_t bound = AllowedBound(filter);
    if (exact || filter.has_allow_list()) {
      out->retrieval_path =
          exact ? RetrievalPath::kExact : RetrievalPath::kAllowedScan;
      const std::vector<int32_t> rows = AllowedItems(filter, is_removed);
      out->items_scanned = static_cast<int32_t>(rows.size());
      return ExactNeighborsAmong(item_vectors(), IndexSpace::kInnerProduct,
                                 query, rows, pool);
    }
    std::vector<ScoredItem> partial;
    if (!filter.include_labels().empty() && label_lists_ != nullptr) {
      out->retrieval_path = RetrievalPath::kLabelScan;
      bool settled = true;
      for (const int32_t label : filter.include_labels()) {
        NormScanResult scanned =
            label_lists_->Top(label, query, pool, is_dropped);
        out->items_scanned += scanned.items_read;
        settled &= scanned.exact;
        partial = MergeNeighbors(std::move(partial), scanned.top, pool);
      }
      if (settled) return partial;
    } else {
      out->retrieval_path = RetrievalPath::kNormScan;
      NormScanResult scanned =
          norm_scan_->Top(query, std::min(pool, items), is_dropped);
      out->items_scanned = scanned.items_read;
      if (scanned.exact) return std::move(scanned.top);
      partial = std::move(scanned.top);
    }
    out->retrieval_path = RetrievalPath::kHnswMerge;
    return SearchPassing(*retrieval_, IndexSpace::kInnerProduct, query, pool,
                         ef, static_cast<double>(bound) / items, filter,
                         is_removed, static_cast<int64_t>(removed.size()),
                         std::move(partial), &out->ef);
  }
  if (exact) {
    out->retrieval_path = RetrievalPath::kExact;
    found = ExactNeighbors(item_vectors(), IndexSpace::kInnerProduct, query,
                           wanted);
  } else {
    out->retrieval_path = RetrievalPath::kNormScan;
    // The scan skips removed items itself, so it needs only the pool.
    NormScanResult scanned =
        norm_scan_->Top(query, std::min(pool, items), is_removed);
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

}  // namespace recserve
