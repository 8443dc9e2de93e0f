#include "core/pipeline/import_pipeline.h"

#include "core/base/status_macros.h"
#include "core/pipeline/snapshot_publishing.h"

namespace recserve {

absl::StatusOr<ImportRun> RunImportPipeline(
    const ImportPipelineOptions& options,
    const std::function<void(const std::string& path, const RatingReadReport&)>&
        on_ratings_read) {
  const RatingSource& data = options.data;
  if (options.factors.user_factors_path.empty() ||
      options.factors.item_factors_path.empty() || data.ratings_path.empty() ||
      options.output.root.empty()) {
    return absl::InvalidArgumentError(
        "import needs a user factor file, an item factor file, the ratings "
        "and a snapshot root");
  }
  if (!data.user_labels_path.empty()) {
    return absl::InvalidArgumentError(
        "import takes no user labels: they are features for training, and "
        "imported factors are trained already");
  }
  if (!data.item_labels_path.empty()) {
    return absl::InvalidArgumentError(
        "import takes no item labels: snapshots carry labels only with the "
        "fold-in parameters that imported factors lack");
  }
  // Imported factors are a rating model: the file must hold ratings.
  if (data.read.feedback == Feedback::kImplicit) {
    return absl::InvalidArgumentError(
        "import needs ratings, not events: imported factors are a rating "
        "model (train on events with recserve-train instead)");
  }
  RatingReadOptions read_options = data.read;
  read_options.feedback = Feedback::kExplicit;
  Dataset ratings;
  ASSIGN_OR_RETURN(const RatingReadReport read,
                   ReadRatings(data.ratings_path, read_options, &ratings));
  if (on_ratings_read) on_ratings_read(data.ratings_path, read);
  ASSIGN_OR_RETURN(ImportResult imported,
                   ImportFactors(options.factors, ratings));
  ItemCatalog catalog;
  if (!data.items_path.empty()) {
    RETURN_IF_ERROR(ReadItems(data.items_path, data.items, &catalog).status());
  }
  SnapshotContents contents;
  contents.train = &imported.train;
  contents.model = &imported.model;
  contents.items = data.items_path.empty() ? nullptr : &catalog;
  contents.algo = "import";
  contents.training_params = {
      {"user_factors", options.factors.user_factors_path},
      {"item_factors", options.factors.item_factors_path},
      {"published", "import"}};
  if (imported.retrieval) {
    contents.retrieval = &*imported.retrieval;
    contents.retrieval_params = {
        {"user_embeddings", options.factors.user_embeddings_path},
        {"item_embeddings", options.factors.item_embeddings_path}};
    contents.ranking = options.ranking;
  }
  ASSIGN_OR_RETURN(const PublishedVersion published,
                   PublishWithIndexes(contents, options.output));
  ImportRun run;
  run.report = imported.report;
  run.users = imported.train.num_users();
  run.items = imported.train.num_items();
  run.version = published.version;
  run.version_dir = published.dir;
  run.index_seconds = published.index_seconds;
  return run;
}

}  // namespace recserve
