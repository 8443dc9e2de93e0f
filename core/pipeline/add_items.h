#ifndef RECSERVE_CORE_PIPELINE_ADD_ITEMS_H_
#define RECSERVE_CORE_PIPELINE_ADD_ITEMS_H_

// recserve-train add-items: publishes a new snapshot version that holds the
// latest one unchanged plus new items placed from their metadata, without
// retraining anything: the new items' factors, bias and embeddings are the
// snapshot's attribute maps (format 5, core/model/attribute_map.h) applied
// to their attributes, featurized with the snapshot's own spec. They are
// cold items (Snapshot::IsColdItem): popularity 0, in no seen list.
//
// The new version keeps everything of the base: the same users, the same
// rows for the old items, the same seen lists, data fingerprint, training
// params and metrics; the files that do not grow are hard-linked from the
// base folder (copied where the file system cannot link; version files are
// never modified, and pruning the base folder leaves a link intact), and
// only the item files are written again. Its manifest's
// training_params["added_items"] lists every add-items run that led to it,
// oldest first: {"base_version": "v000003", "added": 1000}.
//
// The HNSW indexes saved in the base folder (those named for its checksum,
// serving_model_loader.h) are extended with the new items' vectors instead
// of being rebuilt, and saved under the new version's checksum, so that the
// server's hot reload loads them in seconds. The version is published with
// the protocol of snapshot_writer.h (temporary folder, lock, Load check,
// indexes, rename, LATEST).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/item_reader.h"

namespace recserve {

struct AddItemsOptions {
  // The snapshot root; its LATEST version is the base. Required.
  std::string root;
  // Item metadata (item_reader.h) of the new items; it may list items the
  // snapshot already has, which are skipped. Required.
  std::string items_path;
  ItemReadOptions items;
  // Optional labels (item_label_reader.h) and tags (item_tag_reader.h) of
  // the new items; entries of other items are ignored.
  std::string item_labels_path;
  std::string item_tags_path;
  // Snapshot versions to keep after publishing (PublishOptions). Default 5.
  int32_t keep_versions = 5;
  // Workers for extending the indexes, >= 0; 0 = all cores.
  int32_t threads = 0;
};

struct AddItemsReport {
  std::string base_version;  // the version the items were added to
  std::string version;       // the new version; empty when nothing was added
  std::string dir;           // root/version; empty when nothing was added
  // Items of the metadata file the base did not hold, now added.
  int64_t added = 0;
  // Items of the metadata file the base already held (skipped).
  int64_t already_present = 0;
  // Added items none of whose attributes the spec knows: their rows are the
  // maps' intercepts alone (the mean item).
  int64_t without_attributes = 0;
  // HNSW index files extended (0 when the base folder has none).
  int32_t indexes_extended = 0;
  // Saved indexes of the base that did not load, each "<file>: <why>": the
  // server builds those again for the new version (slow on large
  // catalogs), as it would have for the base.
  std::vector<std::string> indexes_skipped;
  double seconds = 0;        // the whole run
  double index_seconds = 0;  // extending and saving the indexes
};

// Adds the items of options.items_path that the latest snapshot under
// options.root does not hold, in ascending order of their ids' (length,
// bytes) (numeric ids in numeric order), and publishes the result. When
// there is none, publishes nothing and reports added 0 (version empty).
// Errors: InvalidArgument for missing paths or keep_versions/threads < 0;
// those of Snapshot::LoadLatest and of reading the files;
// FailedPrecondition when the snapshot has no attribute maps (it was
// trained without item metadata); those of publishing and of extending the
// indexes (the version is then not published). Safe to run beside a server
// reading the root and beside other publishers (each gets its own version;
// a version published between the base's load and this one's is not
// included in it).
absl::StatusOr<AddItemsReport> AddItems(const AddItemsOptions& options);

}  // namespace recserve

#endif  // RECSERVE_CORE_PIPELINE_ADD_ITEMS_H_
