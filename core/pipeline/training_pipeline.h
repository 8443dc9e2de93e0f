#ifndef RECSERVE_CORE_PIPELINE_TRAINING_PIPELINE_H_
#define RECSERVE_CORE_PIPELINE_TRAINING_PIPELINE_H_

// The whole training run, as the trainer CLI and the test fixtures run it:
//  1. read the ratings (one file split in two, or a train and a test file)
//     and the optional item metadata;
//  2. train the rating model and the retrieval model and choose the
//     two-stage ranking on validation inside the training ratings
//     (core/train/two_stage_trainer.h);
//  3. evaluate on the held-out ratings beside popularity
//     (core/eval/evaluation_report.h), and measure request-time fold-in on
//     users held out of training (fold_in_evaluation.h);
//  4. when it publishes, refit both models on every input rating with the
//     settings validation chose (PublishedModels::kRefit, the default), so
//     that the published snapshot knows everything it was given;
//  5. with item metadata, learn the maps from item attributes to both models'
//     spaces on the published models and add the metadata's items that have
//     no interactions as cold items (cold_items.h; with a split, the
//     cold-item evaluation runs after step 3);
//  6. publish a snapshot version, with its HNSW indexes when asked.
// Without a held-out split (SplitSpec none) step 3 and 4 are skipped: the
// models are trained on every rating already, and nothing is evaluated.
// Events (implicit feedback: the read options' feedback, or a file without a
// rating column) train the retrieval model alone, its settings searched on
// validation (retrieval_tuning.h); evaluation counts every positive held-out
// interaction as relevant and has no rating metrics; the snapshot is an
// implicit one (format 4) that records the event weights, naming every
// event type the read options or the data named.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/data/item_label_reader.h"
#include "core/data/item_reader.h"
#include "core/data/item_tag_reader.h"
#include "core/data/rating_reader.h"
#include "core/data/split.h"
#include "core/eval/evaluation_report.h"
#include "core/eval/topn_evaluation.h"
#include "core/index/item_index.h"
#include "core/pipeline/cold_items.h"
#include "core/pipeline/fold_in_evaluation.h"
#include "core/train/two_stage_trainer.h"

namespace recserve {

// Where the ratings come from and how they are split.
struct RatingSource {
  // Either one file, split by `split`...
  std::string ratings_path;
  // ...or a training file and a test file, read into one id space.
  std::string train_path;
  std::string test_path;
  RatingReadOptions read;
  // How to hold out test ratings from ratings_path; nullopt trains on every
  // rating and evaluates nothing. Default: a random 10%.
  std::optional<SplitSpec> split = SplitSpec{SplitSpec::Kind::kRandom, 0.1, 0};
  // Seed of a random split.
  uint64_t seed = 1;
  // Optional item metadata (titles and genres).
  std::string items_path;
  ItemReadOptions items;
  // Optional item labels beyond the genres, for the server's filters
  // (format: item_label_reader.h). Published with the snapshot for the items
  // it holds (labels of other items are counted and ignored). Needs
  // retrieval embeddings (the snapshot format that carries labels has them).
  std::string item_labels_path;
  ItemLabelReadOptions item_labels;
  // Optional user labels (the same format, keyed by user id: what is known
  // of the users, e.g. "age:25-34|occupation:writer"), features of the
  // users for the rating model (BpmfOptions::user_labels); not published.
  std::string user_labels_path;
  ItemLabelReadOptions user_labels = {.ids = "user"};
  // Optional item tags (MovieLens tags.csv: item_tag_reader.h), attributes
  // of the items for the attribute maps (cold_items.h); not published.
  std::string item_tags_path;
  ItemTagReadOptions item_tags;
};

// Which models a training run publishes.
enum class PublishedModels {
  // Both models trained again on every input rating with the settings that
  // validation chose. Default.
  kRefit,
  // Exactly the models that were evaluated (trained without the held-out
  // ratings); their seen lists still hold every input rating of the users
  // and items they know.
  kEvaluated,
};

struct SnapshotOutput {
  // Snapshot root under which a new version is published; empty publishes
  // nothing.
  std::string root;
  // Version folders to keep (see PublishOptions::keep_versions). Default 5.
  int32_t keep_versions = 5;
  // When set, the server's HNSW indexes are built with these parameters and
  // published with the version.
  std::optional<ItemIndexOptions> index;
};

struct TrainingPipelineOptions {
  RatingSource data;
  TwoStageTrainingOptions training;
  // How the held-out ratings are evaluated (K, relevance, sampled users).
  TopNOptions evaluation;
  PublishedModels published = PublishedModels::kRefit;
  SnapshotOutput output;
  // Share of the users with at least 2 training ratings held out of training
  // to measure request-time fold-in (fold_in_evaluation.h), with the
  // settings validation chose; in [0, 1), 0 turns it off. It costs two more
  // trainings (without validation). Skipped without a split (nothing is
  // evaluated) and without retrieval embeddings (nothing is folded in).
  // Default 0.1.
  double fold_in_users = 0.1;
  // The fold-in evaluation runs on the ratings of a random sample of the
  // users holding about this many training ratings (all of them when there
  // are fewer), fold_in_users of them held out, so that its two trainings
  // cost what validation's do at any size. Default 2,000,000.
  int64_t fold_in_sample = 2'000'000;
  // New items from their metadata (cold_items.h): with item metadata and
  // retrieval embeddings, the maps from item attributes to both models'
  // spaces are learned and published, the metadata's items without
  // interactions are published as cold items, and, with a split, the
  // cold-item evaluation runs.
  ColdItemOptions cold;
};

// What the run saw and did. Reported to the observer as it happens.
struct DataSummary {
  // Star ratings or events (resolved from the read options and the files).
  Feedback feedback = Feedback::kExplicit;
  int32_t users = 0;  // with at least one training rating
  int32_t items = 0;
  int64_t train_ratings = 0;
  int64_t test_ratings = 0;
  RatingScale scale;  // explicit feedback only
  // Implicit feedback: training cells whose events were negative.
  int64_t negative = 0;
  int64_t catalog_items = 0;  // items with metadata
};

// What became of the item labels file.
struct ItemLabelSummary {
  // Items of the data (the published items when publishing, else the
  // training set's) that got labels, and the distinct labels among them.
  int64_t items = 0;
  int64_t distinct_labels = 0;
  // Items of the file that the data lacks, ignored.
  int64_t unknown_items = 0;
};

// What became of the user labels file.
struct UserLabelSummary {
  // Users of the published data (the training set, or every rating after
  // a refit) that got labels, the distinct labels among them, and the
  // file's users the published data lacks (ignored).
  int64_t users = 0;
  int64_t distinct_labels = 0;
  int64_t unknown_users = 0;
};

struct TrainingRun {
  DataSummary data;
  // The models as evaluated, and the choices validation made.
  TwoStageTrainingResult trained;
  // Held-out evaluation; nullopt without a split.
  std::optional<EvaluationReport> evaluation;
  // Request-time fold-in on held-out users; nullopt when not run (see
  // TrainingPipelineOptions::fold_in_users).
  std::optional<FoldInEvaluation> fold_in;
  // Set when an item labels file was given.
  std::optional<ItemLabelSummary> labels;
  // Set when a user labels file was given.
  std::optional<UserLabelSummary> user_labels;
  // The cold-item split evaluation; nullopt when not run.
  std::optional<ColdItemEvaluation> cold_evaluation;
  // The published attribute maps, and how many cold items the snapshot
  // holds; nullopt when none were learned.
  std::optional<ItemAttributeFit> attributes;
  int32_t cold_items = 0;
  // Why the cold-item evaluation or the maps were skipped (the metadata
  // could not support them: too few items, no attribute on the data's
  // items, ...); empty when they ran or were not asked for.
  std::string cold_evaluation_skipped;
  std::string attributes_skipped;
  // Whether the published models were refitted on every input rating, and
  // how long that took.
  bool refitted = false;
  double refit_seconds = 0;
  // The metrics recorded in the snapshot manifest (held-out figures, genre
  // agreement of the published models, timings) and the training
  // parameters with "published" (see TrainingReportJson), as JSON objects.
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json params = nlohmann::json::object();
  // The published version ("v000003") and its folder; empty when nothing was
  // published.
  std::string version;
  std::string version_dir;
  double seconds = 0;
  double index_seconds = 0;
};

// Optional callbacks, each run on the calling thread as the step happens.
struct PipelineObserver {
  std::function<void(const std::string& path, const RatingReadReport&)>
      on_ratings_read;
  std::function<void(const std::string& path, const ItemReadReport&)>
      on_items_read;
  std::function<void(const std::string& path, const ItemLabelReadReport&)>
      on_item_labels_read;
  std::function<void(const std::string& path, const ItemLabelReadReport&)>
      on_user_labels_read;
  std::function<void(const std::string& path, const ItemTagReadReport&)>
      on_item_tags_read;
  std::function<void(const DataSummary&)> on_data;
  // Phases and epochs of every model trained.
  TrainingObserver training;
  std::function<void(const TwoStageTrainingResult&)> on_trained;
  std::function<void(const EvaluationReport&)> on_evaluated;
  // Before the fold-in evaluation trains its two models (their phases and
  // epochs are not reported), and after it.
  std::function<void(const FoldInSplit&)> on_fold_in_start;
  std::function<void(const FoldInEvaluation&)> on_fold_in;
  // Before the refit on every input rating starts.
  std::function<void(const DataSummary& all)> on_refit;
  // Before the cold-item evaluation trains its model, and after it.
  std::function<void()> on_cold_evaluation_start;
  std::function<void(const ColdItemEvaluation&)> on_cold_evaluated;
  // After the published attribute maps are learned and the cold items
  // added.
  std::function<void(const ItemAttributeFit&, int32_t cold_items)>
      on_attributes;
  // When the cold-item evaluation or the maps are skipped, with why.
  std::function<void(const std::string& what, const absl::Status& why)>
      on_cold_items_skipped;
  std::function<void(const TrainingRun&)> on_published;
};

// Sets the seed and worker threads (0 = all cores) of every step: the split,
// each model, validation and evaluation.
void SetSeedAndThreads(uint64_t seed, int32_t threads,
                       TrainingPipelineOptions* options);

// Runs the pipeline above. Errors: InvalidArgument for inconsistent options
// (no ratings, both a ratings file and a train/test pair, fold_in_users out
// of range, item labels without retrieval, events without retrieval, user
// labels with events, item tags without item metadata or with cold items off,
// a training and a test file of different feedback kinds, ...), and those of
// reading, training, publishing and building indexes, each naming the file or
// the setting.
absl::StatusOr<TrainingRun> RunTrainingPipeline(
    const TrainingPipelineOptions& options,
    const PipelineObserver& observer = {});

// The report the trainer writes as JSON: every metric, parameter, count and
// timing of `run`, the rating model's epoch history, and "published":
// "refit" (refitted on every input rating after evaluation), "evaluated"
// (the evaluated models), "all_ratings" (nothing held out: trained on every
// rating) or "none" (nothing published); "fold_in" (FoldInToJson) when the
// fold-in evaluation ran, "item_labels" (items, distinct_labels,
// unknown_items) and "user_labels" (users, distinct_labels, unknown_users)
// when those files were given; "cold_items" (ColdItemsJson) when
// attribute maps were learned or the cold-item evaluation ran.
nlohmann::json TrainingReportJson(const TrainingRun& run);

}  // namespace recserve

#endif  // RECSERVE_CORE_PIPELINE_TRAINING_PIPELINE_H_
