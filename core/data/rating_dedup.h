#ifndef RECSERVE_CORE_DATA_RATING_DEDUP_H_
#define RECSERVE_CORE_DATA_RATING_DEDUP_H_

// Removal of repeated (user, item) pairs, as ReadRatings does for each file.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/data/ratings.h"

namespace recserve {

// Among the ratings from index `start` on, keeps one rating per (user, item)
// pair: the one with the latest timestamp, on a tie the later one. The kept
// ratings stay in their order; ratings before `start` are neither compared
// against nor moved. Returns how many ratings were removed.
//
// Requires start <= ratings->size() and each rating from `start` on with user
// in [0, num_users) and item in [0, num_items). Takes O(n + num_users +
// num_items) time and scratch memory, n being the number of ratings from
// `start` on.
//
// Thread-safety: touches only *ratings; do not access it concurrently.
int64_t DropDuplicateRatings(std::vector<Rating>* ratings, size_t start,
                             int32_t num_users, int32_t num_items);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_RATING_DEDUP_H_
