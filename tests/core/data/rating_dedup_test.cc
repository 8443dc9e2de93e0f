#include "core/data/rating_dedup.h"

#include <cstdint>
#include <tuple>
#include <vector>

#include "core/data/ratings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;

// (user, item, value, timestamp) of every rating, for compact comparisons.
using Row = std::tuple<int32_t, int32_t, float, int64_t>;
std::vector<Row> Rows(const std::vector<Rating>& ratings) {
  std::vector<Row> rows;
  for (const Rating& r : ratings) {
    rows.emplace_back(r.user, r.item, r.value, r.timestamp);
  }
  return rows;
}

TEST(RatingDedupTest, KeepsLatestTimestampThenLaterPositionInOrder) {
  std::vector<Rating> ratings = {
      {0, 1, 3.0f, 100},  // tie with the fourth: dropped
      {0, 1, 4.0f, 50},   // older: dropped
      {0, 2, 2.0f, 7},    //
      {0, 1, 5.0f, 100},  // kept
      {1, 1, 1.0f, 1},    // another user: kept
      {2, 3, 1.0f, 200},  // kept: latest
      {2, 3, 2.0f, 150},  // dropped
  };
  EXPECT_EQ(DropDuplicateRatings(&ratings, 0, 3, 4), 3);
  EXPECT_THAT(Rows(ratings),
              ElementsAre(Row{0, 2, 2.0f, 7}, Row{0, 1, 5.0f, 100},
                          Row{1, 1, 1.0f, 1}, Row{2, 3, 1.0f, 200}));
}

TEST(RatingDedupTest, RatingsBeforeStartAreNeitherComparedNorMoved) {
  std::vector<Rating> ratings = {
      {0, 0, 1.0f, 900},  // before start: untouched although it is newer
      {0, 0, 1.5f, 901},  // before start: a repeat, also untouched
      {0, 0, 2.0f, 10},   // dropped: 11 is later
      {1, 0, 3.0f, 5},    //
      {0, 0, 4.0f, 11},   // kept
  };
  EXPECT_EQ(DropDuplicateRatings(&ratings, 2, 2, 1), 1);
  EXPECT_THAT(Rows(ratings),
              ElementsAre(Row{0, 0, 1.0f, 900}, Row{0, 0, 1.5f, 901},
                          Row{1, 0, 3.0f, 5}, Row{0, 0, 4.0f, 11}));
}

TEST(RatingDedupTest, NothingToDropLeavesRatingsUnchanged) {
  const std::vector<Rating> original = {
      {3, 0, 1.0f, 5}, {0, 0, 2.0f, 5}, {3, 4, 3.0f, 1}, {0, 4, 4.0f, 9}};
  std::vector<Rating> ratings = original;
  // Users 1 and 2 and items 1..3 have no ratings.
  EXPECT_EQ(DropDuplicateRatings(&ratings, 0, 4, 5), 0);
  EXPECT_EQ(Rows(ratings), Rows(original));

  EXPECT_EQ(DropDuplicateRatings(&ratings, 3, 4, 5), 0);  // One rating.
  EXPECT_EQ(DropDuplicateRatings(&ratings, 4, 4, 5), 0);  // None.
  EXPECT_EQ(Rows(ratings), Rows(original));
  std::vector<Rating> empty;
  EXPECT_EQ(DropDuplicateRatings(&empty, 0, 0, 0), 0);
  EXPECT_TRUE(empty.empty());
}

TEST(RatingDedupTest, ManyRepeatsOfOnePairKeepOne) {
  std::vector<Rating> ratings;
  for (int64_t t = 0; t < 10; ++t) {
    ratings.push_back(
        Rating{0, 0, 1.0f + 0.5f * (t % 3), 100 - (t - 4) * (t - 4)});
  }
  // Timestamps 84, 91, 96, 99, 100, 99, 96, 91, 84, 75: the fifth wins.
  EXPECT_EQ(DropDuplicateRatings(&ratings, 0, 1, 1), 9);
  EXPECT_THAT(Rows(ratings), ElementsAre(Row{0, 0, 1.5f, 100}));
}

}  // namespace
}  // namespace recserve
