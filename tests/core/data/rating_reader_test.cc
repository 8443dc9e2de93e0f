#include "core/data/rating_reader.h"

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kCsvHeader[] = "userId,movieId,rating,timestamp";

// (external user, external item, value, timestamp) of every rating, for
// compact comparisons.
using Row = std::tuple<std::string, std::string, float, int64_t>;
std::vector<Row> Rows(const Dataset& data) {
  std::vector<Row> rows;
  for (const Rating& r : data.ratings) {
    rows.emplace_back(data.users.Id(r.user), data.items.Id(r.item), r.value,
                      r.timestamp);
  }
  return rows;
}

class RatingReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = tmp_.Path(name);
    testutil::WriteFile(path, content);
    return path;
  }

  // Writes `content` to `name`, reads it expecting failure, and checks the
  // message is "<path>:<line>: ..." containing `problem`.
  void ExpectLineError(const std::string& name, const std::string& content,
                       int line, const std::string& problem,
                       RatingReadOptions options = {}) {
    const std::string path = Write(name, content);
    Dataset data;
    auto report = ReadRatings(path, options, &data);
    ASSERT_FALSE(report.ok()) << name << ": " << content;
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(),
                HasSubstr(absl::StrCat(path, ":", line, ": ", problem)));
    EXPECT_TRUE(data.ratings.empty());
  }

  testutil::TempDir tmp_;
};

TEST_F(RatingReaderTest, Ml100kAutoDetected) {
  const std::string path =
      Write("u.data",
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
            "22\t377\t1\t878887116\n196\t377\t5\t1\n");
  Dataset data;
  auto report = ReadRatings(path, {}, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, RatingFormat::kMl100k);
  EXPECT_EQ(report->lines, 4);
  EXPECT_EQ(report->ratings, 4);
  EXPECT_EQ(report->duplicates_dropped, 0);
  EXPECT_THAT(data.users.ids(), ElementsAre("196", "186", "22"));
  EXPECT_THAT(data.items.ids(), ElementsAre("242", "302", "377"));
  ASSERT_THAT(data.ratings, SizeIs(4));
  EXPECT_EQ(data.ratings[3].user, 0);
  EXPECT_EQ(data.ratings[3].item, 2);
  EXPECT_EQ(data.ratings[3].value, 5.0f);
  EXPECT_EQ(data.ratings[3].timestamp, 1);
  EXPECT_EQ(data.ratings[0].timestamp, 881250949);
}

TEST_F(RatingReaderTest, EveryFormatAutoDetectedAndForced) {
  struct Case {
    RatingFormat format;
    std::string name, content;
  };
  const std::vector<Case> cases = {
      {RatingFormat::kMl100k, "u1.base", "1\t1\t5\t874965758\n1\t2\t3\t8\n"},
      {RatingFormat::kMlDat, "ratings.dat",
       "1::1193::5::978300760\n1::661::3.5::978302109\n"},
      {RatingFormat::kMlCsv, "ratings.csv",
       absl::StrCat(kCsvHeader, "\n1,296,5.0,1147880044\n1,306,0.5,8\n")},
  };
  for (const Case& c : cases) {
    for (RatingFormat requested : {RatingFormat::kAuto, c.format}) {
      RatingReadOptions options;
      options.format = requested;
      Dataset data;
      auto report = ReadRatings(Write(c.name, c.content), options, &data);
      ASSERT_TRUE(report.ok()) << c.name << ": " << report.status();
      EXPECT_EQ(report->format, c.format) << c.name;
      EXPECT_EQ(report->ratings, 2) << c.name;
      EXPECT_EQ(data.num_users(), 1) << c.name;
      EXPECT_EQ(data.num_items(), 2) << c.name;
    }
  }
}

TEST_F(RatingReaderTest, CsvWithCrlfAndHalfStars) {
  const std::string path = Write(
      "ratings.csv", absl::StrCat(kCsvHeader,
                                  "\r\n1,296,5.0,1147880044\r\n"
                                  "1,306,3.5,1147868817\r\n2,1,0.5,7\r\n"));
  Dataset data;
  auto report = ReadRatings(path, {}, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, RatingFormat::kMlCsv);
  EXPECT_EQ(report->lines, 3);
  EXPECT_THAT(Rows(data), ElementsAre(Row{"1", "296", 5.0f, 1147880044},
                                      Row{"1", "306", 3.5f, 1147868817},
                                      Row{"2", "1", 0.5f, 7}));
}

TEST_F(RatingReaderTest, DatWithHalfStarsAndCrlf) {
  Dataset data;
  auto report =
      ReadRatings(Write("ratings.dat",
                        "1::122::4.5::838985046\r\n2::185::3::838983525\r\n"),
                  {}, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Rows(data), ElementsAre(Row{"1", "122", 4.5f, 838985046},
                                      Row{"2", "185", 3.0f, 838983525}));
}

TEST_F(RatingReaderTest, IdsKeptExactlyAsWritten) {
  Dataset data;
  auto report = ReadRatings(
      Write("u.data", "007\t01\t4\t5\n7\t1\t4\t6\n007\t1\t2\t7\n"), {}, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(data.users.ids(), ElementsAre("007", "7"));
  EXPECT_THAT(data.items.ids(), ElementsAre("01", "1"));
  EXPECT_EQ(report->duplicates_dropped, 0);
}

TEST_F(RatingReaderTest, AppendingTwoFilesSharesIdMaps) {
  Dataset data;
  ASSERT_TRUE(
      ReadRatings(Write("u1.base", "1\t10\t4\t1\n2\t20\t3\t2\n"), {}, &data)
          .ok());
  auto report = ReadRatings(
      Write("u1.test", "2\t10\t5\t3\n3\t30\t1\t4\n1\t10\t2\t9\n"), {}, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->ratings, 3);
  // (1, 10) is in both files: duplicates are only dropped within one call.
  EXPECT_EQ(report->duplicates_dropped, 0);
  EXPECT_THAT(data.users.ids(), ElementsAre("1", "2", "3"));
  EXPECT_THAT(data.items.ids(), ElementsAre("10", "20", "30"));
  ASSERT_THAT(data.ratings, SizeIs(5));
  EXPECT_EQ(data.ratings[2].user, 1);  // "2" from the first file.
  EXPECT_EQ(data.ratings[2].item, 0);  // "10" from the first file.
  EXPECT_EQ(data.ratings[4].user, 0);
  EXPECT_EQ(data.ratings[4].item, 0);
}

TEST_F(RatingReaderTest, DuplicatesKeepLatestTimestampThenLaterLine) {
  Dataset data;
  auto report = ReadRatings(Write("u.data",
                                  "1\t10\t3\t100\n"  // tie with line 4
                                  "1\t10\t4\t50\n"   // older
                                  "1\t11\t2\t7\n"
                                  "1\t10\t5\t100\n"  // kept
                                  "2\t10\t1\t1\n"
                                  "3\t12\t1\t200\n"  // kept: latest
                                  "3\t12\t2\t150\n"),
                            {}, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 7);
  EXPECT_EQ(report->ratings, 4);
  EXPECT_EQ(report->duplicates_dropped, 3);
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"1", "11", 2.0f, 7}, Row{"1", "10", 5.0f, 100},
                          Row{"2", "10", 1.0f, 1}, Row{"3", "12", 1.0f, 200}));
}

// Compares deduplication against a plain std::map oracle on a random file
// with many repeats in random order.
TEST_F(RatingReaderTest, DeduplicationMatchesOracleOnRandomFile) {
  std::mt19937 rng(42);
  std::string content;
  // (user, item) -> (timestamp, line, rating) of the winner so far.
  std::map<std::pair<int, int>, std::tuple<int64_t, int, int>> best;
  const int kLines = 20000;
  for (int line = 1; line <= kLines; ++line) {
    const int user = rng() % 60, item = rng() % 50, stars = 1 + rng() % 5;
    const int64_t ts = rng() % 300;
    absl::StrAppend(&content, user, "\t", item, "\t", stars, "\t", ts, "\n");
    auto [it, inserted] = best.try_emplace({user, item}, ts, line, stars);
    if (!inserted && ts >= std::get<0>(it->second)) {
      it->second = {ts, line, stars};
    }
  }
  std::map<int, Row> expected_by_line;
  for (const auto& [key, winner] : best) {
    expected_by_line[std::get<1>(winner)] =
        Row{std::to_string(key.first), std::to_string(key.second),
            static_cast<float>(std::get<2>(winner)), std::get<0>(winner)};
  }
  std::vector<Row> expected;
  for (const auto& [line, row] : expected_by_line) expected.push_back(row);

  Dataset data;
  auto report = ReadRatings(Write("random.data", content), {}, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->ratings, static_cast<int64_t>(best.size()));
  EXPECT_EQ(report->duplicates_dropped,
            kLines - static_cast<int64_t>(best.size()));
  EXPECT_EQ(Rows(data), expected);
}

TEST_F(RatingReaderTest, BadLinesNameFileLineAndProblem) {
  const std::string csv = absl::StrCat(kCsvHeader, "\n1,2,3,4\n");
  ExpectLineError("u.data", "1\t2\t3\t4\n1\t2\t3\n", 2,
                  "expected 4 tab-separated fields, found 3");
  ExpectLineError("u.data", "1\t2\t3\t4\n\n1\t2\t3\t4\t5\n", 3,
                  "expected 4 tab-separated fields, found 5");
  ExpectLineError("ratings.dat", "1::2::3::4\n1::2::3\n", 2,
                  "expected 4 '::'-separated fields, found 3");
  ExpectLineError("ratings.csv", csv + "1,2,3\n", 3,
                  "expected 4 comma-separated fields, found 3");
  ExpectLineError("u.data", "1\t2\t3\t4\nabc\t2\t3\t4\n", 2,
                  "non-numeric user id 'abc'");
  ExpectLineError("ratings.dat", "1::2::3::4\n2::x1::5::1\n", 2,
                  "non-numeric item id 'x1'");
  ExpectLineError("u.data", "1\t2\t3\t4\n\t2\t3\t4\n", 2, "empty user id");
  ExpectLineError("ratings.csv", csv + "1,,3,4\n", 3, "empty item id");
  ExpectLineError("ratings.csv", csv + "-1,2,3,4\n", 3,
                  "non-numeric user id '-1'");
  ExpectLineError("ratings.csv", csv + "1,2,nan,4\n", 3,
                  "rating 'nan' is not a finite number");
  ExpectLineError("ratings.csv", csv + "1,2,inf,4\n", 3,
                  "rating 'inf' is not a finite number");
  ExpectLineError("ratings.csv", csv + "1,2,-inf,4\n", 3,
                  "rating '-inf' is not a finite number");
  ExpectLineError("ratings.csv", csv + "1,2,abc,4\n", 3,
                  "non-numeric rating 'abc'");
  ExpectLineError("ratings.csv", csv + "1,2,,4\n", 3, "empty rating");
  ExpectLineError("ratings.csv", csv + "1,2,5.5,4\n", 3,
                  "rating '5.5' is out of scale [0.5, 5]");
  ExpectLineError("ratings.csv", csv + "1,2,0,4\n", 3,
                  "rating '0' is out of scale [0.5, 5]");
  ExpectLineError("ratings.csv", csv + "1,2,3.7,4\n", 3,
                  "rating '3.7' is not a whole or half star");
  ExpectLineError("ratings.csv", csv + "1,2,3,12x\n", 3,
                  "non-integer timestamp '12x'");
  ExpectLineError("ratings.csv", csv + "1,2,3,4.5\n", 3,
                  "non-integer timestamp '4.5'");
  ExpectLineError("ratings.csv", csv + "1,2,3,\n", 3, "empty timestamp");
  ExpectLineError("ratings.csv", csv + "1,2,\"3,4\n", 3,
                  "unterminated quoted field 3");
}

TEST_F(RatingReaderTest, ScaleOptions) {
  RatingReadOptions options;
  options.min_rating = 1;
  options.max_rating = 10;
  Dataset data;
  ASSERT_TRUE(
      ReadRatings(Write("u.data", "1\t2\t7\t4\n1\t3\t10\t4\n"), options, &data)
          .ok());
  EXPECT_EQ(data.ratings[1].value, 10.0f);
  ExpectLineError("u.data", "1\t2\t7\t4\n1\t3\t0.5\t4\n", 2,
                  "rating '0.5' is out of scale [1, 10]", options);
  options.min_rating = 6;
  options.max_rating = 5;
  EXPECT_EQ(ReadRatings(Write("u.data", "1\t2\t3\t4\n"), options, &data)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RatingReaderTest, ForcedFormatMismatchIsALineError) {
  RatingReadOptions options;
  options.format = RatingFormat::kMl100k;
  ExpectLineError("ratings.dat", "1::2::3::4\n", 1,
                  "expected 4 tab-separated fields, found 1", options);
  options.format = RatingFormat::kMlCsv;
  ExpectLineError("ratings.csv", "1,2,3,4\n", 1,
                  "expected the header 'userId,movieId,rating,timestamp', "
                  "found '1,2,3,4'",
                  options);
}

TEST_F(RatingReaderTest, EmptyHeaderOnlyUnknownAndMissingFiles) {
  for (const char* content : {"", "\n\r\n\n"}) {
    const std::string path = Write("empty.data", content);
    Dataset data;
    RatingReadOptions options;
    options.skip_bad_lines = true;
    auto report = ReadRatings(path, options, &data);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(), HasSubstr(path + ": empty file"));
  }
  {
    const std::string path =
        Write("ratings.csv", absl::StrCat(kCsvHeader, "\r\n\r\n"));
    Dataset data;
    auto report = ReadRatings(path, {}, &data);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(),
                HasSubstr(path + ": only a header line"));
  }
  {
    const std::string path = Write("mystery.txt", "hello world\n1 2 3 4\n");
    Dataset data;
    RatingReadOptions options;
    options.skip_bad_lines = true;
    auto report = ReadRatings(path, options, &data);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(report.status().message());
    EXPECT_THAT(message, HasSubstr(path + ": cannot detect"));
    EXPECT_THAT(message, HasSubstr("ml100k"));
    EXPECT_THAT(message, HasSubstr("dat"));
    EXPECT_THAT(message, HasSubstr("csv"));
    EXPECT_THAT(message, HasSubstr("generic with a column mapping"));
  }
  {
    Dataset data;
    auto report = ReadRatings(tmp_.Path("no_such.data"), {}, &data);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(report.status().message(),
                HasSubstr(tmp_.Path("no_such.data")));
  }
}

TEST_F(RatingReaderTest, FailedReadAddsNoRatings) {
  Dataset data;
  ASSERT_TRUE(ReadRatings(Write("a.data", "1\t2\t3\t4\n"), {}, &data).ok());
  auto report =
      ReadRatings(Write("b.data", "5\t6\t3\t4\n1\t2\tx\t4\n"), {}, &data);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(Rows(data), ElementsAre(Row{"1", "2", 3.0f, 4}));
}

TEST_F(RatingReaderTest, SkipBadLinesCountsAndKeepsTenMessages) {
  std::string content = "1\t2\t3\t4\n";
  for (int i = 0; i < 12; ++i) content += "1\tx\t3\t4\n";
  content += "2\t2\t9\t4\n";  // Out of scale.
  content += "2\t3\t4\t4\n";
  const std::string path = Write("u.data", content);
  RatingReadOptions options;
  options.skip_bad_lines = true;
  Dataset data;
  auto report = ReadRatings(path, options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 15);
  EXPECT_EQ(report->ratings, 2);
  EXPECT_EQ(report->skipped_bad_lines, 13);
  ASSERT_THAT(report->bad_line_messages, SizeIs(10));
  EXPECT_EQ(report->bad_line_messages[0], path + ":2: non-numeric item id 'x'");
  EXPECT_EQ(report->bad_line_messages[9],
            path + ":11: non-numeric item id 'x'");
  // Items of skipped lines are not interned.
  EXPECT_THAT(data.items.ids(), ElementsAre("2", "3"));

  const std::string all_bad = Write("bad.data", "1\t2\t3\t4x\n1\t2\t3\t4y\n");
  auto failed = ReadRatings(all_bad, options, &data);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(failed.status().message(),
              HasSubstr(all_bad + ": no valid ratings"));
}

TEST_F(RatingReaderTest, GenericFormatWithColumnMapping) {
  RatingReadOptions options;
  options.format = RatingFormat::kGeneric;
  options.generic_delimiter = ";";
  options.generic_columns = "user=uid,item=sku,rating=stars,timestamp=ts";
  Dataset data;
  auto report = ReadRatings(Write("shop.txt",
                                  "ts;extra;stars;sku;uid\r\n"
                                  "10;z;4.5;X-1;alice\r\n"
                                  "11;\"a;b\";3.7;X-1;bob\r\n"),
                            options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, RatingFormat::kGeneric);
  EXPECT_THAT(Rows(data), ElementsAre(Row{"alice", "X-1", 4.5f, 10},
                                      Row{"bob", "X-1", 3.7f, 11}));
}

TEST_F(RatingReaderTest, GenericWithoutTimestampUsesLineOrder) {
  RatingReadOptions options;
  options.format = RatingFormat::kGeneric;
  options.generic_delimiter = "\\t";
  options.generic_columns = "user=u, item=i, rating=r";
  Dataset data;
  auto report = ReadRatings(
      Write("x.tsv", "u\ti\tr\n\na\tb\t1\nc\tb\t2\na\tb\t3\n"), options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->duplicates_dropped, 1);
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"c", "b", 2.0f, 4}, Row{"a", "b", 3.0f, 5}));
}

TEST_F(RatingReaderTest, GenericErrors) {
  RatingReadOptions options;
  options.format = RatingFormat::kGeneric;
  options.generic_columns = "user=uid,item=sku,rating=stars";
  ExpectLineError("shop.csv", "uid,stars\nu,3\n", 1,
                  "column 'sku' (item) not found in the header; header "
                  "columns: uid, stars",
                  options);
  ExpectLineError("shop.csv", "uid,sku,stars\nu,,3\n", 2, "empty item id",
                  options);
  ExpectLineError("shop.csv", "uid,sku,stars\nu,i,3,4\n", 2,
                  "expected 3 ','-separated fields, found 4", options);

  Dataset data;
  const std::string path = Write("shop.csv", "uid,sku,stars\nu,i,3\n");
  // Without a rating column the file is implicit feedback unless explicit
  // feedback is asked for (rating_reader_events_test.cc reads it).
  options.generic_columns = "user=uid,item=sku";
  options.feedback = Feedback::kExplicit;
  auto report = ReadRatings(path, options, &data);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("rating column"));
  options.feedback = Feedback::kAuto;
  options.generic_columns = "user=uid,item=sku,rating=stars,color=red";
  report = ReadRatings(path, options, &data);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("'color=red'"));

  // Generic files are never auto-detected.
  report = ReadRatings(path, {}, &data);
  EXPECT_THAT(report.status().message(), HasSubstr("cannot detect"));
}

TEST_F(RatingReaderTest, ProgressReportsTheWholeFile) {
  const std::string content = "1\t2\t3\t4\n1\t3\t3\t4\n";
  RatingReadOptions options;
  int64_t last_done = -1, last_total = -1;
  options.progress = [&](int64_t done, int64_t total) {
    last_done = done;
    last_total = total;
  };
  Dataset data;
  ASSERT_TRUE(ReadRatings(Write("u.data", content), options, &data).ok());
  EXPECT_EQ(last_done, static_cast<int64_t>(content.size()));
  EXPECT_EQ(last_total, static_cast<int64_t>(content.size()));
}

TEST(RatingFormatTest, NamesRoundTrip) {
  for (RatingFormat f :
       {RatingFormat::kAuto, RatingFormat::kMl100k, RatingFormat::kMlDat,
        RatingFormat::kMlCsv, RatingFormat::kGeneric}) {
    auto parsed = ParseRatingFormat(RatingFormatName(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_EQ(*ParseRatingFormat("ml100k"), RatingFormat::kMl100k);
  auto bad = ParseRatingFormat("tsv");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'tsv'"));
}

}  // namespace
}  // namespace recserve
