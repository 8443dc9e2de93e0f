#ifndef RECSERVE_CORE_BASE_FILE_UTIL_H_
#define RECSERVE_CORE_BASE_FILE_UTIL_H_

// Small POSIX file helpers for writing data that must survive a crash
// (snapshots) and for checksumming it. Every function is a free function
// without shared state: safe to call from any thread.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace recserve {

// Turns errno `error_number` from an operation on `path` into a Status whose
// code follows absl::ErrnoToStatusCode (ENOENT -> NotFound, EACCES ->
// PermissionDenied, ENOSPC -> ResourceExhausted, ...) and whose message reads
// "<path>: <what>: <strerror>".
absl::Status ErrnoStatus(int error_number, absl::string_view path,
                         absl::string_view what);

// Flushes the file or directory at `path` to stable storage (fsync).
// Flushing a directory makes the creation, rename or removal of its entries
// durable. Errors: NotFound if `path` does not exist, else the errno status.
absl::Status FsyncPath(const std::string& path);

// Creates or truncates `path`, writes `pieces` one after another, fsyncs and
// closes it, so that once this returns OK the bytes are on stable storage
// (the directory entry is not: fsync the parent directory for that). On error
// the file may exist with partial content.
absl::Status WriteFileDurably(const std::string& path,
                              absl::Span<const absl::string_view> pieces);

// Reads the whole file. Errors: NotFound, PermissionDenied, ...;
// ResourceExhausted if the file is larger than `max_bytes`.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes = size_t{1}
                                                                << 30);

// The zlib/IEEE CRC-32 of `bytes` continuing from `crc` (pass 0 to start), as
// used by gzip, zip and Python's zlib.crc32.
uint32_t Crc32(absl::string_view bytes, uint32_t crc = 0);

// The CRC-32 of the whole content of the file at `path`, read in chunks.
absl::StatusOr<uint32_t> Crc32OfFile(const std::string& path);

// Formats a CRC-32 as exactly 8 lowercase hex digits, e.g. "0a1b2c3d".
std::string Crc32ToHex(uint32_t crc);

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_FILE_UTIL_H_
