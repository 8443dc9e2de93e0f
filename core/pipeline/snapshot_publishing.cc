#include "core/pipeline/snapshot_publishing.h"

#include <chrono>
#include <filesystem>

#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/serve/serving_model_loader.h"

namespace recserve {

absl::StatusOr<PublishedVersion> PublishWithIndexes(
    const SnapshotContents& contents, const SnapshotOutput& output) {
  if (output.root.empty()) {
    return absl::InvalidArgumentError("no snapshot root to publish under");
  }
  PublishedVersion published;
  PublishOptions publish;
  publish.keep_versions = output.keep_versions;
  if (output.index) {
    const ItemIndexOptions index = *output.index;
    publish.before_rename = [index, &published](const std::string& dir) {
      const auto start = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(BuildSnapshotIndexes(dir, index));
      published.index_seconds = SecondsSince(start);
      return absl::OkStatus();
    };
  }
  ASSIGN_OR_RETURN(published.version,
                   PublishSnapshot(output.root, contents, publish));
  published.dir = (std::filesystem::path(output.root) / published.version);
  return published;
}

}  // namespace recserve
