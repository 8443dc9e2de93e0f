#ifndef RECSERVE_TESTS_TESTUTIL_COLD_SNAPSHOT_H_
#define RECSERVE_TESTS_TESTUTIL_COLD_SNAPSHOT_H_

// A small snapshot with cold items (format 5) for serving tests, built so
// that content is visible in the embeddings: every item has one genre of
// kColdGenres ("Alpha", "Beta", "Gamma": item i has genre i % 3, which is
// also its label), and the retrieval space has one direction per genre.
// Warm items "i0".."i{W-1}" point along their genre's direction (scaled by
// 1 to 1.5, plus noise of at most 0.05 per coordinate); cold items
// "c{W}".."c{W+C-1}" (the tail of the item ids, never rated) get their rows
// from the attribute maps, which send a genre attribute to its direction
// and every other attribute to 0: a cold item's embedding is exactly its
// genre's direction, so its nearest neighbours are the items of its genre.
// The rating map is random; cold items' factors and biases are that map
// applied to their attributes, as the trainer would publish them.

#include <cstdint>
#include <optional>
#include <string>

#include "core/data/item_metadata.h"
#include "core/data/ratings.h"
#include "core/model/attribute_map.h"
#include "core/model/mf_model.h"
#include "core/model/retrieval_model.h"
#include "core/model/user_fold_in.h"
#include "core/snapshot/snapshot_writer.h"

namespace recserve::testutil {

inline constexpr const char* kColdGenres[] = {"Alpha", "Beta", "Gamma"};

struct ColdServingSpec {
  int32_t users = 30;
  int32_t warm_items = 42;
  int32_t cold_items = 9;
  int32_t factors = 4;
  int32_t retrieval_factors = 6;  // >= 6: two coordinates per genre
  // Implicit feedback (no rating model; the ratings are positive event
  // strengths).
  bool implicit = false;
  uint64_t seed = 7;
};

struct ColdServingFixture {
  ColdServingSpec spec;
  Dataset train;
  std::optional<MfModel> model;  // explicit only
  RetrievalModel retrieval;
  FoldInParams fold_in;
  ItemCatalog catalog;
  ItemAttributeModel attributes;

  int32_t num_items() const { return spec.warm_items + spec.cold_items; }
  int32_t first_cold() const { return spec.warm_items; }
  // kColdGenres[GenreOf(item)] is the item's genre.
  static int32_t GenreOf(int32_t item) { return item % 3; }
  // Contents that publish it (pointers into this object).
  SnapshotContents Contents() const;
};

// User u rates (or, implicit, views) four warm items, (5u + 3j) mod W for j
// < 4; the last user rates nothing. User u's retrieval embedding leans to
// genre u % 3. Deterministic for the spec.
ColdServingFixture MakeColdServingFixture(const ColdServingSpec& spec = {});

// Publishes the fixture under `root`; returns the version name. Fails the
// test on error (and returns "").
std::string PublishColdServingSnapshot(const std::string& root,
                                       const ColdServingFixture& fixture);

}  // namespace recserve::testutil

#endif  // RECSERVE_TESTS_TESTUTIL_COLD_SNAPSHOT_H_
