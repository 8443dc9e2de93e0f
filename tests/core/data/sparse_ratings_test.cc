#include "core/data/sparse_ratings.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Users 0..2, items 0..3; user 1 rates nothing; one rating has an unknown
// user and one an unknown item.
const std::vector<Rating> kRatings = {
    {2, 1, 4.0f, 10},
    {0, 3, 1.0f, 11},
    {2, 0, 5.0f, 12},
    {0, 1, 2.0f, 13},
    {kUnknownIndex, 2, 3.0f, 14},
    {0, kUnknownIndex, 3.5f, 15},
};

TEST(GroupRatingsTest, ByUserKeepsInputOrderWithinARow) {
  const SparseRatings m = GroupRatings(kRatings, 3, RatingAxis::kUser);
  ASSERT_EQ(m.rows(), 3);
  EXPECT_THAT(m.Row(0), ElementsAre(3, 1, kUnknownIndex));
  EXPECT_THAT(m.Row(1), IsEmpty());
  EXPECT_THAT(m.Row(2), ElementsAre(1, 0));
  EXPECT_THAT(m.values, ElementsAre(1.0f, 2.0f, 3.5f, 4.0f, 5.0f));
  EXPECT_EQ(m.RowSize(0), 3);
}

TEST(GroupRatingsTest, ByItemLeavesOutUnknownItems) {
  const SparseRatings m = GroupRatings(kRatings, 4, RatingAxis::kItem);
  ASSERT_EQ(m.rows(), 4);
  EXPECT_THAT(m.Row(0), ElementsAre(2));
  EXPECT_THAT(m.Row(1), ElementsAre(2, 0));
  EXPECT_THAT(m.Row(2), ElementsAre(kUnknownIndex));
  EXPECT_THAT(m.Row(3), ElementsAre(0));
  EXPECT_EQ(m.cols.size(), 5u);  // the rating of item kUnknownIndex is out
}

TEST(GroupRatingsTest, PositionsPointIntoTheInput) {
  const RatingPositions g =
      GroupRatingPositions(kRatings, 3, RatingAxis::kUser);
  ASSERT_EQ(g.rows(), 3);
  EXPECT_THAT(g.Row(0), ElementsAre(1, 3, 5));
  EXPECT_THAT(g.Row(1), IsEmpty());
  EXPECT_THAT(g.Row(2), ElementsAre(0, 2));
  EXPECT_EQ(g.positions.size(), 5u);  // the unknown user's rating is out
  const RatingPositions by_item =
      GroupRatingPositions(kRatings, 4, RatingAxis::kItem);
  EXPECT_THAT(by_item.Row(1), ElementsAre(0, 3));
}

TEST(GroupRatingsTest, EmptyInputGivesEmptyRows) {
  const SparseRatings m = GroupRatings({}, 2, RatingAxis::kUser);
  EXPECT_EQ(m.rows(), 2);
  EXPECT_THAT(m.Row(1), IsEmpty());
  EXPECT_EQ(GroupRatingPositions({}, 0, RatingAxis::kItem).rows(), 0);
}

}  // namespace
}  // namespace recserve
