#ifndef RECSERVE_CORE_INDEX_NORM_ORDERED_LISTS_H_
#define RECSERVE_CORE_INDEX_NORM_ORDERED_LISTS_H_

// Exact maximum-inner-product search within fixed subsets of the items (the
// items carrying a label): NormOrderedScan (norm_ordered_scan.h) over each
// subset's own rows, so that a search restricted to one reads only its
// items, longest first, streaming through a copy of them, and stops once
// q·x ≤ |q|·|x| proves that no unread one can enter. This makes a label
// filter about as cheap as none.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "core/index/norm_ordered_scan.h"
#include "core/model/mf_model.h"

namespace recserve {

// Immutable after construction; Top may be called from any number of
// threads.
class NormOrderedLists final {
 public:
  // `lists[l]` holds rows of `vectors` (each in range, no repeats), in any
  // order. Copies the longest `max_items` rows of each list (all of a
  // shorter one): sum over lists of min(size, max_items) rows, the most any
  // Top reads.
  NormOrderedLists(Eigen::Ref<const FactorMatrix> vectors,
                   std::vector<std::vector<int32_t>> lists, int32_t max_items);

  int32_t num_lists() const { return static_cast<int32_t>(lists_.size()); }
  // List `list`'s rows, ascending.
  absl::Span<const int32_t> List(int32_t list) const { return lists_[list]; }

  // The top k rows of list `list` by q·x among those for which `skip` is
  // false, as NormOrderedScan::Top: `exact` says whether the answer is
  // proven (every row read, or the bound settled it within the copy).
  // Items are rows of `vectors`.
  NormScanResult Top(int32_t list, absl::Span<const float> query, int32_t k,
                     absl::FunctionRef<bool(int32_t row)> skip) const;

 private:
  std::vector<std::vector<int32_t>> lists_;
  std::vector<std::unique_ptr<NormOrderedScan>> scans_;  // over each list
};

}  // namespace recserve

#endif  // RECSERVE_CORE_INDEX_NORM_ORDERED_LISTS_H_
