#ifndef RECSERVE_TESTS_TESTUTIL_SNAPSHOT_TAMPERING_H_
#define RECSERVE_TESTS_TESTUTIL_SNAPSHOT_TAMPERING_H_

// Edits of a published snapshot folder that its manifest cannot detect, for
// tests of the checks a loader makes beyond sizes and checksums.

#include <string>

namespace recserve {
namespace testutil {

// Replaces `dir`/`name` with `bytes` and updates its size and crc32 in
// `dir`/manifest.json, so that only the content checks can catch the change.
// I/O and manifest parse errors fail the current test.
void ReplaceFileKeepingManifestValid(const std::string& dir,
                                     const std::string& name,
                                     const std::string& bytes);

}  // namespace testutil
}  // namespace recserve

#endif  // RECSERVE_TESTS_TESTUTIL_SNAPSHOT_TAMPERING_H_
