#ifndef RECSERVE_TESTS_TESTUTIL_MOVED_ON_USERS_H_
#define RECSERVE_TESTS_TESTUTIL_MOVED_ON_USERS_H_

#include "core/data/ratings.h"

namespace recserve {
namespace testutil {

// Users who moved on, for recency tests: 200 users ("u0".."u199") and 100
// items ("i0".."i99") in 5 groups of 20. Each user interacted with 10 items
// of one group long ago, then with 4 of another group lately, each with
// `value`, at timestamps 1..14 in that order. Their latest items come from
// the new group, which only a model that weighs recent interactions more
// ranks above the 10 items of the old group they have not touched yet.
// Deterministic.
Dataset MovedOnUsers(float value = 4.0f);

}  // namespace testutil
}  // namespace recserve

#endif  // RECSERVE_TESTS_TESTUTIL_MOVED_ON_USERS_H_
