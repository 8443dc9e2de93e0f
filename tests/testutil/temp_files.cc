#include "tests/testutil/temp_files.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "gtest/gtest.h"

namespace recserve {
namespace testutil {
namespace {

// "Suite.Name" of the running test, with anything but [A-Za-z0-9._-]
// replaced (parameterized names contain '/'); "recserve" outside a test.
std::string DirNamePrefix() {
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info == nullptr ? "recserve"
                                     : absl::StrCat(info->test_suite_name(),
                                                    ".", info->name());
  for (char& c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                      c == '_';
    if (!keep) c = '_';
  }
  return name;
}

}  // namespace

TempDir::TempDir() {
  std::string parent = ::testing::TempDir();
  if (parent.empty() || parent.back() != '/') parent += '/';
  const std::string pattern = absl::StrCat(parent, DirNamePrefix(), "_XXXXXX");
  std::string dir = pattern;
  if (::mkdtemp(dir.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
    path_ = pattern;  // Does not exist; never removed.
    return;
  }
  path_ = dir;
  created_ = true;
}

TempDir::~TempDir() {
  if (!created_ || std::getenv("RECSERVE_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code error;
  std::filesystem::remove_all(path_, error);
  if (error) ADD_FAILURE() << "cannot remove " << path_ << ": " << error;
}

std::string TempDir::Path(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

void WriteFile(const std::string& path, absl::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) GTEST_FAIL() << "cannot write " << path;
}

std::string ReadFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) {
    ADD_FAILURE() << bytes.status();
    return "";
  }
  return *std::move(bytes);
}

}  // namespace testutil
}  // namespace recserve
