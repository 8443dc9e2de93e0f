// ItemIndex::Extend: new rows inserted into a built or loaded index.

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/index/item_index.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

FactorMatrix RandomRows(int32_t rows, int32_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  FactorMatrix m(rows, cols);
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t c = 0; c < cols; ++c) m(r, c) = normal(rng);
  }
  return m;
}

ItemIndexOptions Options() {
  ItemIndexOptions o;
  o.m = 12;
  o.ef_construction = 80;
  o.threads = 2;
  return o;
}

// Share of queries whose exact top 10 the index finds, over all rows.
double Recall(const ItemIndex& index, const FactorMatrix& all, int32_t from,
              int32_t to) {
  int64_t found = 0, wanted = 0;
  for (int32_t q = from; q < to; ++q) {
    const absl::Span<const float> query(all.row(q).data(), all.cols());
    const std::vector<ScoredItem> exact =
        ExactNeighbors(all, index.space(), query, 10);
    absl::StatusOr<std::vector<ScoredItem>> got = index.Search(query, 10, 100);
    EXPECT_TRUE(got.ok());
    if (!got.ok()) return 0;
    for (const ScoredItem& e : exact) {
      ++wanted;
      for (const ScoredItem& g : *got) found += g.item == e.item;
    }
  }
  return static_cast<double>(found) / static_cast<double>(wanted);
}

class ItemIndexExtendTest : public ::testing::TestWithParam<IndexSpace> {};

TEST_P(ItemIndexExtendTest, ExtendedLoadedIndexFindsOldAndNewItems) {
  const IndexSpace space = GetParam();
  const int32_t old_rows = 1500, new_rows = 300, d = 8;
  const FactorMatrix all = RandomRows(old_rows + new_rows, d, 7);
  const FactorMatrix base_rows = all.topRows(old_rows);
  const FactorMatrix added = all.bottomRows(new_rows);
  testutil::TempDir dir;
  {
    auto built = ItemIndex::Build(base_rows, space, Options());
    ASSERT_TRUE(built.ok()) << built.status();
    ASSERT_TRUE((*built)->Save(dir.Path("base.hnsw")).ok());
  }
  auto loaded = ItemIndex::Load(dir.Path("base.hnsw"), base_rows, space);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto extended = ItemIndex::Extend(std::move(loaded).value(), added, 2);
  ASSERT_TRUE(extended.ok()) << extended.status();
  const ItemIndex& index = **extended;
  EXPECT_EQ(index.size(), old_rows + new_rows);
  EXPECT_EQ(index.dimensions(), d);
  EXPECT_EQ(index.options().m, Options().m);
  EXPECT_EQ(index.options().ef_construction, Options().ef_construction);
  EXPECT_GT(Recall(index, all, old_rows, old_rows + new_rows), 0.9);
  EXPECT_GT(Recall(index, all, 0, 200), 0.9);

  // Saved, it loads against the whole matrix (its source CRC-32), not
  // against the base's.
  ASSERT_TRUE(index.Save(dir.Path("extended.hnsw")).ok());
  auto reloaded = ItemIndex::Load(dir.Path("extended.hnsw"), all, space);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*reloaded)->size(), old_rows + new_rows);
  EXPECT_GT(Recall(**reloaded, all, old_rows, old_rows + 100), 0.9);
  FactorMatrix other = all;
  other(old_rows + 5, 0) += 1.0f;
  EXPECT_THAT(ItemIndex::Load(dir.Path("extended.hnsw"), other, space)
                  .status()
                  .message(),
              HasSubstr("built from other vectors"));
  EXPECT_FALSE(
      ItemIndex::Load(dir.Path("extended.hnsw"), base_rows, space).ok());
}

TEST_P(ItemIndexExtendTest, ExtendedIndexEqualsBuildSourceCrc) {
  // Built then extended, or built whole: the same file header checks pass,
  // so a server loading either accepts it for the same vectors.
  const IndexSpace space = GetParam();
  const FactorMatrix all = RandomRows(300, 4, 3);
  auto built = ItemIndex::Build(all.topRows(250), space, Options());
  ASSERT_TRUE(built.ok());
  auto extended =
      ItemIndex::Extend(std::move(built).value(), all.bottomRows(50), 1);
  ASSERT_TRUE(extended.ok()) << extended.status();
  testutil::TempDir dir;
  ASSERT_TRUE((*extended)->Save(dir.Path("x.hnsw")).ok());
  EXPECT_TRUE(ItemIndex::Load(dir.Path("x.hnsw"), all, space).ok());
}

TEST_P(ItemIndexExtendTest, RejectsBadInput) {
  const IndexSpace space = GetParam();
  const FactorMatrix all = RandomRows(100, 4, 5);
  auto make = [&] {
    return std::move(ItemIndex::Build(all, space, Options())).value();
  };
  EXPECT_THAT(ItemIndex::Extend(nullptr, all, 1).status().message(),
              HasSubstr("no index"));
  EXPECT_THAT(
      ItemIndex::Extend(make(), RandomRows(3, 5, 1), 1).status().message(),
      HasSubstr("cannot extend"));
  FactorMatrix nan = RandomRows(3, 4, 1);
  nan(1, 2) = std::nanf("");
  EXPECT_THAT(ItemIndex::Extend(make(), nan, 1).status().message(),
              HasSubstr("non-finite"));
  EXPECT_FALSE(ItemIndex::Extend(make(), RandomRows(3, 4, 1), -1).ok());
  // Nothing to add: the same index back.
  auto same = ItemIndex::Extend(make(), FactorMatrix(0, 4), 1);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ((*same)->size(), 100);
}

INSTANTIATE_TEST_SUITE_P(Spaces, ItemIndexExtendTest,
                         ::testing::Values(IndexSpace::kInnerProduct,
                                           IndexSpace::kCosine));

}  // namespace
}  // namespace recserve
