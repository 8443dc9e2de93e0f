#ifndef RECSERVE_CORE_SNAPSHOT_SNAPSHOT_MANIFEST_H_
#define RECSERVE_CORE_SNAPSHOT_SNAPSHOT_MANIFEST_H_

// manifest.json: what a snapshot version folder holds, how it was trained,
// and the size and checksum of every other file in the folder. Also the
// naming rule for version folders ("v000001", "v000002", ...).
//
// Format versions (this build reads every one):
//  1: the rating model (biased MF), ids, seen items, popularity, metadata.
//  2: format 1 plus retrieval embeddings ("retrieval", the files
//     user_embeddings.npy and item_embeddings.npy) and the two-stage ranking
//     configuration ("ranking"). Both fields are required from format 2 on
//     and rejected in format 1.
//  3: format 2 plus what request-time fold-in needs: "fold_in" (the rating
//     model's user prior and the retrieval model's user step, see
//     user_fold_in.h) and the file user_seen_ratings.npy; optionally
//     item_labels.txt. "fold_in" is required in format 3 and rejected
//     before.
//  4: format 3 plus what implicit feedback needs: "feedback" ("explicit" or
//     "implicit", required), the retrieval fold-in's confidence scale
//     (fold_in.retrieval "scale", "epsilon", "reg_exponent", required) and,
//     for implicit feedback, "events" (how event types count, required).
//     An implicit snapshot holds the retrieval model only: no rating model
//     files, factors 0, no fold_in.rating; its user_seen_ratings.npy holds
//     each seen cell's signed value (confidence.h). An explicit snapshot is
//     format 4 only when its confidence scale is not the default (linear,
//     epsilon 1, reg_exponent 0), which format 3 implies.
//  5: format 4 plus cold items (core/data/item_attributes.h,
//     core/model/attribute_map.h): "cold_items" (required: how many of the
//     last item ids were placed from their attributes, without
//     interactions; 0 to num_items) and, optionally, "attributes" (the
//     featurization {"options": {"year_bucket_years", "max_title_words",
//     "max_tags", "min_items"}, "names": [...]} and the ridge
//     regularizations "rating_reg" and "retrieval_reg" of the maps, whose
//     weights are the files attribute_map_rating.npy (with a rating model)
//     and attribute_map_retrieval.npy). cold_items > 0 requires
//     "attributes". Both fields are rejected before format 5. A writer
//     uses format 5 only for a snapshot with cold items or attributes.
//  6: format 5 plus recency-weighted fold-in (core/model/recency_factors.h):
//     fold_in.retrieval "recency_weight" (>= 0) and "recency_horizon" (> 0),
//     both required, and the file user_seen_later.npy (the order of each
//     user's training interactions), required. Both fields are rejected
//     before format 6, where the weight is 0 (no recency weighting) and the
//     horizon is not recorded. A writer uses format 6 only for a snapshot
//     whose recency_weight is > 0. A new version rather than optional fields
//     of format 5: readers reject fields and files they do not know, and a
//     reader that ignored them would fold users in unweighted; with a new
//     version, an older reader refuses the snapshot as "unsupported
//     format_version 6" and keeps serving the one it has.
//  7: format 6 plus, optionally, an item-item retrieval model
//     (core/model/item_item_model.h, EASE): "item_item" {"items": m, "reg",
//     "recency_weight", "recency_horizon"} and the file item_item.npy (its
//     m x m weights), both or neither; m counts the leading items the model
//     was trained on, 1 to num_items - cold_items. Rejected before format 7.
//     A writer uses format 7 only for a snapshot with an item-item model.
//  8: format 7 plus, optionally, the rating model's ordinal output
//     (core/model/ordinal_output.h): "ordinal_output" {"cutpoints": [K - 1
//     numbers], "stddev": number} for a rating scale of K values, valid for
//     the scale (ValidateOrdinalOutput) and only with a rating model
//     (explicit feedback). Rejected before format 8: a reader that ignored
//     it would serve clamped scores instead of expected ratings. A writer
//     uses format 8 only for a snapshot whose model has an ordinal output.
// A writer uses the lowest version that can hold what it writes, so that a
// snapshot without retrieval embeddings is a format-1 snapshot that older
// readers still read.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/event_weights.h"
#include "core/data/item_attributes.h"
#include "core/data/ratings.h"
#include "core/model/item_item_model.h"
#include "core/model/ordinal_output.h"
#include "core/model/two_stage_scorer.h"
#include "core/model/user_fold_in.h"

namespace recserve {

// The manifest formats this build reads (and writes): every version in
// [kMinSnapshotFormatVersion, kMaxSnapshotFormatVersion].
inline constexpr int kMinSnapshotFormatVersion = 1;
inline constexpr int kMaxSnapshotFormatVersion = 8;
// The first format with retrieval embeddings and a ranking configuration.
inline constexpr int kRetrievalSnapshotFormatVersion = 2;
// The first format with fold-in parameters, seen ratings and labels.
inline constexpr int kFoldInSnapshotFormatVersion = 3;
// The first format with "feedback": implicit snapshots, and confidence
// scales.
inline constexpr int kFeedbackSnapshotFormatVersion = 4;
// The first format with cold items and attribute maps.
inline constexpr int kColdItemsSnapshotFormatVersion = 5;
// The first format with recency-weighted fold-in and the seen order.
inline constexpr int kRecencySnapshotFormatVersion = 6;
// The first format with an (optional) item-item model.
inline constexpr int kItemItemSnapshotFormatVersion = 7;
// The first format with an (optional) ordinal output of the rating model.
inline constexpr int kOrdinalSnapshotFormatVersion = 8;
inline constexpr absl::string_view kBiasedMfModelKind = "biased_mf";

// Size and CRC-32 (zlib) of one file of a snapshot.
struct SnapshotFileInfo {
  uint64_t bytes = 0;
  uint32_t crc32 = 0;

  bool operator==(const SnapshotFileInfo&) const = default;
};

// The "retrieval" object of a format-2 manifest: the embeddings' width and
// how they were made.
struct SnapshotRetrievalInfo {
  int32_t factors = 0;  // k >= 1: columns of both embedding arrays
  nlohmann::json params = nlohmann::json::object();  // free object
};

// The "attributes" object of a format-5 manifest (core/data/item_attributes.h
// and core/model/attribute_map.h): the featurization and the ridge
// regularization of each map.
struct SnapshotAttributesInfo {
  ItemAttributeOptions options;
  std::vector<std::string> names;  // AttributeSpec::names()
  float rating_reg = 0.0f;         // 0 without a rating model
  float retrieval_reg = 0.0f;
};

// The "item_item" object of a format-7 manifest: the item-item model's size
// and parameters (core/model/item_item_model.h); its weights are the file
// item_item.npy.
struct SnapshotItemItemInfo {
  // m: the model's rows and columns, the leading items of the catalog it was
  // trained on; 1 to num_items - cold_items.
  int32_t items = 0;
  // reg > 0, recency_weight >= 0 and recency_horizon > 0, all finite.
  ItemItemParams params;
};

// The parsed manifest.json. A plain value type.
struct SnapshotManifest {
  int format_version = kMinSnapshotFormatVersion;
  std::string model_kind{kBiasedMfModelKind};
  // How the factors were made: "als", "sgd", "import", ... (informational;
  // any non-empty string is accepted).
  std::string algo;
  int32_t factors = 0;
  int32_t num_users = 0;
  int32_t num_items = 0;
  int64_t num_ratings = 0;  // training ratings
  RatingScale rating_scale;
  float global_mean = 0.0f;
  nlohmann::json training_params = nlohmann::json::object();  // free object
  // Free object whose values are finite numbers, null (not computed) or
  // objects of the same kind, e.g. {"rmse": 0.91, "test": {"mae": 0.72}}.
  nlohmann::json metrics = nlohmann::json::object();
  std::string data_fingerprint;  // FingerprintRatings() of the training data
  std::string created_at;        // RFC 3339 UTC, e.g. "2024-05-01T12:00:00Z"
  std::string version;           // the folder name, e.g. "v000007"
  // Every file of the folder except manifest.json, by file name.
  std::map<std::string, SnapshotFileInfo> files;
  // Format 2 only, and then both required: the retrieval embeddings and the
  // ranking the server runs, {"candidates": C, "blend_weight": w}.
  std::optional<SnapshotRetrievalInfo> retrieval;
  std::optional<TwoStageOptions> ranking;
  // Format 3 on, and there required: {"rating": {"mean": [k+1 numbers],
  // "precision": [k+1 numbers], "scales_with_count": bool}, "retrieval":
  // {"reg", "alpha", "unobserved_weight"}}, k = factors; from format 4
  // "retrieval" also holds "scale" ("linear" or "log"), "epsilon" and
  // "reg_exponent", and "rating" is absent for implicit feedback
  // (fold_in->has_rating() false); from format 6 "retrieval" also holds
  // "recency_weight" and "recency_horizon" (before, the weight is 0 and the
  // horizon its default).
  std::optional<FoldInParams> fold_in;
  // Format 4 "feedback": kExplicit or kImplicit (never kAuto). Earlier
  // formats are explicit.
  Feedback feedback = Feedback::kExplicit;
  // Format 4, implicit feedback only, and there required: {"weights":
  // {type: weight, ...}, "negative": [type, ...]} (event_weights.h). Names
  // non-empty; weights finite and > 0. The types a request's
  // Interaction.event may name are those of both.
  std::optional<EventWeights> events;
  // Format 5: items the snapshot holds without interactions ("cold": their
  // rows mapped from attributes), the last `cold_items` of the item ids;
  // 0 before format 5.
  int32_t cold_items = 0;
  // Format 5, optional: how items are featurized and mapped to the model's
  // spaces (the maps' weights are the files attribute_map_*.npy), so that
  // new items can be added without retraining. Required when cold_items > 0.
  std::optional<SnapshotAttributesInfo> attributes;
  // Format 7, optional: the item-item retrieval model's size and parameters
  // (its weights are the file item_item.npy).
  std::optional<SnapshotItemItemInfo> item_item;
  // Format 8, optional: the rating model's ordinal output (MfModel::ordinal),
  // {"cutpoints": [...], "stddev": σ}; empty when absent (and then not
  // written).
  OrdinalOutput ordinal_output;
};

// Checks every field: format_version supported (FailedPrecondition naming the
// supported versions otherwise), model_kind "biased_mf", algo non-empty,
// counts non-negative, rating scale finite with min <= max and step > 0,
// global_mean finite, training_params an object, metrics as documented
// above, data_fingerprint non-empty, created_at RFC 3339 ending in 'Z',
// version a valid version name, file names plain (no '/', not "." or "..",
// not manifest.json); in format 2, retrieval and ranking present with
// retrieval.factors >= 1, retrieval.params an object, ranking.candidates >= 1
// and ranking.blend_weight in [0, 1]; in format 1, both absent; from format
// 3, fold_in present and valid (ValidateFoldInParams), before it absent;
// before format 4, feedback explicit, no events and the default confidence
// scale; in format 4 with implicit feedback, factors 0, events present and
// valid and fold_in without a rating prior, with explicit feedback no
// events; before format 5, cold_items 0 and no attributes; in format 5,
// cold_items in [0, num_items], attributes present when cold_items > 0,
// and attributes (when present) with options and names AttributeSpec::
// FromNames accepts and regularizations finite and >= 0 (rating_reg 0
// without a rating model); before format 6, fold_in.retrieval.
// recency_weight 0; before format 7, no item_item, and from format 7 an
// item_item (when present) with items in [1, num_items - cold_items], reg
// finite and > 0, recency_weight finite and >= 0 and recency_horizon finite
// and > 0; before format 8, no ordinal_output, and from format 8 an
// ordinal_output (when not empty) valid for rating_scale
// (ValidateOrdinalOutput) and only with explicit feedback. (Which files the
// folder lists is checked by Snapshot::Load.)
// Errors: InvalidArgument naming the field.
absl::Status ValidateManifest(const SnapshotManifest& manifest);

// Serializes to pretty-printed JSON (2-space indent, keys sorted, trailing
// newline); "retrieval" and "ranking" are written when set, "ordinal_output"
// when not empty. Does not validate; call ValidateManifest first.
std::string ManifestToJson(const SnapshotManifest& manifest);

// Parses manifest.json strictly: valid JSON, an object holding exactly the
// fields above with the right JSON types (integers for counts, "8 hex digit"
// strings for crc32), no unknown fields (in format 1, "retrieval" and
// "ranking" are errors), then ValidateManifest. Errors:
// InvalidArgument "manifest.json: ..." naming the field; FailedPrecondition
// for an unsupported format_version.
absl::StatusOr<SnapshotManifest> ParseManifest(absl::string_view json_text);

// Version folder names: "v" followed by at least 6 decimal digits, the number
// zero-padded to 6 ("v000001", "v1234567"). Number 0 is not a valid version.
std::string FormatVersionName(int64_t number);
// The number of a valid version name, or -1 if `name` is not one.
int64_t ParseVersionName(absl::string_view name);

// The current time as RFC 3339 UTC with second precision.
std::string NowRfc3339();

}  // namespace recserve

#endif  // RECSERVE_CORE_SNAPSHOT_SNAPSHOT_MANIFEST_H_
