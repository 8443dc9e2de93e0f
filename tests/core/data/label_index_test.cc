#include "core/data/label_index.h"

#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

IdMap Ids(const std::vector<const char*>& ids) {
  IdMap map;
  for (const char* id : ids) map.GetOrAdd(id);
  return map;
}

TEST(LabelIndexTest, NumbersTheGenresOfTheGivenItemsInOrder) {
  ItemCatalog catalog;
  catalog["a"] = {"A", {"Drama", "Comedy", "Drama"}, 0};
  catalog["b"] = {"B", {"Comedy"}, 0};
  catalog["c"] = {"C", {}, 0};
  catalog["d"] = {"D", {"Western"}, 0};
  const LabelIndex index = LabelIndex::FromGenres(catalog);
  EXPECT_FALSE(index.empty());

  // By id, whatever the dense order; features numbered by first appearance
  // over the ids given, each once per id.
  const auto forward = index.ForIds(Ids({"a", "b", "c", "d", "e"}));
  ASSERT_EQ(forward.size(), 5u);
  EXPECT_THAT(forward[0], ElementsAre(0, 1));  // Comedy, Drama
  EXPECT_THAT(forward[1], ElementsAre(0));     // Comedy
  EXPECT_THAT(forward[2], IsEmpty());
  EXPECT_THAT(forward[3], ElementsAre(2));
  EXPECT_THAT(forward[4], IsEmpty());

  // A subset numbers only its own features, densely from 0.
  const auto subset = index.ForIds(Ids({"d", "b"}));
  EXPECT_THAT(subset[0], ElementsAre(0));
  EXPECT_THAT(subset[1], ElementsAre(1));
}

TEST(LabelIndexTest, NumbersUserLabels) {
  LabelMap labels;
  labels["u1"] = {"age:25-34", "occupation:writer"};
  labels["u2"] = {"age:25-34"};
  const LabelIndex index = LabelIndex::FromLabels(labels);
  const auto rows = index.ForIds(Ids({"u2", "nobody", "u1"}));
  EXPECT_THAT(rows[0], ElementsAre(0));
  EXPECT_THAT(rows[1], IsEmpty());
  EXPECT_THAT(rows[2], ElementsAre(0, 1));
}

TEST(LabelIndexTest, EmptyWithoutLabels) {
  EXPECT_TRUE(LabelIndex::FromLabels({}).empty());
  ItemCatalog no_genres;
  no_genres["a"] = {"A", {}, 0};
  const LabelIndex index = LabelIndex::FromGenres(no_genres);
  EXPECT_TRUE(index.empty());
  EXPECT_THAT(index.ForIds(Ids({"a"})), ElementsAre(IsEmpty()));
}

}  // namespace
}  // namespace recserve
