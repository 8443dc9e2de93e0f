#ifndef RECSERVE_CORE_SERVE_ITEM_FILTER_H_
#define RECSERVE_CORE_SERVE_ITEM_FILTER_H_

// A request's ItemFilterSpec resolved against one snapshot: label names to
// label ids, allow-listed ids to item indices, and the test every retrieval
// path applies to an item.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/serve/serving_model.h"
#include "core/snapshot/snapshot.h"

namespace recserve {

// Borrows the snapshot, which must outlive it. Not thread-safe; one per
// request.
class ResolvedFilter final {
 public:
  // An empty filter: every item passes.
  ResolvedFilter() = default;

  // Errors: InvalidArgument naming the field ("filter.include_labels[2]")
  // for a label the snapshot does not know. Sizes are checked by
  // CheckFilterSizes beforehand.
  static absl::StatusOr<ResolvedFilter> Resolve(const ItemFilterSpec& spec,
                                                const Snapshot& snapshot);

  // Whether the request had a filter at all.
  bool active() const { return active_; }
  // Whether `item` passes: on the allow-list (when there is one), carrying
  // an included label (when there are any) and no excluded one.
  bool Allows(int32_t item) const;

  bool has_allow_list() const { return has_allow_list_; }
  // The allow-listed items the snapshot knows, ascending, no repeats.
  const std::vector<int32_t>& allow_list() const { return allow_list_; }
  // The included label ids, ascending, no repeats.
  const std::vector<int32_t>& include_labels() const { return include_ids_; }
  const std::vector<int32_t>& exclude_labels() const { return exclude_ids_; }

 private:
  const Snapshot* snapshot_ = nullptr;
  bool active_ = false;
  bool has_allow_list_ = false;
  std::vector<int32_t> allow_list_;
  std::vector<int32_t> include_ids_;
  std::vector<int32_t> exclude_ids_;
  std::vector<char> included_;  // by label id, when include_ids_ is not empty
  std::vector<char> excluded_;  // by label id, when exclude_ids_ is not empty
};

}  // namespace recserve

#endif  // RECSERVE_CORE_SERVE_ITEM_FILTER_H_
