#ifndef RECSERVE_CORE_TRAIN_RECENCY_WEIGHTS_H_
#define RECSERVE_CORE_TRAIN_RECENCY_WEIGHTS_H_

// Recency-weighted confidence applied to training data: each user's
// interactions scaled by RecencyFactors of their timestamps
// (core/model/recency_factors.h, where the formula is: the latest weigh
// most, each user's total is kept, equal timestamps are unchanged).

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"

namespace recserve {

// A copy of `ratings` with each value multiplied by its RecencyFactors
// factor among its user's ratings, ranked by timestamp (negative values keep
// their sign). weight >= 0 and horizon > 0; users index [0, num_users).
std::vector<Rating> WeightByRecency(absl::Span<const Rating> ratings,
                                    int32_t num_users, float weight,
                                    float horizon);

// Whether recency weighting can change a model of `data`: some user has
// interactions at two different times.
bool AnyUserHasTwoTimes(const Dataset& data);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_RECENCY_WEIGHTS_H_
