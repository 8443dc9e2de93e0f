#ifndef RECSERVE_CORE_PIPELINE_IMPORT_PIPELINE_H_
#define RECSERVE_CORE_PIPELINE_IMPORT_PIPELINE_H_

// Publishing a model trained elsewhere: factor files (and optionally
// retrieval embeddings) joined with the ratings they were trained on, then
// published exactly as a training run publishes (snapshot_publishing.h).

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/pipeline/training_pipeline.h"
#include "core/train/factor_import.h"

namespace recserve {

struct ImportPipelineOptions {
  ImportOptions factors;
  // The ratings (ratings_path, read options) and item metadata; the split
  // and seed are not used.
  RatingSource data;
  // The two-stage ranking recorded with imported embeddings: they come
  // without a validation run, so the pool default and the retrieval order
  // within it (the choice on every data set measured so far) unless given.
  TwoStageOptions ranking{.candidates = 200, .blend_weight = 1.0f};
  SnapshotOutput output;
};

struct ImportRun {
  ImportReport report;
  int32_t users = 0;
  int32_t items = 0;
  std::string version;
  std::string version_dir;
  double index_seconds = 0;
};

// Reads, imports and publishes. Errors: InvalidArgument when the ratings
// path, a factor path or output.root is missing, or item labels are given
// (labels go only into snapshots that can fold users in), or the read options
// ask for implicit feedback (events are no ratings); those of ReadRatings
// (which reads the file as ratings, so a file without a rating column fails),
// ReadItems, ImportFactors and publishing.
absl::StatusOr<ImportRun> RunImportPipeline(
    const ImportPipelineOptions& options,
    const std::function<void(const std::string& path, const RatingReadReport&)>&
        on_ratings_read = {});

}  // namespace recserve

#endif  // RECSERVE_CORE_PIPELINE_IMPORT_PIPELINE_H_
