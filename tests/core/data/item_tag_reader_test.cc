#include "core/data/item_tag_reader.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kHeader[] = "userId,movieId,tag,timestamp\n";

class ItemTagReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = tmp_.Path(name);
    testutil::WriteFile(path, content);
    return path;
  }

  void ExpectError(const std::string& content, const std::string& message,
                   ItemTagReadOptions options = {}) {
    const std::string path = Write("bad.csv", content);
    ItemTagMap tags = {{"kept", {"x"}}};
    auto report = ReadItemTags(path, options, &tags);
    ASSERT_FALSE(report.ok()) << content;
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(), HasSubstr(path + message));
    // Unchanged on error.
    EXPECT_THAT(tags, UnorderedElementsAre(Pair("kept", ElementsAre("x"))));
  }

  testutil::TempDir tmp_;
};

TEST_F(ItemTagReaderTest, ReadsDistinctTrimmedLowercasedTagsPerItem) {
  const std::string path =
      Write("tags.csv", absl::StrCat(kHeader,
                                     "2,60756,funny,1445714994\n"
                                     "2,60756,Highly quotable ,1445714996\n"
                                     "\n"
                                     "7,60756,FUNNY,1445715000\n"
                                     "18,431,Al Pacino,1462138765\n"
                                     "18,431,gangster,1462138749\n"));
  ItemTagMap tags;
  auto report = ReadItemTags(path, {}, &tags);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 5);
  EXPECT_EQ(report->items, 2);
  EXPECT_EQ(report->distinct_tags, 4);
  EXPECT_EQ(report->skipped_bad_lines, 0);
  EXPECT_THAT(tags, UnorderedElementsAre(
                        Pair("60756", ElementsAre("funny", "highly quotable")),
                        Pair("431", ElementsAre("al pacino", "gangster"))));
}

TEST_F(ItemTagReaderTest, QuotedTagsMayHoldCommasAndQuotes) {
  const std::string path =
      Write("tags.csv", absl::StrCat(kHeader,
                                     "18,2959,\"Brad Pitt, Edward Norton\",1\n"
                                     "18,2959,\"the \"\"twist\"\"\",2\n"
                                     "19,2959,brad pitt,3\n"));
  ItemTagMap tags;
  auto report = ReadItemTags(path, {}, &tags);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(tags, UnorderedElementsAre(Pair(
                        "2959", ElementsAre("brad pitt, edward norton",
                                            "the \"twist\"", "brad pitt"))));
}

TEST_F(ItemTagReaderTest, BomCrlfLatin1AndNonAsciiTags) {
  const std::string path =
      Write("tags.csv",
            "\xEF\xBB\xBFuserId,movieId,tag,timestamp\r\n"
            "1,10,Am\xC3\xA9lie-ish,5\r\n"  // UTF-8: only ASCII lowercased
            "1,11,Caf\xE9,6\r\n");          // Latin-1
  ItemTagMap tags;
  auto report = ReadItemTags(path, {}, &tags);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(tags,
              UnorderedElementsAre(Pair("10", ElementsAre("am\xC3\xA9lie-ish")),
                                   Pair("11", ElementsAre("caf\xC3\xA9"))));
}

TEST_F(ItemTagReaderTest, MergesWithTagsAlreadyThere) {
  ItemTagMap tags = {{"5", {"old", "shared"}}, {"6", {"other"}}};
  auto report = ReadItemTags(
      Write("tags.csv", absl::StrCat(kHeader, "1,5,shared,1\n1,5,new,1\n")), {},
      &tags);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(
      tags, UnorderedElementsAre(Pair("5", ElementsAre("old", "shared", "new")),
                                 Pair("6", ElementsAre("other"))));
}

TEST_F(ItemTagReaderTest, BadLinesNameFileLineAndProblem) {
  ExpectError(absl::StrCat(kHeader, "1,2,ok,3\n1,2,x\n"),
              ":3: expected 4 comma-separated fields");
  ExpectError(absl::StrCat(kHeader, "1,2,a,b,3\n"),
              ":2: expected 4 comma-separated fields");
  ExpectError(absl::StrCat(kHeader, "1,,tag,3\n"), ":2: empty item id");
  ExpectError(absl::StrCat(kHeader, "\n1,2,  ,3\n"),
              ":3: empty tag for item '2'");
  ExpectError(absl::StrCat(kHeader, "1,2,\"open,3\n"),
              ":2: unterminated quoted field");
  ExpectError(absl::StrCat(kHeader, "1,2,a\tb,3\n"),
              ":2: control character in tag");
}

TEST_F(ItemTagReaderTest, HeaderIsRequired) {
  ExpectError("1,2,tag,3\n",
              ":1: expected the header "
              "'userId,movieId,tag,timestamp', found "
              "'1,2,tag,3'");
  ExpectError("\nuserId,movieId,tag\n1,2,3\n", ":2: expected the header");
  ExpectError("", ": empty file");
  ExpectError(kHeader, ": only a header line");
}

TEST_F(ItemTagReaderTest, SkipBadLines) {
  const std::string path =
      Write("tags.csv", absl::StrCat(kHeader,
                                     "1,2,good,3\n1,2,,3\n1,2\n"
                                     "1,4,fine,3\n"));
  ItemTagMap tags;
  auto report = ReadItemTags(path, {.skip_bad_lines = true}, &tags);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 4);
  EXPECT_EQ(report->skipped_bad_lines, 2);
  EXPECT_THAT(report->bad_line_messages,
              ElementsAre(path + ":3: empty tag for item '2'",
                          HasSubstr(path + ":4: expected 4")));
  EXPECT_THAT(tags, UnorderedElementsAre(Pair("2", ElementsAre("good")),
                                         Pair("4", ElementsAre("fine"))));
  // Every line bad: an error even with skip_bad_lines.
  ExpectError(absl::StrCat(kHeader, "1,2,,3\n"), ": no valid item tags",
              {.skip_bad_lines = true});
}

TEST_F(ItemTagReaderTest, MissingFileIsNotFound) {
  ItemTagMap tags;
  auto report = ReadItemTags(tmp_.Path("missing.csv"), {}, &tags);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(report.status().message(), HasSubstr(tmp_.Path("missing.csv")));
}

}  // namespace
}  // namespace recserve
