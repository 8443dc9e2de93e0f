#ifndef RECSERVE_TESTS_TESTUTIL_SERVING_FIXTURE_H_
#define RECSERVE_TESTS_TESTUTIL_SERVING_FIXTURE_H_

// Snapshots to serve in tests: small ones published from MakeTinyModel, and
// generated MovieLens-sized ones trained by the real trainer binary.

#include <string>

#include "core/model/two_stage_scorer.h"
#include "core/pipeline/training_pipeline.h"

namespace recserve::testutil {

struct TinySnapshotSpec {
  int32_t users = 40;
  int32_t items = 60;
  int32_t factors = 4;
  int32_t ratings_per_user = 5;
  // Retrieval embeddings of this width (format 2); 0 publishes format 1.
  int32_t retrieval_factors = 8;
  // The first this many items get retrieval embeddings pointing the same way
  // (scaled copies of item 0's), as trained implicit embeddings do for items
  // rated by the same single user.
  int32_t same_direction_items = 0;
  TwoStageOptions ranking{.candidates = 20, .blend_weight = 0.5f};
  uint64_t seed = 1;
};

// Publishes MakeTinyModel / MakeTinyRetrieval data under `root` and returns
// the version name. Fails the test (fatally) on error.
std::string PublishTinySnapshot(const std::string& root,
                                const TinySnapshotSpec& spec);

struct FixtureTraining {
  PublishedModels published = PublishedModels::kRefit;
  // Whether the trainer may choose the item-item model (it does on this
  // generated data). Off by default: these fixtures test the embeddings'
  // retrieval paths (norm scan, HNSW, filters by label lists).
  bool item_item = false;
};

// Generates `users` x `items` x `ratings` (seed 11) into `dir`/ratings.csv
// and movies.csv, and trains on them through the training pipeline with ALS
// and default ranking choices, publishing under `dir`/snapshots. Returns the
// snapshot root. Fails the test on error. The training runs once per build
// and these arguments; later calls copy its result (CopyCachedFixture in
// tests/testutil/build_cache.h).
std::string TrainGeneratedSnapshot(const std::string& dir, int32_t users,
                                   int32_t items, int64_t ratings,
                                   const FixtureTraining& training = {});

}  // namespace recserve::testutil

#endif  // RECSERVE_TESTS_TESTUTIL_SERVING_FIXTURE_H_
