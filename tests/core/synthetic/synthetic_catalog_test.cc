#include "core/synthetic/synthetic_catalog.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>

#include "core/synthetic/synthetic_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve::synthetic {
namespace {

using ::testing::HasSubstr;

GeneratorOptions Options(int32_t items, int32_t k, int32_t genres) {
  GeneratorOptions o;
  o.items = items;
  o.latent_factors = k;
  o.genres = genres;
  o.seed = 17;
  return o;
}

TEST(SyntheticCatalogTest, ItemsHaveUnitFactorsCentredBiasesAndTopWeight) {
  for (int32_t k : {1, 2, 5}) {
    const ItemModel m = BuildItems(Options(300, k, 6));
    ASSERT_EQ(m.popularity.size(), 300u);
    ASSERT_EQ(m.bias.size(), 300u);
    ASSERT_EQ(m.factors.size(), 300u * k);
    ASSERT_EQ(m.titles.size(), 300u);
    ASSERT_EQ(m.genres.size(), 300u);
    EXPECT_EQ(*std::max_element(m.popularity.begin(), m.popularity.end()),
              uint64_t{1} << 40);
    EXPECT_GE(*std::min_element(m.popularity.begin(), m.popularity.end()), 1u);
    double weight = 0, weighted_bias = 0;
    for (size_t i = 0; i < 300; ++i) {
      double norm = 0;
      for (int32_t d = 0; d < k; ++d) {
        norm += m.factors[i * k + d] * m.factors[i * k + d];
      }
      EXPECT_NEAR(norm, 1.0, 1e-12) << "item " << i << ", k " << k;
      weight += static_cast<double>(m.popularity[i]);
      weighted_bias += static_cast<double>(m.popularity[i]) * m.bias[i];
    }
    EXPECT_NEAR(weighted_bias / weight, 0.0, 1e-12);
  }
}

TEST(SyntheticCatalogTest, DeterministicAndDependsOnTheSeed) {
  const ItemModel a = BuildItems(Options(50, 3, 4));
  const ItemModel b = BuildItems(Options(50, 3, 4));
  EXPECT_EQ(a.popularity, b.popularity);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.factors, b.factors);
  EXPECT_EQ(a.titles, b.titles);
  EXPECT_EQ(a.genres, b.genres);
  GeneratorOptions other = Options(50, 3, 4);
  other.seed = 18;
  EXPECT_NE(BuildItems(other).factors, a.factors);
}

TEST(SyntheticCatalogTest, TitlesAndGenresNameTheGenres) {
  const ItemModel m = BuildItems(Options(40, 2, 3));
  EXPECT_THAT(m.titles[0], HasSubstr(","));
  EXPECT_THAT(m.titles[1], HasSubstr("\""));
  const std::set<std::string> names = {GenreName(0), GenreName(1),
                                       GenreName(2)};
  for (size_t i = 0; i < m.genres.size(); ++i) {
    const std::string first = m.genres[i].substr(0, m.genres[i].find('|'));
    EXPECT_TRUE(names.count(first)) << m.genres[i];
    EXPECT_THAT(m.titles[i], HasSubstr(first));
  }
}

TEST(SyntheticCatalogTest, GenreNamesAreDistinct) {
  EXPECT_EQ(GenreName(0), "Space Western");
  std::set<std::string> names;
  for (int32_t g = 0; g < 256; ++g) names.insert(GenreName(g));
  EXPECT_EQ(names.size(), 256u);
}

}  // namespace
}  // namespace recserve::synthetic
