#include "core/data/rating_dedup.h"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/data/sparse_ratings.h"

namespace recserve {

// Groups positions by user (GroupRatingPositions), then finds repeats per
// user with an item-indexed scratch array: no per-rating allocation.
int64_t DropDuplicateRatings(std::vector<Rating>* ratings, size_t start,
                             int32_t num_users, int32_t num_items) {
  const size_t n = ratings->size() - start;
  if (n < 2) return 0;
  Rating* r = ratings->data() + start;
  const RatingPositions by_user = GroupRatingPositions(
      absl::MakeConstSpan(r, n), num_users, RatingAxis::kUser);
  std::vector<int32_t> seen_by_user(num_items, -1);
  std::vector<int64_t> seen_at(num_items);
  std::vector<bool> dropped(n, false);
  int64_t num_dropped = 0;
  for (int32_t u = 0; u < num_users; ++u) {
    for (const int64_t i : by_user.Row(u)) {  // ascending
      const int32_t item = r[i].item;
      if (seen_by_user[item] != u) {
        seen_by_user[item] = u;
        seen_at[item] = i;
        continue;
      }
      ++num_dropped;
      const int64_t j = seen_at[item];  // j < i
      if (r[i].timestamp >= r[j].timestamp) {
        dropped[j] = true;
        seen_at[item] = i;
      } else {
        dropped[i] = true;
      }
    }
  }
  if (num_dropped == 0) return 0;
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!dropped[i]) r[out++] = r[i];
  }
  ratings->resize(start + out);
  return num_dropped;
}

}  // namespace recserve
