#include "core/synthetic/synthetic_exposure.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "core/synthetic/synthetic_rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve::synthetic {
namespace {

// Items 0..3 weigh 1, item 4 weighs 4. Counts up to 3 hold at most 3/4 of the
// total weight (8) and take the alias-table path; 4 and 5 the sum-tree path.
const std::vector<uint64_t> kWeights = {1, 1, 1, 1, 4};

// Popularity alone: every draw is kept.
double AlwaysAccept(int32_t) { return 1.0; }

TEST(ExposureSamplerTest, DrawsDistinctItemsOnBothPaths) {
  ExposureSampler sampler(kWeights);
  std::vector<int32_t> items = {42};  // Replaced, not appended to.
  int32_t user = 0;
  for (int32_t count = 0; count <= 5; ++count) {
    for (int rep = 0; rep < 200; ++rep, ++user) {
      Rng rng(7, kExposureStream, user);
      sampler.SampleRatedItems(user, count, rng, AlwaysAccept, &items);
      ASSERT_EQ(items.size(), static_cast<size_t>(count));
      EXPECT_EQ(std::set<int32_t>(items.begin(), items.end()).size(),
                items.size());
      for (int32_t i : items) {
        EXPECT_GE(i, 0);
        EXPECT_LT(i, 5);
      }
    }
  }
}

TEST(ExposureSamplerTest, ResultDoesNotDependOnEarlierCalls) {
  ExposureSampler fresh(kWeights);
  ExposureSampler used(kWeights);
  std::vector<int32_t> expected, got;
  for (int32_t count = 1; count <= 5; ++count) {
    // `used` has sampled other users with other counts before.
    for (int32_t u = 0; u < 30; ++u) {
      Rng rng(9, kExposureStream, 1000 * count + u);
      used.SampleRatedItems(1000 * count + u, 1 + u % 5, rng, AlwaysAccept,
                            &got);
    }
    Rng a(3, kExposureStream, count), b(3, kExposureStream, count);
    fresh.SampleRatedItems(count, count, a, AlwaysAccept, &expected);
    used.SampleRatedItems(count, count, b, AlwaysAccept, &got);
    EXPECT_EQ(got, expected) << "count " << count;
  }
}

TEST(ExposureSamplerTest, DrawsInProportionToWeightOnBothPaths) {
  constexpr int kUsers = 40000;
  ExposureSampler sampler(kWeights);
  std::vector<int32_t> items;
  // count 2: alias path; count 4: sum-tree path. The first draw is item 4
  // with probability 4/8; given it was not, the second is item 4 with
  // probability 4/7.
  for (int32_t count : {2, 4}) {
    int first_is_4 = 0, first_not_4 = 0, second_is_4 = 0;
    for (int32_t u = 0; u < kUsers; ++u) {
      const int32_t user = count * kUsers + u;
      Rng rng(11, kExposureStream, user);
      sampler.SampleRatedItems(user, count, rng, AlwaysAccept, &items);
      if (items[0] == 4) {
        ++first_is_4;
      } else {
        ++first_not_4;
        second_is_4 += items[1] == 4;
      }
    }
    // Tolerances are about 5 standard deviations.
    EXPECT_NEAR(first_is_4 / double{kUsers}, 0.5, 0.0125) << count;
    EXPECT_NEAR(second_is_4 / double(first_not_4), 4.0 / 7.0, 0.018) << count;
  }
}

TEST(ExposureSamplerTest, AcceptanceTiltsTheDrawOnBothPaths) {
  // Item 4 weighs 4 of 8 but is accepted with probability 1/4, the others
  // always: its first-draw probability becomes (4/4) / (4 + 4/4) = 1/5.
  constexpr int kUsers = 40000;
  const auto acceptance = [](int32_t item) { return item == 4 ? 0.25 : 1.0; };
  ExposureSampler sampler(kWeights);
  std::vector<int32_t> items;
  for (int32_t count : {2, 4}) {
    int first_is_4 = 0;
    for (int32_t u = 0; u < kUsers; ++u) {
      const int32_t user = count * kUsers + u;
      Rng rng(13, kExposureStream, user);
      sampler.SampleRatedItems(user, count, rng, acceptance, &items);
      ASSERT_EQ(std::set<int32_t>(items.begin(), items.end()).size(),
                static_cast<size_t>(count));
      first_is_4 += items[0] == 4;
    }
    EXPECT_NEAR(first_is_4 / double{kUsers}, 0.2, 0.01) << count;
  }
}

}  // namespace
}  // namespace recserve::synthetic
