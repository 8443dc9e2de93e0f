#ifndef RECSERVE_CORE_DATA_ID_INTERNER_H_
#define RECSERVE_CORE_DATA_ID_INTERNER_H_

// Fast interning of the ids of a large rating file into an IdMap.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/data/ratings.h"

namespace recserve {

// Interns ids into an IdMap with two shortcuts around its hash map: the
// previous id (files are often grouped by user), and an array indexed by the
// value of canonical decimal ids ("17", not "007"), which is what MovieLens
// uses. The array grows to at most 2^24 entries (64 MiB); larger or
// non-canonical ids go through the hash map only.
//
// Ownership: `map` is borrowed and must outlive the interner; it may gain ids
// by other means meanwhile (IdMap indices never change), but must not be
// assigned to.
// Thread-safety: not thread-safe; a reader makes one per map and thread.
class IdInterner final {
 public:
  explicit IdInterner(IdMap* map) : map_(map) {}

  // Returns the same as map->GetOrAdd(id), for any id: the index of `id`,
  // added at the end of the map if it is new.
  int32_t GetOrAdd(absl::string_view id);

 private:
  IdMap* const map_;
  std::vector<int32_t> by_value_;  // kUnknownIndex where not interned yet.
  std::string last_;
  int32_t last_index_ = kUnknownIndex;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_ID_INTERNER_H_
