#include "core/base/mapped_file.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

// Binary content with NULs and every byte value, over several pages.
std::string Content(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7) % 256);
  return s;
}

class MappedFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = tmp_.Path(name);
    testutil::WriteFile(path, content);
    return path;
  }

  testutil::TempDir tmp_;
};

TEST_F(MappedFileTest, MapsTheWholeFilePageAligned) {
  const std::string content = Content(3 * 4096 + 17);
  const std::string path = Write("a.bin", content);
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->size(), content.size());
  EXPECT_EQ(file->bytes(), content);
  EXPECT_EQ(file->data(), file->bytes().data());
  EXPECT_EQ(file->path(), path);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(file->data()) %
                static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE)),
            0u);
}

TEST_F(MappedFileTest, EmptyFileMapsToAnEmptyView) {
  absl::StatusOr<MappedFile> file = MappedFile::Open(Write("empty", ""));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->size(), 0u);
  EXPECT_TRUE(file->bytes().empty());
}

TEST_F(MappedFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = tmp_.Path("no-such-file");
  absl::StatusOr<MappedFile> file = MappedFile::Open(path);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr(path));
}

TEST_F(MappedFileTest, DirectoryIsFailedPreconditionNamingThePath) {
  absl::StatusOr<MappedFile> file = MappedFile::Open(tmp_.path());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(file.status().message(), HasSubstr(tmp_.path()));
  EXPECT_THAT(file.status().message(), HasSubstr("not a regular file"));
}

TEST_F(MappedFileTest, BytesSurviveTheFileBeingUnlinkedOrRenamed) {
  const std::string content = Content(10000);
  const std::string unlinked = Write("unlinked", content);
  const std::string renamed = Write("renamed", content);
  absl::StatusOr<MappedFile> a = MappedFile::Open(unlinked);
  absl::StatusOr<MappedFile> b = MappedFile::Open(renamed);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(std::remove(unlinked.c_str()), 0);
  ASSERT_EQ(std::rename(renamed.c_str(), tmp_.Path("elsewhere").c_str()), 0);
  EXPECT_EQ(a->bytes(), content);
  EXPECT_EQ(b->bytes(), content);
}

TEST_F(MappedFileTest, MoveTransfersTheMapping) {
  const std::string content = Content(5000);
  const std::string path = Write("a.bin", content);
  absl::StatusOr<MappedFile> opened = MappedFile::Open(path);
  ASSERT_TRUE(opened.ok());
  const char* data = opened->data();
  MappedFile moved(std::move(*opened));
  EXPECT_EQ(moved.data(), data) << "moving must not copy or remap";
  EXPECT_EQ(moved.bytes(), content);
  EXPECT_EQ(moved.path(), path);
  // The moved-from object no longer owns the bytes (no double unmap).
  EXPECT_TRUE(opened->bytes().empty());  // NOLINT(bugprone-use-after-move)
}

TEST_F(MappedFileTest, MoveAssignmentReplacesTheMapping) {
  const std::string first = Content(100), second = "second file";
  absl::StatusOr<MappedFile> a = MappedFile::Open(Write("first", first));
  absl::StatusOr<MappedFile> b = MappedFile::Open(Write("second", second));
  ASSERT_TRUE(a.ok() && b.ok());
  MappedFile target = std::move(*a);
  EXPECT_EQ(target.bytes(), first);
  target = std::move(*b);
  EXPECT_EQ(target.bytes(), second);
  EXPECT_EQ(target.path(), tmp_.Path("second"));
  MappedFile& alias = target;
  target = std::move(alias);  // self-move keeps the mapping
  EXPECT_EQ(target.bytes(), second);
}

TEST(MappedFileDefaultTest, DefaultConstructedIsEmpty) {
  MappedFile file;
  EXPECT_EQ(file.size(), 0u);
  EXPECT_TRUE(file.bytes().empty());
  EXPECT_TRUE(file.path().empty());
}

}  // namespace
}  // namespace recserve
