#include <cstdint>
#include <vector>

#include "core/data/label_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

IdMap Items(const std::vector<const char*>& ids) {
  IdMap items;
  for (const char* id : ids) items.GetOrAdd(id);
  return items;
}

TEST(LabelIndexTest, NumbersTheFeaturesOfTheGivenItemsInOrder) {
  ItemCatalog catalog;
  catalog["a"] = {"A", {"Drama", "Comedy"}, 0};
  catalog["b"] = {"B", {"Comedy"}, 0};
  catalog["c"] = {"C", {}, 0};
  ItemLabelMap labels;
  labels["a"] = {"Drama", "Drama"};  // a label named like a genre is its own
  labels["d"] = {"in_stock"};
  const LabelIndex index = LabelIndex::FromItemMetadata(&catalog, &labels);
  EXPECT_FALSE(index.empty());

  // By id, whatever the dense order; features numbered by first appearance
  // over the items given, each once per item.
  const auto forward = index.ForIds(Items({"a", "b", "c", "d", "e"}));
  ASSERT_EQ(forward.size(), 5u);
  EXPECT_EQ(forward[0].size(), 3u);  // genre:Comedy, genre:Drama, label:Drama
  EXPECT_THAT(forward[1], ElementsAre(forward[0][0]));  // genre:Comedy
  EXPECT_THAT(forward[2], IsEmpty());
  EXPECT_THAT(forward[3], ElementsAre(3));
  EXPECT_THAT(forward[4], IsEmpty());
  EXPECT_THAT(forward[0], ElementsAre(0, 1, 2));

  // A subset numbers only its own features, densely from 0.
  const auto subset = index.ForIds(Items({"d", "b"}));
  EXPECT_THAT(subset[0], ElementsAre(0));
  EXPECT_THAT(subset[1], ElementsAre(1));
}

TEST(LabelIndexTest, EmptyWithoutMetadata) {
  EXPECT_TRUE(LabelIndex::FromItemMetadata(nullptr, nullptr).empty());
  ItemCatalog no_genres;
  no_genres["a"] = {"A", {}, 0};
  const LabelIndex index =
      LabelIndex::FromItemMetadata(&no_genres, nullptr);
  EXPECT_TRUE(index.empty());
  EXPECT_THAT(index.ForIds(Items({"a"})), ElementsAre(IsEmpty()));
}

}  // namespace
}  // namespace recserve
