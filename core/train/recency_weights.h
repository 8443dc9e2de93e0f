#ifndef RECSERVE_CORE_TRAIN_RECENCY_WEIGHTS_H_
#define RECSERVE_CORE_TRAIN_RECENCY_WEIGHTS_H_

// Recency-weighted confidence for the retrieval model: what someone did
// lately says more about what they will do next than what they did long
// ago. Each interaction's value is scaled by
//   (1 + weight · exp(-rank / horizon)) / (that factor's mean over the user),
// where rank counts the user's interactions strictly later than it (ties
// share a rank). The mean keeps each user's total confidence as it was, so
// a user whose interactions all carry the same time (or none) is unchanged.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"

namespace recserve {

// A copy of `ratings` with each value scaled as above (negative values keep
// their sign). weight >= 0 and horizon > 0; users index [0, num_users).
std::vector<Rating> WeightByRecency(absl::Span<const Rating> ratings,
                                    int32_t num_users, float weight,
                                    float horizon);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_RECENCY_WEIGHTS_H_
