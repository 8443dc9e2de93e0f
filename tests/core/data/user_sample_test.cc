#include "core/data/user_sample.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

// `users` users with 1..5 ratings each, interleaved across users; the
// timestamp numbers the ratings in input order.
std::vector<Rating> Ratings(int32_t users) {
  std::vector<Rating> ratings;
  int64_t ts = 0;
  for (int32_t round = 0; round < 5; ++round) {
    for (int32_t u = 0; u < users; ++u) {
      if (round <= u % 5) ratings.push_back({u, round, 3.0f, ts++});
    }
  }
  return ratings;
}

std::map<int32_t, int> CountsByUser(const std::vector<Rating>& ratings) {
  std::map<int32_t, int> counts;
  for (const Rating& r : ratings) ++counts[r.user];
  return counts;
}

std::vector<int64_t> Timestamps(const std::vector<Rating>& ratings) {
  std::vector<int64_t> ts;
  for (const Rating& r : ratings) ts.push_back(r.timestamp);
  return ts;
}

TEST(SampleUsersTest, KeepsAllOrNoneOfEachUsersRatingsInInputOrder) {
  const std::vector<Rating> all = Ratings(500);
  const std::vector<Rating> sample = SampleUsers(all, 0.3, 42);
  const std::map<int32_t, int> full = CountsByUser(all);
  for (const auto& [user, count] : CountsByUser(sample)) {
    EXPECT_EQ(count, full.at(user)) << "user " << user;
  }
  const std::vector<int64_t> ts = Timestamps(sample);
  EXPECT_TRUE(std::is_sorted(ts.begin(), ts.end()));
}

TEST(SampleUsersTest, SamplesAboutTheShareOfUsers) {
  const std::vector<Rating> all = Ratings(4000);
  for (const double share : {0.1, 0.5, 0.9}) {
    const size_t users = CountsByUser(SampleUsers(all, share, 1)).size();
    EXPECT_NEAR(static_cast<double>(users) / 4000, share, 0.03) << share;
  }
}

TEST(SampleUsersTest, DeterministicForASeedAndDifferentForAnother) {
  const std::vector<Rating> all = Ratings(1000);
  EXPECT_EQ(Timestamps(SampleUsers(all, 0.5, 9)),
            Timestamps(SampleUsers(all, 0.5, 9)));
  EXPECT_NE(Timestamps(SampleUsers(all, 0.5, 9)),
            Timestamps(SampleUsers(all, 0.5, 10)));
}

TEST(SampleUsersTest, TheSameSeedPicksTheSameUsersFromAnyList) {
  const std::vector<Rating> all = Ratings(1000);
  std::vector<Rating> first_half(all.begin(), all.begin() + all.size() / 2);
  std::vector<Rating> second_half(all.begin() + all.size() / 2, all.end());
  std::set<int32_t> picked;
  for (const auto& [user, count] : CountsByUser(SampleUsers(all, 0.4, 5))) {
    picked.insert(user);
  }
  for (const std::vector<Rating>* part : {&first_half, &second_half}) {
    std::set<int32_t> expected;
    for (const Rating& r : *part) {
      if (picked.count(r.user)) expected.insert(r.user);
    }
    std::set<int32_t> got;
    for (const auto& [user, count] : CountsByUser(SampleUsers(*part, 0.4, 5))) {
      got.insert(user);
    }
    EXPECT_EQ(got, expected);
  }
}

TEST(SampleUsersTest, ShareOfOneOrMoreKeepsEverythingZeroKeepsNothing) {
  const std::vector<Rating> all = Ratings(200);
  EXPECT_EQ(Timestamps(SampleUsers(all, 1.0, 3)), Timestamps(all));
  EXPECT_EQ(Timestamps(SampleUsers(all, 2.5, 3)), Timestamps(all));
  EXPECT_TRUE(SampleUsers(all, 0.0, 3).empty());
  EXPECT_TRUE(SampleUsers({}, 0.5, 3).empty());
}

TEST(SampleUsersTest, NegativeOrNanShareKeepsNothing) {
  const std::vector<Rating> all = Ratings(200);
  EXPECT_TRUE(SampleUsers(all, -1.0, 3).empty());
  EXPECT_TRUE(SampleUsers(all, std::nan(""), 3).empty());
}

}  // namespace
}  // namespace recserve
