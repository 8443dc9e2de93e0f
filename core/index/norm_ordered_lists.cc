#include "core/index/norm_ordered_lists.h"

#include <algorithm>
#include <utility>

namespace recserve {

NormOrderedLists::NormOrderedLists(Eigen::Ref<const FactorMatrix> vectors,
                                   std::vector<std::vector<int32_t>> lists,
                                   int32_t max_items)
    : lists_(std::move(lists)) {
  scans_.reserve(lists_.size());
  FactorMatrix rows;
  for (std::vector<int32_t>& list : lists_) {
    // Ascending, so that positions order like rows and ties between equal
    // scores go to the lower row, as in every other search.
    std::sort(list.begin(), list.end());
    rows.resize(static_cast<Eigen::Index>(list.size()), vectors.cols());
    for (size_t j = 0; j < list.size(); ++j) {
      rows.row(static_cast<Eigen::Index>(j)) = vectors.row(list[j]);
    }
    scans_.push_back(std::make_unique<NormOrderedScan>(rows, max_items));
  }
}

NormScanResult NormOrderedLists::Top(
    int32_t list, absl::Span<const float> query, int32_t k,
    absl::FunctionRef<bool(int32_t row)> skip) const {
  const std::vector<int32_t>& rows = lists_[list];
  NormScanResult result = scans_[list]->Top(
      query, k, [&](int32_t position) { return skip(rows[position]); });
  for (ScoredItem& found : result.top) found.item = rows[found.item];
  return result;
}

}  // namespace recserve
