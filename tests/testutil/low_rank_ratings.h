#ifndef RECSERVE_TESTS_TESTUTIL_LOW_RANK_RATINGS_H_
#define RECSERVE_TESTS_TESTUTIL_LOW_RANK_RATINGS_H_

#include <cstdint>

#include "core/data/ratings.h"

namespace recserve {
namespace testutil {

// A small rating set drawn from a known biased low-rank model: rating =
// 3.5 + b_u + b_i + p_u·q_i + N(0, noise²), unrounded and unclamped, each
// (user, item) observed with probability `density` (every user and item at
// least twice). Users are "u0".."u{users-1}" and items "i0".."i{items-1}",
// interned in that order. Deterministic for a seed.
struct LowRankRatings {
  Dataset data;
  double noise = 0.0;
};
LowRankRatings MakeLowRankRatings(int32_t users, int32_t items, int32_t rank,
                                  double density, double noise, uint64_t seed);

}  // namespace testutil
}  // namespace recserve

#endif  // RECSERVE_TESTS_TESTUTIL_LOW_RANK_RATINGS_H_
