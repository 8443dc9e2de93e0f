#include "core/data/split.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

struct Row {
  std::string user;
  std::string item;
  float value;
  int64_t timestamp;
};

Dataset MakeDataset(const std::vector<Row>& rows) {
  Dataset d;
  for (const Row& r : rows) {
    d.ratings.push_back({d.users.GetOrAdd(r.user), d.items.GetOrAdd(r.item),
                         r.value, r.timestamp});
  }
  return d;
}

// A rating with its external ids; "?" for kUnknownIndex.
using Resolved = std::tuple<std::string, std::string, float, int64_t>;

Resolved Resolve(const Dataset& d, const Rating& r) {
  return {r.user == kUnknownIndex ? "?" : d.users.Id(r.user),
          r.item == kUnknownIndex ? "?" : d.items.Id(r.item), r.value,
          r.timestamp};
}

std::vector<int64_t> TestTimestamps(const TrainTest& tt) {
  std::vector<int64_t> ts;
  for (const Rating& r : tt.test) ts.push_back(r.timestamp);
  std::sort(ts.begin(), ts.end());
  return ts;
}

// 10 users x 10 items, every pair rated once; rating i has timestamp i, so
// timestamps identify ratings.
Dataset Grid() {
  std::vector<Row> rows;
  for (int u = 0; u < 10; ++u) {
    for (int i = 0; i < 10; ++i) {
      rows.push_back({absl::StrCat("u", u), absl::StrCat("i", i),
                      static_cast<float>(1 + (u + i) % 5), u * 10 + i});
    }
  }
  return MakeDataset(rows);
}

// Every rating of `all` appears exactly once in train or test, with the same
// external ids where they are known.
void ExpectPartition(const Dataset& all, const TrainTest& tt) {
  ASSERT_EQ(tt.train.ratings.size() + tt.test.size(), all.ratings.size());
  std::vector<Resolved> expected, got;
  for (const Rating& r : all.ratings) expected.push_back(Resolve(all, r));
  for (const Rating& r : tt.train.ratings) {
    ASSERT_GE(r.user, 0);
    ASSERT_GE(r.item, 0);
    got.push_back(Resolve(tt.train, r));
  }
  for (const Rating& r : tt.test) {
    Resolved res = Resolve(tt.train, r);
    // Recover unknown ids from the original (timestamps are unique here).
    for (const Rating& o : all.ratings) {
      if (o.timestamp != r.timestamp) continue;
      if (r.user == kUnknownIndex) std::get<0>(res) = all.users.Id(o.user);
      if (r.item == kUnknownIndex) std::get<1>(res) = all.items.Id(o.item);
    }
    got.push_back(res);
  }
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

TEST(ParseSplitSpecTest, ParsesEveryKind) {
  auto random = ParseSplitSpec("random:0.2");
  ASSERT_TRUE(random.ok()) << random.status();
  EXPECT_EQ(random->kind, SplitSpec::Kind::kRandom);
  EXPECT_DOUBLE_EQ(random->fraction, 0.2);

  auto temporal = ParseSplitSpec("temporal:0.1");
  ASSERT_TRUE(temporal.ok()) << temporal.status();
  EXPECT_EQ(temporal->kind, SplitSpec::Kind::kTemporal);
  EXPECT_DOUBLE_EQ(temporal->fraction, 0.1);

  auto last = ParseSplitSpec("last:5");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->kind, SplitSpec::Kind::kLastN);
  EXPECT_EQ(last->count, 5);

  auto loo = ParseSplitSpec("loo");
  ASSERT_TRUE(loo.ok()) << loo.status();
  EXPECT_EQ(loo->kind, SplitSpec::Kind::kLeaveOneOut);
}

TEST(ParseSplitSpecTest, RejectsBadFractionWithClearMessage) {
  auto spec = ParseSplitSpec("random:1.5");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spec.status().message(), "fraction must be in (0, 1), got 1.5");
}

TEST(ParseSplitSpecTest, RejectsMalformedSpecs) {
  for (const char* text :
       {"random:0", "random:1", "random:-0.1", "random:abc",
        "random:", "random", "random:nan", "temporal:2", "temporal", "last:0",
        "last:-3", "last:2.5", "last:x", "last", "loo:1", "leave-one-out",
        "RANDOM:0.2", "", ":0.2"}) {
    auto spec = ParseSplitSpec(text);
    EXPECT_FALSE(spec.ok()) << text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(spec.status().message(), Not(HasSubstr("--"))) << text;
  }
  EXPECT_THAT(
      ParseSplitSpec("nope").status().message(),
      HasSubstr("expected random:F, temporal:F, user_random:F, last:N or loo"));
}

TEST(SplitDatasetTest, RandomHoldsOutTheFractionWithoutLosingRatings) {
  const Dataset all = Grid();
  auto tt = SplitDataset(all, {SplitSpec::Kind::kRandom, 0.2}, 7);
  ASSERT_TRUE(tt.ok()) << tt.status();
  EXPECT_EQ(tt->test.size(), 20u);  // round(0.2 * 100)
  EXPECT_EQ(tt->train.ratings.size(), 80u);
  ExpectPartition(all, *tt);
}

TEST(SplitDatasetTest, RandomIsDeterministicPerSeed) {
  const Dataset all = Grid();
  const SplitSpec spec{SplitSpec::Kind::kRandom, 0.3};
  auto a = SplitDataset(all, spec, 42);
  auto b = SplitDataset(all, spec, 42);
  auto c = SplitDataset(all, spec, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(TestTimestamps(*a), TestTimestamps(*b));
  // C(100, 30) subsets: two seeds agreeing would be a bug.
  EXPECT_NE(TestTimestamps(*a), TestTimestamps(*c));
}

TEST(SplitDatasetTest, RandomPicksEachRatingWithTheFractionsProbability) {
  // 10 ratings, 3 held out: over 3000 seeds each rating should be held out
  // ~30% of the time (std. error ~0.8%); a bias towards either end fails.
  std::vector<Row> rows;
  for (int i = 0; i < 10; ++i)
    rows.push_back({"u", absl::StrCat("i", i), 3, i});
  const Dataset all = MakeDataset(rows);
  std::vector<int> held(10, 0);
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    auto tt = SplitDataset(all, {SplitSpec::Kind::kRandom, 0.3}, seed);
    ASSERT_TRUE(tt.ok());
    ASSERT_EQ(tt->test.size(), 3u);
    for (const Rating& r : tt->test) ++held[r.timestamp];
  }
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(held[i] / 3000.0, 0.3, 0.04) << i;
}

TEST(SplitDatasetTest, HeldOutCountIsClampedSoNeitherSideIsEmpty) {
  const Dataset all = Grid();
  auto small = SplitDataset(all, {SplitSpec::Kind::kRandom, 0.001}, 1);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->test.size(), 1u);  // round(0.1) = 0, clamped up to 1
  auto large = SplitDataset(all, {SplitSpec::Kind::kTemporal, 0.999}, 1);
  ASSERT_TRUE(large.ok());
  EXPECT_EQ(large->test.size(), 99u);  // round(99.9) = 100, clamped to n - 1
}

TEST(SplitDatasetTest, TemporalHoldsOutTheGloballyLatest) {
  // Timestamps out of input order; 8 ratings * 0.25 = 2 held out: the ones
  // at t = 80 and t = 70.
  const Dataset all = MakeDataset({{"a", "x", 1, 50},
                                   {"b", "y", 2, 80},
                                   {"a", "y", 3, 10},
                                   {"c", "z", 4, 70},
                                   {"b", "x", 5, 20},
                                   {"c", "x", 1, 60},
                                   {"a", "z", 2, 30},
                                   {"b", "z", 3, 40}});
  auto tt = SplitDataset(all, {SplitSpec::Kind::kTemporal, 0.25}, 1);
  ASSERT_TRUE(tt.ok()) << tt.status();
  EXPECT_THAT(TestTimestamps(*tt), ElementsAre(70, 80));
  ExpectPartition(all, *tt);
}

TEST(SplitDatasetTest, TemporalBreaksTimestampTiesByInputPosition) {
  // Four ratings at the same time, one held out: the last one in the input.
  const Dataset all = MakeDataset(
      {{"a", "x", 1, 5}, {"b", "y", 2, 5}, {"c", "z", 3, 5}, {"d", "w", 4, 5}});
  auto tt = SplitDataset(all, {SplitSpec::Kind::kTemporal, 0.25}, 1);
  ASSERT_TRUE(tt.ok());
  ASSERT_EQ(tt->test.size(), 1u);
  EXPECT_EQ(tt->test[0].value, 4.0f);
}

TEST(SplitDatasetTest, LeaveOneOutHoldsOutEachUsersLatest) {
  const Dataset all = MakeDataset({
      {"a", "x", 1, 30},  // a's latest
      {"a", "y", 2, 10},
      {"a", "z", 3, 20},
      {"b", "x", 4, 99},  // b's only rating: stays in train
      {"c", "y", 5, 7},
      {"c", "z", 1, 7},  // tie with the one above: later in input, held out
  });
  auto spec = ParseSplitSpec("loo");
  ASSERT_TRUE(spec.ok());
  auto tt = SplitDataset(all, *spec, 1);
  ASSERT_TRUE(tt.ok()) << tt.status();
  std::vector<Resolved> test;
  for (const Rating& r : tt->test) test.push_back(Resolve(tt->train, r));
  // Test keeps input order.
  EXPECT_THAT(test,
              ElementsAre(Resolved{"a", "x", 1, 30}, Resolved{"c", "z", 1, 7}));
  EXPECT_EQ(tt->train.ratings.size(), 4u);
  ExpectPartition(all, *tt);
}

TEST(SplitDatasetTest, LastNKeepsAtLeastOneTrainingRatingPerUser) {
  const Dataset all = MakeDataset({
      {"a", "w", 1, 4},
      {"a", "x", 1, 1},
      {"a", "y", 1, 3},
      {"a", "z", 1, 2},
      {"b", "w", 2, 6},
      {"b", "x", 2, 5},  // 2 ratings: hold out 1
      {"c", "y", 3, 9},  // 1 rating: hold out none
  });
  auto spec = ParseSplitSpec("last:2");
  ASSERT_TRUE(spec.ok());
  auto tt = SplitDataset(all, *spec, 1);
  ASSERT_TRUE(tt.ok()) << tt.status();
  // a's two latest are t=4 (w) and t=3 (y); b's latest is t=6.
  EXPECT_THAT(TestTimestamps(*tt), ElementsAre(3, 4, 6));
  EXPECT_EQ(tt->train.num_users(), 3);
  ExpectPartition(all, *tt);
}

TEST(SplitDatasetTest, UserRandomHoldsOutTheFractionOfEachUser) {
  const Dataset all = Grid();
  auto spec = ParseSplitSpec("user_random:0.2");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->kind, SplitSpec::Kind::kUserRandom);
  auto tt = SplitDataset(all, *spec, 7);
  ASSERT_TRUE(tt.ok()) << tt.status();
  ExpectPartition(all, *tt);
  // Every user of the grid holds out round(0.2 * its ratings).
  std::vector<int> held(all.num_users(), 0), total(all.num_users(), 0);
  for (const Rating& r : all.ratings) ++total[r.user];
  for (const Rating& r : tt->test) {
    ASSERT_NE(r.user, kUnknownIndex);
    ++held[all.users.Find(tt->train.users.Id(r.user))];
  }
  for (int32_t u = 0; u < all.num_users(); ++u) {
    EXPECT_EQ(held[u], std::lround(0.2 * total[u])) << u;
  }
  // Another seed holds out other ratings; the same seed the same ones.
  auto again = SplitDataset(all, *spec, 7);
  auto other = SplitDataset(all, *spec, 8);
  ASSERT_TRUE(again.ok() && other.ok());
  EXPECT_EQ(TestTimestamps(*again), TestTimestamps(*tt));
  EXPECT_NE(TestTimestamps(*other), TestTimestamps(*tt));
}

TEST(SplitDatasetTest, UserRandomKeepsOneTrainingRatingPerUser) {
  const Dataset all = MakeDataset({
      {"a", "w", 1, 1},
      {"a", "x", 1, 2},   // 2 ratings at 0.9: hold out 1
      {"b", "y", 3, 3},   // 1 rating: hold out none
      {"c", "w", 2, 4},   // 1 positive, 1 negative: hold out none, as the
      {"c", "x", -1, 5},  // negative one is never held out
  });
  auto tt = SplitDataset(all, {SplitSpec::Kind::kUserRandom, 0.9}, 1);
  ASSERT_TRUE(tt.ok()) << tt.status();
  ASSERT_EQ(tt->test.size(), 1u);
  EXPECT_EQ(tt->train.users.Id(tt->test[0].user), "a");
  EXPECT_EQ(tt->train.num_users(), 3);
  ExpectPartition(all, *tt);
}

TEST(SplitDatasetTest, CompactsTrainAndMarksUnknownIdsInTest) {
  // all.users = [u1, u2, u3], all.items = [i1, i2, i3]. The latest quarter
  // (1 rating) is (u1, i1, t=9): u1's first rating and i1's only one.
  const Dataset all = MakeDataset({{"u1", "i1", 5, 9},
                                   {"u2", "i2", 4, 1},
                                   {"u1", "i2", 3, 2},
                                   {"u3", "i3", 2, 8}});
  auto tt = SplitDataset(all, {SplitSpec::Kind::kTemporal, 0.25}, 1);
  ASSERT_TRUE(tt.ok()) << tt.status();
  // Train ratings (input order): (u2,i2) (u1,i2) (u3,i3): first-appearance
  // order among them, not all's order.
  EXPECT_THAT(tt->train.users.ids(), ElementsAre("u2", "u1", "u3"));
  EXPECT_THAT(tt->train.items.ids(), ElementsAre("i2", "i3"));
  ASSERT_EQ(tt->train.ratings.size(), 3u);
  EXPECT_EQ(tt->train.ratings[0].user, 0);
  EXPECT_EQ(tt->train.ratings[1].user, 1);
  EXPECT_EQ(tt->train.ratings[1].item, 0);
  EXPECT_EQ(tt->train.ratings[2].item, 1);
  ASSERT_EQ(tt->test.size(), 1u);
  EXPECT_EQ(tt->test[0].user, 1);              // u1, re-indexed
  EXPECT_EQ(tt->test[0].item, kUnknownIndex);  // i1 has no training rating
  EXPECT_EQ(tt->test[0].value, 5.0f);
}

TEST(SplitDatasetTest, UserWithOnlyHeldOutRatingsIsUnknownInTest) {
  const Dataset all = MakeDataset(
      {{"a", "x", 1, 1}, {"b", "x", 2, 2}, {"a", "y", 3, 3}, {"c", "y", 4, 9}});
  auto tt = SplitDataset(all, {SplitSpec::Kind::kTemporal, 0.25}, 1);
  ASSERT_TRUE(tt.ok());
  EXPECT_THAT(tt->train.users.ids(), ElementsAre("a", "b"));
  ASSERT_EQ(tt->test.size(), 1u);
  EXPECT_EQ(tt->test[0].user, kUnknownIndex);
  EXPECT_EQ(tt->test[0].item, tt->train.items.Find("y"));
}

TEST(SplitDatasetTest, RejectsInvalidInput) {
  const Dataset one = MakeDataset({{"a", "x", 1, 1}});
  EXPECT_EQ(
      SplitDataset(one, {SplitSpec::Kind::kRandom, 0.5}, 1).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SplitDataset(Grid(), {SplitSpec::Kind::kTemporal, 1.0}, 1)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      SplitDataset(Grid(), {SplitSpec::Kind::kLastN, 0, 0}, 1).status().code(),
      absl::StatusCode::kInvalidArgument);
  Dataset bad = Grid();
  bad.ratings[3].item = 10;  // only 10 items
  auto status = SplitDataset(bad, {SplitSpec::Kind::kLeaveOneOut}, 1).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("rating 3"));
}

TEST(MakeTrainTestTest, SplitsAtTheBoundaryAndReindexesTest) {
  // Train file: (a,x) (b,y). Test file: (c,x) (a,z) (b,y).
  const Dataset all = MakeDataset({{"a", "x", 1, 1},
                                   {"b", "y", 2, 2},
                                   {"c", "x", 3, 3},
                                   {"a", "z", 4, 4},
                                   {"b", "y", 5, 5}});
  const TrainTest tt = MakeTrainTest(all, 2);
  EXPECT_THAT(tt.train.users.ids(), ElementsAre("a", "b"));
  EXPECT_THAT(tt.train.items.ids(), ElementsAre("x", "y"));
  ASSERT_EQ(tt.train.ratings.size(), 2u);
  ASSERT_EQ(tt.test.size(), 3u);
  EXPECT_EQ(tt.test[0].user, kUnknownIndex);
  EXPECT_EQ(tt.test[0].item, 0);
  EXPECT_EQ(tt.test[1].user, 0);
  EXPECT_EQ(tt.test[1].item, kUnknownIndex);
  EXPECT_EQ(tt.test[2].user, 1);
  EXPECT_EQ(tt.test[2].item, 1);
  EXPECT_EQ(tt.test[2].value, 5.0f);

  const TrainTest all_train = MakeTrainTest(all, 100);
  EXPECT_EQ(all_train.train.ratings.size(), 5u);
  EXPECT_TRUE(all_train.test.empty());
}

}  // namespace
}  // namespace recserve
