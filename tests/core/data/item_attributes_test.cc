#include "core/data/item_attributes.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/base/delimited_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The (name, value) pairs of a row, for readable expectations.
std::vector<std::pair<std::string, float>> Named(const AttributeSpec& spec,
                                                 const AttributeRow& row) {
  std::vector<std::pair<std::string, float>> out;
  EXPECT_EQ(row.index.size(), row.value.size());
  for (size_t k = 0; k < row.index.size(); ++k) {
    if (k > 0) {
      EXPECT_LT(row.index[k - 1], row.index[k]);
    }
    EXPECT_GT(row.value[k], 0.0f);
    out.emplace_back(spec.names()[row.index[k]], row.value[k]);
  }
  return out;
}

using P = std::pair<std::string, float>;

class ItemAttributesTest : public ::testing::Test {
 protected:
  ItemAttributesTest() {
    items_["1"] = {"Toy Story (1995)", {"Animation", "Comedy"}, 1995};
    items_["2"] = {"Story of Us, The (1999)", {"Comedy", "Drama"}, 1999};
    items_["3"] = {"Toy Soldiers (1991)", {"Action"}, 1991};
    items_["4"] = {"Heat", {}, 0};
    labels_["1"] = {"kids", "in_stock"};
    labels_["3"] = {"in_stock"};
    tags_["1"] = {"pixar", "toys"};
    tags_["2"] = {"romance", "toys"};
    tags_["3"] = {"pixar", "war"};
    sources_ = {&items_, &labels_, &tags_};
  }

  ItemCatalog items_;
  ItemLabelMap labels_;
  ItemTagMap tags_;
  ItemAttributeSources sources_;
  const std::vector<std::string> ids_ = {"1", "2", "3", "4"};
};

TEST_F(ItemAttributesTest, SpecHoldsEveryKindOrderedByKindThenBytes) {
  ItemAttributeOptions options;
  options.min_items = 2;
  const AttributeSpec spec = BuildAttributeSpec(ids_, sources_, options);
  EXPECT_THAT(spec.names(),
              ElementsAre("genre:Action", "genre:Animation", "genre:Comedy",
                          "genre:Drama", "label:in_stock", "label:kids",
                          "year:1990", "year:1995",
                          // Words and tags of at least 2 items.
                          "word:story", "word:toy", "tag:pixar", "tag:toys"));
  EXPECT_EQ(spec.size(), 12);
  EXPECT_EQ(spec.Find("word:toy"), 9);
  EXPECT_EQ(spec.Find("word:heat"), -1);
  EXPECT_EQ(spec.options().year_bucket_years, 5);
}

TEST_F(ItemAttributesTest, FeaturizeGivesEveryKindWithItsValue) {
  ItemAttributeOptions options;
  options.min_items = 1;
  const AttributeSpec spec = BuildAttributeSpec(ids_, sources_, options);
  EXPECT_THAT(
      Named(spec, Featurize(spec, "1", sources_)),
      ElementsAre(P("genre:Animation", 1), P("genre:Comedy", 1),
                  P("label:in_stock", 1), P("label:kids", 1), P("year:1995", 1),
                  P("word:story", 1 / std::sqrt(2.0f)),
                  P("word:toy", 1 / std::sqrt(2.0f)),
                  P("tag:pixar", 1 / std::sqrt(2.0f)),
                  P("tag:toys", 1 / std::sqrt(2.0f))));
  // 4 title words ("story", "of", "us", "the"), year bucket [1995, 2000).
  EXPECT_THAT(
      Named(spec, Featurize(spec, "2", sources_)),
      ElementsAre(P("genre:Comedy", 1), P("genre:Drama", 1), P("year:1995", 1),
                  P("word:of", 0.5f), P("word:story", 0.5f),
                  P("word:the", 0.5f), P("word:us", 0.5f),
                  P("tag:romance", 1 / std::sqrt(2.0f)),
                  P("tag:toys", 1 / std::sqrt(2.0f))));
  // A title without a year and no genre: the word only.
  EXPECT_THAT(Named(spec, Featurize(spec, "4", sources_)),
              ElementsAre(P("word:heat", 1)));
}

TEST_F(ItemAttributesTest, FeaturizeIgnoresWhatTheSpecDoesNotName) {
  const AttributeSpec spec = BuildAttributeSpec(
      std::vector<std::string>{"1", "3"}, sources_, {.min_items = 1});
  ItemCatalog items = {
      {"new", {"Toy Horror (2031)", {"Horror", "Action"}, 2031}}};
  ItemLabelMap labels = {{"new", {"unheard", "in_stock"}}};
  ItemTagMap tags = {{"new", {"zzz", "war"}}};
  EXPECT_THAT(Named(spec, Featurize(spec, "new", {&items, &labels, &tags})),
              ElementsAre(P("genre:Action", 1), P("label:in_stock", 1),
                          // 2031 is after every bucket: the latest one.
                          P("year:1995", 1), P("word:toy", 1 / std::sqrt(2.0f)),
                          P("tag:war", 1 / std::sqrt(2.0f))));
  // The same item, featurized by an unrelated spec: nothing.
  auto other = AttributeSpec::FromNames({}, {"genre:Western", "tag:x"});
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(Featurize(*other, "new", {&items, &labels, &tags}).index,
              IsEmpty());
}

TEST_F(ItemAttributesTest, EmptyMetadataGivesEmptyRowsAndSpecs) {
  const AttributeSpec spec =
      BuildAttributeSpec(ids_, sources_, {.min_items = 1});
  // An item no source knows.
  const AttributeRow row = Featurize(spec, "unknown", sources_);
  EXPECT_THAT(row.index, IsEmpty());
  EXPECT_THAT(row.value, IsEmpty());
  // No sources at all, or no items.
  EXPECT_EQ(BuildAttributeSpec(ids_, {}, {}).size(), 0);
  EXPECT_EQ(BuildAttributeSpec({}, sources_, {}).size(), 0);
  EXPECT_THAT(Featurize(spec, "1", {}).index, IsEmpty());
  EXPECT_THAT(Featurize(AttributeSpec(), "1", sources_).index, IsEmpty());
  // An item with an empty title, no genres, no year.
  ItemCatalog blank = {{"b", {}}};
  EXPECT_EQ(
      BuildAttributeSpec(std::vector<std::string>{"b"}, {&blank}, {}).size(),
      0);
  EXPECT_THAT(Featurize(spec, "b", {&blank}).index, IsEmpty());
}

TEST_F(ItemAttributesTest, YearBucketsFloorTheYear) {
  ItemCatalog items = {{"a", {"A", {}, 1999}},
                       {"b", {"B", {}, 2000}},
                       {"c", {"C", {}, 1800}},
                       {"d", {"D", {}, 0}}};
  const std::vector<std::string> ids = {"a", "b", "c", "d"};
  EXPECT_THAT(
      BuildAttributeSpec(ids, {&items},
                         {.year_bucket_years = 10, .max_title_words = 0})
          .names(),
      ElementsAre("year:1800", "year:1990", "year:2000"));
  EXPECT_THAT(BuildAttributeSpec(ids, {&items},
                                 {.year_bucket_years = 1, .max_title_words = 0})
                  .names(),
              ElementsAre("year:1800", "year:1999", "year:2000"));
}

TEST_F(ItemAttributesTest, CapsAndMinItemsChooseTheMostCommonWordsAndTags) {
  ItemCatalog items;
  ItemTagMap tags;
  std::vector<std::string> ids;
  // "a" in 5 titles, "b" in 4, "c" and "d" in 3, "e" in 1.
  const std::vector<std::string> titles = {"a b c d e", "a b c d", "a b c d",
                                           "a b", "a"};
  for (size_t i = 0; i < titles.size(); ++i) {
    const std::string id = std::to_string(i);
    ids.push_back(id);
    items[id] = {titles[i], {}, 0};
    tags[id] = {titles[i].substr(0, 1) == "a" ? "t1" : "t2"};
  }
  tags["0"] = {"t1", "t2", "t3"};
  tags["1"] = {"t3"};
  auto names = [&](ItemAttributeOptions o) {
    return BuildAttributeSpec(ids, {&items, nullptr, &tags}, o).names();
  };
  EXPECT_THAT(names({.max_title_words = 3, .max_tags = 0, .min_items = 1}),
              ElementsAre("word:a", "word:b", "word:c"));  // c, d tie: bytes
  EXPECT_THAT(names({.max_title_words = 10, .max_tags = 0, .min_items = 4}),
              ElementsAre("word:a", "word:b"));
  EXPECT_THAT(names({.max_title_words = 0, .max_tags = 1, .min_items = 1}),
              ElementsAre("tag:t1"));
  EXPECT_THAT(names({.max_title_words = 0, .max_tags = 5, .min_items = 2}),
              ElementsAre("tag:t1", "tag:t3"));
}

TEST_F(ItemAttributesTest, DeterministicWhateverTheOrderOfItems) {
  const ItemAttributeOptions options{.min_items = 1};
  const AttributeSpec a = BuildAttributeSpec(ids_, sources_, options);
  const std::vector<std::string> shuffled = {"3", "1", "4", "2", "1"};
  const AttributeSpec b = BuildAttributeSpec(shuffled, sources_, options);
  EXPECT_EQ(a.names(), b.names());
  for (const std::string& id : ids_) {
    EXPECT_EQ(Featurize(a, id, sources_).index,
              Featurize(b, id, sources_).index);
    EXPECT_EQ(Featurize(a, id, sources_).value,
              Featurize(b, id, sources_).value);
  }
  // A spec read back from its names featurizes identically.
  auto back = AttributeSpec::FromNames(options, a.names());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->names(), a.names());
  for (const std::string& id : ids_) {
    EXPECT_EQ(Featurize(*back, id, sources_).index,
              Featurize(a, id, sources_).index);
  }
}

TEST(AttributeSpecTest, FromNamesRoundTripsAndRejectsBadNames) {
  ItemAttributeOptions options;
  options.year_bucket_years = 10;
  auto spec = AttributeSpec::FromNames(
      options, {"tag:b", "genre:a", "year:-10", "word:é", "label:x:y"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->size(), 5);
  EXPECT_EQ(spec->Find("genre:a"), 1);
  EXPECT_EQ(spec->Find("label:x:y"), 4);
  EXPECT_EQ(spec->Find("x"), -1);
  EXPECT_EQ(spec->options().year_bucket_years, 10);

  const auto expect_error = [](ItemAttributeOptions o,
                               std::vector<std::string> names,
                               const std::string& message) {
    auto s = AttributeSpec::FromNames(o, std::move(names));
    ASSERT_FALSE(s.ok()) << message;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(message));
  };
  expect_error({}, {"genre:a", ""}, "attribute name 1 is empty");
  expect_error({}, {"genre:a", "genre:a"}, "'genre:a' is repeated");
  expect_error({}, {"color:red"}, "'color:red' has no known kind");
  expect_error({}, {"Genre:a"}, "no known kind");
  expect_error({}, {"word:"}, "'word:' has an empty value");
  expect_error({}, {"year:199x"}, "the year is not an integer");
  expect_error({}, {"year:99999999999"}, "the year is not an integer");
  expect_error({.year_bucket_years = 0}, {}, "year_bucket_years");
  expect_error({.max_title_words = -1}, {}, "max_title_words");
  expect_error({.min_items = 0}, {}, "min_items");
  auto empty = AttributeSpec::FromNames({}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0);
}

TEST(AttributeSpecTest, YearsOutsideTheBucketsTakeTheNearestEnd) {
  ItemAttributeOptions options;
  options.year_bucket_years = 10;
  auto spec = AttributeSpec::FromNames(
      options, {"genre:a", "year:1950", "year:1990", "year:1970"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->FindYear(1975), 3);
  EXPECT_EQ(spec->FindYear(1999), 2);
  EXPECT_EQ(spec->FindYear(2031), 2);  // newer than anything learned on
  EXPECT_EQ(spec->FindYear(1895), 1);
  EXPECT_EQ(spec->FindYear(1965), -1);  // a gap between buckets
  EXPECT_EQ(spec->FindYear(0), -1);     // unknown
  auto no_years = AttributeSpec::FromNames(options, {"genre:a"});
  ASSERT_TRUE(no_years.ok());
  EXPECT_EQ(no_years->FindYear(2031), -1);

  ItemCatalog catalog;
  catalog["new"] = {.title = "Future", .genres = {"a"}, .year = 2031};
  const AttributeRow row =
      Featurize(*spec, "new", ItemAttributeSources{.items = &catalog});
  EXPECT_THAT(row.index, ElementsAre(0, 2));

  auto misaligned = AttributeSpec::FromNames(options, {"year:1995"});
  ASSERT_FALSE(misaligned.ok());
  EXPECT_THAT(misaligned.status().message(),
              HasSubstr("not the start of a 10-year bucket"));
}

TEST(TitleWordsTest, LowercasedWithoutYearAndPunctuation) {
  EXPECT_THAT(TitleWords("Toy Story (1995)"), ElementsAre("toy", "story"));
  EXPECT_THAT(TitleWords("American President, The (1995)"),
              ElementsAre("american", "president", "the"));
  EXPECT_THAT(TitleWords("Story of the Story (1999)  "),
              ElementsAre("story", "of", "the"));
  // Only the trailing year goes; other numbers are words.
  EXPECT_THAT(TitleWords("2001: A Space Odyssey (1968)"),
              ElementsAre("2001", "a", "space", "odyssey"));
  EXPECT_THAT(TitleWords("Babylon 5 (1994-1998)"), ElementsAre("babylon", "5"));
  EXPECT_THAT(TitleWords("Heat"), ElementsAre("heat"));
  EXPECT_THAT(TitleWords("Se7en (Seven) (1995)"),
              ElementsAre("se7en", "seven"));
  EXPECT_THAT(TitleWords("(1995)"), IsEmpty());
  EXPECT_THAT(TitleWords(""), IsEmpty());
  EXPECT_THAT(TitleWords(" -- !! "), IsEmpty());
}

TEST(TitleWordsTest, NonAsciiTitlesKeepWholeCodePoints) {
  EXPECT_THAT(TitleWords("Am\xC3\xA9lie (2001)"), ElementsAre("am\xC3\xA9lie"));
  // Non-ASCII letters are kept as they are (only ASCII is lowercased).
  EXPECT_THAT(TitleWords("\xC3\x87"
                         "a (1997)"),
              ElementsAre("\xC3\x87"
                          "a"));
  // 千と千尋の神隠し (2001): one word of CJK characters.
  const std::string spirited =
      "\xE5\x8D\x83\xE3\x81\xA8\xE5\x8D\x83\xE5\xB0\x8B\xE3\x81\xAE\xE7\xA5"
      "\x9E\xE9\x9A\xA0\xE3\x81\x97";
  EXPECT_THAT(TitleWords(spirited + " (2001)"), ElementsAre(spirited));
  EXPECT_THAT(TitleWords("Caf\xC3\xA9-Bar: \xC3\x89t\xC3\xA9"),
              ElementsAre("caf\xC3\xA9", "bar", "\xC3\x89t\xC3\xA9"));
  // Latin-1 bytes (invalid UTF-8) are decoded, never passed through broken.
  EXPECT_THAT(TitleWords("Caf\xE9 (1993)"), ElementsAre("caf\xC3\xA9"));
  for (const std::string& title :
       {std::string("Am\xC3\xA9lie (2001)"), spirited, std::string("\xFF\xFE"),
        std::string("a\xC3"), std::string("\xE2\x80\x93 x \xE2\x80\x94")}) {
    for (const std::string& word : TitleWords(title)) {
      EXPECT_TRUE(IsValidUtf8(word)) << title;
      EXPECT_FALSE(word.empty());
    }
  }
}

}  // namespace
}  // namespace recserve
