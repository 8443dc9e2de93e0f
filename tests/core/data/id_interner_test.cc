#include "core/data/id_interner.h"

#include <string>
#include <vector>

#include "core/data/ratings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;

TEST(IdInternerTest, AssignsIndicesInFirstSeenOrderForAnyId) {
  IdMap map;
  IdInterner interner(&map);
  // Canonical decimals (array), non-canonical ones and values >= 2^24 (hash
  // map only), repeats right after and later.
  const std::vector<std::string> ids = {
      "17",       "17",        "7",        "007", "17",       "abc",
      "0",        "00",        "7",        "abc", "16777216", "16777215",
      "99999999", "123456789", "16777215", "0",   "007"};
  std::vector<int32_t> got;
  for (const std::string& id : ids) got.push_back(interner.GetOrAdd(id));
  EXPECT_THAT(got,
              ElementsAre(0, 0, 1, 2, 0, 3, 4, 5, 1, 3, 6, 7, 8, 9, 7, 4, 2));
  EXPECT_THAT(map.ids(),
              ElementsAre("17", "7", "007", "abc", "0", "00", "16777216",
                          "16777215", "99999999", "123456789"));
}

TEST(IdInternerTest, AgreesWithIdsAddedToTheMapByOtherMeans) {
  IdMap map;
  map.GetOrAdd("5");
  map.GetOrAdd("x");
  IdInterner interner(&map);
  EXPECT_EQ(interner.GetOrAdd("x"), 1);
  EXPECT_EQ(interner.GetOrAdd("5"), 0);
  map.GetOrAdd("1000");  // Not through the interner.
  EXPECT_EQ(interner.GetOrAdd("1000"), 2);
  EXPECT_EQ(interner.GetOrAdd("6"), 3);
  EXPECT_EQ(map.size(), 4);
  EXPECT_EQ(map.Find("6"), 3);
}

}  // namespace
}  // namespace recserve
