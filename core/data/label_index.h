#ifndef RECSERVE_CORE_DATA_LABEL_INDEX_H_
#define RECSERVE_CORE_DATA_LABEL_INDEX_H_

// Labels as features for a model (the items' genres, the users' labels), keyed
// by external id, so that every subset of the training data (the validation
// splits, the refit on everything, the model without the new items) finds the
// same labels for the same user or item whatever its dense index.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/data/item_metadata.h"
#include "core/data/ratings.h"

namespace recserve {

// An immutable value; thread-safe to share.
class LabelIndex final {
 public:
  LabelIndex() = default;
  // The genres of `catalog`'s items.
  static LabelIndex FromGenres(const ItemCatalog& catalog);
  // The labels of `labels`' ids.
  static LabelIndex FromLabels(const LabelMap& labels);

  // Whether no id has a feature.
  bool empty() const { return by_id_.empty(); }

  // For each index of `ids`, its features, numbered 0, 1, ... in order of
  // first appearance over `ids` (so only features some id of `ids` has are
  // numbered); ids without features get an empty list.
  std::vector<std::vector<int32_t>> ForIds(const IdMap& ids) const;

 private:
  // From id -> feature names: the names numbered in sorted order.
  static LabelIndex FromNames(
      const std::map<std::string, std::vector<std::string>>& names);

  // Id -> its features' global numbers (ascending, distinct).
  absl::flat_hash_map<std::string, std::vector<int32_t>> by_id_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_LABEL_INDEX_H_
