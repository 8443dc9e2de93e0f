#include "tests/testutil/snapshot_tampering.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/snapshot/snapshot_manifest.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace testutil {

void ReplaceFileKeepingManifestValid(const std::string& dir,
                                     const std::string& name,
                                     const std::string& bytes) {
  WriteFile(absl::StrCat(dir, "/", name), bytes);
  const std::string manifest_path = absl::StrCat(dir, "/manifest.json");
  absl::StatusOr<SnapshotManifest> manifest =
      ParseManifest(ReadFile(manifest_path));
  if (!manifest.ok()) {
    ADD_FAILURE() << manifest.status();
    return;
  }
  manifest->files[name] = SnapshotFileInfo{bytes.size(), Crc32(bytes)};
  WriteFile(manifest_path, ManifestToJson(*manifest));
}

}  // namespace testutil
}  // namespace recserve
