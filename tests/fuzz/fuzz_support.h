#ifndef RECSERVE_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define RECSERVE_TESTS_FUZZ_FUZZ_SUPPORT_H_

// Shared by the fuzz targets (tests/fuzz/*_fuzz.cc): a file whose contents a
// target replaces per input, a checked-invariant macro, and a UTF-8 check.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

// Aborts with the failed condition and its location: libFuzzer (and the
// replay driver) report an abort as a crash and keep the input.
#define FUZZ_CHECK(condition)                                                 \
  do {                                                                        \
    if (!(condition)) ::recserve::fuzz::Fail(#condition, __FILE__, __LINE__); \
  } while (false)

namespace recserve::fuzz {

[[noreturn]] void Fail(const char* condition, const char* file, int line);

// An anonymous in-memory file (memfd) that readers open by path. Not
// thread-safe; one per target.
class MemoryFile {
 public:
  explicit MemoryFile(const char* name);
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replaces the contents and returns a path that opens them.
  const std::string& Write(absl::string_view bytes);

 private:
  int fd_ = -1;
  std::string path_;
};

// A folder under $TMPDIR (or /tmp) that lives until the process exits.
const std::string& ScratchDir();

// Writes `bytes` to `path` (no fsync: fuzzing writes thousands of files a
// second). Aborts on error.
void WriteBytes(const std::string& path, absl::string_view bytes);

bool IsValidUtf8(absl::string_view text);

// Publishes testutil::MakeTinyModel(7 users, 10 items, 4 factors) with
// retrieval embeddings (format 2) and its catalog under `root`; returns the
// version name. With `fold_in`, also ridge fold-in parameters (format 3),
// so that requests may carry recent interactions. Aborts on error.
std::string PublishTinySnapshot(const std::string& root, bool fold_in = false);

// Publishes testutil::MakeImplicitFixture(7 users, 12 items, 3 factors), an
// implicit-feedback snapshot (format 4: events "view", "cart", "purchase"
// and the negative "dislike", no rating model) under `root`; returns the
// version name. Aborts on error.
std::string PublishTinyImplicitSnapshot(const std::string& root);

}  // namespace recserve::fuzz

#endif  // RECSERVE_TESTS_FUZZ_FUZZ_SUPPORT_H_
