#include "core/index/norm_ordered_scan.h"

#include <cmath>
#include <vector>

#include "core/base/dot_product.h"
#include "core/base/random_stream.h"
#include "core/index/item_index.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

// Rows with Gaussian directions; norms exp(sigma·N(0,1)) (heavy-tailed for
// large sigma, all 1 for sigma 0).
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

TEST(NormOrderedScanTest, HeavyTailedNormsStopEarlyWithTheExactAnswer) {
  const FactorMatrix items = RandomRows(20'000, 32, 1.5, 1);
  const FactorMatrix users = RandomRows(50, 32, 0.0, 2);
  const NormOrderedScan scan(items, 20'000);
  int64_t read = 0;
  for (int32_t u = 0; u < users.rows(); ++u) {
    const absl::Span<const float> q(users.row(u).data(), users.cols());
    const NormScanResult r = scan.Top(q, 50);
    ASSERT_TRUE(r.exact) << "user " << u;
    ExpectSameNeighbors(
        r.top, ExactNeighbors(items, IndexSpace::kInnerProduct, q, 50));
    read += r.items_read;
  }
  // The point of the bound: far fewer than all 20,000 rows read.
  EXPECT_LT(read / users.rows(), 10'000);
}

TEST(NormOrderedScanTest, FlatNormsRunOutOfBudgetAndSaySo) {
  const FactorMatrix items = RandomRows(3'000, 16, 0.0, 3);
  const FactorMatrix users = RandomRows(5, 16, 0.0, 4);
  const NormOrderedScan partial_scan(items, 500);
  const NormOrderedScan full_scan(items, 1'000'000);
  EXPECT_EQ(partial_scan.copied_rows(), 500);
  EXPECT_EQ(full_scan.copied_rows(), 3'000);
  for (int32_t u = 0; u < users.rows(); ++u) {
    const absl::Span<const float> q(users.row(u).data(), users.cols());
    const NormScanResult partial = partial_scan.Top(q, 10);
    EXPECT_FALSE(partial.exact);
    EXPECT_EQ(partial.items_read, 500);
    EXPECT_EQ(partial.top.size(), 10u);
    // Reading everything is exact whatever the norms.
    const NormScanResult full = full_scan.Top(q, 10);
    EXPECT_TRUE(full.exact);
    EXPECT_EQ(full.items_read, 3'000);
    ExpectSameNeighbors(
        full.top, ExactNeighbors(items, IndexSpace::kInnerProduct, q, 10));
  }
}

// Copies tie on score; the exact answer takes the lower rows, and so must
// a scan that stops early.
TEST(NormOrderedScanTest, TiesBreakToTheLowerRowLikeExactSearch) {
  FactorMatrix items = RandomRows(2'000, 8, 2.0, 5);
  for (int32_t r = 1'000; r < 1'040; ++r) items.row(r) = items.row(7) * 50.0f;
  const FactorMatrix users = RandomRows(20, 8, 0.0, 6);
  // Only 300 rows copied: the bound must settle it within them.
  const NormOrderedScan scan(items, 300);
  for (int32_t u = 0; u < users.rows(); ++u) {
    const absl::Span<const float> q(users.row(u).data(), users.cols());
    const NormScanResult r = scan.Top(q, 25);
    ASSERT_TRUE(r.exact);
    ExpectSameNeighbors(
        r.top, ExactNeighbors(items, IndexSpace::kInnerProduct, q, 25));
  }
}

// Skipped rows (a user's training items) never come back, and what does is
// the exact top k of the others.
TEST(NormOrderedScanTest, SkippedRowsAreLeftOutExactly) {
  const FactorMatrix items = RandomRows(5'000, 16, 1.5, 8);
  const FactorMatrix users = RandomRows(20, 16, 0.0, 9);
  const NormOrderedScan scan(items, 5'000);
  const auto skip = [](int32_t row) { return row % 3 == 0; };
  for (int32_t u = 0; u < users.rows(); ++u) {
    const absl::Span<const float> q(users.row(u).data(), users.cols());
    const NormScanResult r = scan.Top(q, 30, skip);
    ASSERT_TRUE(r.exact);
    std::vector<ScoredItem> want;
    for (const ScoredItem& n :
         ExactNeighbors(items, IndexSpace::kInnerProduct, q, 5'000)) {
      if (!skip(n.item) && want.size() < 30) want.push_back(n);
    }
    ExpectSameNeighbors(r.top, want);
  }
}

// Products that overflow to +∞ and −∞ in different lanes give NaN, which
// ranks last (ties to the lower row), as in ExactNeighbors.
TEST(NormOrderedScanTest, NanScoresRankLast) {
  FactorMatrix items = RandomRows(40, 16, 0.5, 10);
  for (int32_t r : {3, 17, 30}) {
    items.row(r).setZero();
    items(r, 0) = items(r, 8) = 3e38f;
    items(r, 1) = items(r, 9) = -3e38f;
  }
  const std::vector<float> q(16, 1.0f);
  ASSERT_TRUE(std::isnan(Dot(q.data(), items.row(3).data(), 16)));
  const NormOrderedScan scan(items, 40);
  for (int32_t k : {1, 10, 37, 38, 40}) {
    const NormScanResult r = scan.Top(q, k);
    const std::vector<ScoredItem> want =
        ExactNeighbors(items, IndexSpace::kInnerProduct, q, k);
    ASSERT_EQ(r.top.size(), want.size()) << "k " << k;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(r.top[i].item, want[i].item) << "k " << k << " rank " << i;
      EXPECT_EQ(std::isnan(r.top[i].score), std::isnan(want[i].score));
    }
  }
}

// k = 1 keeps a single row; many cuts of the candidate buffer happen.
TEST(NormOrderedScanTest, SingleBestRow) {
  const FactorMatrix items = RandomRows(4'000, 24, 1.0, 11);
  const FactorMatrix users = RandomRows(30, 24, 0.0, 12);
  const NormOrderedScan scan(items, 4'000);
  for (int32_t u = 0; u < users.rows(); ++u) {
    const absl::Span<const float> q(users.row(u).data(), users.cols());
    const NormScanResult r = scan.Top(q, 1);
    ASSERT_TRUE(r.exact);
    ExpectSameNeighbors(r.top,
                        ExactNeighbors(items, IndexSpace::kInnerProduct, q, 1));
  }
}

TEST(NormOrderedScanTest, DegenerateArguments) {
  const FactorMatrix items = RandomRows(30, 4, 1.0, 7);
  const NormOrderedScan scan(items, 100);
  const std::vector<float> q = {1, 0, 0, 0};
  EXPECT_TRUE(scan.Top(q, 0).top.empty());
  EXPECT_TRUE(scan.Top(std::vector<float>{1, 0}, 3).top.empty());
  const NormScanResult all = scan.Top(q, 100);  // k above the size
  EXPECT_TRUE(all.exact);
  EXPECT_EQ(all.top.size(), 30u);
  const NormOrderedScan none(items, 0);  // no budget
  EXPECT_EQ(none.copied_rows(), 0);
  const NormScanResult nothing = none.Top(q, 3);
  EXPECT_FALSE(nothing.exact);
  EXPECT_TRUE(nothing.top.empty());
}

}  // namespace
}  // namespace recserve
