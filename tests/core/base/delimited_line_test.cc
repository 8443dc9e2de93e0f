#include "core/base/delimited_line.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class LineReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = tmp_.Path(name);
    testutil::WriteFile(path, content);
    return path;
  }

  static std::vector<std::string> ReadAll(LineReader& reader) {
    std::vector<std::string> lines;
    absl::string_view line;
    while (reader.Next(&line)) lines.emplace_back(line);
    EXPECT_TRUE(reader.status().ok()) << reader.status();
    return lines;
  }

  testutil::TempDir tmp_;
};

TEST_F(LineReaderTest, SplitsLfCrlfAndFinalLineWithoutNewline) {
  auto reader = LineReader::Open(Write("a.txt", "one\r\ntwo\n\nthree\r\nfour"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_THAT(ReadAll(**reader),
              ElementsAre("one", "two", "", "three", "four"));
  EXPECT_EQ((*reader)->line_number(), 5);
}

TEST_F(LineReaderTest, LineNumbersCountEveryLine) {
  auto reader = LineReader::Open(Write("a.txt", "a\n\nb\n"));
  ASSERT_TRUE(reader.ok());
  absl::string_view line;
  ASSERT_TRUE((*reader)->Next(&line));
  EXPECT_EQ((*reader)->line_number(), 1);
  ASSERT_TRUE((*reader)->Next(&line));
  ASSERT_TRUE((*reader)->Next(&line));
  EXPECT_EQ(line, "b");
  EXPECT_EQ((*reader)->line_number(), 3);
  EXPECT_FALSE((*reader)->Next(&line));
  EXPECT_FALSE((*reader)->Next(&line));  // Stays at end.
}

TEST_F(LineReaderTest, DropsUtf8ByteOrderMarkOnlyAtStart) {
  auto reader =
      LineReader::Open(Write("bom.txt", "\xEF\xBB\xBFid,x\n\xEF\xBB\xBFy\n"));
  ASSERT_TRUE(reader.ok());
  EXPECT_THAT(ReadAll(**reader), ElementsAre("id,x", "\xEF\xBB\xBFy"));
}

TEST_F(LineReaderTest, EmptyFileAndLoneCarriageReturn) {
  auto empty = LineReader::Open(Write("empty.txt", ""));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(ReadAll(**empty).empty());
  auto cr = LineReader::Open(Write("cr.txt", "\r\n"));
  ASSERT_TRUE(cr.ok());
  EXPECT_THAT(ReadAll(**cr), ElementsAre(""));
}

TEST_F(LineReaderTest, LinesLongerThanTheBlockGrowTheBuffer) {
  const std::string long_line(20000, 'x');
  std::string content;
  for (int i = 0; i < 5; ++i) content += long_line + std::to_string(i) + "\n";
  LineReader::Options options;
  options.block_size = 4096;
  std::vector<int64_t> progress;
  int64_t total = 0;
  options.progress = [&](int64_t done, int64_t size) {
    progress.push_back(done);
    total = size;
  };
  auto reader = LineReader::Open(Write("long.txt", content), options);
  ASSERT_TRUE(reader.ok());
  const std::vector<std::string> lines = ReadAll(**reader);
  ASSERT_EQ(lines.size(), 5u);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(lines[i], long_line + std::to_string(i));
  EXPECT_EQ(total, static_cast<int64_t>(content.size()));
  ASSERT_GE(progress.size(), 3u);
  EXPECT_EQ(progress.back(), static_cast<int64_t>(content.size()));
  EXPECT_EQ((*reader)->file_size(), static_cast<int64_t>(content.size()));
}

TEST_F(LineReaderTest, EstimatesLineCount) {
  std::string content;
  for (int i = 0; i < 100000; ++i) content += "1\t2\t3\t881250949\n";
  auto big = LineReader::Open(Write("big.txt", content));
  ASSERT_TRUE(big.ok());
  EXPECT_NEAR((*big)->EstimateLineCount(), 100000, 100);
  absl::string_view line;
  ASSERT_TRUE((*big)->Next(&line));  // Estimating did not move the reader.
  EXPECT_EQ(line, "1\t2\t3\t881250949");

  auto small = LineReader::Open(Write("small.txt", "a\nb\nc\n"));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)->EstimateLineCount(), 4);  // Newlines + 1.
  auto empty = LineReader::Open(Write("empty.txt", ""));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->EstimateLineCount(), 0);
}

TEST_F(LineReaderTest, MissingFileIsNotFoundNamingIt) {
  auto reader = LineReader::Open(tmp_.Path("nope.txt"));
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(reader.status().message(), HasSubstr(tmp_.Path("nope.txt")));
}

TEST_F(LineReaderTest, DirectoryIsAnError) {
  auto reader = LineReader::Open(tmp_.path());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reader.status().message(), HasSubstr("directory"));
}

TEST(SplitFieldsTest, SingleCharacterDelimiter) {
  std::vector<absl::string_view> fields;
  SplitFields("a,,b", ',', &fields);
  EXPECT_THAT(fields, ElementsAre("a", "", "b"));
  SplitFields("", ',', &fields);
  EXPECT_THAT(fields, ElementsAre(""));
  SplitFields("1\t2\t", '\t', &fields);
  EXPECT_THAT(fields, ElementsAre("1", "2", ""));
}

TEST(SplitFieldsTest, MultiCharacterDelimiter) {
  std::vector<absl::string_view> fields;
  SplitFields("1::1193::5::978300760", "::", &fields);
  EXPECT_THAT(fields, ElementsAre("1", "1193", "5", "978300760"));
  SplitFields("a:b::c:::d", "::", &fields);
  EXPECT_THAT(fields, ElementsAre("a:b", "c", ":d"));
  SplitFields("a|b", absl::string_view("|"), &fields);
  EXPECT_THAT(fields, ElementsAre("a", "b"));
}

TEST(CsvSplitterTest, PlainFields) {
  CsvSplitter csv;
  std::vector<absl::string_view> fields;
  ASSERT_TRUE(csv.Split("1,Toy Story (1995),Animation", &fields).ok());
  EXPECT_THAT(fields, ElementsAre("1", "Toy Story (1995)", "Animation"));
}

TEST(CsvSplitterTest, QuotedFieldsWithDelimitersAndDoubledQuotes) {
  CsvSplitter csv;
  std::vector<absl::string_view> fields;
  ASSERT_TRUE(
      csv.Split("11,\"American President, The (1995)\",Comedy|Drama", &fields)
          .ok());
  EXPECT_THAT(fields, ElementsAre("11", "American President, The (1995)",
                                  "Comedy|Drama"));
  ASSERT_TRUE(
      csv.Split("\"a\"\"b\",\"\",\"Lies \"\"and\"\" more, (2001)\",", &fields)
          .ok());
  EXPECT_THAT(fields, ElementsAre("a\"b", "", "Lies \"and\" more, (2001)", ""));
}

TEST(CsvSplitterTest, OtherDelimiter) {
  CsvSplitter csv(';');
  std::vector<absl::string_view> fields;
  ASSERT_TRUE(csv.Split("\"x;y\";2", &fields).ok());
  EXPECT_THAT(fields, ElementsAre("x;y", "2"));
}

TEST(CsvSplitterTest, MalformedQuoting) {
  CsvSplitter csv;
  std::vector<absl::string_view> fields;
  absl::Status s = csv.Split("1,\"open title,Drama", &fields);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unterminated quoted field 2"));
  s = csv.Split("\"a\"b,c", &fields);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("after the closing quote of field 1"));
}

TEST(ParseNumberTest, Integers) {
  int64_t v = 0;
  EXPECT_TRUE(ParseInt64("881250949", &v));
  EXPECT_EQ(v, 881250949);
  EXPECT_TRUE(ParseInt64("-12", &v));
  EXPECT_EQ(v, -12);
  EXPECT_TRUE(ParseInt64("007", &v));
  EXPECT_EQ(v, 7);
  for (const char* bad :
       {"", " 1", "1 ", "+1", "1.0", "12x", "x", "99999999999999999999"}) {
    EXPECT_FALSE(ParseInt64(bad, &v)) << bad;
  }
}

TEST(ParseNumberTest, Floats) {
  float v = 0;
  EXPECT_TRUE(ParseFloat("3.5", &v));
  EXPECT_EQ(v, 3.5f);
  EXPECT_TRUE(ParseFloat("4", &v));
  EXPECT_EQ(v, 4.0f);
  EXPECT_TRUE(ParseFloat("-1.5e-1", &v));
  EXPECT_FLOAT_EQ(v, -0.15f);
  EXPECT_TRUE(ParseFloat("nan", &v));
  EXPECT_TRUE(std::isnan(v));
  EXPECT_TRUE(ParseFloat("inf", &v));
  EXPECT_TRUE(std::isinf(v));
  for (const char* bad : {"", " 3", "3 ", "+3", "3,5", "abc", "1e50", "."}) {
    EXPECT_FALSE(ParseFloat(bad, &v)) << bad;
  }
}

TEST(ParseNumberTest, AsciiDigits) {
  EXPECT_TRUE(IsAsciiDigits("007"));
  EXPECT_FALSE(IsAsciiDigits(""));
  EXPECT_FALSE(IsAsciiDigits("-1"));
  EXPECT_FALSE(IsAsciiDigits("1a"));
}

TEST(QuoteForMessageTest, QuotesAndTruncates) {
  EXPECT_EQ(QuoteForMessage("abc"), "'abc'");
  EXPECT_EQ(QuoteForMessage(""), "''");
  EXPECT_EQ(QuoteForMessage(std::string(61, 'x')),
            "'" + std::string(60, 'x') + "...'");
}

TEST(EncodingTest, ValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Mis\xC3\xA9rables"));  // é
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));       // €
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x8E\xAC"));   // 🎬
  EXPECT_FALSE(IsValidUtf8("Mis\xE9rables"));     // Latin-1 é
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

TEST(EncodingTest, Latin1ToUtf8) {
  EXPECT_EQ(Latin1ToUtf8("Mis\xE9rables"), "Mis\xC3\xA9rables");
  EXPECT_EQ(Latin1ToUtf8("\xFF\xA0x"), "\xC3\xBF\xC2\xA0x");
  EXPECT_EQ(Utf8OrLatin1ToUtf8("Mis\xC3\xA9rables"), "Mis\xC3\xA9rables");
  EXPECT_EQ(Utf8OrLatin1ToUtf8("Mis\xE9rables"), "Mis\xC3\xA9rables");
}

}  // namespace
}  // namespace recserve
