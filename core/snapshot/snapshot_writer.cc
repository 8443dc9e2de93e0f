#include "core/snapshot/snapshot_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/base/file_util.h"
#include "core/base/npy.h"
#include "core/base/status_macros.h"
#include "core/data/data_fingerprint.h"
#include "core/data/sparse_ratings.h"
#include "core/model/recency_factors.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"

namespace recserve {
namespace {

namespace fs = std::filesystem;

constexpr char kTempPrefix[] = ".tmp-";
constexpr char kLatestTemp[] = "LATEST.tmp";
constexpr char kLockFile[] = ".publish.lock";
constexpr int kMaxRenameAttempts = 100;

absl::Status ContentsError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("PublishSnapshot: ", what));
}

std::string RandomHex() {
  absl::BitGen gen;
  return absl::StrFormat("%08x", absl::Uniform<uint32_t>(gen));
}

// Every value finite and within ±kMaxModelMagnitude, which the loader
// checks too: a model beyond it would be published and then refused.
absl::Status CheckFinite(absl::string_view what, const float* data,
                         int64_t size, int64_t cols) {
  for (int64_t i = 0; i < size; ++i) {
    if (!std::isfinite(data[i])) {
      return ContentsError(absl::StrCat(what, " has non-finite value ", data[i],
                                        " at row ", i / cols, ", column ",
                                        i % cols));
    }
    if (std::abs(data[i]) > kMaxModelMagnitude) {
      return ContentsError(
          absl::StrCat(what, " has out-of-range value ", data[i], " at row ",
                       i / cols, ", column ", i % cols, kModelMagnitudeNote));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckIds(absl::string_view what, const IdMap& ids) {
  for (int32_t i = 0; i < ids.size(); ++i) {
    if (ids.Id(i).find('\n') != std::string::npos) {
      return ContentsError(
          absl::StrCat(what, " id at index ", i, " contains a newline"));
    }
  }
  return absl::OkStatus();
}

// The embeddings, their params and the ranking (only checked with
// embeddings, as only then are they recorded).
absl::Status CheckRetrieval(const SnapshotContents& c) {
  const Dataset& d = *c.train;
  const RetrievalModel& r = *c.retrieval;
  const int64_t k = r.item_factors.cols();
  if (r.user_factors.rows() != d.num_users() ||
      r.item_factors.rows() != d.num_items() || r.user_factors.cols() != k ||
      k < 1) {
    return ContentsError(absl::StrFormat(
        "retrieval shape (user_factors %dx%d, item_factors %dx%d) does not "
        "match train (%d users, %d items) with k >= 1 factors",
        r.user_factors.rows(), r.user_factors.cols(), r.item_factors.rows(),
        r.item_factors.cols(), d.num_users(), d.num_items()));
  }
  RETURN_IF_ERROR(CheckFinite("retrieval.user_factors", r.user_factors.data(),
                              r.user_factors.size(), k));
  RETURN_IF_ERROR(CheckFinite("retrieval.item_factors", r.item_factors.data(),
                              r.item_factors.size(), k));
  if (!c.retrieval_params.is_object()) {
    return ContentsError("contents.retrieval_params is not a JSON object");
  }
  if (c.ranking.candidates < 1) {
    return ContentsError(absl::StrCat("contents.ranking.candidates is ",
                                      c.ranking.candidates,
                                      "; must be at least 1"));
  }
  if (!(c.ranking.blend_weight >= 0.0f && c.ranking.blend_weight <= 1.0f)) {
    return ContentsError(absl::StrCat("contents.ranking.blend_weight is ",
                                      c.ranking.blend_weight,
                                      "; must be in [0, 1]"));
  }
  return absl::OkStatus();
}

// Implicit feedback: no rating model; retrieval and retrieval-only fold-in
// required; finite signed values; well-formed event weights.
absl::Status CheckImplicitContents(const SnapshotContents& c) {
  if (c.model != nullptr) {
    return ContentsError(
        "contents.model must be null for implicit feedback: an implicit "
        "snapshot holds the retrieval model only");
  }
  if (c.retrieval == nullptr || c.fold_in == nullptr) {
    return ContentsError(
        "implicit feedback needs contents.retrieval and contents.fold_in");
  }
  RETURN_IF_ERROR(CheckRetrieval(c));
  if (absl::Status s = ValidateFoldInParams(*c.fold_in, kNoRatingModel);
      !s.ok()) {
    return ContentsError(absl::StrCat("contents.", s.message()));
  }
  for (size_t i = 0; i < c.train->ratings.size(); ++i) {
    if (!std::isfinite(c.train->ratings[i].value)) {
      return ContentsError(
          absl::StrCat("train.ratings[", i, "] has a non-finite value"));
    }
  }
  if (c.events != nullptr) {
    for (const auto& [name, weight] : c.events->weights) {
      if (name.empty() || !std::isfinite(weight) || !(weight > 0.0f)) {
        return ContentsError(absl::StrCat(
            "contents.events.weights[\"", name, "\"] is ", weight,
            "; names must be non-empty and weights finite and > 0"));
      }
    }
    for (const std::string& name : c.events->negative) {
      if (name.empty()) {
        return ContentsError("contents.events.negative has an empty name");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTrain(const SnapshotContents& c) {
  const Dataset& d = *c.train;
  RETURN_IF_ERROR(CheckIds("user", d.users));
  RETURN_IF_ERROR(CheckIds("item", d.items));
  for (size_t i = 0; i < d.ratings.size(); ++i) {
    const Rating& r = d.ratings[i];
    if (r.user < 0 || r.user >= d.num_users() || r.item < 0 ||
        r.item >= d.num_items()) {
      return ContentsError(absl::StrCat("train.ratings[", i, "] has user ",
                                        r.user, ", item ", r.item,
                                        ", outside the id maps"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMap(absl::string_view what, const AttributeMap& map,
                      int64_t rows, int64_t width) {
  if (map.weights.rows() != rows || map.weights.cols() != width) {
    return ContentsError(absl::StrFormat(
        "%s weights are %dx%d; the spec and model need %dx%d", what,
        map.weights.rows(), map.weights.cols(), rows, width));
  }
  RETURN_IF_ERROR(CheckFinite(absl::StrCat(what, " weights"),
                              map.weights.data(), map.weights.size(),
                              std::max<int64_t>(width, 1)));
  if (!std::isfinite(map.reg) || map.reg < 0.0f) {
    return ContentsError(
        absl::StrCat(what, " reg is ", map.reg, "; must be finite and >= 0"));
  }
  return absl::OkStatus();
}

// Cold items (the tail of train's items, no rating on them) and the
// attribute maps (format 5).
absl::Status CheckColdItems(const SnapshotContents& c) {
  const Dataset& d = *c.train;
  if (c.cold_items < 0 || c.cold_items > d.num_items()) {
    return ContentsError(absl::StrCat("contents.cold_items is ", c.cold_items,
                                      "; must be in [0, ", d.num_items(),
                                      "] (train's items)"));
  }
  if (c.cold_items > 0 && c.attributes == nullptr) {
    return ContentsError("contents.cold_items > 0 needs contents.attributes");
  }
  const int32_t first_cold = d.num_items() - c.cold_items;
  for (size_t i = 0; c.cold_items > 0 && i < d.ratings.size(); ++i) {
    if (d.ratings[i].item >= first_cold) {
      return ContentsError(absl::StrCat(
          "train.ratings[", i, "] references item ",
          d.items.Id(d.ratings[i].item), ", which is cold (the last ",
          c.cold_items, " items of train are cold and have no ratings)"));
    }
  }
  if (c.attributes == nullptr) return absl::OkStatus();
  if (c.retrieval == nullptr || c.fold_in == nullptr) {
    return ContentsError(
        "contents.attributes needs contents.retrieval and contents.fold_in "
        "(format 5 extends formats 3 and 4)");
  }
  const ItemAttributeModel& a = *c.attributes;
  const int64_t rows = int64_t{a.spec.size()} + 1;
  if (c.model != nullptr) {
    if (!a.rating.has_value()) {
      return ContentsError(
          "contents.attributes has no rating map but there is a rating "
          "model");
    }
    RETURN_IF_ERROR(CheckMap("attributes.rating", *a.rating, rows,
                             int64_t{c.model->factors()} + 1));
  } else if (a.rating.has_value()) {
    return ContentsError(
        "contents.attributes has a rating map but there is no rating model");
  }
  return CheckMap("attributes.retrieval", a.retrieval, rows,
                  c.retrieval->item_factors.cols());
}

// The item-item model (format 7): over 1 to the items with interactions,
// square, its values and parameters in range.
absl::Status CheckItemItem(const SnapshotContents& c) {
  if (c.item_item == nullptr) return absl::OkStatus();
  if (c.retrieval == nullptr || c.fold_in == nullptr) {
    return ContentsError(
        "contents.item_item needs contents.retrieval and contents.fold_in "
        "(format 7 extends formats 3 to 6)");
  }
  const ItemItemModel& ii = *c.item_item;
  const int64_t warm = int64_t{c.train->num_items()} - c.cold_items;
  const int64_t m = ii.weights.rows();
  if (m < 1 || m > warm || ii.weights.cols() != m) {
    return ContentsError(absl::StrFormat(
        "contents.item_item weights are %dx%d; they must be m x m with m in "
        "[1, %d] (train's items with interactions: %d items - %d cold)",
        ii.weights.rows(), ii.weights.cols(), warm, c.train->num_items(),
        c.cold_items));
  }
  RETURN_IF_ERROR(CheckFinite("item_item.weights", ii.weights.data(),
                              ii.weights.size(), m));
  const ItemItemParams& p = ii.params;
  if (!std::isfinite(p.reg) || !(p.reg > 0.0f)) {
    return ContentsError(absl::StrCat("contents.item_item.params.reg is ",
                                      p.reg, "; must be finite and > 0"));
  }
  if (!std::isfinite(p.recency_weight) || !(p.recency_weight >= 0.0f)) {
    return ContentsError(
        absl::StrCat("contents.item_item.params.recency_weight is ",
                     p.recency_weight, "; must be finite and >= 0"));
  }
  if (!std::isfinite(p.recency_horizon) || !(p.recency_horizon > 0.0f)) {
    return ContentsError(
        absl::StrCat("contents.item_item.params.recency_horizon is ",
                     p.recency_horizon, "; must be finite and > 0"));
  }
  return absl::OkStatus();
}

// The model's ordinal output (format 8): valid for the model's scale, and,
// as format 8 extends formats 3 to 7, only with retrieval and fold-in.
absl::Status CheckOrdinalOutput(const SnapshotContents& c) {
  if (c.model == nullptr || c.model->ordinal.empty()) return absl::OkStatus();
  const MfModel& m = *c.model;
  if (absl::Status s = ValidateOrdinalOutput(m.ordinal, m.scale); !s.ok()) {
    return ContentsError(
        absl::StrCat("contents.model->ordinal is invalid (", s.message(), ")"));
  }
  if (c.retrieval == nullptr || c.fold_in == nullptr) {
    return ContentsError(
        "contents.model->ordinal needs contents.retrieval and "
        "contents.fold_in (format 8 extends formats 3 to 7)");
  }
  return absl::OkStatus();
}

absl::Status CheckContents(const SnapshotContents& c) {
  if (c.feedback != Feedback::kExplicit && c.feedback != Feedback::kImplicit) {
    return ContentsError("contents.feedback must be explicit or implicit");
  }
  if (c.train == nullptr ||
      (c.feedback == Feedback::kExplicit && c.model == nullptr)) {
    return ContentsError(
        "contents.train and contents.model are required (contents.model "
        "must be null for implicit feedback)");
  }
  if (c.algo.empty()) return ContentsError("contents.algo is empty");
  if (c.feedback == Feedback::kImplicit) {
    RETURN_IF_ERROR(CheckImplicitContents(c));
    if (c.labels != nullptr && c.fold_in == nullptr) {
      return ContentsError("contents.labels needs contents.fold_in");
    }
    RETURN_IF_ERROR(CheckTrain(c));
    RETURN_IF_ERROR(CheckColdItems(c));
    if (c.item_item != nullptr) {
      // The server retrieves with it only before a rating model's rerank.
      return ContentsError(
          "contents.item_item is only for explicit feedback (ratings)");
    }
    return absl::OkStatus();
  }
  if (c.events != nullptr) {
    return ContentsError(
        "contents.events is only for implicit feedback (explicit snapshots "
        "learn from ratings)");
  }
  const Dataset& d = *c.train;
  const MfModel& m = *c.model;
  int64_t k = m.item_factors.cols();
  if (m.user_bias.size() != d.num_users() ||
      m.user_factors.rows() != d.num_users() ||
      m.item_bias.size() != d.num_items() ||
      m.item_factors.rows() != d.num_items() || m.user_factors.cols() != k) {
    return ContentsError(absl::StrFormat(
        "model shape (user_bias %d, user_factors %dx%d, item_bias %d, "
        "item_factors %dx%d) does not match train (%d users, %d items)",
        m.user_bias.size(), m.user_factors.rows(), m.user_factors.cols(),
        m.item_bias.size(), m.item_factors.rows(), m.item_factors.cols(),
        d.num_users(), d.num_items()));
  }
  RETURN_IF_ERROR(CheckFinite("model.user_factors", m.user_factors.data(),
                              m.user_factors.size(), std::max<int64_t>(k, 1)));
  RETURN_IF_ERROR(CheckFinite("model.item_factors", m.item_factors.data(),
                              m.item_factors.size(), std::max<int64_t>(k, 1)));
  RETURN_IF_ERROR(CheckFinite("model.user_bias", m.user_bias.data(),
                              m.user_bias.size(), 1));
  RETURN_IF_ERROR(CheckFinite("model.item_bias", m.item_bias.data(),
                              m.item_bias.size(), 1));
  if (c.retrieval != nullptr) RETURN_IF_ERROR(CheckRetrieval(c));
  if (c.fold_in != nullptr) {
    if (c.retrieval == nullptr) {
      return ContentsError("contents.fold_in needs contents.retrieval");
    }
    if (absl::Status s = ValidateFoldInParams(*c.fold_in, m.factors());
        !s.ok()) {
      return ContentsError(absl::StrCat("contents.", s.message()));
    }
  }
  if (c.labels != nullptr && c.fold_in == nullptr) {
    return ContentsError("contents.labels needs contents.fold_in");
  }
  RETURN_IF_ERROR(CheckTrain(c));
  RETURN_IF_ERROR(CheckColdItems(c));
  RETURN_IF_ERROR(CheckItemItem(c));
  return CheckOrdinalOutput(c);
}

// Writes one file of the snapshot and records its size and checksum.
absl::Status WriteTracked(const std::string& dir, const std::string& name,
                          std::initializer_list<absl::string_view> pieces,
                          SnapshotManifest* manifest) {
  return WriteSnapshotFile(dir, name, pieces, manifest);
}

template <typename T>
absl::Status WriteNpyTracked(const std::string& dir, const std::string& name,
                             const T* data, std::vector<int64_t> shape,
                             SnapshotManifest* manifest) {
  int64_t elements = 1;
  for (int64_t d : shape) elements *= d;
  std::string header = MakeNpyHeader(NpyDtypeOf<T>::value, shape);
  absl::string_view bytes(reinterpret_cast<const char*>(data),
                          static_cast<size_t>(elements) * sizeof(T));
  return WriteTracked(dir, name, {header, bytes}, manifest);
}

std::string IdLines(const IdMap& ids) {
  std::string out;
  for (const std::string& id : ids.ids()) absl::StrAppend(&out, id, "\n");
  return out;
}

// One line of item_titles.txt / item_genres.txt.
// Titles may hold '|' (it separates genres, not titles).
enum class TextField { kTitle, kGenre };

std::string Sanitize(absl::string_view text, TextField field) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t' ||
        (field == TextField::kGenre && c == '|')) {
      c = ' ';
    }
  }
  return out;
}

absl::Status WriteDataFiles(const std::string& dir, const SnapshotContents& c,
                            SnapshotManifest* manifest) {
  const Dataset& d = *c.train;
  const bool implicit = c.feedback == Feedback::kImplicit;
  const int64_t users = d.num_users(), items = d.num_items();
  RETURN_IF_ERROR(
      WriteTracked(dir, kUserIdsFile, {IdLines(d.users)}, manifest));
  RETURN_IF_ERROR(
      WriteTracked(dir, kItemIdsFile, {IdLines(d.items)}, manifest));
  if (!implicit) {
    const MfModel& m = *c.model;
    const int64_t k = m.factors();
    RETURN_IF_ERROR(WriteNpyTracked(
        dir, kUserFactorsFile, m.user_factors.data(), {users, k}, manifest));
    RETURN_IF_ERROR(WriteNpyTracked(dir, kUserBiasFile, m.user_bias.data(),
                                    {users}, manifest));
    RETURN_IF_ERROR(WriteNpyTracked(
        dir, kItemFactorsFile, m.item_factors.data(), {items, k}, manifest));
    RETURN_IF_ERROR(WriteNpyTracked(dir, kItemBiasFile, m.item_bias.data(),
                                    {items}, manifest));
  }
  if (c.retrieval != nullptr) {
    const RetrievalModel& r = *c.retrieval;
    const int64_t rk = r.item_factors.cols();
    RETURN_IF_ERROR(WriteNpyTracked(dir, kUserEmbeddingsFile,
                                    r.user_factors.data(), {users, rk},
                                    manifest));
    RETURN_IF_ERROR(WriteNpyTracked(dir, kItemEmbeddingsFile,
                                    r.item_factors.data(), {items, rk},
                                    manifest));
  }

  // Seen items: grouped by user, then each row sorted by item and its
  // repeated pairs merged into one, at their mean rating (implicit
  // feedback: their summed value) and their latest timestamp, from which
  // the order (later counts) is ranked when recency-weighted fold-in needs
  // it.
  const bool with_order =
      manifest->format_version >= kRecencySnapshotFormatVersion;
  RatingPositions by_user = GroupRatingPositions(
      d.ratings, static_cast<int32_t>(users), RatingAxis::kUser);
  std::vector<int64_t>& offsets = by_user.offsets;
  std::vector<int32_t> seen;
  std::vector<float> seen_ratings;
  std::vector<int32_t> seen_later;
  seen.reserve(by_user.positions.size());
  seen_ratings.reserve(by_user.positions.size());
  struct Entry {
    int32_t item;
    float value;
    int64_t time;
  };
  std::vector<Entry> row;
  std::vector<int64_t> times;
  for (int64_t u = 0; u < users; ++u) {
    row.clear();
    for (const int64_t p : by_user.Row(static_cast<int32_t>(u))) {
      const Rating& r = d.ratings[p];
      row.push_back({r.item, r.value, r.timestamp});
    }
    std::sort(row.begin(), row.end(),
              [](const Entry& a, const Entry& b) { return a.item < b.item; });
    offsets[u] = static_cast<int64_t>(seen.size());
    times.clear();
    for (size_t j = 0; j < row.size();) {
      size_t end = j;
      double sum = 0.0;
      int64_t latest = row[j].time;
      for (; end < row.size() && row[end].item == row[j].item; ++end) {
        sum += row[end].value;
        latest = std::max(latest, row[end].time);
      }
      seen.push_back(row[j].item);
      seen_ratings.push_back(
          static_cast<float>(implicit ? sum : sum / (end - j)));
      times.push_back(latest);
      j = end;
    }
    if (with_order) {
      const std::vector<int32_t> later = LaterCounts(times);
      seen_later.insert(seen_later.end(), later.begin(), later.end());
    }
  }
  const auto out = static_cast<int64_t>(seen.size());
  offsets[users] = out;

  // Explicit: training ratings per item. Implicit: users with a positive
  // cell, so that the popularity fallback never promotes disliked items.
  std::vector<int64_t> popularity(items, 0);
  if (implicit) {
    for (size_t j = 0; j < seen.size(); ++j) {
      if (seen_ratings[j] >= 0.0f) ++popularity[seen[j]];
    }
  } else {
    for (const Rating& r : d.ratings) ++popularity[r.item];
  }
  std::vector<int32_t> popularity32(items);
  for (int64_t i = 0; i < items; ++i) {
    if (popularity[i] > std::numeric_limits<int32_t>::max()) {
      return ContentsError(absl::StrCat("item ", d.items.Id(i), " has ",
                                        popularity[i], " ratings"));
    }
    popularity32[i] = static_cast<int32_t>(popularity[i]);
  }
  RETURN_IF_ERROR(WriteNpyTracked(dir, kItemPopularityFile, popularity32.data(),
                                  {items}, manifest));
  RETURN_IF_ERROR(WriteNpyTracked(dir, kUserSeenOffsetsFile, offsets.data(),
                                  {users + 1}, manifest));
  RETURN_IF_ERROR(
      WriteNpyTracked(dir, kUserSeenItemsFile, seen.data(), {out}, manifest));
  if (c.fold_in != nullptr) {
    RETURN_IF_ERROR(WriteNpyTracked(dir, kUserSeenRatingsFile,
                                    seen_ratings.data(), {out}, manifest));
  }
  if (with_order) {
    RETURN_IF_ERROR(WriteNpyTracked(dir, kUserSeenLaterFile, seen_later.data(),
                                    {out}, manifest));
  }
  if (c.fold_in != nullptr && c.labels != nullptr) {
    std::string lines;
    for (const std::string& id : d.items.ids()) {
      auto it = c.labels->find(id);
      if (it != c.labels->end()) {
        std::vector<std::string> labels;
        for (const std::string& label : it->second) {
          if (!label.empty()) {
            labels.push_back(Sanitize(label, TextField::kGenre));
          }
        }
        lines += absl::StrJoin(labels, "|");
      }
      lines += '\n';
    }
    RETURN_IF_ERROR(WriteTracked(dir, kItemLabelsFile, {lines}, manifest));
  }

  if (c.attributes != nullptr) {
    const ItemAttributeModel& a = *c.attributes;
    if (a.rating.has_value()) {
      RETURN_IF_ERROR(WriteNpyTracked(
          dir, kAttributeMapRatingFile, a.rating->weights.data(),
          {a.rating->weights.rows(), a.rating->weights.cols()}, manifest));
    }
    RETURN_IF_ERROR(WriteNpyTracked(
        dir, kAttributeMapRetrievalFile, a.retrieval.weights.data(),
        {a.retrieval.weights.rows(), a.retrieval.weights.cols()}, manifest));
  }

  if (c.item_item != nullptr) {
    const FactorMatrix& w = c.item_item->weights;
    RETURN_IF_ERROR(WriteNpyTracked(dir, kItemItemFile, w.data(),
                                    {w.rows(), w.cols()}, manifest));
  }

  if (c.items != nullptr) {
    std::string titles, genres;
    for (const std::string& id : d.items.ids()) {
      auto it = c.items->find(id);
      if (it != c.items->end()) {
        titles += Sanitize(it->second.title, TextField::kTitle);
        std::vector<std::string> g;
        for (const std::string& genre : it->second.genres) {
          if (!genre.empty()) g.push_back(Sanitize(genre, TextField::kGenre));
        }
        genres += absl::StrJoin(g, "|");
      }
      titles += '\n';
      genres += '\n';
    }
    RETURN_IF_ERROR(WriteTracked(dir, kItemTitlesFile, {titles}, manifest));
    RETURN_IF_ERROR(WriteTracked(dir, kItemGenresFile, {genres}, manifest));
  }
  return absl::OkStatus();
}

SnapshotManifest BaseManifest(const SnapshotContents& c) {
  const bool implicit = c.feedback == Feedback::kImplicit;
  SnapshotManifest m;
  m.algo = c.algo;
  m.factors = implicit ? 0 : c.model->factors();
  m.num_users = c.train->num_users();
  m.num_items = c.train->num_items();
  m.num_ratings = static_cast<int64_t>(c.train->ratings.size());
  m.rating_scale = implicit ? RatingScale{0.0f, 0.0f, 1.0f} : c.model->scale;
  m.global_mean = implicit ? 0.0f : c.model->global_mean;
  m.training_params = c.training_params;
  m.metrics = c.metrics;
  m.data_fingerprint = FingerprintRatings(*c.train);
  m.created_at = NowRfc3339();
  m.version = FormatVersionName(1);  // chosen at publish time
  if (c.retrieval != nullptr) {
    // The lowest format that holds embeddings; without them, format 1.
    m.format_version = kRetrievalSnapshotFormatVersion;
    m.retrieval = SnapshotRetrievalInfo{
        static_cast<int32_t>(c.retrieval->item_factors.cols()),
        c.retrieval_params};
    m.ranking = c.ranking;
    if (c.fold_in != nullptr) {
      m.format_version = kFoldInSnapshotFormatVersion;
      m.fold_in = *c.fold_in;
      if (implicit || !HasDefaultConfidence(c.fold_in->retrieval)) {
        m.format_version = kFeedbackSnapshotFormatVersion;
        m.feedback = c.feedback;
      }
    }
    if (c.fold_in != nullptr && (c.cold_items > 0 || c.attributes)) {
      m.format_version = kColdItemsSnapshotFormatVersion;
      m.feedback = c.feedback;
      m.cold_items = c.cold_items;
      if (c.attributes != nullptr) {
        const ItemAttributeModel& a = *c.attributes;
        m.attributes = SnapshotAttributesInfo{
            a.spec.options(), a.spec.names(),
            a.rating.has_value() ? a.rating->reg : 0.0f, a.retrieval.reg};
      }
    }
    if (c.fold_in != nullptr) {
      const bool ordinal = !implicit && !c.model->ordinal.empty();
      if (c.item_item != nullptr || ordinal) {
        // Formats 7 and 8 hold format 6's fields too: the recency of fold_in
        // as given, and the seen order.
        m.format_version = ordinal ? kOrdinalSnapshotFormatVersion
                                   : kItemItemSnapshotFormatVersion;
        m.feedback = c.feedback;
        if (c.item_item != nullptr) {
          m.item_item = SnapshotItemItemInfo{c.item_item->num_items(),
                                             c.item_item->params};
        }
        if (ordinal) m.ordinal_output = c.model->ordinal;
      } else if (HasRecency(c.fold_in->retrieval)) {
        m.format_version = kRecencySnapshotFormatVersion;
        m.feedback = c.feedback;
      } else {
        // Not recorded before format 6: what reading it back gives.
        m.fold_in->retrieval.recency_horizon =
            RetrievalFoldInParams().recency_horizon;
      }
    }
    if (implicit) {
      m.ranking->blend_weight = 1.0f;  // no rerank: the retrieval order
      m.events = c.events != nullptr ? *c.events : EventWeights();
    }
  }
  return m;
}

// Removes a temporary folder on scope exit unless released.
class TempDirGuard {
 public:
  explicit TempDirGuard(std::string path) : path_(std::move(path)) {}
  ~TempDirGuard() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  TempDirGuard(const TempDirGuard&) = delete;
  TempDirGuard& operator=(const TempDirGuard&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

// An exclusive flock on the root's lock file, held for its lifetime.
class PublishLock {
 public:
  static absl::StatusOr<std::unique_ptr<PublishLock>> Acquire(
      const std::string& root) {
    std::string path = absl::StrCat(root, "/", kLockFile);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus(errno, path, "open");
    auto lock = std::unique_ptr<PublishLock>(new PublishLock(fd));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus(errno, path, "flock");
    }
    return lock;
  }
  ~PublishLock() { ::close(fd_); }
  PublishLock(const PublishLock&) = delete;
  PublishLock& operator=(const PublishLock&) = delete;

 private:
  explicit PublishLock(int fd) : fd_(fd) {}
  int fd_;
};

int64_t NextVersionNumber(const std::vector<std::string>& versions) {
  return versions.empty() ? 1 : ParseVersionName(versions.back()) + 1;
}

// Names the temp folder `tmp` as the next free version; returns the name.
absl::StatusOr<std::string> MoveIntoPlace(const std::string& root,
                                          const std::string& tmp,
                                          const PublishOptions& options,
                                          SnapshotManifest* manifest) {
  int64_t last_tried = 0;
  for (int attempt = 0; attempt < kMaxRenameAttempts; ++attempt) {
    ASSIGN_OR_RETURN(std::vector<std::string> versions, ListVersions(root));
    int64_t number = std::max(NextVersionNumber(versions), last_tried + 1);
    manifest->version = FormatVersionName(number);
    manifest->created_at = NowRfc3339();
    std::string json = ManifestToJson(*manifest);
    RETURN_IF_ERROR(
        WriteFileDurably(absl::StrCat(tmp, "/", kManifestFile), {json}));
    RETURN_IF_ERROR(FsyncPath(tmp));
    if (attempt == 0) {
      // What we publish must be what readers accept.
      absl::StatusOr<std::shared_ptr<const Snapshot>> check =
          Snapshot::Load(tmp);
      if (!check.ok()) {
        return absl::InternalError(absl::StrCat(
            "PublishSnapshot: the written snapshot does not load: ",
            check.status().message()));
      }
    }
    // Each attempt has its own manifest, so the hook sees the final one.
    if (options.before_rename) RETURN_IF_ERROR(options.before_rename(tmp));
    std::string target = absl::StrCat(root, "/", manifest->version);
    int rc = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(),
                         RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {
      // The file system cannot refuse to replace; rename() still refuses to
      // replace a non-empty folder, and version folders are never empty.
      struct stat st;
      if (::lstat(target.c_str(), &st) == 0) {
        errno = EEXIST;
      } else {
        rc = ::rename(tmp.c_str(), target.c_str());
      }
    }
    if (rc == 0) return manifest->version;
    if (errno != EEXIST && errno != ENOTEMPTY && errno != ENOTDIR &&
        errno != EISDIR) {
      return ErrnoStatus(errno, target, "rename from " + tmp);
    }
    last_tried = number;  // taken by someone else: try the next number
  }
  return absl::AbortedError(
      absl::StrCat("PublishSnapshot: no free version name under ", root,
                   " after ", kMaxRenameAttempts, " attempts"));
}

absl::Status WriteLatest(const std::string& root, const std::string& version) {
  std::string tmp = absl::StrCat(root, "/", kLatestTemp);
  std::string latest = absl::StrCat(root, "/", kLatestFile);
  RETURN_IF_ERROR(WriteFileDurably(tmp, {version, "\n"}));
  if (::rename(tmp.c_str(), latest.c_str()) != 0) {
    return ErrnoStatus(errno, latest, "rename from " + tmp);
  }
  return FsyncPath(root);
}

// Best effort: failures leave the folders for the next publish.
void PruneVersions(const std::string& root, int keep,
                   const std::string& published) {
  if (keep <= 0) return;
  absl::StatusOr<std::vector<std::string>> versions = ListVersions(root);
  if (!versions.ok() || versions->size() <= static_cast<size_t>(keep)) return;
  absl::StatusOr<std::string> latest = ResolveLatestVersion(root);
  size_t drop = versions->size() - static_cast<size_t>(keep);
  bool removed = false;
  for (size_t i = 0; i < drop; ++i) {
    const std::string& name = (*versions)[i];
    if (name == published || (latest.ok() && name == *latest)) continue;
    // Rename first so that no reader ever sees a half-deleted version.
    std::string doomed = absl::StrCat(root, "/", kTempPrefix, "deleting-", name,
                                      "-", ::getpid(), "-", RandomHex());
    if (::rename(absl::StrCat(root, "/", name).c_str(), doomed.c_str()) != 0) {
      continue;
    }
    removed = true;
    std::error_code ec;
    fs::remove_all(doomed, ec);
  }
  if (removed) FsyncPath(root).IgnoreError();
}

// Best effort: removes temp entries of publishers that died long ago.
void RemoveStaleTemps(const std::string& root, absl::Duration max_age) {
  std::error_code ec;
  fs::directory_iterator it(root, ec), end;
  std::vector<std::string> stale;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!absl::StartsWith(name, kTempPrefix) &&
        !absl::StartsWith(name, kLatestTemp)) {
      continue;
    }
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    absl::Time mtime = absl::FromTimeT(st.st_mtime);
    if (absl::Now() - mtime > max_age) stale.push_back(it->path().string());
  }
  for (const std::string& path : stale) fs::remove_all(path, ec);
}

// Steps 1 (the files, by `write_files`) to 4 of the protocol.
absl::StatusOr<std::string> PublishFolder(
    const std::string& root, SnapshotManifest manifest,
    const std::function<absl::Status(const std::string&, SnapshotManifest*)>&
        write_files,
    const PublishOptions& options) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return ErrnoStatus(ec.value(), root, "create folder");

  ASSIGN_OR_RETURN(std::vector<std::string> versions, ListVersions(root));
  std::string tmp = absl::StrCat(root, "/", kTempPrefix,
                                 FormatVersionName(NextVersionNumber(versions)),
                                 "-", ::getpid(), "-", RandomHex());
  if (::mkdir(tmp.c_str(), 0755) != 0) {
    return ErrnoStatus(errno, tmp, "create folder");
  }
  TempDirGuard guard(tmp);
  RETURN_IF_ERROR(write_files(tmp, &manifest));

  ASSIGN_OR_RETURN(std::unique_ptr<PublishLock> lock,
                   PublishLock::Acquire(root));
  ASSIGN_OR_RETURN(std::string version,
                   MoveIntoPlace(root, tmp, options, &manifest));
  guard.Release();
  RETURN_IF_ERROR(FsyncPath(root));
  RETURN_IF_ERROR(WriteLatest(root, version));
  PruneVersions(root, options.keep_versions, version);
  RemoveStaleTemps(root, options.stale_temp_age);
  return version;
}

}  // namespace

absl::Status WriteSnapshotFile(const std::string& dir, const std::string& name,
                               absl::Span<const absl::string_view> pieces,
                               SnapshotManifest* manifest) {
  std::vector<absl::string_view> parts(pieces.begin(), pieces.end());
  RETURN_IF_ERROR(WriteFileDurably(absl::StrCat(dir, "/", name), parts));
  SnapshotFileInfo info;
  for (absl::string_view p : parts) {
    info.crc32 = Crc32(p, info.crc32);
    info.bytes += p.size();
  }
  manifest->files[name] = info;
  return absl::OkStatus();
}

absl::StatusOr<std::string> PublishSnapshotFiles(
    const std::string& root, SnapshotManifest manifest,
    const std::function<absl::Status(const std::string& dir,
                                     SnapshotManifest* manifest)>& write_files,
    const PublishOptions& options) {
  if (options.keep_versions < 0) {
    return ContentsError("options.keep_versions is negative");
  }
  manifest.files.clear();
  manifest.version = FormatVersionName(1);  // chosen at publish time
  manifest.created_at = NowRfc3339();
  if (absl::Status s = ValidateManifest(manifest); !s.ok()) {
    return ContentsError(s.message());
  }
  return PublishFolder(root, std::move(manifest), write_files, options);
}

absl::StatusOr<std::string> PublishSnapshot(const std::string& root,
                                            const SnapshotContents& contents,
                                            const PublishOptions& options) {
  if (options.keep_versions < 0) {
    return ContentsError("options.keep_versions is negative");
  }
  RETURN_IF_ERROR(CheckContents(contents));
  SnapshotManifest manifest = BaseManifest(contents);
  if (absl::Status s = ValidateManifest(manifest); !s.ok()) {
    return ContentsError(s.message());
  }
  return PublishFolder(
      root, std::move(manifest),
      [&contents](const std::string& dir, SnapshotManifest* m) {
        return WriteDataFiles(dir, contents, m);
      },
      options);
}

}  // namespace recserve
