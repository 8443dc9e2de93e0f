#ifndef RECSERVE_CORE_DATA_SPLIT_H_
#define RECSERVE_CORE_DATA_SPLIT_H_

// Train/test splits of a rating Dataset for offline evaluation.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/ratings.h"

namespace recserve {

// How to choose the held-out (test) ratings.
struct SplitSpec {
  enum class Kind {
    // `fraction` of all ratings, chosen uniformly at random (seeded).
    kRandom,
    // The globally latest `fraction` of ratings by timestamp.
    kTemporal,
    // Each user's latest `count` ratings.
    kLastN,
    // Each user's latest rating (kLastN with count 1).
    kLeaveOneOut,
    // `fraction` of each user's ratings, chosen uniformly at random
    // (seeded): the usual protocol for implicit feedback without
    // meaningful timestamps.
    kUserRandom,
  };
  Kind kind = Kind::kRandom;
  double fraction = 0;  // kRandom, kTemporal, kUserRandom: in (0, 1)
  int32_t count = 0;    // kLastN: >= 1; kLeaveOneOut: ignored
};

// Parses the text form of a split:
//   "random:F"    kRandom with fraction F, 0 < F < 1  (e.g. "random:0.2")
//   "temporal:F"  kTemporal with fraction F, 0 < F < 1
//   "last:N"      kLastN with count N >= 1
//   "loo"         kLeaveOneOut
//   "user_random:F"  kUserRandom with fraction F, 0 < F < 1
// Errors: InvalidArgument naming the problem for anything else, e.g.
// "fraction must be in (0, 1), got 1.5" (callers add which setting it was).
absl::StatusOr<SplitSpec> ParseSplitSpec(absl::string_view text);

// A training Dataset and the held-out ratings to evaluate on it.
struct TrainTest {
  // Compacted: its id maps hold only the users and items that have at least
  // one training rating, with their external ids unchanged, indexed in order
  // of first appearance among the training ratings. Training ratings keep
  // their input order.
  Dataset train;
  // Held-out ratings in input order, re-indexed into train's id maps; a user
  // or item without training ratings is kUnknownIndex.
  std::vector<Rating> test;
};

// Splits `all` into training and test ratings. Every rating of `all` ends up
// in exactly one of the two. Deterministic for a given (all, spec, seed);
// only kRandom and kUserRandom use `seed`. Runs in O(n) time plus O(n log n)
// worst case for the per-user selection, with O(n) auxiliary memory in a few
// flat arrays.
//
// Choices:
//  - kRandom and kTemporal hold out round(fraction * n) ratings, clamped to
//    [1, n - 1] so that neither side is empty. kRandom draws that exact
//    number uniformly at random (selection sampling).
//  - "Latest" means largest timestamp; among equal timestamps the rating
//    later in `all.ratings` counts as later (so the split is deterministic
//    and files without timestamps fall back to input order).
//  - kLastN / kLeaveOneOut: a user with c ratings holds out its latest
//    min(count, c - 1), so every user keeps at least one training rating; a
//    user with a single rating contributes nothing to the test set.
//  - kUserRandom: a user with c positive ratings (value >= 0) holds out
//    min(round(fraction * c), c - 1) of them, drawn uniformly at random (a
//    stream per user); negative ones (implicit feedback) stay in training.
//
// Errors: InvalidArgument if `spec` is out of range (as in ParseSplitSpec),
// if `all` has fewer than 2 ratings for kRandom/kTemporal, or if a rating's
// user or item index is outside all's id maps.
absl::StatusOr<TrainTest> SplitDataset(const Dataset& all,
                                       const SplitSpec& spec, uint64_t seed);

// For explicitly given train and test files read into one Dataset `all`
// (shared id maps): the first `num_train` ratings are the training file's,
// the rest the test file's. Returns them compacted and re-indexed exactly as
// SplitDataset does. `num_train` larger than all.ratings.size() is treated as
// all.ratings.size(). Every rating's indices must be valid in all's id maps.
TrainTest MakeTrainTest(const Dataset& all, size_t num_train);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_SPLIT_H_
