#include "core/data/item_label_reader.h"

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
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

class ItemLabelReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = tmp_.Path(name);
    testutil::WriteFile(path, content);
    return path;
  }

  void ExpectLineError(const std::string& content, int line,
                       const std::string& problem) {
    const std::string path = Write("bad.txt", content);
    ItemLabelMap labels = {{"kept", {"x"}}};
    auto report = ReadItemLabels(path, {}, &labels);
    ASSERT_FALSE(report.ok()) << content;
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(),
                HasSubstr(absl::StrCat(path, ":", line, ": ", problem)));
    // Unchanged on error.
    EXPECT_THAT(labels, UnorderedElementsAre(Pair("kept", ElementsAre("x"))));
  }

  testutil::TempDir tmp_;
};

TEST_F(ItemLabelReaderTest, TabSeparatedWithCommentsAndBlankLines) {
  const std::string path = Write("labels.tsv",
                                 "# item\tlabels\n"
                                 "\n"
                                 "1\tin_stock|region:eu\r\n"
                                 "   \n"
                                 "50\tin_stock\n"
                                 "sku-7\t on sale | size:1,5 \n");
  ItemLabelMap labels;
  auto report = ReadItemLabels(path, {}, &labels);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->delimiter, '\t');
  EXPECT_EQ(report->lines, 3);
  EXPECT_EQ(report->items, 3);
  EXPECT_EQ(report->distinct_labels, 4);
  EXPECT_THAT(labels, UnorderedElementsAre(
                          Pair("1", ElementsAre("in_stock", "region:eu")),
                          Pair("50", ElementsAre("in_stock")),
                          // Spaces around labels are trimmed; a comma is part
                          // of a label in a tab-separated file.
                          Pair("sku-7", ElementsAre("on sale", "size:1,5"))));
}

TEST_F(ItemLabelReaderTest, CommaSeparatedWhenTheFirstLineHasNoTab) {
  const std::string path = Write("labels.csv",
                                 "\xEF\xBB\xBF"
                                 "10,new|drama night\n20,new\n");
  ItemLabelMap labels;
  auto report = ReadItemLabels(path, {}, &labels);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->delimiter, ',');
  EXPECT_THAT(labels, UnorderedElementsAre(
                          Pair("10", ElementsAre("new", "drama night")),
                          Pair("20", ElementsAre("new"))));
}

TEST_F(ItemLabelReaderTest, RepeatedItemsMergeAndRepeatedLabelsAreKeptOnce) {
  const std::string path = Write("labels.tsv", "1\ta|b|a\n2\tc\n1\tb|d\n");
  ItemLabelMap labels = {{"2", {"c", "old"}}};
  auto report = ReadItemLabels(path, {}, &labels);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 3);
  EXPECT_EQ(report->items, 2);
  EXPECT_EQ(report->distinct_labels, 4);
  EXPECT_THAT(labels,
              UnorderedElementsAre(Pair("1", ElementsAre("a", "b", "d")),
                                   Pair("2", ElementsAre("c", "old"))));
}

TEST_F(ItemLabelReaderTest, MalformedLinesNameFileAndLine) {
  ExpectLineError("1\ta\n\tb\n", 2, "empty item id");
  ExpectLineError("1\ta||b\n", 1, "empty label for item '1'");
  ExpectLineError("1\ta|\n", 1, "empty label");
  ExpectLineError("1\t\n", 1, "empty label");
  ExpectLineError("1\t  \n", 1, "empty label");
  ExpectLineError("# c\n1\ta\n2 b\n", 3, "expected an item id, a tab");
  ExpectLineError("1,a\n2\n", 2, "expected an item id, a comma");
  ExpectLineError("1,a\n2,b\tc\n", 2, "control character in label");
  ExpectLineError("1\ta\rb\n", 1, "control character in label");
  ExpectLineError("1\tcaf\xE9\n", 1, "not valid UTF-8");
}

TEST_F(ItemLabelReaderTest, SkipsBadLinesWhenAsked) {
  const std::string path = Write("labels.tsv", "1\ta\n2\t\n3\tb||\n4\tc\n");
  ItemLabelMap labels;
  auto report = ReadItemLabels(path, {.skip_bad_lines = true}, &labels);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->lines, 4);
  EXPECT_EQ(report->skipped_bad_lines, 2);
  ASSERT_THAT(report->bad_line_messages, SizeIs(2));
  EXPECT_THAT(report->bad_line_messages[0], HasSubstr(path + ":2: "));
  EXPECT_THAT(labels, UnorderedElementsAre(Pair("1", ElementsAre("a")),
                                           Pair("4", ElementsAre("c"))));

  const std::string all_bad = Write("all_bad.tsv", "1\t\n");
  auto none = ReadItemLabels(all_bad, {.skip_bad_lines = true}, &labels);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("no valid item labels"));
}

TEST_F(ItemLabelReaderTest, EmptyAndMissingFiles) {
  ItemLabelMap labels;
  auto empty = ReadItemLabels(Write("empty.tsv", "# nothing\n\n"), {}, &labels);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("empty.tsv: no item labels"));
  auto missing = ReadItemLabels(tmp_.Path("missing.tsv"), {}, &labels);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(labels, IsEmpty());
}

TEST_F(ItemLabelReaderTest, ManyLabelsOnOneItemStayLinear) {
  // One item named on 20,000 lines with mostly repeated labels: merging is
  // not quadratic in the labels of an item.
  std::string content;
  for (int i = 0; i < 20000; ++i) {
    absl::StrAppend(&content, "1\tl", i % 1000, "|l", i, "\n");
  }
  ItemLabelMap labels;
  auto report = ReadItemLabels(Write("many.tsv", content), {}, &labels);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->items, 1);
  EXPECT_THAT(labels["1"], SizeIs(20000));
  EXPECT_EQ(labels["1"][0], "l0");
}

TEST_F(ItemLabelReaderTest, KeepLabelsOfDropsUnknownItems) {
  IdMap items;
  items.GetOrAdd("1");
  items.GetOrAdd("2");
  ItemLabelMap labels = {{"1", {"a"}}, {"3", {"b"}}, {"4", {"c"}}};
  EXPECT_EQ(KeepLabelsOf(items, &labels), 2);
  EXPECT_THAT(labels, UnorderedElementsAre(Pair("1", ElementsAre("a"))));
}

}  // namespace
}  // namespace recserve
