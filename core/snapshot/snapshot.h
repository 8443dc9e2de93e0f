#ifndef RECSERVE_CORE_SNAPSHOT_SNAPSHOT_H_
#define RECSERVE_CORE_SNAPSHOT_SNAPSHOT_H_

// A published model snapshot, loaded and validated: what the server serves.
//
// A snapshot root folder holds one folder per version ("v000001",
// "v000002", ...; see snapshot_writer.h for how they are published) and a
// LATEST file naming the current one. Entries starting with '.' are a
// publisher's temporary state and are ignored here.

#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/base/mapped_file.h"
#include "core/data/event_weights.h"
#include "core/data/ratings.h"
#include "core/model/attribute_map.h"
#include "core/model/mf_model.h"
#include "core/model/ordinal_output.h"
#include "core/model/two_stage_scorer.h"
#include "core/model/user_fold_in.h"
#include "core/snapshot/snapshot_manifest.h"

namespace recserve {

// Model values (factors, biases, embeddings, attribute maps, item-item
// weights) lie within ±kMaxModelMagnitude: beyond it scores and fold-in
// solves overflow to infinity and then NaN. The writer refuses more, and so
// does the loader.
inline constexpr float kMaxModelMagnitude = 1e6f;
// What an out-of-range error adds, in both.
inline constexpr char kModelMagnitudeNote[] = " (model values are within ±1e6)";

// File names inside a version folder.
inline constexpr char kManifestFile[] = "manifest.json";
// Every format, every feedback kind:
inline constexpr char kUserIdsFile[] = "user_ids.txt";
inline constexpr char kItemIdsFile[] = "item_ids.txt";
// The rating model (biased MF): every snapshot of explicit feedback, none of
// implicit feedback.
inline constexpr char kUserFactorsFile[] = "user_factors.npy";
inline constexpr char kUserBiasFile[] = "user_bias.npy";
inline constexpr char kItemFactorsFile[] = "item_factors.npy";
inline constexpr char kItemBiasFile[] = "item_bias.npy";
// int32: the number of training ratings of each item; for implicit feedback,
// the number of users with a positive seen cell for it (negative feedback
// does not make an item popular).
inline constexpr char kItemPopularityFile[] = "item_popularity.npy";
// int64 (users + 1) and int32 (nnz): each user's distinct training items, CSR,
// ascending.
inline constexpr char kUserSeenOffsetsFile[] = "user_seen_offsets.npy";
inline constexpr char kUserSeenItemsFile[] = "user_seen_items.npy";
// Optional, both or neither: one line per item, genres '|'-joined.
inline constexpr char kItemTitlesFile[] = "item_titles.txt";
inline constexpr char kItemGenresFile[] = "item_genres.txt";
// Format 2 and later, and there required: float32 retrieval embeddings,
// num_users x k and num_items x k (k = manifest retrieval.factors), C order.
inline constexpr char kUserEmbeddingsFile[] = "user_embeddings.npy";
inline constexpr char kItemEmbeddingsFile[] = "item_embeddings.npy";
// Format 3 on, and there required: float32 (nnz), the rating of each entry
// of user_seen_items.npy (the mean when the training data repeated a pair);
// for implicit feedback the cell's signed value (confidence.h: strength,
// negative when < 0; repeated pairs summed).
inline constexpr char kUserSeenRatingsFile[] = "user_seen_ratings.npy";
// Format 6 on, and there required: int32 (nnz), for each entry of
// user_seen_items.npy how many of the user's seen items are strictly later
// (a seen item's time: the latest of its training interactions). Ranks
// rather than int64 timestamps: all that recency-weighted fold-in needs
// (RecencyFactors ranks by time), in half the bytes. Each value in [0, the
// user's seen items).
inline constexpr char kUserSeenLaterFile[] = "user_seen_later.npy";
// Format 3 on, optional: one line per item, the labels the trainer was
// given beyond its genres, '|'-joined; empty for an item without.
inline constexpr char kItemLabelsFile[] = "item_labels.txt";
// Format 5, with manifest "attributes", and there required: float32
// (attributes + 1) x (factors + 1) and (attributes + 1) x retrieval factors,
// the maps of attribute_map.h (the rating one only with a rating model).
inline constexpr char kAttributeMapRatingFile[] = "attribute_map_rating.npy";
inline constexpr char kAttributeMapRetrievalFile[] =
    "attribute_map_retrieval.npy";
// Format 7, exactly when the manifest has "item_item": float32 m x m (m =
// item_item.items, the leading items of the catalog), C order, the
// item-item model's weights (core/model/item_item_model.h).
inline constexpr char kItemItemFile[] = "item_item.npy";
inline constexpr char kLatestFile[] = "LATEST";

// The version folder names under `root`, ascending by number. Other entries
// are ignored. Errors: NotFound if `root` does not exist, else I/O errors.
absl::StatusOr<std::vector<std::string>> ListVersions(const std::string& root);

// The version folder name in `root`/LATEST. Errors: NotFound if there is no
// LATEST (nothing published yet); FailedPrecondition if LATEST does not hold
// a version name or names a folder that does not exist.
absl::StatusOr<std::string> ResolveLatestVersion(const std::string& root);

// The ranking a format-1 snapshot (which records none) is served with: a pool
// of 200 candidates reranked by the rating model alone (blend_weight 0).
inline constexpr TwoStageOptions kFormat1Ranking{.candidates = 200,
                                                 .blend_weight = 0.0f};

// An immutable, validated snapshot. The factor, embedding, bias, popularity,
// seen and item-item arrays are memory-mapped from the version folder, not
// copied; ids, titles and genres are held in memory. Share it as
// std::shared_ptr<const Snapshot>: every method is const and safe to call from
// any number of threads, and the data stays valid as long as the object
// lives, even after a publisher prunes its folder.
class Snapshot final {
 public:
  // Loads and fully validates one version folder:
  //  - manifest.json parses strictly (see ParseManifest) and, when the folder
  //    is named like a version, its `version` equals the folder name;
  //  - format_version is 1 to 8;
  //  - it lists exactly the snapshot files above (titles and genres both or
  //    neither; the four rating model files exactly when the snapshot has
  //    a rating model, i.e. unless it is implicit feedback; the two
  //    embedding files exactly when the manifest has "retrieval", i.e. from
  //    format 2 on; user_seen_ratings.npy exactly and item_labels.txt only
  //    when it has "fold_in", i.e. from format 3 on; user_seen_later.npy
  //    exactly from format 6 on; attribute_map_retrieval.npy exactly when
  //    it has "attributes" (format 5) and attribute_map_rating.npy exactly
  //    when it has them and a rating model; item_item.npy exactly when it
  //    has "item_item", i.e. only from format 7 on), each exists with the
  //    listed size and CRC-32;
  //  - every .npy has the dtype and shape the manifest's counts (and
  //    retrieval.factors) imply; the attribute maps (attributes.names + 1)
  //    x (factors + 1) and (attributes.names + 1) x retrieval.factors,
  //    finite; item_item.npy item_item.items x item_item.items, with
  //    item_item.items in [1, num_items - cold_items];
  //  - cold items (format 5) have popularity 0 and are in no seen list;
  //  - id files have one line per user/item and no duplicate ids; title and
  //    genre files one line per item;
  //  - seen offsets start at 0, never decrease and end at the number of seen
  //    items; each user's items are in range and strictly ascending;
  //    popularity counts are non-negative and sum to num_ratings (implicit
  //    feedback: each item's count is its number of positive seen cells);
  //  - factors, biases, embeddings, attribute maps and item-item weights
  //    are finite and within ±kMaxModelMagnitude, seen ratings on the
  //    rating scale (implicit feedback: seen values finite); each seen
  //    later count in [0, the user's seen items);
  //  - in format 2, ranking.candidates >= 1 and ranking.blend_weight in
  //    [0, 1];
  //  - an ordinal output (format 8, manifest "ordinal_output") only with a
  //    rating model and valid for the rating scale (ValidateOrdinalOutput:
  //    one cutpoint fewer than the scale's values, finite and strictly
  //    ascending, stddev finite and > 0).
  // Errors name the file and the problem: NotFound for a missing folder or
  // file, DataLoss for a size or checksum mismatch or a truncated file,
  // InvalidArgument for malformed content or counts that disagree,
  // FailedPrecondition for an unsupported format_version. Never reads
  // outside the files, whatever their bytes.
  static absl::StatusOr<std::shared_ptr<const Snapshot>> Load(
      const std::string& version_dir);
  // ResolveLatestVersion(root), then Load of that folder.
  static absl::StatusOr<std::shared_ptr<const Snapshot>> LoadLatest(
      const std::string& root);

  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const SnapshotManifest& manifest() const { return manifest_; }
  const std::string& version() const { return manifest_.version; }
  // The folder it was loaded from, as passed to Load.
  const std::string& dir() const { return dir_; }

  int32_t num_users() const { return manifest_.num_users; }
  int32_t num_items() const { return manifest_.num_items; }
  int32_t factors() const { return manifest_.factors; }
  float global_mean() const { return manifest_.global_mean; }
  const RatingScale& rating_scale() const { return manifest_.rating_scale; }

  // What the model learned from: kExplicit (ratings; formats 1 to 3 always)
  // or kImplicit (events: the retrieval model only, no rating model).
  Feedback feedback() const { return manifest_.feedback; }
  // Whether it has a rating model (user/item factors and biases): false
  // for implicit feedback, whose factors() is 0 and whose bias maps are
  // empty.
  bool has_rating_model() const {
    return manifest_.feedback != Feedback::kImplicit;
  }
  // How event types count (implicit feedback); empty for explicit.
  const EventWeights& events() const;

  // Dense index of an external id, or kUnknownIndex.
  int32_t FindUser(absl::string_view id) const { return users_.Find(id); }
  int32_t FindItem(absl::string_view id) const { return items_.Find(id); }
  // External id of a dense index in [0, num_users()) / [0, num_items()).
  const std::string& UserId(int32_t user) const { return users_.Id(user); }
  const std::string& ItemId(int32_t item) const { return items_.Id(item); }

  // num_users x factors and num_items x factors, row-major.
  Eigen::Map<const FactorMatrix> user_factors() const {
    return Eigen::Map<const FactorMatrix>(user_factors_, num_users(),
                                          factors());
  }
  Eigen::Map<const FactorMatrix> item_factors() const {
    return Eigen::Map<const FactorMatrix>(item_factors_, num_items(),
                                          factors());
  }
  // Sized num_users / num_items; empty without a rating model.
  Eigen::Map<const Eigen::VectorXf> user_bias() const {
    return Eigen::Map<const Eigen::VectorXf>(
        user_bias_, has_rating_model() ? num_users() : 0);
  }
  Eigen::Map<const Eigen::VectorXf> item_bias() const {
    return Eigen::Map<const Eigen::VectorXf>(
        item_bias_, has_rating_model() ? num_items() : 0);
  }

  // Whether the snapshot carries retrieval embeddings (format 2).
  bool has_retrieval() const { return manifest_.retrieval.has_value(); }
  // Their width k; 0 without.
  int32_t retrieval_factors() const {
    return has_retrieval() ? manifest_.retrieval->factors : 0;
  }
  // Retrieval embeddings, num_users x retrieval_factors() and num_items x
  // retrieval_factors(), row-major, indexed like user_factors() and
  // item_factors(): a user's retrieval score for an item is the dot product
  // of their rows. Empty (0 x 0) without retrieval.
  Eigen::Map<const FactorMatrix> user_embeddings() const {
    return has_retrieval()
               ? Eigen::Map<const FactorMatrix>(user_embeddings_, num_users(),
                                                retrieval_factors())
               : Eigen::Map<const FactorMatrix>(nullptr, 0, 0);
  }
  Eigen::Map<const FactorMatrix> item_embeddings() const {
    return has_retrieval()
               ? Eigen::Map<const FactorMatrix>(item_embeddings_, num_items(),
                                                retrieval_factors())
               : Eigen::Map<const FactorMatrix>(nullptr, 0, 0);
  }
  // The two-stage ranking to serve with (see two_stage_scorer.h): the
  // manifest's "ranking" in format 2, kFormat1Ranking in format 1.
  const TwoStageOptions& ranking() const { return ranking_; }

  // The distinct items `user` rated in training, ascending; empty for
  // kUnknownIndex.
  absl::Span<const int32_t> SeenItems(int32_t user) const;
  // Their ratings (implicit feedback: signed values), aligned with
  // SeenItems(user); empty before format 3.
  absl::Span<const float> SeenRatings(int32_t user) const;
  // For each of them, how many of the user's seen items are strictly later
  // (kUserSeenLaterFile), aligned with SeenItems(user); empty before format
  // 6, which means all at the same time.
  absl::Span<const int32_t> SeenLater(int32_t user) const;

  // How to fold users in (manifest "fold_in", format 3), or nullptr when the
  // snapshot does not record it.
  const FoldInParams* fold_in() const {
    return manifest_.fold_in ? &*manifest_.fold_in : nullptr;
  }

  // Item labels: every distinct label (sorted; dense label ids index it),
  // and each item's label ids, ascending. An item's labels are its genres
  // plus the labels of item_labels.txt.
  int32_t num_labels() const { return static_cast<int32_t>(labels_.size()); }
  const std::string& LabelName(int32_t label) const { return labels_[label]; }
  // The label id of a name, or kUnknownIndex.
  int32_t FindLabel(absl::string_view name) const;
  absl::Span<const int32_t> ItemLabels(int32_t item) const;
  // Training rating count of each item (int32), indexed by item.
  absl::Span<const int32_t> item_popularity() const {
    return absl::Span<const int32_t>(item_popularity_,
                                     static_cast<size_t>(num_items()));
  }

  // Whether the snapshot carries titles and genres.
  bool has_item_metadata() const { return has_item_metadata_; }
  // The item's title (UTF-8), or nullptr if it has none.
  const std::string* ItemTitle(int32_t item) const;
  // The item's genres, or nullptr if it has none.
  const std::vector<std::string>* ItemGenres(int32_t item) const;

  // The rating model's ordinal output (manifest "ordinal_output", format
  // 8); empty without one.
  const OrdinalOutput& ordinal_output() const {
    return manifest_.ordinal_output;
  }
  // The rating a rating score stands for (RateScore): with an ordinal
  // output its expected rating, else clamped to the rating scale. Exactly
  // MfModel::Rate of the model that was published.
  float Rate(float score) const {
    return RateScore(score, manifest_.rating_scale, manifest_.ordinal_output);
  }

  // Exactly MfModel::Score / MfModel::Predict of the model that was
  // published: an unknown side (kUnknownIndex) contributes neither bias nor
  // factors; Predict is Rate(Score). Indices must be kUnknownIndex or in
  // range. Without a rating model, 0 (and Predict the clamp of 0): callers
  // check has_rating_model().
  float Score(int32_t user, int32_t item) const;
  float Predict(int32_t user, int32_t item) const {
    return Rate(Score(user, item));
  }

  // Cold items: held without interactions, their factors and embeddings
  // mapped from their attributes (format 5). They are the last
  // num_cold_items() items: [first_cold_item(), num_items()).
  int32_t num_cold_items() const { return manifest_.cold_items; }
  int32_t first_cold_item() const {
    return manifest_.num_items - manifest_.cold_items;
  }
  bool IsColdItem(int32_t item) const { return item >= first_cold_item(); }
  // The featurization and maps new items are placed with, or nullptr when
  // the snapshot has none (before format 5, or trained without metadata).
  const ItemAttributeModel* attributes() const {
    return attributes_ ? &*attributes_ : nullptr;
  }

  // Whether the snapshot carries an item-item model (manifest "item_item",
  // format 7).
  bool has_item_item() const { return manifest_.item_item.has_value(); }
  // Its parameters, or nullptr without.
  const ItemItemParams* item_item() const {
    return has_item_item() ? &manifest_.item_item->params : nullptr;
  }
  // Its weights, m x m, row-major (ItemItemModel::weights), mapped from
  // item_item.npy; m is the number of leading items it was trained on, at
  // most first_cold_item(). Empty (0 x 0) without.
  Eigen::Map<const FactorMatrix> item_item_weights() const {
    const int32_t m = has_item_item() ? manifest_.item_item->items : 0;
    return Eigen::Map<const FactorMatrix>(item_item_, m, m);
  }

  // A copy of the model as an MfModel, its ordinal output included (for
  // tests and conversions).
  MfModel ToModel() const;

 private:
  struct Loader;
  Snapshot() = default;

  // Constant after Load.
  SnapshotManifest manifest_;
  std::string dir_;
  IdMap users_;
  IdMap items_;
  std::vector<MappedFile> mapped_;  // keeps the pointers below valid
  const float* user_factors_ = nullptr;
  const float* item_factors_ = nullptr;
  const float* user_bias_ = nullptr;
  const float* item_bias_ = nullptr;
  const float* user_embeddings_ = nullptr;  // null without retrieval
  const float* item_embeddings_ = nullptr;
  TwoStageOptions ranking_ = kFormat1Ranking;
  const int32_t* item_popularity_ = nullptr;
  const int64_t* seen_offsets_ = nullptr;  // num_users + 1
  const int32_t* seen_items_ = nullptr;
  const float* seen_ratings_ = nullptr;      // null before format 3
  const int32_t* seen_later_ = nullptr;      // null before format 6
  const float* item_item_ = nullptr;         // null without "item_item"
  std::vector<std::string> labels_;          // sorted
  std::vector<int64_t> item_label_offsets_;  // num_items + 1 (or empty)
  std::vector<int32_t> item_labels_;
  std::vector<std::string> titles_;               // empty or num_items
  std::vector<std::vector<std::string>> genres_;  // empty or num_items
  bool has_item_metadata_ = false;
  std::optional<ItemAttributeModel> attributes_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_SNAPSHOT_SNAPSHOT_H_
