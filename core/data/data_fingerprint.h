#ifndef RECSERVE_CORE_DATA_DATA_FINGERPRINT_H_
#define RECSERVE_CORE_DATA_DATA_FINGERPRINT_H_

// A fingerprint of the ratings a model was trained on, recorded in each
// snapshot's manifest (data_fingerprint) so that two snapshots can be told to
// come from the same data.

#include <string>

#include "core/data/ratings.h"

namespace recserve {

// A stable fingerprint of the training ratings: 32 hex digits hashing the
// multiset of (user id, item id, value, timestamp), independent of rating
// order and of the dense indices. The same on every machine and build; not
// cryptographic. Precisely: for each rating, h = FNV-1a-64 of
// u64le(len(user id)) user id u64le(len(item id)) item id f32le(value)
// i64le(timestamp); A = Σ mix(h), B = Σ mix(h ^ 0x9e3779b97f4a7c15) (mod
// 2^64, mix = splitmix64's finalizer); result hex(A ^ mix(count)) hex(B),
// 16 digits each. A user or item index outside the id maps hashes as the
// empty id. Cannot fail.
//
// Thread-safety: reads `train` only; safe to call concurrently.
std::string FingerprintRatings(const Dataset& train);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_DATA_FINGERPRINT_H_
