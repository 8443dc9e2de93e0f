#include "core/serve/serving_model_loader.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"

namespace recserve {
namespace {

// How many items the sanity check looks up, and how many must find
// themselves among their 10 nearest neighbours (duplicate vectors may push an
// item out of its own top 10; a broken index finds almost none).
constexpr int32_t kSanityItems = 50;
constexpr double kSanityShare = 0.9;
constexpr float kTiedCosine = 1.0f - 1e-5f;

absl::StatusOr<std::unique_ptr<ItemIndex>> LoadOrBuildIndex(
    const std::string& version_dir, const std::string& checksum,
    Eigen::Ref<const FactorMatrix> vectors, IndexSpace space,
    const ServingModelLoadOptions& options, bool* loaded,
    std::vector<std::string>* warnings) {
  const std::string path = absl::StrCat(
      version_dir, "/", IndexFileName(checksum, space, options.index));
  *loaded = false;
  if (options.load_saved_indexes) {
    absl::StatusOr<std::unique_ptr<ItemIndex>> saved =
        ItemIndex::Load(path, vectors, space);
    if (saved.ok()) {
      *loaded = true;
      return std::move(saved).value();
    }
    if (!absl::IsNotFound(saved.status())) {
      warnings->push_back(absl::StrCat("rebuilding the saved index: ",
                                       saved.status().message()));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ItemIndex> built,
                   ItemIndex::Build(vectors, space, options.index));
  if (options.save_built_indexes) {
    if (absl::Status saved = built->Save(path); !saved.ok()) {
      warnings->push_back(
          absl::StrCat("cannot save the built index: ", saved.message()));
    }
  }
  return built;
}

absl::Status CheckFindsItself(const ItemIndex& index,
                              Eigen::Ref<const FactorMatrix> vectors,
                              const std::string& version) {
  const int32_t items = static_cast<int32_t>(vectors.rows());
  const int32_t sampled = std::min(kSanityItems, items);
  int32_t found = 0, nonzero = 0;
  for (int32_t s = 0; s < sampled; ++s) {
    // Spread over the catalog, deterministic.
    const int32_t item =
        static_cast<int32_t>(static_cast<int64_t>(s) * items / sampled);
    if (vectors.row(item).squaredNorm() == 0.0f) continue;  // finds nothing
    ++nonzero;
    ASSIGN_OR_RETURN(const std::vector<ScoredItem> top,
                     index.Search(absl::Span<const float>(
                                      vectors.row(item).data(), vectors.cols()),
                                  10, 100));
    // Items pointing exactly the same way tie with it at cosine 1, and any
    // ten of them are a right answer.
    const bool tied_out = top.size() == 10 && top.back().score >= kTiedCosine;
    for (const ScoredItem& n : top) {
      if (n.item == item || tied_out) {
        ++found;
        break;
      }
    }
  }
  if (found < kSanityShare * nonzero) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot ", version, ": its similarity index finds only ", found,
        " of ", nonzero, " sampled items among their own 10 nearest"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SnapshotChecksum(const std::string& version_dir) {
  ASSIGN_OR_RETURN(const uint32_t crc,
                   Crc32OfFile(absl::StrCat(version_dir, "/", kManifestFile)));
  return Crc32ToHex(crc);
}

std::string IndexFileName(const std::string& checksum, IndexSpace space,
                          const ItemIndexOptions& options) {
  return absl::StrCat("index-", checksum, "-", IndexSpaceName(space), "-m",
                      options.m, "-efc", options.ef_construction, ".hnsw");
}

absl::StatusOr<std::shared_ptr<const ServingModel>> LoadServingModel(
    const std::string& version_dir, const ServingModelLoadOptions& options,
    ServingModelLoadReport* report) {
  ServingModelLoadReport local;
  ServingModelLoadReport& r = report != nullptr ? *report : local;
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> snapshot,
                   Snapshot::Load(version_dir));
  r.version = snapshot->version();
  ASSIGN_OR_RETURN(r.checksum, SnapshotChecksum(version_dir));
  r.snapshot_seconds = SecondsSince(start);

  const auto index_start = std::chrono::steady_clock::now();
  const Eigen::Map<const FactorMatrix> vectors = ItemVectorsOf(*snapshot);
  ASSIGN_OR_RETURN(std::unique_ptr<ItemIndex> retrieval,
                   LoadOrBuildIndex(version_dir, r.checksum, vectors,
                                    IndexSpace::kInnerProduct, options,
                                    &r.retrieval_index_loaded, &r.warnings));
  ASSIGN_OR_RETURN(
      std::unique_ptr<ItemIndex> similarity,
      LoadOrBuildIndex(version_dir, r.checksum, vectors, IndexSpace::kCosine,
                       options, &r.similarity_index_loaded, &r.warnings));
  RETURN_IF_ERROR(CheckFindsItself(*similarity, vectors, r.version));
  r.index_seconds = SecondsSince(index_start);
  return ServingModel::Create(std::move(snapshot), std::move(retrieval),
                              std::move(similarity), r.checksum,
                              options.norm_scan_items);
}

absl::Status BuildSnapshotIndexes(const std::string& version_dir,
                                  const ItemIndexOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> snapshot,
                   Snapshot::Load(version_dir));
  ASSIGN_OR_RETURN(const std::string checksum, SnapshotChecksum(version_dir));
  const Eigen::Map<const FactorMatrix> vectors = ItemVectorsOf(*snapshot);
  for (const IndexSpace space :
       {IndexSpace::kInnerProduct, IndexSpace::kCosine}) {
    ASSIGN_OR_RETURN(std::unique_ptr<ItemIndex> index,
                     ItemIndex::Build(vectors, space, options));
    RETURN_IF_ERROR(index->Save(absl::StrCat(
        version_dir, "/", IndexFileName(checksum, space, options))));
  }
  return absl::OkStatus();
}

}  // namespace recserve
