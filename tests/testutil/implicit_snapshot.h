#ifndef RECSERVE_TESTS_TESTUTIL_IMPLICIT_SNAPSHOT_H_
#define RECSERVE_TESTS_TESTUTIL_IMPLICIT_SNAPSHOT_H_

// An implicit-feedback (events-only) snapshot for tests: a small event log
// with typed events, one of them negative, aggregated into signed cells as
// the rating reader does, an implicit ALS retrieval model trained on it
// (TrainImplicitAls) and the SnapshotContents that publish it.

#include <cstdint>
#include <string>

#include "core/data/event_weights.h"
#include "core/data/item_metadata.h"
#include "core/data/ratings.h"
#include "core/model/retrieval_model.h"
#include "core/model/user_fold_in.h"
#include "core/snapshot/snapshot_writer.h"

namespace recserve::testutil {

// Event types of the fixture: "view" (weight 1), "cart" (3), "purchase"
// (5) and the negative "dislike" (2).
EventWeights ImplicitFixtureEvents();

struct ImplicitFixture {
  Dataset train;
  RetrievalModel retrieval;
  FoldInParams fold_in;  // no rating prior
  EventWeights events;
  ItemCatalog catalog;  // every item: title "Item i", genre "g<i % 3>"

  // Contents that publish it (pointers into this object).
  SnapshotContents Contents() const;
};

// Users "u0".."u{users-1}" and items "i0".."i{items-1}". User u belongs to
// taste group u % 3 and views, carts and buys items of group u % 3 (items
// i with i % 3 == u % 3), a few others, and dislikes one item of another
// group; the last user has no events. Each cell has its own timestamp,
// increasing in the order of the cells' first events (a user's purchases,
// carts and views first, their dislike last). Trained with `factors`
// dimensions, log confidence (alpha 2, epsilon 1), reg_exponent 0.5 and the
// given recency weighting (0 = none; the snapshot is then format 4, else
// format 6). Deterministic. Fails the test (fatally) when training fails.
ImplicitFixture MakeImplicitFixture(int32_t users = 30, int32_t items = 45,
                                    int32_t factors = 6,
                                    float recency_weight = 0.0f,
                                    float recency_horizon = 30.0f);

// PublishSnapshot(root, MakeImplicitFixture(...).Contents()); returns the
// version name. Fails the test on error.
std::string PublishImplicitSnapshot(const std::string& root,
                                    const ImplicitFixture& fixture);

}  // namespace recserve::testutil

#endif  // RECSERVE_TESTS_TESTUTIL_IMPLICIT_SNAPSHOT_H_
