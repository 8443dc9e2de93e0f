#ifndef RECSERVE_CORE_SNAPSHOT_SNAPSHOT_WRITER_H_
#define RECSERVE_CORE_SNAPSHOT_SNAPSHOT_WRITER_H_

// Writes a trained model as a new snapshot version and publishes it
// atomically, so that a reader (Snapshot::LoadLatest) never sees a partial
// snapshot and a crash at any point leaves the previous LATEST valid.
//
// Protocol, under root R:
//  1. write every file into R/.tmp-<version>-<pid>-<random>/ and fsync each;
//  2. take an exclusive flock on R/.publish.lock (released by the kernel if
//     the process dies), pick the next version number, write manifest.json,
//     fsync it and the folder, check that the folder Loads, then rename it to
//     R/vNNNNNN without replacing anything (if the name was taken by a
//     publisher that ignores the lock, take the next number and retry);
//  3. fsync R, write R/LATEST.tmp, fsync it, rename it over R/LATEST, fsync R;
//  4. prune old versions and remove stale temporary entries.
// Files are never modified after publishing, so readers may mmap them.
//
// Format: the writer picks the lowest manifest format_version that can hold
// the contents (see snapshot_manifest.h). Without retrieval embeddings the
// snapshot is format 1 with exactly the files and fields earlier builds
// wrote, so older readers keep reading it; with them it is format 2, which adds
// user_embeddings.npy, item_embeddings.npy and the "retrieval" and "ranking"
// manifest fields; with fold-in parameters too, format 3, which adds
// "fold_in", user_seen_ratings.npy and item_labels.txt; with implicit
// feedback, or fold-in parameters whose confidence scale is not the default
// (linear, epsilon 1, reg_exponent 0), format 4, which adds "feedback",
// "events" and the confidence scale; with cold items or attribute maps
// (contents.cold_items, contents.attributes), format 5, which adds
// "cold_items", "attributes" and attribute_map_rating.npy /
// attribute_map_retrieval.npy; with fold-in parameters whose recency_weight
// is > 0, format 6, which adds fold_in.retrieval "recency_weight" and
// "recency_horizon" and user_seen_later.npy; with an item-item model
// (contents.item_item), format 7, which adds "item_item" and item_item.npy
// (and, as format 6, the recency fields and user_seen_later.npy); with a
// rating model that has an ordinal output (contents.model->ordinal), format
// 8, which adds "ordinal_output" (and, as format 7, the recency fields and
// user_seen_later.npy).
//
// Publishing an implicit-feedback (events-only) snapshot:
//   SnapshotContents c;
//   c.feedback = Feedback::kImplicit;
//   c.train = &train;            // values signed as rating_reader.h makes them
//   c.model = nullptr;           // no rating model
//   c.retrieval = &retrieval;    // TrainImplicitAls's embeddings
//   c.fold_in = &fold_in;        // fold_in.rating empty; retrieval settings
//                                // as trained (scale, epsilon, reg_exponent)
//   c.events = &events;          // every event type of the data, or null
//   c.algo = "ials"; ...         // as for explicit snapshots
//   PublishSnapshot(root, c);

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/data/data_fingerprint.h"  // IWYU pragma: export
#include "core/data/event_weights.h"
#include "core/data/item_metadata.h"
#include "core/data/ratings.h"
#include "core/model/attribute_map.h"
#include "core/model/item_item_model.h"
#include "core/model/mf_model.h"
#include "core/model/retrieval_model.h"
#include "core/model/two_stage_scorer.h"
#include "core/model/user_fold_in.h"
#include "core/snapshot/snapshot_manifest.h"

namespace recserve {

// What a trainer hands over. Pointers are borrowed for the duration of the
// PublishSnapshot call only.
struct SnapshotContents {
  // What the model learned from: kExplicit (ratings: a rating model, and
  // optionally retrieval embeddings) or kImplicit (events: retrieval
  // embeddings only). kAuto is InvalidArgument. Default kExplicit.
  Feedback feedback = Feedback::kExplicit;
  // Required: the id maps the model indexes into and the training ratings,
  // from which the seen items, item popularity, num_ratings and data
  // fingerprint (FingerprintRatings, core/data/data_fingerprint.h) are derived.
  // Implicit feedback: values are signed (confidence.h), any finite number;
  // a pair's values are summed into one seen cell, and item popularity
  // counts the users whose cell is positive. Timestamps order each user's
  // seen cells (a cell at its pair's latest) for user_seen_later.npy.
  const Dataset* train = nullptr;
  // Explicit feedback: required, a model over train's users and items.
  // Its ordinal output (MfModel::ordinal), when not empty, must be valid for
  // its scale (ValidateOrdinalOutput) and needs retrieval and fold_in; it is
  // recorded as manifest "ordinal_output" (format 8). Day biases are not
  // recorded. Implicit feedback: must be null (the snapshot records factors
  // 0, global mean 0 and rating scale [0, 0]).
  const MfModel* model = nullptr;
  // Optional titles and genres keyed by external item id; when set, the
  // snapshot carries item_titles.txt and item_genres.txt.
  const ItemCatalog* items = nullptr;
  // How the model was made: "als", "sgd", "import", ...; required.
  std::string algo;
  // Recorded as is in manifest.json; must be a JSON object.
  nlohmann::json training_params = nlohmann::json::object();
  // An object of finite numbers, nulls and nested such objects.
  nlohmann::json metrics = nlohmann::json::object();

  // Optional retrieval embeddings: user_factors num_users x k and
  // item_factors num_items x k (rows indexed like train's users and items,
  // any k >= 1, finite); loss_history is not recorded. When set, the snapshot
  // is format 2 and carries user_embeddings.npy, item_embeddings.npy,
  // retrieval_params and ranking. When null, it is format 1 and
  // retrieval_params and ranking are ignored (not checked, not recorded):
  // the server then ranks as Snapshot::ranking() documents for format 1.
  const RetrievalModel* retrieval = nullptr;
  // How the embeddings were made, recorded as manifest retrieval.params; must
  // be a JSON object.
  nlohmann::json retrieval_params = nlohmann::json::object();
  // The two-stage ranking the server must run: candidates >= 1, blend_weight
  // in [0, 1]. Implicit feedback has no rerank: the snapshot records
  // blend_weight 1 (the retrieval order) whatever is set here.
  TwoStageOptions ranking;
  // Optional, and only with retrieval: how the server folds users in
  // (user_fold_in.h), valid for the model's factors. When set, the snapshot
  // is format 3 (format 4 when its confidence scale is not the default,
  // format 6 when its recency_weight is > 0, format 7 with item_item, format
  // 8 with the model's ordinal output) and also carries each seen item's
  // rating (user_seen_ratings.npy) and, with recency, item_item or an
  // ordinal output, its later count (user_seen_later.npy). Implicit
  // feedback: required, with an empty rating prior (FoldInParams::
  // has_rating() false; ValidateFoldInParams with kNoRatingModel).
  const FoldInParams* fold_in = nullptr;
  // Optional, and only with fold_in: labels beyond the genres, keyed by
  // external item id (item_labels.txt).
  const ItemLabelMap* labels = nullptr;
  // Implicit feedback only (else must be null): how event types count,
  // recorded as manifest "events" so that the server weighs a request's
  // events alike and rejects types it does not know. Put every event type
  // of the data in `weights` (weight 1 when it has none) and the negative
  // ones in `negative` too. Null records no event types (data without an
  // event column, e.g. play counts).
  const EventWeights* events = nullptr;
  // Optional (format 5): the last `cold_items` items of train's item map are
  // cold — no rating of train may reference them; their model rows and
  // embeddings come from `attributes`. Requires `attributes` when > 0.
  int32_t cold_items = 0;
  // Optional (format 5), only with retrieval: the featurization and maps
  // (rating map exactly when there is a model, of width factors + 1;
  // retrieval map of the embeddings' width), recorded so that new items can
  // be added later (core/pipeline/add_items.h).
  const ItemAttributeModel* attributes = nullptr;
  // Optional (format 7), only with retrieval and fold_in: an item-item
  // model (core/model/item_item_model.h) over the leading items of train,
  // recorded as manifest "item_item" and item_item.npy. Its num_items()
  // must be in [1, train's items - cold_items] (the items with
  // interactions), its weights num_items() x num_items() with every value
  // finite and within ±kMaxModelMagnitude (snapshot.h), reg finite and > 0,
  // recency_weight finite and >= 0, recency_horizon finite and > 0.
  const ItemItemModel* item_item = nullptr;
};

struct PublishOptions {
  // How many version folders to keep after publishing, newest first,
  // counting the new one; the folder LATEST names is never deleted. 0 keeps
  // every version. Default 5.
  int keep_versions = 5;
  // Leftover temporary entries (".tmp-*", from publishers that crashed)
  // older than this are removed. Must exceed the time a publisher takes to
  // write its files, or a slow concurrent publisher loses its folder (and
  // fails; nothing else breaks). Default 1 hour.
  absl::Duration stale_temp_age = absl::Hours(1);
  // Called with the complete temporary folder (final manifest.json written,
  // checked to load) under the publish lock, just before it is renamed into
  // place: files it adds there are published with the version (the trainer
  // saves HNSW indexes this way, so no server ever sees the version without
  // them). An error aborts the publish. Optional.
  std::function<absl::Status(const std::string& dir)> before_rename;
};

// Writes `contents` as a new version under `root` (created if missing),
// publishes it (LATEST names it once this returns OK) and returns its name,
// e.g. "v000003". Safe to call concurrently from several processes on the
// same root; each gets its own version.
// Errors: InvalidArgument if contents is incomplete or inconsistent (model or
// embedding shape differs from train's id maps, a model, no retrieval or no
// fold_in for implicit feedback, non-finite values or values beyond
// ±kMaxModelMagnitude, cold items that are rated or without attributes,
// attribute maps of the wrong shape, an item-item model too large for the
// items with interactions or not square, an ordinal output invalid for the
// model's scale or without retrieval and fold_in, an id
// containing a newline, rating indices out of range, metrics not numbers,
// ranking out of range, ...); I/O
// errors from the file system. On error LATEST is unchanged unless the error
// happened after the rename (then the new version is complete and valid).
// Pruning failures are ignored (retried by the next publish).
absl::StatusOr<std::string> PublishSnapshot(
    const std::string& root, const SnapshotContents& contents,
    const PublishOptions& options = PublishOptions());

// For publishers that derive a version from a published one
// (core/pipeline/add_items.h) instead of from trained contents: publishes
// `manifest` (complete but for `files`, `version` and `created_at`, which are
// set here) with the files `write_files` writes into the temporary folder it
// is given, through the same protocol, checks and options as
// PublishSnapshot. `write_files` must record every file it writes in
// manifest->files (WriteSnapshotFile does; a file hard-linked or copied from
// another version may reuse that version's entry). The whole folder must
// then Load. Errors: InvalidArgument when `manifest` does not validate;
// those of `write_files`; Internal when the folder does not load; else as
// PublishSnapshot.
absl::StatusOr<std::string> PublishSnapshotFiles(
    const std::string& root, SnapshotManifest manifest,
    const std::function<absl::Status(const std::string& dir,
                                     SnapshotManifest* manifest)>& write_files,
    const PublishOptions& options = PublishOptions());

// Writes `pieces`, concatenated, as `dir`/`name` (durably: fsynced) and
// records its size and CRC-32 in manifest->files[name]. Errors: the I/O
// error naming the path.
absl::Status WriteSnapshotFile(const std::string& dir, const std::string& name,
                               absl::Span<const absl::string_view> pieces,
                               SnapshotManifest* manifest);

}  // namespace recserve

#endif  // RECSERVE_CORE_SNAPSHOT_SNAPSHOT_WRITER_H_
