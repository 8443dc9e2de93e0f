#ifndef RECSERVE_TESTS_TESTUTIL_TEMP_FILES_H_
#define RECSERVE_TESTS_TESTUTIL_TEMP_FILES_H_

// Scratch folders and whole-file helpers for tests that read and write real
// files. Failures are reported to GoogleTest rather than returned, so they
// may only be called from a test (or its fixture's set-up and tear-down).

#include <string>

#include "absl/strings/string_view.h"

namespace recserve {
namespace testutil {

// A fresh empty directory under ::testing::TempDir(), named after the
// running test, that is removed with everything in it when the TempDir is
// destroyed. Set the environment variable RECSERVE_KEEP_TEST_DIRS to keep it
// for debugging.
//
// If the directory cannot be created the current test fails (non-fatally)
// and path() names a directory that does not exist, so that writes into it
// fail too instead of landing elsewhere.
//
// Not copyable or movable: the object owns the directory. Thread-compatible;
// path() and Path() may be called from any thread.
class TempDir final {
 public:
  TempDir();
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory, without a trailing slash.
  const std::string& path() const { return path_; }

  // path() + "/" + name. Creates nothing.
  std::string Path(absl::string_view name) const;

 private:
  std::string path_;
  bool created_ = false;
};

// Creates or truncates `path` and writes exactly `contents` to it (binary,
// no fsync). On error, records a fatal failure of the current test (so a
// caller may wrap it in ASSERT_NO_FATAL_FAILURE) and returns.
void WriteFile(const std::string& path, absl::string_view contents);

// The whole content of `path`. On error, records a non-fatal failure of the
// current test and returns "".
std::string ReadFile(const std::string& path);

}  // namespace testutil
}  // namespace recserve

#endif  // RECSERVE_TESTS_TESTUTIL_TEMP_FILES_H_
