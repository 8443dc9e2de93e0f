// Fuzzes ParseManifest: any text gives a Status, or a manifest that passes
// ValidateManifest and survives ManifestToJson -> ParseManifest unchanged.

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/snapshot/snapshot_manifest.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace recserve;
  const absl::StatusOr<SnapshotManifest> manifest = ParseManifest(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!manifest.ok()) {
    FUZZ_CHECK(!manifest.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(ValidateManifest(*manifest).ok());
  const std::string json = ManifestToJson(*manifest);
  const absl::StatusOr<SnapshotManifest> again = ParseManifest(json);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(ManifestToJson(*again) == json);
  return 0;
}
