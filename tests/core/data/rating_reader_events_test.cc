// ReadRatings on implicit feedback: count and event columns, aggregation of
// a pair's lines into one cell, negative events, and their errors.

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/event_weights.h"
#include "core/data/rating_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// (external user, external item, value, timestamp) of every rating.
using Row = std::tuple<std::string, std::string, float, int64_t>;
std::vector<Row> Rows(const Dataset& data, size_t from = 0) {
  std::vector<Row> rows;
  for (size_t k = from; k < data.ratings.size(); ++k) {
    const Rating& r = data.ratings[k];
    rows.emplace_back(data.users.Id(r.user), data.items.Id(r.item), r.value,
                      r.timestamp);
  }
  return rows;
}

EventWeights Events(const std::string& weights, const std::string& negative) {
  auto events = ParseEventWeights(weights, negative);
  EXPECT_TRUE(events.ok()) << events.status();
  return events.ok() ? *events : EventWeights{};
}

RatingReadOptions Generic(const std::string& delimiter,
                          const std::string& columns) {
  RatingReadOptions options;
  options.format = RatingFormat::kGeneric;
  options.generic_delimiter = delimiter;
  options.generic_columns = columns;
  return options;
}

void ExpectCountsAddUp(const RatingReadReport& report) {
  EXPECT_EQ(report.lines, report.ratings + report.duplicates_dropped +
                              report.merged + report.skipped_bad_lines);
}

class RatingReaderEventsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = tmp_.Path(name);
    testutil::WriteFile(path, content);
    return path;
  }

  absl::StatusOr<RatingReadReport> Read(const std::string& content,
                                        const RatingReadOptions& options,
                                        Dataset* data) {
    return ReadRatings(Write("events.txt", content), options, data);
  }

  // Reads `content` expecting a line error "<path>:<line>: <problem>".
  void ExpectLineError(const std::string& content, int line,
                       const std::string& problem,
                       const RatingReadOptions& options) {
    const std::string path = Write("bad.txt", content);
    Dataset data;
    auto report = ReadRatings(path, options, &data);
    ASSERT_FALSE(report.ok()) << content;
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(),
                HasSubstr(absl::StrCat(path, ":", line, ": ", problem)))
        << content;
    EXPECT_TRUE(data.ratings.empty());
  }

  testutil::TempDir tmp_;
};

// Last.fm's user_artists.dat: tab-separated play counts, no timestamp.
TEST_F(RatingReaderEventsTest, PlayCountsTabSeparatedLikeLastFm) {
  for (const std::string delimiter : {"\\t", "\t"}) {
    Dataset data;
    auto report = Read(
        "userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n"
        "3\t51\t0.5\n",
        Generic(delimiter, "user=userID,item=artistID,count=weight"), &data);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->format, RatingFormat::kGeneric);
    EXPECT_EQ(report->feedback, Feedback::kImplicit);
    EXPECT_EQ(report->lines, 3);
    EXPECT_EQ(report->ratings, 3);
    EXPECT_EQ(report->merged, 0);
    EXPECT_EQ(report->negative, 0);
    EXPECT_TRUE(report->event_lines.empty());
    // No timestamp column: the line number is the timestamp.
    EXPECT_THAT(Rows(data), ElementsAre(Row{"2", "51", 13883.0f, 2},
                                        Row{"2", "52", 11690.0f, 3},
                                        Row{"3", "51", 0.5f, 4}));
  }
}

TEST_F(RatingReaderEventsTest, NoColumnsBesidesUserAndItemCountsOnePerLine) {
  Dataset data;
  auto report = Read("u,i\na,x\na,x\nb,x\na,y\na,x\n",
                     Generic(",", "user=u,item=i"), &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->feedback, Feedback::kImplicit);
  EXPECT_EQ(report->merged, 2);
  ExpectCountsAddUp(*report);
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"a", "x", 3.0f, 6}, Row{"b", "x", 1.0f, 4},
                          Row{"a", "y", 1.0f, 5}));
}

// A retail log: typed events, weighted per type and summed per pair, the
// latest timestamp kept, the latest line's polarity.
TEST_F(RatingReaderEventsTest, RetailLogAggregatesWeightedEvents) {
  RatingReadOptions options =
      Generic(",", "user=user,item=item,event=event,timestamp=timestamp");
  options.events = Events("view=1,cart=4,purchase=10", "dislike");
  Dataset data;
  auto report = Read(
      "user,item,event,timestamp\n"
      "u1,shoe,view,100\n"
      "u2,shoe,view,101\n"
      "u1,shoe,cart,105\n"
      "u1,hat,view,90\n"
      "u1,shoe,purchase,103\n"  // Older than the cart: timestamp stays 105.
      "u2,shoe,dislike,110\n"   // Latest line negative: the cell is.
      "u2,sock,wishlist,50\n"   // Unknown type: weight 1.
      "u2,sock,dislike,40\n"    // Negative, but older: the cell stays positive.
      "u1,hat,view,95\n",
      options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->feedback, Feedback::kImplicit);
  EXPECT_EQ(report->lines, 9);
  EXPECT_EQ(report->ratings, 4);
  EXPECT_EQ(report->merged, 5);
  EXPECT_EQ(report->negative, 1);
  EXPECT_EQ(report->duplicates_dropped, 0);
  ExpectCountsAddUp(*report);
  EXPECT_THAT(
      report->event_lines,
      ElementsAre(Pair("cart", 1), Pair("dislike", 2), Pair("purchase", 1),
                  Pair("view", 4), Pair("wishlist", 1)));
  // In order of each pair's first line.
  EXPECT_THAT(
      Rows(data),
      ElementsAre(Row{"u1", "shoe", 15.0f, 105}, Row{"u2", "shoe", -1.0f, 110},
                  Row{"u1", "hat", 2.0f, 95}, Row{"u2", "sock", 1.0f, 50}));
}

TEST_F(RatingReaderEventsTest, NegativeSumsAndTiesGoToTheLaterLine) {
  RatingReadOptions options =
      Generic(";", "user=u,item=i,event=e,count=n,timestamp=t");
  options.events = Events("skip=2,dislike=3", "skip,dislike");
  Dataset data;
  auto report = Read(
      "u;i;e;n;t\n"
      "a;x;play;3;10\n"
      "a;x;skip;1;12\n"
      "a;x;dislike;2;12\n"  // Tie with the skip: the later line, negative.
      "a;y;skip;1;5\n"
      "a;y;play;4;5\n"  // Tie: the later line, positive.
      "b;x;play;1;1\n",
      options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->negative, 1);
  EXPECT_EQ(report->merged, 3);
  // a,x: positive 3, negative 1*2 + 2*3 = 8, latest negative.
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"a", "x", -8.0f, 12}, Row{"a", "y", 4.0f, 5},
                          Row{"b", "x", 1.0f, 1}));
}

TEST_F(RatingReaderEventsTest, RatingIsAStrengthFactorForImplicitFeedback) {
  RatingReadOptions options =
      Generic(",", "user=u,item=i,rating=r,count=c,timestamp=t");
  options.feedback = Feedback::kImplicit;
  Dataset data;
  auto report =
      Read("u,i,r,c,t\na,x,4,2,1\na,x,0.5,3,2\nb,x,5,1,3\n", options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->feedback, Feedback::kImplicit);
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"a", "x", 9.5f, 2}, Row{"b", "x", 5.0f, 3}));
  // Still checked against the scale.
  ExpectLineError("u,i,r,c,t\na,x,7,2,1\n", 2,
                  "rating '7' is out of scale [0.5, 5]", options);
  // A negative rating cannot be a strength.
  options.min_rating = -1;
  ExpectLineError("u,i,r,c,t\na,x,-0.5,2,1\n", 2,
                  "rating '-0.5' is negative; implicit feedback reads a "
                  "rating as a strength, which must be >= 0",
                  options);
  // A negative event of strength 0 would read as a positive cell.
  RatingReadOptions with_events =
      Generic(",", "user=u,item=i,rating=r,event=e,timestamp=t");
  with_events.feedback = Feedback::kImplicit;
  with_events.min_rating = 0;
  with_events.events = Events("", "skip");
  ExpectLineError("u,i,r,e,t\na,x,3,view,1\na,x,0,skip,2\n", 3,
                  "a negative event needs a strength > 0", with_events);
}

TEST_F(RatingReaderEventsTest, MovieLensFormatsReadAsImplicitSumRatings) {
  RatingReadOptions options;
  options.feedback = Feedback::kImplicit;
  Dataset data;
  auto report = Read("1\t2\t3\t100\n1\t2\t4\t50\n2\t2\t1\t7\n", options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->format, RatingFormat::kMl100k);
  EXPECT_EQ(report->feedback, Feedback::kImplicit);
  EXPECT_EQ(report->merged, 1);
  EXPECT_EQ(report->duplicates_dropped, 0);
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"1", "2", 7.0f, 100}, Row{"2", "2", 1.0f, 7}));
  // The same file as explicit feedback keeps the latest rating.
  Dataset explicit_data;
  options.feedback = Feedback::kAuto;
  report =
      Read("1\t2\t3\t100\n1\t2\t4\t50\n2\t2\t1\t7\n", options, &explicit_data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->feedback, Feedback::kExplicit);
  EXPECT_EQ(report->duplicates_dropped, 1);
  EXPECT_EQ(report->merged, 0);
}

TEST_F(RatingReaderEventsTest, HeaderWithBomCrlfAndQuotedNames) {
  const std::string content =
      "\xEF\xBB\xBF\"user_id\",\"product id\", \"event_type\" ,ts\r\n"
      "7,\"p,1\",view,1\r\n"
      "7,\"p,1\",cart,2\r\n";
  RatingReadOptions options = Generic(
      ",", "user=user_id,item=product id,event=event_type,timestamp=ts");
  options.events = Events("cart=5", "");
  Dataset data;
  auto report = Read(content, options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Rows(data), ElementsAre(Row{"7", "p,1", 6.0f, 2}));
  // A longer delimiter splits plainly; the header's quotes still go.
  options.generic_delimiter = "::";
  report = Read(
      "\xEF\xBB\xBF\"user_id\"::\"product id\"::\"event_type\"::ts\r\n"
      "7::p::view::1\r\n",
      options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Rows(data, 1), ElementsAre(Row{"7", "p", 1.0f, 1}));
}

TEST_F(RatingReaderEventsTest, ExplicitFeedbackRejectsEventColumns) {
  const std::string content = "u,i,r,n,e\na,x,4,1,view\n";
  RatingReadOptions options = Generic(",", "user=u,item=i,count=n");
  options.feedback = Feedback::kExplicit;
  Dataset data;
  auto report = Read(content, options, &data);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(),
              HasSubstr("events.txt:1: explicit feedback needs a rating "
                        "column, and the column mapping "
                        "'user=u,item=i,count=n' names none"));
  EXPECT_THAT(report.status().message(), HasSubstr("implicit feedback"));

  // kAuto with a rating column is explicit: count and event are refused.
  options = Generic(",", "user=u,item=i,rating=r,count=n,event=e");
  report = Read(content, options, &data);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(),
              HasSubstr("events.txt:1: explicit feedback takes no count or "
                        "event column"));
  EXPECT_THAT(report.status().message(),
              HasSubstr("names count and event; read them as implicit "
                        "feedback"));
  options.generic_columns = "user=u,item=i,rating=r,event=e";
  report = Read(content, options, &data);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("names event;"));
  EXPECT_TRUE(data.ratings.empty());

  // Read as implicit, it is fine.
  options.feedback = Feedback::kImplicit;
  report = Read(content, options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(Rows(data), ElementsAre(Row{"a", "x", 4.0f, 2}));
}

TEST_F(RatingReaderEventsTest, BadLinesNameFileLineAndProblem) {
  RatingReadOptions options =
      Generic(",", "user=u,item=i,count=c,event=e,timestamp=t");
  const std::string header = "u,i,c,e,t\na,x,1,view,1\n";
  for (const char* count : {"0", "-1", "inf", "nan", "many", "", "1e39"}) {
    ExpectLineError(
        header + "a,x," + count + ",view,2\n", 3,
        absl::StrCat("count must be a finite number > 0, got '", count, "'"),
        options);
  }
  ExpectLineError(header + "a,x,1,  ,2\n", 3, "empty event name", options);
  ExpectLineError(header + "a,x,1,,2\n", 3, "empty event name", options);
  ExpectLineError(header + "a,,1,view,2\n", 3, "empty item id", options);
  ExpectLineError(header + "a,x,1,view,soon\n", 3,
                  "non-integer timestamp 'soon'", options);
  ExpectLineError(header + "a,x,1,view\n", 3,
                  "expected 5 ','-separated fields, found 4", options);
  // A line's strength beyond the float range.
  options.events = Events("buy=10", "");
  ExpectLineError(header + "a,x,3e38,buy,2\n", 3,
                  "the strength (rating x count x event weight) is not a "
                  "finite number",
                  options);
}

TEST_F(RatingReaderEventsTest, EventNamesAreTrimmed) {
  RatingReadOptions options = Generic(";", "user=u,item=i,event=e");
  options.events = Events("cart=4", "");
  Dataset data;
  auto report = Read("u;i;e\na;x; cart \na;y;cart\n", options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->event_lines, ElementsAre(Pair("cart", 2)));
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"a", "x", 4.0f, 2}, Row{"a", "y", 4.0f, 3}));
}

TEST_F(RatingReaderEventsTest, SummedStrengthBeyondFloatRangeFails) {
  Dataset data;
  auto report = Read("u,i,c\na,x,3e38\na,x,3e38\n",
                     Generic(",", "user=u,item=i,count=c"), &data);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(),
              HasSubstr("the summed strength of user 'a' and item 'x' "
                        "exceeds the float range"));
  EXPECT_TRUE(data.ratings.empty());
}

TEST_F(RatingReaderEventsTest, SkipBadLinesKeepsTheRest) {
  RatingReadOptions options =
      Generic(",", "user=u,item=i,count=c,event=e,timestamp=t");
  options.skip_bad_lines = true;
  Dataset data;
  auto report = Read(
      "u,i,c,e,t\na,x,1,view,1\na,x,0,view,2\na,x,2, ,3\nb,x,1,view,4\n"
      "a,x,1,cart,5\n",
      options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->skipped_bad_lines, 2);
  EXPECT_EQ(report->merged, 1);
  ExpectCountsAddUp(*report);
  EXPECT_THAT(report->event_lines,
              ElementsAre(Pair("cart", 1), Pair("view", 2)));
  ASSERT_EQ(report->bad_line_messages.size(), 2u);
  EXPECT_THAT(report->bad_line_messages[0],
              HasSubstr("events.txt:3: count must be a finite number > 0, "
                        "got '0'"));
  EXPECT_THAT(report->bad_line_messages[1],
              HasSubstr("events.txt:4: empty event name"));
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"a", "x", 2.0f, 5}, Row{"b", "x", 1.0f, 4}));

  // Nothing valid at all still fails.
  report = Read("u,i,c,e,t\na,x,0,view,1\n", options, &data);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("no valid ratings"));
}

TEST_F(RatingReaderEventsTest, AppendsAfterExistingRatingsAndIds) {
  Dataset data;
  data.users.GetOrAdd("b");
  data.items.GetOrAdd("x");
  data.ratings.push_back(Rating{0, 0, 4.0f, 1});
  auto report =
      Read("u,i\na,x\nb,x\nb,x\n", Generic(",", "user=u,item=i"), &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->ratings, 2);
  EXPECT_THAT(data.users.ids(), ElementsAre("b", "a"));
  // The earlier rating of (b, x) is neither merged nor moved.
  EXPECT_THAT(Rows(data),
              ElementsAre(Row{"b", "x", 4.0f, 1}, Row{"a", "x", 1.0f, 2},
                          Row{"b", "x", 2.0f, 4}));
}

// The aggregation against a plain map, on a file whose users come back
// after others' lines (the hashed path) as well as in runs, long enough to
// queue several batches.
TEST_F(RatingReaderEventsTest, AggregationMatchesOracleOnRandomFile) {
  std::mt19937 rng(17);
  const std::vector<std::string> types = {"view", "cart", "skip", "buy"};
  RatingReadOptions options =
      Generic(",", "user=u,item=i,count=c,event=e,timestamp=t");
  options.events = Events("cart=4,buy=10,skip=2", "skip");
  struct Cell {
    float positive = 0, negative = 0;
    int64_t timestamp = 0;
    bool latest_negative = false;
  };
  std::map<std::pair<int, int>, Cell> oracle;
  std::vector<std::pair<int, int>> first_seen;
  std::map<std::string, int64_t> lines_by_type;
  std::string content = "u,i,c,e,t\n";
  int lines = 0;
  while (lines < 30000) {
    // Runs of one user's lines, of random length; users come back.
    const int user = static_cast<int>(rng() % 300);
    const int run = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < run; ++k, ++lines) {
      const int item = static_cast<int>(rng() % 60);
      const int count = 1 + static_cast<int>(rng() % 5);
      const std::string& type = types[rng() % types.size()];
      const int64_t t = static_cast<int64_t>(rng() % 1000);
      absl::StrAppend(&content, "u", user, ",i", item, ",", count, ",", type,
                      ",", t, "\n");
      const bool negative = type == "skip";
      const float strength =
          static_cast<float>(count) * options.events.WeightOf(type);
      auto [it, inserted] = oracle.try_emplace({user, item});
      if (inserted) first_seen.emplace_back(user, item);
      Cell& cell = it->second;
      (negative ? cell.negative : cell.positive) += strength;
      if (inserted || t >= cell.timestamp) {
        cell.timestamp = t;
        cell.latest_negative = negative;
      }
      ++lines_by_type[type];
    }
  }
  Dataset data;
  auto report = Read(content, options, &data);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, lines);
  EXPECT_EQ(report->ratings, static_cast<int64_t>(oracle.size()));
  EXPECT_EQ(report->merged, lines - static_cast<int64_t>(oracle.size()));
  EXPECT_EQ(report->event_lines, lines_by_type);
  std::vector<Row> expected;
  int64_t negative = 0;
  for (const auto& [user, item] : first_seen) {
    const Cell& cell = oracle[{user, item}];
    negative += cell.latest_negative;
    expected.emplace_back(absl::StrCat("u", user), absl::StrCat("i", item),
                          cell.latest_negative ? -cell.negative : cell.positive,
                          cell.timestamp);
  }
  EXPECT_EQ(report->negative, negative);
  EXPECT_EQ(Rows(data), expected);
}

}  // namespace
}  // namespace recserve
