#include "tests/testutil/serving_fixture.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/pipeline/training_pipeline.h"
#include "core/snapshot/snapshot_writer.h"
#include "core/synthetic/synthetic_generator.h"
#include "gtest/gtest.h"
#include "tests/testutil/build_cache.h"
#include "tests/testutil/tiny_model.h"

namespace recserve::testutil {

std::string PublishTinySnapshot(const std::string& root,
                                const TinySnapshotSpec& spec) {
  const TinyModel tiny = MakeTinyModel(spec.users, spec.items, spec.factors,
                                       spec.ratings_per_user, spec.seed);
  RetrievalModel retrieval =
      MakeTinyRetrieval(spec.users, spec.items,
                        std::max(spec.retrieval_factors, 1), spec.seed + 1);
  for (int32_t i = 1; i < std::min(spec.same_direction_items, spec.items);
       ++i) {
    retrieval.item_factors.row(i) =
        retrieval.item_factors.row(0) * (1.0f + 0.01f * static_cast<float>(i));
  }
  SnapshotContents contents;
  contents.train = &tiny.train;
  contents.model = &tiny.model;
  contents.items = &tiny.catalog;
  contents.algo = "als";
  if (spec.retrieval_factors > 0) {
    contents.retrieval = &retrieval;
    contents.ranking = spec.ranking;
  }
  absl::StatusOr<std::string> version = PublishSnapshot(root, contents);
  EXPECT_TRUE(version.ok()) << version.status();
  return version.ok() ? *version : "";
}

std::string TrainGeneratedSnapshot(const std::string& dir, int32_t users,
                                   int32_t items, int64_t ratings,
                                   const FixtureTraining& training) {
  auto train = [&](const std::string& into) -> absl::Status {
    GeneratorOptions generate;
    generate.users = users;
    generate.items = items;
    generate.ratings = ratings;
    generate.seed = 11;
    generate.out = absl::StrCat(into, "/ratings.csv");
    RETURN_IF_ERROR(GenerateSyntheticData(generate).status());
    TrainingPipelineOptions options;
    options.data.ratings_path = generate.out;
    options.data.items_path = absl::StrCat(into, "/movies.csv");
    options.training.rating.algorithm = Algorithm::kAls;
    options.evaluation.max_users = 200;
    options.training.validation.max_users = 200;
    options.published = training.published;
    options.training.search_item_item = training.item_item;
    // Serving tests need the snapshot, not the fold-in row (tested with the
    // pipeline), which would train two more pairs of models.
    options.fold_in_users = 0;
    options.output.root = absl::StrCat(into, "/snapshots");
    return RunTrainingPipeline(options).status();
  };
  const std::string key = absl::StrCat(
      "generated-", users, "x", items, "x", ratings, "-",
      training.published == PublishedModels::kRefit ? "refit" : "evaluated",
      training.item_item ? "-item-item" : "");
  const absl::Status copied = CopyCachedFixture(key, dir, train);
  EXPECT_TRUE(copied.ok()) << copied;
  return absl::StrCat(dir, "/snapshots");
}

}  // namespace recserve::testutil
