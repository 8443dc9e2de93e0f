// Fuzzes loading a snapshot folder: each input is a list of edits to the
// files of a small valid published snapshot (and to LATEST), optionally with
// the manifest's size and crc32 updated so that the content checks behind
// them are reached. Loading must give a Status, or a model whose answers are
// finite and within their bounds (and an item-item model, when it has one,
// of a valid size with values in range); never a crash or an out-of-bounds
// read.
//
// Edit record: [file] [mode] [offset lo] [offset hi] [length] payload...
//   file   index into the sorted file list; the last index is LATEST
//   mode   bits 0-1: 0 overwrite at offset, 1 truncate at offset then
//          append, 2 replace whole, 3 insert at offset; 0x40 delete the
//          file; 0x80 update the manifest's size and crc32 for it
// Up to four records per input.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/npy.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"
#include "core/snapshot/snapshot_writer.h"
#include "tests/fuzz/fuzz_support.h"

namespace recserve::fuzz {
namespace {

constexpr char kManifest[] = "manifest.json";

struct Template {
  std::string version;
  // File name -> contents of the version folder's files.
  std::map<std::string, std::string> files;
  std::string latest;
};

// How many leading items the template's item-item model covers: fewer than
// the tiny snapshot's 10, as when the catalog grew after training.
constexpr int32_t kItemItemItems = 8;

// Publishes the version `base` under `root` plus an item-item model (format
// 7: "item_item" and item_item.npy), derived as add-items derives versions;
// returns the new version's name.
std::string PublishWithItemItem(const std::string& root,
                                const std::string& base) {
  const std::string base_dir = absl::StrCat(root, "/", base);
  const absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Snapshot::Load(base_dir);
  FUZZ_CHECK(snapshot.ok());
  SnapshotManifest manifest = (*snapshot)->manifest();
  manifest.format_version = kItemItemSnapshotFormatVersion;
  manifest.item_item = SnapshotItemItemInfo{
      .items = kItemItemItems,
      .params = {
          .reg = 50.0f, .recency_weight = 2.0f, .recency_horizon = 3.0f}};
  std::vector<float> weights(kItemItemItems * kItemItemItems);
  for (int32_t i = 0; i < kItemItemItems; ++i) {
    for (int32_t j = 0; j < kItemItemItems; ++j) {
      weights[i * kItemItemItems + j] =
          i == j ? 0.0f : static_cast<float>((i * 3 + j * 5) % 7) * 0.1f - 0.3f;
    }
  }
  const absl::StatusOr<std::string> version = PublishSnapshotFiles(
      root, manifest,
      [&](const std::string& dir, SnapshotManifest* out) -> absl::Status {
        for (const auto& [name, info] : (*snapshot)->manifest().files) {
          absl::StatusOr<std::string> bytes =
              ReadFileToString(absl::StrCat(base_dir, "/", name));
          if (!bytes.ok()) return bytes.status();
          const absl::Status written =
              WriteSnapshotFile(dir, name, {*bytes}, out);
          if (!written.ok()) return written;
        }
        const std::string header =
            MakeNpyHeader(NpyDtype::kFloat32,
                          std::vector<int64_t>{kItemItemItems, kItemItemItems});
        return WriteSnapshotFile(
            dir, kItemItemFile,
            {header,
             absl::string_view(reinterpret_cast<const char*>(weights.data()),
                               weights.size() * sizeof(float))},
            out);
      });
  if (!version.ok()) {
    std::fprintf(stderr, "%s\n", version.status().ToString().c_str());
  }
  FUZZ_CHECK(version.ok());
  return *version;
}

const Template& MakeTemplate() {
  static const Template* made = [] {
    const std::string root = absl::StrCat(ScratchDir(), "/template");
    // With fold-in, recency and an item-item model: every file a snapshot
    // can hold but the item metadata's.
    const std::string version =
        PublishWithItemItem(root, PublishTinySnapshot(root, /*fold_in=*/true));
    auto* t = new Template;
    t->version = version;
    for (const auto& entry : std::filesystem::directory_iterator(
             absl::StrCat(root, "/", version))) {
      absl::StatusOr<std::string> bytes = ReadFileToString(entry.path());
      FUZZ_CHECK(bytes.ok());
      t->files[entry.path().filename()] = *std::move(bytes);
    }
    absl::StatusOr<std::string> latest =
        ReadFileToString(absl::StrCat(root, "/", kLatestFile));
    FUZZ_CHECK(latest.ok());
    t->latest = *latest;
    return t;
  }();
  return *made;
}

void Apply(uint8_t mode, size_t offset, const std::string& payload,
           std::string* bytes) {
  offset %= bytes->size() + 1;
  switch (mode & 3) {
    case 0:
      if (bytes->size() < offset + payload.size()) {
        bytes->resize(offset + payload.size());
      }
      bytes->replace(offset, payload.size(), payload);
      break;
    case 1:
      bytes->resize(offset);
      bytes->append(payload);
      break;
    case 2:
      bytes->assign(payload);
      break;
    default:
      bytes->insert(offset, payload);
      break;
  }
}

void UpdateManifestEntry(const std::string& name, const std::string& bytes,
                         std::string* manifest_json) {
  absl::StatusOr<SnapshotManifest> manifest = ParseManifest(*manifest_json);
  if (!manifest.ok()) return;
  manifest->files[name] = SnapshotFileInfo{bytes.size(), Crc32(bytes)};
  *manifest_json = ManifestToJson(*manifest);
}

void ExerciseModel(const ServingModel& model) {
  const Snapshot& s = model.snapshot();
  const ServingLimits limits;
  const ServingPolicy policy;
  for (int32_t u = 0; u < s.num_users(); ++u) {
    RecommendQuery query;
    query.user_id = s.UserId(u);
    query.n = 4;
    query.exact = (u % 2) == 1;
    // Every third user also folds in a recent item and filters by a label
    // (a snapshot without fold-in refuses with FailedPrecondition).
    if (u % 3 == 0) {
      query.recent = {{.item_id = s.ItemId(u % s.num_items()),
                       .rating = s.rating_scale().max,
                       .weight = 1.0,
                       .event = ""}};
      if (s.num_labels() > 0) {
        query.filter.include_labels = {s.LabelName(u % s.num_labels())};
      }
      query.explain = true;
    }
    absl::StatusOr<Recommendation> rec = model.Recommend(query, limits, policy);
    if (!rec.ok()) continue;
    FUZZ_CHECK(rec->items.size() <= 4);
    std::set<int32_t> seen_items;
    for (const RecommendedItem& item : rec->items) {
      FUZZ_CHECK(item.item >= 0 && item.item < s.num_items());
      FUZZ_CHECK(seen_items.insert(item.item).second);
      FUZZ_CHECK(std::isfinite(item.predicted_rating));
    }
    absl::StatusOr<RatingPrediction> p =
        model.PredictRating({.user_id = s.UserId(u),
                             .item_id = s.ItemId(u % s.num_items()),
                             .recent = query.recent},
                            limits, policy);
    if (p.ok()) {
      FUZZ_CHECK(p->rating >= s.rating_scale().min &&
                 p->rating <= s.rating_scale().max);
    }
  }
  for (int32_t i = 0; i < s.num_items(); ++i) {
    SimilarItemsQuery query;
    query.item_ids = {s.ItemId(i), s.ItemId((i + 1) % s.num_items())};
    query.k = 3;
    absl::StatusOr<SimilarItemsResult> similar =
        model.SimilarItems(query, limits, policy);
    if (!similar.ok()) continue;
    FUZZ_CHECK(similar->items.size() <= 3);
    for (const SimilarItem& item : similar->items) {
      FUZZ_CHECK(item.item != i && item.item != (i + 1) % s.num_items() &&
                 item.item >= 0 && item.item < s.num_items());
      FUZZ_CHECK(std::isfinite(item.similarity));
    }
  }
}

// A loaded item-item model is as the loader promises: m x m with m in
// [1, the items with interactions], values finite and within
// ±kMaxModelMagnitude, parameters in range.
void CheckItemItem(const Snapshot& s) {
  const Eigen::Map<const FactorMatrix> w = s.item_item_weights();
  if (!s.has_item_item()) {
    FUZZ_CHECK(s.item_item() == nullptr && w.size() == 0);
    return;
  }
  FUZZ_CHECK(s.item_item() != nullptr);
  FUZZ_CHECK(w.rows() == w.cols() && w.rows() >= 1 &&
             w.rows() <= s.first_cold_item());
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    FUZZ_CHECK(std::isfinite(w.data()[i]) &&
               std::abs(w.data()[i]) <= kMaxModelMagnitude);
  }
  const ItemItemParams& p = *s.item_item();
  FUZZ_CHECK(std::isfinite(p.reg) && p.reg > 0.0f);
  FUZZ_CHECK(std::isfinite(p.recency_weight) && p.recency_weight >= 0.0f);
  FUZZ_CHECK(std::isfinite(p.recency_horizon) && p.recency_horizon > 0.0f);
}

void CheckSnapshotFolder(const uint8_t* data, size_t size) {
  const Template& t = MakeTemplate();
  std::map<std::string, std::string> files = t.files;
  std::set<std::string> deleted;
  std::string latest = t.latest;
  std::vector<std::string> names;
  for (const auto& [name, bytes] : files) names.push_back(name);

  size_t at = 0;
  for (int record = 0; record < 4 && size - at >= 5; ++record) {
    const size_t index = data[at] % (names.size() + 1);
    const uint8_t mode = data[at + 1];
    const size_t offset = data[at + 2] | (size_t{data[at + 3]} << 8);
    const size_t length = std::min<size_t>(data[at + 4], size - at - 5);
    const std::string payload(reinterpret_cast<const char*>(data + at + 5),
                              length);
    at += 5 + length;
    if (index == names.size()) {
      Apply(mode, offset, payload, &latest);
      continue;
    }
    const std::string& name = names[index];
    if ((mode & 0x40) != 0) {
      deleted.insert(name);
      continue;
    }
    Apply(mode, offset, payload, &files[name]);
    if ((mode & 0x80) != 0 && name != kManifest) {
      UpdateManifestEntry(name, files[name], &files[kManifest]);
    }
  }

  const std::string root = absl::StrCat(ScratchDir(), "/root");
  const std::string dir = absl::StrCat(root, "/", t.version);
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  std::filesystem::create_directories(dir);
  for (const auto& [name, bytes] : files) {
    if (deleted.count(name) == 0) {
      WriteBytes(absl::StrCat(dir, "/", name), bytes);
    }
  }
  WriteBytes(absl::StrCat(root, "/", kLatestFile), latest);

  const absl::StatusOr<std::string> version = ResolveLatestVersion(root);
  if (!version.ok()) {
    FUZZ_CHECK(!version.status().message().empty());
    return;
  }
  ServingModelLoadOptions options;
  options.load_saved_indexes = false;
  options.save_built_indexes = false;
  options.index.threads = 1;
  const absl::StatusOr<std::shared_ptr<const ServingModel>> model =
      LoadServingModel(absl::StrCat(root, "/", *version), options);
  if (!model.ok()) {
    FUZZ_CHECK(!model.status().message().empty());
    return;
  }
  CheckItemItem((*model)->snapshot());
  ExerciseModel(**model);
}

}  // namespace
}  // namespace recserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recserve::fuzz::CheckSnapshotFolder(data, size);
  return 0;
}
