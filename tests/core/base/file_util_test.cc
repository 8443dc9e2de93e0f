#include "core/base/file_util.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

// Binary content larger than one 64 KiB read, with NULs.
std::string BigContent() {
  std::string s(200'003, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 31 % 251);
  return s;
}

TEST(ErrnoStatusTest, MapsTheCodeAndFormatsPathWhatAndReason) {
  const absl::Status s = ErrnoStatus(ENOENT, "/x/y", "open");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), absl::StrCat("/x/y: open: ", std::strerror(ENOENT)));
  EXPECT_EQ(ErrnoStatus(EACCES, "p", "w").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(ENOSPC, "p", "w").code(),
            absl::StatusCode::kResourceExhausted);
}

class FileUtilTest : public ::testing::Test {
 protected:
  testutil::TempDir tmp_;
};

TEST_F(FileUtilTest, WriteFileDurablyWritesExactlyThePiecesInOrder) {
  const std::string path = tmp_.Path("out.bin");
  const std::string big = BigContent();
  const std::vector<absl::string_view> pieces = {
      "head,", "", absl::string_view("\0nul\0", 5), big};
  ASSERT_TRUE(WriteFileDurably(path, pieces).ok());
  EXPECT_EQ(testutil::ReadFile(path),
            absl::StrCat("head,", absl::string_view("\0nul\0", 5), big));
}

TEST_F(FileUtilTest, WriteFileDurablyWithNoPiecesCreatesAnEmptyFile) {
  const std::string path = tmp_.Path("empty");
  ASSERT_TRUE(WriteFileDurably(path, {}).ok());
  absl::StatusOr<std::string> read = ReadFileToString(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "");
}

TEST_F(FileUtilTest, WriteFileDurablyReplacesLongerContent) {
  const std::string path = tmp_.Path("f");
  testutil::WriteFile(path, "a much longer old content");
  const std::vector<absl::string_view> pieces = {"new"};
  ASSERT_TRUE(WriteFileDurably(path, pieces).ok());
  EXPECT_EQ(testutil::ReadFile(path), "new");
}

TEST_F(FileUtilTest, WriteFileDurablyInAMissingDirectoryNamesThePath) {
  const std::string path = tmp_.Path("no-such-dir/f");
  const std::vector<absl::string_view> pieces = {"x"};
  const absl::Status s = WriteFileDurably(path, pieces);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr(path));
}

TEST_F(FileUtilTest, WriteFileDurablyOverADirectoryFailsNamingThePath) {
  const std::vector<absl::string_view> pieces = {"x"};
  const absl::Status s = WriteFileDurably(tmp_.path(), pieces);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(tmp_.path()));
}

TEST_F(FileUtilTest, FsyncPathFlushesFilesAndDirectories) {
  const std::string path = tmp_.Path("f");
  testutil::WriteFile(path, "x");
  EXPECT_TRUE(FsyncPath(path).ok());
  EXPECT_TRUE(FsyncPath(tmp_.path()).ok());
  const absl::Status missing = FsyncPath(tmp_.Path("missing"));
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr(tmp_.Path("missing")));
}

TEST_F(FileUtilTest, ReadFileToStringReadsBinaryContent) {
  const std::string path = tmp_.Path("big");
  const std::string big = BigContent();
  testutil::WriteFile(path, big);
  absl::StatusOr<std::string> read = ReadFileToString(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, big);
}

TEST_F(FileUtilTest, ReadFileToStringEnforcesTheSizeLimit) {
  const std::string path = tmp_.Path("ten");
  testutil::WriteFile(path, "0123456789");
  EXPECT_TRUE(ReadFileToString(path, 10).ok());
  absl::StatusOr<std::string> over = ReadFileToString(path, 9);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.status().message(), HasSubstr(path));
}

TEST_F(FileUtilTest, ReadFileToStringOfAMissingFileIsNotFound) {
  const std::string path = tmp_.Path("missing");
  absl::StatusOr<std::string> read = ReadFileToString(path);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr(path));
}

TEST(Crc32Test, MatchesTheStandardCheckValueAndContinues) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the CRC-32 check value
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  EXPECT_EQ(Crc32("56789", Crc32("1234")), 0xCBF43926u);
}

TEST(Crc32Test, HexIsEightLowercaseDigits) {
  EXPECT_EQ(Crc32ToHex(0), "00000000");
  EXPECT_EQ(Crc32ToHex(0x0a1b2c3d), "0a1b2c3d");
  EXPECT_EQ(Crc32ToHex(0xCBF43926u), "cbf43926");
  EXPECT_EQ(Crc32ToHex(0xFFFFFFFFu), "ffffffff");
}

TEST_F(FileUtilTest, Crc32OfFileEqualsCrc32OfItsContent) {
  const std::string big = BigContent();
  testutil::WriteFile(tmp_.Path("big"), big);
  testutil::WriteFile(tmp_.Path("empty"), "");
  absl::StatusOr<uint32_t> crc = Crc32OfFile(tmp_.Path("big"));
  ASSERT_TRUE(crc.ok()) << crc.status();
  EXPECT_EQ(*crc, Crc32(big));
  absl::StatusOr<uint32_t> empty = Crc32OfFile(tmp_.Path("empty"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0u);
  absl::StatusOr<uint32_t> missing = Crc32OfFile(tmp_.Path("missing"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(tmp_.Path("missing")));
}

}  // namespace
}  // namespace recserve
