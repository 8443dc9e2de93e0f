#include "core/data/data_fingerprint.h"

#include <string>

#include "core/data/ratings.h"
#include "gtest/gtest.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

TEST(DataFingerprintTest, StableAndOrderIndependent) {
  testutil::TinyModel t = testutil::MakeTinyModel(5, 6, 3);
  std::string fp = FingerprintRatings(t.train);
  EXPECT_EQ(fp.size(), 32u);
  // Pinned: the fingerprint must not change between builds or machines.
  // Cross-checked with an independent Python implementation of the
  // algorithm documented in data_fingerprint.h.
  EXPECT_EQ(fp, "8c5ec9d7ce441de9c8603c7ce5d67f0f");

  // The same ratings under different dense indices and in another order.
  Dataset shuffled;
  for (int32_t u = 4; u >= 0; --u) shuffled.users.GetOrAdd(t.train.users.Id(u));
  for (int32_t i = 5; i >= 0; --i) shuffled.items.GetOrAdd(t.train.items.Id(i));
  for (auto it = t.train.ratings.rbegin(); it != t.train.ratings.rend(); ++it) {
    shuffled.ratings.push_back(
        Rating{shuffled.users.Find(t.train.users.Id(it->user)),
               shuffled.items.Find(t.train.items.Id(it->item)), it->value,
               it->timestamp});
  }
  EXPECT_EQ(FingerprintRatings(shuffled), fp);

  Dataset changed = t.train;
  changed.ratings[2].value += 0.5f;
  EXPECT_NE(FingerprintRatings(changed), fp);
  changed = t.train;
  changed.ratings[2].timestamp += 1;
  EXPECT_NE(FingerprintRatings(changed), fp);
  changed = t.train;
  changed.ratings.push_back(changed.ratings[0]);  // a duplicate counts
  EXPECT_NE(FingerprintRatings(changed), fp);
  EXPECT_NE(FingerprintRatings(Dataset()), fp);
}

TEST(DataFingerprintTest, EmptyDataIsAllZeros) {
  // No ratings: A = B = 0 and mix(0) = 0.
  EXPECT_EQ(FingerprintRatings(Dataset()), std::string(32, '0'));
}

TEST(DataFingerprintTest, IndexOutsideTheIdMapsHashesAsTheEmptyId) {
  Dataset unknown;
  unknown.items.GetOrAdd("i1");
  unknown.ratings.push_back(Rating{kUnknownIndex, 0, 4.0f, 7});
  Dataset empty_id;
  empty_id.users.GetOrAdd("");
  empty_id.items.GetOrAdd("i1");
  empty_id.ratings.push_back(Rating{0, 0, 4.0f, 7});
  EXPECT_EQ(FingerprintRatings(unknown), FingerprintRatings(empty_id));
  empty_id.users = IdMap();
  empty_id.users.GetOrAdd("u1");
  EXPECT_NE(FingerprintRatings(unknown), FingerprintRatings(empty_id));
}

}  // namespace
}  // namespace recserve
