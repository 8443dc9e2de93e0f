#ifndef RECSERVE_CORE_DATA_USER_SAMPLE_H_
#define RECSERVE_CORE_DATA_USER_SAMPLE_H_

// Sampling by user for tuning on large data: a user is either in the sample
// with all their ratings or not at all, so per-user density (which the right
// regularization and ranking depend on) matches the full data.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"

namespace recserve {

// The ratings of the users that a hash of (seed, user) puts in a sample of
// about `share` of all users, in input order. The same seed picks the same
// users from any rating list (e.g. fitting and validation ratings). A share
// of 1 or more keeps every rating; 0, a negative share or NaN none.
// Thread-safe; deterministic.
std::vector<Rating> SampleUsers(absl::Span<const Rating> ratings, double share,
                                uint64_t seed);

// The ratings of a sample of users (SampleUsers) holding about `keep`
// ratings, or a copy of `data` when it holds no more, with `data`'s id maps
// (users outside the sample keep their index and have no ratings).
Dataset SampleUsersOf(const Dataset& data, int64_t keep, uint64_t seed);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_USER_SAMPLE_H_
