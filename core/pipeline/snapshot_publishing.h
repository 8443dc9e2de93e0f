#ifndef RECSERVE_CORE_PIPELINE_SNAPSHOT_PUBLISHING_H_
#define RECSERVE_CORE_PIPELINE_SNAPSHOT_PUBLISHING_H_

// The one way training and import publish a snapshot: the contents, the
// output settings, and the server's HNSW indexes built into the version
// before it becomes visible.

#include <string>

#include "absl/status/statusor.h"
#include "core/pipeline/training_pipeline.h"
#include "core/snapshot/snapshot_writer.h"

namespace recserve {

struct PublishedVersion {
  std::string version;  // "v000003"
  std::string dir;      // root/version
  double index_seconds = 0;
};

// Publishes `contents` under output.root (which must not be empty), building
// the indexes there first when output.index is set. Errors: those of
// PublishSnapshot and BuildSnapshotIndexes.
absl::StatusOr<PublishedVersion> PublishWithIndexes(
    const SnapshotContents& contents, const SnapshotOutput& output);

}  // namespace recserve

#endif  // RECSERVE_CORE_PIPELINE_SNAPSHOT_PUBLISHING_H_
