#ifndef RECSERVE_CORE_DATA_ITEM_METADATA_H_
#define RECSERVE_CORE_DATA_ITEM_METADATA_H_

// Display metadata for items (titles, genres), keyed by external item id.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace recserve {

struct ItemMetadata {
  std::string title;                // UTF-8
  std::vector<std::string> genres;  // empty when the source has none
  // Release year from a date column or a title's "(1995)"; 0 when unknown.
  int32_t year = 0;
};

// External item id -> metadata. Items without an entry simply have no title.
using ItemCatalog = absl::flat_hash_map<std::string, ItemMetadata>;

// External id -> labels: of items, those filters can select by beyond the
// genres (e.g. "in_stock", "region:eu"); of users, what is known of them
// (e.g. "age:25-34", "occupation:writer").
using LabelMap = absl::flat_hash_map<std::string, std::vector<std::string>>;
using ItemLabelMap = LabelMap;

// External item id -> its distinct tags (item_tag_reader.h), in order of
// first appearance.
using ItemTagMap = absl::flat_hash_map<std::string, std::vector<std::string>>;

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_ITEM_METADATA_H_
