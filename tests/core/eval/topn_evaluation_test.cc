#include "core/eval/topn_evaluation.h"

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/item_scorer.h"
#include "core/model/mf_model.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

// Scores from a fixed table: table[user][item].
class TableScorer final : public ItemScorer {
 public:
  explicit TableScorer(std::vector<std::vector<float>> table)
      : table_(std::move(table)) {}
  int32_t num_items() const override {
    return static_cast<int32_t>(table_[0].size());
  }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override {
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = table_[user][i];
  }

 private:
  std::vector<std::vector<float>> table_;
};

Dataset MakeTrain(int32_t users, int32_t items, std::vector<Rating> ratings) {
  Dataset d;
  for (int32_t u = 0; u < users; ++u) d.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < items; ++i) d.items.GetOrAdd(absl::StrCat("i", i));
  d.ratings = std::move(ratings);
  return d;
}

// 3 users, 6 items. Training: u0 rated {0, 1}, u1 {0}, u2 {2}.
Dataset ToyTrain() {
  return MakeTrain(3, 6,
                   {{0, 0, 5, 1}, {0, 1, 5, 1}, {1, 0, 3, 1}, {2, 2, 4, 1}});
}

TableScorer ToyScorer() {
  return TableScorer({
      {9, 8, 7, 6, 5, 4},  // u0: best-first by index
      {1, 2, 3, 4, 5, 6},  // u1: worst-first by index
      {5, 5, 5, 5, 5, 5},  // u2: all tied
  });
}

TEST(EvaluateTopNTest, HandComputedToyCase) {
  const Dataset train = ToyTrain();
  const std::vector<Rating> test = {
      {0, 2, 5, 10},
      {0, 4, 4, 20},
      {0, 5, 2, 5},  // u0
      {1, 3, 3, 1},  // u1: nothing relevant
      {2, 3, 4, 7},
      {2, kUnknownIndex, 5, 8},  // u2
      {kUnknownIndex, 1, 5, 3},  // unknown user: skipped
  };
  TopNOptions options;
  options.k = 2;
  options.relevance_threshold = 4;
  options.loo_negatives = 100;  // more than the catalog: all unrated items
  const TopNMetrics m = EvaluateTopN(ToyScorer(), train, test, options);

  // Full ranking (k = 2):
  //  u0: training items 0, 1 excluded; top 2 = [2, 3]; relevant {2, 4}:
  //      1 hit at rank 0. P = 1/2, R = 1/2, NDCG = 1 / (1 + 1/log2(3)).
  //  u1: no test rating >= 4: not evaluated.
  //  u2: item 2 excluded, the rest tied -> lowest indices [0, 1]; relevant
  //      {3, unknown}: no hit. P = R = NDCG = 0.
  EXPECT_EQ(m.users, 2);
  EXPECT_DOUBLE_EQ(m.precision, 0.25);
  EXPECT_DOUBLE_EQ(m.recall, 0.25);
  EXPECT_NEAR(m.ndcg, 0.5 / (1 + 1 / std::log2(3.0)), 1e-12);  // 0.30657
  // Hit rate: u0 has a hit, u2 none. MAP: u0's AP = (1/1) / min(2, 2) = 1/2,
  // u2's 0.
  EXPECT_DOUBLE_EQ(m.hit_rate, 0.5);
  EXPECT_DOUBLE_EQ(m.map, 0.25);
  // Recommended {2, 3, 0, 1} of 6 items.
  EXPECT_DOUBLE_EQ(m.coverage, 4.0 / 6);

  // Leave-one-out (k = 2):
  //  u0: positive = latest test = item 4 (t = 20, score 5). Unrated: {3}
  //      (score 6). Rank 1 -> hit, NDCG = 1/log2(3).
  //  u1: positive = item 3 (value 3 does not matter, score 4). Unrated:
  //      {1, 2, 4, 5}, scores 2, 3, 5, 6. Rank 2 -> miss.
  //  u2: positive = the unknown item (t = 8) -> miss.
  EXPECT_EQ(m.loo_users, 3);
  EXPECT_DOUBLE_EQ(m.loo_hr, 1.0 / 3);
  EXPECT_NEAR(m.loo_ndcg, (1 / std::log2(3.0)) / 3, 1e-12);  // 0.21031
}

TEST(EvaluateTopNTest, LeaveOneOutTiesCountAgainstThePositive) {
  const Dataset train = ToyTrain();
  // u2 trained on item 2; its test items are 3 (t = 7, the positive) and 5.
  // Every item scores 5 for u2, so the unrated items {0, 1, 4} all tie with
  // the positive and its rank is 3.
  const std::vector<Rating> test = {{2, 3, 1, 7}, {2, 5, 1, 6}};
  TopNOptions options;
  options.loo_negatives = 100;
  options.k = 4;
  TopNMetrics m = EvaluateTopN(ToyScorer(), train, test, options);
  EXPECT_EQ(m.loo_users, 1);
  EXPECT_EQ(m.loo_hr, 1.0);  // rank 3 < 4
  EXPECT_DOUBLE_EQ(m.loo_ndcg, 1 / std::log2(5.0));
  options.k = 3;
  m = EvaluateTopN(ToyScorer(), train, test, options);
  EXPECT_EQ(m.loo_hr, 0.0);  // rank 3, not < 3
  EXPECT_EQ(m.loo_ndcg, 0.0);
  // Nothing is relevant (values 1 < 4): no full-ranking users.
  EXPECT_EQ(m.users, 0);
  EXPECT_TRUE(std::isnan(m.precision));
  EXPECT_TRUE(std::isnan(m.coverage));
}

TEST(EvaluateTopNTest, HitRateAndMapOverSeveralHits) {
  // u0 (scores fall with the index, items 0, 1 trained) ranks [2, 3, 4, 5]
  // and has relevant test items {3, 5}: hits at ranks 1 and 3.
  // u1 (scores rise with the index, item 0 trained) ranks [5, 4, 3, 2, 1]
  // and has relevant test items {1, 2}: hits at ranks 3 and 4.
  const Dataset train = ToyTrain();
  const std::vector<Rating> test = {
      {0, 3, 5, 1}, {0, 5, 4, 2}, {1, 1, 4, 1}, {1, 2, 5, 2}};
  TopNOptions options;
  options.relevance_threshold = 4;
  // k = 3: u0 AP = (1/2) / min(2, 3) = 1/4; u1 no hit.
  options.k = 3;
  TopNMetrics m = EvaluateTopN(ToyScorer(), train, test, options);
  EXPECT_EQ(m.users, 2);
  EXPECT_DOUBLE_EQ(m.hit_rate, 0.5);
  EXPECT_DOUBLE_EQ(m.map, 0.125);
  EXPECT_DOUBLE_EQ(m.recall, 0.25);  // (1/2 + 0) / 2
  // k = 4: u0 AP = (1/2 + 2/4) / 2 = 1/2; u1 AP = (1/4) / 2 = 1/8.
  options.k = 4;
  m = EvaluateTopN(ToyScorer(), train, test, options);
  EXPECT_DOUBLE_EQ(m.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(m.map, (0.5 + 0.125) / 2);
  // k = 5: u0's list is still 4 long, AP 1/2; u1 AP = (1/4 + 2/5) / 2.
  options.k = 5;
  m = EvaluateTopN(ToyScorer(), train, test, options);
  EXPECT_DOUBLE_EQ(m.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(m.map, (0.5 + (0.25 + 0.4) / 2) / 2);
}

TEST(EvaluateTopNTest, NegativeInteractionsAreNeverPositivesAndAreSeen) {
  // Implicit feedback: values are signed, relevance_threshold 0.
  Dataset train = ToyTrain();
  train.ratings.push_back({1, 5, -4, 1});  // u1 disliked item 5 in training
  const std::vector<Rating> test = {
      {0, 2, 1, 10},   // u0: a positive...
      {0, 5, -2, 20},  // ...and a later negative
      {1, 4, 2, 1},    // u1: a positive
      {2, 3, -1, 5},   // u2: only a negative
  };
  TopNOptions options;
  options.k = 1;
  options.relevance_threshold = 0;
  options.loo_negatives = 100;
  const TopNMetrics m = EvaluateTopN(ToyScorer(), train, test, options);
  // Leave-one-out:
  //  u0: the positive is item 2 (score 7), not the later negative item 5
  //      (score 4, which would rank last). Unrated: items 3, 4 (5 is rated
  //      in test), scores 6, 5... so item 2 ranks 0: a hit.
  //  u1: positive item 4 (score 5); unrated items 1, 2, 3 (0 and 5 are
  //      rated in training, the dislike included), scores 2, 3, 4: a hit.
  //  u2: no positive test interaction: not evaluated.
  EXPECT_EQ(m.loo_users, 2);
  EXPECT_DOUBLE_EQ(m.loo_hr, 1.0);
  EXPECT_DOUBLE_EQ(m.loo_ndcg, 1.0);
  // Full ranking, relevant = value >= 0:
  //  u0: relevant {2}; top 1 of unseen {2, 3, 4, 5} = item 2: a hit.
  //  u1: relevant {4}; the disliked item 5 (score 6) is seen, so the top 1
  //      is item 4: a hit.
  //  u2: nothing relevant.
  EXPECT_EQ(m.users, 2);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(m.map, 1.0);
  EXPECT_DOUBLE_EQ(m.coverage, 2.0 / 6);
}

TEST(EvaluateTopNTest, OnlyNegativeTestInteractionsGiveNaN) {
  const std::vector<Rating> test = {{0, 2, -1, 10}, {1, 3, -5, 1}};
  TopNOptions options;
  options.relevance_threshold = 0;
  const TopNMetrics m = EvaluateTopN(ToyScorer(), ToyTrain(), test, options);
  EXPECT_EQ(m.users, 0);
  EXPECT_EQ(m.loo_users, 0);
  EXPECT_TRUE(std::isnan(m.hit_rate));
  EXPECT_TRUE(std::isnan(m.map));
  EXPECT_TRUE(std::isnan(m.loo_hr));
}

TEST(EvaluateTopNTest, NoTestRatingsGivesNaN) {
  const TopNMetrics m = EvaluateTopN(ToyScorer(), ToyTrain(), {}, {});
  EXPECT_EQ(m.users, 0);
  EXPECT_EQ(m.loo_users, 0);
  EXPECT_TRUE(std::isnan(m.recall));
  EXPECT_TRUE(std::isnan(m.hit_rate));
  EXPECT_TRUE(std::isnan(m.map));
  EXPECT_TRUE(std::isnan(m.loo_hr));
  EXPECT_TRUE(std::isnan(m.loo_ndcg));
}

// Every user rated items 0..rated-1 in training except its positive, and the
// positive (the latest test rating) in test; other test ratings are earlier.
// Rated items score 100, the positive 50, unrated items 0. A negative drawn
// from the rated items would outrank the positive.
void ExpectNegativesAreUnrated(int32_t items, int32_t rated,
                               int32_t negatives) {
  const int32_t users = 40;
  std::vector<Rating> train_ratings, test;
  std::vector<std::vector<float>> table(users, std::vector<float>(items, 0));
  for (int32_t u = 0; u < users; ++u) {
    const int32_t positive = u % rated;
    for (int32_t i = 0; i < rated; ++i) {
      table[u][i] = 100;
      if (i == positive) continue;
      if (i % 3 == 0) {
        test.push_back({u, i, 1, 0});  // an earlier test rating
      } else {
        train_ratings.push_back({u, i, 5, 0});
      }
    }
    table[u][positive] = 50;
    test.push_back({u, positive, 5, 10});
  }
  const Dataset train = MakeTrain(users, items, train_ratings);
  TopNOptions options;
  options.k = 1;
  options.loo_negatives = negatives;
  const TopNMetrics m = EvaluateTopN(TableScorer(table), train, test, options);
  EXPECT_EQ(m.loo_users, users);
  EXPECT_EQ(m.loo_hr, 1.0);
}

TEST(EvaluateTopNTest, NegativesAreNeverRatedItemsWhenMostAreUnrated) {
  ExpectNegativesAreUnrated(/*items=*/200, /*rated=*/30, /*negatives=*/50);
}

TEST(EvaluateTopNTest, NegativesAreNeverRatedItemsWhenFewAreUnrated) {
  ExpectNegativesAreUnrated(/*items=*/50, /*rated=*/46, /*negatives=*/3);
}

TEST(EvaluateTopNTest, NegativesAreSampledUniformly) {
  // 2000 users, 21 items. Each user: train item 0, test item 1 (score 10.5),
  // unrated items 2..20 scoring their index: 10 of the 19 outrank the
  // positive. With 5 negatives, rank = X ~ Hypergeometric(N=19, K=10, n=5)
  // and HR@3 = P(X <= 2) = (C(9,5) + 10 C(9,4) + 45 C(9,3)) / C(19,5)
  // = (126 + 1260 + 3780) / 11628 = 0.44427. Std. error ~0.011.
  const int32_t users = 2000, items = 21;
  std::vector<Rating> train_ratings, test;
  std::vector<float> row(items);
  for (int32_t i = 0; i < items; ++i) row[i] = static_cast<float>(i);
  row[1] = 10.5f;
  for (int32_t u = 0; u < users; ++u) {
    train_ratings.push_back({u, 0, 5, 0});
    test.push_back({u, 1, 5, 1});
  }
  const Dataset train = MakeTrain(users, items, train_ratings);
  TopNOptions options;
  options.k = 3;
  options.loo_negatives = 5;
  const TableScorer scorer(std::vector<std::vector<float>>(users, row));
  const TopNMetrics m = EvaluateTopN(scorer, train, test, options);
  EXPECT_NEAR(m.loo_hr, 5166.0 / 11628.0, 0.045);
  // Full ranking: the top 3 unrated-by-training items are 20, 19, 18; the
  // positive (10.5) is never among them.
  EXPECT_EQ(m.users, users);
  EXPECT_EQ(m.recall, 0.0);
  EXPECT_DOUBLE_EQ(m.coverage, 3.0 / items);
}

// A random model over 150 users and 80 items with ~20 ratings per user.
struct RandomProblem {
  Dataset train;
  std::vector<Rating> test;
  MfModel model;
};

RandomProblem MakeRandomProblem() {
  RandomProblem p;
  const int32_t users = 150, items = 80;
  std::vector<Rating> ratings;
  uint64_t x = 12345;
  auto next = [&x]() {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int32_t>(x >> 33);
  };
  for (int32_t u = 0; u < users; ++u) {
    for (int32_t j = 0; j < 20; ++j) {
      Rating r{u, next() % items, static_cast<float>(1 + next() % 5),
               next() % 1000};
      (j < 15 ? ratings : p.test).push_back(r);
    }
  }
  p.train = MakeTrain(users, items, ratings);
  p.model = MakeInitialModel(users, items, 8, 0.5f, 3);
  return p;
}

void ExpectSameMetrics(const TopNMetrics& a, const TopNMetrics& b) {
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_EQ(a.recall, b.recall);
  EXPECT_EQ(a.ndcg, b.ndcg);
  EXPECT_EQ(a.hit_rate, b.hit_rate);
  EXPECT_EQ(a.map, b.map);
  EXPECT_EQ(a.coverage, b.coverage);
  EXPECT_EQ(a.users, b.users);
  EXPECT_EQ(a.loo_hr, b.loo_hr);
  EXPECT_EQ(a.loo_ndcg, b.loo_ndcg);
  EXPECT_EQ(a.loo_users, b.loo_users);
}

TEST(EvaluateTopNTest, ResultsDoNotDependOnThreadCount) {
  const RandomProblem p = MakeRandomProblem();
  const MfScorer scorer(p.model);
  TopNOptions options;
  options.loo_negatives = 20;
  options.threads = 1;
  const TopNMetrics one = EvaluateTopN(scorer, p.train, p.test, options);
  EXPECT_EQ(one.loo_users, 150);
  EXPECT_GT(one.users, 100);
  EXPECT_GT(one.loo_hr, 0.0);
  EXPECT_LT(one.loo_hr, 1.0);
  for (int32_t threads : {2, 3, 7, 0}) {
    options.threads = threads;
    ExpectSameMetrics(one, EvaluateTopN(scorer, p.train, p.test, options));
  }
  // A different seed draws different negatives.
  options.seed = 99;
  EXPECT_NE(EvaluateTopN(scorer, p.train, p.test, options).loo_ndcg,
            one.loo_ndcg);
}

TEST(EvaluateTopNTest, MaxUsersEvaluatesADeterministicSample) {
  const RandomProblem p = MakeRandomProblem();
  const MfScorer scorer(p.model);
  TopNOptions options;
  options.max_users = 10;
  options.threads = 1;
  const TopNMetrics a = EvaluateTopN(scorer, p.train, p.test, options);
  EXPECT_EQ(a.loo_users, 10);
  EXPECT_LE(a.users, 10);
  options.threads = 2;
  ExpectSameMetrics(a, EvaluateTopN(scorer, p.train, p.test, options));
  // A sample as large as the population is everyone.
  options.max_users = 1000;
  const TopNMetrics all = EvaluateTopN(scorer, p.train, p.test, options);
  options.max_users = 0;
  ExpectSameMetrics(all, EvaluateTopN(scorer, p.train, p.test, options));
  EXPECT_EQ(all.loo_users, 150);
}

}  // namespace
}  // namespace recserve

namespace recserve {
namespace {

// Counts the calls it forwards, per user.
class CountingScorer final : public ItemScorer {
 public:
  explicit CountingScorer(const ItemScorer& inner) : inner_(inner) {}
  int32_t num_items() const override { return inner_.num_items(); }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override {
    ++calls_;
    inner_.ScoreItems(user, scores);
  }
  int64_t calls() const { return calls_; }

 private:
  const ItemScorer& inner_;
  mutable std::atomic<int64_t> calls_{0};
};

TEST(EvaluateTopNTest, SeveralScorersAtOnceEqualEachAlone) {
  const RandomProblem p = MakeRandomProblem();
  const MfScorer model(p.model);
  const PopularityScorer popularity(p.train);
  TopNOptions options;
  options.loo_negatives = 20;
  options.max_users = 120;
  const ItemScorer* const scorers[] = {&model, &popularity, &model};
  const std::vector<TopNMetrics> together =
      EvaluateTopN(scorers, p.train, p.test, options);
  ASSERT_EQ(together.size(), 3u);
  ExpectSameMetrics(together[0], EvaluateTopN(model, p.train, p.test, options));
  ExpectSameMetrics(together[1],
                    EvaluateTopN(popularity, p.train, p.test, options));
  ExpectSameMetrics(together[2], together[0]);
  EXPECT_NE(together[0].loo_ndcg, together[1].loo_ndcg);
  EXPECT_TRUE(EvaluateTopN(absl::Span<const ItemScorer* const>(), p.train,
                           p.test, options)
                  .empty());
}

TEST(EvaluateTopNTest, AMemoizedStageIsScoredOncePerUser) {
  const RandomProblem p = MakeRandomProblem();
  const MfScorer model(p.model);
  const CountingScorer counted(model);
  const MemoizedScorer memoized(counted);
  TopNOptions options;
  options.loo_negatives = 20;
  options.threads = 3;
  const ItemScorer* const scorers[] = {&memoized, &memoized, &memoized};
  const std::vector<TopNMetrics> metrics =
      EvaluateTopN(scorers, p.train, p.test, options);
  ExpectSameMetrics(metrics[0], EvaluateTopN(model, p.train, p.test, options));
  ExpectSameMetrics(metrics[2], metrics[0]);
  // Each evaluated user once, not three times.
  EXPECT_EQ(counted.calls(), metrics[0].loo_users);
  // Another memoized scorer over the same one does not see its entries.
  const MemoizedScorer second(counted);
  std::vector<float> a(model.num_items()), b(model.num_items());
  memoized.ScoreItems(0, absl::MakeSpan(a));
  const int64_t before = counted.calls();
  second.ScoreItems(0, absl::MakeSpan(b));
  EXPECT_EQ(counted.calls(), before + 1);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace recserve
