#include "core/base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace recserve {
namespace {

// zlib's crc32 takes a 32-bit length; feed it at most this much at a time.
constexpr size_t kCrcChunk = size_t{1} << 30;

// Closes `fd` on scope exit unless released.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, absl::string_view bytes,
                      const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path, "write");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ErrnoStatus(int error_number, absl::string_view path,
                         absl::string_view what) {
  return absl::Status(
      absl::ErrnoToStatusCode(error_number),
      absl::StrCat(path, ": ", what, ": ", std::strerror(error_number)));
}

absl::Status FsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path, "open for fsync");
  FdCloser closer(fd);
  if (::fsync(fd) != 0) return ErrnoStatus(errno, path, "fsync");
  return absl::OkStatus();
}

absl::Status WriteFileDurably(const std::string& path,
                              absl::Span<const absl::string_view> pieces) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, path, "create");
  FdCloser closer(fd);
  for (absl::string_view piece : pieces) {
    if (absl::Status s = WriteAll(fd, piece, path); !s.ok()) return s;
  }
  if (::fsync(fd) != 0) return ErrnoStatus(errno, path, "fsync");
  if (::close(closer.Release()) != 0) return ErrnoStatus(errno, path, "close");
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path, "open");
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, path, "stat");
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, ": file has ", st.st_size,
                     " bytes, more than the limit of ", max_bytes));
  }
  std::string out;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path, "read");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": file grew past the limit of ", max_bytes));
    }
  }
  return out;
}

uint32_t Crc32(absl::string_view bytes, uint32_t crc) {
  uLong c = crc;
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kCrcChunk);
    c = ::crc32(c, reinterpret_cast<const Bytef*>(bytes.data()),
                static_cast<uInt>(n));
    bytes.remove_prefix(n);
  }
  return static_cast<uint32_t>(c);
}

absl::StatusOr<uint32_t> Crc32OfFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, path, "open");
  FdCloser closer(fd);
  uint32_t crc = 0;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path, "read");
    }
    if (n == 0) break;
    crc = Crc32(absl::string_view(buf, static_cast<size_t>(n)), crc);
  }
  return crc;
}

std::string Crc32ToHex(uint32_t crc) { return absl::StrFormat("%08x", crc); }

}  // namespace recserve
