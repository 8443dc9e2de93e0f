#include "core/eval/ranking_metrics.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/data/ratings.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

// Discounts: 1/log2(2) = 1, 1/log2(3) = 0.6309298, 1/log2(4) = 0.5,
// 1/log2(5) = 0.4306766.
const double kD1 = 1.0 / std::log2(3.0);
const double kD3 = 1.0 / std::log2(5.0);

// ranked = [3, 1, 4, 5, 9]; relevant = {1, 5, 7}: hits at ranks 1 and 3.
const std::vector<int32_t> kRanked = {3, 1, 4, 5, 9};
const std::vector<int32_t> kRelevant = {1, 5, 7};

TEST(RankingMetricsTest, AtThree) {
  EXPECT_EQ(HitsAtK(kRanked, kRelevant, 3), 1);
  EXPECT_DOUBLE_EQ(PrecisionAtK(kRanked, kRelevant, 3), 1.0 / 3);
  EXPECT_DOUBLE_EQ(RecallAtK(kRanked, kRelevant, 3), 1.0 / 3);
  // DCG = 1/log2(3) = 0.6309; IDCG over min(3, 3) = 3 ranks =
  // 1 + 0.6309 + 0.5 = 2.1309; NDCG = 0.29608.
  EXPECT_NEAR(NdcgAtK(kRanked, kRelevant, 3), kD1 / (1 + kD1 + 0.5), 1e-12);
  EXPECT_NEAR(NdcgAtK(kRanked, kRelevant, 3), 0.29608, 1e-5);
  EXPECT_EQ(HitAtK(kRanked, kRelevant, 3), 1.0);
}

TEST(RankingMetricsTest, AtFive) {
  EXPECT_EQ(HitsAtK(kRanked, kRelevant, 5), 2);
  EXPECT_DOUBLE_EQ(PrecisionAtK(kRanked, kRelevant, 5), 2.0 / 5);
  EXPECT_DOUBLE_EQ(RecallAtK(kRanked, kRelevant, 5), 2.0 / 3);
  // DCG = 0.6309 + 0.4307 = 1.0616; IDCG still over 3 ranks = 2.1309;
  // NDCG = 0.49819.
  EXPECT_NEAR(NdcgAtK(kRanked, kRelevant, 5), (kD1 + kD3) / (1 + kD1 + 0.5),
              1e-12);
  EXPECT_NEAR(NdcgAtK(kRanked, kRelevant, 5), 0.49819, 1e-5);
}

TEST(RankingMetricsTest, AtOneIsAMiss) {
  EXPECT_EQ(HitsAtK(kRanked, kRelevant, 1), 0);
  EXPECT_EQ(PrecisionAtK(kRanked, kRelevant, 1), 0.0);
  EXPECT_EQ(NdcgAtK(kRanked, kRelevant, 1), 0.0);
  EXPECT_EQ(HitAtK(kRanked, kRelevant, 1), 0.0);
}

TEST(RankingMetricsTest, UnknownRelevantItemsCountButNeverHit) {
  // Two relevant items the model does not know, plus item 3.
  const std::vector<int32_t> relevant = {kUnknownIndex, kUnknownIndex, 3};
  const std::vector<int32_t> ranked = {3, 2};
  EXPECT_EQ(HitsAtK(ranked, relevant, 2), 1);
  EXPECT_DOUBLE_EQ(RecallAtK(ranked, relevant, 2), 1.0 / 3);
  // DCG = 1; IDCG over min(3, 2) = 2 ranks = 1 + 0.6309; NDCG = 0.61315.
  EXPECT_NEAR(NdcgAtK(ranked, relevant, 2), 1 / (1 + kD1), 1e-12);
  EXPECT_NEAR(NdcgAtK(ranked, relevant, 2), 0.61315, 1e-5);
}

TEST(RankingMetricsTest, ShortListIsNotRescaled) {
  const std::vector<int32_t> ranked = {2};
  const std::vector<int32_t> relevant = {2};
  EXPECT_DOUBLE_EQ(PrecisionAtK(ranked, relevant, 10), 0.1);  // 1 hit / 10
  EXPECT_DOUBLE_EQ(RecallAtK(ranked, relevant, 10), 1.0);
  EXPECT_DOUBLE_EQ(NdcgAtK(ranked, relevant, 10), 1.0);
  EXPECT_EQ(HitAtK(ranked, relevant, 10), 1.0);
}

TEST(RankingMetricsTest, DegenerateInputs) {
  EXPECT_EQ(RecallAtK(kRanked, {}, 5), 0.0);
  EXPECT_EQ(NdcgAtK(kRanked, {}, 5), 0.0);
  EXPECT_EQ(PrecisionAtK(kRanked, kRelevant, 0), 0.0);
  EXPECT_EQ(NdcgAtK(kRanked, kRelevant, 0), 0.0);
  EXPECT_EQ(HitsAtK({}, kRelevant, 5), 0);
}

TEST(RankingMetricsTest, AveragePrecision) {
  // kRanked = [3, 1, 4, 5, 9], kRelevant = {1, 5, 7}: hits at ranks 1, 3.
  // @5: (1/2 + 2/4) / min(3, 5) = 1/3.
  EXPECT_DOUBLE_EQ(AveragePrecisionAtK(kRanked, kRelevant, 5), 1.0 / 3);
  // @3: only the hit at rank 1: (1/2) / min(3, 3) = 1/6.
  EXPECT_DOUBLE_EQ(AveragePrecisionAtK(kRanked, kRelevant, 3), 1.0 / 6);
  // @2: (1/2) / min(3, 2) = 1/4: normalized by k when |relevant| > k.
  EXPECT_DOUBLE_EQ(AveragePrecisionAtK(kRanked, kRelevant, 2), 0.25);
  EXPECT_EQ(AveragePrecisionAtK(kRanked, kRelevant, 1), 0.0);
  // Every slot relevant: 1, whatever the number of other relevant items.
  EXPECT_DOUBLE_EQ(AveragePrecisionAtK({1, 5}, kRelevant, 2), 1.0);
  // A single relevant item at rank 2: 1/3 (its reciprocal rank).
  EXPECT_DOUBLE_EQ(AveragePrecisionAtK(kRanked, {4}, 10), 1.0 / 3);
  // Unknown relevant items count in the normalizer, never as hits:
  // {unknown, unknown, 3}, ranked [3, 2] @2: (1/1) / min(3, 2) = 1/2.
  EXPECT_DOUBLE_EQ(
      AveragePrecisionAtK({3, 2}, {kUnknownIndex, kUnknownIndex, 3}, 2), 0.5);
  EXPECT_EQ(AveragePrecisionAtK(kRanked, {}, 5), 0.0);
  EXPECT_EQ(AveragePrecisionAtK(kRanked, kRelevant, 0), 0.0);
}

TEST(RankingMetricsTest, RankAmongCountsTiesAgainstTheTarget) {
  // Strictly higher: 0.9. Tied: the two 0.5s. Rank = 1 + 2 = 3.
  const std::vector<float> others = {0.9f, 0.5f, 0.1f, 0.5f};
  EXPECT_EQ(RankAmong(0.5f, others), 3);
  EXPECT_EQ(RankAmong(1.0f, others), 0);
  EXPECT_EQ(RankAmong(0.0f, others), 4);
  // All equal: the target ranks last.
  EXPECT_EQ(RankAmong(1.0f, std::vector<float>(7, 1.0f)), 7);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(RankAmong(nan, others), 4);
  EXPECT_EQ(RankAmong(0.5f, std::vector<float>{nan, 0.1f}), 0);
  EXPECT_EQ(RankAmong(0.5f, {}), 0);
}

TEST(RankingMetricsTest, SingleItemMetricsFromRank) {
  EXPECT_EQ(HitForRank(0, 10), 1.0);
  EXPECT_EQ(HitForRank(9, 10), 1.0);
  EXPECT_EQ(HitForRank(10, 10), 0.0);
  EXPECT_DOUBLE_EQ(NdcgForRank(0, 10), 1.0);
  EXPECT_DOUBLE_EQ(NdcgForRank(2, 10), 0.5);  // 1 / log2(4)
  EXPECT_NEAR(NdcgForRank(1, 10), 0.6309298, 1e-7);
  EXPECT_EQ(NdcgForRank(10, 10), 0.0);
}

}  // namespace
}  // namespace recserve
