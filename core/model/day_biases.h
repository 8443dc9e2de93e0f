#ifndef RECSERVE_CORE_MODEL_DAY_BIASES_H_
#define RECSERVE_CORE_MODEL_DAY_BIASES_H_

// Day-specific rating biases: one per calendar day (UTC) shared by everyone,
// and one per (user, day), the b_{u,t} of Koren, "Collaborative Filtering
// with Temporal Dynamics" (2009): people rate in sessions, and a session's
// mood shifts all its ratings. They describe the days of the training data;
// a day never seen in training contributes nothing, which is what a
// prediction for today gets.

#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace recserve {

inline constexpr int64_t kSecondsPerDay = 86400;

// The day number of a Unix timestamp (floor division: before 1970 too).
int64_t DayOf(int64_t timestamp);

struct DayBiases {
  absl::flat_hash_map<int64_t, float> day;
  absl::flat_hash_map<std::pair<int32_t, int64_t>, float> user_day;

  bool empty() const { return day.empty() && user_day.empty(); }
  // The biases of `user` (a dense index, or kUnknownIndex = -1) at
  // `timestamp`; 0 for days not seen in training.
  float Offset(int32_t user, int64_t timestamp) const;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_DAY_BIASES_H_
