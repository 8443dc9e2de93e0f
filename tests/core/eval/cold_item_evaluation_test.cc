#include "core/eval/cold_item_evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/random_stream.h"
#include "core/data/ratings.h"
#include "core/data/sparse_ratings.h"
#include "core/eval/ranking_metrics.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// rows[u] are user u's relevant items.
SparseRatings Relevant(const std::vector<std::vector<int32_t>>& rows) {
  std::vector<Rating> ratings;
  for (size_t u = 0; u < rows.size(); ++u) {
    for (const int32_t item : rows[u]) {
      ratings.push_back({static_cast<int32_t>(u), item, 1.0f, 0});
    }
  }
  return GroupRatings(ratings, static_cast<int32_t>(rows.size()),
                      RatingAxis::kUser);
}

// scores[u][i]: user u's score of item i.
class TableScorer final : public ItemScorer {
 public:
  explicit TableScorer(std::vector<std::vector<float>> scores)
      : scores_(std::move(scores)) {}
  int32_t num_items() const override {
    return static_cast<int32_t>(scores_[0].size());
  }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override {
    std::copy(scores_[user].begin(), scores_[user].end(), scores.begin());
  }

 private:
  std::vector<std::vector<float>> scores_;
};

// Uniform random scores, a fixed stream per (seed, user, item).
class RandomScorer final : public ItemScorer {
 public:
  RandomScorer(int32_t num_items, uint64_t seed)
      : num_items_(num_items), seed_(seed) {}
  int32_t num_items() const override { return num_items_; }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override {
    for (int32_t i = 0; i < num_items_; ++i) {
      scores[i] = static_cast<float>(RandomStream(seed_, user, i).Uniform());
    }
  }

 private:
  int32_t num_items_;
  uint64_t seed_;
};

double Discount(int rank) { return 1.0 / std::log2(rank + 2.0); }

TEST(RankHeldOutItemsTest, RanksOnlyTheHeldOutItems) {
  // Item 0 is not held out and scores best: it must not take a slot.
  const std::vector<int32_t> held_out = {1, 3, 5, 7};
  TableScorer scorer({{9.0f, 0.5f, 0.0f, 0.9f, 0.0f, 0.1f, 0.0f, 0.2f}});
  const ColdItemRanking r1 =
      RankHeldOutItems(scorer, held_out, Relevant({{3}}), 1, 1);
  EXPECT_DOUBLE_EQ(r1.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(r1.ndcg, 1.0);
  // Item 7 is third of the held-out items: 1 / log2(4) at k = 3, a miss at 2.
  const ColdItemRanking r3 =
      RankHeldOutItems(scorer, held_out, Relevant({{7}}), 3, 1);
  EXPECT_DOUBLE_EQ(r3.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(r3.ndcg, 0.5);
  const ColdItemRanking r2 =
      RankHeldOutItems(scorer, held_out, Relevant({{7}}), 2, 1);
  EXPECT_DOUBLE_EQ(r2.hit_rate, 0.0);
  EXPECT_DOUBLE_EQ(r2.ndcg, 0.0);
}

TEST(RankHeldOutItemsTest, TiesGoToTheLowerItem) {
  // Items 2 and 4 tie at the top; the held-out list order does not matter.
  const std::vector<int32_t> held_out = {4, 2, 0};
  TableScorer scorer(
      {{0.1f, 0.0f, 1.0f, 0.0f, 1.0f}, {0.1f, 0.0f, 1.0f, 0.0f, 1.0f}});
  const ColdItemRanking r =
      RankHeldOutItems(scorer, held_out, Relevant({{2}, {4}}), 1, 1);
  // User 0's item 2 wins the tie, user 1's item 4 loses it.
  EXPECT_DOUBLE_EQ(r.hit_rate, 0.5);
  EXPECT_DOUBLE_EQ(r.ndcg, 0.5);
  // At k = 2 item 4 is second.
  const ColdItemRanking r2 =
      RankHeldOutItems(scorer, held_out, Relevant({{2}, {4}}), 2, 1);
  EXPECT_DOUBLE_EQ(r2.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(r2.ndcg, (1.0 + Discount(1)) / 2);
}

TEST(RankHeldOutItemsTest, EleventhIsNotAHitAtTen) {
  // Twelve held-out items scored in decreasing order of index.
  std::vector<float> scores(12);
  for (int i = 0; i < 12; ++i) scores[i] = 12.0f - i;
  std::vector<int32_t> held_out(12);
  std::iota(held_out.begin(), held_out.end(), 0);
  TableScorer scorer({scores, scores, scores});
  // User 0's item is 11th, user 1 has none (skipped), user 2's is 10th.
  const ColdItemRanking r =
      RankHeldOutItems(scorer, held_out, Relevant({{10}, {}, {9}}), 10, 2);
  EXPECT_DOUBLE_EQ(r.hit_rate, 0.5);
  EXPECT_DOUBLE_EQ(r.ndcg, Discount(9) / 2);
}

TEST(RankHeldOutItemsTest, NdcgOfSeveralRelevantItems) {
  TableScorer scorer({{0.9f, 0.8f, 0.7f, 0.6f, 0.5f}});
  const std::vector<int32_t> held_out = {0, 1, 2, 3, 4};
  // Relevant at ranks 0 and 2 (the repeat counts once), k = 3: IDCG over 2.
  const ColdItemRanking r =
      RankHeldOutItems(scorer, held_out, Relevant({{2, 0, 2}}), 3, 1);
  EXPECT_DOUBLE_EQ(r.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(r.ndcg, (1.0 + Discount(2)) / (1.0 + Discount(1)));
  // Three relevant items at k = 2: IDCG over min(3, 2) = 2 items.
  const ColdItemRanking r2 =
      RankHeldOutItems(scorer, held_out, Relevant({{1, 3, 4}}), 2, 1);
  EXPECT_DOUBLE_EQ(r2.ndcg, Discount(1) / (1.0 + Discount(1)));
}

TEST(RankHeldOutItemsTest, NanAndMinusInfinityRankLast) {
  TableScorer scorer({{kNaN, -kInf, 0.0f}});
  const std::vector<int32_t> held_out = {0, 1, 2};
  // Order: item 2 (0), item 1 (-inf), item 0 (NaN, after -inf).
  EXPECT_DOUBLE_EQ(
      RankHeldOutItems(scorer, held_out, Relevant({{1}}), 2, 1).hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(
      RankHeldOutItems(scorer, held_out, Relevant({{0}}), 2, 1).hit_rate, 0.0);
}

TEST(RankHeldOutItemsTest, NoUserMeasuredGivesZero) {
  TableScorer scorer({{1.0f, 2.0f}});
  const ColdItemRanking r =
      RankHeldOutItems(scorer, {0, 1}, Relevant({{}}), 10, 1);
  EXPECT_EQ(r.hit_rate, 0.0);
  EXPECT_EQ(r.ndcg, 0.0);
}

TEST(RankHeldOutItemsTest, ResultDoesNotDependOnThreads) {
  const int32_t users = 700, items = 120;
  std::vector<int32_t> held_out;
  for (int32_t i = 0; i < items; i += 4) held_out.push_back(i);
  std::vector<std::vector<int32_t>> rows(users);
  RandomStream rng(7);
  for (int32_t u = 0; u < users; ++u) {
    const int n = static_cast<int>(rng.Below(4));  // some users have none
    for (int j = 0; j < n; ++j) {
      rows[u].push_back(held_out[rng.Below(held_out.size())]);
    }
  }
  const SparseRatings relevant = Relevant(rows);
  RandomScorer scorer(items, 3);
  const ColdItemRanking one =
      RankHeldOutItems(scorer, held_out, relevant, 10, 1);
  EXPECT_GT(one.hit_rate, 0.0);
  for (const int32_t threads : {2, 3, 8}) {
    const ColdItemRanking many =
        RankHeldOutItems(scorer, held_out, relevant, 10, threads);
    EXPECT_EQ(many.hit_rate, one.hit_rate) << threads;
    EXPECT_EQ(many.ndcg, one.ndcg) << threads;
  }
}

TEST(ExpectedRandomRankingTest, MatchesEveryPermutation) {
  const int m = 6;
  for (const int k : {1, 3, 6, 8}) {
    // Users with 1, 2 and 3 relevant items, and one with none (skipped).
    const SparseRatings relevant = Relevant({{0}, {}, {0, 1}, {0, 1, 2}});
    double hit = 0, ndcg = 0;
    int count = 0;
    for (const int r : {1, 2, 3}) {
      std::vector<int32_t> rel(r);
      std::iota(rel.begin(), rel.end(), 0);
      std::vector<int32_t> order(m);
      std::iota(order.begin(), order.end(), 0);
      do {
        hit += HitAtK(order, rel, k);
        ndcg += NdcgAtK(order, rel, k);
        ++count;
      } while (std::next_permutation(order.begin(), order.end()));
    }
    const ColdItemRanking expected = ExpectedRandomRanking(m, relevant, k);
    EXPECT_NEAR(expected.hit_rate, hit / count, 1e-12) << k;
    EXPECT_NEAR(expected.ndcg, ndcg / count, 1e-12) << k;
  }
  // One relevant item among m: HR = k / m; every item relevant: HR = 1.
  EXPECT_NEAR(ExpectedRandomRanking(50, Relevant({{3}}), 10).hit_rate, 0.2,
              1e-12);
  const ColdItemRanking all =
      ExpectedRandomRanking(4, Relevant({{0, 1, 2, 3}}), 2);
  EXPECT_NEAR(all.hit_rate, 1.0, 1e-12);
  EXPECT_NEAR(all.ndcg, 1.0, 1e-12);
}

TEST(ExpectedRandomRankingTest, StableForLargeCatalogs) {
  // C(m, k) overflows a double here; the product form does not.
  const ColdItemRanking r =
      ExpectedRandomRanking(100000, Relevant({{1, 2, 3, 4, 5}}), 200);
  // 1 - (1 - k/m)^r to first order.
  EXPECT_NEAR(r.hit_rate, 1.0 - std::pow(1.0 - 200.0 / 100000, 5), 1e-5);
  EXPECT_GT(r.ndcg, 0.0);
  EXPECT_LT(r.ndcg, r.hit_rate);
}

TEST(ExpectedRandomRankingTest, MatchesMonteCarloOfRandomScores) {
  const int32_t users = 20000, m = 40, k = 10;
  std::vector<int32_t> held_out(m);
  std::iota(held_out.begin(), held_out.end(), 0);
  std::vector<std::vector<int32_t>> rows(users);
  for (int32_t u = 0; u < users; ++u) {
    for (int32_t j = 0; j <= u % 4; ++j) rows[u].push_back(j * 7 + u % 5);
  }
  const SparseRatings relevant = Relevant(rows);
  const ColdItemRanking simulated =
      RankHeldOutItems(RandomScorer(m, 11), held_out, relevant, k, 2);
  const ColdItemRanking expected = ExpectedRandomRanking(m, relevant, k);
  // Standard errors about 0.0035 (HR) and 0.002 (NDCG).
  EXPECT_NEAR(simulated.hit_rate, expected.hit_rate, 0.015);
  EXPECT_NEAR(simulated.ndcg, expected.ndcg, 0.01);
  EXPECT_GT(expected.hit_rate, 0.25);
}

TEST(LabelPopularityScoresTest, MeanOfWarmItemsPerLabel) {
  const std::vector<std::vector<std::string>> labels = {
      {"A"}, {"A", "B"}, {"B", "B"}, {}, {"A", "C"}, {"Z"}, {"C"}};
  const std::vector<int32_t> popularity = {10, 20, 40, 30, 1000, 7, 9};
  const std::vector<bool> warm = {true, true, true, true, false, false, false};
  const std::vector<float> scores =
      LabelPopularityScores(labels, popularity, warm);
  // A: (10 + 20) / 2 = 15, B: (20 + 40) / 2 = 30, all warm: 25. Cold item
  // 4's own popularity (1000) counts for neither A nor C; C and Z have no
  // warm item.
  EXPECT_EQ(scores, (std::vector<float>{15.0f, 22.5f, 30.0f, 25.0f, 15.0f,
                                        25.0f, 25.0f}));
  EXPECT_EQ(LabelPopularityScores({{"A"}, {}}, {5, 6}, {false, false}),
            (std::vector<float>{0.0f, 0.0f}));
}

TEST(FixedScorerTest, SameScoresForEveryUser) {
  FixedScorer scorer({1.0f, -2.0f, 3.5f});
  EXPECT_EQ(scorer.num_items(), 3);
  std::vector<float> a(3), b(3);
  scorer.ScoreItems(0, absl::MakeSpan(a));
  scorer.ScoreItems(kUnknownIndex, absl::MakeSpan(b));
  EXPECT_EQ(a, (std::vector<float>{1.0f, -2.0f, 3.5f}));
  EXPECT_EQ(b, a);
}

// `n` items in `clusters` labels: item i is labelled "L<i % clusters>" and,
// if `clustered`, points near that cluster's axis; else it is random.
FactorMatrix Vectors(int n, int clusters, bool clustered,
                     std::vector<std::vector<std::string>>* labels) {
  FactorMatrix v(n, 8);
  RandomStream rng(5);
  labels->assign(n, {});
  for (int i = 0; i < n; ++i) {
    (*labels)[i] = {absl::StrCat("L", i % clusters)};
    for (int d = 0; d < 8; ++d) v(i, d) = static_cast<float>(rng.Normal());
    if (clustered) v(i, i % clusters) += 10.0f;
  }
  return v;
}

TEST(MeasureLabelAgreementOfTest, ClusteredVectorsAgreeRandomOnesDoNot) {
  std::vector<std::vector<std::string>> labels;
  const FactorMatrix clustered = Vectors(200, 4, true, &labels);
  std::vector<int32_t> queries(40);
  std::iota(queries.begin(), queries.end(), 160);
  const auto good =
      MeasureLabelAgreementOf(clustered, labels, queries, 10, 1, 2);
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->items, 40);
  EXPECT_DOUBLE_EQ(good->neighbours, 1.0);
  // A random other item shares the label 49 times in 199.
  EXPECT_NEAR(good->random, 49.0 / 199.0, 0.02);

  const FactorMatrix noise = Vectors(200, 4, false, &labels);
  const auto bad = MeasureLabelAgreementOf(noise, labels, queries, 10, 1, 2);
  ASSERT_TRUE(bad.has_value());
  EXPECT_NEAR(bad->neighbours, bad->random, 0.1);
}

TEST(MeasureLabelAgreementOfTest, DeterministicAndIndependentOfThreads) {
  std::vector<std::vector<std::string>> labels;
  const FactorMatrix v = Vectors(300, 5, false, &labels);
  std::vector<int32_t> queries = {299, 3, 150, 3, 77};  // a repeat counts once
  const auto a = MeasureLabelAgreementOf(v, labels, queries, 7, 9, 1);
  const auto b = MeasureLabelAgreementOf(v, labels, queries, 7, 9, 3);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->items, 4);
  EXPECT_EQ(a->neighbours, b->neighbours);
  EXPECT_EQ(a->random, b->random);
  const auto c = MeasureLabelAgreementOf(v, labels, queries, 7, 10, 1);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->neighbours, a->neighbours);  // exact: no randomness
}

TEST(MeasureLabelAgreementOfTest, ItemsWithoutLabelsAreLeftOut) {
  // Item 1 has no label and is the query's exact twin: it must not be its
  // neighbour; item 2, the only other labelled item, is.
  FactorMatrix v(4, 2);
  v << 1, 0, 1, 0, 0, 1, 1, 0.01f;
  const std::vector<std::vector<std::string>> labels = {
      {"A"}, {}, {"A", "B"}, {}};
  const auto r = MeasureLabelAgreementOf(v, labels, {0, 1, 3}, 1, 1, 1);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->items, 1);
  EXPECT_DOUBLE_EQ(r->neighbours, 1.0);
  EXPECT_DOUBLE_EQ(r->random, 1.0);
  // Fewer than two labelled items, no labelled query, or k < 1: nullopt.
  EXPECT_FALSE(MeasureLabelAgreementOf(v, {{"A"}, {}, {}, {}}, {0}, 1, 1, 1)
                   .has_value());
  EXPECT_FALSE(MeasureLabelAgreementOf(v, labels, {1, 3}, 1, 1, 1).has_value());
  EXPECT_FALSE(MeasureLabelAgreementOf(v, labels, {0}, 0, 1, 1).has_value());
}

}  // namespace
}  // namespace recserve
