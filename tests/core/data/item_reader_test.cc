#include "core/data/item_reader.h"

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
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Lines in the exact layout of MovieLens 100K u.item (Latin-1).
constexpr char kToyStoryUItem[] =
    "1|Toy Story (1995)|01-Jan-1995||"
    "http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|"
    "0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0";
constexpr char kMiserablesUItem[] =
    "543|Mis\xE9rables, Les (1995)|01-Jan-1995||"
    "http://us.imdb.com/M/title-exact?Mis%E9rables%2C%20Les%20%281995%29|"
    "0|0|0|0|0|0|0|0|1|0|0|0|1|0|0|0|0|0|0";
constexpr char kUnknownUItem[] =
    "267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0";
constexpr char kWesternUItem[] =
    "1682|Scream of Stone (Schrei aus Stein) (1991)|08-Mar-1996||"
    "http://us.imdb.com/M/title-exact?Schrei%20aus%20Stein%20(1991)|"
    "0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|1";

class ItemReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = tmp_.Path(name);
    testutil::WriteFile(path, content);
    return path;
  }

  void ExpectLineError(const std::string& name, const std::string& content,
                       int line, const std::string& problem,
                       ItemReadOptions options = {}) {
    const std::string path = Write(name, content);
    ItemCatalog catalog;
    auto report = ReadItems(path, options, &catalog);
    ASSERT_FALSE(report.ok()) << content;
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(),
                HasSubstr(absl::StrCat(path, ":", line, ": ", problem)));
    EXPECT_THAT(catalog, IsEmpty());
  }

  testutil::TempDir tmp_;
};

TEST_F(ItemReaderTest, UItemLatin1TitlesAndGenreFlags) {
  const std::string path =
      Write("u.item", absl::StrCat(kToyStoryUItem, "\n", kMiserablesUItem, "\n",
                                   kUnknownUItem, "\n", kWesternUItem, "\n"));
  for (ItemFormat format : {ItemFormat::kAuto, ItemFormat::kUItem}) {
    ItemCatalog catalog;
    auto report = ReadItems(path, {.format = format}, &catalog);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->format, ItemFormat::kUItem);
    EXPECT_EQ(report->lines, 4);
    EXPECT_EQ(report->items, 4);
    ASSERT_THAT(catalog, SizeIs(4));
    EXPECT_EQ(catalog["1"].title, "Toy Story (1995)");
    EXPECT_THAT(catalog["1"].genres,
                ElementsAre("Animation", "Children's", "Comedy"));
    EXPECT_EQ(catalog["543"].title, "Mis\xC3\xA9rables, Les (1995)");
    EXPECT_THAT(catalog["543"].genres, ElementsAre("Drama", "Musical"));
    EXPECT_EQ(catalog["267"].title, "unknown");
    EXPECT_THAT(catalog["267"].genres, IsEmpty());
    EXPECT_THAT(catalog["1682"].genres, ElementsAre("Drama", "War", "Western"));
  }
}

TEST_F(ItemReaderTest, MoviesDatLatin1AndUtf8) {
  const std::string path =
      Write("movies.dat",
            "1::Toy Story (1995)::Animation|Children's|Comedy\n"
            "2::Caf\xE9 au lait (1993)::Comedy\r\n"      // ML-1M: Latin-1
            "3::Am\xC3\xA9lie (2001)::Comedy|Romance\n"  // ML-10M: UTF-8
            "4::Nothing (2000)::(no genres listed)\n");
  for (ItemFormat format : {ItemFormat::kAuto, ItemFormat::kMoviesDat}) {
    ItemCatalog catalog;
    auto report = ReadItems(path, {.format = format}, &catalog);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->format, ItemFormat::kMoviesDat);
    EXPECT_EQ(report->items, 4);
    EXPECT_THAT(catalog["1"].genres,
                ElementsAre("Animation", "Children's", "Comedy"));
    EXPECT_EQ(catalog["2"].title, "Caf\xC3\xA9 au lait (1993)");
    EXPECT_THAT(catalog["2"].genres, ElementsAre("Comedy"));
    EXPECT_EQ(catalog["3"].title, "Am\xC3\xA9lie (2001)");
    EXPECT_EQ(catalog["4"].title, "Nothing (2000)");
    EXPECT_THAT(catalog["4"].genres, IsEmpty());
  }
}

TEST_F(ItemReaderTest, MoviesCsvQuotingAndCrlf) {
  const std::string path =
      Write("movies.csv",
            "movieId,title,genres\r\n"
            "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n"
            "11,\"American President, The (1995)\",Comedy|Drama|Romance\r\n"
            "12,\"Lies \"\"and\"\" more (2001)\",Drama\r\n"
            "209171,Women of Devil's Island (1962),(no genres listed)\r\n");
  for (ItemFormat format : {ItemFormat::kAuto, ItemFormat::kMoviesCsv}) {
    ItemCatalog catalog;
    auto report = ReadItems(path, {.format = format}, &catalog);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->format, ItemFormat::kMoviesCsv);
    EXPECT_EQ(report->lines, 4);
    ASSERT_THAT(catalog, SizeIs(4));
    EXPECT_THAT(catalog["1"].genres, SizeIs(5));
    EXPECT_EQ(catalog["11"].title, "American President, The (1995)");
    EXPECT_THAT(catalog["11"].genres,
                ElementsAre("Comedy", "Drama", "Romance"));
    EXPECT_EQ(catalog["12"].title, "Lies \"and\" more (2001)");
    EXPECT_EQ(catalog["209171"].title, "Women of Devil's Island (1962)");
    EXPECT_THAT(catalog["209171"].genres, IsEmpty());
  }
}

TEST_F(ItemReaderTest, LaterDuplicateWinsIncludingExistingEntries) {
  ItemCatalog catalog;
  catalog["7"] = ItemMetadata{"Old", {"Drama"}};
  catalog["8"] = ItemMetadata{"Untouched", {}};
  auto report = ReadItems(
      Write("movies.dat", "7::First::Comedy\n9::Nine::War\n7::Second::\n"), {},
      &catalog);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->items, 3);
  ASSERT_THAT(catalog, SizeIs(3));
  EXPECT_EQ(catalog["7"].title, "Second");
  EXPECT_THAT(catalog["7"].genres, IsEmpty());
  EXPECT_EQ(catalog["8"].title, "Untouched");
  EXPECT_EQ(catalog["9"].title, "Nine");
}

TEST_F(ItemReaderTest, BadLinesNameFileLineAndProblem) {
  const std::string uitem = absl::StrCat(kToyStoryUItem, "\n");
  ExpectLineError("u.item", uitem + "2|Title|x||url|0|0\n", 2,
                  "expected 24 '|'-separated fields, found 7");
  ExpectLineError("u.item",
                  uitem + "x2|T|d||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n",
                  2, "non-numeric item id 'x2'");
  ExpectLineError("u.item",
                  uitem + "|T|d||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n", 2,
                  "empty item id");
  ExpectLineError("u.item",
                  uitem + "2|T|d||u|0|2|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n", 2,
                  "genre flag '2' for Action is not 0 or 1");
  ExpectLineError("movies.dat", "1::A::Drama\n2::B\n", 2,
                  "expected 3 '::'-separated fields, found 2");
  ExpectLineError("movies.csv",
                  "movieId,title,genres\n\n1,\"Open, (1995),Drama\n", 3,
                  "unterminated quoted field 2");
  ExpectLineError("movies.csv", "movieId,title,genres\n1,A,B,C\n", 2,
                  "expected 3 comma-separated fields, found 4");
  ExpectLineError("movies.csv", "1,A,Drama\n", 1,
                  "expected the header 'movieId,title,genres'",
                  {.format = ItemFormat::kMoviesCsv});
  ExpectLineError("movies.dat", "1::A::Drama\n", 1,
                  "expected 24 '|'-separated fields, found 1",
                  {.format = ItemFormat::kUItem});
}

TEST_F(ItemReaderTest, EmptyHeaderOnlyUnknownAndMissingFiles) {
  struct Case {
    std::string content, message;
  };
  for (const Case& c : std::vector<Case>{
           {"", ": empty file"},
           {"\r\n\n", ": empty file"},
           {"movieId,title,genres\r\n", ": only a header line"},
           {"id;title\n1;x\n", ": cannot detect the item format"}}) {
    const std::string path = Write("items.txt", c.content);
    ItemCatalog catalog;
    auto report = ReadItems(path, {.skip_bad_lines = true}, &catalog);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(), HasSubstr(path + c.message));
  }
  ItemCatalog catalog;
  auto report = ReadItems(tmp_.Path("missing.item"), {}, &catalog);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(report.status().message(), HasSubstr(tmp_.Path("missing.item")));
}

TEST_F(ItemReaderTest, SkipBadLines) {
  const std::string path =
      Write("movies.dat", "1::A::Drama\n2::B\nx::C::War\n3::D::War\n");
  ItemCatalog catalog;
  auto report = ReadItems(path, {.skip_bad_lines = true}, &catalog);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 4);
  EXPECT_EQ(report->items, 2);
  EXPECT_EQ(report->skipped_bad_lines, 2);
  EXPECT_THAT(
      report->bad_line_messages,
      ElementsAre(path + ":2: expected 3 '::'-separated fields, found 2",
                  path + ":3: non-numeric item id 'x'"));
  EXPECT_THAT(catalog, SizeIs(2));
}

TEST_F(ItemReaderTest, YearsFromTheDateOrTheTitle) {
  const std::string uitem_path =
      Write("u.item", absl::StrCat(kToyStoryUItem, "\n", kUnknownUItem, "\n",
                                   kWesternUItem, "\n",
                                   // No date: the year of the title.
                                   "9|Dead Man Walking (1995)||||"
                                   "0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"));
  ItemCatalog catalog;
  ASSERT_TRUE(ReadItems(uitem_path, {}, &catalog).ok());
  EXPECT_EQ(catalog["1"].year, 1995);
  EXPECT_EQ(catalog["267"].year, 0);
  // The release date wins over the title's year (1991).
  EXPECT_EQ(catalog["1682"].year, 1996);
  EXPECT_EQ(catalog["9"].year, 1995);

  const std::string csv_path = Write("movies.csv",
                                     "movieId,title,genres\n"
                                     "1,Toy Story (1995) ,Animation\n"
                                     "2,\"Babylon 5 (1994-1998)\",Sci-Fi\n"
                                     "3,Dark (2017\xE2\x80\x93 ),Drama\n"
                                     "4,Heat,Action\n"
                                     "5,1984,Drama\n"
                                     "6,Movie (99),Drama\n"
                                     "7,Alien (1979) Redux,Horror\n"
                                     "8,Far Future (3001),Sci-Fi\n"
                                     "9,Digits (19951),Drama\n");
  catalog.clear();
  ASSERT_TRUE(ReadItems(csv_path, {}, &catalog).ok());
  EXPECT_EQ(catalog["1"].year, 1995);
  EXPECT_EQ(catalog["1"].title, "Toy Story (1995) ");  // kept as is
  EXPECT_EQ(catalog["2"].year, 1994);
  EXPECT_EQ(catalog["3"].year, 2017);
  for (const char* id : {"4", "5", "6", "7", "8", "9"}) {
    EXPECT_EQ(catalog[id].year, 0) << id;
  }

  catalog.clear();
  ASSERT_TRUE(
      ReadItems(Write("movies.dat", "1::Caf\xE9 au lait (1993)::Comedy\n"), {},
                &catalog)
          .ok());
  EXPECT_EQ(catalog["1"].year, 1993);
}

TEST(TitleYearTest, FindsTheLastParenthesis) {
  size_t begin = 0;
  EXPECT_EQ(TitleYear("Se7en (Seven) (1995)", &begin), 1995);
  EXPECT_EQ(begin, 14u);
  EXPECT_EQ(TitleYear("(1800)"), 1800);
  EXPECT_EQ(TitleYear("(2200)"), 2200);
  EXPECT_EQ(TitleYear("(1799)"), 0);
  EXPECT_EQ(TitleYear("(2201)"), 0);
  EXPECT_EQ(TitleYear("X (1995"), 0);
  EXPECT_EQ(TitleYear("X 1995)"), 0);
  EXPECT_EQ(TitleYear("X (19a5)"), 0);
  EXPECT_EQ(TitleYear(""), 0);
  begin = 77;
  EXPECT_EQ(TitleYear("Heat", &begin), 0);
  EXPECT_EQ(begin, 77u);  // untouched without a year
}

TEST(ItemFormatTest, NamesRoundTrip) {
  for (ItemFormat f : {ItemFormat::kAuto, ItemFormat::kUItem,
                       ItemFormat::kMoviesDat, ItemFormat::kMoviesCsv}) {
    auto parsed = ParseItemFormat(ItemFormatName(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_EQ(*ParseItemFormat("uitem"), ItemFormat::kUItem);
  EXPECT_EQ(ParseItemFormat("xml").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recserve
