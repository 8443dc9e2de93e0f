#include "core/snapshot/snapshot.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/file_util.h"
#include "core/base/npy.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxManifestBytes = size_t{16} << 20;
constexpr size_t kMaxLatestBytes = 4096;

const char* const kRequiredFiles[] = {kUserIdsFile, kItemIdsFile,
                                      kItemPopularityFile, kUserSeenOffsetsFile,
                                      kUserSeenItemsFile};
const char* const kRatingModelFiles[] = {kUserFactorsFile, kUserBiasFile,
                                         kItemFactorsFile, kItemBiasFile};

// Splits a text file into its lines. Every line, including the last, must end
// with '\n'; there must be exactly `expected` of them.
absl::StatusOr<std::vector<absl::string_view>> SplitLines(
    absl::string_view bytes, int64_t expected, const std::string& name,
    absl::string_view count_field) {
  std::vector<absl::string_view> lines;
  if (!bytes.empty()) {
    if (bytes.back() != '\n') {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": last line does not end with a newline"));
    }
    bytes.remove_suffix(1);
    lines = absl::StrSplit(bytes, '\n');
  }
  if (static_cast<int64_t>(lines.size()) != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": has ", lines.size(), " lines, expected ",
                     expected, " (", count_field, " in manifest.json)"));
  }
  return lines;
}

absl::Status ParseIds(absl::string_view bytes, int64_t expected,
                      const std::string& name, absl::string_view count_field,
                      IdMap* ids) {
  ASSIGN_OR_RETURN(std::vector<absl::string_view> lines,
                   SplitLines(bytes, expected, name, count_field));
  ids->Reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    int32_t first = ids->Find(lines[i]);
    if (first != kUnknownIndex) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ":", i + 1, ": duplicate id '", lines[i],
                       "' (also on line ", first + 1, ")"));
    }
    ids->GetOrAdd(lines[i]);
  }
  return absl::OkStatus();
}

// Every value finite, and for model values (`bounded`) within
// ±kMaxModelMagnitude.
absl::Status CheckFinite(absl::Span<const float> values, int64_t cols,
                         const std::string& name, bool bounded = true) {
  for (size_t i = 0; i < values.size(); ++i) {
    const bool bad = !std::isfinite(values[i]) ||
                     (bounded && std::abs(values[i]) > kMaxModelMagnitude);
    if (bad) {
      int64_t c = std::max<int64_t>(cols, 1);
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": ", std::isfinite(values[i]) ? "out-of-range" : "non-finite",
          " value ", values[i], " at row ", static_cast<int64_t>(i) / c,
          ", column ", static_cast<int64_t>(i) % c,
          std::isfinite(values[i]) ? kModelMagnitudeNote : ""));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// Loads the files of one version folder into a Snapshot under construction.
struct Snapshot::Loader {
  std::string dir;
  Snapshot* snap;

  std::string PathOf(absl::string_view file) const {
    return absl::StrCat(dir, "/", file);
  }

  absl::Status LoadManifest() {
    std::string path = PathOf(kManifestFile);
    absl::StatusOr<std::string> text =
        ReadFileToString(path, kMaxManifestBytes);
    if (!text.ok()) return text.status();
    absl::StatusOr<SnapshotManifest> manifest = ParseManifest(*text);
    if (!manifest.ok()) {
      return absl::Status(manifest.status().code(),
                          absl::StrCat(dir, "/", manifest.status().message()));
    }
    snap->manifest_ = *std::move(manifest);
    std::string folder = fs::path(dir).lexically_normal().filename().string();
    if (folder.empty()) {
      folder =
          fs::path(dir).lexically_normal().parent_path().filename().string();
    }
    if (ParseVersionName(folder) > 0 && folder != snap->manifest_.version) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": version is '", snap->manifest_.version,
                       "' but the folder is named '", folder, "'"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckFileList() const {
    const auto& files = snap->manifest_.files;
    std::set<std::string> known(std::begin(kRequiredFiles),
                                std::end(kRequiredFiles));
    for (const char* name : kRequiredFiles) {
      if (!files.count(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            PathOf(kManifestFile), ": does not list required file ", name));
      }
    }
    if (files.count(kItemTitlesFile) != files.count(kItemGenresFile)) {
      return absl::InvalidArgumentError(
          absl::StrCat(PathOf(kManifestFile), ": lists only one of ",
                       kItemTitlesFile, " and ", kItemGenresFile));
    }
    known.insert(kItemTitlesFile);
    known.insert(kItemGenresFile);
    const bool rating_model = snap->has_rating_model();
    for (const char* name : kRatingModelFiles) {
      if (rating_model && !files.count(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            PathOf(kManifestFile), ": does not list required file ", name));
      }
      if (!rating_model && files.count(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kManifestFile), ": lists ", name,
                         " but the snapshot learned from implicit feedback "
                         "and has no rating model"));
      }
      known.insert(name);
    }
    const bool retrieval = snap->manifest_.retrieval.has_value();
    for (const char* name : {kUserEmbeddingsFile, kItemEmbeddingsFile}) {
      if (retrieval && !files.count(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kManifestFile),
                         ": has \"retrieval\" but does not list ", name));
      }
      if (!retrieval && files.count(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kManifestFile), ": lists ", name,
                         " but has no \"retrieval\" (format_version ",
                         snap->manifest_.format_version, ")"));
      }
      known.insert(name);
    }
    const bool fold_in = snap->manifest_.fold_in.has_value();
    if (fold_in && !files.count(kUserSeenRatingsFile)) {
      return absl::InvalidArgumentError(absl::StrCat(
          PathOf(kManifestFile), ": has \"fold_in\" but does not list ",
          kUserSeenRatingsFile));
    }
    for (const char* name : {kUserSeenRatingsFile, kItemLabelsFile}) {
      if (!fold_in && files.count(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kManifestFile), ": lists ", name,
                         " but has no \"fold_in\" (format_version ",
                         snap->manifest_.format_version, ")"));
      }
      known.insert(name);
    }
    const bool seen_later =
        snap->manifest_.format_version >= kRecencySnapshotFormatVersion;
    if (seen_later && !files.count(kUserSeenLaterFile)) {
      return absl::InvalidArgumentError(absl::StrCat(
          PathOf(kManifestFile), ": does not list ", kUserSeenLaterFile,
          ", required from format_version ", kRecencySnapshotFormatVersion));
    }
    if (!seen_later && files.count(kUserSeenLaterFile)) {
      return absl::InvalidArgumentError(absl::StrCat(
          PathOf(kManifestFile), ": lists ", kUserSeenLaterFile,
          ", which needs format_version ", kRecencySnapshotFormatVersion,
          " (it is ", snap->manifest_.format_version, ")"));
    }
    known.insert(kUserSeenLaterFile);
    const bool attributes = snap->manifest_.attributes.has_value();
    for (const char* name :
         {kAttributeMapRatingFile, kAttributeMapRetrievalFile}) {
      const bool wanted =
          attributes &&
          (name != std::string(kAttributeMapRatingFile) || rating_model);
      if (wanted && !files.count(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kManifestFile),
                         ": has \"attributes\" but does not list ", name));
      }
      if (!wanted && files.count(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kManifestFile), ": lists ", name,
                         attributes ? " but the snapshot has no rating model"
                                    : " but has no \"attributes\""));
      }
      known.insert(name);
    }
    const bool item_item = snap->manifest_.item_item.has_value();
    if (item_item && !files.count(kItemItemFile)) {
      return absl::InvalidArgumentError(absl::StrCat(
          PathOf(kManifestFile), ": has \"item_item\" but does not list ",
          kItemItemFile));
    }
    if (!item_item && files.count(kItemItemFile)) {
      return absl::InvalidArgumentError(
          absl::StrCat(PathOf(kManifestFile), ": lists ", kItemItemFile,
                       " but has no \"item_item\" (format_version ",
                       snap->manifest_.format_version, ")"));
    }
    known.insert(kItemItemFile);
    for (const auto& [name, info] : files) {
      if (!known.count(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            PathOf(kManifestFile), ": lists unknown file '", name, "'"));
      }
    }
    return absl::OkStatus();
  }

  // Maps a listed file and checks its size and checksum.
  absl::StatusOr<MappedFile> MapVerified(const std::string& name) const {
    std::string path = PathOf(name);
    const SnapshotFileInfo& info = snap->manifest_.files.at(name);
    absl::StatusOr<MappedFile> file = MappedFile::Open(path);
    if (!file.ok()) {
      if (absl::IsNotFound(file.status())) {
        return absl::NotFoundError(
            absl::StrCat(path, ": listed in manifest.json but missing"));
      }
      return file.status();
    }
    if (file->size() != info.bytes) {
      return absl::DataLossError(absl::StrCat(
          path, ": has ", file->size(), " bytes, manifest.json says ",
          info.bytes, file->size() < info.bytes ? " (truncated)" : ""));
    }
    uint32_t crc = Crc32(file->bytes());
    if (crc != info.crc32) {
      return absl::DataLossError(
          absl::StrCat(path, ": checksum mismatch: crc32 is ", Crc32ToHex(crc),
                       ", manifest.json says ", Crc32ToHex(info.crc32)));
    }
    return file;
  }

  // Maps, verifies and parses a .npy file; keeps the mapping alive in the
  // snapshot and returns its elements.
  template <typename T>
  absl::StatusOr<absl::Span<const T>> LoadArray(const std::string& name,
                                                std::vector<int64_t> shape) {
    ASSIGN_OR_RETURN(MappedFile file, MapVerified(name));
    ASSIGN_OR_RETURN(NpyArray array, ParseNpyAs(file.bytes(), PathOf(name),
                                                NpyDtypeOf<T>::value, shape));
    snap->mapped_.push_back(std::move(file));  // the mapping does not move
    return array.values<T>();
  }

  absl::Status LoadAll() {
    RETURN_IF_ERROR(LoadManifest());
    RETURN_IF_ERROR(CheckFileList());
    const SnapshotManifest& m = snap->manifest_;
    const int64_t users = m.num_users, items = m.num_items, k = m.factors;

    {
      ASSIGN_OR_RETURN(MappedFile f, MapVerified(kUserIdsFile));
      RETURN_IF_ERROR(ParseIds(f.bytes(), users, PathOf(kUserIdsFile),
                               "num_users", &snap->users_));
    }
    {
      ASSIGN_OR_RETURN(MappedFile f, MapVerified(kItemIdsFile));
      RETURN_IF_ERROR(ParseIds(f.bytes(), items, PathOf(kItemIdsFile),
                               "num_items", &snap->items_));
    }

    if (snap->has_rating_model()) {
      RETURN_IF_ERROR(LoadRatingModel(users, items, k));
    }
    if (m.retrieval.has_value()) RETURN_IF_ERROR(LoadRetrieval(users, items));
    snap->ranking_ = m.ranking.value_or(kFormat1Ranking);

    ASSIGN_OR_RETURN(auto popularity,
                     LoadArray<int32_t>(kItemPopularityFile, {items}));
    snap->item_popularity_ = popularity.data();
    // Implicit feedback's counts are checked against the seen cells below.
    if (snap->has_rating_model()) {
      int64_t total = 0;
      for (size_t i = 0; i < popularity.size(); ++i) {
        if (popularity[i] < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(PathOf(kItemPopularityFile), ": negative count ",
                           popularity[i], " for item ", i));
        }
        total += popularity[i];
      }
      if (total != m.num_ratings) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kItemPopularityFile), ": counts sum to ", total,
                         ", manifest.json says num_ratings ", m.num_ratings));
      }
    }

    ASSIGN_OR_RETURN(auto offsets,
                     LoadArray<int64_t>(kUserSeenOffsetsFile, {users + 1}));
    ASSIGN_OR_RETURN(auto seen,
                     LoadArray<int32_t>(kUserSeenItemsFile, {kNpyAnyDim}));
    RETURN_IF_ERROR(CheckSeen(offsets, seen, items));
    snap->seen_offsets_ = offsets.data();
    snap->seen_items_ = seen.data();
    if (m.fold_in.has_value()) {
      ASSIGN_OR_RETURN(auto ratings,
                       LoadArray<float>(kUserSeenRatingsFile,
                                        {static_cast<int64_t>(seen.size())}));
      RETURN_IF_ERROR(CheckFinite(ratings, 1, PathOf(kUserSeenRatingsFile),
                                  /*bounded=*/false));
      snap->seen_ratings_ = ratings.data();
      if (!snap->has_rating_model()) {
        RETURN_IF_ERROR(CheckImplicitPopularity(popularity, seen, ratings));
      }
      for (size_t j = 0; snap->has_rating_model() && j < ratings.size(); ++j) {
        if (ratings[j] < m.rating_scale.min ||
            ratings[j] > m.rating_scale.max) {
          return absl::InvalidArgumentError(absl::StrCat(
              PathOf(kUserSeenRatingsFile), ": rating ", ratings[j],
              " at entry ", j, " is off the rating scale [", m.rating_scale.min,
              ", ", m.rating_scale.max, "]"));
        }
      }
    }

    if (m.files.count(kUserSeenLaterFile)) {
      ASSIGN_OR_RETURN(auto later,
                       LoadArray<int32_t>(kUserSeenLaterFile,
                                          {static_cast<int64_t>(seen.size())}));
      RETURN_IF_ERROR(CheckSeenLater(offsets, later));
      snap->seen_later_ = later.data();
    }

    if (m.files.count(kItemTitlesFile)) RETURN_IF_ERROR(LoadMetadata(items));
    std::vector<absl::string_view> extra_labels;
    MappedFile labels_file;
    if (m.files.count(kItemLabelsFile)) {
      ASSIGN_OR_RETURN(labels_file, MapVerified(kItemLabelsFile));
      ASSIGN_OR_RETURN(extra_labels,
                       SplitLines(labels_file.bytes(), items,
                                  PathOf(kItemLabelsFile), "num_items"));
    }
    IndexLabels(items, extra_labels);
    RETURN_IF_ERROR(CheckColdItems(popularity, seen));
    if (m.attributes.has_value()) RETURN_IF_ERROR(LoadAttributes());
    if (m.item_item.has_value()) RETURN_IF_ERROR(LoadItemItem());
    return absl::OkStatus();
  }

  // The item-item weights: float32 m x m, finite and within
  // ±kMaxModelMagnitude; m (ValidateManifest has checked it) at most the
  // items with interactions.
  absl::Status LoadItemItem() {
    const int64_t m = snap->manifest_.item_item->items;
    ASSIGN_OR_RETURN(auto weights, LoadArray<float>(kItemItemFile, {m, m}));
    RETURN_IF_ERROR(CheckFinite(weights, m, PathOf(kItemItemFile)));
    snap->item_item_ = weights.data();
    return absl::OkStatus();
  }

  // Cold items have no interactions: no popularity, in no seen list.
  absl::Status CheckColdItems(absl::Span<const int32_t> popularity,
                              absl::Span<const int32_t> seen) const {
    const int32_t first = snap->first_cold_item();
    if (first == snap->num_items()) return absl::OkStatus();
    for (size_t i = first; i < popularity.size(); ++i) {
      if (popularity[i] != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kItemPopularityFile), ": cold item ", i,
                         " has count ", popularity[i],
                         "; cold items (the last cold_items of manifest.json) "
                         "have no interactions"));
      }
    }
    for (size_t j = 0; j < seen.size(); ++j) {
      if (seen[j] >= first) {
        return absl::InvalidArgumentError(absl::StrCat(
            PathOf(kUserSeenItemsFile), ": entry ", j, " is cold item ",
            seen[j], "; cold items have no interactions"));
      }
    }
    return absl::OkStatus();
  }

  // One map's weights: float32 (attributes + 1) x width, finite.
  absl::StatusOr<FactorMatrix> LoadMapWeights(const char* name, int64_t rows,
                                              int64_t width) {
    ASSIGN_OR_RETURN(auto values, LoadArray<float>(name, {rows, width}));
    RETURN_IF_ERROR(CheckFinite(values, width, PathOf(name)));
    FactorMatrix weights(rows, width);
    std::copy(values.begin(), values.end(), weights.data());
    // The copy is what is kept; drop the mapping.
    snap->mapped_.pop_back();
    return weights;
  }

  absl::Status LoadAttributes() {
    const SnapshotManifest& m = snap->manifest_;
    const SnapshotAttributesInfo& info = *m.attributes;
    ItemAttributeModel model;
    absl::StatusOr<AttributeSpec> spec =
        AttributeSpec::FromNames(info.options, info.names);
    if (!spec.ok()) {  // ValidateManifest has accepted it already
      return absl::InvalidArgumentError(absl::StrCat(
          PathOf(kManifestFile), ": attributes: ", spec.status().message()));
    }
    model.spec = *std::move(spec);
    const int64_t rows = int64_t{model.spec.size()} + 1;
    if (snap->has_rating_model()) {
      ASSIGN_OR_RETURN(FactorMatrix weights,
                       LoadMapWeights(kAttributeMapRatingFile, rows,
                                      int64_t{m.factors} + 1));
      model.rating.emplace();
      model.rating->weights = std::move(weights);
      model.rating->reg = info.rating_reg;
    }
    ASSIGN_OR_RETURN(
        model.retrieval.weights,
        LoadMapWeights(kAttributeMapRetrievalFile, rows, m.retrieval->factors));
    model.retrieval.reg = info.retrieval_reg;
    snap->attributes_ = std::move(model);
    return absl::OkStatus();
  }

  // Each item's labels: its genres and its line of item_labels.txt.
  void IndexLabels(int64_t items, const std::vector<absl::string_view>& extra) {
    std::vector<std::vector<std::string>> names(items);
    std::set<std::string> all;
    for (int64_t i = 0; i < items; ++i) {
      if (!snap->genres_.empty()) names[i] = snap->genres_[i];
      if (!extra.empty()) {
        for (absl::string_view label :
             absl::StrSplit(extra[i], '|', absl::SkipEmpty())) {
          names[i].emplace_back(label);
        }
      }
      all.insert(names[i].begin(), names[i].end());
    }
    snap->labels_.assign(all.begin(), all.end());
    if (snap->labels_.empty()) return;
    snap->item_label_offsets_.assign(1, 0);
    snap->item_label_offsets_.reserve(items + 1);
    for (int64_t i = 0; i < items; ++i) {
      const size_t begin = snap->item_labels_.size();
      for (const std::string& name : names[i]) {
        snap->item_labels_.push_back(snap->FindLabel(name));
      }
      std::sort(snap->item_labels_.begin() + begin, snap->item_labels_.end());
      snap->item_labels_.erase(std::unique(snap->item_labels_.begin() + begin,
                                           snap->item_labels_.end()),
                               snap->item_labels_.end());
      snap->item_label_offsets_.push_back(
          static_cast<int64_t>(snap->item_labels_.size()));
    }
  }

  absl::Status LoadRatingModel(int64_t users, int64_t items, int64_t k) {
    ASSIGN_OR_RETURN(auto user_factors,
                     LoadArray<float>(kUserFactorsFile, {users, k}));
    RETURN_IF_ERROR(CheckFinite(user_factors, k, PathOf(kUserFactorsFile)));
    ASSIGN_OR_RETURN(auto item_factors,
                     LoadArray<float>(kItemFactorsFile, {items, k}));
    RETURN_IF_ERROR(CheckFinite(item_factors, k, PathOf(kItemFactorsFile)));
    ASSIGN_OR_RETURN(auto user_bias, LoadArray<float>(kUserBiasFile, {users}));
    RETURN_IF_ERROR(CheckFinite(user_bias, 1, PathOf(kUserBiasFile)));
    ASSIGN_OR_RETURN(auto item_bias, LoadArray<float>(kItemBiasFile, {items}));
    RETURN_IF_ERROR(CheckFinite(item_bias, 1, PathOf(kItemBiasFile)));
    snap->user_factors_ = user_factors.data();
    snap->item_factors_ = item_factors.data();
    snap->user_bias_ = user_bias.data();
    snap->item_bias_ = item_bias.data();
    return absl::OkStatus();
  }

  // Implicit feedback: each item's popularity is its number of positive
  // seen cells (value >= 0).
  absl::Status CheckImplicitPopularity(absl::Span<const int32_t> popularity,
                                       absl::Span<const int32_t> seen,
                                       absl::Span<const float> values) const {
    std::vector<int64_t> positive(popularity.size(), 0);
    for (size_t j = 0; j < seen.size(); ++j) {
      if (values[j] >= 0.0f) ++positive[seen[j]];
    }
    for (size_t i = 0; i < popularity.size(); ++i) {
      if (popularity[i] != positive[i]) {
        return absl::InvalidArgumentError(
            absl::StrCat(PathOf(kItemPopularityFile), ": item ", i, " counts ",
                         popularity[i], " but ", kUserSeenRatingsFile, " has ",
                         positive[i], " positive cells for it"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status LoadRetrieval(int64_t users, int64_t items) {
    const SnapshotManifest& m = snap->manifest_;
    const int64_t k = m.retrieval->factors;
    ASSIGN_OR_RETURN(auto user_embeddings,
                     LoadArray<float>(kUserEmbeddingsFile, {users, k}));
    RETURN_IF_ERROR(
        CheckFinite(user_embeddings, k, PathOf(kUserEmbeddingsFile)));
    ASSIGN_OR_RETURN(auto item_embeddings,
                     LoadArray<float>(kItemEmbeddingsFile, {items, k}));
    RETURN_IF_ERROR(
        CheckFinite(item_embeddings, k, PathOf(kItemEmbeddingsFile)));
    snap->user_embeddings_ = user_embeddings.data();
    snap->item_embeddings_ = item_embeddings.data();
    return absl::OkStatus();
  }

  absl::Status CheckSeen(absl::Span<const int64_t> offsets,
                         absl::Span<const int32_t> seen, int64_t items) const {
    const std::string offsets_name = PathOf(kUserSeenOffsetsFile);
    if (offsets[0] != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          offsets_name, ": first offset is ", offsets[0], ", expected 0"));
    }
    if (offsets.back() != static_cast<int64_t>(seen.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          offsets_name, ": last offset is ", offsets.back(), " but ",
          kUserSeenItemsFile, " has ", seen.size(), " items"));
    }
    if (static_cast<int64_t>(seen.size()) > snap->manifest_.num_ratings) {
      return absl::InvalidArgumentError(absl::StrCat(
          PathOf(kUserSeenItemsFile), ": has ", seen.size(),
          " items, more than num_ratings ", snap->manifest_.num_ratings));
    }
    for (size_t u = 0; u + 1 < offsets.size(); ++u) {
      if (offsets[u + 1] < offsets[u]) {
        return absl::InvalidArgumentError(
            absl::StrCat(offsets_name, ": offsets decrease at user ", u));
      }
    }
    // Offsets are now monotone within [0, seen.size()].
    for (size_t u = 0; u + 1 < offsets.size(); ++u) {
      for (int64_t j = offsets[u]; j < offsets[u + 1]; ++j) {
        if (seen[j] < 0 || seen[j] >= items ||
            (j > offsets[u] && seen[j] <= seen[j - 1])) {
          return absl::InvalidArgumentError(absl::StrCat(
              PathOf(kUserSeenItemsFile), ": user ", u, " has item ", seen[j],
              " out of range [0, ", items, ") or not ascending"));
        }
      }
    }
    return absl::OkStatus();
  }

  // Each user's later counts are in [0, the user's seen items). (Offsets
  // are checked already.)
  absl::Status CheckSeenLater(absl::Span<const int64_t> offsets,
                              absl::Span<const int32_t> later) const {
    for (size_t u = 0; u + 1 < offsets.size(); ++u) {
      const int64_t n = offsets[u + 1] - offsets[u];
      for (int64_t j = offsets[u]; j < offsets[u + 1]; ++j) {
        if (later[j] < 0 || later[j] >= n) {
          return absl::InvalidArgumentError(absl::StrCat(
              PathOf(kUserSeenLaterFile), ": entry ", j, " (user ", u, ") is ",
              later[j], "; must be in [0, ", n, ") (the user's seen items)"));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status LoadMetadata(int64_t items) {
    ASSIGN_OR_RETURN(MappedFile titles_file, MapVerified(kItemTitlesFile));
    ASSIGN_OR_RETURN(std::vector<absl::string_view> titles,
                     SplitLines(titles_file.bytes(), items,
                                PathOf(kItemTitlesFile), "num_items"));
    ASSIGN_OR_RETURN(MappedFile genres_file, MapVerified(kItemGenresFile));
    ASSIGN_OR_RETURN(std::vector<absl::string_view> genres,
                     SplitLines(genres_file.bytes(), items,
                                PathOf(kItemGenresFile), "num_items"));
    snap->titles_.reserve(items);
    for (absl::string_view t : titles) snap->titles_.emplace_back(t);
    snap->genres_.resize(items);
    for (int64_t i = 0; i < items; ++i) {
      snap->genres_[i] = absl::StrSplit(genres[i], '|', absl::SkipEmpty());
    }
    snap->has_item_metadata_ = true;
    return absl::OkStatus();
  }
};

absl::StatusOr<std::vector<std::string>> ListVersions(const std::string& root) {
  std::error_code ec;
  fs::directory_iterator it(root, ec), end;
  if (ec) return ErrnoStatus(ec.value(), root, "list folder");
  std::vector<std::pair<int64_t, std::string>> found;
  for (; it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    int64_t number = ParseVersionName(name);
    if (number > 0 && it->is_directory(ec)) found.emplace_back(number, name);
  }
  if (ec) return ErrnoStatus(ec.value(), root, "list folder");
  std::sort(found.begin(), found.end());
  std::vector<std::string> names;
  for (auto& [number, name] : found) names.push_back(std::move(name));
  return names;
}

absl::StatusOr<std::string> ResolveLatestVersion(const std::string& root) {
  std::string path = absl::StrCat(root, "/", kLatestFile);
  absl::StatusOr<std::string> text = ReadFileToString(path, kMaxLatestBytes);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(
          absl::StrCat(path, ": no LATEST file; nothing published yet"));
    }
    return text.status();
  }
  std::string version(absl::StripAsciiWhitespace(*text));
  if (ParseVersionName(version) < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": holds '", version, "', not a version name like v000001"));
  }
  struct stat st;
  std::string dir = absl::StrCat(root, "/", version);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": names ", version, " but ", dir, " does not exist"));
  }
  return version;
}

absl::StatusOr<std::shared_ptr<const Snapshot>> Snapshot::Load(
    const std::string& version_dir) {
  struct stat st;
  if (::stat(version_dir.c_str(), &st) != 0) {
    return ErrnoStatus(errno, version_dir, "snapshot folder");
  }
  std::shared_ptr<Snapshot> snap(new Snapshot());
  snap->dir_ = version_dir;
  Loader loader{version_dir, snap.get()};
  RETURN_IF_ERROR(loader.LoadAll());
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

absl::StatusOr<std::shared_ptr<const Snapshot>> Snapshot::LoadLatest(
    const std::string& root) {
  ASSIGN_OR_RETURN(std::string version, ResolveLatestVersion(root));
  return Load(absl::StrCat(root, "/", version));
}

absl::Span<const int32_t> Snapshot::SeenItems(int32_t user) const {
  if (user == kUnknownIndex) return {};
  int64_t begin = seen_offsets_[user], end = seen_offsets_[user + 1];
  return absl::Span<const int32_t>(seen_items_ + begin,
                                   static_cast<size_t>(end - begin));
}

absl::Span<const float> Snapshot::SeenRatings(int32_t user) const {
  if (user == kUnknownIndex || seen_ratings_ == nullptr) return {};
  int64_t begin = seen_offsets_[user], end = seen_offsets_[user + 1];
  return absl::Span<const float>(seen_ratings_ + begin,
                                 static_cast<size_t>(end - begin));
}

absl::Span<const int32_t> Snapshot::SeenLater(int32_t user) const {
  if (user == kUnknownIndex || seen_later_ == nullptr) return {};
  int64_t begin = seen_offsets_[user], end = seen_offsets_[user + 1];
  return absl::Span<const int32_t>(seen_later_ + begin,
                                   static_cast<size_t>(end - begin));
}

int32_t Snapshot::FindLabel(absl::string_view name) const {
  const auto it = std::lower_bound(labels_.begin(), labels_.end(), name);
  if (it == labels_.end() || *it != name) return kUnknownIndex;
  return static_cast<int32_t>(it - labels_.begin());
}

absl::Span<const int32_t> Snapshot::ItemLabels(int32_t item) const {
  if (item_label_offsets_.empty()) return {};
  const int64_t begin = item_label_offsets_[item];
  return absl::MakeConstSpan(item_labels_)
      .subspan(begin, item_label_offsets_[item + 1] - begin);
}

const std::string* Snapshot::ItemTitle(int32_t item) const {
  if (titles_.empty() || titles_[item].empty()) return nullptr;
  return &titles_[item];
}

const std::vector<std::string>* Snapshot::ItemGenres(int32_t item) const {
  if (genres_.empty() || genres_[item].empty()) return nullptr;
  return &genres_[item];
}

const EventWeights& Snapshot::events() const {
  static const EventWeights* const kNone = new EventWeights();
  return manifest_.events.has_value() ? *manifest_.events : *kNone;
}

float Snapshot::Score(int32_t user, int32_t item) const {
  if (!has_rating_model()) return 0.0f;
  float s = manifest_.global_mean;
  if (user != kUnknownIndex) s += user_bias_[user];
  if (item != kUnknownIndex) s += item_bias_[item];
  if (user != kUnknownIndex && item != kUnknownIndex) {
    s += user_factors().row(user).dot(item_factors().row(item));
  }
  return s;
}

MfModel Snapshot::ToModel() const {
  MfModel model;
  model.global_mean = manifest_.global_mean;
  model.scale = manifest_.rating_scale;
  model.user_bias = user_bias();
  model.item_bias = item_bias();
  model.user_factors = user_factors();
  model.item_factors = item_factors();
  model.ordinal = manifest_.ordinal_output;
  return model;
}

}  // namespace recserve
