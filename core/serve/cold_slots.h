#ifndef RECSERVE_CORE_SERVE_COLD_SLOTS_H_
#define RECSERVE_CORE_SERVE_COLD_SLOTS_H_

// Recommend's reserved slots for cold items (RecommendQuery::cold_items): of
// a ranking, the best cold items up to the reservation and the best of the
// rest for the other slots. An implementation detail of ServingModel
// (serving_model.h), apart so that it is tested on its own.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"

namespace recserve {

// `ranked` is best first (any type with an `item` member). Returns, best
// first, the first min(reserve, number of cold items in `ranked`) cold items
// of `ranked` — c of them — and the first n - c items of the others (which
// may be cold too: past the reservation, cold items compete like the rest).
// Fewer than n when `ranked` runs out. reserve <= 0 keeps the first n.
template <typename T>
std::vector<T> SelectWithColdSlots(const std::vector<T>& ranked, int32_t n,
                                   int32_t reserve,
                                   absl::FunctionRef<bool(int32_t)> is_cold) {
  int64_t cold = 0;
  if (reserve > 0) {
    for (const T& r : ranked) {
      if (cold == reserve) break;
      if (is_cold(r.item)) ++cold;
    }
  }
  const int64_t others = static_cast<int64_t>(n) - cold;
  std::vector<T> out;
  out.reserve(
      std::min<size_t>(ranked.size(), static_cast<size_t>(std::max(n, 0))));
  int64_t cold_taken = 0;
  int64_t others_taken = 0;
  for (const T& r : ranked) {
    if (cold_taken == cold && others_taken >= others) break;
    if (cold_taken < cold && is_cold(r.item)) {
      ++cold_taken;
      out.push_back(r);
    } else if (others_taken < others) {
      ++others_taken;
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace recserve

#endif  // RECSERVE_CORE_SERVE_COLD_SLOTS_H_
