#include "tests/testutil/build_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/file_util.h"

namespace recserve::testutil {
namespace {

namespace fs = std::filesystem;

absl::Status FsError(const std::string& what, const std::error_code& error) {
  return absl::InternalError(absl::StrCat(what, ": ", error.message()));
}

// An exclusive flock on a file, held until destruction.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace

absl::Status CopyCachedFixture(
    const std::string& key, const std::string& dir,
    const std::function<absl::Status(const std::string& into)>& make) {
  std::error_code error;
  // Keyed by the size and time of every core library the fixture's code
  // comes from, so a rebuilt library makes fixtures again.
  std::string stamp;
  for (const absl::string_view library :
       absl::StrSplit(RECSERVE_CORE_LIBRARIES, '|')) {
    const std::string path(library);
    const auto size = fs::file_size(path, error);
    if (error) return FsError(path, error);
    const auto time = fs::last_write_time(path, error);
    if (error) return FsError(path, error);
    absl::StrAppend(&stamp, size, ":", time.time_since_epoch().count(), "|");
  }
  const std::string root = RECSERVE_TEST_CACHE_DIR;
  fs::create_directories(root, error);
  if (error) return FsError(root, error);
  const std::string cached =
      absl::StrCat(root, "/", key, "-", Crc32ToHex(Crc32(stamp)));

  FileLock lock(cached + ".lock");
  if (!lock.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot lock ", cached, ".lock: ", std::strerror(errno)));
  }
  if (!fs::exists(cached + "/.complete")) {
    fs::remove_all(cached, error);
    fs::create_directories(cached, error);
    if (error) return FsError(cached, error);
    if (absl::Status made = make(cached); !made.ok()) {
      fs::remove_all(cached, error);
      return made;
    }
    std::FILE* done = std::fopen((cached + "/.complete").c_str(), "w");
    if (done == nullptr || std::fclose(done) != 0) {
      return absl::InternalError(absl::StrCat(
          "cannot write ", cached, "/.complete: ", std::strerror(errno)));
    }
  }
  fs::create_directories(dir, error);
  if (error) return FsError(dir, error);
  fs::copy(cached, dir,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing,
           error);
  if (error)
    return FsError(absl::StrCat("copying ", cached, " to ", dir), error);
  fs::remove(dir + "/.complete", error);
  return absl::OkStatus();
}

}  // namespace recserve::testutil
