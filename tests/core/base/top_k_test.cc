#include "core/base/top_k.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/base/random_stream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<int32_t> ItemsOf(const std::vector<ScoredItem>& ranked) {
  std::vector<int32_t> items;
  for (const ScoredItem& s : ranked) items.push_back(s.item);
  return items;
}

TEST(RankingOrderTest, HigherScoreFirstThenLowerItem) {
  EXPECT_TRUE(RanksAhead(2.0f, 9, 1.0f, 0));
  EXPECT_FALSE(RanksAhead(1.0f, 0, 2.0f, 9));
  EXPECT_TRUE(RanksAhead(1.0f, 3, 1.0f, 4));
  EXPECT_FALSE(RanksAhead(1.0f, 4, 1.0f, 3));
  EXPECT_FALSE(RanksAhead(1.0f, 3, 1.0f, 3));  // irreflexive
  EXPECT_TRUE(RanksAhead(-0.0f, 1, 0.0f, 2));  // -0 == 0: a tie
  EXPECT_TRUE(RankingOrder()(ScoredItem{5, 0.5f}, ScoredItem{1, 0.25f}));
}

TEST(RankingOrderTest, NanGoesAfterEveryNumber) {
  EXPECT_TRUE(RanksAhead(-kInf, 9, kNaN, 0));
  EXPECT_FALSE(RanksAhead(kNaN, 0, -kInf, 9));
  EXPECT_TRUE(RanksAhead(std::numeric_limits<float>::lowest(), 5, kNaN, 1));
  // NaNs among themselves: to the lower item.
  EXPECT_TRUE(RanksAhead(kNaN, 1, kNaN, 2));
  EXPECT_FALSE(RanksAhead(kNaN, 2, kNaN, 1));
  EXPECT_FALSE(RanksAhead(kNaN, 1, kNaN, 1));

  std::vector<ScoredItem> v = {{4, kNaN}, {3, 1.0f}, {7, -kInf}, {0, kNaN},
                               {2, 1.0f}, {6, kInf}, {1, -2.0f}, {5, 0.0f}};
  std::sort(v.begin(), v.end(), RankingOrder());
  EXPECT_THAT(ItemsOf(v), ElementsAre(6, 2, 3, 5, 1, 7, 0, 4));
}

TEST(RankingOrderTest, IntegerScores) {
  EXPECT_TRUE(RanksAhead(int32_t{7}, 3, int32_t{5}, 1));
  EXPECT_TRUE(RanksAhead(int32_t{5}, 1, int32_t{5}, 3));
  EXPECT_TRUE(RanksAhead(2.0, 1, 1.0, 0));  // double
}

// The collector keeps exactly what a full sort puts first, on random input
// with many ties and some NaNs, for capacities from 0 past the input size.
TEST(TopKTest, EqualsTheFullSortOnRandomInput) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    RandomStream rng(seed);
    const int32_t n = static_cast<int32_t>(rng.Below(300));
    std::vector<ScoredItem> input;
    for (int32_t i = 0; i < n; ++i) {
      const uint64_t kind = rng.Below(20);
      const float score = kind == 0   ? kNaN
                          : kind == 1 ? -kInf
                          : kind < 10 ? static_cast<float>(rng.Below(8))
                                      : static_cast<float>(rng.Normal());
      input.push_back({static_cast<int32_t>(rng.Below(1000)), score});
    }
    std::vector<ScoredItem> sorted = input;
    std::sort(sorted.begin(), sorted.end(), RankingOrder());
    for (const size_t capacity : {size_t{0}, size_t{1}, size_t{5}, size_t{64},
                                  input.size(), input.size() + 7}) {
      TopK<> top(capacity);
      for (const ScoredItem& s : input) {
        EXPECT_EQ(
            top.Admits(s),
            !top.full() || (!top.empty() && RankingOrder()(s, top.worst())));
        top.Offer(s);
        EXPECT_LE(top.size(), capacity);
      }
      const std::vector<ScoredItem> want(
          sorted.begin(), sorted.begin() + std::min(capacity, sorted.size()));
      const std::vector<ScoredItem> got = top.Take();
      ASSERT_EQ(got.size(), want.size()) << "seed " << seed;
      for (size_t k = 0; k < got.size(); ++k) {
        // Equal ScoredItems are interchangeable; compare NaN as NaN.
        EXPECT_EQ(got[k].item, want[k].item) << "seed " << seed << " k " << k;
        EXPECT_TRUE(got[k].score == want[k].score ||
                    (std::isnan(got[k].score) && std::isnan(want[k].score)))
            << "seed " << seed << " k " << k;
      }
      EXPECT_TRUE(top.empty());
    }
  }
}

TEST(TopKTest, CapacityZeroKeepsNothing) {
  TopK<> top(0);
  EXPECT_TRUE(top.full());
  EXPECT_FALSE(top.Admits({1, kInf}));
  top.Offer({1, kInf});
  top.Offer({2, 1.0f});
  EXPECT_TRUE(top.empty());
  EXPECT_THAT(top.Take(), IsEmpty());
}

TEST(TopKTest, WorstIsTheLastKept) {
  TopK<> top(3);
  for (const ScoredItem& s : std::vector<ScoredItem>{
           {0, 1.0f}, {1, 5.0f}, {2, 3.0f}, {3, 4.0f}, {4, 3.0f}}) {
    top.Offer(s);
  }
  EXPECT_TRUE(top.full());
  EXPECT_EQ(top.worst(), (ScoredItem{2, 3.0f}));
  EXPECT_FALSE(top.Admits({5, 3.0f}));  // ties to the lower item: 2 stays
  EXPECT_TRUE(top.Admits({1, 3.0f}));
  EXPECT_THAT(ItemsOf(top.Take()), ElementsAre(1, 3, 2));
}

// Any type with `item` and `score` ranks by them; the rest rides along.
TEST(TopKTest, CarriesOtherFields) {
  struct Tagged {
    int32_t item;
    float score;
    char tag;
  };
  TopK<Tagged> top(2);
  top.Offer({3, 1.0f, 'a'});
  top.Offer({1, 2.0f, 'b'});
  top.Offer({2, 2.0f, 'c'});
  const std::vector<Tagged> best = top.Take();
  ASSERT_EQ(best.size(), 2u);
  EXPECT_EQ(best[0].tag, 'b');
  EXPECT_EQ(best[1].tag, 'c');
}

// TakeInto swaps storage: a collector reused with one output vector keeps
// giving the right answer.
TEST(TopKTest, TakeIntoReusesStorage) {
  TopK<> top(2);
  std::vector<ScoredItem> best = {{9, 9.0f}};
  for (int round = 0; round < 3; ++round) {
    for (int32_t i = 0; i < 5; ++i) {
      top.Offer({i, static_cast<float>((i * 3 + round) % 5)});
    }
    top.TakeInto(&best);
    ASSERT_EQ(best.size(), 2u);
    EXPECT_EQ(best[0].score, 4.0f) << round;
    EXPECT_EQ(best[1].score, 3.0f) << round;
    EXPECT_TRUE(top.empty());
  }
}

}  // namespace
}  // namespace recserve
