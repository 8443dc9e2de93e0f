#ifndef RECSERVE_CORE_BASE_MAPPED_FILE_H_
#define RECSERVE_CORE_BASE_MAPPED_FILE_H_

// A whole file mapped read-only into memory.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recserve {

// Owns a read-only, private memory mapping of one file for its lifetime. The
// bytes are valid until the MappedFile is destroyed or moved from. Movable,
// not copyable. Const access is thread-safe.
//
// The mapping survives the file being unlinked or renamed (a pruned snapshot
// stays readable by whoever still holds it), but NOT the file being truncated
// or rewritten in place: touching bytes past a truncation raises SIGBUS. Only
// map files that nobody modifies in place, such as published snapshot files.
class MappedFile final {
 public:
  // Maps the whole file at `path`. An empty file maps to an empty view.
  // Errors: NotFound, PermissionDenied, ... from open/fstat/mmap;
  // FailedPrecondition if `path` is not a regular file.
  static absl::StatusOr<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // The mapped bytes; page-aligned start.
  absl::string_view bytes() const {
    return absl::string_view(static_cast<const char*>(data_), size_);
  }
  const char* data() const { return static_cast<const char*>(data_); }
  size_t size() const { return size_; }
  // The path it was opened with.
  const std::string& path() const { return path_; }

 private:
  void Reset();

  void* data_ = nullptr;  // nullptr for an empty file
  size_t size_ = 0;
  std::string path_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_MAPPED_FILE_H_
