#ifndef RECSERVE_CORE_SERVE_SERVING_MODEL_LOADER_H_
#define RECSERVE_CORE_SERVE_SERVING_MODEL_LOADER_H_

// Turns a published snapshot version into a ServingModel: loads and
// validates the snapshot, loads its HNSW indexes or builds them, checks the
// indexes answer sensibly, and returns the model.
//
// Indexes are built once per snapshot and saved in its version folder under
// a name keyed by the snapshot's checksum (CRC-32 of its manifest.json, which
// holds the size and CRC-32 of every file) and the index parameters, e.g.
//   index-1a2b3c4d-ip-m16-efc200.hnsw
// so that replicas and restarts load in about a second instead of rebuilding
// for minutes, and a changed snapshot or parameter never reuses a stale
// index. The trainer builds them at publish time with --build_index; else the
// first server to load the snapshot does (when the folder is writable).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/index/item_index.h"
#include "core/serve/serving_model.h"
#include "core/snapshot/snapshot.h"

namespace recserve {

struct ServingModelLoadOptions {
  ItemIndexOptions index;
  // Load saved indexes when present and valid. Default true.
  bool load_saved_indexes = true;
  // Save indexes it had to build beside the snapshot. A failure to save (a
  // read-only volume) is a warning, not an error. Default true.
  bool save_built_indexes = true;
  // ServingModel::Create's norm_scan_items.
  int32_t norm_scan_items = kDefaultNormScanItems;
};

struct ServingModelLoadReport {
  std::string version;
  std::string checksum;  // hex CRC-32 of manifest.json
  double snapshot_seconds = 0;
  double index_seconds = 0;
  // Per index: loaded from disk (true) or built (false).
  bool retrieval_index_loaded = false;
  bool similarity_index_loaded = false;
  // Things that went wrong without failing the load, e.g. "cannot save
  // index ...: Permission denied" or a corrupt saved index that was rebuilt.
  std::vector<std::string> warnings;
};

// The checksum that keys a snapshot's index files. Errors: those of reading
// `version_dir`/manifest.json.
absl::StatusOr<std::string> SnapshotChecksum(const std::string& version_dir);

// The index file name for a snapshot checksum, space and parameters.
std::string IndexFileName(const std::string& checksum, IndexSpace space,
                          const ItemIndexOptions& options);

// Loads `version_dir` (Snapshot::Load), then each index (see above), then
// checks the similarity index finds sampled items themselves among their
// nearest neighbours (or ten items tied with them at cosine 1: trained
// embeddings have whole groups pointing the same way). Errors: those of
// Snapshot::Load; those of building an index; FailedPrecondition naming the
// version when the sanity check fails. `report` (optional) is filled as far as
// loading got. Thread-compatible; two processes may load the same folder at
// once (saves are atomic).
absl::StatusOr<std::shared_ptr<const ServingModel>> LoadServingModel(
    const std::string& version_dir, const ServingModelLoadOptions& options,
    ServingModelLoadReport* report = nullptr);

// Builds and saves both indexes of `version_dir` (the trainer's
// --build_index). Errors: those of Snapshot::Load, building and saving.
absl::Status BuildSnapshotIndexes(const std::string& version_dir,
                                  const ItemIndexOptions& options);

}  // namespace recserve

#endif  // RECSERVE_CORE_SERVE_SERVING_MODEL_LOADER_H_
