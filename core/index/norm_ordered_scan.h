#ifndef RECSERVE_CORE_INDEX_NORM_ORDERED_SCAN_H_
#define RECSERVE_CORE_INDEX_NORM_ORDERED_SCAN_H_

// Exact maximum-inner-product search that reads items longest first and
// stops as soon as no unread item can enter the top k, since q·x ≤ |q|·|x|
// (Cauchy–Schwarz).
//
// Why: implicit-feedback embeddings have norms that span orders of magnitude
// (popular items long, the long tail near zero), so the top few hundred items
// of a user sit among the longest vectors: on trained catalogs the scan
// settles a pool exactly after reading a small fraction of the items, where
// an HNSW graph in inner-product space misses part of it at any breadth
// (docs/benchmarks.md).
// On flatter norms the bound proves nothing early: the scan stops at its
// budget, says it is not exact, and the caller completes it (ServingModel
// merges it with an HNSW search). The rows it may read are copied in norm
// order so that it streams through memory instead of gathering rows.

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "core/index/item_index.h"
#include "core/model/mf_model.h"

namespace recserve {

struct NormScanResult {
  // Up to k items, best first (RankingOrder), scores q·x by Dot.
  std::vector<ScoredItem> top;
  // True when `top` is proven to be the exact top k: it then equals
  // ExactNeighbors(vectors, kInnerProduct, query, k).
  bool exact = false;
  int32_t items_read = 0;
};

// Immutable after construction; Top may be called from any number of
// threads.
class NormOrderedScan final {
 public:
  // Orders the rows of `vectors` by decreasing norm (ties: lower row) and
  // copies the longest `max_items` of them (all when fewer; none when
  // max_items <= 0): max_items × cols floats, the most any Top reads.
  NormOrderedScan(Eigen::Ref<const FactorMatrix> vectors, int32_t max_items);

  // The top k rows by q·x, reading the copied rows longest first until the
  // bound settles the answer or they run out. `query` must have cols()
  // finite values; k < 1 or a wrong width gives an empty, non-exact result.
  NormScanResult Top(absl::Span<const float> query, int32_t k) const;
  // The same among the rows for which `skip` is false (rows skipped are
  // read but never kept; "exact" then means the exact top k of the rest).
  NormScanResult Top(absl::Span<const float> query, int32_t k,
                     absl::FunctionRef<bool(int32_t row)> skip) const;

  int32_t copied_rows() const { return static_cast<int32_t>(order_.size()); }

 private:
  int32_t rows_ = 0;
  int32_t cols_ = 0;
  FactorMatrix head_;           // the copied rows, longest first
  std::vector<int32_t> order_;  // head_ row j is vectors row order_[j]
  std::vector<float> bound_;    // |x| of head_ row j, rounded up, and of the
                                // first row not copied (0 if none)
};

}  // namespace recserve

#endif  // RECSERVE_CORE_INDEX_NORM_ORDERED_SCAN_H_
