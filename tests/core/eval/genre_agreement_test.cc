#include "core/eval/genre_agreement.h"

#include "gtest/gtest.h"

namespace recserve {
namespace {

TEST(GenreAgreementTest, ClusteredVectorsAgreeWithGenresRandomOnesDoNot) {
  // Items 0-3 are "A" and point along x, items 4-7 are "B" along y.
  FactorMatrix clustered(8, 2);
  std::vector<std::vector<std::string>> genres(8);
  for (int i = 0; i < 8; ++i) {
    clustered.row(i) << (i < 4 ? 1.0f : 0.1f * i), (i < 4 ? 0.1f * i : 1.0f);
    genres[i] = {i < 4 ? "A" : "B"};
  }
  auto good = MeasureGenreAgreement(clustered, genres, 3, 100, 1, 2);
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->items, 8);
  // Each item's 3 nearest neighbours are the other 3 of its cluster.
  EXPECT_DOUBLE_EQ(good->neighbours, 1.0);
  // Random distinct pairs share a genre 3 times in 7.
  EXPECT_NEAR(good->random, 3.0 / 7.0, 0.02);

  // Swap the genre labels of alternate items: now neighbours agree half the
  // time at best.
  for (int i = 0; i < 8; i += 2) genres[i] = {i < 4 ? "B" : "A"};
  auto bad = MeasureGenreAgreement(clustered, genres, 3, 100, 1, 2);
  ASSERT_TRUE(bad.has_value());
  EXPECT_LT(bad->neighbours, 0.5);
}

TEST(GenreAgreementTest, ItemsWithoutGenresAreLeftOut) {
  FactorMatrix v = FactorMatrix::Identity(3, 3);
  std::vector<std::vector<std::string>> genres = {{"A"}, {}, {}};
  EXPECT_FALSE(MeasureGenreAgreement(v, genres, 2, 10, 1, 1).has_value());
}

}  // namespace
}  // namespace recserve
