#ifndef RECSERVE_CORE_MODEL_RECENCY_FACTORS_H_
#define RECSERVE_CORE_MODEL_RECENCY_FACTORS_H_

// Recency-weighted confidence for the retrieval model: what someone did
// lately says more about what they will do next than what they did long
// ago. Among one user's interactions, each one's value is scaled by
//   (1 + weight · exp(−rank / horizon)) / (that factor's mean over the user),
// where rank counts the user's interactions strictly later than it (ties
// share a rank; the latest ones have rank 0). The mean keeps the user's
// total confidence as it was, so a user whose interactions all carry the
// same time is unchanged (every factor 1).
//
// The one implementation of the weighting: training scales the stored
// values with it (core/train/recency_weights.h) and request-time fold-in
// scales a folded-in user's cells alike (user_fold_in.h), so that fold-in
// reproduces a trained user.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace recserve {

// For each of one user's interactions at `times` (any integers that order
// them: larger is later, equal is simultaneous), how many are strictly later:
// its rank above. Fewer than 2^31 interactions. O(n log n).
std::vector<int32_t> LaterCounts(absl::Span<const int64_t> times);

// The factor above for each of one user's interactions at `times` (as for
// LaterCounts), already divided by the mean: they average 1, and are all 1
// (to float precision) when every time is equal or weight is 0. weight >= 0
// and horizon > 0 (in interactions), both finite. Empty for no times.
std::vector<double> RecencyFactors(absl::Span<const int64_t> times,
                                   float weight, float horizon);

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_RECENCY_FACTORS_H_
