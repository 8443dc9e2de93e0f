#include "client/request_pool.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.pb.h"

namespace recserve::client {
namespace {

using ::testing::HasSubstr;

IdLists Ids(int users, int items) {
  IdLists ids;
  for (int u = 0; u < users; ++u) ids.users.push_back(absl::StrCat("u", u));
  for (int i = 0; i < items; ++i) ids.items.push_back(absl::StrCat("i", i));
  return ids;
}

TEST(ParseMixTest, ReadsWeightsAndNamesTheBadEntry) {
  double w[kNumLoadMethods];
  ASSERT_TRUE(ParseMix("recommend=8, similar=1,PredictRating=0.5", w).ok());
  EXPECT_EQ(w[0], 8);
  EXPECT_EQ(w[1], 1);
  EXPECT_EQ(w[2], 0.5);
  EXPECT_EQ(w[3], 0);
  for (const char* bad : {"recomend=1", "health=-1", "predict", "similar=x"}) {
    const absl::Status s = ParseMix(bad, w);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr(bad));
  }
}

TEST(BuildRequestPoolTest, FollowsTheMixAndEncodesEachMethod) {
  RequestPoolOptions o;
  o.weights[0] = 8;
  o.weights[1] = 1;
  o.weights[2] = 1;
  o.n = 7;
  o.k = 3;
  absl::StatusOr<std::vector<PreparedRequest>> pool =
      BuildRequestPool(Ids(50, 80), o);
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_EQ(pool->size(), 10'000u);
  int counts[kNumLoadMethods] = {};
  for (const PreparedRequest& r : *pool) {
    ++counts[static_cast<int>(r.method)];
    if (r.method == LoadMethod::kRecommend) {
      v1::RecommendRequest m;
      ASSERT_TRUE(m.ParseFromString(r.payload));
      EXPECT_EQ(m.n(), 7);
      EXPECT_EQ(m.user_id()[0], 'u');
    } else if (r.method == LoadMethod::kSimilarItems) {
      v1::SimilarItemsRequest m;
      ASSERT_TRUE(m.ParseFromString(r.payload));
      EXPECT_EQ(m.k(), 3);
      EXPECT_EQ(m.item_id()[0], 'i');
    } else {
      v1::PredictRatingRequest m;
      ASSERT_TRUE(m.ParseFromString(r.payload));
      EXPECT_FALSE(m.user_id().empty() || m.item_id().empty());
    }
  }
  EXPECT_NEAR(counts[0] / 10'000.0, 0.8, 0.03);
  EXPECT_NEAR(counts[1] / 10'000.0, 0.1, 0.02);
  EXPECT_EQ(counts[3], 0);
}

TEST(BuildRequestPoolTest, ZipfFavoursThePopularHead) {
  RequestPoolOptions o;
  o.weights[0] = 0;
  o.weights[1] = 1;  // SimilarItems: item ids
  absl::flat_hash_map<std::string, int> uniform, zipf;
  for (const IdDistribution d :
       {IdDistribution::kUniform, IdDistribution::kZipf}) {
    o.distribution = d;
    auto pool = BuildRequestPool(Ids(0, 1000), o);
    ASSERT_TRUE(pool.ok()) << pool.status();
    for (const PreparedRequest& r : *pool) {
      v1::SimilarItemsRequest m;
      ASSERT_TRUE(m.ParseFromString(r.payload));
      ++(d == IdDistribution::kZipf ? zipf : uniform)[m.item_id()];
    }
  }
  // Zipf(1) over 1000 ranks gives rank 0 ~13% of draws; uniform 0.1%.
  EXPECT_GT(zipf["i0"], 1000);
  EXPECT_LT(uniform["i0"], 50);
  EXPECT_GT(zipf["i0"], 5 * zipf["i9"]);
}

TEST(BuildRequestPoolTest, PersonalizesTheGivenShare) {
  RequestPoolOptions o;
  o.weights[0] = 1;
  o.weights[1] = 1;
  o.weights[2] = 1;
  const absl::StatusOr<std::vector<PreparedRequest>> plain =
      BuildRequestPool(Ids(50, 80), o);
  ASSERT_TRUE(plain.ok()) << plain.status();
  o.personalized_share = 0.5;
  o.recent_items = 3;
  o.filter_labels = {"Comedy", "Drama"};
  IdLists ids = Ids(50, 80);
  ids.rating_min = 1;
  ids.rating_max = 5;
  const absl::StatusOr<std::vector<PreparedRequest>> pool =
      BuildRequestPool(ids, o);
  ASSERT_TRUE(pool.ok()) << pool.status();
  int personalized = 0;
  for (const PreparedRequest& r : *pool) {
    if (r.method == LoadMethod::kRecommend) {
      v1::RecommendRequest m;
      ASSERT_TRUE(m.ParseFromString(r.payload));
      if (m.recent_size() == 0) {
        EXPECT_FALSE(m.has_filter());
        continue;
      }
      ++personalized;
      ASSERT_EQ(m.recent_size(), 3);
      for (const v1::Interaction& i : m.recent()) {
        EXPECT_EQ(i.item_id()[0], 'i');
        EXPECT_GE(i.rating(), 1);
        EXPECT_LE(i.rating(), 5);
        EXPECT_EQ(i.rating(), std::round(i.rating()));
      }
      EXPECT_THAT(m.filter().include_labels(),
                  ::testing::ElementsAre("Comedy", "Drama"));
    } else if (r.method == LoadMethod::kSimilarItems) {
      v1::SimilarItemsRequest m;
      ASSERT_TRUE(m.ParseFromString(r.payload));
      personalized += m.has_filter();
    } else {
      v1::PredictRatingRequest m;
      ASSERT_TRUE(m.ParseFromString(r.payload));
      personalized += m.recent_size() > 0;
    }
  }
  EXPECT_NEAR(personalized / 10'000.0, 0.5, 0.03);

  // Without personalization, the pool is the one the seed always gave.
  o.personalized_share = 0;
  const absl::StatusOr<std::vector<PreparedRequest>> again =
      BuildRequestPool(ids, o);
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < plain->size(); ++i) {
    ASSERT_EQ((*again)[i].payload, (*plain)[i].payload) << i;
  }
}

TEST(BuildRequestPoolTest, SnapshotsOfEventsGetEvents) {
  RequestPoolOptions o;
  o.personalized_share = 1;
  o.recent_items = 4;
  IdLists ids = Ids(20, 30);
  ids.events = {"cart", "dislike", "view"};  // an implicit snapshot's
  const auto events_of = [&](const RequestPoolOptions& options) {
    std::set<std::string> seen;
    const absl::StatusOr<std::vector<PreparedRequest>> pool =
        BuildRequestPool(ids, options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    for (const PreparedRequest& r : *pool) {
      v1::RecommendRequest m;
      EXPECT_TRUE(m.ParseFromString(r.payload));
      EXPECT_EQ(m.recent_size(), 4);
      for (const v1::Interaction& i : m.recent()) {
        EXPECT_EQ(i.rating(), 0) << "events take no rating";
        seen.insert(i.event());
      }
    }
    return seen;
  };
  EXPECT_EQ(events_of(o), (std::set<std::string>{"cart", "dislike", "view"}));
  o.recent_events = {"view"};
  EXPECT_EQ(events_of(o), (std::set<std::string>{"view"}));
}

TEST(BuildRequestPoolTest, RejectsWhatCannotBeBuilt) {
  RequestPoolOptions o;
  EXPECT_THAT(BuildRequestPool(IdLists(), o).status().message(),
              HasSubstr("user ids"));
  o.weights[0] = 0;
  EXPECT_THAT(BuildRequestPool(Ids(1, 1), o).status().message(),
              HasSubstr("no method"));
  o.weights[3] = 1;  // health needs no ids
  auto health = BuildRequestPool(IdLists(), o);
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->front().method, LoadMethod::kHealth);
  o.size = 0;
  EXPECT_FALSE(BuildRequestPool(IdLists(), o).ok());
  o.size = 10;
  o.personalized_share = 1.5;
  EXPECT_THAT(BuildRequestPool(Ids(1, 1), o).status().message(),
              HasSubstr("[0, 1]"));
  o.personalized_share = 0.5;
  EXPECT_THAT(BuildRequestPool(Ids(1, 1), o).status().message(),
              HasSubstr("recent items or filter labels"));
  o.recent_items = -1;
  EXPECT_THAT(BuildRequestPool(Ids(1, 1), o).status().message(),
              HasSubstr("recent items must be"));
  o.recent_items = 2;
  EXPECT_THAT(BuildRequestPool(IdLists(), o).status().message(),
              HasSubstr("item ids"));
}

}  // namespace
}  // namespace recserve::client
