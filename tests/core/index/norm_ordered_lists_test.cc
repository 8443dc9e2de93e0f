#include "core/index/norm_ordered_lists.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/random_stream.h"
#include "core/index/item_index.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

// Rows with Gaussian directions and norms exp(sigma·N(0,1)).
FactorMatrix RandomRows(int32_t rows, int32_t dims, double sigma,
                        uint64_t seed) {
  FactorMatrix m(rows, dims);
  for (int32_t r = 0; r < rows; ++r) {
    RandomStream rng(seed, 1, r);
    for (int32_t c = 0; c < dims; ++c) {
      m(r, c) = static_cast<float>(rng.Normal());
    }
    m.row(r) *=
        static_cast<float>(std::exp(sigma * rng.Normal())) / m.row(r).norm();
  }
  return m;
}

void ExpectSameNeighbors(const std::vector<ScoredItem>& got,
                         const std::vector<ScoredItem>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].item, want[i].item) << "rank " << i;
    EXPECT_EQ(got[i].score, want[i].score) << "rank " << i;
  }
}

// Three lists over 3,000 rows: every third row, a random fifth, and a short
// list of 7.
std::vector<std::vector<int32_t>> MakeLists(int32_t rows) {
  std::vector<std::vector<int32_t>> lists(3);
  RandomStream rng(99, 0, 0);
  for (int32_t r = rows - 1; r >= 0; --r) {  // any order is allowed
    if (r % 3 == 0) lists[0].push_back(r);
    if (rng.Uniform() < 0.2) lists[1].push_back(r);
  }
  lists[2] = {5, 1700, 42, 2999, 8, 900, 77};
  return lists;
}

TEST(NormOrderedListsTest, ListsHoldTheirRowsAscending) {
  const FactorMatrix items = RandomRows(3'000, 16, 1.0, 1);
  const std::vector<std::vector<int32_t>> lists = MakeLists(3'000);
  const NormOrderedLists ordered(items, lists, 1'000'000);
  ASSERT_EQ(ordered.num_lists(), 3);
  for (int32_t l = 0; l < ordered.num_lists(); ++l) {
    const absl::Span<const int32_t> list = ordered.List(l);
    std::vector<int32_t> given = lists[l];
    std::sort(given.begin(), given.end());
    EXPECT_EQ(std::vector<int32_t>(list.begin(), list.end()), given)
        << "list " << l;
  }
}

TEST(NormOrderedListsTest, TopEqualsExactNeighborsAmongTheUnskippedRows) {
  const FactorMatrix items = RandomRows(3'000, 16, 1.2, 2);
  const FactorMatrix users = RandomRows(8, 16, 0.3, 3);
  const NormOrderedLists ordered(items, MakeLists(3'000), 1'000'000);
  const auto skip = [](int32_t row) { return row % 7 == 2 || row == 0; };
  int64_t settled_early = 0;
  for (int32_t l = 0; l < ordered.num_lists(); ++l) {
    std::vector<int32_t> kept;
    for (const int32_t row : ordered.List(l)) {
      if (!skip(row)) kept.push_back(row);
    }
    for (int32_t u = 0; u < users.rows(); ++u) {
      const absl::Span<const float> q(users.row(u).data(), users.cols());
      for (const int32_t k : {1, 5, 40, 10'000}) {
        const NormScanResult r = ordered.Top(l, q, k, skip);
        EXPECT_TRUE(r.exact) << "list " << l << " user " << u << " k " << k;
        ExpectSameNeighbors(
            r.top,
            ExactNeighborsAmong(items, IndexSpace::kInnerProduct, q, kept, k));
        EXPECT_LE(r.items_read, static_cast<int32_t>(ordered.List(l).size()));
        if (r.items_read < static_cast<int32_t>(ordered.List(l).size())) {
          ++settled_early;
        }
      }
    }
  }
  // Spread norms: the bound settles most small-k searches of long lists
  // before the end.
  EXPECT_GT(settled_early, 10);
}

TEST(NormOrderedListsTest, TiesGoToTheLowerRow) {
  // Rows 4, 9 and 2 are the same vector; the list names them out of order.
  FactorMatrix items = RandomRows(12, 4, 0.0, 9);
  items.row(9) = items.row(4);
  items.row(2) = items.row(4);
  const NormOrderedLists ordered(items, {{9, 4, 11, 2, 7}}, 100);
  const std::vector<float> q(items.row(4).data(), items.row(4).data() + 4);
  const NormScanResult r = ordered.Top(0, q, 2, [](int32_t) { return false; });
  ASSERT_EQ(r.top.size(), 2u);
  EXPECT_EQ(r.top[0].item, 2);
  EXPECT_EQ(r.top[1].item, 4);
}

TEST(NormOrderedListsTest, ACopyTooShortSaysSo) {
  // Flat norms: the bound cannot settle early, so a list copied only in
  // part cannot prove its answer.
  const FactorMatrix items = RandomRows(2'000, 16, 0.0, 4);
  const FactorMatrix users = RandomRows(4, 16, 0.0, 5);
  std::vector<std::vector<int32_t>> lists(1);
  for (int32_t r = 0; r < 2'000; ++r) lists[0].push_back(r);
  const NormOrderedLists part(items, lists, 300);
  const NormOrderedLists whole(items, lists, 2'000);
  const auto none = [](int32_t) { return false; };
  for (int32_t u = 0; u < users.rows(); ++u) {
    const absl::Span<const float> q(users.row(u).data(), users.cols());
    const NormScanResult cut = part.Top(0, q, 10, none);
    EXPECT_FALSE(cut.exact) << "user " << u;
    EXPECT_LE(cut.items_read, 300);
    EXPECT_EQ(cut.top.size(), 10u);
    const NormScanResult full = whole.Top(0, q, 10, none);
    EXPECT_TRUE(full.exact);
    ExpectSameNeighbors(
        full.top, ExactNeighbors(items, IndexSpace::kInnerProduct, q, 10));
  }
}

TEST(NormOrderedListsTest, DegenerateQueries) {
  const FactorMatrix items = RandomRows(100, 8, 1.0, 6);
  const NormOrderedLists ordered(items, {{1, 2, 3}, {}}, 100);
  const auto none = [](int32_t) { return false; };
  const std::vector<float> q(8, 0.5f);
  EXPECT_TRUE(ordered.Top(0, q, 0, none).top.empty());
  EXPECT_TRUE(ordered.Top(0, std::vector<float>(7, 1.0f), 2, none).top.empty());
  const NormScanResult empty_list = ordered.Top(1, q, 3, none);
  EXPECT_TRUE(empty_list.top.empty());
  const NormScanResult all_skipped =
      ordered.Top(0, q, 2, [](int32_t) { return true; });
  EXPECT_TRUE(all_skipped.top.empty());
  EXPECT_TRUE(all_skipped.exact);
}

TEST(ExactNeighborsAmongTest, EqualsExactNeighborsRestricted) {
  const FactorMatrix items = RandomRows(500, 12, 1.0, 7);
  const FactorMatrix users = RandomRows(5, 12, 0.5, 8);
  std::vector<int32_t> rows;
  for (int32_t r = 499; r >= 0; r -= 3) rows.push_back(r);
  // The same vectors with only the listed rows: ExactNeighbors over that
  // matrix, mapped back to rows.
  FactorMatrix restricted(static_cast<Eigen::Index>(rows.size()), 12);
  for (size_t j = 0; j < rows.size(); ++j) {
    restricted.row(static_cast<Eigen::Index>(j)) = items.row(rows[j]);
  }
  for (const IndexSpace space :
       {IndexSpace::kInnerProduct, IndexSpace::kCosine}) {
    for (int32_t u = 0; u < users.rows(); ++u) {
      const absl::Span<const float> q(users.row(u).data(), users.cols());
      for (const int32_t k : {1, 10, 1000}) {
        const std::vector<ScoredItem> got =
            ExactNeighborsAmong(items, space, q, rows, k);
        std::vector<ScoredItem> want = ExactNeighbors(restricted, space, q, k);
        for (ScoredItem& s : want) s.item = rows[s.item];
        // Mapping back may reorder ties by row; re-sort.
        std::sort(want.begin(), want.end(), RankingOrder());
        ASSERT_EQ(got.size(), want.size()) << "k " << k;
        for (size_t i = 0; i < got.size(); ++i) {
          EXPECT_EQ(got[i].item, want[i].item) << "rank " << i;
          EXPECT_NEAR(got[i].score, want[i].score, 1e-5f) << "rank " << i;
        }
      }
      // Every row: the same as ExactNeighbors.
      std::vector<int32_t> all(500);
      for (int32_t r = 0; r < 500; ++r) all[r] = r;
      ExpectSameNeighbors(ExactNeighborsAmong(items, space, q, all, 20),
                          ExactNeighbors(items, space, q, 20));
      EXPECT_TRUE(ExactNeighborsAmong(items, space, q, {}, 5).empty());
    }
  }
}

}  // namespace
}  // namespace recserve
