#include "tests/fuzz/fuzz_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/snapshot/snapshot_writer.h"
#include "tests/testutil/implicit_snapshot.h"
#include "tests/testutil/tiny_model.h"

namespace recserve::fuzz {

void Fail(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", file, line, condition);
  std::abort();
}

MemoryFile::MemoryFile(const char* name) {
  fd_ = memfd_create(name, 0);
  if (fd_ < 0) {
    std::perror("memfd_create");
    std::abort();
  }
  path_ = absl::StrCat("/proc/self/fd/", fd_);
}

MemoryFile::~MemoryFile() { close(fd_); }

const std::string& MemoryFile::Write(absl::string_view bytes) {
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, bytes.data(), bytes.size(), 0) !=
                                    static_cast<ssize_t>(bytes.size())) {
    std::perror("memfd write");
    std::abort();
  }
  return path_;
}

const std::string& ScratchDir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(
        tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/recserve-fuzz-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    auto* path = new std::string(pattern);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(*dir, ignored);
    });
    return path;
  }();
  return *dir;
}

void WriteBytes(const std::string& path, absl::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr ||
      std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
      std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMin[extra] || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string PublishTinySnapshot(const std::string& root, bool fold_in) {
  testutil::TinyModel tiny = testutil::MakeTinyModel(7, 10, 4);
  const RetrievalModel retrieval = testutil::MakeTinyRetrieval(7, 10, 3);
  SnapshotContents contents;
  contents.train = &tiny.train;
  contents.model = &tiny.model;
  contents.items = &tiny.catalog;
  contents.algo = "als";
  contents.retrieval = &retrieval;
  contents.ranking = {.candidates = 5, .blend_weight = 0.25f};
  const FoldInParams params = {
      .rating = RatingUserPrior::Ridge(4, 0.1f, 0.1f),
      .retrieval = {.reg = 0.1f, .alpha = 1.0f, .unobserved_weight = 1.0f}};
  if (fold_in) contents.fold_in = &params;
  const absl::StatusOr<std::string> version = PublishSnapshot(root, contents);
  FUZZ_CHECK(version.ok());
  return *version;
}

std::string PublishTinyImplicitSnapshot(const std::string& root) {
  const testutil::ImplicitFixture fixture =
      testutil::MakeImplicitFixture(7, 12, 3);
  const absl::StatusOr<std::string> version =
      PublishSnapshot(root, fixture.Contents());
  FUZZ_CHECK(version.ok());
  return *version;
}

}  // namespace recserve::fuzz
